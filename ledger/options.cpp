#include "ledger/options.h"

#include <charconv>
#include <fstream>
#include <optional>

namespace billing::ledger {
namespace {

std::optional<int> parsePort(std::string_view text) {
  int port = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || ptr != text.data() + text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

}  // namespace

std::expected<std::string, std::string> listenUrlOf(std::string_view address, bool tls) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return std::unexpected("--listen " + std::string(address) +
                           ": expected HOST:PORT, [IPv6]:PORT or :PORT, e.g. 127.0.0.1:8080");
  }
  std::string host(address.substr(0, colon));
  const std::string_view portText = address.substr(colon + 1);
  if (portText == "0") {
    return std::unexpected("--listen " + std::string(address) +
                           ": port 0 is not supported (the ledger could not tell which port it "
                           "got); choose a port");
  }
  if (!parsePort(portText)) {
    return std::unexpected("--listen " + std::string(address) + ": port \"" +
                           std::string(portText) + "\" is not a number from 1 to 65535");
  }
  if (host.empty()) host = "0.0.0.0";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return std::string(tls ? "https://" : "http://") + host + ":" + std::string(portText);
}

std::expected<LedgerOptions, std::string> parseLedgerOptions(
    std::span<const std::string_view> args) {
  LedgerOptions options;
  std::string listen;
  std::string database(kDefaultDatabase);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view name = arg;
    std::optional<std::string_view> inlineValue;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inlineValue = arg.substr(eq + 1);
    }
    auto takeValue = [&]() -> std::expected<std::string, std::string> {
      if (inlineValue) return std::string(*inlineValue);
      if (i + 1 >= args.size() || args[i + 1].starts_with("--")) {
        return std::unexpected(std::string(name) + " needs a value");
      }
      return std::string(args[++i]);
    };
    if (name == "--help" || name == "-h") {
      options.help = true;
    } else if (name == "--version") {
      options.version = true;
    } else if (name == "--no-auth") {
      options.noAuth = true;
    } else if (name == "--listen" || name == "--database" || name == "--token-file" ||
               name == "--tls-cert-file" || name == "--tls-key-file" || name == "--issuer" ||
               name == "--log-format" || name == "--pool-size" || name == "--postgres-schema") {
      auto value = takeValue();
      if (!value) return std::unexpected(value.error());
      if (name == "--listen") listen = *value;
      if (name == "--database") database = *value;
      if (name == "--token-file") options.tokenFile = *value;
      if (name == "--tls-cert-file") options.tlsCertFile = *value;
      if (name == "--tls-key-file") options.tlsKeyFile = *value;
      if (name == "--issuer") options.issuer = *value;
      if (name == "--postgres-schema") options.postgresSchema = *value;
      if (name == "--log-format") {
        if (*value == "json") {
          options.logFormat = LogFormat::Json;
        } else if (*value == "text") {
          options.logFormat = LogFormat::Text;
        } else {
          return std::unexpected("--log-format must be json or text, not \"" + *value + "\"");
        }
      }
      if (name == "--pool-size") {
        auto size = parsePort(*value);
        if (!size || *size > 64) {
          return std::unexpected("--pool-size must be a number from 1 to 64, not \"" + *value +
                                 "\"");
        }
        options.poolSize = *size;
      }
    } else {
      return std::unexpected("unknown argument \"" + std::string(arg) + "\"");
    }
  }
  if (options.help || options.version) return options;

  if (listen.empty()) return std::unexpected("--listen is required, e.g. --listen 127.0.0.1:8080");
  if (options.tlsCertFile.empty() != options.tlsKeyFile.empty()) {
    return std::unexpected("TLS needs both --tls-cert-file and --tls-key-file; only one was given");
  }
  auto url = listenUrlOf(listen, !options.tlsCertFile.empty());
  if (!url) return std::unexpected(url.error());
  options.listenUrl = *url;

  if (database.starts_with("sqlite:")) {
    options.databaseKind = DatabaseKind::Sqlite;
    options.databaseTarget = database.substr(std::string_view("sqlite:").size());
    if (options.databaseTarget.empty()) {
      return std::unexpected(
          "--database sqlite: needs a file path, e.g. sqlite:/var/lib/ledger.db");
    }
  } else if (database.starts_with("postgres://") || database.starts_with("postgresql://")) {
    options.databaseKind = DatabaseKind::Postgres;
    options.databaseTarget = database;
  } else if (database.starts_with("postgres:")) {
    // "postgres:host=... dbname=...": a libpq key/value connection string.
    options.databaseKind = DatabaseKind::Postgres;
    options.databaseTarget = database.substr(std::string_view("postgres:").size());
  } else {
    return std::unexpected("--database \"" + database +
                           "\" is neither sqlite:PATH nor postgres://... (or postgres:KEY=VALUE "
                           "...)");
  }

  if (options.tokenFile.empty() && !options.noAuth) {
    return std::unexpected(
        "give --token-file PATH (bearer tokens, one per line) or, on a private network only, "
        "--no-auth");
  }
  if (!options.tokenFile.empty() && options.noAuth) {
    return std::unexpected("--token-file and --no-auth contradict each other; choose one");
  }
  return options;
}

std::expected<std::vector<std::string>, std::string> readTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::unexpected("cannot read token file " + path +
                           "; check the path and that this user may read it");
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    std::string token = trim(line);
    if (!token.empty()) tokens.push_back(std::move(token));
  }
  if (tokens.empty()) {
    return std::unexpected("token file " + path +
                           " holds no token; write one token per line (e.g. openssl rand -hex 32)");
  }
  return tokens;
}

std::string ledgerUsage() {
  return R"(billing-ledger: the reference billing backend (accounts, memberships, charges, credits,
invoices) behind the REST contract in ledger/openapi.yaml.

Usage:
  billing-ledger --listen ADDR [--database DB] (--token-file PATH | --no-auth)
                 [--tls-cert-file PEM --tls-key-file PEM] [options]

  --listen ADDR           HOST:PORT, [IPv6]:PORT or :PORT (all interfaces)
  --database DB           sqlite:PATH (default sqlite:billing-ledger.db),
                          postgres://USER@HOST:PORT/DB, or postgres:KEY=VALUE ... (libpq)
  --postgres-schema NAME  keep the tables in this PostgreSQL schema (created when missing)
  --token-file PATH       accepted bearer tokens, one per line
  --no-auth               accept requests without a token (private networks only)
  --tls-cert-file PEM     serve HTTPS with this certificate chain ...
  --tls-key-file PEM      ... and this private key
  --issuer NAME           invoice issuer in exports (default billing-ledger)
  --log-format json|text  log lines (default json)
  --pool-size N           database connections (default 4)
  --help, --version

GET /healthz answers 200 while the database answers. SIGTERM or SIGINT stops the ledger cleanly.
)";
}

}  // namespace billing::ledger
