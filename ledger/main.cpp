// billing-ledger: the reference billing backend. See ledger/openapi.yaml and docs/ledger.md.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/json.h"
#include "ledger/http_api.h"
#include "ledger/options.h"
#include "ledger/postgres_store.h"
#include "ledger/service.h"
#include "ledger/sqlite_store.h"
#include "reconcilers/domain/time.h"

namespace {

using billing::ledger::LogFormat;
using web::json::value;

// One line per event on stderr: a JSON object in production, key=value text for humans.
class Log {
 public:
  explicit Log(LogFormat format) : format_(format) {}

  void write(std::string_view level, std::string_view message,
             std::vector<std::pair<std::string, value>> fields = {}) {
    const std::string now = billing::domain::formatTimestamp(billing::ledger::systemNow());
    std::string line;
    if (format_ == LogFormat::Json) {
      value object = value::object(true);
      object["time"] = value::string(now);
      object["level"] = value::string(std::string(level));
      object["msg"] = value::string(std::string(message));
      for (auto& [key, field] : fields) object[key] = std::move(field);
      line = billing::common::toJson(object);
    } else {
      line = now + " " + std::string(level) + " " + std::string(message);
      for (const auto& [key, field] : fields) {
        line += " " + key + "=" +
                (field.is_string() ? field.as_string() : billing::common::toJson(field));
      }
    }
    std::lock_guard lock(mutex_);
    std::cerr << line << '\n' << std::flush;
  }

 private:
  LogFormat format_;
  std::mutex mutex_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace billing::ledger;

  // Block the stop signals before any thread exists (cpprest starts its pool lazily), so that
  // only sigwait below sees them and shutdown runs on the main thread.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto options = parseLedgerOptions(args);
  if (!options) {
    std::cerr << "billing-ledger: error: " << options.error() << "\n"
              << "Run billing-ledger --help for the usage.\n";
    return 2;
  }
  if (options->help) {
    std::cout << ledgerUsage();
    return 0;
  }
  if (options->version) {
    std::cout << "billing-ledger " << BILLING_VERSION << "\n";
    return 0;
  }
  Log log(options->logFormat);

  HttpApiOptions apiOptions;
  apiOptions.issuer = options->issuer;
  if (!options->noAuth) {
    auto tokens = readTokenFile(options->tokenFile);
    if (!tokens) {
      log.write("error", tokens.error());
      return 1;
    }
    apiOptions.tokens = std::move(*tokens);
  } else {
    log.write("warn",
              "authentication is off (--no-auth): anyone who reaches the port can "
              "create charges and invoices");
  }

  std::unique_ptr<Store> store;
  if (options->databaseKind == DatabaseKind::Sqlite) {
    auto opened = SqliteStore::open(SqliteStoreOptions{options->databaseTarget, options->poolSize});
    if (!opened) {
      log.write("error", "cannot open the SQLite database: " + opened.error().detail);
      return 1;
    }
    store = std::move(*opened);
  } else {
    auto opened = PostgresStore::open(
        PostgresStoreOptions{options->databaseTarget, options->postgresSchema, options->poolSize});
    if (!opened) {
      log.write("error", "cannot open the PostgreSQL database: " + opened.error().detail);
      return 1;
    }
    store = std::move(*opened);
  }

  LedgerService service(*store);
  HttpApi api(service, apiOptions);
  LedgerServerOptions serverOptions;
  serverOptions.url = options->listenUrl;
  serverOptions.tlsCertFile = options->tlsCertFile;
  serverOptions.tlsKeyFile = options->tlsKeyFile;
  serverOptions.accessLog = [&log](const AccessLogEntry& entry) {
    std::vector<std::pair<std::string, value>> fields{
        {"method", value::string(entry.method)},
        {"path", value::string(entry.path)},
        {"status", value::number(entry.status)},
        {"durationMs", value::number(static_cast<double>(entry.duration.count()) / 1000.0)}};
    if (!entry.problemType.empty())
      fields.emplace_back("problem", value::string(entry.problemType));
    log.write(entry.status >= 500 ? "error" : "info", "request", std::move(fields));
  };
  auto server = LedgerServer::start(api, serverOptions);
  if (!server) {
    log.write("error", server.error().detail);
    return 1;
  }
  log.write("info", "listening",
            {{"url", value::string(options->listenUrl)},
             {"store", value::string(std::string(store->kind()))},
             {"auth", value::boolean(!options->noAuth)}});

  int signal = 0;
  sigwait(&stopSignals, &signal);
  log.write("info", "shutting down",
            {{"signal", value::string(signal == SIGTERM ? "SIGTERM" : "SIGINT")}});
  (*server)->stop();
  log.write("info", "stopped");
  return 0;
}
