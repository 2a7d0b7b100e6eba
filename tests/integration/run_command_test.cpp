// `billing-operator run` as a process: two replicas with leader election against the
// test-apiserver binary (one is killed, the other takes over; SIGTERM ends a replica cleanly and
// releases the Lease), and the one-line errors and exit codes of a run that cannot start.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "common/http_client.h"
#include "common/tls.h"
#include "operator/run/run_options.h"
#include "tests/integration/runtime_support.h"

namespace billing::integration {
namespace {

using apiserver::harness::CommandResult;
using apiserver::harness::Process;
using apiserver::harness::readFile;
using apiserver::harness::writeFile;
using ::testing::HasSubstr;

const std::string kOperator = std::string(BILLING_BINARY_DIR) + "/bin/billing-operator";
const std::string kApiServer = std::string(BILLING_BINARY_DIR) + "/bin/test-apiserver";
const std::string kLedger = std::string(BILLING_BINARY_DIR) + "/bin/billing-ledger";

// A port nothing listens on right now (bound to 0, read back, released).
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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

std::unique_ptr<Process> startOperator(const fs::path& workDir,
                                       const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {kOperator, "run"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return std::make_unique<Process>(argv, workDir, "");
}

// The holder of the operator's Lease, "" when free or absent.
std::string leaseHolder(kube::Client& client) {
  auto lease = client.get(kLeases, "default", "billing-operator-leader");
  if (!lease || !lease->has_field("spec") || !lease->at("spec").has_field("holderIdentity")) {
    return "";
  }
  return lease->at("spec").at("holderIdentity").as_string();
}

// The metrics port a replica logged ("metrics":"127.0.0.1:PORT"), 0 until it has.
int metricsPort(const Process& process) {
  static const std::regex pattern(R"re("metrics":"127\.0\.0\.1:(\d+)")re");
  std::smatch match;
  const std::string log = process.errSoFar();
  if (!std::regex_search(log, match, pattern)) return 0;
  return std::stoi(match[1].str());
}

std::string scrape(int port) {
  common::HttpClient http{common::HttpClientOptions{}};
  auto response =
      http.request("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics", {}, "");
  return response ? response->body : "";
}

class OperatorProcessTest : public ::testing::TestWithParam<KubeconfigAuth> {};

TEST_P(OperatorProcessTest, AnotherReplicaTakesOverWhenTheLeaderDiesAndSigtermIsClean) {
  apiserver::harness::TempDir dir;
  const fs::path certConfig = dir.path() / "admin.kubeconfig";
  const fs::path tokenConfig = dir.path() / "token.kubeconfig";
  Process apiServer({kApiServer, "--port", "0", "--kubeconfig", certConfig.string(),
                     "--token-kubeconfig", tokenConfig.string(), "--bookmark-interval-ms", "500"},
                    dir.path(), "");
  const fs::path kubeconfig = GetParam() == KubeconfigAuth::Token ? tokenConfig : certConfig;
  ASSERT_TRUE(eventually([&] { return fs::exists(kubeconfig); }, 10s)) << apiServer.errSoFar();
  auto client = clientFromKubeconfig(kubeconfig);
  ASSERT_TRUE(client.has_value()) << client.error();
  ASSERT_TRUE(installCrds(**client).has_value());
  // The reconcilers need a billing ledger; the reference one on SQLite.
  const int ledgerPort = freePort();
  Process ledger({kLedger, "--listen", "127.0.0.1:" + std::to_string(ledgerPort), "--database",
                  "sqlite:" + (dir.path() / "ledger.db").string(), "--no-auth"},
                 dir.path(), "");
  const std::string ledgerUrl = "http://127.0.0.1:" + std::to_string(ledgerPort);

  auto flags = [&](const std::string& identity) {
    return std::vector<std::string>{
        "--kubeconfig", kubeconfig.string(), "--leader-elect", "--leader-election-namespace",
        "default", "--leader-election-identity", identity,
        // Short leases keep the test short; the algorithm is the same at 15 s / 10 s / 2 s.
        "--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s",
        "--leader-election-retry-period", "500ms", "--metrics-bind-address", "127.0.0.1:0",
        "--health-probe-bind-address", "127.0.0.1:0", "--ledger-url", ledgerUrl};
  };
  std::map<std::string, std::unique_ptr<Process>> replicas;
  replicas["replica-a"] = startOperator(dir.path(), flags("replica-a"));
  replicas["replica-b"] = startOperator(dir.path(), flags("replica-b"));

  std::string leader;
  ASSERT_TRUE(eventually(
      [&] {
        leader = leaseHolder(**client);
        return replicas.contains(leader);
      },
      15s))
      << "no leader; replica-a said:\n"
      << replicas["replica-a"]->errSoFar();
  const std::string follower = leader == "replica-a" ? "replica-b" : "replica-a";

  int leaderPort = 0;
  ASSERT_TRUE(eventually([&] { return (leaderPort = metricsPort(*replicas[leader])) != 0; }, 5s));
  std::string metrics;
  EXPECT_TRUE(eventually(
      [&] {
        metrics = scrape(leaderPort);
        return metrics.find("leader_election_master_status{name=\"billing-operator-leader\"} 1") !=
               std::string::npos;
      },
      5s))
      << metrics;
  EXPECT_THAT(metrics, HasSubstr("rest_client_requests_total{code=\"200\",method=\"GET\""));

  // kill -9: no release; the follower waits for the lease to expire, then takes it.
  const auto killedAt = std::chrono::steady_clock::now();
  replicas[leader]->signal(SIGKILL);
  replicas[leader]->wait(5s);
  ASSERT_TRUE(eventually([&] { return leaseHolder(**client) == follower; }, 20s))
      << follower << " did not take over; it said:\n"
      << replicas[follower]->errSoFar();
  const auto takeover = std::chrono::steady_clock::now() - killedAt;
  EXPECT_LT(takeover, 20s);
  RecordProperty(
      "takeoverMs",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()));

  // SIGTERM: exit 0 within the grace period, and the Lease is released for the next one.
  const auto termAt = std::chrono::steady_clock::now();
  replicas[follower]->signal(SIGTERM);
  CommandResult ended = replicas[follower]->wait(12s);
  EXPECT_EQ(ended.exitCode, 0) << ended;
  EXPECT_LT(std::chrono::steady_clock::now() - termAt, 10s);
  EXPECT_EQ(leaseHolder(**client), "");
  EXPECT_THAT(ended.err, HasSubstr("Shut down cleanly"));
  ledger.signal(SIGTERM);
  EXPECT_EQ(ledger.wait(10s).exitCode, 0);
  apiServer.signal(SIGTERM);
  EXPECT_EQ(apiServer.wait(10s).exitCode, 0);
}

INSTANTIATE_TEST_SUITE_P(Auth, OperatorProcessTest,
                         ::testing::Values(KubeconfigAuth::ClientCertificate,
                                           KubeconfigAuth::Token),
                         [](const auto& test) { return authName(test.param); });

// `run` serves the validating webhook over the informer caches: a Project referencing a billing
// group of another organization is refused with the domain's message.
TEST(OperatorWebhookTest, RunServesTheValidatingWebhookFromItsCaches) {
  apiserver::harness::TempDir dir;
  const fs::path kubeconfig = dir.path() / "admin.kubeconfig";
  Process apiServer({kApiServer, "--port", "0", "--kubeconfig", kubeconfig.string()}, dir.path(),
                    "");
  ASSERT_TRUE(eventually([&] { return fs::exists(kubeconfig); }, 10s)) << apiServer.errSoFar();
  auto client = clientFromKubeconfig(kubeconfig);
  ASSERT_TRUE(client.has_value()) << client.error();
  ASSERT_TRUE(installCrds(**client).has_value());
  for (const auto& [name, organization] : std::vector<std::pair<std::string, std::string>>{
           {"alpha-web", "alpha"}, {"beta-billing", "beta"}}) {
    value ns = value::object();
    ns["apiVersion"] = value::string("v1");
    ns["kind"] = value::string("Namespace");
    ns["metadata"]["name"] = value::string(name);
    ns["metadata"]["labels"]["billing.operator.dev/organization"] = value::string(organization);
    auto created = (*client)->create(kNamespaces, "", ns);
    ASSERT_TRUE(created.has_value()) << created.error().describe();
  }
  auto group = (*client)->create(kBillingGroups, "beta-billing",
                                 billingGroup("beta-billing", "beta-main", "Beta"));
  ASSERT_TRUE(group.has_value()) << group.error().describe();

  // The serving certificate, as cert-manager would mount it.
  auto ca = common::generateCertificateAuthority("webhook-ca", std::chrono::days(1));
  ASSERT_TRUE(ca.has_value()) << ca.error();
  common::CertificateRequest request;
  request.commonName = "billing-operator-webhook";
  request.dnsNames = {"localhost"};
  request.ipAddresses = {"127.0.0.1"};
  auto serving = common::issueCertificate(*ca, request);
  ASSERT_TRUE(serving.has_value()) << serving.error();
  const fs::path certDir = dir.path() / "serving-certs";
  fs::create_directories(certDir);
  writeFile(certDir / "tls.crt", serving->certPem);
  writeFile(certDir / "tls.key", serving->keyPem);

  const int port = freePort();
  auto operatorProcess = startOperator(
      dir.path(), {"--kubeconfig", kubeconfig.string(), "--metrics-bind-address", "127.0.0.1:0",
                   "--health-probe-bind-address", "127.0.0.1:0", "--webhook-port",
                   std::to_string(port), "--webhook-cert-dir", certDir.string()});

  value review = value::object(true);
  review["apiVersion"] = value::string("admission.k8s.io/v1");
  review["kind"] = value::string("AdmissionReview");
  review["request"]["uid"] = value::string("create-1");
  review["request"]["operation"] = value::string("CREATE");
  review["request"]["kind"]["group"] = value::string("billing.operator.dev");
  review["request"]["kind"]["version"] = value::string("v1alpha1");
  review["request"]["kind"]["kind"] = value::string("Project");
  review["request"]["namespace"] = value::string("alpha-web");
  review["request"]["name"] = value::string("api");
  value project = value::object(true);
  project["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
  project["kind"] = value::string("Project");
  project["metadata"]["name"] = value::string("api");
  project["metadata"]["namespace"] = value::string("alpha-web");
  project["spec"]["billingGroupRef"]["name"] = value::string("beta-main");
  project["spec"]["billingGroupRef"]["namespace"] = value::string("beta-billing");
  review["request"]["object"] = project;

  common::HttpClientOptions options;
  common::TlsClientConfig tls;
  tls.caPem = ca->certPem;
  options.tls = tls;
  options.connectTimeout = 1s;
  common::HttpClient http(options);
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/validate";
  // 500 (caches not synced yet) or refused (not listening yet) until the operator is ready.
  std::expected<common::HttpClientResponse, std::string> response;
  ASSERT_TRUE(eventually(
      [&] {
        response = http.request("POST", url, {{"Content-Type", "application/json"}},
                                common::toJson(review));
        return response.has_value() && response->status == 200;
      },
      20s))
      << (response ? response->body : response.error()) << "\noperator said:\n"
      << operatorProcess->errSoFar();
  auto body = common::parseJson(response->body);
  ASSERT_TRUE(body.has_value()) << response->body;
  EXPECT_FALSE(body->at("response").at("allowed").as_bool()) << response->body;
  EXPECT_THAT(body->at("response").at("status").at("message").as_string(),
              HasSubstr("a project may only use billing groups of its own organization"));

  operatorProcess->signal(SIGTERM);
  CommandResult ended = operatorProcess->wait(12s);
  EXPECT_EQ(ended.exitCode, 0) << ended;
  EXPECT_THAT(ended.err,
              HasSubstr("Serving the admission webhook on port " + std::to_string(port)));
  apiServer.signal(SIGTERM);
  EXPECT_EQ(apiServer.wait(10s).exitCode, 0);
}

// A run that cannot start: one line on stderr and the exit code --help documents.
class RunErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = apiserver::harness::startServer({});
    ASSERT_NE(server_, nullptr);
  }

  CommandResult run(const std::vector<std::string>& flags) {
    auto process = startOperator(dir_.path(), flags);
    return process->wait(20s);
  }
  fs::path writeConfig(const std::string& name, const std::string& text) {
    const fs::path path = dir_.path() / name;
    writeFile(path, text);
    return path;
  }
  static void expectOneLine(const CommandResult& result, int code, const std::string& text) {
    EXPECT_EQ(result.exitCode, code) << result;
    EXPECT_THAT(result.err, HasSubstr(text)) << result;
    const std::string firstLine = result.err.substr(0, result.err.find('\n'));
    EXPECT_EQ(result.err, firstLine + "\n") << "more than one line:\n" << result.err;
  }

  apiserver::harness::TempDir dir_;
  std::unique_ptr<apiserver::TestApiServer> server_;
};

TEST_F(RunErrorsTest, MissingKubeconfig) {
  const std::string missing = (dir_.path() / "nope.kubeconfig").string();
  expectOneLine(run({"--kubeconfig", missing}), run::kExitConfig, missing);
}

TEST_F(RunErrorsTest, InvalidKubeconfig) {
  auto path = writeConfig("broken.kubeconfig", "apiVersion: v1\nclusters: [\n");
  expectOneLine(run({"--kubeconfig", path.string()}), run::kExitConfig, "invalid YAML");
}

TEST_F(RunErrorsTest, UnreachableServer) {
  std::string text = server_->kubeconfig(KubeconfigAuth::Token);
  text = std::regex_replace(text, std::regex(R"(server: \S+)"), "server: https://127.0.0.1:1");
  auto path = writeConfig("unreachable.kubeconfig", text);
  expectOneLine(run({"--kubeconfig", path.string()}), run::kExitUnavailable, "cannot reach");
}

TEST_F(RunErrorsTest, CertificateFromAnotherAuthority) {
  auto other = apiserver::harness::startServer({});
  ASSERT_NE(other, nullptr);
  std::string text = server_->kubeconfig(KubeconfigAuth::Token);
  const std::string otherText = other->kubeconfig(KubeconfigAuth::Token);
  std::smatch otherCa;
  const std::regex caLine(R"(certificate-authority-data: \S+)");
  ASSERT_TRUE(std::regex_search(otherText, otherCa, caLine));
  text = std::regex_replace(text, caLine, otherCa.str());
  auto path = writeConfig("wrong-ca.kubeconfig", text);
  expectOneLine(run({"--kubeconfig", path.string()}), run::kExitUnavailable,
                "certificate verify failed");
}

TEST_F(RunErrorsTest, RejectedToken) {
  std::string text = server_->kubeconfig(KubeconfigAuth::Token);
  text = std::regex_replace(text, std::regex(R"(token: \S+)"), "token: not-the-token");
  auto path = writeConfig("bad-token.kubeconfig", text);
  auto result = run({"--kubeconfig", path.string()});
  expectOneLine(result, run::kExitUnavailable, "unauthorized");
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("not-the-token"))) << "a credential leaked";
}

TEST_F(RunErrorsTest, ForbiddenAndMissingCrds) {
  auto path = dir_.path() / "admin.kubeconfig";
  ASSERT_TRUE(server_->writeKubeconfig(path, KubeconfigAuth::ClientCertificate).has_value());
  expectOneLine(run({"--kubeconfig", path.string()}), run::kExitUnavailable,
                "CRDs are not installed");
  auto client = clientFromKubeconfig(path);
  ASSERT_TRUE(client.has_value());
  ASSERT_TRUE(installCrds(**client).has_value());
  auto forbid = common::parseJson(
      R"({"forbid": [{"user": "*", "verb": "list", "resource": "billinggroups"}]})");
  ASSERT_TRUE(server_->faults().configure(*forbid).has_value());
  expectOneLine(run({"--kubeconfig", path.string(), "--namespace", "team-a"}),
                run::kExitUnavailable, "forbidden");
}

TEST_F(RunErrorsTest, UsageAndVersion) {
  auto help = Process({kOperator, "run", "--help"}, dir_.path(), "").wait(10s);
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit codes:"));
  auto top = Process({kOperator, "--help"}, dir_.path(), "").wait(10s);
  EXPECT_EQ(top.exitCode, 0);
  EXPECT_THAT(top.out, HasSubstr("billing-operator run [flags]"));
  expectOneLine(run({"--workers", "0"}), run::kExitUsage, "--workers");
  auto version = Process({kOperator, "version"}, dir_.path(), "").wait(10s);
  EXPECT_EQ(version.exitCode, 0);
  EXPECT_THAT(version.out, ::testing::StartsWith("billing-operator 0."));
}

}  // namespace
}  // namespace billing::integration
