// Fault injection switched at runtime through POST /_test/faults, and restarts that keep state
// in the data directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using harness::field;
using harness::json;
using harness::TempDir;
using harness::WatchStream;
using web::json::value;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::string kMaps = "/api/v1/namespaces/default/configmaps";

value configMap(const std::string& name) {
  value object = json(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {},
                          "data": {"k": "v"}})");
  object["metadata"]["name"] = value::string(name);
  return object;
}

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = harness::startServer();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<Client>(*server_);
  }
  harness::Response configure(const std::string& document) {
    return client_->post("/_test/faults", json(document));
  }

  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(FaultsTest, TooManyRequestsCarryRetryAfter) {
  ASSERT_EQ(
      configure(R"({"errorRate": {"fraction": 1, "code": 429, "retryAfterSeconds": 3}})").status,
      200);
  auto refused = client_->get(kMaps);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.headers.get("Retry-After").value_or(""), "3");
  EXPECT_EQ(refused.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"Too many requests, please try again later.","reason":"TooManyRequests",)"
            R"("details":{"retryAfterSeconds":3},"code":429})");
  // Writes fail the same way and change nothing.
  EXPECT_EQ(client_->post(kMaps, configMap("a")).status, 429);
  // Discovery and the fault endpoint itself stay reachable, so a test can always switch back.
  EXPECT_EQ(client_->get("/api/v1").status, 200);
  ASSERT_EQ(configure(R"({"reset": true})").status, 200);
  EXPECT_EQ(client_->get(kMaps).status, 200);
  EXPECT_EQ(client_->get(kMaps + "/a").status, 404);
}

TEST_F(FaultsTest, InternalErrors) {
  ASSERT_EQ(configure(R"({"errorRate": {"fraction": 1, "code": 500}})").status, 200);
  auto failed = client_->get(kMaps);
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(field(failed.json, {"reason"}), "InternalError");
  EXPECT_FALSE(failed.headers.contains("Retry-After"));
}

TEST_F(FaultsTest, AFractionOfRequestsFails) {
  ASSERT_EQ(configure(R"({"errorRate": {"fraction": 0.5, "code": 500}})").status, 200);
  int failures = 0;
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) failures += client_->get(kMaps).status == 500 ? 1 : 0;
  // Binomial(200, 0.5): outside 60..140 with a probability far below 1e-8.
  EXPECT_GT(failures, 60);
  EXPECT_LT(failures, 140);
}

TEST_F(FaultsTest, LatencyDelaysEveryRequest) {
  ASSERT_EQ(configure(R"({"latencyMilliseconds": 300})").status, 200);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(client_->get(kMaps).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  ASSERT_EQ(configure(R"({"latencyMilliseconds": 0})").status, 200);
  started = std::chrono::steady_clock::now();
  EXPECT_EQ(client_->get(kMaps).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 250ms);
}

TEST_F(FaultsTest, AMalformedFaultDocumentIsABadRequest) {
  auto refused = configure(R"({"errorRate": {"fraction": 2}})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(field(refused.json, {"message"}), "errorRate.fraction must be 0..1");
  auto unknown = configure(R"({"earthquake": true})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(field(unknown.json, {"message"}), HasSubstr("unknown fault \"earthquake\""));
}

TEST_F(FaultsTest, TheEndpointDropsWatchesAndExpiresHistory) {
  auto created = client_->post(kMaps, configMap("a"));
  std::string rv = field(created.json, {"metadata", "resourceVersion"});
  WatchStream watch(*client_, kMaps + "?watch=1&resourceVersion=" + rv);
  ASSERT_EQ(configure(R"({"dropWatches": true})").status, 200);
  EXPECT_TRUE(watch.ended());
  ASSERT_EQ(client_->post(kMaps, configMap("b")).status, 201);
  ASSERT_EQ(configure(R"({"expireWatches": true})").status, 200);
  WatchStream expired(*client_, kMaps + "?watch=1&resourceVersion=" + rv);
  auto error = expired.next();
  ASSERT_TRUE(error);
  EXPECT_EQ(field(*error, {"type"}), "ERROR");
  EXPECT_EQ(field(error->at("object"), {"code"}), "410");
}

TEST_F(FaultsTest, CuttingConnectionsEndsWatchStreams) {
  WatchStream watch(*client_, kMaps + "?watch=1");
  ASSERT_EQ(configure(R"({"cutConnections": true})").status, 200);
  EXPECT_TRUE(watch.ended());
  EXPECT_EQ(client_->get(kMaps).status, 200);  // new connections are served
}

// ---- restarts ----

TEST(RestartTest, KeepsObjectsCrdsRevisionsAndCredentialsFromTheDataDir) {
  TempDir dir;
  TestApiServerOptions options;
  options.dataDir = dir.path() / "data";
  auto server = harness::startServer(options);
  ASSERT_NE(server, nullptr);
  Client client(*server);
  const std::string kubeconfig = server->kubeconfig(KubeconfigAuth::Token);
  const std::uint16_t port = server->port();
  auto created = client.post(kMaps, configMap("kept"));
  ASSERT_EQ(created.status, 201);
  const std::uint64_t rv = std::stoull(field(created.json, {"metadata", "resourceVersion"}));
  ASSERT_EQ(client
                .post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                      json(R"({"apiVersion": "apiextensions.k8s.io/v1",
      "kind": "CustomResourceDefinition", "metadata": {"name": "gadgets.test.example"},
      "spec": {"group": "test.example", "scope": "Namespaced",
        "names": {"plural": "gadgets", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": true, "storage": true,
          "schema": {"openAPIV3Schema": {"type": "object",
            "x-kubernetes-preserve-unknown-fields": true}}}]}})"))
                .status,
            201);

  auto restarted = server->restart();
  ASSERT_TRUE(restarted) << restarted.error();
  EXPECT_EQ(server->port(), port);
  // The same cluster to every kubeconfig written before.
  EXPECT_EQ(server->kubeconfig(KubeconfigAuth::Token), kubeconfig);
  Client after(*server);
  auto kept = after.get(kMaps + "/kept");
  ASSERT_EQ(kept.status, 200);
  EXPECT_EQ(field(kept.json, {"metadata", "uid"}), field(created.json, {"metadata", "uid"}));
  EXPECT_EQ(after.get("/apis/test.example/v1/namespaces/default/gadgets").status, 200);
  // The revision counter continues; watches resume from versions before the restart.
  auto next = after.post(kMaps, configMap("next"));
  ASSERT_EQ(next.status, 201);
  EXPECT_GT(std::stoull(field(next.json, {"metadata", "resourceVersion"})), rv);
  WatchStream resumed(after, kMaps + "?watch=1&resourceVersion=" + std::to_string(rv));
  auto event = resumed.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(field(event->at("object"), {"metadata", "name"}), "next");
}

TEST(RestartTest, ANewProcessOnTheSameDataDirIsTheSameCluster) {
  TempDir dir;
  TestApiServerOptions options;
  options.dataDir = dir.path() / "data";
  std::string ca;
  std::string token;
  {
    auto first = harness::startServer(options);
    ASSERT_NE(first, nullptr);
    ca = first->caPem();
    token = first->adminToken();
    ASSERT_EQ(Client(*first).post(kMaps, configMap("kept")).status, 201);
  }
  auto second = harness::startServer(options);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->caPem(), ca);
  EXPECT_EQ(second->adminToken(), token);
  EXPECT_EQ(Client(*second).get(kMaps + "/kept").status, 200);
}

TEST(RestartTest, WithoutADataDirTheStateInMemoryIsKeptButWatchesEnd) {
  auto server = harness::startServer();
  ASSERT_NE(server, nullptr);
  Client client(*server);
  ASSERT_EQ(client.post(kMaps, configMap("kept")).status, 201);
  WatchStream watch(client, kMaps + "?watch=1");
  ASSERT_TRUE(server->restart());
  EXPECT_TRUE(watch.ended());
  EXPECT_EQ(client.get(kMaps + "/kept").status, 200);
}

TEST(RestartTest, TheEndpointRestartsTheServer) {
  TempDir dir;
  TestApiServerOptions options;
  options.dataDir = dir.path() / "data";
  auto server = harness::startServer(options);
  ASSERT_NE(server, nullptr);
  Client client(*server);
  ASSERT_EQ(client.post(kMaps, configMap("kept")).status, 201);
  WatchStream watch(client, kMaps + "?watch=1");
  ASSERT_EQ(client.post("/_test/faults", json(R"({"restart": true})")).status, 200);
  EXPECT_TRUE(watch.ended());
  // Back within a moment, with its state.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    status = client.get(kMaps + "/kept").status;
    if (status == 200) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace billing::apiserver
