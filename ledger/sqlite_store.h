// The embedded store: one SQLite database file, WAL journal, a small pool of connections.
// Writers are serialized with BEGIN IMMEDIATE (waiting up to the busy timeout for the write
// lock), so read-check-write sequences inside one transaction never race; readers run beside
// them on WAL snapshots.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ledger/store.h"

namespace billing::ledger {

struct SqliteStoreOptions {
  std::string path;  // a file path, or ":memory:" for a private in-memory database (one connection)
  int poolSize = 4;
  std::chrono::milliseconds busyTimeout{10000};
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when missing) the database and brings its schema up to date.
  static Result<std::unique_ptr<SqliteStore>> open(const SqliteStoreOptions& options);
  ~SqliteStore() override;

  std::string_view kind() const override { return "sqlite"; }
  Result<void> ping() override;
  Result<void> run(TransactionMode mode,
                   const std::function<Result<void>(Transaction&)>& body) override;

  struct Connection;

 private:
  explicit SqliteStore(SqliteStoreOptions options);
  Result<std::unique_ptr<Connection>> acquire();
  void release(std::unique_ptr<Connection> connection);

  SqliteStoreOptions options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
};

}  // namespace billing::ledger
