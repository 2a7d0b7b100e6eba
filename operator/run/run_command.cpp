#include "operator/run/run_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <mutex>
#include <ostream>
#include <thread>

#include "operator/kube/client_impl.h"
#include "operator/run/controllers.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/manager.h"
#include "operator/runtime/metrics.h"

namespace billing::run {

namespace {

// Waits for SIGTERM/SIGINT (blocked in every thread) on its own thread, so nothing runs in a
// signal handler. The first signal calls the current action; a second one exits at once, as
// controller-runtime's signal handler does.
class SignalWaiter {
 public:
  explicit SignalWaiter(sigset_t signals) : signals_(signals) {
    thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
  }
  ~SignalWaiter() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  void setAction(std::function<void()> action) {
    std::lock_guard lock(mutex_);
    action_ = std::move(action);
    if (pending_ && action_) {
      pending_ = false;
      action_();
    }
  }
  bool received() const { return received_.load(); }

 private:
  void loop(const std::stop_token& stop) {
    const timespec poll{0, 100 * 1000 * 1000};
    while (!stop.stop_requested()) {
      const int signal = ::sigtimedwait(&signals_, nullptr, &poll);
      if (signal < 0) continue;  // EAGAIN (the poll interval) or EINTR
      if (received_.exchange(true)) std::_Exit(kExitFailed);
      std::lock_guard lock(mutex_);
      if (action_) {
        action_();
      } else {
        pending_ = true;
      }
    }
  }

  sigset_t signals_;
  std::mutex mutex_;
  std::function<void()> action_;
  bool pending_ = false;
  std::atomic<bool> received_{false};
  std::jthread thread_;
};

std::string hostNameOrUnknown() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

std::string listenText(const std::optional<runtime::ListenAddress>& address, std::uint16_t port) {
  if (!address) return "disabled";
  return address->host + ":" + std::to_string(port);
}

}  // namespace

std::expected<void, std::string> checkApiAccess(kube::Client& client,
                                                const kube::RestConfig& config,
                                                const std::string& watchNamespace) {
  // /version first: it needs no permission, so a failure here is about reaching the server, TLS
  // or the credentials, and says so without a resource in the way.
  if (auto* impl = dynamic_cast<kube::ClientImpl*>(&client)) {
    kube::ClientImpl::Call call;
    call.verb = "get";
    call.method = "GET";
    call.path = "/version";
    call.resource = "version";
    auto version = impl->execute(call);
    if (!version) {
      return std::unexpected("cannot use the API server at " + config.server + " (" +
                             config.source + "): " + version.error().describe());
    }
  }
  const kube::ResourceRef groups{"billing.operator.dev", "v1alpha1", "billinggroups",
                                 "BillingGroup", true};
  kube::ListOptions options;
  options.limit = 1;
  auto listed = client.list(groups, watchNamespace, options);
  if (listed) return {};
  const kube::Error& error = listed.error();
  if (error.kind == kube::ErrorKind::NotFound) {
    return std::unexpected("the billing.operator.dev CRDs are not installed in the cluster at " +
                           config.server +
                           " (listing billinggroups.billing.operator.dev answered 404); install "
                           "them first: kubectl apply -f crds/");
  }
  return std::unexpected("cannot use the API server at " + config.server + " (" + config.source +
                         "): " + error.describe());
}

int runCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  auto parsed = parseRunArguments(args);
  if (!parsed) {
    err << "billing-operator run: " << parsed.error() << "\n";
    return kExitUsage;
  }
  const RunOptions& options = *parsed;
  if (options.help) {
    out << runUsage();
    return kExitOk;
  }

  // Before any thread exists, so that every thread inherits the mask and only the waiter sees
  // the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  SignalWaiter waiter(signals);

  runtime::LogConfig logConfig;
  logConfig.level = options.logLevel;
  logConfig.format = options.logFormat;
  runtime::Logger logger(logConfig);
  auto log = logger.withName("setup");

  kube::ConfigLoadOptions loadOptions;
  loadOptions.kubeconfig = options.kubeconfig;
  loadOptions.context = options.context;
  auto config = kube::loadRestConfig(loadOptions);
  if (!config) {
    err << "billing-operator run: " << config.error().describe() << "\n";
    return kExitConfig;
  }
  config->qps = options.kubeApiQps;
  config->burst = options.kubeApiBurst;
  if (options.kubeTransport) config->transport = *options.kubeTransport;

  auto registry = std::make_shared<runtime::Registry>();
  runtime::RuntimeMetrics requestMetrics(registry);
  kube::ClientOptions clientOptions;
  clientOptions.onRequest = requestMetrics.restClientHook();
  auto client = kube::makeClient(*config, std::move(clientOptions));
  if (!client) {
    err << "billing-operator run: " << client.error().describe() << "\n";
    return kExitConfig;
  }

  // Until the Manager exists there is nothing to shut down: a signal ends the process.
  waiter.setAction([] { std::_Exit(kExitOk); });
  if (auto access = checkApiAccess(**client, *config, options.watchNamespace); !access) {
    err << "billing-operator run: " << access.error() << "\n";
    return kExitUnavailable;
  }

  runtime::ManagerOptions managerOptions;
  managerOptions.logger = logger;
  managerOptions.registry = registry;
  managerOptions.metricsAddress = options.metricsAddress;
  managerOptions.healthProbeAddress = options.healthProbeAddress;
  managerOptions.gracefulShutdownTimeout = options.gracefulShutdownTimeout;
  if (options.leaderElect) {
    runtime::LeaderElectionConfig election;
    election.leaseNamespace = !options.leaderElectionNamespace.empty()
                                  ? options.leaderElectionNamespace
                                  : (!config->defaultNamespace.empty() ? config->defaultNamespace
                                                                       : std::string("default"));
    election.leaseName = options.leaderElectionId;
    election.identity = !options.leaderElectionIdentity.empty()
                            ? options.leaderElectionIdentity
                            : hostNameOrUnknown() + "_" + runtime::randomUuid();
    election.leaseDuration = options.leaseDuration;
    election.renewDeadline = options.renewDeadline;
    election.retryPeriod = options.retryPeriod;
    managerOptions.leaderElection = std::move(election);
  }

  runtime::Manager manager(**client, managerOptions);
  waiter.setAction([&manager, &log] {
    log.info("Signal received; shutting down (a second signal exits at once)");
    manager.stopFromSignalHandler();
  });
  if (auto registered = registerControllers(manager, options); !registered) {
    waiter.setAction([] {});
    err << "billing-operator run: " << registered.error() << "\n";
    return kExitConfig;
  }

  runtime::LogFields startFields{
      {"server", config->server},
      {"source", config->source},
      {"namespace", options.watchNamespace.empty() ? std::string("(all)") : options.watchNamespace},
      {"workers", options.workers}};
  if (managerOptions.leaderElection) {
    startFields.emplace_back("leaseNamespace", managerOptions.leaderElection->leaseNamespace);
    startFields.emplace_back("leaseName", managerOptions.leaderElection->leaseName);
    startFields.emplace_back("identity", managerOptions.leaderElection->identity);
  }
  log.info("Starting manager", startFields);
  auto started = manager.start();
  if (!started) {
    waiter.setAction([] {});
    err << "billing-operator run: " << started.error() << "\n";
    return kExitFailed;
  }
  log.info("Serving",
           {{"metrics", listenText(options.metricsAddress, manager.metricsPort())},
            {"healthProbes", listenText(options.healthProbeAddress, manager.healthProbePort())}});
  auto ended = manager.wait();
  waiter.setAction([] {});
  if (!ended) {
    err << "billing-operator run: " << ended.error() << "\n";
    // Reconciles still running: destroying the Manager would wait for them.
    if (ended.error().find("still running") != std::string::npos) std::_Exit(kExitFailed);
    return kExitFailed;
  }
  log.info("Shut down cleanly");
  return kExitOk;
}

}  // namespace billing::run
