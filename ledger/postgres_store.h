// The production store: PostgreSQL through libpq, a small pool of connections, prepared
// statements per connection. Write transactions run SERIALIZABLE: when two of them race (two
// invoice runs for the same account, two requests with the same idempotency key), PostgreSQL
// aborts one with a serialization failure or a unique violation and the store runs it again,
// when it then sees the winner's result.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ledger/store.h"

namespace billing::ledger {

struct PostgresStoreOptions {
  // A libpq connection string: "postgresql://user@host:5432/ledger" or "host=... dbname=...".
  std::string dsn;
  // The schema holding the ledger's tables, created when missing; empty: the connection's default
  // search_path (usually "public"). Lets several ledgers (or test runs) share one database.
  std::string schema;
  int poolSize = 4;
};

class PostgresStore final : public Store {
 public:
  // Connects and brings the schema up to date. Errors name the server and what to check.
  static Result<std::unique_ptr<PostgresStore>> open(const PostgresStoreOptions& options);
  ~PostgresStore() override;

  std::string_view kind() const override { return "postgres"; }
  Result<void> ping() override;
  Result<void> run(TransactionMode mode,
                   const std::function<Result<void>(Transaction&)>& body) override;

  // Drops the schema and everything in it (tests and benchmarks clean up with this).
  Result<void> dropSchema();

  struct Connection;

 private:
  explicit PostgresStore(PostgresStoreOptions options);
  Result<std::unique_ptr<Connection>> acquire();
  void release(std::unique_ptr<Connection> connection);

  PostgresStoreOptions options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
};

// Quotes an SQL identifier: foo"bar -> "foo""bar".
std::string quotePostgresIdentifier(std::string_view identifier);

// Rewrites "?" placeholders to $1, $2, ... outside quoted strings and identifiers.
std::string numberPlaceholders(std::string_view sql);

}  // namespace billing::ledger
