// The ledger's REST handling (ledger/http_api.h: routing, query and body decoding, the service
// over a fresh in-memory SQLite store) for a sequence of requests, so that later requests reach
// the accounts, memberships and invoices earlier ones created. Input format, one request per
// section, sections separated by a line "###":
//
//   METHOD TARGET [IDEMPOTENCY-KEY]
//   body...
//
// Bad input is the client's fault: it never crashes or throws, and never gets a 5xx; every
// error is an application/problem+json document with a detail, and every JSON answer parses.
#include <cpprest/base_uri.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "ledger/http_api.h"
#include "ledger/service.h"
#include "ledger/sqlite_store.h"
#include "reconcilers/domain/time.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using billing::ledger::HttpRequest;

std::vector<std::string_view> sections(std::string_view text) {
  std::vector<std::string_view> out;
  constexpr std::string_view kSeparator = "\n###\n";
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(kSeparator, start);
    out.push_back(
        text.substr(start, end == std::string_view::npos ? text.size() - start : end - start));
    if (end == std::string_view::npos) return out;
    start = end + kSeparator.size();
  }
}

// The request as LedgerServer builds it from cpprestsdk's http_request; false when cpprestsdk
// would refuse the request line before the ledger sees it.
bool toRequest(std::string_view section, HttpRequest& request) {
  const std::size_t lineEnd = section.find('\n');
  const std::string line(section.substr(0, lineEnd));
  request.body = lineEnd == std::string_view::npos ? "" : std::string(section.substr(lineEnd + 1));
  const std::size_t methodEnd = line.find(' ');
  if (methodEnd == std::string::npos) return false;
  request.method = line.substr(0, methodEnd);
  std::string target = line.substr(methodEnd + 1);
  if (const std::size_t keyStart = target.find(' '); keyStart != std::string::npos) {
    request.idempotencyKey = target.substr(keyStart + 1);
    target.resize(keyStart);
  }
  request.contentType = "application/json";
  try {
    const web::uri uri(target);
    request.path = uri.path();
    for (const auto& [key, val] : web::uri::split_query(uri.query())) {
      request.query[web::uri::decode(key)] = web::uri::decode(val);
    }
  } catch (const web::uri_exception&) {
    return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace billing::ledger;
  auto store = SqliteStore::open(SqliteStoreOptions{.path = ":memory:", .poolSize = 1});
  if (!store) billing::fuzz::invariantBroken("SqliteStore::open", store.error().detail);
  const auto now = *billing::domain::parseTimestamp("2026-12-15T00:00:00Z");
  LedgerService service(**store, [now] { return now; });
  HttpApi api(service, HttpApiOptions{});

  for (std::string_view section : sections(billing::fuzz::asText(data, size))) {
    HttpRequest request;
    if (!toRequest(section, request)) continue;
    const HttpResponse response = api.handle(request);
    const std::string where = " for " + request.method + " " + request.path + " " + request.body +
                              "\n answered " + std::to_string(response.status) + " " +
                              response.body;
    BILLING_FUZZ_CHECK(response.status >= 200 && response.status < 500, "status" + where);
    if (response.contentType.find("json") == std::string::npos) continue;
    const auto body = billing::common::parseJson(response.body);
    BILLING_FUZZ_CHECK(body.has_value(), "a JSON answer that does not parse" + where);
    if (response.status >= 400) {
      BILLING_FUZZ_CHECK(response.contentType == "application/problem+json",
                         "content type" + where);
      BILLING_FUZZ_CHECK(
          body->has_string_field("detail") && !body->at("detail").as_string().empty(),
          "a problem without a detail" + where);
    }
  }
  return 0;
}
