#include "bench/bench_support.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "common/http_client.h"
#include "common/tls.h"
#include "common/yaml.h"
#include "operator/kube/client_impl.h"
#include "operator/kube/config.h"

namespace billing::bench {
namespace {
const char* gProgramName = "bench";
}  // namespace

void setProgramName(const char* name) { gProgramName = name; }
const char* programName() { return gProgramName; }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", gProgramName, what.c_str());
  std::exit(1);
}

bool FlagReader::next() {
  if (++index_ >= argc_) return false;
  const std::string arg = argv_[index_];
  if (arg == "-h" || arg == "--help") {
    std::fputs(usage_, stdout);
    std::exit(0);
  }
  name_ = arg;
  inlineValue_.reset();
  if (const auto equals = arg.find('='); equals != std::string::npos) {
    name_ = arg.substr(0, equals);
    inlineValue_ = arg.substr(equals + 1);
  }
  return true;
}

std::string FlagReader::value() {
  if (inlineValue_) return *std::exchange(inlineValue_, std::nullopt);
  if (index_ + 1 >= argc_) die(name_ + " needs a value (see --help)");
  return argv_[++index_];
}

int FlagReader::integer(int minimum, int maximum) {
  const std::string text = value();
  char* end = nullptr;
  const long number = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || number < minimum || number > maximum) {
    die(name_ + " needs a whole number from " + std::to_string(minimum) + " to " +
        std::to_string(maximum) + ", got \"" + text + "\"");
  }
  return static_cast<int>(number);
}

double FlagReader::decimal() {
  const std::string text = value();
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(number >= 0)) {
    die(name_ + " needs a number >= 0, got \"" + text + "\"");
  }
  return number;
}

void FlagReader::unknown() const { die("unknown flag " + name_ + " (see --help)"); }

double seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }
double millis(SteadyClock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    die("cannot find a free port");
  }
  const std::uint16_t port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

bool isReady(const value& object) {
  const value* conditions = billing::common::findMember(object, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return false;
  const value* generation = billing::common::findMember(object, {"metadata", "generation"});
  for (const value& condition : conditions->as_array()) {
    if (billing::common::stringAt(condition, {"type"}) != "Ready") continue;
    if (billing::common::stringAt(condition, {"status"}) != "True") return false;
    const value* observed = billing::common::findMember(condition, {"observedGeneration"});
    return generation == nullptr || observed == nullptr ||
           observed->as_number().to_int64() >= generation->as_number().to_int64();
  }
  return false;
}

bool groupListsProject(const value& group, const std::string& ns, const std::string& name) {
  const value* projects = billing::common::findMember(group, {"status", "projects"});
  if (projects == nullptr || !projects->is_array()) return false;
  for (const value& item : projects->as_array()) {
    if (billing::common::stringAt(item, {"namespace"}) == ns &&
        billing::common::stringAt(item, {"name"}) == name)
      return true;
  }
  return false;
}

Counts operatorRequests(const billing::apiserver::TestApiServer& server) {
  Counts counts;
  for (const auto& count : server.requests().snapshot()) {
    if (count.user != kOperatorUser) continue;
    std::string resource = count.resource;
    if (!count.subresource.empty()) resource += "/" + count.subresource;
    counts[{count.verb, resource}] += count.count;
  }
  return counts;
}

Counts since(const Counts& now, const Counts& before) {
  Counts difference;
  for (const auto& [key, count] : now) {
    const auto earlier = before.find(key);
    const std::uint64_t base = earlier == before.end() ? 0 : earlier->second;
    if (count > base) difference[key] = count - base;
  }
  return difference;
}

bool isWrite(const std::string& verb) {
  return verb == "create" || verb == "update" || verb == "patch" || verb == "delete" ||
         verb == "deletecollection";
}

std::uint64_t total(
    const Counts& counts,
    const std::function<bool(const std::string& verb, const std::string& resource)>& which) {
  std::uint64_t sum = 0;
  for (const auto& [key, count] : counts) {
    if (which(key.first, key.second)) sum += count;
  }
  return sum;
}

bool isBillingResource(const std::string& resource) {
  return resource.starts_with(kGroupsResource) || resource.starts_with(kProjectsResource);
}

void printRequests(const Counts& counts) {
  std::printf("\n| verb | resource | requests |\n|---|---|---:|\n");
  for (const auto& [key, count] : counts) {
    std::printf("| %s | %s | %llu |\n", key.first.c_str(), key.second.c_str(),
                static_cast<unsigned long long>(count));
  }
}

// ---- the operator's own metrics ----

OperatorMetrics scrape(std::uint16_t port) {
  static const billing::common::HttpClient http;
  OperatorMetrics metrics;
  auto answer = http.request("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics");
  if (!answer || answer->status != 200) return metrics;
  std::istringstream lines(answer->body);
  std::string line;
  while (std::getline(lines, line)) {
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const double number = std::strtod(line.c_str() + space + 1, nullptr);
    if (line.starts_with("controller_runtime_reconcile_total{")) metrics.reconciles += number;
    if (line.starts_with("workqueue_depth{")) metrics.queueDepth += number;
    static const std::string kValidateBucket =
        "controller_runtime_webhook_latency_seconds_bucket{webhook=\"/validate\",le=\"";
    if (line.starts_with(kValidateBucket)) {
      const std::string bound = line.substr(
          kValidateBucket.size(), line.find('"', kValidateBucket.size()) - kValidateBucket.size());
      const double le = bound == "+Inf" ? std::numeric_limits<double>::infinity()
                                        : std::strtod(bound.c_str(), nullptr);
      metrics.validateLatencyBuckets[le] = number;
    }
  }
  metrics.ok = true;
  return metrics;
}

std::optional<double> serverSideQuantile(const OperatorMetrics& before,
                                         const OperatorMetrics& after, double share) {
  auto countAt = [](const OperatorMetrics& metrics, double le) {
    const auto found = metrics.validateLatencyBuckets.find(le);
    return found == metrics.validateLatencyBuckets.end() ? 0.0 : found->second;
  };
  const double total = countAt(after, std::numeric_limits<double>::infinity()) -
                       countAt(before, std::numeric_limits<double>::infinity());
  if (total <= 0) return std::nullopt;
  for (const auto& [le, cumulative] : after.validateLatencyBuckets) {
    if (cumulative - countAt(before, le) >= share * total) return le;
  }
  return std::nullopt;
}

bool waitIdle(const billing::apiserver::TestApiServer& server, std::uint16_t metricsPort,
              double minimumReconciles, std::chrono::milliseconds quiet,
              std::chrono::seconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  OperatorMetrics last;
  Counts lastCounts;
  auto stableSince = SteadyClock::now();
  while (SteadyClock::now() < deadline) {
    const OperatorMetrics now = scrape(metricsPort);
    const Counts counts = operatorRequests(server);
    const bool moving = !now.ok || now.reconciles != last.reconciles || counts != lastCounts ||
                        now.queueDepth > 0 || now.reconciles < minimumReconciles;
    if (moving) stableSince = SteadyClock::now();
    if (!moving && SteadyClock::now() - stableSince >= quiet) return true;
    last = now;
    lastCounts = counts;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// ---- latency statistics ----

Percentiles percentiles(std::vector<double> samples) {
  Percentiles result;
  if (samples.empty()) return result;
  std::sort(samples.begin(), samples.end());
  // Nearest rank: the smallest sample with at least p% of the samples at or below it.
  auto rank = [&](double p) {
    const auto index = static_cast<std::size_t>(
        std::max(0.0, std::ceil(p / 100.0 * static_cast<double>(samples.size())) - 1));
    return samples[std::min(index, samples.size() - 1)];
  };
  result.p50 = rank(50);
  result.p90 = rank(90);
  result.p99 = rank(99);
  result.max = samples.back();
  return result;
}

const char* verdict(bool met) { return met ? "met" : "NOT MET"; }

// ---- setup ----

std::vector<value> readYamlFile(const fs::path& path) {
  std::ifstream file(path);
  if (!file) die("cannot read " + path.string());
  std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto documents = billing::common::parseYamlDocuments(content);
  if (!documents) die("cannot parse " + path.string());
  std::vector<value> values;
  for (auto& document : *documents) values.push_back(document.value);
  return values;
}

std::unique_ptr<billing::kube::Client> clientFor(const fs::path& kubeconfig) {
  billing::kube::ConfigLoadOptions load;
  load.kubeconfig = kubeconfig;
  auto config = billing::kube::loadRestConfig(load);
  if (!config) die(config.error().describe());
  config->qps = -1;  // the loader is not what is measured
  auto client = billing::kube::makeClient(*config);
  if (!client) die(client.error().describe());
  return std::move(*client);
}

void createAll(billing::kube::Client& client, const ResourceRef& resource, int count,
               const std::function<value(int)>& make) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failureMutex;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < count && !failed; i = next++) {
        const value object = make(i);
        auto created = client.create(
            resource, billing::common::stringAt(object, {"metadata", "namespace"}), object);
        if (!created) {
          std::lock_guard lock(failureMutex);
          failure = "creating " + resource.resource + " " +
                    billing::common::stringAt(object, {"metadata", "name"}) + ": " +
                    created.error().describe();
          failed = true;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failed) die(failure);
}

void loadCrds(billing::kube::Client& client, const fs::path& sourceDir) {
  for (const char* crd :
       {"billing.operator.dev_billinggroups.yaml", "billing.operator.dev_projects.yaml",
        "billing.operator.dev_invoices.yaml"}) {
    for (const value& document : readYamlFile(sourceDir / "crds" / crd)) {
      if (auto created = client.create(kCrds, "", document); !created) {
        die(std::string(crd) + ": " + created.error().describe());
      }
    }
  }
  for (int attempt = 0; !client.list(kProjects, "default", {}); ++attempt) {
    if (attempt > 500) die("the CRDs are not served");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void loadWorld(billing::kube::Client& client, const World& world) {
  createAll(client, kNamespaces, world.organizations() * 2,
            [&](int i) { return world.namespaceObject(i / 2, i % 2); });
  createAll(client, kGroups, world.organizationGroups(),
            [&](int g) { return world.sharedGroupObject(g); });
  createAll(client, kGroups, world.projectGroups(),
            [&](int p) { return world.dedicatedGroupObject(p); });
  createAll(client, kProjects, world.projects(), [&](int p) { return world.projectObject(p); });
}

void writeOperatorKubeconfig(billing::apiserver::TestApiServer& server, const fs::path& path) {
  const std::string operatorToken = "operator-bench-token-" + std::to_string(::getpid());
  server.addToken(operatorToken,
                  billing::apiserver::UserInfo{kOperatorUser, {"system:masters"}, ""});
  std::string content = server.kubeconfig(billing::apiserver::KubeconfigAuth::Token);
  for (auto at = content.find(server.adminToken()); at != std::string::npos;
       at = content.find(server.adminToken(), at)) {
    content.replace(at, server.adminToken().size(), operatorToken);
  }
  std::ofstream(path) << content;
}

std::string writeWebhookCertificates(const fs::path& certDir) {
  fs::create_directories(certDir);
  auto ca = billing::common::generateCertificateAuthority(std::string(gProgramName) + "-ca",
                                                          std::chrono::days(2));
  if (!ca) die(ca.error());
  billing::common::CertificateRequest servingRequest;
  servingRequest.commonName = "billing-operator-webhook";
  servingRequest.dnsNames = {"localhost"};
  servingRequest.ipAddresses = {"127.0.0.1"};
  auto serving = billing::common::issueCertificate(*ca, servingRequest);
  if (!serving) die(serving.error());
  std::ofstream(certDir / "tls.crt") << serving->certPem;
  std::ofstream(certDir / "tls.key") << serving->keyPem;
  return ca->certPem;
}

std::unique_ptr<Process> startLedger(const fs::path& binDir, std::uint16_t port,
                                     const std::string& database, const fs::path& logFile,
                                     const std::vector<std::string>& extraArgs) {
  std::vector<std::string> args{"--listen",   "127.0.0.1:" + std::to_string(port),
                                "--database", database,
                                "--no-auth",  "--log-format",
                                "json"};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  auto ledger = std::make_unique<Process>(binDir / "billing-ledger", args, logFile);
  const billing::common::HttpClient http;
  const std::string health = "http://127.0.0.1:" + std::to_string(port) + "/healthz";
  for (int attempt = 0;; ++attempt) {
    auto answer = http.request("GET", health);
    if (answer && answer->status == 200) break;
    if (attempt > 500 || !ledger->running()) {
      die("billing-ledger did not start; see " + logFile.string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ledger;
}

}  // namespace billing::bench
