#include "ledger/sqlite_store.h"

#include <sqlite3.h>

#include <unordered_map>

#include "ledger/sql_store.h"

namespace billing::ledger {

struct SqliteStore::Connection {
  sqlite3* db = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements;

  ~Connection() {
    for (auto& [sql, statement] : statements) sqlite3_finalize(statement);
    if (db != nullptr) sqlite3_close(db);
  }
};

namespace {

constexpr int kMaxAttempts = 10;

std::string excerpt(std::string_view sql) {
  std::string out;
  for (char c : sql.substr(0, 80)) {
    if (c == '\n') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

Error sqliteError(sqlite3* db, int code, std::string_view what) {
  const int primary = code & 0xff;
  std::string message = std::string("SQLite: ") + sqlite3_errstr(code);
  if (db != nullptr) message += " (" + std::string(sqlite3_errmsg(db)) + ")";
  message += " in " + excerpt(what);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Error{ErrorKind::Unavailable,
                 "unavailable",
                 message + "; another writer held the database for longer than the busy timeout",
                 {}};
  }
  return Error{ErrorKind::Internal, "internal", message, {}};
}

class SqliteSession final : public SqlSession {
 public:
  explicit SqliteSession(SqliteStore::Connection& connection) : connection_(connection) {}

  Result<std::vector<SqlRow>> query(std::string_view sql,
                                    const std::vector<SqlParam>& params) override {
    std::vector<SqlRow> rows;
    LEDGER_RETURN_IF_ERROR(step(sql, params, &rows));
    return rows;
  }

  Result<std::int64_t> execute(std::string_view sql, const std::vector<SqlParam>& params) override {
    LEDGER_RETURN_IF_ERROR(step(sql, params, nullptr));
    return static_cast<std::int64_t>(sqlite3_changes(connection_.db));
  }

 private:
  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    std::string key(sql);
    auto cached = connection_.statements.find(key);
    if (cached != connection_.statements.end()) return cached->second;
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v2(connection_.db, key.c_str(), static_cast<int>(key.size()),
                                      &statement, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(sqliteError(connection_.db, rc, sql));
    connection_.statements.emplace(std::move(key), statement);
    return statement;
  }

  Result<void> step(std::string_view sql, const std::vector<SqlParam>& params,
                    std::vector<SqlRow>* rows) {
    LEDGER_ASSIGN_OR_RETURN(sqlite3_stmt * statement, prepare(sql));
    struct Reset {
      sqlite3_stmt* statement;
      ~Reset() {
        sqlite3_reset(statement);
        sqlite3_clear_bindings(statement);
      }
    } reset{statement};
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      if (const auto* integer = std::get_if<std::int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(statement, index, *integer);
      } else if (const auto* text = std::get_if<std::string>(&params[i])) {
        // No copy (SQLITE_STATIC, a null destructor): `params` outlives the statement's run, and
        // the bindings are cleared before step() returns.
        rc = sqlite3_bind_text(statement, index, text->data(), static_cast<int>(text->size()),
                               nullptr);
      } else {
        rc = sqlite3_bind_null(statement, index);
      }
      if (rc != SQLITE_OK) return std::unexpected(sqliteError(connection_.db, rc, sql));
    }
    while (true) {
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) return {};
      if (rc != SQLITE_ROW) return std::unexpected(sqliteError(connection_.db, rc, sql));
      if (rows == nullptr) continue;
      SqlRow row;
      const int columns = sqlite3_column_count(statement);
      row.columns.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(statement, c) == SQLITE_NULL) {
          row.columns.emplace_back(std::nullopt);
          continue;
        }
        const auto* text = sqlite3_column_text(statement, c);
        const int bytes = sqlite3_column_bytes(statement, c);
        row.columns.emplace_back(
            std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes)));
      }
      rows->push_back(std::move(row));
    }
  }

  SqliteStore::Connection& connection_;
};

Result<void> exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  if (message != nullptr) sqlite3_free(message);
  if (rc != SQLITE_OK) return std::unexpected(sqliteError(db, rc, sql));
  return {};
}

}  // namespace

SqliteStore::SqliteStore(SqliteStoreOptions options) : options_(std::move(options)) {
  if (options_.path == ":memory:" || options_.poolSize < 1) options_.poolSize = 1;
}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteStoreOptions& options) {
  if (options.path.empty()) {
    return fail(ErrorKind::Invalid, "invalid-value",
                "the SQLite database path is empty; use e.g. sqlite:/var/lib/billing/ledger.db");
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(options));
  LEDGER_ASSIGN_OR_RETURN(auto connection, store->acquire());
  LEDGER_RETURN_IF_ERROR(exec(connection->db, "BEGIN IMMEDIATE"));
  for (std::string_view statement : schemaStatements()) {
    if (auto done = exec(connection->db, std::string(statement)); !done) {
      (void)exec(connection->db, "ROLLBACK");
      return std::unexpected(std::move(done).error());
    }
  }
  LEDGER_RETURN_IF_ERROR(exec(connection->db, "COMMIT"));
  store->release(std::move(connection));
  return store;
}

Result<std::unique_ptr<SqliteStore::Connection>> SqliteStore::acquire() {
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < options_.poolSize; });
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;
  }
  auto connection = std::make_unique<Connection>();
  const int rc =
      sqlite3_open_v2(options_.path.c_str(), &connection->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto opened = [&]() -> Result<void> {
    if (rc != SQLITE_OK) {
      return fail(
          ErrorKind::Unavailable, "unavailable",
          "cannot open SQLite database " + options_.path + ": " +
              (connection->db != nullptr ? sqlite3_errmsg(connection->db) : sqlite3_errstr(rc)) +
              "; check that the directory exists and is writable");
    }
    sqlite3_busy_timeout(connection->db, static_cast<int>(options_.busyTimeout.count()));
    sqlite3_extended_result_codes(connection->db, 1);
    if (options_.path != ":memory:") {
      LEDGER_RETURN_IF_ERROR(exec(connection->db, "PRAGMA journal_mode = WAL"));
    }
    // NORMAL is durable in WAL mode except for the last transactions before a power loss.
    LEDGER_RETURN_IF_ERROR(exec(connection->db, "PRAGMA synchronous = NORMAL"));
    LEDGER_RETURN_IF_ERROR(exec(connection->db, "PRAGMA foreign_keys = ON"));
    return {};
  }();
  if (!opened) {
    std::lock_guard lock(mutex_);
    --open_;
    available_.notify_one();
    return std::unexpected(std::move(opened).error());
  }
  return connection;
}

void SqliteStore::release(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  if (connection) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
  available_.notify_one();
}

Result<void> SqliteStore::ping() {
  return run(TransactionMode::ReadOnly, [](Transaction&) -> Result<void> { return {}; });
}

Result<void> SqliteStore::run(TransactionMode mode,
                              const std::function<Result<void>(Transaction&)>& body) {
  Error last;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    LEDGER_ASSIGN_OR_RETURN(auto connection, acquire());
    sqlite3* db = connection->db;
    auto begun = exec(db, mode == TransactionMode::ReadWrite ? "BEGIN IMMEDIATE" : "BEGIN");
    if (!begun) {
      release(std::move(connection));
      return std::unexpected(std::move(begun).error());
    }
    SqliteSession session(*connection);
    SqlTransaction transaction(session);
    auto result = body(transaction);
    if (result) {
      auto committed = exec(db, "COMMIT");
      if (!committed) {
        (void)exec(db, "ROLLBACK");
        release(std::move(connection));
        return std::unexpected(std::move(committed).error());
      }
      release(std::move(connection));
      return {};
    }
    (void)exec(db, "ROLLBACK");
    release(std::move(connection));
    if (result.error().kind != ErrorKind::Retry) return std::unexpected(std::move(result).error());
    last = std::move(result).error();
  }
  return fail(ErrorKind::Unavailable, "unavailable",
              "the transaction kept conflicting with concurrent ones after " +
                  std::to_string(kMaxAttempts) + " attempts: " + last.detail);
}

}  // namespace billing::ledger
