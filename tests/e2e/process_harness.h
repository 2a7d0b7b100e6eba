// The end-to-end harness: the real processes a user runs, started from the build tree and
// driven from the outside.
//
//   ManagedProcess     one child process: stdout+stderr appended to a log file that survives
//                      restarts; SIGTERM/SIGKILL with exit codes; start() again to restart
//   ApiServerProcess   build/bin/test-apiserver (--port 0, --kubeconfig, --data-dir,
//                      --service-endpoint for the webhook Service)
//   LedgerProcess      build/bin/billing-ledger on SQLite in the test's directory, plus GETs of
//                      its REST API (memberships, accounts)
//   OperatorProcess    build/bin/billing-operator run with its own free metrics, probe and
//                      webhook ports; waits for /readyz; scrapes /metrics
//   WebhookServing     a CA and a serving certificate for <service>.<namespace>.svc, the files
//                      an operator reads from --webhook-cert-dir and the Validating- and
//                      MutatingWebhookConfiguration that register it like a real install
//   Environment        all of the above for one test: a temp directory, the API server with the
//                      CRDs installed, optionally the ledger and the webhook, any number of
//                      operator replicas, the real kubectl; prints every process's log when the
//                      test failed
//
// Each test builds its own Environment (ctest runs tests as separate processes, in parallel), so
// tests never share state. A test that wants to crash a process in a loop uses ManagedProcess
// directly: kill(), then start() again, and the log shows every incarnation.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/json.h"
#include "common/tls.h"
#include "tests/apiserver/tests/server_harness.h"

namespace billing::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using apiserver::harness::CommandResult;
using apiserver::harness::Kubectl;
using apiserver::harness::TempDir;

// Where the build put the binaries (build/bin).
fs::path binaryPath(const std::string& name);

// A TCP port on 127.0.0.1 that nothing listens on right now. Another process may take it
// before ours binds it; the window is short and every caller reports a failed start clearly.
int freePort();

// Polls `condition` every 50 ms until it holds or `timeout` passes; returns the last answer.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// A child process whose stdout and stderr are appended to `logPath`. Destroying it kills the
// process (SIGKILL) if it still runs.
class ManagedProcess {
 public:
  ManagedProcess(std::string name, std::vector<std::string> argv, fs::path logPath);
  ~ManagedProcess();
  ManagedProcess(const ManagedProcess&) = delete;
  ManagedProcess& operator=(const ManagedProcess&) = delete;

  // Starts (or restarts, after it ended) the process; the log gets a marker line first.
  // Returns false (and logs why) when it could not be spawned.
  bool start();
  bool running();
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const fs::path& logPath() const { return logPath_; }
  std::string log() const;
  // The log since the last start().
  std::string logSinceStart() const;

  void signal(int number);
  // Waits for the process to exit: its exit code, 128+N when killed by signal N, nullopt when it
  // still ran after `timeout` (it is then left running).
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then wait up to `grace`; SIGKILL after that. The exit code as wait() gives it.
  std::optional<int> stop(std::chrono::milliseconds grace = 15s);
  // SIGKILL and reap: a crash, as the kernel's OOM killer or a node failure would do it.
  void kill();

 private:
  std::string name_;
  std::vector<std::string> argv_;
  fs::path logPath_;
  pid_t pid_ = -1;
  bool reaped_ = true;
  std::optional<int> exitCode_;
  std::uintmax_t startOffset_ = 0;  // log size when the current incarnation started
};

// build/bin/test-apiserver on a free port, its admin kubeconfig written to `kubeconfig`.
class ApiServerProcess {
 public:
  struct Options {
    std::vector<std::string> serviceEndpoints;  // "NS/NAME:PORT=LOCALPORT"
    std::optional<fs::path> dataDir;
    std::vector<std::string> extraFlags;
  };
  ApiServerProcess(const fs::path& dir, Options options);
  // Waits for the kubeconfig file (written once the server serves).
  bool waitReady(std::chrono::milliseconds timeout = 15s) const;
  const fs::path& kubeconfig() const { return kubeconfig_; }
  ManagedProcess& process() { return *process_; }

 private:
  fs::path kubeconfig_;
  std::unique_ptr<ManagedProcess> process_;
};

// build/bin/billing-ledger without authentication, on SQLite (`dir`/ledger.db) unless
// `databaseFlags` say otherwise (say {"--database", "postgres:...", "--postgres-schema", "s"}).
// Restarting its process (kill(), start()) keeps the port and the database: the same ledger.
class LedgerProcess {
 public:
  explicit LedgerProcess(const fs::path& dir, std::vector<std::string> databaseFlags = {});
  bool waitReady(std::chrono::milliseconds timeout = 15s) const;
  const std::string& url() const { return url_; }
  ManagedProcess& process() { return *process_; }

  // GET url()+path: the parsed JSON body of a 200, or an error naming the status and body.
  std::expected<web::json::value, std::string> get(const std::string& path) const;
  // POST url()+path with a JSON body and an Idempotency-Key (as a metering system posts charges):
  // the parsed body of a 200 or 201, or an error naming the status and the problem document.
  std::expected<web::json::value, std::string> post(const std::string& path,
                                                    const web::json::value& body,
                                                    const std::string& idempotencyKey) const;
  // The memberships of a project ("namespace/name"), by start.
  std::expected<std::vector<web::json::value>, std::string> memberships(
      const std::string& project) const;

 private:
  std::string url_;
  std::unique_ptr<ManagedProcess> process_;
};

// Scraped Prometheus text: a sample's value by its exact series (`name{labels}`), 0 when absent.
double metricValue(const std::string& metricsText, const std::string& series);
// The sum of every sample of `name` whose labels contain each of `labelMatchers`
// (`method="POST"`).
double metricSum(const std::string& metricsText, const std::string& name,
                 const std::vector<std::string>& labelMatchers);

struct OperatorOptions {
  std::string identity = "replica-a";  // --leader-election-identity, also the log file's name
  bool leaderElect = false;
  std::string ledgerUrl;  // empty: run without a backend
  std::optional<fs::path> webhookCertDir;
  int webhookPort = 0;                  // 0: a free port is picked
  std::vector<std::string> extraFlags;  // appended last
};

// build/bin/billing-operator run against `kubeconfig`, with short leader-election timings (3 s
// lease, 2 s renew deadline, 250 ms retry) so that handovers take seconds; the algorithm is the
// one of the 15 s / 10 s / 2 s defaults.
class OperatorProcess {
 public:
  OperatorProcess(const fs::path& dir, const fs::path& kubeconfig, OperatorOptions options);
  // /readyz answers 200 (informer caches synced).
  bool waitReady(std::chrono::milliseconds timeout = 20s) const;
  int metricsPort() const { return metricsPort_; }
  int healthPort() const { return healthPort_; }
  int webhookPort() const { return options_.webhookPort; }
  const OperatorOptions& options() const { return options_; }
  ManagedProcess& process() { return *process_; }
  // GET /metrics, "" when it does not answer.
  std::string metrics() const;
  // The sum of rest_client_requests_total for the API server for one HTTP method.
  double requests(const std::string& method) const;
  // POST + PUT + PATCH + DELETE requests this process made to the API server.
  double writes() const;
  // The operator's log lines (JSON) whose "msg" is `message`, since the last start.
  std::vector<web::json::value> logLines(const std::string& message) const;

 private:
  OperatorOptions options_;
  int metricsPort_ = 0;
  int healthPort_ = 0;
  std::unique_ptr<ManagedProcess> process_;
};

// A CA and the webhook's serving certificate for `<service>.<namespace>.svc`.
struct WebhookServing {
  std::string ns = "billing-system";
  std::string service = "billing-operator-webhook";
  int servicePort = 443;
  std::string caPem;
  std::string certPem;
  std::string keyPem;

  static std::expected<WebhookServing, std::string> generate();
  // tls.crt and tls.key in `dir`, as a kubernetes.io/tls Secret volume mounts them.
  void writeTo(const fs::path& dir) const;
  // The admissionregistration.k8s.io/v1 webhook configurations of a real install (two YAML
  // documents, as charts/billing-operator/templates/webhook.yaml): the
  // ValidatingWebhookConfiguration (CREATE/UPDATE of billinggroups, projects, invoices and DELETE
  // of billinggroups, path /validate) and the MutatingWebhookConfiguration (CREATE of
  // billinggroups and projects, path /mutate: the finalizer), both named billing-operator,
  // through the Service, caBundle = the CA, failurePolicy Fail, sideEffects None.
  std::string configurationYaml() const;
  // The --service-endpoint flag value that routes the Service to `localPort`.
  std::string serviceEndpoint(int localPort) const;
};

// One test's processes. Construction starts the API server (and the ledger when asked) and
// installs crds/ with kubectl; start operators with addOperator(). The destructor stops
// everything and, when the running test has failed, prints each process's log.
class Environment {
 public:
  struct Options {
    bool ledger = true;
    bool webhook = true;  // register the webhook served by the operators (same port for all)
    // Appended to test-apiserver's command line (say {"--clock-offset", "-48h"}).
    std::vector<std::string> apiServerFlags;
    // The ledger's database flags (LedgerProcess); empty: SQLite in the test's directory.
    std::vector<std::string> ledgerDatabaseFlags;
  };
  explicit Environment(Options options);
  explicit Environment() : Environment(Options{}) {}
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // Empty when everything started; otherwise what did not, with its log.
  const std::string& startupError() const { return startupError_; }

  const fs::path& dir() const { return dir_.path(); }
  ApiServerProcess& apiServer() { return *apiServer_; }
  LedgerProcess* ledger() { return ledger_.get(); }
  const Kubectl& kubectl() const { return *kubectl_; }
  const std::optional<WebhookServing>& webhook() const { return webhook_; }

  // Starts an operator replica (webhook certificate, port and ledger filled in). Returns it once
  // started; call waitReady() on it.
  OperatorProcess& addOperator(OperatorOptions options = {});
  OperatorProcess& operatorAt(std::size_t index) { return *operators_.at(index); }

  // kubectl with these arguments; every call is recorded for failure reports. A kubectl still
  // running after `timeout` is killed (exit code -1).
  CommandResult kubectl(const std::vector<std::string>& args, const std::string& input = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // kubectl get ... -o json, parsed; null (and a test failure) when it fails.
  web::json::value getJson(const std::vector<std::string>& args);
  // The logs of every process, for failure messages.
  std::string logs() const;

 private:
  Options options_;
  TempDir dir_;
  std::unique_ptr<ApiServerProcess> apiServer_;
  std::unique_ptr<LedgerProcess> ledger_;
  std::unique_ptr<Kubectl> kubectl_;
  std::optional<WebhookServing> webhook_;
  int webhookPort_ = 0;
  std::vector<std::unique_ptr<OperatorProcess>> operators_;
  std::string startupError_;
};

// ---- reading objects ----

// The condition of `type` in object.status.conditions, null when absent.
web::json::value condition(const web::json::value& object, const std::string& type);
// object at a dotted path ("status.billingGroup.name"), "<missing>" when absent, JSON text for
// non-strings.
std::string at(const web::json::value& object, const std::string& dottedPath);

// The webhook answers from the operator's informer caches, which see a new Namespace's label a
// moment after it is created. Waits until the webhook knows `ns` belongs to `organization`: a
// server-side dry run of a BillingGroup labelled with that organization is refused
// (OrganizationLabelMismatch) until then.
::testing::AssertionResult webhookSeesNamespace(Environment& env, const std::string& ns,
                                                const std::string& organization);

// ---- talking to the processes directly ----

// One HTTP request on a client of its own; a request that got no answer comes back as status 0
// with the error as its body, so tests can assert on it like on any answer.
common::HttpClientResponse httpCall(const std::string& method, const std::string& url,
                                    const std::string& body = {}, common::HttpHeaders headers = {},
                                    std::optional<common::TlsClientConfig> tls = std::nullopt);

// The violations `billing-operator check -o json` reports for `file`: what the webhook's refusals
// must say sentence for sentence. An unreadable report is a test failure (and no violation).
std::vector<web::json::value> checkerViolations(const fs::path& file, const fs::path& workDir);

}  // namespace billing::e2e
