// Shared by the benchmarks that run the operator as a process against the in-process test API
// server (operator_bench, invoice_close_bench): the synthetic world, child processes with their
// CPU and memory, observing objects through the server's store, request counts, idleness, and
// the setup every run repeats (CRDs, the world through the API, the ledger).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/json.h"
#include "operator/kube/client.h"
#include "reconcilers/resources.h"
#include "tests/apiserver/test_apiserver.h"

namespace billing::bench {

using web::json::value;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using billing::kube::ResourceRef;

inline const ResourceRef kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                               "CustomResourceDefinition", false};
inline const ResourceRef kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline const ResourceRef kGroups{"billing.operator.dev", "v1alpha1", "billinggroups",
                                 "BillingGroup", true};
inline const ResourceRef kProjects{"billing.operator.dev", "v1alpha1", "projects", "Project", true};
inline const std::string kGroupsResource = "billinggroups.billing.operator.dev";
inline const std::string kProjectsResource = "projects.billing.operator.dev";
inline const std::string kInvoicesResource = "invoices.billing.operator.dev";
inline const std::string kOrganizationLabel = "billing.operator.dev/organization";
inline const std::string kOperatorUser = "billing-operator";

// The name error messages start with ("operator_bench").
void setProgramName(const char* name);
const char* programName();
[[noreturn]] void die(const std::string& what);

// The benchmarks' command lines: `--name value` or `--name=value`, switches alone, `-h` or
// `--help` prints the usage and exits. Every problem ends the program with a sentence naming the
// flag (die). Reading one:
//   FlagReader flags(argc, argv, kUsage);
//   while (flags.next()) {
//     if (flags.is("--keep")) keep = true;
//     else if (flags.is("--groups")) groups = flags.integer(1);
//     else flags.unknown();
//   }
class FlagReader {
 public:
  FlagReader(int argc, char** argv, const char* usage) : argc_(argc), argv_(argv), usage_(usage) {}

  // Moves to the next flag; false after the last one.
  bool next();
  bool is(std::string_view name) const { return name_ == name; }
  // The current flag's value: after '=' or the next argument.
  std::string value();
  // The value as a whole number in [minimum, maximum].
  int integer(int minimum, int maximum = 100'000'000);
  // The value as a number >= 0.
  double decimal();
  [[noreturn]] void unknown() const;

 private:
  int argc_;
  char** argv_;
  const char* usage_;
  int index_ = 0;
  std::string name_;
  std::optional<std::string> inlineValue_;
};

double seconds(SteadyClock::duration d);
double millis(SteadyClock::duration d);

// ---- the synthetic world ----

// Organizations "org-00".., each with namespaces "org-00-a" and "org-00-b" labelled with it.
// Organization-scope groups "shared-N" live in the "-a" namespace; Project-scope groups
// "dedicated-N" beside the project they are bound to. Projects 0..projectGroups-1 use their
// dedicated group (even ones name it, odd ones leave it to the binding); the others reference a
// shared group of their organization, from either namespace.
class World {
 public:
  World(int organizations, int groups, int projectGroups, int projects)
      : organizations_(organizations),
        groups_(groups),
        projectGroups_(projectGroups),
        projects_(projects) {}

  int organizations() const { return organizations_; }
  int groups() const { return groups_; }
  int projectGroups() const { return projectGroups_; }
  int projects() const { return projects_; }

  // Objects as the operator's mutating admission webhook stores them: with the operator's
  // finalizer from their creation (docs/benchmarks.md). Without it, objects as they are when the
  // operator is installed onto a cluster that has them already: the reconcilers add the finalizer.
  void setAdmittedWithFinalizers(bool admitted) { admitted_ = admitted; }
  bool admittedWithFinalizers() const { return admitted_; }

  int organizationGroups() const { return groups_ - projectGroups_; }
  int objects() const { return groups_ + projects_; }

  static std::string organization(int org) {
    char text[16];
    std::snprintf(text, sizeof text, "org-%02d", org);
    return text;
  }
  static std::string namespaceName(int org, int side) {
    return organization(org) + (side == 0 ? "-a" : "-b");
  }
  static std::string projectName(int p) { return "project-" + std::to_string(p); }
  static std::string sharedName(int g) { return "shared-" + std::to_string(g); }
  static std::string dedicatedName(int p) { return "dedicated-" + std::to_string(p); }

  int organizationOfProject(int p) const { return p % organizations_; }
  std::string projectNamespace(int p) const {
    return namespaceName(organizationOfProject(p), (p / organizations_) % 2);
  }
  // The k-th shared group of an organization.
  int sharedGroup(int org, int k) const {
    const int perOrganization = organizationGroups() / organizations_;
    return org + (k % perOrganization) * organizations_;
  }
  int sharedGroupOf(int p) const {
    return sharedGroup(organizationOfProject(p), p / organizations_);
  }
  int sharedGroupAfter(int p) const {
    return sharedGroup(organizationOfProject(p), p / organizations_ + 1);
  }
  bool usesSharedGroup(int p) const { return p >= projectGroups_; }

  value namespaceObject(int org, int side) const {
    value object = value::object();
    object["apiVersion"] = value::string("v1");
    object["kind"] = value::string("Namespace");
    object["metadata"]["name"] = value::string(namespaceName(org, side));
    object["metadata"]["labels"][kOrganizationLabel] = value::string(organization(org));
    return object;
  }

  value sharedGroupObject(int g) const {
    const int org = g % organizations_;
    value object = groupBase(sharedName(g), namespaceName(org, 0));
    object["spec"]["scope"] = value::string("Organization");
    object["spec"]["displayName"] =
        value::string("Shared billing of " + organization(org) + " #" + std::to_string(g));
    admit(object, reconcilers::kBillingGroupFinalizer);
    return object;
  }

  value dedicatedGroupObject(int p) const {
    value object = groupBase(dedicatedName(p), projectNamespace(p));
    object["spec"]["scope"] = value::string("Project");
    object["spec"]["projectRef"]["name"] = value::string(projectName(p));
    object["spec"]["displayName"] = value::string("Billing of " + projectName(p));
    admit(object, reconcilers::kBillingGroupFinalizer);
    return object;
  }

  value projectObject(int p) const {
    value object = value::object();
    object["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
    object["kind"] = value::string("Project");
    object["metadata"]["name"] = value::string(projectName(p));
    object["metadata"]["namespace"] = value::string(projectNamespace(p));
    object["spec"]["displayName"] = value::string("Project number " + std::to_string(p));
    object["spec"]["tags"]["team"] = value::string("team-" + std::to_string(p % 37));
    object["spec"]["tags"]["cost-center"] = value::string("cc-" + std::to_string(p % 11));
    if (usesSharedGroup(p)) {
      object["spec"]["billingGroupRef"] = groupRef(p, sharedGroupOf(p));
    } else if (p % 2 == 0) {
      object["spec"]["billingGroupRef"]["name"] = value::string(dedicatedName(p));
    }
    admit(object, reconcilers::kProjectFinalizer);
    return object;
  }

  // spec.billingGroupRef to shared group g, from project p's namespace.
  value groupRef(int p, int g) const {
    value ref = value::object();
    ref["name"] = value::string(sharedName(g));
    const std::string groupNamespace = namespaceName(g % organizations_, 0);
    if (groupNamespace != projectNamespace(p)) ref["namespace"] = value::string(groupNamespace);
    return ref;
  }

 private:
  void admit(value& object, std::string_view finalizer) const {
    if (admitted_) object["metadata"]["finalizers"][0] = value::string(std::string(finalizer));
  }

  static value groupBase(const std::string& name, const std::string& ns) {
    value object = value::object();
    object["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
    object["kind"] = value::string("BillingGroup");
    object["metadata"]["name"] = value::string(name);
    object["metadata"]["namespace"] = value::string(ns);
    object["spec"]["currency"] = value::string("EUR");
    object["spec"]["company"] = value::string("ACME Corporation GmbH");
    object["spec"]["vatId"] = value::string("DE123456789");
    object["spec"]["billingEmails"][0] = value::string("billing@acme.example");
    object["spec"]["billingContactEmails"][0] = value::string("finance@acme.example");
    object["spec"]["address"]["lines"][0] = value::string("Hauptstrasse 1");
    object["spec"]["address"]["city"] = value::string("Berlin");
    object["spec"]["address"]["zipCode"] = value::string("10115");
    object["spec"]["address"]["countryCode"] = value::string("DE");
    object["spec"]["invoiceText"] = value::string("Thank you for your business.");
    object["spec"]["invoicing"]["period"] = value::string("Monthly");
    return object;
  }

  int organizations_;
  int groups_;
  int projectGroups_;
  int projects_;
  bool admitted_ = false;
};

// ---- processes ----

std::uint16_t freePort();

class Process {
 public:
  Process(const fs::path& binary, const std::vector<std::string>& args, const fs::path& logFile) {
    if (!fs::exists(binary)) {
      die(binary.string() + " does not exist: build it first (cmake --build DIR --target " +
          binary.filename().string() + ") or pass --bin-dir");
    }
    std::vector<std::string> argv{binary.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    started_ = SteadyClock::now();
    pid_ = ::fork();
    if (pid_ < 0) die("fork");
    if (pid_ == 0) {
      const int fd = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> raw;
      for (auto& arg : argv) raw.push_back(arg.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  SteadyClock::time_point started() const { return started_; }
  bool running() const {
    if (exited_) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

  // utime + stime from /proc/PID/stat, in seconds.
  double cpuSeconds() const {
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    // Fields after the command: state(3) ... utime(14) stime(15).
    for (int index = 3; index <= 15 && fields >> field; ++index) {
      if (index == 14) utime = std::stoull(field);
      if (index == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  // A field of /proc/PID/status in MiB ("VmHWM": peak RSS, "VmRSS": now).
  double statusMiB(const std::string& key) const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with(key + ":")) {
        return std::strtod(line.c_str() + key.size() + 1, nullptr) / 1024.0;
      }
    }
    return -1;
  }

  // Resets the peak RSS (VmHWM) to the current RSS (Linux: "5" to /proc/PID/clear_refs), so a
  // phase's peak is its own. False when the kernel refuses.
  bool resetPeakRss() const {
    std::ofstream clear("/proc/" + std::to_string(pid_) + "/clear_refs");
    clear << "5";
    clear.flush();
    return static_cast<bool>(clear);
  }

  // SIGTERM, then the exit code (SIGKILL after 30 s).
  int stop() {
    if (exited_ || pid_ <= 0) return exitCode_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int waited = 0; waited < 3000; ++waited) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exitCode_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    exited_ = true;
    exitCode_ = 137;
    return exitCode_;
  }

 private:
  pid_t pid_ = -1;
  SteadyClock::time_point started_;
  bool exited_ = false;
  int exitCode_ = -1;
};

// ---- observing the world through the server's store ----

// Ready=True for the object's current generation.
bool isReady(const value& object);
bool groupListsProject(const value& group, const std::string& ns, const std::string& name);

// The latest state of every object of some resources (BillingGroups and Projects unless told),
// from watches on the server's store (no API request), with a condition variable for whoever
// waits for a state.
class Observer {
 public:
  explicit Observer(billing::apiserver::ObjectStore& store,
                    const std::vector<std::string>& resources = {kGroupsResource,
                                                                 kProjectsResource}) {
    for (const std::string& resource : resources) {
      billing::apiserver::WatchFilter filter;
      filter.resource = resource;
      filter.matches = [](const value&) { return true; };
      auto started = store.watch(filter, std::nullopt);
      if (!started) die("cannot watch the store");
      {
        std::lock_guard lock(mutex_);
        for (const value& object : started->initial) put(resource, object);
      }
      threads_.emplace_back([this, resource, watcher = started->watcher](std::stop_token stop) {
        while (!stop.stop_requested()) {
          auto event = watcher->next(std::chrono::milliseconds(100));
          if (!event) {
            if (!watcher->stopped()) continue;
            // Waits for states then time out and say so.
            std::fprintf(stderr, "%s: the benchmark's store watch ended\n", programName());
            return;
          }
          std::lock_guard lock(mutex_);
          if (event->type == billing::apiserver::EventType::Deleted) {
            erase(resource, event->ns + "/" + event->name);
          } else {
            put(resource, event->object);
          }
          changed_.notify_all();
        }
        watcher->stop();
      });
    }
  }
  ~Observer() { stop(); }
  // Ends the watches (before the server stops, which would end them from under us).
  void stop() {
    for (auto& thread : threads_) thread.request_stop();
    threads_.clear();
  }

  std::size_t ready() const {
    std::lock_guard lock(mutex_);
    return readyKeys_.size();
  }

  // Waits until `done` (called under the lock, with this observer) holds; false on timeout.
  bool waitFor(const std::function<bool(const Observer&)>& done,
               std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(*this); });
  }
  // Under the lock (from waitFor's predicate, or with lock()).
  const value* group(const std::string& ns, const std::string& name) const {
    auto found = objects_.find({kGroupsResource, ns + "/" + name});
    return found == objects_.end() ? nullptr : &found->second;
  }
  const value* project(const std::string& ns, const std::string& name) const {
    auto found = objects_.find({kProjectsResource, ns + "/" + name});
    return found == objects_.end() ? nullptr : &found->second;
  }
  std::size_t readyLocked() const { return readyKeys_.size(); }
  // Every object of `resource`, under the lock.
  std::vector<const value*> allLocked(const std::string& resource) const {
    std::vector<const value*> all;
    for (auto it = objects_.lower_bound({resource, ""});
         it != objects_.end() && it->first.first == resource; ++it) {
      all.push_back(&it->second);
    }
    return all;
  }
  std::unique_lock<std::mutex> lock() const { return std::unique_lock(mutex_); }

 private:
  void put(const std::string& resource, const value& object) {
    const std::string key = billing::common::stringAt(object, {"metadata", "namespace"}) + "/" +
                            billing::common::stringAt(object, {"metadata", "name"});
    objects_[{resource, key}] = object;
    if (isReady(object)) {
      readyKeys_.insert({resource, key});
    } else {
      readyKeys_.erase({resource, key});
    }
  }
  void erase(const std::string& resource, const std::string& key) {
    objects_.erase({resource, key});
    readyKeys_.erase({resource, key});
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::pair<std::string, std::string>, value> objects_;
  std::set<std::pair<std::string, std::string>> readyKeys_;
  std::vector<std::jthread> threads_;
};

// ---- request counts, from the server's side ----

using Counts = std::map<std::pair<std::string, std::string>, std::uint64_t>;  // (verb, resource)

// The operator's requests (user kOperatorUser) by verb and resource[/subresource].
Counts operatorRequests(const billing::apiserver::TestApiServer& server);
Counts since(const Counts& now, const Counts& before);
bool isWrite(const std::string& verb);
std::uint64_t total(
    const Counts& counts,
    const std::function<bool(const std::string& verb, const std::string& resource)>& which);
bool isBillingResource(const std::string& resource);
void printRequests(const Counts& counts);

// ---- the operator's own metrics ----

struct OperatorMetrics {
  double reconciles = 0;  // controller_runtime_reconcile_total, every controller and result
  double queueDepth = 0;  // workqueue_depth, every queue
  // controller_runtime_webhook_latency_seconds of POST /validate as the server measured it:
  // cumulative count per upper bound `le` (seconds), +Inf as infinity.
  std::map<double, double> validateLatencyBuckets;
  bool ok = false;
};

// The smallest bucket bound under which `share` (0..1) of the reviews between `before` and
// `after` were answered, as the operator measured them (no network, no client); nullopt without
// reviews.
std::optional<double> serverSideQuantile(const OperatorMetrics& before,
                                         const OperatorMetrics& after, double share);

OperatorMetrics scrape(std::uint16_t port);

// Waits until the operator is idle: its queues are empty, it reconciled at least
// `minimumReconciles` times, and neither its reconciles nor its API requests moved for `quiet`.
bool waitIdle(const billing::apiserver::TestApiServer& server, std::uint16_t metricsPort,
              double minimumReconciles, std::chrono::milliseconds quiet,
              std::chrono::seconds timeout);

// ---- latency statistics ----

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> samples);

const char* verdict(bool met);

// ---- setup ----

std::vector<value> readYamlFile(const fs::path& path);
std::unique_ptr<billing::kube::Client> clientFor(const fs::path& kubeconfig);

// Creates `count` objects from `make(i)` with a few client threads.
void createAll(billing::kube::Client& client, const ResourceRef& resource, int count,
               const std::function<value(int)>& make);

// The repository's CRDs (crds/ under `sourceDir`), created and served.
void loadCrds(billing::kube::Client& client, const fs::path& sourceDir);
// The world's namespaces, groups and projects, through the API.
void loadWorld(billing::kube::Client& client, const World& world);

// Writes a kubeconfig for `server` that authenticates as kOperatorUser (a member of
// system:masters), so the server counts the operator's requests apart from the benchmark's.
void writeOperatorKubeconfig(billing::apiserver::TestApiServer& server, const fs::path& path);

// Writes a serving certificate for the operator's webhook on 127.0.0.1 (tls.crt, tls.key) into
// `certDir`, issued by a new CA; returns the CA's certificate (PEM) for clients.
std::string writeWebhookCertificates(const fs::path& certDir);

// Starts billing-ledger (no auth, JSON logs to `logFile`) on `port` over `database` plus
// `extraArgs`, and waits until /healthz answers 200.
std::unique_ptr<Process> startLedger(const fs::path& binDir, std::uint16_t port,
                                     const std::string& database, const fs::path& logFile,
                                     const std::vector<std::string>& extraArgs = {});

}  // namespace billing::bench
