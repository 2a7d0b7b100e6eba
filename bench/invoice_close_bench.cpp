// invoice_close_bench: issue #9's "Invoice close for 1,000 groups with 100,000 charges, end to
// end (operator plus ledger on SQLite and on PostgreSQL): at most 60 s" (docs/benchmarks.md).
//
//   build/bench/invoice_close_bench [--backend sqlite|postgres|both] ...   (--help lists all)
//   scripts/with-postgres.sh build/bench/invoice_close_bench --backend both
//
// One run per backend, each in a fresh world:
//   1. The test API server (in this process) runs with a clock offset that puts the objects'
//      creation on the second day of last month, so every project has been a member of its group
//      since then (the memberships start at the creation): last month is a period that has ended.
//      The world is operator_bench's (20 organizations, 500 Organization- and 500 Project-scope
//      Monthly groups, 10,000 projects).
//   2. The operator starts with a grace longer than the time since last month's end, so nothing
//      closes; once every object is Ready, the metering side posts the charges to the ledger's
//      HTTP API (POST /v1/charges/batch), spread over every project and over last month. The time
//      this takes is reported on its own: it is not part of the close.
//   3. The operator restarts with the grace set so that last month becomes due `--close-lead`
//      seconds later, the restart's resync is over by then, and the operator is idle. At that
//      instant the groups' requeue timers fire, as they do in production when a period's grace
//      runs out: the measured trigger is the due instant itself, not a restart or a user action.
//   4. Measured from the due instant: until every group's Invoice for last month shows Finalized
//      with its ledger invoice (the target), until every group's status.lastInvoice shows it, and
//      until the operator is idle; CPU and peak RSS of the operator and the ledger (and the
//      PostgreSQL server's CPU) over that window, API requests by verb and resource, ledger
//      requests by route (from its request log).
//   5. Verified: exactly one Invoice resource per group for the period, exactly one live ledger
//      invoice per account for it (Finalized, numbered, the one the resource shows, same total),
//      and the sum of all invoice totals equals the sum of the charges posted (minor units).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "common/http_client.h"
#include "common/json.h"
#include "tests/apiserver/test_apiserver.h"

namespace {

using namespace billing::bench;
using Time = std::chrono::sys_seconds;

constexpr const char* kUsage = R"(Usage: invoice_close_bench [flags]

Starts the test API server (in this process, clock shifted into last month), billing-ledger and
billing-operator run; posts charges for last month, lets last month's close come due and measures
until every group's Invoice is Finalized; verifies one invoice per group and the totals.

World:
  --organizations N      organizations, two labelled namespaces each (default 20)
  --groups N             Monthly BillingGroups (default 1000)
  --project-groups N     of which Project scope, each bound to one project (default groups/2)
  --projects N           Projects (default 10000)
  --charges N            charges posted for last month, spread over every project (default 100000)
  --batch N              charges per POST /v1/charges/batch (default 500)
Backends:
  --backend B            sqlite, postgres or both (default: both when a PostgreSQL connection
                         string is known, else sqlite)
  --postgres-dsn DSN     libpq connection string (default: $BILLING_TEST_POSTGRES_DSN, which
                         scripts/with-postgres.sh sets); each run uses a schema of its own
Run:
  --close-lead S         the period becomes due this long after the operator's restart, once its
                         resync is over (default 30)
  --timeout S            longest wait for a phase (default 600)
  --bin-dir DIR          where billing-operator and billing-ledger are (default: this build's bin/)
  --operator-arg ARG     one more flag for the measured `billing-operator run` (repeatable)
  --keep                 keep the work directory (logs, SQLite database)
)";

struct Flags {
  int organizations = 20;
  int groups = 1000;
  int projectGroups = -1;
  int projects = 10000;
  int charges = 100000;
  int batch = 500;
  std::vector<std::string> backends;
  std::string postgresDsn;
  int closeLeadSeconds = 30;
  int timeoutSeconds = 600;
  fs::path binDir = BILLING_BIN_DIR;
  std::vector<std::string> operatorArgs;
  bool keep = false;
};

Flags parseFlags(int argc, char** argv) {
  Flags flags;
  if (const char* dsn = std::getenv("BILLING_TEST_POSTGRES_DSN")) flags.postgresDsn = dsn;
  std::string backend;
  FlagReader reader(argc, argv, kUsage);
  while (reader.next()) {
    if (reader.is("--keep")) {
      flags.keep = true;
    } else if (reader.is("--organizations")) {
      flags.organizations = reader.integer(1);
    } else if (reader.is("--groups")) {
      flags.groups = reader.integer(1);
    } else if (reader.is("--project-groups")) {
      flags.projectGroups = reader.integer(0);
    } else if (reader.is("--projects")) {
      flags.projects = reader.integer(1);
    } else if (reader.is("--charges")) {
      flags.charges = reader.integer(0);
    } else if (reader.is("--batch")) {
      flags.batch = reader.integer(1);
    } else if (reader.is("--backend")) {
      backend = reader.value();
    } else if (reader.is("--postgres-dsn")) {
      flags.postgresDsn = reader.value();
    } else if (reader.is("--close-lead")) {
      flags.closeLeadSeconds = reader.integer(1);
    } else if (reader.is("--timeout")) {
      flags.timeoutSeconds = reader.integer(1);
    } else if (reader.is("--bin-dir")) {
      flags.binDir = reader.value();
    } else if (reader.is("--operator-arg")) {
      flags.operatorArgs.push_back(reader.value());
    } else {
      reader.unknown();
    }
  }
  if (flags.projectGroups < 0) flags.projectGroups = flags.groups / 2;
  if (flags.groups - flags.projectGroups < flags.organizations) {
    die("every organization needs an Organization-scope group: --groups minus --project-groups "
        "must be >= --organizations");
  }
  if (flags.projects <= flags.projectGroups) {
    die("--projects must exceed --project-groups: each Project-scope group is bound to one "
        "project and the others use organization groups");
  }
  // A group that never had a member has no period to close (docs/invoicing.md), so the run
  // would wait for its invoice forever: every group of the world needs a project.
  const World world(flags.organizations, flags.groups, flags.projectGroups, flags.projects);
  std::vector<bool> hasProject(world.organizationGroups(), false);
  for (int p = flags.projectGroups; p < flags.projects; ++p)
    hasProject[world.sharedGroupOf(p)] = true;
  if (const auto empty = std::ranges::find(hasProject, false); empty != hasProject.end()) {
    die(World::sharedName(static_cast<int>(empty - hasProject.begin())) +
        " would have no project, and a group that never had a member gets no invoice: give "
        "more --projects (or fewer --groups), so that each Organization-scope group gets one");
  }
  if (backend.empty()) backend = flags.postgresDsn.empty() ? "sqlite" : "both";
  if (backend == "sqlite" || backend == "postgres") {
    flags.backends = {backend};
  } else if (backend == "both") {
    flags.backends = {"sqlite", "postgres"};
  } else {
    die("--backend must be sqlite, postgres or both, got \"" + backend + "\"");
  }
  if (std::ranges::count(flags.backends, "postgres") > 0 && flags.postgresDsn.empty()) {
    die("--backend " + backend +
        " needs a PostgreSQL server: run under scripts/with-postgres.sh (it starts a throwaway "
        "one and sets BILLING_TEST_POSTGRES_DSN) or pass --postgres-dsn");
  }
  return flags;
}

// ---- time and money ----

std::string rfc3339(Time t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// The calendar month containing `t` (UTC), as the operator's Monthly period.
struct Month {
  Time start;
  Time end;
};
Month monthOf(Time t) {
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(t)};
  const std::chrono::year_month month = day.year() / day.month();
  return Month{Time(std::chrono::sys_days(month / 1)),
               Time(std::chrono::sys_days((month + std::chrono::months(1)) / 1))};
}

// "12.34" / "-0.50" (EUR, two decimals) in minor units; nullopt for anything else.
std::optional<long long> minorUnits(const std::string& text) {
  const bool negative = text.starts_with("-");
  const std::string digits = negative ? text.substr(1) : text;
  const auto dot = digits.find('.');
  if (dot == std::string::npos || digits.size() - dot != 3 || dot == 0) return std::nullopt;
  const std::string whole = digits.substr(0, dot) + digits.substr(dot + 1);
  if (!std::ranges::all_of(whole, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const long long value = std::stoll(whole);
  return negative ? -value : value;
}

std::string formatMinor(long long minor) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%s%lld.%02lld", minor < 0 ? "-" : "",
                std::llabs(minor) / 100, std::llabs(minor) % 100);
  return buffer;
}

// The i-th charge's amount: 0.01 to 99.99 EUR, varied, deterministic.
long long chargeMinor(int i) { return 1 + (static_cast<long long>(i) * 7919) % 9999; }

// ---- the PostgreSQL server's CPU ----

// The PostgreSQL server listening on `port`: its postmaster's pid, found by its command line
// ("postgres -D DIR -p PORT ..."); 0 when not found (another machine, or no permission).
pid_t postmasterOf(const std::string& port) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::ranges::all_of(name, [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    std::ifstream file(entry.path() / "cmdline");
    std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    for (std::size_t start = 0; start < content.size();) {
      const std::size_t end = content.find('\0', start);
      args.push_back(content.substr(start, end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    if (args.empty() || !args[0].ends_with("/postgres")) continue;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "-p" && args[i + 1] == port) return static_cast<pid_t>(std::stol(name));
    }
  }
  return 0;
}

// Fields 4 (ppid), 14-17 (utime, stime, cutime, cstime) of /proc/PID/stat.
struct ProcStat {
  pid_t ppid = 0;
  unsigned long long utime = 0, stime = 0, cutime = 0, cstime = 0;
  bool ok = false;
};
ProcStat readStat(const fs::path& statFile) {
  ProcStat stat;
  std::ifstream file(statFile);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return stat;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int index = 3; index <= 17 && fields >> field; ++index) {
    if (index == 4) stat.ppid = static_cast<pid_t>(std::stol(field));
    if (index == 14) stat.utime = std::stoull(field);
    if (index == 15) stat.stime = std::stoull(field);
    if (index == 16) stat.cutime = std::stoull(field);
    if (index == 17) stat.cstime = std::stoull(field);
  }
  stat.ok = true;
  return stat;
}

// CPU seconds of the whole server: the postmaster with the children it has reaped (connections
// that ended) plus its live children (backends, checkpointer, WAL writer, ...).
double postgresCpuSeconds(pid_t postmaster) {
  if (postmaster <= 0) return -1;
  const ProcStat own = readStat("/proc/" + std::to_string(postmaster) + "/stat");
  if (!own.ok) return -1;
  unsigned long long ticks = own.utime + own.stime + own.cutime + own.cstime;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::ranges::all_of(name, [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const ProcStat child = readStat(entry.path() / "stat");
    if (child.ok && child.ppid == postmaster) ticks += child.utime + child.stime;
  }
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string dsnPort(const std::string& dsn) {
  const auto at = dsn.find("port=");
  if (at == std::string::npos) return "5432";
  const auto end = dsn.find(' ', at);
  return dsn.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5);
}

// ---- the ledger's request log ----

// Route of a ledger request path: ids replaced by {id} ("/v1/accounts/{id}/invoices").
std::string routeOf(const std::string& path) {
  std::string route;
  std::size_t start = 0;
  int index = 0;
  const std::string bare = path.substr(0, path.find('?'));
  std::string previous;
  while (start <= bare.size()) {
    const std::size_t end = bare.find('/', start);
    const std::string segment =
        bare.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (index > 0) route += "/";
    const bool id = (previous == "accounts" || previous == "invoices" || previous == "charges") &&
                    segment != "batch" && !segment.empty();
    route += id ? "{id}" : segment;
    previous = segment;
    ++index;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return route;
}

// Requests the ledger logged from byte `from` of its log on: (method, route) -> count.
std::map<std::pair<std::string, std::string>, std::uint64_t> ledgerRequests(const fs::path& log,
                                                                            std::uintmax_t from) {
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts;
  std::ifstream file(log);
  file.seekg(static_cast<std::streamoff>(from));
  std::string line;
  while (std::getline(file, line)) {
    auto parsed = billing::common::parseJson(line);
    if (!parsed) continue;
    const std::string method = billing::common::stringAt(*parsed, {"method"});
    const std::string path = billing::common::stringAt(*parsed, {"path"});
    if (method.empty() || path.empty()) continue;
    ++counts[{method, routeOf(path)}];
  }
  return counts;
}

// ---- one run ----

struct RunResult {
  std::string backend;
  bool finalizedAll = false;
  double closeSeconds = 0;  // due instant -> every Invoice Finalized
  bool verified = false;
};

std::string operatorGrace(Time dueAt, Time periodEnd) {
  return std::to_string((dueAt - periodEnd).count()) + "s";
}

RunResult runOnce(const Flags& flags, const std::string& backend) {
  RunResult result;
  result.backend = backend;
  const World world(flags.organizations, flags.groups, flags.projectGroups, flags.projects);
  const auto timeout = std::chrono::seconds(flags.timeoutSeconds);
  const fs::path dir = fs::temp_directory_path() /
                       ("invoice-close-bench-" + std::to_string(::getpid()) + "-" + backend);
  fs::create_directories(dir);

  const Time startedAt = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const Month running = monthOf(startedAt);
  const Month closing = monthOf(running.start - std::chrono::days(1));
  // Objects are created from the second day of the closing month on (the world takes minutes to
  // load, not weeks); charges start two days later, one hour each, and end a day before the
  // period does, so each one lies wholly inside the closing month and inside its project's
  // membership.
  const Time createdFrom = closing.start + std::chrono::days(1);
  const Time chargesFrom = closing.start + std::chrono::days(3);
  const long long chargeSlots = (closing.end - std::chrono::days(1) - chargesFrom).count() / 3600;

  billing::apiserver::TestApiServerOptions serverOptions;
  serverOptions.historySize = static_cast<std::size_t>(world.objects()) * 8 + 20000;
  serverOptions.clockOffset = createdFrom - startedAt;
  auto started = billing::apiserver::TestApiServer::start(serverOptions);
  if (!started) die("test API server: " + started.error());
  auto& server = **started;
  const fs::path adminKubeconfig = dir / "admin.kubeconfig";
  if (auto written =
          server.writeKubeconfig(adminKubeconfig, billing::apiserver::KubeconfigAuth::Token);
      !written) {
    die(written.error());
  }
  const fs::path operatorKubeconfig = dir / "operator.kubeconfig";
  writeOperatorKubeconfig(server, operatorKubeconfig);
  auto client = clientFor(adminKubeconfig);

  const auto loadStart = SteadyClock::now();
  loadCrds(*client, BILLING_SOURCE_DIR);
  loadWorld(*client, world);
  const double loadSeconds = seconds(SteadyClock::now() - loadStart);
  Observer observer(server.api().store(), {kGroupsResource, kProjectsResource, kInvoicesResource});

  // ---- ledger ----
  const std::uint16_t ledgerPort = freePort();
  const std::string ledgerUrl = "http://127.0.0.1:" + std::to_string(ledgerPort);
  std::string database = "sqlite:" + (dir / "ledger.db").string();
  std::vector<std::string> ledgerArgs;
  pid_t postmaster = 0;
  if (backend == "postgres") {
    database = "postgres:" + flags.postgresDsn;
    ledgerArgs = {"--postgres-schema", "invoice_close_bench_" + std::to_string(::getpid())};
    postmaster = postmasterOf(dsnPort(flags.postgresDsn));
  }
  const fs::path ledgerLog = dir / "ledger.log";
  std::unique_ptr<Process> ledger =
      startLedger(flags.binDir, ledgerPort, database, ledgerLog, ledgerArgs);

  const fs::path certDir = dir / "webhook-certs";
  writeWebhookCertificates(certDir);
  const std::uint16_t metricsPort = freePort();
  const std::uint16_t probePort = freePort();
  const std::uint16_t webhookPort = freePort();
  const std::vector<std::string> baseArgs{"run",
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

  std::printf(
      "\n# %s: %d organizations, %d Monthly BillingGroups (%d Organization, %d Project scope), "
      "%d Projects; loaded in %.1f s; closing %s to %s\n",
      backend.c_str(), flags.organizations, flags.groups, world.organizationGroups(),
      flags.projectGroups, flags.projects, loadSeconds, rfc3339(closing.start).c_str(),
      rfc3339(closing.end).c_str());
  std::printf("work directory: %s\n", dir.c_str());
  std::fflush(stdout);

  // ---- the world reconciled, nothing due (a grace far beyond the period's end) ----
  const auto objects = static_cast<std::size_t>(world.objects());
  {
    std::vector<std::string> args = baseArgs;
    args.insert(args.end(), {"--invoice-grace", "8760h", "--kube-api-qps=-1"});
    Process setup(flags.binDir / "billing-operator", args, dir / "operator-setup.log");
    if (!observer.waitFor([&](const Observer& o) { return o.readyLocked() >= objects; }, timeout)) {
      die("not every object became Ready within the timeout (" + std::to_string(observer.ready()) +
          " of " + std::to_string(objects) + "); see " + (dir / "operator-setup.log").string());
    }
    waitIdle(server, metricsPort, static_cast<double>(objects), std::chrono::seconds(3), timeout);
    if (const int code = setup.stop(); code != 0) {
      die("the setup operator exited with " + std::to_string(code) + " on SIGTERM");
    }
  }

  // ---- charges, as a metering system posts them (not part of the close) ----
  std::vector<std::string> projectKeys;
  for (int p = 0; p < flags.projects; ++p) {
    projectKeys.push_back(world.projectNamespace(p) + "/" + World::projectName(p));
  }
  long long chargedMinor = 0;
  for (int i = 0; i < flags.charges; ++i) chargedMinor += chargeMinor(i);
  const auto postStart = SteadyClock::now();
  const double ledgerCpuBeforePosting = ledger->cpuSeconds();
  std::atomic<int> unavailableRetries{0};
  {
    const int batches = (flags.charges + flags.batch - 1) / flags.batch;
    std::atomic<int> next{0};
    std::atomic<bool> failed{false};
    std::string failure;
    std::mutex failureMutex;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        const billing::common::HttpClient http;
        for (int b = next++; b < batches && !failed; b = next++) {
          value body = value::object();
          body["charges"] = value::array();
          int item = 0;
          for (int i = b * flags.batch; i < std::min(flags.charges, (b + 1) * flags.batch); ++i) {
            const int p = i % flags.projects;
            const Time start = chargesFrom + std::chrono::hours((i / flags.projects) % chargeSlots);
            value charge = value::object();
            charge["clientId"] = value::string("bench-charge-" + std::to_string(i));
            charge["project"] = value::string(projectKeys[static_cast<std::size_t>(p)]);
            charge["service"] = value::string(i % 3 == 0 ? "storage" : "compute");
            charge["description"] = value::string("benchmark usage");
            charge["amount"] = value::string(formatMinor(chargeMinor(i)));
            charge["currency"] = value::string("EUR");
            charge["periodStart"] = value::string(rfc3339(start));
            charge["periodEnd"] = value::string(rfc3339(start + std::chrono::hours(1)));
            body["charges"][static_cast<std::size_t>(item++)] = charge;
          }
          billing::common::HttpHeaders headers{
              {"Content-Type", "application/json"},
              {"Idempotency-Key", "bench-batch-" + std::to_string(b)}};
          // A 503 (the store gave up on a transaction that kept conflicting) is retried with the
          // same key, as a metering system would; the retries are counted and reported.
          const std::string text = billing::common::toJson(body);
          std::expected<billing::common::HttpClientResponse, std::string> answer;
          for (int attempt = 0;; ++attempt) {
            answer = http.request("POST", ledgerUrl + "/v1/charges/batch", headers, text);
            if (!answer || answer->status != 503 || attempt == 4) break;
            ++unavailableRetries;
            std::this_thread::sleep_for(std::chrono::seconds(1));
          }
          if (!answer || answer->status != 200) {
            std::lock_guard lock(failureMutex);
            failure =
                "posting charge batch " + std::to_string(b) + ": " +
                (answer ? std::to_string(answer->status) + " " + answer->body : answer.error());
            failed = true;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    if (failed) die(failure);
  }
  const double postSeconds = seconds(SteadyClock::now() - postStart);
  const double ledgerCpuPosting = ledger->cpuSeconds() - ledgerCpuBeforePosting;

  // ---- the measured operator: the period comes due `closeLead` after its start ----
  const Time dueAt = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
                     std::chrono::seconds(flags.closeLeadSeconds);
  std::vector<std::string> args = baseArgs;
  args.insert(args.end(), {"--invoice-grace", operatorGrace(dueAt, closing.end)});
  args.insert(args.end(), flags.operatorArgs.begin(), flags.operatorArgs.end());
  const fs::path operatorLog = dir / "operator.log";
  auto operatorProcess =
      std::make_unique<Process>(flags.binDir / "billing-operator", args, operatorLog);
  const auto dueSteady =
      SteadyClock::now() + (dueAt - std::chrono::system_clock::now());  // same instant, steady
  const bool resyncIdle =
      waitIdle(server, metricsPort, static_cast<double>(objects), std::chrono::seconds(2),
               std::chrono::duration_cast<std::chrono::seconds>(dueSteady - SteadyClock::now()));
  const bool idleBeforeDue = resyncIdle && SteadyClock::now() < dueSteady;
  std::this_thread::sleep_until(dueSteady - std::chrono::milliseconds(200));

  // Baselines at the due instant.
  const Counts before = operatorRequests(server);
  const double operatorCpu0 = operatorProcess->cpuSeconds();
  const double ledgerCpu0 = ledger->cpuSeconds();
  const double postgresCpu0 = postgresCpuSeconds(postmaster);
  const bool peaksReset = operatorProcess->resetPeakRss() && ledger->resetPeakRss();
  std::error_code ignored;
  const std::uintmax_t ledgerLogFrom = fs::file_size(ledgerLog, ignored);
  const std::string periodStart = rfc3339(closing.start);
  std::this_thread::sleep_until(dueSteady);

  auto finalizedInvoices = [&](const Observer& o) {
    std::size_t count = 0;
    for (const value* invoice : o.allLocked(kInvoicesResource)) {
      if (billing::common::stringAt(*invoice, {"spec", "periodStart"}) == periodStart &&
          billing::common::stringAt(*invoice, {"status", "state"}) == "Finalized" &&
          !billing::common::stringAt(*invoice, {"status", "backendInvoiceId"}).empty()) {
        ++count;
      }
    }
    return count;
  };
  auto groupsShowing = [&](const Observer& o) {
    std::size_t count = 0;
    for (const value* group : o.allLocked(kGroupsResource)) {
      if (billing::common::stringAt(*group, {"status", "lastInvoice", "periodStart"}) ==
              periodStart &&
          billing::common::stringAt(*group, {"status", "lastInvoice", "state"}) == "Finalized") {
        ++count;
      }
    }
    return count;
  };
  const auto groupCount = static_cast<std::size_t>(flags.groups);
  const bool allFinalized = observer.waitFor(
      [&](const Observer& o) { return finalizedInvoices(o) >= groupCount; }, timeout);
  const double finalizedSeconds = seconds(SteadyClock::now() - dueSteady);
  const double operatorCpuFinalized = operatorProcess->cpuSeconds() - operatorCpu0;
  const bool allShown =
      observer.waitFor([&](const Observer& o) { return groupsShowing(o) >= groupCount; }, timeout);
  const double shownSeconds = seconds(SteadyClock::now() - dueSteady);
  const bool idle = waitIdle(server, metricsPort, 0, std::chrono::seconds(3), timeout);
  const double idleSeconds = seconds(SteadyClock::now() - dueSteady) - 3.0;
  const Counts requests = since(operatorRequests(server), before);
  const double operatorCpu = operatorProcess->cpuSeconds() - operatorCpu0;
  const double ledgerCpu = ledger->cpuSeconds() - ledgerCpu0;
  const double postgresCpu = postmaster > 0 ? postgresCpuSeconds(postmaster) - postgresCpu0 : -1;
  const double operatorPeak = operatorProcess->statusMiB("VmHWM");
  const double ledgerPeak = ledger->statusMiB("VmHWM");
  const auto ledgerCounts = ledgerRequests(ledgerLog, ledgerLogFrom);
  std::size_t finalizedCount = 0;
  {
    auto lock = observer.lock();
    finalizedCount = finalizedInvoices(observer);
  }

  // ---- verification: one invoice per group, every charge billed once ----
  std::vector<std::string> problems;
  std::map<std::string, const value*> invoiceOfGroup;  // "ns/group" -> the Invoice resource
  std::map<std::string, std::string> groupUid;         // "ns/group" -> uid (the account id)
  long long resourceTotal = 0;
  {
    auto lock = observer.lock();
    for (const value* group : observer.allLocked(kGroupsResource)) {
      groupUid[billing::common::stringAt(*group, {"metadata", "namespace"}) + "/" +
               billing::common::stringAt(*group, {"metadata", "name"})] =
          billing::common::stringAt(*group, {"metadata", "uid"});
    }
    for (const value* invoice : observer.allLocked(kInvoicesResource)) {
      if (billing::common::stringAt(*invoice, {"spec", "periodStart"}) != periodStart) continue;
      const std::string key =
          billing::common::stringAt(*invoice, {"metadata", "namespace"}) + "/" +
          billing::common::stringAt(*invoice, {"spec", "billingGroupRef", "name"});
      if (!invoiceOfGroup.emplace(key, invoice).second) {
        problems.push_back("group " + key + " has more than one Invoice for the period");
      }
      const auto total = minorUnits(billing::common::stringAt(*invoice, {"status", "total"}));
      if (!total) {
        problems.push_back("Invoice " + key + " has no readable status.total");
      } else {
        resourceTotal += *total;
      }
    }
  }
  if (groupUid.size() != groupCount) {
    problems.push_back(std::to_string(groupUid.size()) + " BillingGroups in the store, expected " +
                       std::to_string(groupCount));
  }
  long long ledgerTotal = 0;
  long long ledgerSubtotal = 0;
  std::set<std::string> numbers;
  {
    const billing::common::HttpClient http;
    for (const auto& [key, uid] : groupUid) {
      const auto shown = invoiceOfGroup.find(key);
      if (shown == invoiceOfGroup.end()) {
        problems.push_back("group " + key + " has no Invoice for the period");
        continue;
      }
      auto answer = http.request("GET", ledgerUrl + "/v1/accounts/" + uid + "/invoices");
      std::optional<value> listed;
      if (answer && answer->status == 200) {
        if (auto parsed = billing::common::parseJson(answer->body)) listed = std::move(*parsed);
      }
      if (!listed || !listed->has_field("items")) {
        problems.push_back("the ledger did not list the invoices of account " + uid);
        continue;
      }
      int live = 0;
      for (const value& invoice : listed->at("items").as_array()) {
        if (billing::common::stringAt(invoice, {"periodStart"}) != periodStart ||
            billing::common::stringAt(invoice, {"state"}) == "Void") {
          continue;
        }
        ++live;
        const std::string id = billing::common::stringAt(invoice, {"id"});
        if (billing::common::stringAt(invoice, {"state"}) != "Finalized") {
          problems.push_back("ledger invoice " + id + " of " + key + " is not Finalized");
        }
        if (id != billing::common::stringAt(*shown->second, {"status", "backendInvoiceId"})) {
          problems.push_back("Invoice of " + key + " shows another ledger invoice than " + id);
        }
        const std::string total = billing::common::stringAt(invoice, {"total"});
        if (total != billing::common::stringAt(*shown->second, {"status", "total"})) {
          problems.push_back("Invoice of " + key + " shows a total other than the ledger's " +
                             total);
        }
        ledgerTotal += minorUnits(total).value_or(0);
        ledgerSubtotal += minorUnits(billing::common::stringAt(invoice, {"subtotal"})).value_or(0);
        if (!numbers.insert(billing::common::stringAt(invoice, {"number"})).second) {
          problems.push_back("invoice number " + billing::common::stringAt(invoice, {"number"}) +
                             " appears twice");
        }
      }
      if (live != 1) {
        problems.push_back("account of " + key + " has " + std::to_string(live) +
                           " live ledger invoices for the period, expected exactly 1");
      }
    }
  }
  if (ledgerTotal != chargedMinor || ledgerSubtotal != chargedMinor) {
    problems.push_back("the ledger invoices total " + formatMinor(ledgerTotal) + " (subtotals " +
                       formatMinor(ledgerSubtotal) + "), the charges posted " +
                       formatMinor(chargedMinor));
  }
  if (resourceTotal != chargedMinor) {
    problems.push_back("the Invoice resources total " + formatMinor(resourceTotal) +
                       ", the charges posted " + formatMinor(chargedMinor));
  }
  if (monthOf(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())).start !=
      running.start) {
    problems.push_back("the month changed during the run: run it again");
  }

  // ---- report ----
  std::printf("\n## Invoice close on %s (target: every Invoice Finalized within 60 s)\n",
              backend.c_str());
  std::printf("\n| measure | value | target |\n|---|---:|---|\n");
  std::printf(
      "| charges posted (POST /v1/charges/batch, %d per request, 4 clients) | %d in %.1f s "
      "(%.0f/s; ledger CPU %.1f s; %d batches sent again after a 503) | not part of the close |\n",
      flags.batch, flags.charges, postSeconds, postSeconds > 0 ? flags.charges / postSeconds : 0.0,
      ledgerCpuPosting, unavailableRetries.load());
  std::printf(
      "| trigger | the period's end plus the grace (--invoice-grace %s), %d s after the "
      "operator's restart; resync %s before it | |\n",
      operatorGrace(dueAt, closing.end).c_str(), flags.closeLeadSeconds,
      idleBeforeDue ? "idle" : "NOT idle");
  std::printf("| every group's Invoice Finalized, from the due instant | %s%.1f s | %s |\n",
              allFinalized ? "" : "not reached: ", finalizedSeconds,
              verdict(allFinalized && finalizedSeconds <= 60));
  if (!allFinalized) {
    std::printf("| Invoices Finalized at the timeout | %zu of %zu | |\n", finalizedCount,
                groupCount);
  }
  std::printf("| every group's status.lastInvoice shows it | %s%.1f s | |\n",
              allShown ? "" : "not reached: ", shownSeconds);
  std::printf("| operator idle again | %s%.1f s | |\n", idle ? "" : "not reached: ", idleSeconds);
  std::printf("| operator CPU until all Finalized / until idle | %.1f s / %.1f s | |\n",
              operatorCpuFinalized, operatorCpu);
  std::printf("| operator peak RSS during the close (VmHWM%s) | %.1f MiB | |\n",
              peaksReset ? ", reset at the due instant" : ", whole run", operatorPeak);
  std::printf("| ledger CPU until idle | %.1f s | |\n", ledgerCpu);
  std::printf("| ledger peak RSS during the close (VmHWM%s) | %.1f MiB | |\n",
              peaksReset ? ", reset at the due instant" : ", whole run", ledgerPeak);
  if (backend == "postgres") {
    if (postgresCpu >= 0) {
      std::printf("| PostgreSQL server CPU (all its processes) until idle | %.1f s | |\n",
                  postgresCpu);
    } else {
      std::printf("| PostgreSQL server CPU | not measured (server process not found) | |\n");
    }
  }
  std::printf(
      "| invoices verified | %zu Invoices, %zu ledger numbers, totals %s (charges %s) | "
      "%s |\n",
      invoiceOfGroup.size(), numbers.size(), formatMinor(ledgerTotal).c_str(),
      formatMinor(chargedMinor).c_str(), problems.empty() ? "met" : "NOT MET");
  for (std::size_t i = 0; i < problems.size() && i < 20; ++i) {
    std::printf("| problem | %s | |\n", problems[i].c_str());
  }
  if (problems.size() > 20) std::printf("| problems not shown | %zu | |\n", problems.size() - 20);

  std::printf("\nAPI requests of the operator, from the due instant until idle:\n");
  printRequests(requests);
  std::uint64_t ledgerTotalRequests = 0;
  std::printf("\nLedger requests, from the due instant until idle:\n");
  std::printf("\n| method | route | requests |\n|---|---|---:|\n");
  for (const auto& [key, count] : ledgerCounts) {
    std::printf("| %s | %s | %llu |\n", key.first.c_str(), key.second.c_str(),
                static_cast<unsigned long long>(count));
    ledgerTotalRequests += count;
  }
  std::printf("| | all | %llu (%.1f per group) |\n",
              static_cast<unsigned long long>(ledgerTotalRequests),
              static_cast<double>(ledgerTotalRequests) / static_cast<double>(groupCount));
  std::fflush(stdout);

  operatorProcess->stop();
  ledger->stop();
  observer.stop();
  server.stop();
  if (!flags.keep) fs::remove_all(dir, ignored);
  result.finalizedAll = allFinalized;
  result.closeSeconds = finalizedSeconds;
  result.verified = problems.empty();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  setProgramName("invoice_close_bench");
  const Flags flags = parseFlags(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  std::printf("invoice_close_bench: %d groups, %d projects, %d charges; backends:", flags.groups,
              flags.projects, flags.charges);
  for (const std::string& backend : flags.backends) std::printf(" %s", backend.c_str());
  std::printf("\n");
  std::vector<RunResult> results;
  for (const std::string& backend : flags.backends) results.push_back(runOnce(flags, backend));
  std::printf("\n## Summary\n\n| backend | every Invoice Finalized | verified |\n|---|---:|---|\n");
  bool ok = true;
  for (const RunResult& result : results) {
    std::printf("| %s | %s%.1f s (%s) | %s |\n", result.backend.c_str(),
                result.finalizedAll ? "" : "not reached: ", result.closeSeconds,
                verdict(result.finalizedAll && result.closeSeconds <= 60),
                result.verified ? "yes" : "NO");
    ok = ok && result.verified && result.finalizedAll;
  }
  return ok ? 0 : 1;
}
