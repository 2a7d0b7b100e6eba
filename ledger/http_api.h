// The REST contract of the ledger (ledger/openapi.yaml) over HTTP.
//
// HttpApi is the routing and the handlers as a pure function from a request to a response, so
// that every route can be exercised without sockets. LedgerServer puts it behind
// common::HttpServer, with TLS when a certificate and key are given.
//
// Bodies are JSON; errors are RFC 9457 application/problem+json with a precise detail and the
// field at fault. Every route under /v1 needs "Authorization: Bearer <token>" when tokens are
// configured; /healthz never does. Creating calls honour the Idempotency-Key header.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/error.h"
#include "ledger/service.h"

namespace billing::ledger {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-encoded, without the query: "/v1/accounts/acme"
  std::map<std::string, std::string> query;  // decoded
  std::string authorization;                 // the Authorization header, if any
  std::string idempotencyKey;                // the Idempotency-Key header, if any
  std::string contentType;                   // the Content-Type header, if any
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string contentType;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string problemType;  // for the access log: the problem's short type on errors
};

// One route of the contract: method and path template ("/v1/accounts/{accountId}").
struct RouteInfo {
  std::string_view method;
  std::string_view path;
};

struct HttpApiOptions {
  // Accepted bearer tokens. Empty: authentication is off (only for a ledger on a private socket;
  // billing-ledger requires --token-file or an explicit --no-auth).
  std::vector<std::string> tokens;
  std::string issuer = "billing-ledger";  // FOCUS InvoiceIssuerName / ProviderName
  std::size_t maxBodyBytes = 16 * 1024 * 1024;
};

class HttpApi {
 public:
  HttpApi(LedgerService& service, HttpApiOptions options);

  HttpResponse handle(const HttpRequest& request);

  const HttpApiOptions& options() const { return options_; }

  // Every route the API serves, for the OpenAPI consistency test and the docs.
  static std::span<const RouteInfo> routes();

 private:
  struct Route;
  using Params = std::map<std::string, std::string>;
  using Handler = HttpResponse (HttpApi::*)(const HttpRequest&, const Params&);

  HttpResponse healthz(const HttpRequest&, const Params&);
  HttpResponse putAccount(const HttpRequest&, const Params&);
  HttpResponse getAccount(const HttpRequest&, const Params&);
  HttpResponse listAccounts(const HttpRequest&, const Params&);
  HttpResponse closeAccount(const HttpRequest&, const Params&);
  HttpResponse grantCredit(const HttpRequest&, const Params&);
  HttpResponse getCredits(const HttpRequest&, const Params&);
  HttpResponse createInvoice(const HttpRequest&, const Params&);
  HttpResponse listInvoices(const HttpRequest&, const Params&);
  HttpResponse addMembership(const HttpRequest&, const Params&);
  HttpResponse listMemberships(const HttpRequest&, const Params&);
  HttpResponse moveProject(const HttpRequest&, const Params&);
  HttpResponse endMembership(const HttpRequest&, const Params&);
  HttpResponse postCharge(const HttpRequest&, const Params&);
  HttpResponse postChargeBatch(const HttpRequest&, const Params&);
  HttpResponse listCharges(const HttpRequest&, const Params&);
  HttpResponse getCharge(const HttpRequest&, const Params&);
  HttpResponse getInvoice(const HttpRequest&, const Params&);
  HttpResponse finalizeInvoice(const HttpRequest&, const Params&);
  HttpResponse payInvoice(const HttpRequest&, const Params&);
  HttpResponse voidInvoice(const HttpRequest&, const Params&);
  HttpResponse invoiceLines(const HttpRequest&, const Params&);

  static const std::vector<Route>& table();

  LedgerService& service_;
  HttpApiOptions options_;
};

// A problem+json response for an error, as every route answers them.
HttpResponse problemResponse(const Error& error, std::string_view instance);

// Hex SHA-256 of method, path and the canonical form of the body: what makes two requests with
// one Idempotency-Key "the same request".
std::string requestFingerprint(std::string_view method, std::string_view path,
                               std::string_view canonicalBody);

struct AccessLogEntry {
  std::string method;
  std::string path;
  int status = 0;
  std::chrono::microseconds duration{0};
  std::string problemType;
};

struct LedgerServerOptions {
  // "http://127.0.0.1:8080" or "https://0.0.0.0:8443".
  std::string url;
  // Both or neither: PEM certificate chain and private key. Required for an https URL.
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::function<void(const AccessLogEntry&)> accessLog;  // may be empty
};

// HttpApi behind common::HttpServer (one thread per connection; requests run on it).
class LedgerServer {
 public:
  // Starts listening; errors say why (address in use, unreadable certificate, ...).
  static Result<std::unique_ptr<LedgerServer>> start(HttpApi& api, LedgerServerOptions options);
  ~LedgerServer();

  // Stops accepting and closes the listener; idempotent.
  void stop();
  const std::string& url() const { return options_.url; }

  struct Impl;

 private:
  LedgerServer(HttpApi& api, LedgerServerOptions options);

  HttpApi& api_;
  LedgerServerOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace billing::ledger
