// The ledger's REST contract (ledger/openapi.yaml), tested over real HTTP against each store:
// SQLite always, PostgreSQL when BILLING_TEST_POSTGRES_DSN is set (and a failure when it is not
// but CI=true). The server runs in-process on 127.0.0.1; the clock is the test's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "ledger/export.h"
#include "ledger/http_api.h"
#include "ledger/service.h"
#include "ledger_test_support.h"
#include "operator/ledger_client/ledger_client.h"

namespace billing::ledger {
namespace {

using testing::at;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HttpResult;
using testing::StoreKind;
using ::testing::UnorderedElementsAre;

constexpr const char* kToken = "contract-test-token";
constexpr const char* kNov =
    R"("periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-12-01T00:00:00Z")";
constexpr const char* kDec =
    R"("periodStart":"2026-12-01T00:00:00Z","periodEnd":"2027-01-01T00:00:00Z")";

// RFC 4180 rows: quoted fields may hold commas, doubled quotes and line breaks.
std::vector<std::vector<std::string>> parseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else {
      field.push_back(c);
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

// Cents of a decimal string with two decimals ("-12.30" -> -1230).
long long cents(const std::string& amount) {
  const bool negative = !amount.empty() && amount[0] == '-';
  std::string digits;
  for (char c : amount) {
    if (c >= '0' && c <= '9') digits.push_back(c);
  }
  const long long value = digits.empty() ? 0 : std::stoll(digits);
  return negative ? -value : value;
}

class LedgerContractTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    BILLING_LEDGER_TEST_STORE(store_, GetParam());
    clock_.set(at("2026-12-02T00:00:00Z"));
    service_ = std::make_unique<LedgerService>(store_->store(), [this] { return clock_.now(); });
    HttpApiOptions options;
    options.tokens = {kToken, "rotated-token"};
    options.issuer = "Example Cloud";
    api_ = std::make_unique<HttpApi>(*service_, options);
    for (int attempt = 0; attempt < 5 && !server_; ++attempt) {
      url_ = "http://127.0.0.1:" + std::to_string(testing::freePort());
      LedgerServerOptions serverOptions;
      serverOptions.url = url_;
      auto server = LedgerServer::start(*api_, serverOptions);
      if (server) server_ = std::move(*server);
    }
    ASSERT_TRUE(server_) << "cannot start the ledger's HTTP server";
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  HttpResult call(const std::string& method, const std::string& path, const std::string& body = {},
                  std::map<std::string, std::string> headers = {}) {
    if (!headers.contains("Authorization"))
      headers["Authorization"] = std::string("Bearer ") + kToken;
    return testing::httpCall(url_, method, path, body, headers);
  }

  HttpResult callWithKey(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& key) {
    return call(method, path, body, {{"Idempotency-Key", key}});
  }

  void account(const std::string& id, const std::string& currency = "EUR",
               const std::string& scope = "Organization", const std::string& org = "acme") {
    auto r = call("PUT", "/v1/accounts/" + id,
                  R"({"name":"Account )" + id + R"(","organization":")" + org + R"(","scope":")" +
                      scope + R"(","currency":")" + currency + R"("})");
    ASSERT_TRUE(r.status == 201 || r.status == 200) << r.body;
  }

  void member(const std::string& project, const std::string& accountId, const std::string& from) {
    auto r = call("POST", "/v1/memberships",
                  R"({"project":")" + project + R"(","accountId":")" + accountId +
                      R"(","effectiveFrom":")" + from + R"("})");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  std::string charge(const std::string& clientId, const std::string& project,
                     const std::string& amount, const std::string& start, const std::string& end,
                     const std::string& currency = "EUR",
                     const std::string& description = "usage") {
    auto r = call("POST", "/v1/charges",
                  chargeBody(clientId, project, amount, start, end, currency, description));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  static std::string chargeBody(const std::string& clientId, const std::string& project,
                                const std::string& amount, const std::string& start,
                                const std::string& end, const std::string& currency = "EUR",
                                const std::string& description = "usage") {
    return R"({"clientId":")" + clientId + R"(","project":")" + project +
           R"(","service":"compute","description":")" + description +
           R"(","quantity":"720","unit":"hours","amount":")" + amount + R"(","currency":")" +
           currency + R"(","periodStart":")" + start + R"(","periodEnd":")" + end + R"("})";
  }

  std::string invoice(const std::string& accountId, const char* period) {
    auto r =
        call("POST", "/v1/accounts/" + accountId + "/invoices", std::string("{") + period + "}");
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.body;
    return r.str("id");
  }

  HttpResult finalize(const std::string& invoiceId) {
    return call("POST", "/v1/invoices/" + invoiceId + "/finalize");
  }

  HttpResult lines(const std::string& invoiceId, const std::string& format = "json") {
    return call("GET", "/v1/invoices/" + invoiceId + "/lines?format=" + format);
  }

  ledger_client::LedgerClient client(const std::string& token = kToken) {
    ledger_client::LedgerClientOptions options;
    options.baseUrl = url_;
    options.token = token;
    options.retry.maxAttempts = 2;
    options.sleep = [](std::chrono::milliseconds) {};
    return ledger_client::LedgerClient(options);
  }

  void expectProblem(const HttpResult& r, int status, const std::string& type,
                     const std::string& field, const std::string& phrase) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.headers.count("Content-Type") ? r.headers.at("Content-Type") : "",
              "application/problem+json");
    EXPECT_EQ(r.problemType(), type) << r.body;
    EXPECT_EQ(r.str("field"), field) << r.body;
    EXPECT_THAT(r.str("detail"), HasSubstr(phrase));
    EXPECT_EQ(
        r.json.is_object() && r.json.has_field("status") ? r.json.at("status").as_integer() : 0,
        status);
  }

  testing::TestClock clock_;
  std::unique_ptr<testing::TestStore> store_;
  std::unique_ptr<LedgerService> service_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<LedgerServer> server_;
  std::string url_;
};

// ---- health and authentication ----

TEST_P(LedgerContractTest, HealthzAnswersWithoutToken) {
  auto r = testing::httpCall(url_, "GET", "/healthz");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("status"), "ok");
  EXPECT_EQ(r.str("store"), GetParam() == StoreKind::Sqlite ? "sqlite" : "postgres");
}

// Found by fuzzing (corpus ledger_request/bad-percent-escape-in-id.txt): a '%' without two hex
// digits in an id made the URL decoder throw out of HttpApi::handle. cpprestsdk's listener happens
// to refuse such a target itself, so the API is asked directly, as any server in front reaches it.
TEST_P(LedgerContractTest, BadPercentEscapesInThePathAreMalformedPaths) {
  for (const std::string path : {"/v1/accounts/%FF%NE", "/v1/accounts/a%2", "/v1/accounts/%"}) {
    HttpRequest request;
    request.method = "GET";
    request.path = path;
    request.authorization = std::string("Bearer ") + kToken;
    const HttpResponse response = api_->handle(request);
    EXPECT_EQ(response.status, 400) << path;
    EXPECT_EQ(response.problemType, "malformed-path") << path;
    EXPECT_THAT(response.body, HasSubstr("%25")) << path;
  }
}

// Over real HTTP a body above the API's limit is the API's problem (413 payload-too-large, which
// tells a metering system to split its batches), not a bare status of the HTTP server; the server
// refuses far larger bodies on its own without holding them.
TEST_P(LedgerContractTest, BodyAboveTheLimitIsRefusedAsPayloadTooLarge) {
  HttpApiOptions options;
  options.tokens = {kToken};
  options.maxBodyBytes = 1024;
  HttpApi small(*service_, options);
  std::unique_ptr<LedgerServer> server;
  std::string url;
  for (int attempt = 0; attempt < 5 && !server; ++attempt) {
    url = "http://127.0.0.1:" + std::to_string(testing::freePort());
    LedgerServerOptions serverOptions;
    serverOptions.url = url;
    if (auto started = LedgerServer::start(small, serverOptions)) server = std::move(*started);
  }
  ASSERT_TRUE(server) << "cannot start the ledger's HTTP server";
  const std::map<std::string, std::string> headers{
      {"Authorization", std::string("Bearer ") + kToken},
      {"Idempotency-Key", "too-large"},
      {"Content-Type", "application/json"}};
  const std::string padded = R"({"charges":[)" + std::string(1500, ' ') + "]}";
  auto above = testing::httpCall(url, "POST", "/v1/charges/batch", padded, headers);
  expectProblem(above, 413, "payload-too-large", "", "split charge batches");

  auto far = testing::httpCall(url, "POST", "/v1/charges/batch", std::string(5000, ' '), headers);
  EXPECT_EQ(far.status, 413) << far.body;

  const std::string fits = R"({"charges":[)" + std::string(500, ' ') + "]}";
  auto within = testing::httpCall(url, "POST", "/v1/charges/batch", fits, headers);
  EXPECT_NE(within.status, 413) << within.body;
  server->stop();
}

TEST_P(LedgerContractTest, RejectsRequestsWithoutOrWithWrongToken) {
  auto none = testing::httpCall(url_, "GET", "/v1/accounts");
  expectProblem(none, 401, "unauthorized", "", "Authorization: Bearer");
  EXPECT_EQ(none.headers["WWW-Authenticate"], "Bearer realm=\"billing-ledger\"");

  auto wrong = call("GET", "/v1/accounts", {}, {{"Authorization", "Bearer not-the-token"}});
  expectProblem(wrong, 401, "unauthorized", "", "not accepted");
  EXPECT_THAT(wrong.headers["WWW-Authenticate"], HasSubstr("invalid_token"));

  auto basic = call("GET", "/v1/accounts", {}, {{"Authorization", std::string("Basic ") + kToken}});
  EXPECT_EQ(basic.status, 401);

  // Unknown routes and methods say nothing without a token either.
  EXPECT_EQ(testing::httpCall(url_, "GET", "/v1/secret-route").status, 401);
  EXPECT_EQ(testing::httpCall(url_, "DELETE", "/v1/accounts/a").status, 401);

  auto rotated = call("GET", "/v1/accounts", {}, {{"Authorization", "Bearer rotated-token"}});
  EXPECT_EQ(rotated.status, 200) << rotated.body;

  // A rejected request creates nothing.
  auto put = call("PUT", "/v1/accounts/a", R"({"name":"A","organization":"o","currency":"EUR"})",
                  {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(put.status, 401);
  EXPECT_EQ(call("GET", "/v1/accounts/a").status, 404);
}

// ---- accounts ----

TEST_P(LedgerContractTest, AccountsAreCreatedOnceByTheCallersIdAndUpdated) {
  const std::string body =
      R"({"name":"Acme Web","organization":"acme","scope":"Organization","currency":"EUR",)"
      R"("profile":{"company":"Acme GmbH","billingEmails":["billing@acme.example"],)"
      R"("address":{"lines":["Main St 1"],"city":"Berlin","zipCode":"10115","countryCode":"DE"},)"
      R"("vatId":"DE123456789","paymentMethod":{"type":"SepaDebit","reference":"secret://acme/sepa/mandate"}}})";
  auto created = call("PUT", "/v1/accounts/bg-uid-1", body);
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers["Location"], "/v1/accounts/bg-uid-1");
  EXPECT_EQ(created.str("id"), "bg-uid-1");
  EXPECT_EQ(created.str("state"), "Open");
  EXPECT_EQ(created.str("creditBalance"), "0.00");
  EXPECT_EQ(created.json.at("profile").at("vatId").as_string(), "DE123456789");

  auto again = call("PUT", "/v1/accounts/bg-uid-1", body);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json.at("profile"), created.json.at("profile"));

  auto renamed = call(
      "PUT", "/v1/accounts/bg-uid-1",
      R"({"name":"Acme Web Shop","organization":"acme","scope":"Organization","currency":"EUR"})");
  EXPECT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(call("GET", "/v1/accounts/bg-uid-1").str("name"), "Acme Web Shop");

  auto list = call("GET", "/v1/accounts?organization=acme");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json.at("items").size(), 1u);
  EXPECT_EQ(call("GET", "/v1/accounts?organization=beta").json.at("items").size(), 0u);

  auto currency = call("PUT", "/v1/accounts/bg-uid-1",
                       R"({"name":"Acme","organization":"acme","currency":"USD"})");
  expectProblem(currency, 409, "immutable-field", "currency", "cannot change");
  auto organization = call("PUT", "/v1/accounts/bg-uid-1",
                           R"({"name":"Acme","organization":"beta","currency":"EUR"})");
  expectProblem(organization, 409, "immutable-field", "organization", "another organization");

  expectProblem(call("GET", "/v1/accounts/nope"), 404, "account-not-found", "",
                "PUT /v1/accounts/nope");
}

TEST_P(LedgerContractTest, ClosingAnAccountWaitsForItsProjectsToLeave) {
  account("a");
  account("b");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  auto refused = call("POST", "/v1/accounts/a/close", R"({"at":"2026-12-01T00:00:00Z"})");
  expectProblem(refused, 409, "account-has-projects", "", "\"acme/web\"");

  auto moved = call("POST", "/v1/memberships/move",
                    R"({"project":"acme/web","toAccountId":"b","at":"2026-12-01T00:00:00Z"})");
  ASSERT_EQ(moved.status, 201) << moved.body;
  auto closed = call("POST", "/v1/accounts/a/close", R"({"at":"2026-12-01T00:00:00Z"})");
  EXPECT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(closed.str("state"), "Closed");
  EXPECT_EQ(closed.str("closedAt"), "2026-12-01T00:00:00Z");

  auto into =
      call("POST", "/v1/memberships",
           R"({"project":"acme/api","accountId":"a","effectiveFrom":"2026-12-05T00:00:00Z"})");
  expectProblem(into, 409, "account-closed", "accountId", "closed at 2026-12-01T00:00:00Z");
  // Its final, partial period can still be invoiced.
  auto final = call("POST", "/v1/accounts/a/invoices", std::string("{") + kNov + "}");
  EXPECT_EQ(final.status, 201) << final.body;
}

// ---- bad input: every case answers a precise problem ----

TEST_P(LedgerContractTest, UnknownCurrencyIsRejected) {
  auto r = call("PUT", "/v1/accounts/a", R"({"name":"A","organization":"o","currency":"EUX"})");
  expectProblem(r, 422, "unknown-currency", "currency", "\"EUX\" is not an active ISO 4217");
  account("a");
  member("p/one", "a", "2026-11-01T00:00:00Z");
  auto c = call(
      "POST", "/v1/charges",
      chargeBody("c1", "p/one", "1.00", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "eur"));
  expectProblem(c, 422, "unknown-currency", "currency", "upper-case code");
}

TEST_P(LedgerContractTest, AmountsMorePreciseThanTheCurrencyAreRejected) {
  account("a");
  account("j", "JPY");
  account("k", "KWD");
  member("p/eur", "a", "2026-11-01T00:00:00Z");
  member("p/jpy", "j", "2026-11-01T00:00:00Z");
  member("p/kwd", "k", "2026-11-01T00:00:00Z");
  auto eur =
      call("POST", "/v1/charges",
           chargeBody("c1", "p/eur", "12.345", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"));
  expectProblem(eur, 422, "amount-precision", "amount", "has 3 decimal places but EUR has 2");
  auto jpy = call(
      "POST", "/v1/charges",
      chargeBody("c2", "p/jpy", "150.5", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "JPY"));
  expectProblem(jpy, 422, "amount-precision", "amount", "JPY has 0");
  // Trailing zeros are not extra precision, and KWD has three decimals.
  auto zeros =
      call("POST", "/v1/charges",
           chargeBody("c3", "p/eur", "12.340", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"));
  EXPECT_EQ(zeros.status, 201) << zeros.body;
  EXPECT_EQ(zeros.str("amount"), "12.34");
  auto kwd = call(
      "POST", "/v1/charges",
      chargeBody("c4", "p/kwd", "1.125", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "KWD"));
  EXPECT_EQ(kwd.status, 201) << kwd.body;
  EXPECT_EQ(kwd.json.at("amountMinor").as_integer(), 1125);

  auto malformed =
      call("POST", "/v1/charges",
           chargeBody("c5", "p/eur", "1,50", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"));
  expectProblem(malformed, 422, "invalid-amount", "amount", "1,50");
  auto number =
      call("POST", "/v1/charges",
           R"({"clientId":"c6","project":"p/eur","service":"s","amount":12.34,"currency":"EUR",)"
           R"("periodStart":"2026-11-01T00:00:00Z","periodEnd":"2026-11-02T00:00:00Z"})");
  expectProblem(number, 422, "wrong-type", "amount", "decimal string");
  auto credit = call("POST", "/v1/accounts/a/credits", R"({"id":"g","amount":"0.001"})");
  expectProblem(credit, 422, "amount-precision", "amount", "EUR has 2");
}

TEST_P(LedgerContractTest, PeriodsWhoseEndIsNotAfterTheStartAreRejected) {
  account("a");
  member("p/one", "a", "2026-11-01T00:00:00Z");
  auto equal =
      call("POST", "/v1/charges",
           chargeBody("c1", "p/one", "1.00", "2026-11-05T00:00:00Z", "2026-11-05T00:00:00Z"));
  expectProblem(equal, 422, "invalid-period", "periodEnd", "is not after periodStart");
  auto reversed =
      call("POST", "/v1/accounts/a/invoices",
           R"({"periodStart":"2026-12-01T00:00:00Z","periodEnd":"2026-11-01T00:00:00Z"})");
  expectProblem(reversed, 422, "invalid-period", "periodEnd", "2026-11-01T00:00:00Z is not after");
  auto membership =
      call("POST", "/v1/memberships",
           R"({"project":"p/two","accountId":"a","effectiveFrom":"2026-11-01T00:00:00Z",)"
           R"("effectiveTo":"2026-11-01T00:00:00Z"})");
  expectProblem(membership, 422, "invalid-period", "effectiveTo", "not after effectiveFrom");
}

TEST_P(LedgerContractTest, OverlappingMembershipsAreRejected) {
  account("a");
  account("b");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  auto overlap =
      call("POST", "/v1/memberships",
           R"({"project":"acme/web","accountId":"b","effectiveFrom":"2026-11-15T00:00:00Z"})");
  expectProblem(overlap, 409, "overlapping-membership", "effectiveFrom",
                "already belongs to account \"a\"");
  EXPECT_THAT(overlap.str("detail"), HasSubstr("/v1/memberships/move"));
  // Before the existing one, ending where it starts: no overlap (half-open intervals).
  auto before =
      call("POST", "/v1/memberships",
           R"({"project":"acme/web","accountId":"b","effectiveFrom":"2026-10-01T00:00:00Z",)"
           R"("effectiveTo":"2026-11-01T00:00:00Z"})");
  EXPECT_EQ(before.status, 201) << before.body;
  auto list = call("GET", "/v1/memberships?project=acme%2Fweb");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json.at("items").size(), 2u);
}

TEST_P(LedgerContractTest, MalformedAndUnexpectedBodiesAreRejected) {
  expectProblem(call("PUT", "/v1/accounts/a", R"({"name": "A", )"), 400, "malformed-json", "",
                "not valid JSON");
  expectProblem(call("POST", "/v1/charges", ""), 400, "malformed-json", "", "body is empty");
  expectProblem(call("PUT", "/v1/accounts/a",
                     R"({"name":"A","organization":"o","currency":"EUR","nmae":"typo"})"),
                422, "unknown-field", "nmae", "unknown field \"nmae\"");
  expectProblem(call("PUT", "/v1/accounts/a",
                     R"({"name":"A","organization":"o","currency":"EUR","profile":{"vat":"x"}})"),
                422, "unknown-field", "profile.vat", "the fields here are");
  expectProblem(call("PUT", "/v1/accounts/a", R"({"name":"A","currency":"EUR"})"), 422,
                "missing-field", "organization", "required");
  expectProblem(call("PUT", "/v1/accounts/a", R"(["not","an","object"])"), 422, "wrong-type", "",
                "must be a JSON object");
  expectProblem(
      call("POST", "/v1/accounts/a/invoices",
           R"({"periodStart":"2026-13-01T00:00:00Z","periodEnd":"2026-12-01T00:00:00Z"})"),
      422, "invalid-timestamp", "periodStart", "not an RFC 3339 instant");
  expectProblem(call("PUT", "/v1/accounts/a", R"({"name":"A","organization":"o","currency":"EUR"})",
                     {{"Content-Type", "text/plain"}}),
                415, "unsupported-media-type", "", "not JSON");
  expectProblem(
      call("PUT", "/v1/accounts/a",
           R"({"name":"A","organization":"o","currency":"EUR","profile":{"paymentMethod":)"
           R"({"type":"SepaDebit","reference":"DE89 3704 0044 0532 0130 00"}}})"),
      422, "payment-secret", "profile.paymentMethod.reference", "never the secret itself");
  expectProblem(call("PUT", "/v1/accounts/a",
                     R"({"name":"A","organization":"o","currency":"EUR","scope":"Team"})"),
                422, "invalid-value", "scope", "\"Organization\", \"Project\"");
  expectProblem(call("DELETE", "/v1/accounts/a"), 405, "method-not-allowed", "",
                "allowed: PUT, GET");
  expectProblem(call("GET", "/v1/nothing"), 404, "route-not-found", "", "openapi.yaml");
  // Nothing of the above created an account.
  EXPECT_EQ(call("GET", "/v1/accounts").json.at("items").size(), 0u);
}

TEST_P(LedgerContractTest, ChargesNeedAMembershipForTheirWholePeriodInTheAccountsCurrency) {
  account("a");
  account("u", "USD");
  member("acme/web", "a", "2026-11-10T00:00:00Z");
  auto early =
      call("POST", "/v1/charges",
           chargeBody("c1", "acme/web", "5.00", "2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"));
  expectProblem(early, 409, "no-membership", "project",
                "belongs to no account during [2026-11-01T00:00:00Z, 2026-11-10T00:00:00Z)");
  auto dollars = call(
      "POST", "/v1/charges",
      chargeBody("c2", "acme/web", "5.00", "2026-11-10T00:00:00Z", "2026-11-20T00:00:00Z", "USD"));
  expectProblem(dollars, 422, "currency-mismatch", "currency", "bills in EUR");
}

TEST_P(LedgerContractTest, ChargeClientIdsIdentifyOneChargeForever) {
  account("a");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  const std::string body =
      chargeBody("meter-1", "acme/web", "5.00", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
  auto first = call("POST", "/v1/charges", body);
  EXPECT_EQ(first.status, 201) << first.body;
  auto second = call("POST", "/v1/charges", body);
  EXPECT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.str("id"), first.str("id"));
  auto changed = call(
      "POST", "/v1/charges",
      chargeBody("meter-1", "acme/web", "6.00", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"));
  expectProblem(changed, 409, "charge-conflict", "clientId", "new clientId");
  EXPECT_EQ(call("GET", "/v1/charges/" + first.str("id")).str("clientId"), "meter-1");
  EXPECT_EQ(call("GET", "/v1/charges?project=acme%2Fweb").json.at("items").size(), 1u);
}

TEST_P(LedgerContractTest, ChargeBatchesAreAllOrNothing) {
  account("a");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  const std::string good1 =
      chargeBody("b1", "acme/web", "1.00", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
  const std::string good2 =
      chargeBody("b2", "acme/web", "2.00", "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z");
  const std::string bad =
      chargeBody("b3", "acme/web", "3.00", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z", "XXX");
  auto refused =
      call("POST", "/v1/charges/batch", "{\"charges\":[" + good1 + "," + good2 + "," + bad + "]}");
  expectProblem(refused, 422, "unknown-currency", "charges[2].currency", "charges[2]");
  EXPECT_EQ(call("GET", "/v1/charges?project=acme%2Fweb").json.at("items").size(), 0u);
  auto accepted = call("POST", "/v1/charges/batch", "{\"charges\":[" + good1 + "," + good2 + "]}");
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(accepted.json.at("items").size(), 2u);
  EXPECT_EQ(call("GET", "/v1/charges?project=acme%2Fweb").json.at("items").size(), 2u);
}

// ---- idempotency and concurrency ----

TEST_P(LedgerContractTest, ConcurrentDuplicateRequestsWithOneIdempotencyKeyCreateOneCharge) {
  account("a");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  const std::string body =
      chargeBody("meter-42", "acme/web", "9.99", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
  constexpr int kThreads = 8;
  std::vector<HttpResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = callWithKey("POST", "/v1/charges", body, "key-42"); });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> ids;
  int replays = 0;
  for (const HttpResult& r : results) {
    EXPECT_EQ(r.status, 201) << r.body;  // a replay repeats the first answer's status
    ids.insert(r.str("id"));
    if (r.headers.count("Idempotent-Replayed")) ++replays;
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(replays, kThreads - 1);
  EXPECT_EQ(call("GET", "/v1/charges?project=acme%2Fweb").json.at("items").size(), 1u);

  auto other = callWithKey(
      "POST", "/v1/charges",
      chargeBody("meter-43", "acme/web", "1.00", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
      "key-42");
  expectProblem(other, 422, "idempotency-key-reused", "", "use a new key for a new request");
  EXPECT_EQ(call("GET", "/v1/charges?project=acme%2Fweb").json.at("items").size(), 1u);
}

TEST_P(LedgerContractTest, ConcurrentDuplicateChargesWithoutKeyConvergeOnTheClientId) {
  account("a");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  const std::string body =
      chargeBody("meter-7", "acme/web", "1.23", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
  std::vector<HttpResult> results(6);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = call("POST", "/v1/charges", body); });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> ids;
  int created = 0;
  for (const HttpResult& r : results) {
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.body;
    created += r.status == 201 ? 1 : 0;
    ids.insert(r.str("id"));
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(ids.size(), 1u);
}

TEST_P(LedgerContractTest, ConcurrentInvoiceRunsForOneAccountAndPeriodGiveOneInvoice) {
  account("a");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  charge("c1", "acme/web", "100.00", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
  constexpr int kRuns = 6;
  std::vector<std::string> ids(kRuns), numbers(kRuns), totals(kRuns);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      // Each run has its own key, as two operator replicas deriving keys differently would.
      auto created = callWithKey("POST", "/v1/accounts/a/invoices", std::string("{") + kNov + "}",
                                 "create-" + std::to_string(i));
      EXPECT_TRUE(created.status == 201 || created.status == 200) << created.body;
      auto finalized = callWithKey("POST", "/v1/invoices/" + created.str("id") + "/finalize", "",
                                   "finalize-" + std::to_string(i));
      EXPECT_EQ(finalized.status, 200) << finalized.body;
      ids[i] = finalized.str("id");
      numbers[i] = finalized.str("number");
      totals[i] = finalized.str("total");
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_EQ(ids[i], ids[0]);
    EXPECT_EQ(numbers[i], "INV-000001");
    EXPECT_EQ(totals[i], "100.00");
  }
  auto list = call("GET", "/v1/accounts/a/invoices");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json.at("items").size(), 1u);
  auto issued = lines(ids[0]);
  EXPECT_EQ(issued.json.at("lines").size(), 1u) << "the charge must be billed once";
}

TEST_P(LedgerContractTest, IdempotencyKeyReplaysTheFirstResultForEveryCreatingCall) {
  const std::string accountBody = R"({"name":"A","organization":"acme","currency":"EUR"})";
  auto first = callWithKey("PUT", "/v1/accounts/a", accountBody, "k-account");
  auto replay = callWithKey("PUT", "/v1/accounts/a", accountBody, "k-account");
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.headers["Idempotent-Replayed"], "true");
  // The same body under JSON members in another order is the same request.
  auto reordered =
      callWithKey("PUT", "/v1/accounts/a", R"({"currency":"EUR","organization":"acme","name":"A"})",
                  "k-account");
  EXPECT_EQ(reordered.status, 201) << reordered.body;
  expectProblem(callWithKey("PUT", "/v1/accounts/b", accountBody, "k-account"), 422,
                "idempotency-key-reused", "", "k-account");

  auto m1 = callWithKey(
      "POST", "/v1/memberships",
      R"({"project":"p/x","accountId":"a","effectiveFrom":"2026-11-01T00:00:00Z"})", "k-member");
  auto m2 = callWithKey(
      "POST", "/v1/memberships",
      R"({"project":"p/x","accountId":"a","effectiveFrom":"2026-11-01T00:00:00Z"})", "k-member");
  EXPECT_EQ(m1.status, 201);
  EXPECT_EQ(m2.status, 201);
  EXPECT_EQ(m1.str("id"), m2.str("id"));

  auto g1 = callWithKey("POST", "/v1/accounts/a/credits", R"({"id":"welcome","amount":"5.00"})",
                        "k-grant");
  auto g2 = callWithKey("POST", "/v1/accounts/a/credits", R"({"id":"welcome","amount":"5.00"})",
                        "k-grant");
  EXPECT_EQ(g1.status, 201) << g1.body;
  EXPECT_EQ(g2.status, 201) << g2.body;
  EXPECT_EQ(call("GET", "/v1/accounts/a/credits").str("balance"), "5.00");

  const std::string inv = invoice("a", kNov);
  auto f1 = callWithKey("POST", "/v1/invoices/" + inv + "/finalize", "", "k-final");
  auto f2 = callWithKey("POST", "/v1/invoices/" + inv + "/finalize", "", "k-final");
  EXPECT_EQ(f1.str("number"), "INV-000001");
  EXPECT_EQ(f2.str("number"), "INV-000001");
  EXPECT_EQ(f2.headers["Idempotent-Replayed"], "true");
  expectProblem(callWithKey("POST", "/v1/invoices/" + inv + "/pay", "", "k-final"), 422,
                "idempotency-key-reused", "", "k-final");
}

// ---- billing ----

TEST_P(LedgerContractTest, AProjectMovedMidPeriodIsSplitProRataAndBothInvoicesAddUpExactly) {
  account("a");
  account("b");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  // November has 30 days; the project moves after 10 of them: a third to A, two thirds to B.
  auto moved = call("POST", "/v1/memberships/move",
                    R"({"project":"acme/web","toAccountId":"b","at":"2026-11-11T00:00:00Z"})");
  ASSERT_EQ(moved.status, 201) << moved.body;
  EXPECT_EQ(moved.str("accountId"), "b");
  EXPECT_EQ(moved.str("effectiveFrom"), "2026-11-11T00:00:00Z");
  auto history = call("GET", "/v1/memberships?project=acme%2Fweb");
  ASSERT_EQ(history.json.at("items").size(), 2u);
  EXPECT_EQ(history.json.at("items").at(0).at("effectiveTo").as_string(), "2026-11-11T00:00:00Z");

  charge("c1", "acme/web", "100.00", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
  charge("c2", "acme/web", "0.05", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
  auto a = finalize(invoice("a", kNov));
  auto b = finalize(invoice("b", kNov));
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(a.str("total"), "33.35");  // 33.33 + 0.02
  EXPECT_EQ(b.str("total"), "66.70");  // 66.67 + 0.03
  EXPECT_EQ(cents(a.str("total")) + cents(b.str("total")), 10005);

  const auto lineOf = [&](const HttpResult& doc, const std::string& clientId) {
    for (const auto& line : doc.json.at("lines").as_array()) {
      if (line.at("clientId").as_string() == clientId) return line;
    }
    ADD_FAILURE() << "no line of " << clientId << " in " << doc.body;
    return web::json::value::object();
  };
  auto aLines = lines(a.str("id"));
  ASSERT_EQ(aLines.json.at("lines").size(), 2u);
  const auto first = lineOf(aLines, "c1");
  EXPECT_EQ(first.at("amount").as_string(), "33.33");
  EXPECT_EQ(first.at("quantity").as_string(), "240");
  EXPECT_EQ(first.at("periodStart").as_string(), "2026-11-01T00:00:00Z");
  EXPECT_EQ(first.at("periodEnd").as_string(), "2026-11-11T00:00:00Z");
  EXPECT_EQ(lineOf(aLines, "c2").at("amount").as_string(), "0.02");
  auto bLines = lines(b.str("id"));
  EXPECT_EQ(lineOf(bLines, "c1").at("amount").as_string(), "66.67");
  EXPECT_EQ(lineOf(bLines, "c1").at("quantity").as_string(), "480");
  EXPECT_EQ(lineOf(bLines, "c1").at("periodStart").as_string(), "2026-11-11T00:00:00Z");
  EXPECT_EQ(lineOf(bLines, "c2").at("amount").as_string(), "0.03");

  // A move into time that A has already invoiced would take billed usage away from A.
  auto late = call("POST", "/v1/memberships/move",
                   R"({"project":"acme/web","toAccountId":"a","at":"2026-11-20T00:00:00Z"})");
  expectProblem(late, 409, "invoiced-period", "at", "void that invoice first");
}

TEST_P(LedgerContractTest, CreditsExistOnlyOnOrganizationAccountsAndAreConsumedByInvoices) {
  account("org");
  account("proj", "EUR", "Project");
  expectProblem(call("POST", "/v1/accounts/proj/credits", R"({"id":"promo","amount":"10.00"})"),
                409, "credits-not-allowed", "", "only on Organization accounts");
  auto grant = call("POST", "/v1/accounts/org/credits",
                    R"({"id":"prepaid","amount":"50.00","description":"Prepaid 2026"})");
  ASSERT_EQ(grant.status, 201) << grant.body;
  EXPECT_EQ(grant.str("remaining"), "50.00");
  expectProblem(call("POST", "/v1/accounts/org/credits", R"({"id":"prepaid","amount":"60.00"})"),
                409, "credit-conflict", "id", "new id");
  expectProblem(call("POST", "/v1/accounts/org/credits", R"({"id":"neg","amount":"-1.00"})"), 422,
                "invalid-amount", "amount", "greater than zero");

  member("acme/web", "org", "2026-11-01T00:00:00Z");
  charge("nov", "acme/web", "30.00", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
  auto nov = finalize(invoice("org", kNov));
  ASSERT_EQ(nov.status, 200) << nov.body;
  EXPECT_EQ(nov.str("subtotal"), "30.00");
  EXPECT_EQ(nov.str("creditsApplied"), "30.00");
  EXPECT_EQ(nov.str("total"), "0.00");
  auto credits = call("GET", "/v1/accounts/org/credits");
  EXPECT_EQ(credits.str("balance"), "20.00");
  EXPECT_EQ(credits.json.at("grants").at(0).at("consumed").as_string(), "30.00");
  EXPECT_EQ(call("GET", "/v1/accounts/org").str("creditBalance"), "20.00");

  clock_.set(at("2027-01-02T00:00:00Z"));
  charge("dec", "acme/web", "45.50", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z");
  auto dec = finalize(invoice("org", kDec));
  EXPECT_EQ(dec.str("creditsApplied"), "20.00");
  EXPECT_EQ(dec.str("total"), "25.50");
  EXPECT_EQ(call("GET", "/v1/accounts/org/credits").str("balance"), "0.00");

  // With credits left, the account cannot become a Project account; without, it can.
  auto scope =
      call("PUT", "/v1/accounts/org",
           R"({"name":"Account org","organization":"acme","scope":"Project","currency":"EUR"})");
  EXPECT_EQ(scope.status, 200) << scope.body;
}

TEST_P(LedgerContractTest, LateChargesGoOntoTheNextInvoiceAsCorrections) {
  account("a");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  charge("nov-1", "acme/web", "10.00", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
  auto nov = finalize(invoice("a", kNov));
  ASSERT_EQ(nov.str("total"), "10.00");

  // Arriving after November was invoiced: one wholly in November, one straddling into December.
  clock_.set(at("2026-12-03T00:00:00Z"));
  charge("nov-late", "acme/web", "5.00", "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z");
  charge("straddle", "acme/web", "10.00", "2026-11-25T00:00:00Z", "2026-12-05T00:00:00Z");
  charge("dec-1", "acme/web", "7.00", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z");
  EXPECT_EQ(call("GET", "/v1/invoices/" + nov.str("id")).str("total"), "10.00")
      << "an issued invoice never changes";

  const std::string decId = invoice("a", kDec);
  auto draft = call("GET", "/v1/invoices/" + decId);
  EXPECT_EQ(draft.str("total"), "22.00") << "the draft already shows the corrections";
  auto dec = finalize(decId);
  ASSERT_EQ(dec.status, 200) << dec.body;
  EXPECT_EQ(dec.str("total"), "22.00");  // 5.00 + 6.00 (correction) + 4.00 + 7.00

  auto decLines = lines(decId);
  std::vector<std::string> summary;
  for (const auto& line : decLines.json.at("lines").as_array()) {
    summary.push_back(line.at("clientId").as_string() + " " + line.at("amount").as_string() + " " +
                      line.at("periodStart").as_string() +
                      (line.at("correction").as_bool() ? " correction" : ""));
  }
  EXPECT_THAT(summary, UnorderedElementsAre("nov-late 5.00 2026-11-20T00:00:00Z correction",
                                            "straddle 6.00 2026-11-25T00:00:00Z correction",
                                            "dec-1 7.00 2026-12-01T00:00:00Z",
                                            "straddle 4.00 2026-12-01T00:00:00Z"));
  EXPECT_EQ(summary.front(), "nov-late 5.00 2026-11-20T00:00:00Z correction") << "lines by start";
  auto focus = parseCsv(lines(decId, "focus").body);
  ASSERT_GE(focus.size(), 2u);
  const auto column = [&](const std::string& name) {
    return std::find(focus[0].begin(), focus[0].end(), name) - focus[0].begin();
  };
  int corrections = 0;
  for (std::size_t r = 1; r < focus.size(); ++r)
    corrections += focus[r][column("ChargeClass")] == "Correction";
  EXPECT_EQ(corrections, 2);
  // Every charge was billed exactly once over the two invoices.
  EXPECT_EQ(cents(nov.str("total")) + cents(dec.str("total")), 1000 + 500 + 1000 + 700);
}

TEST_P(LedgerContractTest, VoidingReleasesChargesAndCreditsAndKeepsTheNumber) {
  account("a");
  ASSERT_EQ(call("POST", "/v1/accounts/a/credits", R"({"id":"g","amount":"4.00"})").status, 201);
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  charge("c1", "acme/web", "10.00", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
  const std::string firstId = invoice("a", kNov);
  auto first = finalize(firstId);
  EXPECT_EQ(first.str("number"), "INV-000001");
  EXPECT_EQ(first.str("total"), "6.00");
  EXPECT_EQ(call("GET", "/v1/accounts/a/credits").str("balance"), "0.00");

  auto voided = call("POST", "/v1/invoices/" + firstId + "/void", R"({"reason":"wrong VAT id"})");
  ASSERT_EQ(voided.status, 200) << voided.body;
  EXPECT_EQ(voided.str("state"), "Void");
  EXPECT_EQ(voided.str("number"), "INV-000001") << "a voided invoice keeps its number";
  EXPECT_EQ(voided.str("voidReason"), "wrong VAT id");
  EXPECT_EQ(call("GET", "/v1/accounts/a/credits").str("balance"), "4.00");
  expectProblem(finalize(firstId), 409, "invoice-state", "", "void");

  const std::string secondId = invoice("a", kNov);
  EXPECT_NE(secondId, firstId);
  auto second = finalize(secondId);
  EXPECT_EQ(second.str("number"), "INV-000002");
  EXPECT_EQ(second.str("subtotal"), "10.00");
  EXPECT_EQ(second.str("total"), "6.00");

  auto paid = call("POST", "/v1/invoices/" + secondId + "/pay");
  EXPECT_EQ(paid.str("state"), "Paid");
  EXPECT_FALSE(paid.str("paidAt").empty());
  expectProblem(call("POST", "/v1/invoices/" + secondId + "/void"), 409, "invoice-state", "",
                "paid and cannot be voided");

  // Drafts can be voided too; they never had a number.
  const std::string draftId = invoice("a", kDec);
  auto draftVoid = call("POST", "/v1/invoices/" + draftId + "/void");
  EXPECT_EQ(draftVoid.str("state"), "Void");
  EXPECT_TRUE(draftVoid.json.at("number").is_null());
  expectProblem(call("POST", "/v1/invoices/" + draftId + "/pay"), 409, "invoice-state", "",
                "only a Finalized invoice can be paid");
}

TEST_P(LedgerContractTest, InvoiceNumbersAreSequentialAndGapless) {
  for (const char* id : {"a", "b", "c"}) account(id);
  member("p/a", "a", "2026-11-01T00:00:00Z");
  member("p/b", "b", "2026-11-01T00:00:00Z");
  member("p/c", "c", "2026-11-01T00:00:00Z");
  EXPECT_EQ(finalize(invoice("a", kNov)).str("number"), "INV-000001");
  EXPECT_EQ(finalize(invoice("b", kNov)).str("number"), "INV-000002");

  // A refused finalization (a later period first) takes no number.
  const std::string cNov = invoice("c", kNov);
  const std::string cDec = invoice("c", kDec);
  expectProblem(finalize(cDec), 409, "invoice-order", "", "finalize (or void) it first");
  EXPECT_EQ(finalize(cNov).str("number"), "INV-000003");
  EXPECT_EQ(finalize(cDec).str("number"), "INV-000004");
  // Nor does finalizing again.
  EXPECT_EQ(finalize(cNov).str("number"), "INV-000003");

  expectProblem(
      call("POST", "/v1/accounts/c/invoices",
           R"({"periodStart":"2026-11-15T00:00:00Z","periodEnd":"2026-12-15T00:00:00Z"})"),
      409, "invoice-overlap", "periodStart", "must not overlap");
  expectProblem(
      call("POST", "/v1/accounts/c/invoices",
           R"({"periodStart":"2026-10-01T00:00:00Z","periodEnd":"2026-11-01T00:00:00Z"})"),
      409, "invoice-order", "periodStart", "corrections");
}

TEST_P(LedgerContractTest, ExportsLinesAsJsonCsvAndFocus) {
  account("org");
  ASSERT_EQ(call("POST", "/v1/accounts/org/credits", R"({"id":"g","amount":"1.00"})").status, 201);
  member("acme/web", "org", "2026-11-01T00:00:00Z");
  member("acme/api", "org", "2026-11-01T00:00:00Z");
  charge("c1", "acme/web", "12.30", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "EUR",
         "vCPU hours, \\\"burst\\\"");
  charge("c2", "acme/api", "7.70", "2026-11-01T00:00:00Z", "2026-11-16T00:00:00Z");
  auto issued = finalize(invoice("org", kNov));
  ASSERT_EQ(issued.status, 200) << issued.body;
  ASSERT_EQ(issued.str("total"), "19.00");
  const std::string id = issued.str("id");

  auto json = lines(id);
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_EQ(json.headers["Content-Type"], "application/json");
  EXPECT_EQ(json.str("number"), "INV-000001");
  ASSERT_EQ(json.json.at("lines").size(), 2u);
  EXPECT_EQ(json.json.at("lines").at(0).at("project").as_string(), "acme/api");

  auto csv = lines(id, "csv");
  EXPECT_EQ(csv.headers["Content-Type"], "text/csv; charset=utf-8");
  auto csvRows = parseCsv(csv.body);
  ASSERT_EQ(csvRows.size(), 3u) << csv.body;
  EXPECT_THAT(csvRows[0],
              ElementsAre("invoice_number", "billing_group", "organization", "project", "service",
                          "description", "quantity", "unit", "charge_period_start",
                          "charge_period_end", "amount", "currency"));
  EXPECT_EQ(csvRows[2][5], "vCPU hours, \"burst\"");
  EXPECT_EQ(cents(csvRows[1][10]) + cents(csvRows[2][10]), 2000)
      << "CSV amounts sum to the subtotal";

  auto focus = lines(id, "focus");
  auto rows = parseCsv(focus.body);
  ASSERT_EQ(rows.size(), 4u) << focus.body;  // header, two lines, the credit
  for (const char* required :
       {"BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
        "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeDescription",
        "ChargePeriodStart", "ChargePeriodEnd", "SubAccountId", "SubAccountName", "InvoiceId"}) {
    EXPECT_NE(std::find(rows[0].begin(), rows[0].end(), required), rows[0].end()) << required;
  }
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(rows[0].begin(), rows[0].end(), name) -
                                    rows[0].begin());
  };
  long long billed = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), rows[0].size());
    billed += cents(rows[r][column("BilledCost")]);
    EXPECT_EQ(rows[r][column("InvoiceId")], id);
    EXPECT_EQ(rows[r][column("BillingAccountId")], "org");
    EXPECT_EQ(rows[r][column("BillingCurrency")], "EUR");
    EXPECT_EQ(rows[r][column("BillingPeriodStart")], "2026-11-01T00:00:00Z");
  }
  EXPECT_EQ(billed, cents(issued.str("total"))) << "SUM(BilledCost) is the invoice total";
  EXPECT_EQ(rows[3][column("ChargeCategory")], "Credit");
  EXPECT_EQ(rows[1][column("SubAccountId")], "acme/api");
  EXPECT_EQ(rows[1][column("ChargePeriodEnd")], "2026-11-16T00:00:00Z");

  expectProblem(lines(id, "xml"), 422, "invalid-export-format", "format",
                "\"json\", \"csv\", \"focus\"");
}

// ---- the operator's client against the real ledger ----

TEST_P(LedgerContractTest, TheOperatorsClientSpeaksTheContract) {
  auto ledger = client();
  backend::AccountSpec spec;
  spec.id = "uid-123";
  spec.name = "Acme";
  spec.organization = "acme";
  spec.currency = "EUR";
  spec.profile.billingEmails = {"billing@acme.example"};
  spec.profile.paymentMethod =
      backend::PaymentMethodReference{domain::PaymentMethodType::Card, "secret://acme/card/token"};
  auto created = ledger.upsertAccount(spec, "bg-uid-123-gen-1");
  ASSERT_TRUE(created) << created.error().message();
  EXPECT_EQ(created->spec, spec);
  EXPECT_EQ(created->creditBalance, "0.00");

  auto membership = ledger.addMembership("acme/web", "uid-123", at("2026-11-01T00:00:00Z"),
                                         std::nullopt, "member-acme-web");
  ASSERT_TRUE(membership) << membership.error().message();
  auto overlap = ledger.addMembership("acme/web", "uid-123", at("2026-11-05T00:00:00Z"),
                                      std::nullopt, "member-acme-web-2");
  ASSERT_FALSE(overlap);
  EXPECT_EQ(overlap.error().kind, backend::BackendErrorKind::Conflict);
  EXPECT_EQ(overlap.error().httpStatus, 409);
  EXPECT_EQ(overlap.error().problemType, "overlapping-membership");
  EXPECT_THAT(overlap.error().message(), HasSubstr("Conflict (409 overlapping-membership)"));

  backend::ChargeSpec usage{"m-1",
                            "acme/web",
                            "compute",
                            "vCPU",
                            "720",
                            "hours",
                            "99.99",
                            "EUR",
                            at("2026-11-01T00:00:00Z"),
                            at("2026-12-01T00:00:00Z")};
  ASSERT_TRUE(ledger.postCharge(usage, "charge-m-1"));
  auto bad = usage;
  bad.clientId = "m-2";
  bad.amount = "1.999";
  auto invalid = ledger.postCharge(bad, "charge-m-2");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().kind, backend::BackendErrorKind::Invalid);
  EXPECT_EQ(invalid.error().field, "amount");

  auto draft = ledger.createInvoice(
      "uid-123", domain::Interval{at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")},
      "invoice-uid-123-2026-11");
  ASSERT_TRUE(draft) << draft.error().message();
  EXPECT_EQ(draft->state, domain::InvoiceState::Draft);
  EXPECT_EQ(draft->total, "99.99");
  auto issued = ledger.finalizeInvoice(draft->id, "finalize-uid-123-2026-11");
  ASSERT_TRUE(issued) << issued.error().message();
  EXPECT_EQ(issued->number, "INV-000001");
  EXPECT_EQ(issued->state, domain::InvoiceState::Finalized);
  ASSERT_EQ(issued->projectTotals.size(), 1u);
  EXPECT_EQ(issued->projectTotals[0].amount, "99.99");
  auto invoiceLines = ledger.invoiceLines(draft->id);
  ASSERT_TRUE(invoiceLines);
  ASSERT_EQ(invoiceLines->size(), 1u);
  EXPECT_EQ((*invoiceLines)[0].clientId, "m-1");
  auto focus = ledger.exportInvoice(draft->id, backend::ExportFormat::Focus);
  ASSERT_TRUE(focus);
  EXPECT_THAT(*focus, HasSubstr("InvoiceId"));

  auto missing = ledger.getAccount("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, backend::BackendErrorKind::NotFound);
  auto denied = client("wrong").getAccount("uid-123");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind, backend::BackendErrorKind::Unauthorized);
}

INSTANTIATE_TEST_SUITE_P(Stores, LedgerContractTest,
                         ::testing::Values(StoreKind::Sqlite, StoreKind::Postgres),
                         [](const ::testing::TestParamInfo<StoreKind>& param) {
                           return testing::storeKindName(param.param);
                         });

}  // namespace
}  // namespace billing::ledger
