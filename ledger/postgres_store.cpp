#include "ledger/postgres_store.h"

#include <libpq-fe.h>

#include <chrono>
#include <random>
#include <thread>
#include <unordered_map>

#include "ledger/sql_store.h"

namespace billing::ledger {

struct PostgresStore::Connection {
  PGconn* conn = nullptr;
  std::unordered_map<std::string, std::string> statements;  // SQL -> prepared statement name
  bool broken = false;

  ~Connection() {
    if (conn != nullptr) PQfinish(conn);
  }
};

namespace {

constexpr int kMaxAttempts = 30;
constexpr int kMaxUniqueViolations = 3;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string excerpt(std::string_view sql) {
  std::string out;
  for (char c : sql.substr(0, 80)) {
    if (c == '\n') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Classifies a failed command. Serialization failures, deadlocks and unique violations (a
// concurrent transaction inserted the same key first) are races: the transaction is run again.
Error pgError(PostgresStore::Connection& connection, const PGresult* result,
              std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string message =
      trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(connection.conn));
  if (message.empty()) message = trimmed(PQerrorMessage(connection.conn));
  message = "PostgreSQL: " + message + (sqlstate.empty() ? "" : " [" + sqlstate + "]") + " in " +
            excerpt(what);
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return Error{ErrorKind::Retry, "unavailable", message, {}};
  }
  if (sqlstate == "23505") {
    // Usually a concurrent transaction inserted the same key first: run again and find it. A
    // violation that repeats is a real one (see run()).
    return Error{ErrorKind::Retry, "unique-violation", message, {}};
  }
  if (PQstatus(connection.conn) == CONNECTION_BAD || sqlstate.starts_with("08") ||
      sqlstate.starts_with("57P")) {
    connection.broken = true;
    return Error{ErrorKind::Unavailable, "unavailable", message, {}};
  }
  return Error{ErrorKind::Internal, "internal", message, {}};
}

Result<void> command(PostgresStore::Connection& connection, const std::string& sql) {
  PgResult result(PQexec(connection.conn, sql.c_str()));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(pgError(connection, result.get(), sql));
  }
  return {};
}

class PostgresSession final : public SqlSession {
 public:
  explicit PostgresSession(PostgresStore::Connection& connection) : connection_(connection) {}

  Result<std::vector<SqlRow>> query(std::string_view sql,
                                    const std::vector<SqlParam>& params) override {
    LEDGER_ASSIGN_OR_RETURN(PgResult result, run(sql, params));
    std::vector<SqlRow> rows;
    const int count = PQntuples(result.get());
    const int columns = PQnfields(result.get());
    rows.reserve(static_cast<std::size_t>(count));
    for (int r = 0; r < count; ++r) {
      SqlRow row;
      row.columns.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(result.get(), r, c)) {
          row.columns.emplace_back(std::nullopt);
        } else {
          row.columns.emplace_back(
              std::string(PQgetvalue(result.get(), r, c),
                          static_cast<std::size_t>(PQgetlength(result.get(), r, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<std::int64_t> execute(std::string_view sql, const std::vector<SqlParam>& params) override {
    LEDGER_ASSIGN_OR_RETURN(PgResult result, run(sql, params));
    const char* affected = PQcmdTuples(result.get());
    return affected != nullptr && *affected != '\0' ? std::stoll(affected) : 0;
  }

 private:
  Result<std::string> prepare(std::string_view sql, int parameters) {
    std::string key(sql);
    auto cached = connection_.statements.find(key);
    if (cached != connection_.statements.end()) return cached->second;
    std::string name = "ledger_" + std::to_string(connection_.statements.size() + 1);
    const std::string numbered = numberPlaceholders(sql);
    PgResult result(
        PQprepare(connection_.conn, name.c_str(), numbered.c_str(), parameters, nullptr));
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return std::unexpected(pgError(connection_, result.get(), sql));
    }
    connection_.statements.emplace(std::move(key), name);
    return name;
  }

  Result<PgResult> run(std::string_view sql, const std::vector<SqlParam>& params) {
    LEDGER_ASSIGN_OR_RETURN(std::string name, prepare(sql, static_cast<int>(params.size())));
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (const auto* integer = std::get_if<std::int64_t>(&params[i])) {
        texts[i] = std::to_string(*integer);
        values[i] = texts[i].c_str();
      } else if (const auto* text = std::get_if<std::string>(&params[i])) {
        values[i] = text->c_str();
      }
    }
    PgResult result(PQexecPrepared(connection_.conn, name.c_str(), static_cast<int>(params.size()),
                                   values.data(), nullptr, nullptr, 0));
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return std::unexpected(pgError(connection_, result.get(), sql));
    }
    return result;
  }

  PostgresStore::Connection& connection_;
};

void ignoreNotice(void*, const char*) {}

}  // namespace

std::string quotePostgresIdentifier(std::string_view identifier) {
  std::string out = "\"";
  for (char c : identifier) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string numberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 1;
  char quote = 0;
  for (char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      out += "$" + std::to_string(next++);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

PostgresStore::PostgresStore(PostgresStoreOptions options) : options_(std::move(options)) {
  if (options_.poolSize < 1) options_.poolSize = 1;
}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const PostgresStoreOptions& options) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(options));
  LEDGER_ASSIGN_OR_RETURN(auto connection, store->acquire());
  auto migrated = [&]() -> Result<void> {
    LEDGER_RETURN_IF_ERROR(command(*connection, "BEGIN"));
    // Two ledgers starting at once against one database must not race on CREATE TABLE.
    LEDGER_RETURN_IF_ERROR(command(*connection, "SELECT pg_advisory_xact_lock(7261626)"));
    for (std::string_view statement : schemaStatements()) {
      LEDGER_RETURN_IF_ERROR(command(*connection, std::string(statement)));
    }
    return command(*connection, "COMMIT");
  }();
  if (!migrated) {
    (void)command(*connection, "ROLLBACK");
    return std::unexpected(std::move(migrated).error());
  }
  store->release(std::move(connection));
  return store;
}

Result<std::unique_ptr<PostgresStore::Connection>> PostgresStore::acquire() {
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
  connection->conn = PQconnectdb(options_.dsn.c_str());
  auto ready = [&]() -> Result<void> {
    if (connection->conn == nullptr || PQstatus(connection->conn) != CONNECTION_OK) {
      std::string reason =
          connection->conn != nullptr ? trimmed(PQerrorMessage(connection->conn)) : "out of memory";
      return fail(ErrorKind::Unavailable, "unavailable",
                  "cannot connect to PostgreSQL: " + reason +
                      "; check the --database connection string, that the server runs and that "
                      "it accepts this user");
    }
    PQsetNoticeProcessor(connection->conn, ignoreNotice, nullptr);
    if (!options_.schema.empty()) {
      const std::string schema = quotePostgresIdentifier(options_.schema);
      LEDGER_RETURN_IF_ERROR(command(*connection, "CREATE SCHEMA IF NOT EXISTS " + schema));
      LEDGER_RETURN_IF_ERROR(command(*connection, "SET search_path TO " + schema));
    }
    return {};
  }();
  if (!ready) {
    std::lock_guard lock(mutex_);
    --open_;
    available_.notify_one();
    return std::unexpected(std::move(ready).error());
  }
  return connection;
}

void PostgresStore::release(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  if (connection && !connection->broken && PQstatus(connection->conn) == CONNECTION_OK) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;  // a broken connection is dropped; the next acquire opens a fresh one
  }
  available_.notify_one();
}

Result<void> PostgresStore::ping() {
  return run(TransactionMode::ReadOnly, [](Transaction&) -> Result<void> { return {}; });
}

Result<void> PostgresStore::run(TransactionMode mode,
                                const std::function<Result<void>(Transaction&)>& body) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  const std::string begin = mode == TransactionMode::ReadWrite
                                ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  Error last;
  int uniqueViolations = 0;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) {
      // Randomized pause so that the racing transactions do not collide again in lockstep.
      const int ceiling = std::min(100, 2 << std::min(attempt, 6));
      std::this_thread::sleep_for(std::chrono::milliseconds(
          1 + static_cast<int>(jitter() % static_cast<unsigned>(ceiling))));
    }
    LEDGER_ASSIGN_OR_RETURN(auto connection, acquire());
    if (auto begun = command(*connection, begin); !begun) {
      release(std::move(connection));
      if (begun.error().kind == ErrorKind::Unavailable) {
        last = std::move(begun).error();
        continue;  // a connection that died while idle; try a fresh one
      }
      return std::unexpected(std::move(begun).error());
    }
    PostgresSession session(*connection);
    SqlTransaction transaction(session);
    auto result = body(transaction);
    if (result) {
      auto committed = command(*connection, "COMMIT");
      if (committed) {
        release(std::move(connection));
        return {};
      }
      result = std::unexpected(std::move(committed).error());
    }
    (void)command(*connection, "ROLLBACK");
    release(std::move(connection));
    if (result.error().kind != ErrorKind::Retry) return std::unexpected(std::move(result).error());
    last = std::move(result).error();
    if (last.type == "unique-violation" && ++uniqueViolations >= kMaxUniqueViolations) {
      return internal(last.detail);
    }
  }
  return fail(ErrorKind::Unavailable, "unavailable",
              "the transaction kept conflicting with concurrent ones after " +
                  std::to_string(kMaxAttempts) + " attempts: " + last.detail);
}

Result<void> PostgresStore::dropSchema() {
  if (options_.schema.empty()) {
    return internal("dropSchema needs PostgresStoreOptions::schema; refusing to drop \"public\"");
  }
  {
    std::lock_guard lock(mutex_);
    open_ -= static_cast<int>(idle_.size());
    idle_.clear();
  }
  LEDGER_ASSIGN_OR_RETURN(auto connection, acquire());
  auto dropped = command(*connection, "DROP SCHEMA IF EXISTS " +
                                          quotePostgresIdentifier(options_.schema) + " CASCADE");
  connection->broken = true;  // its search_path points at a schema that is gone
  release(std::move(connection));
  return dropped;
}

}  // namespace billing::ledger
