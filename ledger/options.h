// The command line of billing-ledger, parsed into plain values (testable without a process).
#pragma once

#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace billing::ledger {

enum class DatabaseKind { Sqlite, Postgres };
enum class LogFormat { Json, Text };

struct LedgerOptions {
  std::string listenUrl;  // "http://127.0.0.1:8080"; https:// when TLS files are given
  DatabaseKind databaseKind = DatabaseKind::Sqlite;
  std::string databaseTarget;  // the SQLite path or the libpq connection string
  std::string postgresSchema;  // --postgres-schema; empty: the connection's default
  std::string tokenFile;
  bool noAuth = false;
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string issuer = "billing-ledger";
  LogFormat logFormat = LogFormat::Json;
  int poolSize = 4;
  bool help = false;
  bool version = false;
};

inline constexpr std::string_view kDefaultDatabase = "sqlite:billing-ledger.db";

// Parses the arguments after the program name. Errors say which flag is wrong and what it wants.
std::expected<LedgerOptions, std::string> parseLedgerOptions(
    std::span<const std::string_view> args);

// "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces) -> "http://HOST:PORT".
std::expected<std::string, std::string> listenUrlOf(std::string_view address, bool tls);

// One token per non-empty line; surrounding whitespace is ignored. Several lines let a token be
// rotated without downtime.
std::expected<std::vector<std::string>, std::string> readTokenFile(const std::string& path);

std::string ledgerUsage();

}  // namespace billing::ledger
