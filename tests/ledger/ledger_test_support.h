// Helpers shared by the ledger's tests: temporary directories, free ports, a settable clock, the
// two stores (PostgreSQL only when BILLING_TEST_POSTGRES_DSN is set), and a small HTTP caller.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "ledger/store.h"
#include "reconcilers/domain/time.h"

namespace billing::ledger::testing {

// A directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (cpprest cannot listen on port 0 and say
// which port it got).
int freePort();

// A clock the test sets; starts at 2026-12-15T00:00:00Z.
class TestClock {
 public:
  domain::Timestamp now() const { return domain::Timestamp{std::chrono::seconds{seconds_.load()}}; }
  void set(domain::Timestamp t) { seconds_ = t.time_since_epoch().count(); }

 private:
  std::atomic<std::int64_t> seconds_{1797292800};
};

domain::Timestamp at(const char* rfc3339);

enum class StoreKind { Sqlite, Postgres };
std::string storeKindName(StoreKind kind);

// A store of `kind` with a fresh, empty schema, removed on destruction.
class TestStore {
 public:
  ~TestStore();
  Store& store() { return *store_; }

  // The PostgreSQL DSN of the environment, or "" when BILLING_TEST_POSTGRES_DSN is unset.
  static std::string postgresDsn();
  // Creates a store; for PostgreSQL without a DSN, returns nullptr and sets `why`.
  static std::unique_ptr<TestStore> create(StoreKind kind, std::string& why);

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Store> store_;
  std::function<void()> cleanup_;
};

// In a fixture's SetUp: the store of `kind`, or FAIL when PostgreSQL is not configured and CI is
// "true" (CI must never skip the PostgreSQL contract), or GTEST_SKIP otherwise.
#define BILLING_LEDGER_TEST_STORE(holder, kind)                                       \
  do {                                                                                \
    std::string why;                                                                  \
    holder = ::billing::ledger::testing::TestStore::create(kind, why);                \
    if (!holder) {                                                                    \
      const char* ci = std::getenv("CI");                                             \
      if (ci != nullptr && std::string(ci) == "true") {                               \
        FAIL() << why                                                                 \
               << " CI=true, so this is a failure: CI must run the PostgreSQL cases " \
                  "(scripts/test.sh runs ctest through scripts/with-postgres.sh).";   \
      }                                                                               \
      GTEST_SKIP() << why;                                                            \
    }                                                                                 \
  } while (false)

// A self-signed certificate (its own CA) for 127.0.0.1 and localhost, and its private key, as
// PEM files in `dir`.
struct TlsFiles {
  std::string certFile;
  std::string keyFile;
};
TlsFiles writeSelfSignedCertificate(const std::filesystem::path& dir);

// A request's answer as the tests look at it.
struct HttpResult {
  int status = 0;
  std::string body;
  web::json::value json;  // null when the body is not JSON
  std::map<std::string, std::string> headers;

  std::string str(const std::string& key) const;  // a string member of the JSON object
  std::string problemType() const;                // the problem's slug, "" when not a problem
};

// Sends one request with cpprest's http_client (no retries). `headers` are added as given.
HttpResult httpCall(const std::string& baseUrl, const std::string& method, const std::string& path,
                    const std::string& body = {},
                    const std::map<std::string, std::string>& headers = {});

}  // namespace billing::ledger::testing
