#include "tests/e2e/process_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/http_client.h"
#include "common/tls.h"

extern char** environ;

namespace billing::e2e {
namespace {

using web::json::value;

std::string readAll(const fs::path& path, std::uintmax_t from = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(static_cast<std::streamoff>(from));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void appendLine(const fs::path& path, const std::string& line) {
  std::ofstream(path, std::ios::binary | std::ios::app) << line << "\n";
}

std::string quoteArgs(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

// The last `maxBytes` of a log, cut at a line start, for failure output.
std::string tail(const std::string& text, std::size_t maxBytes = 12000) {
  if (text.size() <= maxBytes) return text;
  std::size_t from = text.find('\n', text.size() - maxBytes);
  from = from == std::string::npos ? text.size() - maxBytes : from + 1;
  return "[... " + std::to_string(from) + " bytes cut ...]\n" + text.substr(from);
}

std::optional<int> httpStatus(const std::string& url) {
  common::HttpClientOptions options;
  options.connectTimeout = 1s;
  options.requestTimeout = 2s;
  common::HttpClient http(options);
  auto response = http.request("GET", url, {}, "");
  if (!response) return std::nullopt;
  return response->status;
}

}  // namespace

fs::path binaryPath(const std::string& name) { return fs::path(BILLING_BINARY_DIR) / "bin" / name; }

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// ---- ManagedProcess ----

ManagedProcess::ManagedProcess(std::string name, std::vector<std::string> argv, fs::path logPath)
    : name_(std::move(name)), argv_(std::move(argv)), logPath_(std::move(logPath)) {}

ManagedProcess::~ManagedProcess() {
  if (!reaped_) kill();
}

bool ManagedProcess::start() {
  if (!reaped_) return false;  // still running: stop() or kill() first
  std::error_code ignored;
  fs::create_directories(logPath_.parent_path(), ignored);
  startOffset_ = fs::exists(logPath_) ? fs::file_size(logPath_) : 0;
  appendLine(logPath_, "=== harness: starting " + name_ + ": " + quoteArgs(argv_));
  startOffset_ = fs::file_size(logPath_);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& arg : argv_) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int spawned = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    appendLine(logPath_, "=== harness: could not start " + argv_[0] + ": " +
                             std::string(std::strerror(spawned)));
    pid_ = -1;
    return false;
  }
  reaped_ = false;
  exitCode_.reset();
  return true;
}

bool ManagedProcess::running() {
  if (reaped_) return false;
  return !wait(0ms).has_value();
}

std::string ManagedProcess::log() const { return readAll(logPath_); }
std::string ManagedProcess::logSinceStart() const { return readAll(logPath_, startOffset_); }

void ManagedProcess::signal(int number) {
  if (!reaped_ && pid_ > 0) ::kill(pid_, number);
}

std::optional<int> ManagedProcess::wait(std::chrono::milliseconds timeout) {
  if (reaped_) return exitCode_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t finished = ::waitpid(pid_, &status, WNOHANG);
    if (finished == pid_) {
      reaped_ = true;
      exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      appendLine(logPath_, "=== harness: " + name_ + " exited with " + std::to_string(*exitCode_));
      return exitCode_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

std::optional<int> ManagedProcess::stop(std::chrono::milliseconds grace) {
  if (reaped_) return exitCode_;
  signal(SIGTERM);
  if (auto code = wait(grace)) return code;
  appendLine(logPath_, "=== harness: " + name_ + " ignored SIGTERM for " +
                           std::to_string(grace.count()) + " ms; SIGKILL");
  kill();
  return exitCode_;
}

void ManagedProcess::kill() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  reaped_ = true;
  exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  appendLine(logPath_, "=== harness: " + name_ + " killed (SIGKILL)");
}

// ---- ApiServerProcess ----

ApiServerProcess::ApiServerProcess(const fs::path& dir, Options options)
    : kubeconfig_(dir / "admin.kubeconfig") {
  std::vector<std::string> argv = {binaryPath("test-apiserver").string(), "--port", "0",
                                   "--kubeconfig", kubeconfig_.string(),
                                   // Informers resume from bookmarks; frequent ones keep
                                   // restarts quick.
                                   "--bookmark-interval-ms", "500"};
  for (const auto& endpoint : options.serviceEndpoints) {
    argv.push_back("--service-endpoint");
    argv.push_back(endpoint);
  }
  if (options.dataDir) {
    argv.push_back("--data-dir");
    argv.push_back(options.dataDir->string());
  }
  argv.insert(argv.end(), options.extraFlags.begin(), options.extraFlags.end());
  process_ = std::make_unique<ManagedProcess>("test-apiserver", argv, dir / "test-apiserver.log");
  process_->start();
}

bool ApiServerProcess::waitReady(std::chrono::milliseconds timeout) const {
  return eventually([&] { return fs::exists(kubeconfig_) || !process_->running(); }, timeout) &&
         process_->running();
}

// ---- LedgerProcess ----

LedgerProcess::LedgerProcess(const fs::path& dir, std::vector<std::string> databaseFlags) {
  const int port = freePort();
  url_ = "http://127.0.0.1:" + std::to_string(port);
  if (databaseFlags.empty())
    databaseFlags = {"--database", "sqlite:" + (dir / "ledger.db").string()};
  std::vector<std::string> argv = {binaryPath("billing-ledger").string(), "--listen",
                                   "127.0.0.1:" + std::to_string(port), "--no-auth"};
  argv.insert(argv.end(), databaseFlags.begin(), databaseFlags.end());
  process_ = std::make_unique<ManagedProcess>("billing-ledger", argv, dir / "billing-ledger.log");
  process_->start();
}

bool LedgerProcess::waitReady(std::chrono::milliseconds timeout) const {
  return eventually(
             [&] {
               if (!process_->running()) return true;
               return httpStatus(url_ + "/healthz") == 200;
             },
             timeout) &&
         process_->running();
}

std::expected<value, std::string> LedgerProcess::get(const std::string& path) const {
  common::HttpClientOptions options;
  options.connectTimeout = 2s;
  options.requestTimeout = 5s;
  common::HttpClient http(options);
  auto response = http.request("GET", url_ + path, {{"Accept", "application/json"}}, "");
  if (!response) return std::unexpected("GET " + path + ": " + response.error());
  if (response->status != 200) {
    return std::unexpected("GET " + path + ": " + std::to_string(response->status) + " " +
                           response->body);
  }
  auto parsed = common::parseJson(response->body);
  if (!parsed) return std::unexpected("GET " + path + ": not JSON: " + response->body);
  return *parsed;
}

std::expected<value, std::string> LedgerProcess::post(const std::string& path, const value& body,
                                                      const std::string& idempotencyKey) const {
  common::HttpClientOptions options;
  options.connectTimeout = 2s;
  options.requestTimeout = 5s;
  common::HttpClient http(options);
  auto response = http.request("POST", url_ + path,
                               {{"Accept", "application/json"},
                                {"Content-Type", "application/json"},
                                {"Idempotency-Key", idempotencyKey}},
                               common::toJson(body));
  if (!response) return std::unexpected("POST " + path + ": " + response.error());
  if (response->status != 200 && response->status != 201) {
    return std::unexpected("POST " + path + ": " + std::to_string(response->status) + " " +
                           response->body);
  }
  auto parsed = common::parseJson(response->body);
  if (!parsed) return std::unexpected("POST " + path + ": not JSON: " + response->body);
  return *parsed;
}

std::expected<std::vector<value>, std::string> LedgerProcess::memberships(
    const std::string& project) const {
  std::string encoded;
  for (char c : project) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
  auto body = get("/v1/memberships?project=" + encoded);
  if (!body) return std::unexpected(body.error());
  std::vector<value> items;
  for (const value& item : body->at("items").as_array()) items.push_back(item);
  return items;
}

// ---- metrics ----

double metricValue(const std::string& metricsText, const std::string& series) {
  std::istringstream lines(metricsText);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

double metricSum(const std::string& metricsText, const std::string& name,
                 const std::vector<std::string>& labelMatchers) {
  std::istringstream lines(metricsText);
  std::string line;
  double sum = 0;
  while (std::getline(lines, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    const std::size_t close = line.find("} ");
    if (close == std::string::npos) continue;
    const std::string labels = line.substr(name.size() + 1, close - name.size() - 1);
    bool matches = true;
    for (const auto& matcher : labelMatchers) {
      matches = matches && labels.find(matcher) != std::string::npos;
    }
    if (matches) sum += std::stod(line.substr(close + 2));
  }
  return sum;
}

// ---- OperatorProcess ----

OperatorProcess::OperatorProcess(const fs::path& dir, const fs::path& kubeconfig,
                                 OperatorOptions options)
    : options_(std::move(options)), metricsPort_(freePort()), healthPort_(freePort()) {
  if (options_.webhookPort == 0) options_.webhookPort = freePort();
  std::vector<std::string> argv = {
      binaryPath("billing-operator").string(),
      "run",
      "--kubeconfig",
      kubeconfig.string(),
      "--metrics-bind-address",
      "127.0.0.1:" + std::to_string(metricsPort_),
      "--health-probe-bind-address",
      "127.0.0.1:" + std::to_string(healthPort_),
      "--webhook-port",
      std::to_string(options_.webhookPort),
      "--webhook-cert-dir",
      (options_.webhookCertDir ? *options_.webhookCertDir : dir / "no-webhook-certs").string(),
      "--leader-election-identity",
      options_.identity,
      "--kube-api-qps",
      "-1"};
  if (options_.leaderElect) {
    for (const char* flag :
         {"--leader-elect", "--leader-election-namespace", "default",
          "--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s",
          "--leader-election-retry-period", "250ms"}) {
      argv.emplace_back(flag);
    }
  }
  if (!options_.ledgerUrl.empty()) {
    argv.emplace_back("--ledger-url");
    argv.push_back(options_.ledgerUrl);
  }
  argv.insert(argv.end(), options_.extraFlags.begin(), options_.extraFlags.end());
  process_ = std::make_unique<ManagedProcess>("billing-operator " + options_.identity, argv,
                                              dir / ("operator-" + options_.identity + ".log"));
  process_->start();
}

bool OperatorProcess::waitReady(std::chrono::milliseconds timeout) const {
  const std::string url = "http://127.0.0.1:" + std::to_string(healthPort_) + "/readyz";
  return eventually([&] { return !process_->running() || httpStatus(url) == 200; }, timeout) &&
         process_->running();
}

std::string OperatorProcess::metrics() const {
  common::HttpClientOptions options;
  options.connectTimeout = 1s;
  options.requestTimeout = 3s;
  common::HttpClient http(options);
  auto response =
      http.request("GET", "http://127.0.0.1:" + std::to_string(metricsPort_) + "/metrics", {}, "");
  return response && response->status == 200 ? response->body : "";
}

double OperatorProcess::requests(const std::string& method) const {
  return metricSum(metrics(), "rest_client_requests_total", {"method=\"" + method + "\""});
}

double OperatorProcess::writes() const {
  const std::string text = metrics();
  double sum = 0;
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    sum +=
        metricSum(text, "rest_client_requests_total", {"method=\"" + std::string(method) + "\""});
  }
  return sum;
}

std::vector<value> OperatorProcess::logLines(const std::string& message) const {
  std::vector<value> found;
  std::istringstream lines(process_->logSinceStart());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() != '{') continue;
    auto parsed = common::parseJson(line);
    if (parsed && parsed->has_field("msg") && parsed->at("msg").is_string() &&
        parsed->at("msg").as_string() == message) {
      found.push_back(*parsed);
    }
  }
  return found;
}

// ---- WebhookServing ----

std::expected<WebhookServing, std::string> WebhookServing::generate() {
  WebhookServing serving;
  auto ca =
      common::generateCertificateAuthority("billing-operator-webhook-ca", std::chrono::days(1));
  if (!ca) return std::unexpected("webhook CA: " + ca.error());
  common::CertificateRequest request;
  request.commonName = serving.service + "." + serving.ns + ".svc";
  request.dnsNames = {serving.service, serving.service + "." + serving.ns,
                      serving.service + "." + serving.ns + ".svc",
                      serving.service + "." + serving.ns + ".svc.cluster.local"};
  request.validity = std::chrono::days(1);
  auto issued = common::issueCertificate(*ca, request);
  if (!issued) return std::unexpected("webhook serving certificate: " + issued.error());
  serving.caPem = ca->certPem;
  serving.certPem = issued->certPem;
  serving.keyPem = issued->keyPem;
  return serving;
}

void WebhookServing::writeTo(const fs::path& dir) const {
  fs::create_directories(dir);
  std::ofstream(dir / "tls.crt", std::ios::binary | std::ios::trunc) << certPem;
  std::ofstream(dir / "tls.key", std::ios::binary | std::ios::trunc) << keyPem;
}

std::string WebhookServing::configurationYaml() const {
  // Both webhooks reach the same Service with the same CA, as the chart registers them.
  const auto webhook = [&](const std::string& name, const std::string& path) {
    return "  - name: " + name +
           "\n"
           "    admissionReviewVersions: [\"v1\"]\n"
           "    sideEffects: None\n"
           "    failurePolicy: Fail\n"
           "    timeoutSeconds: 10\n"
           "    clientConfig:\n"
           "      service:\n"
           "        namespace: " +
           ns + "\n        name: " + service + "\n        path: " + path +
           "\n        port: " + std::to_string(servicePort) +
           "\n      caBundle: " + common::base64Encode(caPem) + "\n";
  };
  return R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: billing-operator
webhooks:
)" + webhook("validate.billing.operator.dev", "/validate") +
         R"(    rules:
      - apiGroups: ["billing.operator.dev"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["billinggroups", "projects", "invoices"]
        scope: Namespaced
      - apiGroups: ["billing.operator.dev"]
        apiVersions: ["v1alpha1"]
        operations: ["DELETE"]
        resources: ["billinggroups"]
        scope: Namespaced
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: billing-operator
webhooks:
)" + webhook("mutate.billing.operator.dev", "/mutate") +
         R"(    reinvocationPolicy: Never
    rules:
      - apiGroups: ["billing.operator.dev"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE"]
        resources: ["billinggroups", "projects"]
        scope: Namespaced
)";
}

std::string WebhookServing::serviceEndpoint(int localPort) const {
  return ns + "/" + service + ":" + std::to_string(servicePort) + "=" + std::to_string(localPort);
}

// ---- Environment ----

Environment::Environment(Options options) : options_(options) {
  ApiServerProcess::Options serverOptions;
  if (options_.webhook) {
    auto serving = WebhookServing::generate();
    if (!serving) {
      startupError_ = serving.error();
      return;
    }
    webhook_ = *serving;
    webhook_->writeTo(dir() / "serving-certs");
    webhookPort_ = freePort();
    serverOptions.serviceEndpoints.push_back(webhook_->serviceEndpoint(webhookPort_));
  }
  serverOptions.extraFlags = options_.apiServerFlags;
  apiServer_ = std::make_unique<ApiServerProcess>(dir(), serverOptions);
  if (options_.ledger) {
    ledger_ = std::make_unique<LedgerProcess>(dir(), options_.ledgerDatabaseFlags);
  }
  kubectl_ = std::make_unique<Kubectl>(apiServer_->kubeconfig(), dir());
  if (!apiServer_->waitReady()) {
    startupError_ = "the test API server did not start:\n" + apiServer_->process().log();
    return;
  }
  if (ledger_ && !ledger_->waitReady()) {
    startupError_ = "the billing ledger did not start:\n" + ledger_->process().log();
    return;
  }
  auto crds = kubectl({"apply", "-f", std::string(BILLING_SOURCE_DIR) + "/crds"});
  if (crds.exitCode != 0) {
    startupError_ = "kubectl apply -f crds/ failed:\n" + crds.out + crds.err;
    return;
  }
  // Established CRDs are served at once by the test API server; kubectl's discovery cache is
  // what may lag, hence the retry.
  const bool served = eventually(
      [&] {
        return kubectl({"get", "billinggroups", "-A", "-o", "name"}).exitCode == 0;
      },
      10s);
  if (!served) startupError_ = "billing groups are not served after installing crds/";
}

Environment::~Environment() {
  for (auto& replica : operators_) replica->process().stop(12s);
  if (ledger_) ledger_->process().stop(5s);
  if (apiServer_) apiServer_->process().stop(5s);
  if (::testing::Test::HasFailure()) std::cerr << logs();
}

OperatorProcess& Environment::addOperator(OperatorOptions options) {
  if (options_.ledger && options.ledgerUrl.empty() && ledger_) options.ledgerUrl = ledger_->url();
  if (webhook_) {
    options.webhookCertDir = dir() / "serving-certs";
    // The Service routes to one port: replicas that do not bring their own serve it.
    if (options.webhookPort == 0) options.webhookPort = webhookPort_;
  }
  operators_.push_back(
      std::make_unique<OperatorProcess>(dir(), apiServer_->kubeconfig(), std::move(options)));
  return *operators_.back();
}

CommandResult Environment::kubectl(const std::vector<std::string>& args, const std::string& input,
                                   std::chrono::milliseconds timeout) {
  CommandResult result = kubectl_->run(args, input, timeout);
  std::ofstream(dir() / "kubectl.log", std::ios::app)
      << "$ kubectl " << quoteArgs(args) << "\nexit " << result.exitCode << "\n"
      << result.out << result.err;
  return result;
}

value Environment::getJson(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"get"};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"-o", "json"});
  CommandResult result = kubectl(all);
  if (result.exitCode != 0) {
    ADD_FAILURE() << "kubectl " << quoteArgs(all) << " failed:\n" << result.out << result.err;
    return value::null();
  }
  auto parsed = common::parseJson(result.out);
  if (!parsed) {
    ADD_FAILURE() << "kubectl " << quoteArgs(all) << " printed no JSON:\n" << result.out;
    return value::null();
  }
  return *parsed;
}

std::string Environment::logs() const {
  std::string text = "\n===== logs of " + dir().string() + " =====\n";
  auto add = [&](const std::string& title, const fs::path& path) {
    text += "----- " + title + " (" + path.string() + ")\n" + tail(readAll(path)) + "\n";
  };
  if (apiServer_) add("test-apiserver", apiServer_->process().logPath());
  if (ledger_) add("billing-ledger", ledger_->process().logPath());
  for (const auto& replica : operators_)
    add(replica->process().name(), replica->process().logPath());
  add("kubectl", dir() / "kubectl.log");
  return text;
}

// ---- reading objects ----

value condition(const value& object, const std::string& type) {
  if (!object.is_object() || !object.has_field("status") ||
      !object.at("status").has_field("conditions")) {
    return value::null();
  }
  for (const value& item : object.at("status").at("conditions").as_array()) {
    if (item.has_field("type") && item.at("type").as_string() == type) return item;
  }
  return value::null();
}

std::string at(const value& object, const std::string& dottedPath) {
  const value* node = &object;
  std::size_t start = 0;
  while (start <= dottedPath.size()) {
    std::size_t dot = dottedPath.find('.', start);
    if (dot == std::string::npos) dot = dottedPath.size();
    const std::string key = dottedPath.substr(start, dot - start);
    if (!node->is_object() || !node->has_field(key)) return "<missing>";
    node = &node->at(key);
    start = dot + 1;
  }
  if (node->is_string()) return node->as_string();
  return common::toJson(*node);
}

common::HttpClientResponse httpCall(const std::string& method, const std::string& url,
                                    const std::string& body, common::HttpHeaders headers,
                                    std::optional<common::TlsClientConfig> tls) {
  common::HttpClientOptions options;
  options.connectTimeout = std::chrono::seconds(2);
  options.requestTimeout = std::chrono::seconds(20);
  options.tls = std::move(tls);
  common::HttpClient http(options);
  auto response = http.request(method, url, headers, body);
  if (!response) return common::HttpClientResponse{0, {}, response.error()};
  return *response;
}

std::vector<value> checkerViolations(const fs::path& file, const fs::path& workDir) {
  apiserver::harness::Process check(
      {binaryPath("billing-operator").string(), "check", "-o", "json", file.string()}, workDir, "");
  apiserver::harness::CommandResult result = check.wait(std::chrono::seconds(30));
  auto report = common::parseJson(result.out);
  std::vector<value> violations;
  if (!report || !report->has_field("violations")) {
    ADD_FAILURE() << "billing-operator check " << file << ": " << result;
    return violations;
  }
  for (const value& v : report->at("violations").as_array()) violations.push_back(v);
  return violations;
}

::testing::AssertionResult webhookSeesNamespace(Environment& env, const std::string& ns,
                                                const std::string& organization) {
  const std::string probe =
      "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\n"
      "metadata:\n  name: namespace-probe\n  namespace: " +
      ns + "\n  labels:\n    billing.operator.dev/organization: " + organization +
      "\nspec:\n  currency: EUR\n";
  apiserver::harness::CommandResult last;
  if (eventually(
          [&] {
            last = env.kubectl({"apply", "--dry-run=server", "-f", "-"}, probe);
            return last.exitCode == 0;
          },
          std::chrono::seconds(10))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "the webhook never saw Namespace " << ns << ":\n"
                                       << last.err;
}

}  // namespace billing::e2e
