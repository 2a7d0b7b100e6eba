#include "ledger/http_api.h"

#include <cpprest/base_uri.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <atomic>
#include <fstream>

#include "common/http_client.h"
#include "common/http_server.h"
#include "common/json.h"
#include "ledger/export.h"
#include "ledger/json_codec.h"

namespace billing::ledger {

struct HttpApi::Route {
  std::string_view method;
  std::string_view path;
  Handler handler;
};

namespace {

using web::json::value;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kProblemJson = "application/problem+json";

HttpResponse jsonResponse(int status, const value& body) {
  return HttpResponse{status, std::string(kJson), common::toJson(body), {}, {}};
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find('/', begin);
    if (end == std::string_view::npos) end = path.size();
    if (end > begin) segments.emplace_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return segments;
}

// Whether every '%' in `segment` starts an escape of two hexadecimal digits. web::uri::decode
// throws on anything else, and a request must not be able to make the handler throw.
bool validPercentEncoding(std::string_view segment) {
  const auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  for (std::size_t at = segment.find('%'); at != std::string_view::npos;
       at = segment.find('%', at + 3)) {
    if (at + 2 >= segment.size() || !hex(segment[at + 1]) || !hex(segment[at + 2])) return false;
  }
  return true;
}

// Matches `path` against a template; fills `params` with the decoded {name} segments.
bool matches(std::string_view pattern, const std::vector<std::string>& segments,
             std::map<std::string, std::string>& params) {
  const std::vector<std::string> parts = splitPath(pattern);
  if (parts.size() != segments.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part.size() > 2 && part.front() == '{' && part.back() == '}') {
      found[part.substr(1, part.size() - 2)] = web::uri::decode(segments[i]);
    } else if (part != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The body as JSON: null when it is empty and `required` is false.
Result<value> parseBody(const HttpRequest& request, bool required) {
  if (blank(request.body)) {
    if (required) {
      return fail(ErrorKind::Malformed, "malformed-json",
                  "the request body is empty; send a JSON object (Content-Type: "
                  "application/json)");
    }
    return value::null();
  }
  if (!request.contentType.empty() && request.contentType.find("json") == std::string::npos) {
    return fail(ErrorKind::Malformed, "unsupported-media-type",
                "Content-Type \"" + request.contentType +
                    "\" is not JSON; send the body as application/json");
  }
  auto parsed = common::parseJson(request.body);
  if (!parsed) {
    return fail(ErrorKind::Malformed, "malformed-json",
                "the request body is not valid JSON: " + parsed.error());
  }
  return std::move(*parsed);
}

RequestIdentity identityOf(const HttpRequest& request, const value& body) {
  if (request.idempotencyKey.empty()) return {};
  return RequestIdentity{
      request.idempotencyKey,
      requestFingerprint(request.method, request.path, body.is_null() ? "" : common::toJson(body))};
}

template <typename T, typename ToJson>
HttpResponse outcomeResponse(const Outcome<T>& outcome, ToJson&& toJson, std::string location) {
  HttpResponse response = jsonResponse(outcome.created ? 201 : 200, toJson(outcome.value));
  if (outcome.created && !location.empty()) response.headers.emplace_back("Location", location);
  if (outcome.replayed) response.headers.emplace_back("Idempotent-Replayed", "true");
  return response;
}

std::optional<std::string> queryParam(const HttpRequest& request, const std::string& name) {
  auto it = request.query.find(name);
  if (it == request.query.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

Result<std::optional<Timestamp>> queryTimestamp(const HttpRequest& request,
                                                const std::string& name) {
  auto text = queryParam(request, name);
  if (!text) return std::optional<Timestamp>{};
  auto parsed = domain::parseTimestamp(*text);
  if (!parsed) {
    return invalid("invalid-timestamp",
                   "query parameter " + name + " \"" + *text +
                       "\" is not an RFC 3339 instant; write it like 2026-11-01T00:00:00Z",
                   name);
  }
  return std::optional<Timestamp>{*parsed};
}

bool tokenMatches(std::string_view given, const std::vector<std::string>& tokens) {
  bool match = false;
  for (const std::string& token : tokens) {
    // Constant time in the token's content, so response timing does not reveal a prefix.
    if (token.size() == given.size() &&
        CRYPTO_memcmp(token.data(), given.data(), token.size()) == 0) {
      match = true;
    }
  }
  return match;
}

HttpResponse unauthorized(std::string detail, std::string_view instance, bool invalidToken) {
  HttpResponse response = problemResponse(
      Error{ErrorKind::Unauthorized, "unauthorized", std::move(detail), {}}, instance);
  response.headers.emplace_back(
      "WWW-Authenticate", invalidToken ? "Bearer realm=\"billing-ledger\", error=\"invalid_token\""
                                       : "Bearer realm=\"billing-ledger\"");
  return response;
}

}  // namespace

// ---- routing ----

const std::vector<HttpApi::Route>& HttpApi::table() {
  // Literal paths before templates that could swallow them.
  static const std::vector<Route> kRoutes{
      {"GET", "/healthz", &HttpApi::healthz},
      {"GET", "/v1/accounts", &HttpApi::listAccounts},
      {"PUT", "/v1/accounts/{accountId}", &HttpApi::putAccount},
      {"GET", "/v1/accounts/{accountId}", &HttpApi::getAccount},
      {"POST", "/v1/accounts/{accountId}/close", &HttpApi::closeAccount},
      {"POST", "/v1/accounts/{accountId}/credits", &HttpApi::grantCredit},
      {"GET", "/v1/accounts/{accountId}/credits", &HttpApi::getCredits},
      {"POST", "/v1/accounts/{accountId}/invoices", &HttpApi::createInvoice},
      {"GET", "/v1/accounts/{accountId}/invoices", &HttpApi::listInvoices},
      {"POST", "/v1/memberships", &HttpApi::addMembership},
      {"GET", "/v1/memberships", &HttpApi::listMemberships},
      {"POST", "/v1/memberships/move", &HttpApi::moveProject},
      {"POST", "/v1/memberships/end", &HttpApi::endMembership},
      {"POST", "/v1/charges", &HttpApi::postCharge},
      {"GET", "/v1/charges", &HttpApi::listCharges},
      {"POST", "/v1/charges/batch", &HttpApi::postChargeBatch},
      {"GET", "/v1/charges/{chargeId}", &HttpApi::getCharge},
      {"GET", "/v1/invoices/{invoiceId}", &HttpApi::getInvoice},
      {"POST", "/v1/invoices/{invoiceId}/finalize", &HttpApi::finalizeInvoice},
      {"POST", "/v1/invoices/{invoiceId}/pay", &HttpApi::payInvoice},
      {"POST", "/v1/invoices/{invoiceId}/void", &HttpApi::voidInvoice},
      {"GET", "/v1/invoices/{invoiceId}/lines", &HttpApi::invoiceLines},
  };
  return kRoutes;
}

std::span<const RouteInfo> HttpApi::routes() {
  static const std::vector<RouteInfo> kInfo = [] {
    std::vector<RouteInfo> info;
    for (const Route& route : table()) info.push_back(RouteInfo{route.method, route.path});
    return info;
  }();
  return kInfo;
}

HttpApi::HttpApi(LedgerService& service, HttpApiOptions options)
    : service_(service), options_(std::move(options)) {}

HttpResponse HttpApi::handle(const HttpRequest& request) {
  // Everything but the health check needs the token, unknown routes included: without it the
  // ledger says nothing about what exists.
  if (!options_.tokens.empty() && request.path != "/healthz") {
    constexpr std::string_view kBearer = "Bearer ";
    if (request.authorization.empty()) {
      return unauthorized(
          "this route needs \"Authorization: Bearer <token>\"; the token is in the file given to "
          "billing-ledger with --token-file",
          request.path, false);
    }
    if (!request.authorization.starts_with(kBearer) ||
        !tokenMatches(std::string_view(request.authorization).substr(kBearer.size()),
                      options_.tokens)) {
      return unauthorized("the bearer token is not accepted by this ledger", request.path, true);
    }
  }
  const std::vector<std::string> segments = splitPath(request.path);
  for (const std::string& segment : segments) {
    if (!validPercentEncoding(segment)) {
      return problemResponse(Error{ErrorKind::Malformed,
                                   "malformed-path",
                                   "the path segment \"" + segment +
                                       "\" has a '%' that is not followed by two hexadecimal "
                                       "digits; write a literal '%' as %25",
                                   {}},
                             request.path);
    }
  }
  std::vector<std::string_view> allowed;
  for (const Route& route : table()) {
    Params params;
    if (!matches(route.path, segments, params)) continue;
    if (route.method != request.method) {
      allowed.push_back(route.method);
      continue;
    }
    if (request.body.size() > options_.maxBodyBytes) {
      return problemResponse(
          Error{ErrorKind::Invalid,
                "payload-too-large",
                "the request body has " + std::to_string(request.body.size()) + " bytes; at most " +
                    std::to_string(options_.maxBodyBytes) + " are accepted (split charge batches)",
                {}},
          request.path);
    }
    return (this->*route.handler)(request, params);
  }
  if (!allowed.empty()) {
    std::string allow;
    for (std::string_view method : allowed)
      allow += (allow.empty() ? "" : ", ") + std::string(method);
    HttpResponse response = problemResponse(
        Error{ErrorKind::Invalid,
              "method-not-allowed",
              request.method + " is not allowed on " + request.path + "; allowed: " + allow,
              {}},
        request.path);
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  return problemResponse(Error{ErrorKind::NotFound,
                               "route-not-found",
                               "no route " + request.method + " " + request.path +
                                   "; the routes are listed in ledger/openapi.yaml",
                               {}},
                         request.path);
}

HttpResponse problemResponse(const Error& error, std::string_view instance) {
  const int status = httpStatusOf(error);
  value body = value::object(true);
  body["type"] = value::string(problemTypeUri(error.type));
  body["title"] = value::string(std::string(problemTitle(error.type)));
  body["status"] = value::number(status);
  body["detail"] = value::string(error.detail);
  body["instance"] = value::string(std::string(instance));
  if (!error.field.empty()) body["field"] = value::string(error.field);
  return HttpResponse{status, std::string(kProblemJson), common::toJson(body), {}, error.type};
}

std::string requestFingerprint(std::string_view method, std::string_view path,
                               std::string_view canonicalBody) {
  std::string input;
  input.reserve(method.size() + path.size() + canonicalBody.size() + 2);
  input.append(method).append(" ").append(path).append("\n").append(canonicalBody);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

// ---- handlers ----

#define LEDGER_HTTP_TRY(lhs, expr)                                                       \
  auto LEDGER_CONCAT(http_result_, __LINE__) = (expr);                                   \
  if (!LEDGER_CONCAT(http_result_, __LINE__)) {                                          \
    return problemResponse(LEDGER_CONCAT(http_result_, __LINE__).error(), request.path); \
  }                                                                                      \
  lhs = std::move(*LEDGER_CONCAT(http_result_, __LINE__))

HttpResponse HttpApi::healthz(const HttpRequest& request, const Params&) {
  auto ping = service_.store().ping();
  if (!ping) {
    Error error = ping.error();
    error.kind = ErrorKind::Unavailable;
    return problemResponse(error, request.path);
  }
  value body = value::object(true);
  body["status"] = value::string("ok");
  body["store"] = value::string(std::string(service_.store().kind()));
  return jsonResponse(200, body);
}

HttpResponse HttpApi::putAccount(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(AccountInput input, parseAccountInput(body, params.at("accountId")));
  LEDGER_HTTP_TRY(auto outcome, service_.putAccount(input, identityOf(request, body)));
  return outcomeResponse(outcome, accountJson, "/v1/accounts/" + outcome.value.account.id);
}

HttpResponse HttpApi::getAccount(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(auto account, service_.getAccount(params.at("accountId")));
  return jsonResponse(200, accountJson(account));
}

HttpResponse HttpApi::listAccounts(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(auto accounts, service_.listAccounts(queryParam(request, "organization")));
  std::vector<value> items;
  for (const AccountView& account : accounts) items.push_back(accountJson(account));
  return jsonResponse(200, listJson(std::move(items)));
}

HttpResponse HttpApi::closeAccount(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(value body, parseBody(request, false));
  LEDGER_HTTP_TRY(auto at, parseCloseInput(body));
  LEDGER_HTTP_TRY(auto outcome,
                  service_.closeAccount(params.at("accountId"), at, identityOf(request, body)));
  return outcomeResponse(outcome, accountJson, "");
}

HttpResponse HttpApi::grantCredit(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(CreditGrantInput input, parseCreditGrantInput(body));
  const std::string& accountId = params.at("accountId");
  LEDGER_HTTP_TRY(auto account, service_.getAccount(accountId));
  LEDGER_HTTP_TRY(auto outcome, service_.grantCredit(accountId, input, identityOf(request, body)));
  const std::string currency = account.account.currency;
  return outcomeResponse(
      outcome, [&](const CreditGrantView& grant) { return creditGrantJson(grant, currency); },
      "/v1/accounts/" + accountId + "/credits");
}

HttpResponse HttpApi::getCredits(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(auto credits, service_.getCredits(params.at("accountId")));
  return jsonResponse(200, creditsJson(credits));
}

HttpResponse HttpApi::createInvoice(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(Interval period, parseInvoicePeriod(body));
  LEDGER_HTTP_TRY(auto outcome, service_.createInvoice(params.at("accountId"), period,
                                                       identityOf(request, body)));
  return outcomeResponse(outcome, invoiceJson, "/v1/invoices/" + outcome.value.invoice.id);
}

HttpResponse HttpApi::listInvoices(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(auto invoices, service_.listInvoices(params.at("accountId")));
  std::vector<value> items;
  for (const InvoiceView& invoice : invoices) items.push_back(invoiceJson(invoice));
  return jsonResponse(200, listJson(std::move(items)));
}

HttpResponse HttpApi::addMembership(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(MembershipInput input, parseMembershipInput(body));
  LEDGER_HTTP_TRY(auto outcome, service_.addMembership(input, identityOf(request, body)));
  return outcomeResponse(outcome, membershipJson, "");
}

HttpResponse HttpApi::listMemberships(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(auto memberships, service_.listMemberships(queryParam(request, "project"),
                                                             queryParam(request, "accountId")));
  std::vector<value> items;
  for (const Membership& membership : memberships) items.push_back(membershipJson(membership));
  return jsonResponse(200, listJson(std::move(items)));
}

HttpResponse HttpApi::moveProject(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(MoveInput input, parseMoveInput(body));
  LEDGER_HTTP_TRY(auto outcome, service_.moveProject(input, identityOf(request, body)));
  return outcomeResponse(outcome, membershipJson, "");
}

HttpResponse HttpApi::endMembership(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(EndMembershipInput input, parseEndMembershipInput(body));
  LEDGER_HTTP_TRY(auto outcome, service_.endMembership(input, identityOf(request, body)));
  return outcomeResponse(outcome, membershipJson, "");
}

HttpResponse HttpApi::postCharge(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(ChargeInput input, parseChargeInput(body));
  LEDGER_HTTP_TRY(auto outcome, service_.postCharge(input, identityOf(request, body)));
  return outcomeResponse(outcome, chargeJson, "/v1/charges/" + outcome.value.id);
}

HttpResponse HttpApi::postChargeBatch(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(value body, parseBody(request, true));
  LEDGER_HTTP_TRY(auto inputs, parseChargeBatch(body));
  LEDGER_HTTP_TRY(auto outcome, service_.postCharges(inputs, identityOf(request, body)));
  HttpResponse response = outcomeResponse(
      outcome,
      [](const std::vector<Charge>& charges) {
        std::vector<value> items;
        for (const Charge& charge : charges) items.push_back(chargeJson(charge));
        return listJson(std::move(items));
      },
      "");
  response.status = 200;  // a batch may mix new and known charges; each says what it is
  return response;
}

HttpResponse HttpApi::listCharges(const HttpRequest& request, const Params&) {
  LEDGER_HTTP_TRY(auto from, queryTimestamp(request, "from"));
  LEDGER_HTTP_TRY(auto to, queryTimestamp(request, "to"));
  std::optional<Interval> range;
  if (from || to) {
    range = Interval{from.value_or(Timestamp{}),
                     to.value_or(Timestamp{std::chrono::seconds{kEndOfTimeSeconds}})};
  }
  LEDGER_HTTP_TRY(auto charges,
                  service_.listCharges(queryParam(request, "project").value_or(""), range));
  std::vector<value> items;
  for (const Charge& charge : charges) items.push_back(chargeJson(charge));
  return jsonResponse(200, listJson(std::move(items)));
}

HttpResponse HttpApi::getCharge(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(auto charge, service_.getCharge(params.at("chargeId")));
  return jsonResponse(200, chargeJson(charge));
}

HttpResponse HttpApi::getInvoice(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(auto invoice, service_.getInvoice(params.at("invoiceId"), false));
  return jsonResponse(200, invoiceJson(invoice));
}

HttpResponse HttpApi::finalizeInvoice(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(value body, parseBody(request, false));
  if (auto empty = parseEmptyInput(body); !empty)
    return problemResponse(empty.error(), request.path);
  LEDGER_HTTP_TRY(auto outcome,
                  service_.finalizeInvoice(params.at("invoiceId"), identityOf(request, body)));
  return outcomeResponse(outcome, invoiceJson, "");
}

HttpResponse HttpApi::payInvoice(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(value body, parseBody(request, false));
  if (auto empty = parseEmptyInput(body); !empty)
    return problemResponse(empty.error(), request.path);
  LEDGER_HTTP_TRY(auto outcome,
                  service_.payInvoice(params.at("invoiceId"), identityOf(request, body)));
  return outcomeResponse(outcome, invoiceJson, "");
}

HttpResponse HttpApi::voidInvoice(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(value body, parseBody(request, false));
  LEDGER_HTTP_TRY(std::string reason, parseVoidInput(body));
  LEDGER_HTTP_TRY(auto outcome, service_.voidInvoice(params.at("invoiceId"), std::move(reason),
                                                     identityOf(request, body)));
  return outcomeResponse(outcome, invoiceJson, "");
}

HttpResponse HttpApi::invoiceLines(const HttpRequest& request, const Params& params) {
  LEDGER_HTTP_TRY(ExportFormat format,
                  parseExportFormat(queryParam(request, "format").value_or("json")));
  LEDGER_HTTP_TRY(auto invoice, service_.getInvoice(params.at("invoiceId"), true));
  LEDGER_HTTP_TRY(auto account, service_.getAccount(invoice.invoice.accountId));
  ExportDocument document = exportInvoice(invoice, account.account, format, options_.issuer);
  return HttpResponse{200, std::move(document.contentType), std::move(document.body), {}, {}};
}

#undef LEDGER_HTTP_TRY

// ---- the listener ----

struct LedgerServer::Impl {
  std::unique_ptr<common::HttpServer> server;
  std::atomic<bool> stopped{false};
};

namespace {

// Loads the certificate and key once with OpenSSL, so that a bad file is an error at start-up
// with the file's name, not a handshake failure on the first connection.
Result<void> checkTlsFiles(const std::string& certFile, const std::string& keyFile) {
  if (certFile.empty() != keyFile.empty()) {
    return invalid("invalid-value",
                   "TLS needs both a certificate (--tls-cert-file) and its private key "
                   "(--tls-key-file); only one was given");
  }
  if (certFile.empty()) return {};
  for (const std::string& file : {certFile, keyFile}) {
    if (!std::ifstream(file).good()) {
      return invalid("invalid-value", "cannot read TLS file " + file +
                                          "; check the path and that this user may read it");
    }
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_server_method()),
                                                            SSL_CTX_free);
  if (!context || SSL_CTX_use_certificate_chain_file(context.get(), certFile.c_str()) != 1) {
    return invalid("invalid-value",
                   "TLS certificate " + certFile + " is not a readable PEM certificate chain");
  }
  if (SSL_CTX_use_PrivateKey_file(context.get(), keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    return invalid("invalid-value",
                   "TLS private key " + keyFile + " is not a readable PEM private key");
  }
  if (SSL_CTX_check_private_key(context.get()) != 1) {
    return invalid("invalid-value", "TLS private key " + keyFile +
                                        " does not belong to the certificate " + certFile);
  }
  return {};
}

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// The handler's request from the server's: the path stays percent-encoded, as the routes match
// it (an id may hold an encoded '/'); a repeated query parameter keeps its first value.
HttpRequest apiRequest(const common::HttpRequest& message) {
  HttpRequest request;
  request.method = message.method;
  request.path = message.target.substr(0, message.target.find('?'));
  for (const auto& [key, val] : message.query) request.query.emplace(key, val);
  request.authorization = message.headers.get("Authorization").value_or("");
  request.idempotencyKey = message.headers.get("Idempotency-Key").value_or("");
  request.contentType = message.headers.get("Content-Type").value_or("");
  request.body = message.body;
  return request;
}

}  // namespace

LedgerServer::LedgerServer(HttpApi& api, LedgerServerOptions options)
    : api_(api), options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

LedgerServer::~LedgerServer() { stop(); }

Result<std::unique_ptr<LedgerServer>> LedgerServer::start(HttpApi& api,
                                                          LedgerServerOptions options) {
  LEDGER_RETURN_IF_ERROR(checkTlsFiles(options.tlsCertFile, options.tlsKeyFile));
  const bool tls = !options.tlsCertFile.empty();
  if (tls != options.url.starts_with("https://")) {
    return invalid(
        "invalid-value",
        tls ? "TLS files were given but the URL " + options.url + " is not https://"
            : "the URL " + options.url + " is https:// but no TLS certificate was given");
  }
  auto url = common::parseHttpUrl(options.url);
  if (!url) return invalid("invalid-value", "cannot listen on " + options.url + ": " + url.error());
  std::unique_ptr<LedgerServer> server(new LedgerServer(api, std::move(options)));

  // common::HttpServer runs each request on its connection's thread: no hand-off between
  // threads per request, which cost cpprestsdk's listener most of the ledger's CPU and, on a
  // busy machine, a scheduling delay per hand-off (docs/benchmarks.md, invoice close).
  common::HttpServerOptions serverOptions;
  serverOptions.host = url->host;
  serverOptions.port = url->port;
  // Bodies up to twice the API's limit reach the API, which refuses those above its limit with
  // its own problem (413 payload-too-large); the server refuses anything larger by itself.
  serverOptions.maxRequestBodyBytes = 2 * api.options().maxBodyBytes + 1;
  serverOptions.readTimeout = std::chrono::seconds(60);
  if (tls) {
    serverOptions.tls =
        common::TlsServerConfig{readFile(server->options_.tlsCertFile),
                                readFile(server->options_.tlsKeyFile), std::nullopt};
  }
  LedgerServer* self = server.get();
  server->impl_->server = std::make_unique<common::HttpServer>(
      std::move(serverOptions),
      [self](const common::HttpRequest& message, common::HttpResponseWriter& writer) {
        const auto started = std::chrono::steady_clock::now();
        const HttpRequest request = apiRequest(message);
        HttpResponse response = self->api_.handle(request);
        common::HttpHeaders headers;
        for (const auto& [name, val] : response.headers) headers.add(name, val);
        if (!response.contentType.empty()) headers.set("Content-Type", response.contentType);
        // A client that went away gets nothing; the request is logged all the same.
        writer.respond(response.status, std::move(headers), std::move(response.body));
        if (self->options_.accessLog) {
          self->options_.accessLog(
              AccessLogEntry{request.method, request.path, response.status,
                             std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - started),
                             response.problemType});
        }
      });
  if (auto started = server->impl_->server->start(); !started) {
    return fail(ErrorKind::Unavailable, "unavailable",
                "cannot listen on " + server->options_.url + ": " + started.error() +
                    "; is the address in use or not local?");
  }
  return server;
}

void LedgerServer::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  if (impl_->server) impl_->server->stop();
}

}  // namespace billing::ledger
