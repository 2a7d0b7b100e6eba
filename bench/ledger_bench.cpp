// ledger_bench: how long the ledger takes to generate and finalize one month's invoices for
// 1,000 accounts holding 100,000 charges in total, on SQLite and on PostgreSQL.
//
//   build/bench/ledger_bench [--accounts N] [--charges N] [--store sqlite|postgres|both] [--keep]
//
// PostgreSQL runs when BILLING_TEST_POSTGRES_DSN is set (scripts/with-postgres.sh sets it), in a
// schema of its own that is dropped afterwards. The data: 5 projects per account, every tenth
// project moved to another account mid-month (so charges split pro rata), charges with random
// periods inside the month (some running into the next one), random amounts, and a credit on
// every fifth account. The service is called in-process (no HTTP), one invoice after the other:
// the time is the ledger's, not the network's.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ledger/postgres_store.h"
#include "ledger/service.h"
#include "ledger/sqlite_store.h"
#include "reconcilers/domain/currency.h"
#include "reconcilers/domain/money.h"

namespace {

using billing::ledger::LedgerService;
using billing::ledger::Store;
using billing::ledger::Timestamp;
using Clock = std::chrono::steady_clock;

struct Settings {
  int accounts = 1000;
  int charges = 100000;
  std::string stores = "both";
  bool keep = false;  // keep the PostgreSQL schema for inspection
};

Timestamp at(const char* text) { return billing::domain::parseTimestamp(text).value(); }

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ledger_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename R>
auto must(R result, const char* what) {
  if (!result) die(std::string(what) + ": " + result.error().detail);
  return std::move(*result);
}

void run(Store& store, const Settings& settings) {
  const Timestamp monthStart = at("2026-11-01T00:00:00Z");
  const Timestamp monthEnd = at("2026-12-01T00:00:00Z");
  LedgerService service(store, [&] { return monthEnd; });
  std::mt19937_64 random(20261101);
  const auto instant = [&](Timestamp from, Timestamp to) {
    return Timestamp{std::chrono::seconds{std::uniform_int_distribution<std::int64_t>(
        from.time_since_epoch().count(), to.time_since_epoch().count())(random)}};
  };
  const auto eur = billing::domain::findCurrency("EUR").value();

  // ---- setup: accounts, memberships, charges ----
  const auto setupStart = Clock::now();
  constexpr int kProjectsPerAccount = 5;
  std::vector<std::string> projects;
  for (int a = 0; a < settings.accounts; ++a) {
    const std::string id = "account-" + std::to_string(a);
    must(service.putAccount({id,
                             "Account " + std::to_string(a),
                             "org-" + std::to_string(a % 50),
                             "Organization",
                             "EUR",
                             {}},
                            {}),
         "create account");
    if (a % 5 == 0) {
      must(service.grantCredit(id, {"welcome", "25.00", "welcome credit", std::nullopt}, {}),
           "grant credit");
    }
    for (int p = 0; p < kProjectsPerAccount; ++p) {
      const std::string project = "ns-" + std::to_string(a) + "/project-" + std::to_string(p);
      must(service.addMembership({project, id, monthStart, std::nullopt}, {}), "add membership");
      projects.push_back(project);
    }
  }
  int moves = 0;
  for (std::size_t i = 0; i < projects.size(); i += 10) {
    const std::string target =
        "account-" + std::to_string((i / kProjectsPerAccount + 1) % settings.accounts);
    must(service.moveProject(
             {projects[i], target,
              instant(monthStart + std::chrono::days(5), monthStart + std::chrono::days(25))},
             {}),
         "move project");
    ++moves;
  }
  const auto chargesStart = Clock::now();
  std::vector<billing::ledger::ChargeInput> batch;
  for (int c = 0; c < settings.charges; ++c) {
    const std::string& project = projects[static_cast<std::size_t>(c) % projects.size()];
    const Timestamp start = instant(monthStart, monthEnd - std::chrono::hours(2));
    const Timestamp end = instant(start + std::chrono::hours(1), monthEnd + std::chrono::days(3));
    const std::int64_t cents = std::uniform_int_distribution<std::int64_t>(1, 500000)(random);
    batch.push_back({"charge-" + std::to_string(c), project, "compute", "vCPU hours", "744", "h",
                     billing::domain::formatMoney({cents, eur}), "EUR", start, end});
    if (batch.size() == 1000 || c + 1 == settings.charges) {
      must(service.postCharges(batch), "post charges");
      batch.clear();
    }
  }
  const auto setupEnd = Clock::now();
  std::printf(
      "  setup: %d accounts, %zu projects (%d moved mid-month), %d charges in %.1f s "
      "(charges alone %.1f s, %.0f charges/s in batches of 1000)\n",
      settings.accounts, projects.size(), moves, settings.charges, seconds(setupEnd - setupStart),
      seconds(setupEnd - chargesStart), settings.charges / seconds(setupEnd - chargesStart));

  // ---- measured: generate (draft) and finalize every account's invoice ----
  const billing::ledger::Interval month{monthStart, monthEnd};
  std::vector<std::string> invoiceIds;
  std::vector<double> finalizeLatencies;
  const auto generateStart = Clock::now();
  for (int a = 0; a < settings.accounts; ++a) {
    auto draft =
        must(service.createInvoice("account-" + std::to_string(a), month, {}), "create invoice");
    invoiceIds.push_back(draft.value.invoice.id);
  }
  const auto finalizeStart = Clock::now();
  std::int64_t total = 0;
  std::int64_t credits = 0;
  std::size_t lines = 0;
  for (const std::string& id : invoiceIds) {
    const auto started = Clock::now();
    auto issued = must(service.finalizeInvoice(id, {}), "finalize invoice");
    finalizeLatencies.push_back(seconds(Clock::now() - started) * 1000.0);
    total += issued.value.invoice.subtotalMinor;
    credits += issued.value.invoice.creditsAppliedMinor;
  }
  const auto finalizeEnd = Clock::now();
  for (const std::string& id : invoiceIds) {
    lines += must(service.getInvoice(id, true), "read invoice").lines.size();
  }
  std::sort(finalizeLatencies.begin(), finalizeLatencies.end());
  const auto percentile = [&](double p) {
    return finalizeLatencies[static_cast<std::size_t>(p * (finalizeLatencies.size() - 1))];
  };
  std::printf("  generate %d draft invoices:    %7.2f s  (%.1f ms per invoice)\n",
              settings.accounts, seconds(finalizeStart - generateStart),
              seconds(finalizeStart - generateStart) * 1000.0 / settings.accounts);
  std::printf(
      "  finalize %d invoices:          %7.2f s  (%.1f ms per invoice; p50 %.1f ms, p99 "
      "%.1f ms)\n",
      settings.accounts, seconds(finalizeEnd - finalizeStart),
      seconds(finalizeEnd - finalizeStart) * 1000.0 / settings.accounts, percentile(0.5),
      percentile(0.99));
  std::printf("  generate + finalize:            %7.2f s\n", seconds(finalizeEnd - generateStart));
  std::printf("  result: %zu invoice lines, subtotal %s EUR, credits applied %s EUR\n", lines,
              billing::domain::formatMoney({total, eur}).c_str(),
              billing::domain::formatMoney({credits, eur}).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--keep") {
      settings.keep = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) die(flag + " needs a value");
    if (flag == "--accounts") {
      settings.accounts = std::atoi(argv[i + 1]);
    } else if (flag == "--charges") {
      settings.charges = std::atoi(argv[i + 1]);
    } else if (flag == "--store") {
      settings.stores = argv[i + 1];
    } else {
      die("unknown flag " + flag + "; use --accounts N --charges N --store sqlite|postgres|both");
    }
  }
  if (settings.accounts < 1 || settings.charges < 1) die("--accounts and --charges must be > 0");
  std::printf("ledger_bench: %d accounts, %d charges, one month, sequential, in-process\n",
              settings.accounts, settings.charges);

  if (settings.stores == "sqlite" || settings.stores == "both") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("ledger-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
      auto store =
          must(billing::ledger::SqliteStore::open({(dir / "ledger.db").string()}), "open SQLite");
      std::printf("SQLite (%s, WAL, synchronous=NORMAL):\n", (dir / "ledger.db").c_str());
      run(*store, settings);
    }
    std::filesystem::remove_all(dir);
  }
  if (settings.stores == "postgres" || settings.stores == "both") {
    const char* dsn = std::getenv("BILLING_TEST_POSTGRES_DSN");
    if (dsn == nullptr || *dsn == '\0') {
      std::printf(
          "PostgreSQL: skipped, BILLING_TEST_POSTGRES_DSN is not set (run the benchmark "
          "through scripts/with-postgres.sh)\n");
    } else {
      const std::string schema = "ledger_bench_" + std::to_string(::getpid());
      {
        auto store =
            must(billing::ledger::PostgresStore::open({dsn, schema, 4}), "open PostgreSQL");
        std::printf("PostgreSQL (%s, schema %s, SERIALIZABLE):\n", dsn, schema.c_str());
        run(*store, settings);
        if (settings.keep) {
          std::printf("  kept schema %s (--keep)\n", schema.c_str());
        } else if (auto dropped = store->dropSchema(); !dropped) {
          std::fprintf(stderr, "ledger_bench: could not drop schema %s: %s\n", schema.c_str(),
                       dropped.error().detail.c_str());
        }
      }
    }
  }
  return 0;
}
