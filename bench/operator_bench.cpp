// operator_bench: the operator at scale, against the targets of issue #9 (docs/benchmarks.md).
//
//   build/bench/operator_bench [--organizations 20] [--groups 1000] [--projects 10000] ...
//   (--help lists every flag)
//
// What runs where:
//   - the test API server in this process (HTTPS, the repository's CRDs): the world is loaded
//     through its HTTP API like `kubectl apply` would, and the benchmark observes the objects
//     through the server's store, so watching costs no API request; the server counts the
//     requests it receives per user, and the operator has a user of its own;
//   - the billing ledger as its own process (`billing-ledger`, SQLite);
//   - the operator as its own process (`billing-operator run`), so that its CPU seconds
//     (/proc/PID/stat) and peak RSS (/proc/PID/status VmHWM) are its own.
//
// Phases, each printed as a table:
//   1. cold start: the world exists, the operator starts; time until every BillingGroup and
//      Project is Ready, API requests by verb and resource, writes per object, CPU, peak RSS;
//   2. steady state: the operator restarts over the unchanged world (a full resync: every
//      object is listed and reconciled again); its writes must be 0;
//   3. moves: projects moved between groups one at a time; latency until the project's status
//      and both groups' statuses show the move;
//   4. webhook: AdmissionReviews over HTTPS at a fixed rate (open loop: latency is measured from
//      when a request was due, so a slow answer delays nobody's clock), p50/p90/p99;
//   5. invoice close: a program of its own, bench/invoice_close_bench.cpp (its world runs on a
//      shifted clock and needs the charges of a whole period); both share bench_support.h.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "common/json.h"
#include "common/tls.h"
#include "operator/kube/transport.h"
#include "tests/apiserver/test_apiserver.h"

namespace {

using namespace billing::bench;

constexpr const char* kUsage = R"(Usage: operator_bench [flags]

Starts the test API server (in this process), billing-ledger (SQLite) and billing-operator run,
loads a synthetic world and prints cold start, steady state, move and webhook measurements.

World:
  --organizations N      organizations, two labelled namespaces each (default 20)
  --groups N             BillingGroups (default 1000)
  --project-groups N     of which Project scope, each bound to one project (default groups/2)
  --projects N           Projects (default 10000)
  --world KIND           admitted (default): objects carry the operator's finalizer, as its
                         mutating admission webhook stores every object created while it runs;
                         preexisting: objects created before the operator was installed, without
                         it (the reconcilers then add it: one more write per object)
Phases:
  --moves N              projects moved one at a time (default 100; 0 skips)
  --webhook-rate R       AdmissionReviews per second (default 200)
  --webhook-seconds S    for this long (default 10; 0 skips)
  --webhook-only         after the cold start (which loads the operator's caches), only the
                         webhook phase: no restart, no moves
  --timeout S            longest wait for a phase to complete (default 300)
Processes:
  --bin-dir DIR          where billing-operator and billing-ledger are (default: this build's bin/)
  --operator-arg ARG     one more flag for `billing-operator run` (repeatable), e.g.
                         --operator-arg=--kube-api-qps=50
  --keep                 keep the work directory (logs, ledger database)
)";

struct Flags {
  int organizations = 20;
  int groups = 1000;
  int projectGroups = -1;  // groups / 2
  int projects = 10000;
  int moves = 100;
  double webhookRate = 200;
  double webhookSeconds = 10;
  bool webhookOnly = false;
  bool admittedWorld = true;
  int timeoutSeconds = 300;
  fs::path binDir = BILLING_BIN_DIR;
  std::vector<std::string> operatorArgs;
  bool keep = false;
};

Flags parseFlags(int argc, char** argv) {
  Flags flags;
  FlagReader reader(argc, argv, kUsage);
  constexpr int kMost = 10'000'000;
  while (reader.next()) {
    if (reader.is("--keep")) {
      flags.keep = true;
    } else if (reader.is("--webhook-only")) {
      flags.webhookOnly = true;
    } else if (reader.is("--organizations")) {
      flags.organizations = reader.integer(1, kMost);
    } else if (reader.is("--groups")) {
      flags.groups = reader.integer(1, kMost);
    } else if (reader.is("--project-groups")) {
      flags.projectGroups = reader.integer(0, kMost);
    } else if (reader.is("--projects")) {
      flags.projects = reader.integer(1, kMost);
    } else if (reader.is("--moves")) {
      flags.moves = reader.integer(0, kMost);
    } else if (reader.is("--webhook-rate")) {
      flags.webhookRate = reader.decimal();
    } else if (reader.is("--webhook-seconds")) {
      flags.webhookSeconds = reader.decimal();
    } else if (reader.is("--world")) {
      const std::string kind = reader.value();
      if (kind != "admitted" && kind != "preexisting") {
        die("--world is admitted or preexisting, got \"" + kind + "\"");
      }
      flags.admittedWorld = kind == "admitted";
    } else if (reader.is("--timeout")) {
      flags.timeoutSeconds = reader.integer(1, kMost);
    } else if (reader.is("--bin-dir")) {
      flags.binDir = reader.value();
    } else if (reader.is("--operator-arg")) {
      flags.operatorArgs.push_back(reader.value());
    } else {
      reader.unknown();
    }
  }
  if (flags.projectGroups < 0) flags.projectGroups = flags.groups / 2;
  const int organizationGroups = flags.groups - flags.projectGroups;
  if (organizationGroups < 2 * flags.organizations) {
    die("every organization needs at least two Organization-scope groups (moves go between "
        "them): --groups minus --project-groups must be >= 2 x --organizations (" +
        std::to_string(organizationGroups) + " < " + std::to_string(2 * flags.organizations) + ")");
  }
  if (flags.projects <= flags.projectGroups) {
    die("--projects must exceed --project-groups: each Project-scope group is bound to one "
        "project and the others use organization groups");
  }
  if (flags.moves > flags.projects - flags.projectGroups) {
    die("--moves is larger than the number of projects in organization groups");
  }
  if (flags.webhookSeconds > 0 && flags.webhookRate <= 0) {
    die("--webhook-rate must be > 0");
  }
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  setProgramName("operator_bench");
  const Flags flags = parseFlags(argc, argv);
  World world(flags.organizations, flags.groups, flags.projectGroups, flags.projects);
  world.setAdmittedWithFinalizers(flags.admittedWorld);
  const auto timeout = std::chrono::seconds(flags.timeoutSeconds);
  ::signal(SIGPIPE, SIG_IGN);

  const fs::path dir = fs::temp_directory_path() / ("operator-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);

  // The API server keeps enough history that the operator's watches never have to relist
  // during the run (a relist is a cost worth measuring on its own, not by accident).
  billing::apiserver::TestApiServerOptions serverOptions;
  serverOptions.historySize = static_cast<std::size_t>(world.objects()) * 8 + 10000;
  auto started = billing::apiserver::TestApiServer::start(serverOptions);
  if (!started) die("test API server: " + started.error());
  auto& server = **started;
  const fs::path adminKubeconfig = dir / "admin.kubeconfig";
  if (auto written =
          server.writeKubeconfig(adminKubeconfig, billing::apiserver::KubeconfigAuth::Token);
      !written) {
    die(written.error());
  }
  // The operator authenticates as a user of its own, so the server counts its requests apart
  // from the benchmark's.
  const fs::path operatorKubeconfig = dir / "operator.kubeconfig";
  writeOperatorKubeconfig(server, operatorKubeconfig);
  auto client = clientFor(adminKubeconfig);

  // ---- load the world ----
  const auto loadStart = SteadyClock::now();
  loadCrds(*client, BILLING_SOURCE_DIR);
  loadWorld(*client, world);
  const double loadSeconds = seconds(SteadyClock::now() - loadStart);
  Observer observer(server.api().store());

  // ---- ledger ----
  const std::uint16_t ledgerPort = freePort();
  const std::string ledgerUrl = "http://127.0.0.1:" + std::to_string(ledgerPort);
  const std::unique_ptr<Process> ledgerProcess = startLedger(
      flags.binDir, ledgerPort, "sqlite:" + (dir / "ledger.db").string(), dir / "ledger.log");
  Process& ledger = *ledgerProcess;

  // ---- the webhook's serving certificate ----
  const fs::path certDir = dir / "webhook-certs";
  const std::string caPem = writeWebhookCertificates(certDir);

  const std::uint16_t metricsPort = freePort();
  const std::uint16_t probePort = freePort();
  const std::uint16_t webhookPort = freePort();
  std::vector<std::string> operatorArgs{"run",
                                        "--kubeconfig",
                                        operatorKubeconfig.string(),
                                        "--ledger-url",
                                        ledgerUrl,
                                        "--metrics-bind-address",
                                        "127.0.0.1:" + std::to_string(metricsPort),
                                        "--health-probe-bind-address",
                                        "127.0.0.1:" + std::to_string(probePort),
                                        "--webhook-port",
                                        std::to_string(webhookPort),
                                        "--webhook-cert-dir",
                                        certDir.string()};
  operatorArgs.insert(operatorArgs.end(), flags.operatorArgs.begin(), flags.operatorArgs.end());
  const std::size_t objects = static_cast<std::size_t>(world.objects());

  std::printf(
      "operator_bench: %d organizations (%d namespaces), %d BillingGroups (%d "
      "Organization, %d Project scope), %d Projects (%s); loaded through the API in %.1f s\n",
      flags.organizations, flags.organizations * 2, flags.groups, world.organizationGroups(),
      flags.projectGroups, flags.projects,
      flags.admittedWorld ? "admitted: with the operator's finalizer"
                          : "preexisting: without the operator's finalizer",
      loadSeconds);
  std::printf("operator: billing-operator");
  for (const auto& arg : operatorArgs) {
    if (arg.starts_with("--") || arg == "run") std::printf(" %s", arg.c_str());
  }
  std::printf("\nwork directory: %s\n", dir.c_str());
  std::fflush(stdout);

  // ---- 1. cold start ----
  const Counts beforeCold = operatorRequests(server);
  auto operatorProcess = std::make_unique<Process>(flags.binDir / "billing-operator", operatorArgs,
                                                   dir / "operator.log");
  const bool allReady =
      observer.waitFor([&](const Observer& o) { return o.readyLocked() >= objects; }, timeout);
  const auto readyAt = SteadyClock::now();
  if (!operatorProcess->running()) {
    die("billing-operator exited; see " + (dir / "operator.log").string());
  }
  const double coldSeconds = seconds(readyAt - operatorProcess->started());
  const double coldCpu = operatorProcess->cpuSeconds();
  const std::size_t readyCount = observer.ready();
  const bool idle =
      waitIdle(server, metricsPort, static_cast<double>(objects), std::chrono::seconds(3), timeout);
  const Counts cold = since(operatorRequests(server), beforeCold);
  const double coldCpuIdle = operatorProcess->cpuSeconds();
  const double coldPeak = operatorProcess->statusMiB("VmHWM");
  const double coldRss = operatorProcess->statusMiB("VmRSS");
  const std::uint64_t billingWrites =
      total(cold, [](const std::string& verb, const std::string& r) {
        return isWrite(verb) && isBillingResource(r);
      });
  const std::uint64_t allWrites =
      total(cold, [](const std::string& verb, const std::string&) { return isWrite(verb); });
  const std::uint64_t allRequests =
      total(cold, [](const std::string&, const std::string&) { return true; });

  std::printf(
      "\n## Cold start (%zu objects; target: all Ready within 30 s, <= 1.2 writes per "
      "object, peak RSS <= 100 MB)\n",
      objects);
  std::printf("\n| measure | value | target |\n|---|---:|---|\n");
  std::printf("| every object Ready (from the operator's start) | %s%.1f s | %s |\n",
              allReady ? "" : "not reached: ", coldSeconds, verdict(allReady && coldSeconds <= 30));
  if (!allReady)
    std::printf("| objects Ready at the timeout | %zu of %zu | |\n", readyCount, objects);
  std::printf("| API requests until idle | %llu | |\n",
              static_cast<unsigned long long>(allRequests));
  std::printf("| writes to BillingGroups and Projects per object | %.2f (%llu) | %s |\n",
              static_cast<double>(billingWrites) / static_cast<double>(objects),
              static_cast<unsigned long long>(billingWrites),
              verdict(static_cast<double>(billingWrites) <= 1.2 * static_cast<double>(objects)));
  std::printf("| all writes (events included) per object | %.2f (%llu) | %s |\n",
              static_cast<double>(allWrites) / static_cast<double>(objects),
              static_cast<unsigned long long>(allWrites),
              verdict(static_cast<double>(allWrites) <= 1.2 * static_cast<double>(objects)));
  std::printf("| operator CPU until all Ready / until idle | %.1f s / %.1f s | |\n", coldCpu,
              coldCpuIdle);
  std::printf("| operator peak RSS (VmHWM) / RSS when idle | %.1f MiB / %.1f MiB | %s |\n",
              coldPeak, coldRss, verdict(coldPeak * 1.048576 <= 100));
  if (!idle) std::printf("| idle | not reached within the timeout | |\n");
  printRequests(cold);
  std::fflush(stdout);

  // ---- 2. steady state: a restart lists and reconciles the unchanged world ----
  if (!flags.webhookOnly) {
    if (const int code = operatorProcess->stop(); code != 0) {
      std::printf("\nwarning: billing-operator exited with %d on SIGTERM\n", code);
    }
    operatorProcess.reset();
    const Counts beforeSteady = operatorRequests(server);
    operatorProcess = std::make_unique<Process>(flags.binDir / "billing-operator", operatorArgs,
                                                dir / "operator.log");
    const bool steadyIdle = waitIdle(server, metricsPort, static_cast<double>(objects),
                                     std::chrono::seconds(3), timeout);
    const double steadySeconds = seconds(SteadyClock::now() - operatorProcess->started()) - 3.0;
    const Counts steady = since(operatorRequests(server), beforeSteady);
    const std::uint64_t steadyWrites =
        total(steady, [](const std::string& verb, const std::string&) { return isWrite(verb); });
    std::printf("\n## Steady state: restart over the unchanged world (target: 0 writes)\n");
    std::printf("\n| measure | value | target |\n|---|---:|---|\n");
    std::printf("| every object reconciled again, queues empty | %s%.1f s | |\n",
                steadyIdle ? "" : "not reached: ", steadySeconds);
    std::printf("| writes | %llu | %s |\n", static_cast<unsigned long long>(steadyWrites),
                verdict(steadyWrites == 0));
    std::printf("| operator CPU | %.1f s | |\n", operatorProcess->cpuSeconds());
    std::printf("| operator peak RSS (VmHWM) | %.1f MiB | |\n",
                operatorProcess->statusMiB("VmHWM"));
    printRequests(steady);
    std::fflush(stdout);
  }

  // ---- 3. moves ----
  if (flags.moves > 0 && !flags.webhookOnly) {
    std::vector<double> latencies;
    int late = 0;
    const int candidates = flags.projects - flags.projectGroups;
    const Counts beforeMoves = operatorRequests(server);
    for (int m = 0; m < flags.moves; ++m) {
      // Spread over the projects of organization groups.
      const int p = flags.projectGroups +
                    static_cast<int>(static_cast<long long>(m) * candidates / flags.moves);
      const std::string ns = world.projectNamespace(p);
      const std::string name = World::projectName(p);
      const int from = world.sharedGroupOf(p);
      const int to = world.sharedGroupAfter(p);
      const value fromRef = world.groupRef(p, from);
      const value toRef = world.groupRef(p, to);
      const std::string fromNs = billing::common::stringAt(fromRef, {"namespace"}).empty()
                                     ? ns
                                     : billing::common::stringAt(fromRef, {"namespace"});
      const std::string toNs = billing::common::stringAt(toRef, {"namespace"}).empty()
                                   ? ns
                                   : billing::common::stringAt(toRef, {"namespace"});
      value patch = value::object();
      patch["spec"]["billingGroupRef"]["name"] = toRef.at("name");
      patch["spec"]["billingGroupRef"]["namespace"] = value::string(toNs);
      const auto sent = SteadyClock::now();
      auto patched = client->patch(kProjects, ns, name, billing::kube::PatchType::Merge, patch);
      if (!patched) die("moving " + ns + "/" + name + ": " + patched.error().describe());
      const bool shown = observer.waitFor(
          [&](const Observer& o) {
            const value* project = o.project(ns, name);
            const value* oldGroup = o.group(fromNs, World::sharedName(from));
            const value* newGroup = o.group(toNs, World::sharedName(to));
            return project != nullptr && oldGroup != nullptr && newGroup != nullptr &&
                   billing::common::stringAt(*project, {"status", "billingGroup", "name"}) ==
                       World::sharedName(to) &&
                   isReady(*project) && groupListsProject(*newGroup, ns, name) &&
                   !groupListsProject(*oldGroup, ns, name);
          },
          std::chrono::seconds(30));
      latencies.push_back(millis(SteadyClock::now() - sent));
      if (!shown) ++late;
    }
    waitIdle(server, metricsPort, 0, std::chrono::seconds(2), timeout);
    const Counts moves = since(operatorRequests(server), beforeMoves);
    const Percentiles moved = percentiles(latencies);
    std::printf("\n## Moves: %d projects moved one at a time (target: p99 <= 1 s)\n", flags.moves);
    std::printf("\n| measure | value | target |\n|---|---:|---|\n");
    std::printf("| latency p50 / p90 / p99 / max | %.0f / %.0f / %.0f / %.0f ms | %s |\n",
                moved.p50, moved.p90, moved.p99, moved.max,
                verdict(late == 0 && moved.p99 <= 1000));
    if (late > 0) std::printf("| moves not shown within 30 s | %d | |\n", late);
    std::printf(
        "| operator writes per move | %.1f | |\n",
        static_cast<double>(total(
            moves, [](const std::string& verb, const std::string&) { return isWrite(verb); })) /
            flags.moves);
    printRequests(moves);
    std::fflush(stdout);
  }

  // ---- 4. webhook ----
  if (flags.webhookSeconds > 0) {
    billing::kube::TransportConfig transportConfig;
    transportConfig.server = "https://127.0.0.1:" + std::to_string(webhookPort);
    transportConfig.tls.caPem = caPem;
    // Reviews of moves between the shared groups of a project's organization, as the API server
    // would send them for `kubectl apply` of a changed Project: allowed, after the full rule
    // check against the cached world.
    auto review = [&](int i) {
      const int candidates = flags.projects - flags.projectGroups;
      const int p = flags.projectGroups + (i * 7919) % candidates;
      value current = world.projectObject(p);
      {
        auto lock = observer.lock();
        if (const value* stored =
                observer.project(world.projectNamespace(p), World::projectName(p))) {
          current = *stored;
        }
      }
      value changed = current;
      changed["spec"]["billingGroupRef"] = world.groupRef(p, world.sharedGroupAfter(p));
      value document = value::object();
      document["apiVersion"] = value::string("admission.k8s.io/v1");
      document["kind"] = value::string("AdmissionReview");
      value& request = document["request"];
      request["uid"] = value::string("bench-" + std::to_string(i));
      request["kind"]["group"] = value::string("billing.operator.dev");
      request["kind"]["version"] = value::string("v1alpha1");
      request["kind"]["kind"] = value::string("Project");
      request["resource"]["group"] = value::string("billing.operator.dev");
      request["resource"]["version"] = value::string("v1alpha1");
      request["resource"]["resource"] = value::string("projects");
      request["namespace"] = value::string(world.projectNamespace(p));
      request["name"] = value::string(World::projectName(p));
      request["operation"] = value::string("UPDATE");
      request["userInfo"]["username"] = value::string("alice");
      request["object"] = changed;
      request["oldObject"] = current;
      request["dryRun"] = value::boolean(false);
      return billing::common::toJson(document);
    };
    // Warm-up: connections open and the caches answer (500 until synced).
    {
      auto transport =
          billing::kube::makeTransport(billing::kube::TransportKind::Native, transportConfig);
      if (!transport) die("webhook client: " + transport.error());
      billing::kube::TransportRequest request;
      request.method = "POST";
      request.target = "/validate";
      request.headers.set("Content-Type", "application/json");
      request.body = review(0);
      for (int attempt = 0;; ++attempt) {
        auto answer = (*transport)->send(request);
        if (answer && answer->status == 200) break;
        if (attempt > 500) die("the webhook does not answer 200");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    const int reviews = static_cast<int>(flags.webhookRate * flags.webhookSeconds);
    std::vector<std::string> bodies;
    bodies.reserve(static_cast<std::size_t>(reviews));
    for (int i = 0; i < reviews; ++i) bodies.push_back(review(i));
    std::vector<double> latencies(static_cast<std::size_t>(reviews), 0);
    std::atomic<int> next{0};
    std::atomic<int> refused{0};
    std::atomic<int> failed{0};
    const auto begin = SteadyClock::now() + std::chrono::milliseconds(50);
    const auto interval = std::chrono::duration<double>(1.0 / flags.webhookRate);
    const double cpuBefore = operatorProcess->cpuSeconds();
    const OperatorMetrics metricsBefore = scrape(metricsPort);
    std::vector<std::thread> senders;
    for (int t = 0; t < 8; ++t) {
      senders.emplace_back([&] {
        auto transport =
            billing::kube::makeTransport(billing::kube::TransportKind::Native, transportConfig);
        if (!transport) die("webhook client: " + transport.error());
        for (int i = next++; i < reviews; i = next++) {
          const auto due = begin + std::chrono::duration_cast<SteadyClock::duration>(interval * i);
          std::this_thread::sleep_until(due);
          billing::kube::TransportRequest request;
          request.method = "POST";
          request.target = "/validate";
          request.headers.set("Content-Type", "application/json");
          request.body = bodies[static_cast<std::size_t>(i)];
          auto answer = (*transport)->send(request);
          latencies[static_cast<std::size_t>(i)] = millis(SteadyClock::now() - due);
          if (!answer || answer->status != 200) {
            ++failed;
            continue;
          }
          auto parsed = billing::common::parseJson(answer->body);
          const value* allowed =
              parsed ? billing::common::findMember(*parsed, {"response", "allowed"}) : nullptr;
          if (allowed == nullptr || !allowed->is_boolean() || !allowed->as_bool()) ++refused;
        }
      });
    }
    for (auto& sender : senders) sender.join();
    const double elapsed = seconds(SteadyClock::now() - begin);
    const Percentiles reviewed = percentiles(latencies);
    std::printf(
        "\n## Webhook: %d AdmissionReviews at %.0f/s over HTTPS, %zu objects cached "
        "(target: p99 <= 5 ms)\n",
        reviews, flags.webhookRate, objects);
    std::printf("\n| measure | value | target |\n|---|---:|---|\n");
    std::printf("| latency p50 / p90 / p99 / max | %.2f / %.2f / %.2f / %.2f ms | %s |\n",
                reviewed.p50, reviewed.p90, reviewed.p99, reviewed.max,
                verdict(reviewed.p99 <= 5 && failed == 0));
    std::printf("| achieved rate | %.0f/s | |\n", reviews / elapsed);
    std::printf("| failed (no answer or not 200) / refused | %d / %d | |\n", failed.load(),
                refused.load());
    const double phaseCpu = operatorProcess->cpuSeconds() - cpuBefore;
    std::printf("| operator CPU during the phase | %.1f s (%.2f ms per review) | |\n", phaseCpu,
                reviews > 0 ? phaseCpu * 1000 / reviews : 0.0);
    // The operator's own histogram: from the request read to the answer written, without the
    // network, TLS records in flight and this process's threads. It tells a slow review apart
    // from a review that waited for a core.
    const OperatorMetrics metricsAfter = scrape(metricsPort);
    auto bound = [&](double share) {
      const auto le = serverSideQuantile(metricsBefore, metricsAfter, share);
      if (!le) return std::string("-");
      if (std::isinf(*le)) return std::string("> 16 s");
      char text[32];
      std::snprintf(text, sizeof text, "<= %.1f", *le * 1000);
      return std::string(text);
    };
    std::printf("| in the operator (its histogram): p50 / p90 / p99 | %s / %s / %s ms | |\n",
                bound(0.50).c_str(), bound(0.90).c_str(), bound(0.99).c_str());
    std::fflush(stdout);
  }

  // ---- 5. invoice close: build/bench/invoice_close_bench (docs/benchmarks.md) ----
  std::printf(
      "\n## Invoice close (target: 1,000 groups, 100,000 charges, <= 60 s)\n\n"
      "measured by build/bench/invoice_close_bench (see docs/benchmarks.md)\n");

  std::printf("\noperator peak RSS over the last run (VmHWM): %.1f MiB\n",
              operatorProcess->statusMiB("VmHWM"));
  operatorProcess->stop();
  ledger.stop();
  observer.stop();
  server.stop();
  if (!flags.keep) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  return 0;
}
