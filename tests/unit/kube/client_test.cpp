// The client against a fake API server over real TLS (common::HttpServer), once per transport:
// paths and bodies, metav1.Status errors, retries, rate limits, timeouts, credentials, TLS and
// watches. Time that the client waits (backoff, Retry-After, rate limits) goes through a fake
// clock, so the tests measure the waits without sleeping.
#include "operator/kube/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/json.h"
#include "operator/kube/client_impl.h"
#include "operator/kube/config.h"
#include "tests/unit/kube/mocks.h"
#include "tests/unit/kube/test_support.h"

namespace billing::kube {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using testing::FakeClock;
using testing::FakeServer;
using ::testing::HasSubstr;
using testing::jsonHeaders;
using testing::Latch;
using ::testing::Not;
using testing::statusBody;
using testing::testPki;
using namespace std::chrono_literals;
using web::json::value;

const ResourceRef kBillingGroups{"billing.operator.dev", "v1alpha1", "billinggroups",
                                 "BillingGroup", true};
const ResourceRef kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
const ResourceRef kNamespaces{"", "v1", "namespaces", "Namespace", false};
constexpr const char* kToken = "t0ken-s3cr3t-value";

value json(std::string_view text) {
  auto parsed = common::parseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(value());
}

std::string group(const std::string& name, const std::string& rv = "7") {
  return R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup","metadata":{"name":")" +
         name + R"(","namespace":"acme","resourceVersion":")" + rv + R"("}})";
}

void respondJson(common::HttpResponseWriter& writer, int status, const std::string& body,
                 common::HttpHeaders headers = jsonHeaders()) {
  writer.respond(status, std::move(headers), body);
}

class ClientTest : public ::testing::TestWithParam<TransportKind> {
 protected:
  RestConfig configFor(FakeServer& server) {
    RestConfig config;
    config.server = server.url();
    config.caPem = testPki().ca.certPem;
    config.bearerToken = kToken;
    config.transport = GetParam();
    config.source = "context \"test\" of kubeconfig /tmp/test";
    config.timeout = 5s;
    return config;
  }
  ClientOptions options() {
    ClientOptions result;
    result.clock = clock;
    result.random = [] { return 1.0; };  // the full backoff, so that waits are exact
    return result;
  }
  std::unique_ptr<Client> make(const RestConfig& config) { return make(config, options()); }
  std::unique_ptr<Client> make(const RestConfig& config, ClientOptions clientOptions) {
    auto client = makeClient(config, std::move(clientOptions));
    EXPECT_TRUE(client.has_value()) << client.error().describe();
    return client ? std::move(*client) : nullptr;
  }

  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
};

TEST_P(ClientTest, GetSendsTheTokenAndReturnsTheObject) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 200, group("gold"));
  });
  auto object = make(configFor(server))->get(kBillingGroups, "acme", "gold");
  ASSERT_TRUE(object.has_value()) << object.error().describe();
  EXPECT_EQ(object->at("metadata").at("name").as_string(), "gold");
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.path, "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups/gold");
  EXPECT_EQ(seen.headers.get("Authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(seen.headers.get("Accept"), "application/json");
  EXPECT_EQ(seen.headers.get("User-Agent"), "billing-operator");
  EXPECT_FALSE(seen.peer.has_value());
}

TEST_P(ClientTest, AuthenticatesWithAClientCertificate) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    if (!request.peer || request.peer->commonName != "alice") {
      respondJson(writer, 401, statusBody(401, "Unauthorized", "Unauthorized"));
      return;
    }
    respondJson(writer, 200, group("gold"));
  });
  RestConfig config = configFor(server);
  config.bearerToken.clear();
  config.clientCertPem = testPki().client.certPem;
  config.clientKeyPem = testPki().client.keyPem;
  auto object = make(config)->get(kBillingGroups, "acme", "gold");
  ASSERT_TRUE(object.has_value()) << object.error().describe();
  EXPECT_FALSE(server.requests().at(0).headers.contains("Authorization"));
}

TEST_P(ClientTest, BuildsPathsForCoreNamedAndClusterScopedResources) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    if (request.path.ends_with("billinggroups")) {
      respondJson(writer, 200, R"({"kind":"BillingGroupList","metadata":{},"items":[]})");
    } else {
      respondJson(writer, 200, R"({"kind":"X","metadata":{"name":"x"}})");
    }
  });
  auto client = make(configFor(server));
  ASSERT_TRUE(client->get(kConfigMaps, "acme", "settings"));
  ASSERT_TRUE(client->get(kNamespaces, "ignored", "acme"));
  ASSERT_TRUE(client->list(kBillingGroups, "", {}));
  auto requests = server.requests();
  EXPECT_EQ(requests[0].path, "/api/v1/namespaces/acme/configmaps/settings");
  EXPECT_EQ(requests[1].path, "/api/v1/namespaces/acme");
  EXPECT_EQ(requests[2].path, "/apis/billing.operator.dev/v1alpha1/billinggroups");
}

TEST_P(ClientTest, ListSendsItsOptionsAndReadsThePage) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(
        writer, 200,
        R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"42",)"
        R"("continue":"next-page","remainingItemCount":3},"items":[{"metadata":{"name":"a"}},)"
        R"({"metadata":{"name":"b"}}]})");
  });
  ListOptions options;
  options.labelSelector = "billing.operator.dev/organization in (acme,beta)";
  options.fieldSelector = "metadata.name!=x";
  options.limit = 2;
  options.continueToken = "tok en";
  options.resourceVersion = "40";
  auto page = make(configFor(server))->list(kConfigMaps, "acme", options);
  ASSERT_TRUE(page.has_value()) << page.error().describe();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].at("kind").as_string(), "ConfigMap");  // filled in
  EXPECT_EQ(page->items[0].at("apiVersion").as_string(), "v1");
  EXPECT_EQ(page->resourceVersion, "42");
  EXPECT_EQ(page->continueToken, "next-page");
  EXPECT_EQ(page->remainingItemCount, 3);
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.query("labelSelector"), options.labelSelector);
  EXPECT_EQ(seen.query("fieldSelector"), options.fieldSelector);
  EXPECT_EQ(seen.query("limit"), "2");
  EXPECT_EQ(seen.query("continue"), "tok en");
  EXPECT_EQ(seen.query("resourceVersion"), "40");
}

TEST_P(ClientTest, WritesGoToTheRightPlaceWithTheirOptions) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    respondJson(writer, request.method == "POST" ? 201 : 200, request.body);
  });
  auto client = make(configFor(server));
  value object = json(group("gold"));
  auto created = client->create(kBillingGroups, "acme", object);
  ASSERT_TRUE(created.has_value()) << created.error().describe();
  EXPECT_TRUE(common::jsonEqual(*created, object));
  WriteOptions dryRun;
  dryRun.dryRun = true;
  dryRun.fieldManager = "kubectl-edit";
  ASSERT_TRUE(client->update(kBillingGroups, "acme", object, dryRun));
  ASSERT_TRUE(client->updateStatus(kBillingGroups, "acme", object));
  auto requests = server.requests();
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups");
  EXPECT_EQ(requests[0].headers.get("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].query("fieldManager"), "billing-operator");
  EXPECT_FALSE(requests[0].query("dryRun").has_value());
  EXPECT_TRUE(common::jsonEqual(json(requests[0].body), object));
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].path,
            "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups/gold");
  EXPECT_EQ(requests[1].query("dryRun"), "All");
  EXPECT_EQ(requests[1].query("fieldManager"), "kubectl-edit");
  EXPECT_EQ(requests[2].path,
            "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups/gold/status");
}

TEST_P(ClientTest, AnUpdateWithoutANameFailsBeforeSending) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 200, "{}");
  });
  auto result = make(configFor(server))->update(kBillingGroups, "acme", json(R"({"spec":{}})"));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST_P(ClientTest, PatchesCarryTheirContentType) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 200, group("gold", "8"));
  });
  auto client = make(configFor(server));
  ASSERT_TRUE(client->patch(kBillingGroups, "acme", "gold", PatchType::Merge,
                            json(R"({"metadata":{"labels":{"tier":"gold"}}})")));
  ASSERT_TRUE(client->patch(kBillingGroups, "acme", "gold", PatchType::Json,
                            json(R"([{"op":"remove","path":"/metadata/finalizers/0"}])")));
  ASSERT_TRUE(client->patch(kBillingGroups, "acme", "gold", PatchType::Merge,
                            json(R"({"status":{"projectCount":2}})"), true));
  auto requests = server.requests();
  EXPECT_EQ(requests[0].method, "PATCH");
  EXPECT_EQ(requests[0].headers.get("Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(requests[1].headers.get("Content-Type"), "application/json-patch+json");
  EXPECT_EQ(requests[1].body, R"([{"op":"remove","path":"/metadata/finalizers/0"}])");
  EXPECT_TRUE(requests[2].path.ends_with("/billinggroups/gold/status"));
}

TEST_P(ClientTest, DeleteSendsItsOptionsAndReturnsWhatRemains) {
  std::atomic<int> calls{0};
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    if (calls++ == 0) {
      respondJson(
          writer, 200,
          R"({"kind":"Status","apiVersion":"v1","status":"Success","details":{"name":"gold"}})");
    } else {
      respondJson(writer, 200,
                  R"({"kind":"BillingGroup","metadata":{"name":"held","deletionTimestamp":)"
                  R"("2024-05-06T10:00:00Z","finalizers":["billing.operator.dev/invoice"]}})");
    }
  });
  auto client = make(configFor(server));
  DeleteOptions options;
  options.propagationPolicy = PropagationPolicy::Foreground;
  options.preconditionUid = "0b5f-uid";
  options.preconditionResourceVersion = "7";
  auto gone = client->remove(kBillingGroups, "acme", "gold", options);
  ASSERT_TRUE(gone.has_value()) << gone.error().describe();
  EXPECT_FALSE(gone->has_value());
  auto held = client->remove(kBillingGroups, "acme", "held");
  ASSERT_TRUE(held.has_value()) << held.error().describe();
  ASSERT_TRUE(held->has_value());
  EXPECT_TRUE((*held)->at("metadata").has_field("deletionTimestamp"));
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.method, "DELETE");
  EXPECT_TRUE(common::jsonEqual(
      json(seen.body),
      json(R"({"apiVersion":"v1","kind":"DeleteOptions","propagationPolicy":"Foreground",)"
           R"("preconditions":{"uid":"0b5f-uid","resourceVersion":"7"}})")))
      << seen.body;
}

struct StatusCase {
  int code;
  std::string reason;
  ErrorKind kind;
};

TEST_P(ClientTest, EachStatusBecomesTheErrorKindCallersBranchOn) {
  const std::vector<StatusCase> cases = {
      {404, "NotFound", ErrorKind::NotFound},
      {409, "AlreadyExists", ErrorKind::AlreadyExists},
      {409, "Conflict", ErrorKind::Conflict},
      {410, "Gone", ErrorKind::Gone},
      {422, "Invalid", ErrorKind::Invalid},
      {400, "BadRequest", ErrorKind::BadRequest},
      {403, "Forbidden", ErrorKind::Forbidden},
      {405, "MethodNotAllowed", ErrorKind::MethodNotAllowed},
      {415, "UnsupportedMediaType", ErrorKind::UnsupportedMediaType},
      {429, "TooManyRequests", ErrorKind::TooManyRequests},
      {500, "InternalError", ErrorKind::ServerError},
      {503, "ServiceUnavailable", ErrorKind::ServerError},
      {504, "Timeout", ErrorKind::Timeout},
  };
  std::mutex mutex;
  StatusCase current{};
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    std::lock_guard lock(mutex);
    respondJson(writer, current.code, statusBody(current.code, current.reason, "refused"));
  });
  ClientOptions noRetries = options();
  noRetries.retry.maxRetries = 0;
  auto client = make(configFor(server), noRetries);
  for (const auto& statusCase : cases) {
    {
      std::lock_guard lock(mutex);
      current = statusCase;
    }
    auto result = client->create(kBillingGroups, "acme", json(group("gold")));
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().kind, statusCase.kind) << statusCase.code << " " << statusCase.reason;
    EXPECT_EQ(result.error().httpStatus, statusCase.code);
    EXPECT_EQ(result.error().reason, statusCase.reason);
    EXPECT_EQ(result.error().verb, "create");
    EXPECT_EQ(result.error().resource, "billinggroups.billing.operator.dev");
  }
}

TEST_P(ClientTest, ForbiddenNamesTheVerbAndTheResource) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 403,
                statusBody(403, "Forbidden",
                           "billinggroups.billing.operator.dev is forbidden: User "
                           "\\\"system:serviceaccount:billing:operator\\\" cannot list resource "
                           "\\\"billinggroups\\\" in API group \\\"billing.operator.dev\\\" in the "
                           "namespace \\\"acme\\\"",
                           R"({"group":"billing.operator.dev","kind":"billinggroups"})"));
  });
  auto result = make(configFor(server))->list(kBillingGroups, "acme", {});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::Forbidden);
  EXPECT_THAT(result.error().describe(),
              ::testing::StartsWith("forbidden: cannot list billinggroups.billing.operator.dev in "
                                    "namespace \"acme\": billinggroups.billing.operator.dev is "
                                    "forbidden: User"));
  EXPECT_EQ(server.requestCount(), 1u);  // not retried
}

TEST_P(ClientTest, InvalidCarriesTheFieldCauses) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 422,
                statusBody(422, "Invalid",
                           "BillingGroup.billing.operator.dev \\\"gold\\\" is invalid: "
                           "spec.currency: Required value",
                           R"({"name":"gold","causes":[{"reason":"FieldValueRequired",)"
                           R"("message":"Required value","field":"spec.currency"}]})"));
  });
  auto result = make(configFor(server))->create(kBillingGroups, "acme", json(group("gold")));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::Invalid);
  ASSERT_EQ(result.error().causes.size(), 1u);
  EXPECT_EQ(result.error().causes[0].field, "spec.currency");
  EXPECT_EQ(result.error().name, "gold");
  EXPECT_THAT(result.error().describe(),
              HasSubstr("invalid: create billinggroups.billing.operator.dev \"gold\" in namespace "
                        "\"acme\""));
}

TEST_P(ClientTest, TooManyRequestsWaitsRetryAfterThenRetriesEvenWrites) {
  std::atomic<int> calls{0};
  FakeServer server([&](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    if (calls++ == 0) {
      common::HttpHeaders headers = jsonHeaders();
      headers.add("Retry-After", "3");
      respondJson(writer, 429, statusBody(429, "TooManyRequests", "slow down"), headers);
      return;
    }
    respondJson(writer, request.method == "POST" ? 201 : 200, group("gold"));
  });
  auto client = make(configFor(server));
  auto created = client->create(kBillingGroups, "acme", json(group("gold")));
  ASSERT_TRUE(created.has_value()) << created.error().describe();
  EXPECT_EQ(server.requestCount(), 2u);
  ASSERT_EQ(clock->sleeps().size(), 1u);
  EXPECT_EQ(clock->sleeps()[0], 3s);  // exactly the server's Retry-After, then the retry
  auto requests = server.requests();
  EXPECT_EQ(requests[0].body, requests[1].body);
}

TEST_P(ClientTest, ALongRetryAfterIsHandedToTheCaller) {
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    common::HttpHeaders headers = jsonHeaders();
    headers.add("Retry-After", "600");
    respondJson(writer, 429, statusBody(429, "TooManyRequests", "come back later"), headers);
  });
  auto result = make(configFor(server))->get(kBillingGroups, "acme", "gold");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::TooManyRequests);
  EXPECT_EQ(result.error().retryAfter, 600s);
  EXPECT_EQ(server.requestCount(), 1u);
  EXPECT_TRUE(clock->sleeps().empty());
}

TEST_P(ClientTest, ServerErrorsAreRetriedForReadsOnly) {
  std::atomic<int> calls{0};
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    if (calls++ < 2) {
      respondJson(writer, 503, statusBody(503, "ServiceUnavailable", "etcd is busy"));
    } else {
      respondJson(writer, 200, group("gold"));
    }
  });
  auto client = make(configFor(server));
  auto got = client->get(kBillingGroups, "acme", "gold");
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(server.requestCount(), 3u);
  EXPECT_THAT(clock->sleeps(), ElementsAre(100ms, 200ms));  // exponential backoff

  calls = 0;
  auto created = client->create(kBillingGroups, "acme", json(group("gold")));
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().kind, ErrorKind::ServerError);
  EXPECT_EQ(server.requestCount(), 4u);  // one POST, not retried: it may have been applied
}

TEST_P(ClientTest, BackoffIsExponentialCappedAndJittered) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 500, statusBody(500, "InternalError", "boom"));
  });
  ClientOptions clientOptions = options();
  clientOptions.retry.maxRetries = 6;
  clientOptions.retry.initialBackoff = 100ms;
  clientOptions.retry.maxBackoff = 1s;
  auto result = make(configFor(server), clientOptions)->get(kBillingGroups, "acme", "gold");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::ServerError);
  EXPECT_EQ(server.requestCount(), 7u);
  EXPECT_THAT(clock->sleeps(), ElementsAre(100ms, 200ms, 400ms, 800ms, 1s, 1s));

  // With the random draw at 0, each wait is half: jitter spreads waits over [d/2, d].
  auto halfClock = std::make_shared<FakeClock>();
  clientOptions.clock = halfClock;
  clientOptions.random = [] { return 0.0; };
  clientOptions.retry.maxRetries = 3;
  ASSERT_FALSE(make(configFor(server), clientOptions)->get(kBillingGroups, "acme", "gold"));
  EXPECT_THAT(halfClock->sleeps(), ElementsAre(50ms, 100ms, 200ms));
}

TEST_P(ClientTest, ConnectionRefusedIsRetriedForEveryVerbThenExplained) {
  std::string url;
  {
    FakeServer gone([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
      respondJson(writer, 200, "{}");
    });
    url = gone.url();
  }
  RestConfig config;
  config.server = url;
  config.caPem = testPki().ca.certPem;
  config.transport = GetParam();
  auto result = make(config)->create(kBillingGroups, "acme", json(group("gold")));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::Network);
  EXPECT_THAT(result.error().describe(), HasSubstr("cannot reach the API server at " + url));
  EXPECT_EQ(clock->sleeps().size(), 5u);  // the default policy's five retries
  EXPECT_TRUE(result.error().retriable());
}

TEST_P(ClientTest, ARequestTimesOut) {
  Latch release;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    release.wait(5s);
    respondJson(writer, 200, group("late"));
  });
  RestConfig config = configFor(server);
  config.timeout = 200ms;
  ClientOptions clientOptions = options();
  clientOptions.retry.maxRetries = 1;
  auto client = make(config, clientOptions);
  auto started = std::chrono::steady_clock::now();
  auto created = client->create(kBillingGroups, "acme", json(group("gold")));
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().kind, ErrorKind::Timeout);
  EXPECT_THAT(created.error().describe(), HasSubstr("did not answer in time"));
  EXPECT_LT(elapsed, 3s);
  EXPECT_TRUE(server.waitForRequests(1));
  auto got = client->get(kBillingGroups, "acme", "gold");  // reads are retried after a timeout
  ASSERT_FALSE(got.has_value());
  EXPECT_TRUE(server.waitForRequests(3));
  release.set();
}

TEST_P(ClientTest, RequestsAreRateLimited) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 200, group("gold"));
  });
  RestConfig config = configFor(server);
  config.qps = 2;
  config.burst = 1;
  auto client = make(config);
  const auto start = clock->now();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->get(kBillingGroups, "acme", "gold"));
  EXPECT_EQ(server.requestCount(), 5u);
  // One from the burst, four at two per second.
  EXPECT_EQ(clock->now() - start, 2s);
}

TEST_P(ClientTest, A401ReRunsTheExecPluginAndRetriesOnce) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    if (request.headers.get("Authorization") != "Bearer token-2") {
      respondJson(writer, 401, statusBody(401, "Unauthorized", "Unauthorized"));
      return;
    }
    respondJson(writer, 200, group("gold"));
  });
  auto runner = std::make_shared<testing::MockCommandRunner>();
  int runs = 0;
  EXPECT_CALL(*runner, run(_, _, _, _, _, _)).Times(2).WillRepeatedly([&](auto&&...) {
    ++runs;
    return CommandResult{0,
                         R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":)"
                         R"("ExecCredential","status":{"token":"token-)" +
                             std::to_string(runs) + R"("}})",
                         ""};
  });
  RestConfig config = configFor(server);
  config.bearerToken.clear();
  config.exec = ExecConfig{};
  config.exec->apiVersion = "client.authentication.k8s.io/v1beta1";
  config.exec->command = testing::testdata("bin/aws").string();
  config.exec->interactiveMode = "Never";
  ClientOptions clientOptions = options();
  clientOptions.commandRunner = runner;
  auto client = make(config, clientOptions);
  auto got = client->get(kBillingGroups, "acme", "gold");
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(server.requestCount(), 2u);
  ASSERT_TRUE(client->get(kBillingGroups, "acme", "gold"));  // token-2 is cached now
  EXPECT_EQ(runs, 2);
}

TEST_P(ClientTest, A401WithAStaticTokenExplainsWithoutTheToken) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 401, statusBody(401, "Unauthorized", "Unauthorized"));
  });
  auto result = make(configFor(server))->get(kBillingGroups, "acme", "gold");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::Unauthorized);
  const std::string text = result.error().describe();
  EXPECT_THAT(text,
              HasSubstr("unauthorized: cannot get billinggroups.billing.operator.dev \"gold\""));
  EXPECT_THAT(text, HasSubstr("rejected the bearer token from context \"test\""));
  EXPECT_THAT(text, Not(HasSubstr(kToken)));
  EXPECT_EQ(server.requestCount(), 1u);
}

TEST_P(ClientTest, AClientCertificateFromAnExecPluginIsPresented) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    respondJson(writer, 200,
                R"({"kind":"X","metadata":{"name":")" +
                    (request.peer ? request.peer->commonName : std::string("nobody")) + R"("}})");
  });
  auto runner = std::make_shared<testing::MockCommandRunner>();
  value status = value::object();
  status["clientCertificateData"] = value::string(testPki().client.certPem);
  status["clientKeyData"] = value::string(testPki().client.keyPem);
  value credential = value::object();
  credential["apiVersion"] = value::string("client.authentication.k8s.io/v1");
  credential["kind"] = value::string("ExecCredential");
  credential["status"] = status;
  EXPECT_CALL(*runner, run(_, _, _, _, _, _))
      .WillOnce(::testing::Return(CommandResult{0, common::toJson(credential), ""}));
  RestConfig config = configFor(server);
  config.bearerToken.clear();
  config.exec = ExecConfig{"client.authentication.k8s.io/v1",
                           testing::testdata("bin/aws").string(),
                           {},
                           {},
                           "Never",
                           "",
                           false,
                           std::nullopt};
  ClientOptions clientOptions = options();
  clientOptions.commandRunner = runner;
  auto got = make(config, clientOptions)->get(kBillingGroups, "acme", "me");
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(got->at("metadata").at("name").as_string(), "alice");
}

TEST_P(ClientTest, AServerCertificateFromAnotherCaIsATlsErrorThatSaysWhatToCheck) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 200, "{}");
  });
  RestConfig config = configFor(server);
  config.caPem = testPki().otherCa.certPem;
  auto result = make(config)->get(kBillingGroups, "acme", "gold");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ErrorKind::Tls);
  const std::string text = result.error().describe();
  EXPECT_THAT(text, HasSubstr("TLS with the API server at " + server.url()));
  EXPECT_THAT(text, HasSubstr("certificate verify failed"));
  EXPECT_THAT(text,
              HasSubstr("check certificate-authority and tls-server-name in context \"test\""));
  EXPECT_TRUE(clock->sleeps().empty());  // not retried
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST_P(ClientTest, InsecureSkipTlsVerifyTrustsAnyCertificate) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 200, group("gold"));
  });
  RestConfig config = configFor(server);
  config.caPem.clear();
  config.insecureSkipTlsVerify = true;
  EXPECT_TRUE(make(config)->get(kBillingGroups, "acme", "gold").has_value());
  config.insecureSkipTlsVerify = false;  // and without it, the system store does not trust it
  auto refused = make(config)->get(kBillingGroups, "acme", "gold");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Tls);
  EXPECT_THAT(refused.error().message, HasSubstr("set certificate-authority"));
}

TEST_P(ClientTest, TlsServerNameNamesTheCertificate) {
  FakeServer server(
      [](const common::HttpRequest&, common::HttpResponseWriter& writer) {
        respondJson(writer, 200, group("gold"));
      },
      true, &testPki().namedServer);
  RestConfig config = configFor(server);
  auto refused = make(config)->get(kBillingGroups, "acme", "gold");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::Tls);
  config.tlsServerName = "api.billing.test";
  auto got = make(config)->get(kBillingGroups, "acme", "gold");
  EXPECT_TRUE(got.has_value()) << got.error().describe();
}

TEST_P(ClientTest, AKindKubeconfigWorksEndToEnd) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    if (!request.peer) {
      respondJson(writer, 401, statusBody(401, "Unauthorized", "Unauthorized"));
      return;
    }
    respondJson(
        writer, 200,
        R"({"kind":"Namespace","metadata":{"name":")" + request.peer->commonName + R"("}})");
  });
  testing::TempDir dir;
  const auto& pki = testPki();
  auto path = dir.write("config",
                        "apiVersion: v1\nkind: Config\ncurrent-context: kind-billing\nclusters:\n"
                        "- cluster:\n    certificate-authority-data: " +
                            common::base64Encode(pki.ca.certPem) + "\n    server: " + server.url() +
                            "\n  name: kind-billing\ncontexts:\n- context:\n    cluster: "
                            "kind-billing\n    user: kind-billing\n  name: kind-billing\nusers:\n- "
                            "name: kind-billing\n  user:\n    client-certificate-data: " +
                            common::base64Encode(pki.client.certPem) + "\n    client-key-data: " +
                            common::base64Encode(pki.client.keyPem) + "\n");
  ConfigLoadOptions load;
  load.kubeconfig = path;
  load.environment = Environment{};
  auto config = loadRestConfig(load);
  ASSERT_TRUE(config.has_value()) << config.error().describe();
  config->transport = GetParam();
  auto got = make(*config)->get(kNamespaces, "", "whoami");
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(got->at("metadata").at("name").as_string(), "alice");
}

TEST_P(ClientTest, KeepsTheServersPathPrefix) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    respondJson(writer, 200, group("gold"));
  });
  RestConfig config = configFor(server);
  config.server = server.url() + "/k8s/clusters/c-m-42/";
  ASSERT_TRUE(make(config)->get(kBillingGroups, "acme", "gold"));
  EXPECT_EQ(server.requests().at(0).path,
            "/k8s/clusters/c-m-42/apis/billing.operator.dev/v1alpha1/namespaces/acme/"
            "billinggroups/gold");
}

TEST_P(ClientTest, IsSafeToShareBetweenThreads) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    auto name = request.path.substr(request.path.rfind('/') + 1);
    respondJson(writer, 200, group(name));
  });
  RestConfig config = configFor(server);
  config.qps = -1;
  auto client = make(config);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string name = "g" + std::to_string(t) + "-" + std::to_string(i);
        auto got = client->get(kBillingGroups, "acme", name);
        if (got && got->at("metadata").at("name").as_string() == name) ++good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 60);
}

// --- Watches ---------------------------------------------------------------------------------

std::string event(const std::string& type, const std::string& object) {
  return R"({"type":")" + type + R"(","object":)" + object + "}\n";
}

TEST_P(ClientTest, WatchDeliversEventsAsTheyArriveAndEndsWithTheStream) {
  Latch firstSeen;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, jsonHeaders());
    std::string added = event("ADDED", group("gold", "10"));
    // Split one event over two chunks, and send the next only once the first was decoded.
    writer.writeChunk(added.substr(0, 25));
    writer.writeChunk(added.substr(25));
    if (!firstSeen.wait(5s)) return;
    writer.writeChunk(
        event("MODIFIED", group("gold", "11")) +
        event("BOOKMARK", R"({"kind":"BillingGroup","metadata":{"resourceVersion":"12"}})") +
        event("ERROR", statusBody(410, "Expired", "too old resource version")));
    writer.endStream();
  });
  WatchOptions options;
  options.resourceVersion = "9";
  options.labelSelector = "tier=gold";
  options.timeout = 30s;
  std::vector<WatchEvent> events;
  auto ended = make(configFor(server))
                   ->watch(kBillingGroups, "acme", options,
                           [&](const WatchEvent& received) {
                             events.push_back(received);
                             firstSeen.set();
                             return true;
                           },
                           {});
  ASSERT_TRUE(ended.has_value()) << ended.error().describe();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, WatchEventType::Added);
  EXPECT_EQ(events[1].object.at("metadata").at("resourceVersion").as_string(), "11");
  EXPECT_EQ(events[2].type, WatchEventType::Bookmark);
  EXPECT_EQ(events[3].type, WatchEventType::Error);  // delivered, not returned
  EXPECT_EQ(events[3].object.at("reason").as_string(), "Expired");
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.path, "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups");
  EXPECT_EQ(seen.query("watch"), "true");
  EXPECT_EQ(seen.query("resourceVersion"), "9");
  EXPECT_EQ(seen.query("labelSelector"), "tier=gold");
  EXPECT_EQ(seen.query("allowWatchBookmarks"), "true");
  EXPECT_EQ(seen.query("timeoutSeconds"), "30");
}

TEST_P(ClientTest, AStopTokenEndsABlockedWatchPromptly) {
  Latch streaming;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, jsonHeaders());
    writer.writeChunk(event("ADDED", group("gold")));
    while (!writer.closed()) std::this_thread::sleep_for(10ms);
  });
  std::stop_source stop;
  std::thread stopper;
  auto client = make(configFor(server));
  auto started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point stopAt;
  auto ended = client->watch(
      kBillingGroups, "acme", {},
      [&](const WatchEvent&) {
        stopper = std::thread([&] {
          std::this_thread::sleep_for(100ms);
          stopAt = std::chrono::steady_clock::now();
          stop.request_stop();
        });
        return true;
      },
      stop.get_token());
  auto endedAt = std::chrono::steady_clock::now();
  stopper.join();
  ASSERT_FALSE(ended.has_value());
  EXPECT_EQ(ended.error().kind, ErrorKind::Cancelled);
  EXPECT_LT(endedAt - stopAt, 1s);
  EXPECT_LT(endedAt - started, 5s);
}

TEST_P(ClientTest, ReturningFalseEndsTheWatch) {
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, jsonHeaders());
    for (int i = 0; writer.writeChunk(event("ADDED", group("g" + std::to_string(i)))); ++i) {
      std::this_thread::sleep_for(5ms);
    }
  });
  int seen = 0;
  auto ended =
      make(configFor(server))
          ->watch(kBillingGroups, "acme", {}, [&](const WatchEvent&) { return ++seen < 3; }, {});
  ASSERT_TRUE(ended.has_value()) << ended.error().describe();
  EXPECT_EQ(seen, 3);
}

TEST_P(ClientTest, AWatchTheServerRefusesIsAnError) {
  std::atomic<int> calls{0};
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    if (calls++ == 0) {
      respondJson(writer, 410, statusBody(410, "Expired", "too old resource version: 1 (99)"));
    } else {
      respondJson(writer, 403,
                  statusBody(403, "Forbidden", "billinggroups.billing.operator.dev is forbidden"));
    }
  });
  auto client = make(configFor(server));
  auto gone = client->watch(kBillingGroups, "acme", {}, [](const WatchEvent&) { return true; }, {});
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error().kind, ErrorKind::Gone);
  auto forbidden =
      client->watch(kBillingGroups, "", {}, [](const WatchEvent&) { return true; }, {});
  ASSERT_FALSE(forbidden.has_value());
  EXPECT_EQ(forbidden.error().kind, ErrorKind::Forbidden);
  EXPECT_THAT(forbidden.error().describe(),
              HasSubstr("forbidden: cannot watch billinggroups.billing.operator.dev:"));
}

TEST_P(ClientTest, AWatchStartIsRetriedLikeAnyRead) {
  std::atomic<int> calls{0};
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    if (calls++ == 0) {
      common::HttpHeaders headers = jsonHeaders();
      headers.add("Retry-After", "2");
      respondJson(writer, 429, statusBody(429, "TooManyRequests", "busy"), headers);
      return;
    }
    writer.startStream(200, jsonHeaders());
    writer.writeChunk(event("ADDED", group("gold")));
    writer.endStream();
  });
  int seen = 0;
  auto ended = make(configFor(server))
                   ->watch(kBillingGroups, "acme", {},
                           [&](const WatchEvent&) {
                             ++seen;
                             return true;
                           },
                           {});
  ASSERT_TRUE(ended.has_value()) << ended.error().describe();
  EXPECT_EQ(seen, 1);
  EXPECT_THAT(clock->sleeps(), ElementsAre(2s));
}

TEST_P(ClientTest, AStreamCutByTheServerIsANetworkError) {
  Latch sent;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, jsonHeaders());
    writer.writeChunk(event("ADDED", group("gold")));
    sent.set();
    while (!writer.closed()) std::this_thread::sleep_for(10ms);
  });
  std::thread cutter([&] {
    sent.wait();
    std::this_thread::sleep_for(50ms);
    server.server().closeAllConnections();
  });
  int seen = 0;
  auto ended = make(configFor(server))
                   ->watch(kBillingGroups, "acme", {},
                           [&](const WatchEvent&) {
                             ++seen;
                             return true;
                           },
                           {});
  cutter.join();
  EXPECT_EQ(seen, 1);
  ASSERT_FALSE(ended.has_value());
  EXPECT_EQ(ended.error().kind, ErrorKind::Network);
  EXPECT_THAT(ended.error().describe(), HasSubstr("the watch stream broke"));
}

TEST_P(ClientTest, GarbageInAWatchIsADecodeError) {
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, jsonHeaders());
    writer.writeChunk(event("ADDED", group("gold")) + "<html>proxy error</html>\n");
    writer.endStream();
  });
  int seen = 0;
  auto ended = make(configFor(server))
                   ->watch(kBillingGroups, "acme", {},
                           [&](const WatchEvent&) {
                             ++seen;
                             return true;
                           },
                           {});
  EXPECT_EQ(seen, 1);
  ASSERT_FALSE(ended.has_value());
  EXPECT_EQ(ended.error().kind, ErrorKind::Decode);
}

// --- Helpers over the client -----------------------------------------------------------------

TEST_P(ClientTest, ListAllFollowsContinueTokens) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    auto query = common::parseQuery(request.rawQuery).value_or(common::QueryParameters{});
    std::string token;
    for (const auto& [name, text] : query) {
      if (name == "continue") token = text;
    }
    if (token.empty()) {
      respondJson(
          writer, 200,
          R"({"metadata":{"resourceVersion":"50","continue":"p2"},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})");
    } else if (token == "p2") {
      respondJson(
          writer, 200,
          R"({"metadata":{"resourceVersion":"50","continue":"p3"},"items":[{"metadata":{"name":"c"}},{"metadata":{"name":"d"}}]})");
    } else {
      respondJson(writer, 200,
                  R"({"metadata":{"resourceVersion":"50"},"items":[{"metadata":{"name":"e"}}]})");
    }
  });
  auto client = make(configFor(server));
  ListOptions options;
  options.limit = 2;
  auto all = listAll(*client, kBillingGroups, "acme", options);
  ASSERT_TRUE(all.has_value()) << all.error().describe();
  std::vector<std::string> names;
  for (const auto& item : all->items) names.push_back(item.at("metadata").at("name").as_string());
  EXPECT_THAT(names, ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_EQ(all->resourceVersion, "50");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].query("limit"), "2");
  EXPECT_EQ(requests[1].query("continue"), "p2");
  EXPECT_EQ(requests[2].query("continue"), "p3");
}

TEST_P(ClientTest, RetryOnConflictRereadsAndWritesAgain) {
  std::atomic<int> puts{0};
  FakeServer server([&](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    if (request.method == "GET") {
      respondJson(writer, 200, group("gold", std::to_string(10 + puts.load())));
    } else if (puts++ < 2) {
      respondJson(writer, 409,
                  statusBody(409, "Conflict",
                             "Operation cannot be fulfilled on billinggroups.billing.operator.dev "
                             "\\\"gold\\\": the object has been modified"));
    } else {
      respondJson(writer, 200, request.body);
    }
  });
  auto client = make(configFor(server));
  std::vector<std::chrono::milliseconds> waits;
  ConflictBackoff backoff;
  backoff.sleep = [&](std::chrono::milliseconds wait) { waits.push_back(wait); };
  int attempts = 0;
  auto updated = retryOnConflict(
      [&]() -> Result<value> {
        ++attempts;
        auto current = client->get(kBillingGroups, "acme", "gold");
        if (!current) return current;
        (*current)["spec"] = json(R"({"invoiceText":"net 30"})");
        return client->update(kBillingGroups, "acme", *current);
      },
      backoff);
  ASSERT_TRUE(updated.has_value()) << updated.error().describe();
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(updated->at("metadata").at("resourceVersion").as_string(), "12");
  ASSERT_EQ(waits.size(), 2u);
  for (auto wait : waits) {
    EXPECT_GE(wait, 10ms);
    EXPECT_LE(wait, 11ms);
  }
}

INSTANTIATE_TEST_SUITE_P(BothTransports, ClientTest,
                         ::testing::Values(TransportKind::Cpprest, TransportKind::Native),
                         [](const ::testing::TestParamInfo<TransportKind>& param) {
                           return std::string(transportKindName(param.param));
                         });

TEST(ClientRealClockTest, RetryAfterIsWaitedOutInRealTime) {
  std::atomic<int> calls{0};
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::mutex mutex;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    {
      std::lock_guard lock(mutex);
      arrivals.push_back(std::chrono::steady_clock::now());
    }
    if (calls++ == 0) {
      common::HttpHeaders headers = jsonHeaders();
      headers.add("Retry-After", "1");
      respondJson(writer, 429, statusBody(429, "TooManyRequests", "slow down"), headers);
      return;
    }
    respondJson(writer, 200, group("gold"));
  });
  RestConfig config;
  config.server = server.url();
  config.caPem = testPki().ca.certPem;
  auto client = makeClient(config);
  ASSERT_TRUE(client.has_value()) << client.error().describe();
  ASSERT_TRUE((*client)->get(kBillingGroups, "acme", "gold"));
  std::lock_guard lock(mutex);
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_GE(arrivals[1] - arrivals[0], 1s);
}

TEST(MakeClientTest, RejectsBadTlsMaterialUpFront) {
  RestConfig config;
  config.server = "https://127.0.0.1:6443";
  config.clientCertPem = testPki().client.certPem;
  config.clientKeyPem = testPki().server.keyPem;  // not the certificate's key
  config.source = "context \"kind\" of kubeconfig /home/me/.kube/config";
  auto client = makeClient(config);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().kind, ErrorKind::Config);
  EXPECT_THAT(client.error().describe(), HasSubstr("context \"kind\""));
  EXPECT_THAT(client.error().describe(), HasSubstr("client key"));
  EXPECT_THAT(client.error().describe(), Not(HasSubstr("PRIVATE KEY")));
}

TEST(MakeClientTest, RejectsAServerThatIsNotAUrl) {
  RestConfig config;
  config.server = "ftp://example";
  auto client = makeClient(config);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().kind, ErrorKind::Config);
}

// A transport failure before anything was sent is retried even for a write; one after sending is
// not (the server may have applied it): checked with a scripted transport.
TEST(ClientRetryPolicyTest, WritesAreRetriedOnlyWhenNothingWasSent) {
  auto transport = std::make_shared<testing::MockTransport>();
  auto clock = std::make_shared<FakeClock>();
  ClientOptions options;
  options.clock = clock;
  options.transportFactory =
      [transport](
          const TransportConfig&) -> std::expected<std::unique_ptr<Transport>, std::string> {
    struct Forward final : Transport {
      std::shared_ptr<Transport> inner;
      std::expected<TransportResponse, TransportError> send(const TransportRequest& r) override {
        return inner->send(r);
      }
      std::expected<StreamEnd, TransportError> stream(
          const TransportRequest& r, const std::function<bool(int, const common::HttpHeaders&)>& h,
          const std::function<bool(std::string_view)>& d, std::stop_token s) override {
        return inner->stream(r, h, d, s);
      }
    };
    auto forward = std::make_unique<Forward>();
    forward->inner = transport;
    return forward;
  };
  RestConfig config;
  config.server = "https://127.0.0.1:6443";
  auto client = makeClient(config, options);
  ASSERT_TRUE(client.has_value());
  ::testing::InSequence order;
  EXPECT_CALL(*transport, send(_))
      .WillOnce(::testing::Return(std::unexpected(
          TransportError{TransportError::Kind::Connect, "connection refused", false})))
      .WillOnce(::testing::Return(std::unexpected(
          TransportError{TransportError::Kind::Io, "connection reset by peer", true})));
  auto created = (*client)->create(kBillingGroups, "acme", json(group("gold")));
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().kind, ErrorKind::Network);
  EXPECT_THAT(created.error().describe(), HasSubstr("connection reset by peer"));
  EXPECT_EQ(clock->sleeps().size(), 1u);
}

}  // namespace
}  // namespace billing::kube
