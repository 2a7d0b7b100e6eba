#include "operator/ledger_client/ledger_client.h"

#include <cpprest/base_uri.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/http_client.h"
#include "common/json.h"

namespace billing::ledger_client {
namespace {

using backend::BackendError;
using backend::BackendErrorKind;
using backend::BackendResult;
using web::json::value;

std::string encodeSegment(std::string_view segment) {
  return web::uri::encode_data_string(std::string(segment));
}

std::string str(const value& object, const char* key) {
  if (!object.is_object() || !object.has_field(key)) return {};
  const value& member = object.at(key);
  return member.is_string() ? member.as_string() : std::string();
}

bool boolean(const value& object, const char* key) {
  if (!object.is_object() || !object.has_field(key)) return false;
  const value& member = object.at(key);
  return member.is_boolean() && member.as_bool();
}

std::optional<domain::Timestamp> optionalTime(const value& object, const char* key) {
  return domain::parseTimestamp(str(object, key));
}

domain::Timestamp time(const value& object, const char* key) {
  return optionalTime(object, key).value_or(domain::Timestamp{});
}

std::vector<std::string> strings(const value& object, const char* key) {
  std::vector<std::string> out;
  if (!object.is_object() || !object.has_field(key) || !object.at(key).is_array()) return out;
  for (const value& item : object.at(key).as_array()) {
    if (item.is_string()) out.push_back(item.as_string());
  }
  return out;
}

value timeJson(domain::Timestamp t) { return value::string(domain::formatTimestamp(t)); }

BackendError contractError(std::string detail) {
  return BackendError{BackendErrorKind::Internal,
                      0,
                      "contract",
                      "the ledger's answer does not follow the contract: " + std::move(detail),
                      {}};
}

BackendErrorKind kindOfStatus(int status) {
  switch (status) {
    case 401:
    case 403:
      return BackendErrorKind::Unauthorized;
    case 404:
      return BackendErrorKind::NotFound;
    case 409:
      return BackendErrorKind::Conflict;
    case 429:
    case 502:
    case 503:
    case 504:
      return BackendErrorKind::Unavailable;
    default:
      return status >= 500 ? BackendErrorKind::Internal : BackendErrorKind::Invalid;
  }
}

// A non-2xx answer as a value, with the problem's type, detail and field when it has them.
BackendError errorOf(int status, const std::string& body) {
  BackendError error{kindOfStatus(status), status, {}, {}, {}};
  auto parsed = common::parseJson(body);
  if (parsed && parsed->is_object()) {
    std::string type = str(*parsed, "type");
    if (auto slash = type.rfind('/'); slash != std::string::npos) type = type.substr(slash + 1);
    error.problemType = type;
    error.detail = str(*parsed, "detail");
    error.field = str(*parsed, "field");
    if (error.detail.empty()) error.detail = str(*parsed, "title");
  }
  if (error.detail.empty()) {
    error.detail = "the ledger answered HTTP " + std::to_string(status) +
                   (body.empty() ? std::string() : ": " + body.substr(0, 200));
  }
  return error;
}

bool retryableStatus(int status) { return status == 429 || status >= 500; }

// ---- decoding the representations ----

backend::Account decodeAccount(const value& v) {
  backend::Account account;
  account.spec.id = str(v, "id");
  account.spec.name = str(v, "name");
  account.spec.organization = str(v, "organization");
  account.spec.scope =
      str(v, "scope") == "Project" ? domain::Scope::Project : domain::Scope::Organization;
  account.spec.currency = str(v, "currency");
  if (v.has_field("profile") && v.at("profile").is_object()) {
    const value& p = v.at("profile");
    backend::AccountProfile& profile = account.spec.profile;
    profile.company = str(p, "company");
    profile.billingEmails = strings(p, "billingEmails");
    profile.contactEmails = strings(p, "contactEmails");
    if (p.has_field("address") && p.at("address").is_object()) {
      const value& a = p.at("address");
      profile.address = backend::PostalAddress{strings(a, "lines"), str(a, "city"), str(a, "state"),
                                               str(a, "zipCode"), str(a, "countryCode")};
    }
    profile.vatId = str(p, "vatId");
    if (p.has_field("paymentMethod") && p.at("paymentMethod").is_object()) {
      const value& m = p.at("paymentMethod");
      backend::PaymentMethodReference method;
      const std::string type = str(m, "type");
      for (auto t :
           {domain::PaymentMethodType::Card, domain::PaymentMethodType::SepaDebit,
            domain::PaymentMethodType::AchDebit, domain::PaymentMethodType::BankTransfer}) {
        if (domain::paymentMethodTypeName(t) == type) method.type = t;
      }
      method.reference = str(m, "reference");
      profile.paymentMethod = std::move(method);
    }
    profile.invoiceText = str(p, "invoiceText");
  }
  account.creditBalance = str(v, "creditBalance");
  account.createdAt = time(v, "createdAt");
  account.updatedAt = time(v, "updatedAt");
  account.closedAt = optionalTime(v, "closedAt");
  return account;
}

value encodeAccountSpec(const backend::AccountSpec& spec) {
  value body = value::object(true);
  body["name"] = value::string(spec.name);
  body["organization"] = value::string(spec.organization);
  body["scope"] = value::string(std::string(domain::scopeName(spec.scope)));
  body["currency"] = value::string(spec.currency);
  const backend::AccountProfile& p = spec.profile;
  value profile = value::object(true);
  profile["company"] = value::string(p.company);
  std::vector<value> billing;
  for (const std::string& email : p.billingEmails) billing.push_back(value::string(email));
  profile["billingEmails"] = value::array(std::move(billing));
  std::vector<value> contacts;
  for (const std::string& email : p.contactEmails) contacts.push_back(value::string(email));
  profile["contactEmails"] = value::array(std::move(contacts));
  if (p.address) {
    value address = value::object(true);
    std::vector<value> lines;
    for (const std::string& line : p.address->lines) lines.push_back(value::string(line));
    address["lines"] = value::array(std::move(lines));
    address["city"] = value::string(p.address->city);
    address["state"] = value::string(p.address->state);
    address["zipCode"] = value::string(p.address->zipCode);
    address["countryCode"] = value::string(p.address->countryCode);
    profile["address"] = std::move(address);
  }
  profile["vatId"] = value::string(p.vatId);
  if (p.paymentMethod) {
    value method = value::object(true);
    method["type"] =
        value::string(std::string(domain::paymentMethodTypeName(p.paymentMethod->type)));
    method["reference"] = value::string(p.paymentMethod->reference);
    profile["paymentMethod"] = std::move(method);
  }
  profile["invoiceText"] = value::string(p.invoiceText);
  body["profile"] = std::move(profile);
  return body;
}

backend::Membership decodeMembership(const value& v) {
  return backend::Membership{str(v, "id"), str(v, "project"), str(v, "accountId"),
                             time(v, "effectiveFrom"), optionalTime(v, "effectiveTo")};
}

backend::Charge decodeCharge(const value& v) {
  backend::Charge charge;
  charge.id = str(v, "id");
  charge.spec = backend::ChargeSpec{
      str(v, "clientId"),     str(v, "project"),   str(v, "service"), str(v, "description"),
      str(v, "quantity"),     str(v, "unit"),      str(v, "amount"),  str(v, "currency"),
      time(v, "periodStart"), time(v, "periodEnd")};
  charge.receivedAt = time(v, "receivedAt");
  return charge;
}

backend::CreditGrant decodeGrant(const value& v) {
  backend::CreditGrant grant;
  grant.spec = backend::CreditGrantSpec{str(v, "id"), str(v, "amount"), str(v, "description"),
                                        optionalTime(v, "expiresAt")};
  grant.consumed = str(v, "consumed");
  grant.remaining = str(v, "remaining");
  grant.createdAt = time(v, "createdAt");
  return grant;
}

domain::InvoiceState stateOf(const std::string& text) {
  if (text == "Finalized") return domain::InvoiceState::Finalized;
  if (text == "Paid") return domain::InvoiceState::Paid;
  if (text == "Void") return domain::InvoiceState::Void;
  return domain::InvoiceState::Draft;
}

backend::Invoice decodeInvoice(const value& v) {
  backend::Invoice invoice;
  invoice.id = str(v, "id");
  invoice.accountId = str(v, "accountId");
  invoice.number = str(v, "number");
  invoice.state = stateOf(str(v, "state"));
  invoice.currency = str(v, "currency");
  invoice.periodStart = time(v, "periodStart");
  invoice.periodEnd = time(v, "periodEnd");
  invoice.subtotal = str(v, "subtotal");
  invoice.creditsApplied = str(v, "creditsApplied");
  invoice.total = str(v, "total");
  if (v.has_field("projectTotals") && v.at("projectTotals").is_array()) {
    for (const value& t : v.at("projectTotals").as_array()) {
      invoice.projectTotals.push_back(domain::ProjectTotal{str(t, "project"), str(t, "amount")});
    }
  }
  invoice.createdAt = time(v, "createdAt");
  invoice.finalizedAt = optionalTime(v, "finalizedAt");
  invoice.paidAt = optionalTime(v, "paidAt");
  invoice.voidedAt = optionalTime(v, "voidedAt");
  invoice.voidReason = str(v, "voidReason");
  return invoice;
}

backend::InvoiceLine decodeLine(const value& v) {
  return backend::InvoiceLine{str(v, "chargeId"),   str(v, "clientId"),      str(v, "project"),
                              str(v, "service"),    str(v, "description"),   str(v, "quantity"),
                              str(v, "unit"),       str(v, "amount"),        time(v, "periodStart"),
                              time(v, "periodEnd"), boolean(v, "correction")};
}

}  // namespace

// ---- retry policy ----

std::chrono::milliseconds backoffDelay(const RetryPolicy& policy, int retry,
                                       std::mt19937_64& random) {
  std::int64_t ceiling = policy.initialBackoff.count();
  for (int i = 1; i < retry && ceiling < policy.maxBackoff.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, policy.maxBackoff.count());
  const std::int64_t half = ceiling / 2;
  std::uniform_int_distribution<std::int64_t> jitter(0, ceiling - half);
  return std::chrono::milliseconds(half + jitter(random));
}

std::optional<std::chrono::milliseconds> parseRetryAfter(
    std::string_view text, std::chrono::system_clock::time_point now) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc{} && ptr == text.data() + text.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(seconds * 1000);
  }
  const auto date = utility::datetime::from_string(std::string(text), utility::datetime::RFC_1123);
  if (!date.is_initialized()) return std::nullopt;
  // utility::datetime counts 100 ns intervals since 1601-01-01.
  constexpr std::int64_t kEpochOffset = 11644473600LL;
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(
      static_cast<std::int64_t>(date.to_interval() / 10000000ULL) - kEpochOffset));
  const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  return std::max(delay, std::chrono::milliseconds(0));
}

std::expected<std::string, std::string> readTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected("cannot read the ledger token file " + path);
  std::string line;
  while (std::getline(in, line)) {
    const auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    const auto end = line.find_last_not_of(" \t\r");
    return line.substr(begin, end - begin + 1);
  }
  return std::unexpected("the ledger token file " + path + " is empty");
}

// ---- the client ----

struct LedgerClient::Impl {
  LedgerClientOptions options;
  // Our HTTP/1.1 client with kept-alive connections: a reconcile makes several ledger calls, and
  // cpprestsdk's client handed each between threads several times (most of the operator's CPU at
  // a cold start, docs/benchmarks.md). Requests run on the calling reconcile's thread.
  std::unique_ptr<common::HttpClient> client;
  std::string baseUrl;   // without a trailing slash
  std::string tlsError;  // the CA file could not be read when the client was made
  std::mutex randomMutex;
  std::mt19937_64 random;

  std::mutex tokenMutex;
  std::string token;
  std::filesystem::file_time_type tokenFileTime{};
  std::uintmax_t tokenFileSize = 0;

  // The token to send: options.token, or the token file's as of now.
  std::string currentToken() {
    std::lock_guard lock(tokenMutex);
    if (options.tokenFile.empty()) return options.token;
    std::error_code error;
    const auto time = std::filesystem::last_write_time(options.tokenFile, error);
    const auto size = error ? 0 : std::filesystem::file_size(options.tokenFile, error);
    if (!error && (time != tokenFileTime || size != tokenFileSize || token.empty())) {
      if (auto read = readTokenFile(options.tokenFile)) {
        token = std::move(*read);
        tokenFileTime = time;
        tokenFileSize = size;
      }
    }
    return token.empty() ? options.token : token;
  }
};

std::expected<std::unique_ptr<LedgerClient>, std::string> LedgerClient::create(
    LedgerClientOptions options) {
  const std::string& url = options.baseUrl;
  if (!web::uri::validate(url) || !(url.starts_with("http://") || url.starts_with("https://"))) {
    return std::unexpected("ledger URL \"" + url +
                           "\" is not an http:// or https:// URL, e.g. "
                           "https://billing-ledger.billing.svc:8443");
  }
  if (!options.caFile.empty() && !std::ifstream(options.caFile).good()) {
    return std::unexpected("cannot read the ledger CA file " + options.caFile);
  }
  if (options.token.find_first_of("\r\n") != std::string::npos) {
    return std::unexpected("the ledger token must be one line");
  }
  if (!options.tokenFile.empty()) {
    if (auto token = readTokenFile(options.tokenFile); !token)
      return std::unexpected(token.error());
  }
  if (options.retry.maxAttempts < 1) {
    return std::unexpected("retry.maxAttempts must be at least 1");
  }
  return std::make_unique<LedgerClient>(std::move(options));
}

LedgerClient::LedgerClient(LedgerClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (!impl_->options.sleep) {
    impl_->options.sleep = [](std::chrono::milliseconds delay) {
      std::this_thread::sleep_for(delay);
    };
  }
  impl_->random.seed(impl_->options.jitterSeed != 0 ? impl_->options.jitterSeed
                                                    : std::random_device{}());
  common::HttpClientOptions http;
  http.requestTimeout = impl_->options.timeout;
  http.connectTimeout = std::min(impl_->options.timeout, http.connectTimeout);
  // One per concurrent reconcile is plenty; more would only hold the ledger's threads.
  http.maxIdleConnections = 16;
  if (!impl_->options.caFile.empty()) {
    std::ifstream in(impl_->options.caFile, std::ios::binary);
    std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.is_open()) impl_->tlsError = "cannot read the ledger CA file " + impl_->options.caFile;
    http.tls = common::TlsClientConfig{};
    http.tls->caPem = std::move(pem);
  }
  impl_->client = std::make_unique<common::HttpClient>(std::move(http));
  impl_->baseUrl = impl_->options.baseUrl;
  while (impl_->baseUrl.ends_with('/')) impl_->baseUrl.pop_back();
}

LedgerClient::~LedgerClient() = default;

BackendResult<LedgerClient::Response> LedgerClient::send(std::string_view method,
                                                         const std::string& pathAndQuery,
                                                         const std::string& jsonBody,
                                                         std::string_view idempotencyKey) {
  const RetryPolicy& policy = impl_->options.retry;
  const int attempts = std::max(1, policy.maxAttempts);
  BackendError last{BackendErrorKind::Unavailable, 0, {}, "no attempt was made", {}};
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    std::optional<std::chrono::milliseconds> retryAfter;
    common::HttpHeaders headers;
    headers.add("Accept", "application/json");
    if (const std::string token = impl_->currentToken(); !token.empty()) {
      headers.add("Authorization", "Bearer " + token);
    }
    if (!idempotencyKey.empty()) headers.add("Idempotency-Key", std::string(idempotencyKey));
    if (!jsonBody.empty()) headers.add("Content-Type", "application/json");
    const std::string url = impl_->baseUrl + pathAndQuery;
    std::expected<common::HttpClientResponse, std::string> response =
        std::unexpected(impl_->tlsError);
    if (impl_->tlsError.empty()) response = impl_->client->request(method, url, headers, jsonBody);
    if (response) {
      const int status = response->status;
      if (!retryableStatus(status)) return Response{status, std::move(response->body), attempt};
      last = errorOf(status, response->body);
      if (status == 429) {
        if (auto header = response->headers.get("Retry-After")) {
          retryAfter = parseRetryAfter(*header, std::chrono::system_clock::now());
        }
      }
    } else {
      // HttpClient's errors start with "METHOD URL: "; the cause after it is what helps.
      std::string cause = response.error();
      const std::string prefix = std::string(method) + " " + url + ": ";
      if (cause.starts_with(prefix)) cause.erase(0, prefix.size());
      last = BackendError{BackendErrorKind::Unavailable,
                          0,
                          "network",
                          "cannot reach the ledger at " + impl_->options.baseUrl + ": " + cause,
                          {}};
    }
    if (attempt == attempts) break;
    std::chrono::milliseconds delay;
    if (retryAfter) {
      delay = std::min(*retryAfter, policy.maxRetryAfter);
    } else {
      std::lock_guard lock(impl_->randomMutex);
      delay = backoffDelay(policy, attempt, impl_->random);
    }
    impl_->options.sleep(delay);
  }
  last.detail += " (gave up after " + std::to_string(attempts) + " attempts)";
  return std::unexpected(std::move(last));
}

namespace {

// Sends and decodes a JSON answer with `decode`, or returns the error the status stands for.
template <typename T, typename Decode>
BackendResult<T> call(LedgerClient& client, std::string_view method, const std::string& path,
                      const std::string& body, std::string_view key, Decode&& decode) {
  auto response = client.send(method, path, body, key);
  if (!response) return std::unexpected(std::move(response).error());
  if (response->status < 200 || response->status >= 300) {
    return std::unexpected(errorOf(response->status, response->body));
  }
  auto parsed = common::parseJson(response->body);
  if (!parsed || !parsed->is_object()) {
    return std::unexpected(contractError(method == "GET" ? "GET " + path + " is not a JSON object"
                                                         : std::string(method) + " " + path +
                                                               " did not answer a JSON object"));
  }
  return decode(*parsed);
}

template <typename T, typename Decode>
BackendResult<std::vector<T>> callList(LedgerClient& client, const std::string& path,
                                       Decode&& decode) {
  return call<std::vector<T>>(client, "GET", path, "", "", [&](const value& v) {
    std::vector<T> items;
    if (v.has_field("items") && v.at("items").is_array()) {
      for (const value& item : v.at("items").as_array()) items.push_back(decode(item));
    }
    return items;
  });
}

std::string bodyOf(const value& v) { return common::toJson(v); }

}  // namespace

BackendResult<backend::Account> LedgerClient::upsertAccount(const backend::AccountSpec& spec,
                                                            std::string_view key) {
  return call<backend::Account>(*this, "PUT", "/v1/accounts/" + encodeSegment(spec.id),
                                bodyOf(encodeAccountSpec(spec)), key, decodeAccount);
}

BackendResult<backend::Account> LedgerClient::getAccount(std::string_view accountId) {
  return call<backend::Account>(*this, "GET", "/v1/accounts/" + encodeSegment(accountId), "", "",
                                decodeAccount);
}

BackendResult<backend::Account> LedgerClient::closeAccount(std::string_view accountId,
                                                           domain::Timestamp at,
                                                           std::string_view key) {
  value body = value::object(true);
  body["at"] = timeJson(at);
  return call<backend::Account>(*this, "POST",
                                "/v1/accounts/" + encodeSegment(accountId) + "/close", bodyOf(body),
                                key, decodeAccount);
}

BackendResult<backend::Membership> LedgerClient::addMembership(
    std::string_view project, std::string_view accountId, domain::Timestamp effectiveFrom,
    std::optional<domain::Timestamp> effectiveTo, std::string_view key) {
  value body = value::object(true);
  body["project"] = value::string(std::string(project));
  body["accountId"] = value::string(std::string(accountId));
  body["effectiveFrom"] = timeJson(effectiveFrom);
  if (effectiveTo) body["effectiveTo"] = timeJson(*effectiveTo);
  return call<backend::Membership>(*this, "POST", "/v1/memberships", bodyOf(body), key,
                                   decodeMembership);
}

BackendResult<backend::Membership> LedgerClient::moveProject(std::string_view project,
                                                             std::string_view toAccountId,
                                                             domain::Timestamp at,
                                                             std::string_view key) {
  value body = value::object(true);
  body["project"] = value::string(std::string(project));
  body["toAccountId"] = value::string(std::string(toAccountId));
  body["at"] = timeJson(at);
  return call<backend::Membership>(*this, "POST", "/v1/memberships/move", bodyOf(body), key,
                                   decodeMembership);
}

BackendResult<backend::Membership> LedgerClient::endMembership(std::string_view project,
                                                               domain::Timestamp at,
                                                               std::string_view key) {
  value body = value::object(true);
  body["project"] = value::string(std::string(project));
  body["at"] = timeJson(at);
  return call<backend::Membership>(*this, "POST", "/v1/memberships/end", bodyOf(body), key,
                                   decodeMembership);
}

BackendResult<std::vector<backend::Membership>> LedgerClient::listMemberships(
    const backend::MembershipFilter& filter) {
  std::string path = "/v1/memberships?";
  if (!filter.project.empty()) path += "project=" + encodeSegment(filter.project);
  if (!filter.accountId.empty()) {
    if (!filter.project.empty()) path += "&";
    path += "accountId=" + encodeSegment(filter.accountId);
  }
  return callList<backend::Membership>(*this, path, decodeMembership);
}

BackendResult<backend::Charge> LedgerClient::postCharge(const backend::ChargeSpec& spec,
                                                        std::string_view key) {
  value body = value::object(true);
  body["clientId"] = value::string(spec.clientId);
  body["project"] = value::string(spec.project);
  body["service"] = value::string(spec.service);
  body["description"] = value::string(spec.description);
  body["quantity"] = value::string(spec.quantity);
  body["unit"] = value::string(spec.unit);
  body["amount"] = value::string(spec.amount);
  body["currency"] = value::string(spec.currency);
  body["periodStart"] = timeJson(spec.periodStart);
  body["periodEnd"] = timeJson(spec.periodEnd);
  return call<backend::Charge>(*this, "POST", "/v1/charges", bodyOf(body), key, decodeCharge);
}

BackendResult<backend::CreditGrant> LedgerClient::grantCredit(std::string_view accountId,
                                                              const backend::CreditGrantSpec& spec,
                                                              std::string_view key) {
  value body = value::object(true);
  body["id"] = value::string(spec.id);
  body["amount"] = value::string(spec.amount);
  body["description"] = value::string(spec.description);
  if (spec.expiresAt) body["expiresAt"] = timeJson(*spec.expiresAt);
  return call<backend::CreditGrant>(*this, "POST",
                                    "/v1/accounts/" + encodeSegment(accountId) + "/credits",
                                    bodyOf(body), key, decodeGrant);
}

BackendResult<backend::Credits> LedgerClient::getCredits(std::string_view accountId) {
  return call<backend::Credits>(
      *this, "GET", "/v1/accounts/" + encodeSegment(accountId) + "/credits", "", "",
      [](const value& v) {
        backend::Credits credits{str(v, "accountId"), str(v, "currency"), str(v, "balance"), {}};
        if (v.has_field("grants") && v.at("grants").is_array()) {
          for (const value& grant : v.at("grants").as_array()) {
            credits.grants.push_back(decodeGrant(grant));
          }
        }
        return credits;
      });
}

BackendResult<backend::Invoice> LedgerClient::createInvoice(std::string_view accountId,
                                                            const domain::Interval& period,
                                                            std::string_view key) {
  value body = value::object(true);
  body["periodStart"] = timeJson(period.start);
  body["periodEnd"] = timeJson(period.end);
  return call<backend::Invoice>(*this, "POST",
                                "/v1/accounts/" + encodeSegment(accountId) + "/invoices",
                                bodyOf(body), key, decodeInvoice);
}

BackendResult<backend::Invoice> LedgerClient::getInvoice(std::string_view invoiceId) {
  return call<backend::Invoice>(*this, "GET", "/v1/invoices/" + encodeSegment(invoiceId), "", "",
                                decodeInvoice);
}

BackendResult<std::vector<backend::Invoice>> LedgerClient::listInvoices(
    std::string_view accountId) {
  return callList<backend::Invoice>(*this, "/v1/accounts/" + encodeSegment(accountId) + "/invoices",
                                    decodeInvoice);
}

BackendResult<backend::Invoice> LedgerClient::finalizeInvoice(std::string_view invoiceId,
                                                              std::string_view key) {
  return call<backend::Invoice>(*this, "POST",
                                "/v1/invoices/" + encodeSegment(invoiceId) + "/finalize", "{}", key,
                                decodeInvoice);
}

BackendResult<backend::Invoice> LedgerClient::markInvoicePaid(std::string_view invoiceId,
                                                              std::string_view key) {
  return call<backend::Invoice>(*this, "POST", "/v1/invoices/" + encodeSegment(invoiceId) + "/pay",
                                "{}", key, decodeInvoice);
}

BackendResult<backend::Invoice> LedgerClient::voidInvoice(std::string_view invoiceId,
                                                          std::string_view reason,
                                                          std::string_view key) {
  value body = value::object(true);
  body["reason"] = value::string(std::string(reason));
  return call<backend::Invoice>(*this, "POST", "/v1/invoices/" + encodeSegment(invoiceId) + "/void",
                                bodyOf(body), key, decodeInvoice);
}

BackendResult<std::vector<backend::InvoiceLine>> LedgerClient::invoiceLines(
    std::string_view invoiceId) {
  return call<std::vector<backend::InvoiceLine>>(
      *this, "GET", "/v1/invoices/" + encodeSegment(invoiceId) + "/lines?format=json", "", "",
      [](const value& v) {
        std::vector<backend::InvoiceLine> lines;
        if (v.has_field("lines") && v.at("lines").is_array()) {
          for (const value& line : v.at("lines").as_array()) lines.push_back(decodeLine(line));
        }
        return lines;
      });
}

BackendResult<std::string> LedgerClient::exportInvoice(std::string_view invoiceId,
                                                       backend::ExportFormat format) {
  const std::string path = "/v1/invoices/" + encodeSegment(invoiceId) +
                           "/lines?format=" + std::string(backend::exportFormatName(format));
  auto response = send("GET", path, "", "");
  if (!response) return std::unexpected(std::move(response).error());
  if (response->status != 200) return std::unexpected(errorOf(response->status, response->body));
  return std::move(response->body);
}

}  // namespace billing::ledger_client
