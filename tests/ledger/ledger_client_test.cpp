// The operator's ledger client against a tiny scripted HTTP server: what it retries (network
// errors, 429, 5xx), how long it waits (backoff with jitter, Retry-After), that every attempt
// carries the same Idempotency-Key, and that everything else comes back as a value.
#include "operator/ledger_client/ledger_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/http_server.h"
#include "ledger_test_support.h"

namespace billing::ledger_client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct ScriptedResponse {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
};

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::string idempotencyKey;
  std::string authorization;
  std::string body;
};

// Answers requests with the scripted responses in order (the last one repeats). Served by
// common::HttpServer, like the real ledger.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<ScriptedResponse> script, int port = 0)
      : script_(script.begin(), script.end()) {
    common::HttpServerOptions options;
    options.port = static_cast<std::uint16_t>(port != 0 ? port : ledger::testing::freePort());
    server_ = std::make_unique<common::HttpServer>(
        options, [this](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
          ReceivedRequest received;
          received.method = request.method;
          received.path = request.target;
          received.idempotencyKey = request.headers.get("Idempotency-Key").value_or("");
          received.authorization = request.headers.get("Authorization").value_or("");
          received.body = request.body;
          ScriptedResponse answer;
          {
            std::lock_guard lock(mutex_);
            requests_.push_back(received);
            answer = script_.front();
            if (script_.size() > 1) script_.pop_front();
          }
          common::HttpHeaders headers;
          for (const auto& [name, value] : answer.headers) headers.add(name, value);
          if (!headers.contains("Content-Type")) {
            headers.add("Content-Type",
                        answer.body.starts_with("{") ? "application/json" : "text/plain");
          }
          writer.respond(answer.status, std::move(headers), answer.body);
        });
    auto started = server_->start();
    if (!started) ADD_FAILURE() << "the scripted server did not start: " << started.error();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  std::vector<ReceivedRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  const std::string& url() const { return url_; }

 private:
  std::mutex mutex_;
  std::deque<ScriptedResponse> script_;
  std::vector<ReceivedRequest> requests_;
  std::string url_;
  // Last: stopped (by its destructor) before the script and the requests it uses go.
  std::unique_ptr<common::HttpServer> server_;
};

constexpr const char* kAccountJson =
    R"({"id":"uid-1","name":"Acme","organization":"acme","scope":"Organization","currency":"EUR",)"
    R"("profile":{"company":"","billingEmails":[],"contactEmails":[],"address":null,"vatId":"",)"
    R"("paymentMethod":null,"invoiceText":""},"state":"Open","creditBalance":"0.00",)"
    R"("createdAt":"2026-11-01T00:00:00Z","updatedAt":"2026-11-01T00:00:00Z","closedAt":null})";

constexpr const char* kUnavailable =
    R"({"type":"https://billing.operator.dev/problems/unavailable","title":"Ledger unavailable",)"
    R"("status":503,"detail":"database is busy"})";

class LedgerClientTest : public ::testing::Test {
 protected:
  LedgerClient makeClient(const std::string& url, int attempts = 5) {
    LedgerClientOptions options;
    options.baseUrl = url;
    options.token = "operator-token";
    options.timeout = std::chrono::milliseconds(2000);
    options.retry.maxAttempts = attempts;
    options.retry.initialBackoff = std::chrono::milliseconds(100);
    options.retry.maxBackoff = std::chrono::milliseconds(1000);
    options.retry.maxRetryAfter = std::chrono::milliseconds(30000);
    options.jitterSeed = 42;
    options.sleep = [this](std::chrono::milliseconds delay) {
      sleeps_.push_back(delay);
      if (onSleep_) onSleep_();
    };
    return LedgerClient(options);
  }

  static backend::AccountSpec spec() {
    backend::AccountSpec s;
    s.id = "uid-1";
    s.name = "Acme";
    s.organization = "acme";
    s.currency = "EUR";
    return s;
  }

  std::vector<std::chrono::milliseconds> sleeps_;
  std::function<void()> onSleep_;
};

TEST_F(LedgerClientTest, Retries503ThenSucceedsWithTheSameIdempotencyKey) {
  ScriptedServer server(
      {{503, kUnavailable, {}}, {503, kUnavailable, {}}, {200, kAccountJson, {}}});
  auto client = makeClient(server.url());
  auto account = client.upsertAccount(spec(), "bg-uid-1-gen-3");
  ASSERT_TRUE(account) << account.error().message();
  EXPECT_EQ(account->spec.id, "uid-1");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const ReceivedRequest& request : requests) {
    EXPECT_EQ(request.method, "PUT");
    EXPECT_EQ(request.path, "/v1/accounts/uid-1");
    EXPECT_EQ(request.idempotencyKey, "bg-uid-1-gen-3") << "every attempt reuses the key";
    EXPECT_EQ(request.authorization, "Bearer operator-token");
    EXPECT_EQ(request.body, requests.front().body) << "every attempt sends the same body";
  }
  // Capped exponential backoff with jitter: [50, 100] ms, then [100, 200] ms.
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_GE(sleeps_[0].count(), 50);
  EXPECT_LE(sleeps_[0].count(), 100);
  EXPECT_GE(sleeps_[1].count(), 100);
  EXPECT_LE(sleeps_[1].count(), 200);
}

TEST_F(LedgerClientTest, HonoursRetryAfterOn429) {
  ScriptedServer server(
      {{429, R"({"detail":"slow down"})", {{"Retry-After", "2"}}}, {200, kAccountJson, {}}});
  auto client = makeClient(server.url());
  auto account = client.getAccount("uid-1");
  ASSERT_TRUE(account) << account.error().message();
  EXPECT_THAT(sleeps_, ElementsAre(std::chrono::milliseconds(2000)));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(LedgerClientTest, HonoursRetryAfterAsAnHttpDateAndCapsIt) {
  const auto in3s = utility::datetime::utc_now() + utility::datetime::from_seconds(3);
  ScriptedServer server({{429, "", {{"Retry-After", in3s.to_string(utility::datetime::RFC_1123)}}},
                         {429, "", {{"Retry-After", "3600"}}},
                         {200, kAccountJson, {}}});
  auto client = makeClient(server.url());
  ASSERT_TRUE(client.getAccount("uid-1"));
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_GE(sleeps_[0].count(), 1000);
  EXPECT_LE(sleeps_[0].count(), 3000);
  EXPECT_EQ(sleeps_[1], std::chrono::milliseconds(30000)) << "capped at maxRetryAfter";
}

TEST_F(LedgerClientTest, GivesUpAfterMaxAttemptsWithAnUnavailableValue) {
  ScriptedServer server({{503, kUnavailable, {}}});
  auto client = makeClient(server.url(), 3);
  auto result = client.finalizeInvoice("inv_1", "finalize-inv_1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, backend::BackendErrorKind::Unavailable);
  EXPECT_EQ(result.error().httpStatus, 503);
  EXPECT_EQ(result.error().problemType, "unavailable");
  EXPECT_THAT(result.error().detail, HasSubstr("database is busy"));
  EXPECT_THAT(result.error().detail, HasSubstr("gave up after 3 attempts"));
  EXPECT_TRUE(result.error().retryable());
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(LedgerClientTest, AnInternalServerErrorIsRetriedThenReportedAsInternal) {
  ScriptedServer server({{500, "boom", {}}});
  auto client = makeClient(server.url(), 2);
  auto result = client.getInvoice("inv_1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, backend::BackendErrorKind::Internal);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(LedgerClientTest, OtherErrorsAreValuesAndNotRetried) {
  ScriptedServer server(
      {{409,
        R"({"type":"https://billing.operator.dev/problems/overlapping-membership","title":"Overlapping membership",)"
        R"("status":409,"detail":"project \"acme/web\" already belongs to account \"a\"","field":"effectiveFrom"})",
        {}}});
  auto client = makeClient(server.url());
  auto result = client.addMembership("acme/web", "b", ledger::testing::at("2026-11-01T00:00:00Z"),
                                     std::nullopt, "member-1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, backend::BackendErrorKind::Conflict);
  EXPECT_EQ(result.error().httpStatus, 409);
  EXPECT_EQ(result.error().problemType, "overlapping-membership");
  EXPECT_EQ(result.error().field, "effectiveFrom");
  EXPECT_FALSE(result.error().retryable());
  EXPECT_EQ(result.error().message(),
            "Conflict (409 overlapping-membership): project \"acme/web\" already belongs to "
            "account \"a\" [effectiveFrom]");
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(sleeps_.empty());

  for (auto [status, kind] : std::vector<std::pair<int, backend::BackendErrorKind>>{
           {400, backend::BackendErrorKind::Invalid},
           {401, backend::BackendErrorKind::Unauthorized},
           {404, backend::BackendErrorKind::NotFound},
           {422, backend::BackendErrorKind::Invalid}}) {
    ScriptedServer other({{status, R"({"detail":"no"})", {}}});
    auto failed = makeClient(other.url()).getAccount("x");
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind, kind) << status;
    EXPECT_EQ(other.requests().size(), 1u) << status;
  }
}

TEST_F(LedgerClientTest, NetworkErrorsAreRetriedWithTheSameKey) {
  const int port = ledger::testing::freePort();
  std::unique_ptr<ScriptedServer> server;
  // Nothing listens at first; the ledger comes up while the client backs off.
  onSleep_ = [&] {
    if (!server)
      server = std::make_unique<ScriptedServer>(
          std::vector<ScriptedResponse>{{201, kAccountJson, {}}}, port);
  };
  auto client = makeClient("http://127.0.0.1:" + std::to_string(port));
  auto account = client.upsertAccount(spec(), "key-network");
  ASSERT_TRUE(account) << account.error().message();
  EXPECT_EQ(sleeps_.size(), 1u);
  ASSERT_TRUE(server);
  ASSERT_EQ(server->requests().size(), 1u);
  EXPECT_EQ(server->requests()[0].idempotencyKey, "key-network");
}

TEST_F(LedgerClientTest, AnUnreachableLedgerIsUnavailable) {
  auto client = makeClient("http://127.0.0.1:" + std::to_string(ledger::testing::freePort()), 3);
  auto result = client.getAccount("x");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, backend::BackendErrorKind::Unavailable);
  EXPECT_EQ(result.error().httpStatus, 0);
  EXPECT_THAT(result.error().detail, HasSubstr("cannot reach the ledger"));
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(LedgerClientTest, AnAnswerOutsideTheContractIsInternal) {
  ScriptedServer server({{200, "<html>proxy login</html>", {}}});
  auto result = makeClient(server.url()).getAccount("x");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, backend::BackendErrorKind::Internal);
  EXPECT_THAT(result.error().detail, HasSubstr("does not follow the contract"));
}

// --ledger-token-file promises that a rotated token takes effect without a restart.
TEST_F(LedgerClientTest, ATokenFileIsReadAgainWhenItChanges) {
  ledger::testing::TempDir dir;
  const std::string file = (dir.path() / "token").string();
  std::ofstream(file) << "first-token\n";
  ScriptedServer server({{200, kAccountJson, {}}});
  LedgerClientOptions options;
  options.baseUrl = server.url();
  options.tokenFile = file;
  auto client = LedgerClient::create(options);
  ASSERT_TRUE(client) << client.error();
  ASSERT_TRUE((*client)->getAccount("uid-1"));
  // A longer token, so that the size changes even where file times are coarse.
  std::ofstream(file, std::ios::trunc) << "second-rotated-token\n";
  ASSERT_TRUE((*client)->getAccount("uid-1"));
  // Mid-rotation the file may be missing for a moment: the last token is kept.
  std::filesystem::remove(file);
  ASSERT_TRUE((*client)->getAccount("uid-1"));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].authorization, "Bearer first-token");
  EXPECT_EQ(requests[1].authorization, "Bearer second-rotated-token");
  EXPECT_EQ(requests[2].authorization, "Bearer second-rotated-token");

  options.tokenFile = file;  // now missing: refused when the client is made
  EXPECT_THAT(LedgerClient::create(options).error(), HasSubstr(file));
}

TEST(LedgerClientCreateTest, RefusesUnusableOptionsWithAReason) {
  LedgerClientOptions options;
  options.baseUrl = "billing-ledger:8443";
  EXPECT_THAT(LedgerClient::create(options).error(), HasSubstr("not an http:// or https:// URL"));
  options.baseUrl = "https://billing-ledger:8443";
  options.caFile = "/nonexistent/ca.pem";
  EXPECT_THAT(LedgerClient::create(options).error(), HasSubstr("cannot read the ledger CA file"));
  options.caFile.clear();
  options.token = "a\nb";
  EXPECT_THAT(LedgerClient::create(options).error(), HasSubstr("one line"));
  options.token = "t";
  EXPECT_TRUE(LedgerClient::create(options));
}

TEST(BackoffTest, IsExponentialCappedAndJittered) {
  RetryPolicy policy;
  policy.initialBackoff = std::chrono::milliseconds(200);
  policy.maxBackoff = std::chrono::milliseconds(5000);
  std::mt19937_64 random(7);
  std::set<std::int64_t> seen;
  for (int retry = 1; retry <= 12; ++retry) {
    const std::int64_t ceiling = std::min<std::int64_t>(200LL << (retry - 1), 5000);
    for (int sample = 0; sample < 20; ++sample) {
      const auto delay = backoffDelay(policy, retry, random).count();
      EXPECT_GE(delay, ceiling / 2) << retry;
      EXPECT_LE(delay, ceiling) << retry;
      if (retry == 12) seen.insert(delay);
    }
  }
  EXPECT_GT(seen.size(), 5u) << "delays are jittered, not all equal";
}

TEST(RetryAfterTest, ParsesSecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parseRetryAfter("120", now), std::chrono::milliseconds(120000));
  EXPECT_EQ(parseRetryAfter(" 0 ", now), std::chrono::milliseconds(0));
  EXPECT_EQ(parseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(parseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(parseRetryAfter("", now), std::nullopt);
  const auto past = parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now);
  ASSERT_TRUE(past);
  EXPECT_EQ(*past, std::chrono::milliseconds(0)) << "a date in the past means retry now";
}

}  // namespace
}  // namespace billing::ledger_client
