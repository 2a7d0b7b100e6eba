// GET /_test/requests: the resource requests the server received, by user, verb and resource,
// as benchmarks read them to count the operator's API calls from the server's side.
#include <gtest/gtest.h>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using harness::json;
using web::json::value;

const std::string kMaps = "/api/v1/namespaces/default/configmaps";

value configMap(const std::string& name) {
  value object = json(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {},
                          "data": {"k": "v"}})");
  object["metadata"]["name"] = value::string(name);
  return object;
}

// The count the endpoint reports for one (user, verb, resource, subresource); 0 when absent.
std::uint64_t countOf(const value& document, const std::string& user, const std::string& verb,
                      const std::string& resource, const std::string& subresource = "") {
  for (const value& entry : document.at("requests").as_array()) {
    if (entry.at("user").as_string() == user && entry.at("verb").as_string() == verb &&
        entry.at("resource").as_string() == resource &&
        entry.at("subresource").as_string() == subresource) {
      return entry.at("count").as_number().to_uint64();
    }
  }
  return 0;
}

class RequestCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = harness::startServer();
    ASSERT_NE(server_, nullptr);
    admin_ = std::make_unique<Client>(*server_);
    server_->addToken("alice-token", UserInfo{"alice", {"system:authenticated"}, ""});
    // RBAC: alice may list ConfigMaps in default.
    ASSERT_EQ(admin_
                  ->post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
                         json(R"({"metadata": {"name": "alice"}, "roleRef": {"kind": "ClusterRole",
                                 "name": "cluster-admin"}, "subjects": [{"kind": "User",
                                 "name": "alice"}]})"))
                  .status,
              201);
    alice_ = std::make_unique<Client>(*server_, Client::Credentials{"alice-token", std::nullopt});
  }
  value counts() {
    auto answer = admin_->get("/_test/requests");
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.json;
  }

  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<Client> admin_;
  std::unique_ptr<Client> alice_;
};

TEST_F(RequestCounterTest, CountsResourceRequestsByUserVerbAndResource) {
  ASSERT_EQ(admin_->post(kMaps, configMap("a")).status, 201);
  ASSERT_EQ(admin_->get(kMaps + "/a").status, 200);
  ASSERT_EQ(admin_->get(kMaps + "/a").status, 200);
  ASSERT_EQ(admin_->get(kMaps).status, 200);
  ASSERT_EQ(admin_->call("DELETE", kMaps + "/a").status, 200);
  // Discovery is not a resource request; a missing object still is one.
  ASSERT_EQ(admin_->get("/api/v1").status, 200);
  ASSERT_EQ(admin_->get(kMaps + "/missing").status, 404);
  // Another user is counted apart.
  ASSERT_EQ(alice_->get(kMaps).status, 200);

  const value document = counts();
  EXPECT_EQ(countOf(document, "admin", "create", "configmaps"), 1u);
  EXPECT_EQ(countOf(document, "admin", "get", "configmaps"), 3u);
  EXPECT_EQ(countOf(document, "admin", "list", "configmaps"), 1u);
  EXPECT_EQ(countOf(document, "admin", "delete", "configmaps"), 1u);
  EXPECT_EQ(countOf(document, "alice", "list", "configmaps"), 1u);
  for (const value& entry : document.at("requests").as_array()) {
    EXPECT_FALSE(entry.at("resource").as_string().empty()) << "discovery was counted";
  }
  // The endpoint's own requests are not resource requests either.
  EXPECT_EQ(countOf(counts(), "admin", "get", "configmaps"), 3u);
}

TEST_F(RequestCounterTest, CountsSubresourcesWatchesAndRefusedRequests) {
  ASSERT_EQ(admin_->post("/api/v1/namespaces", json(R"({"metadata": {"name": "team-a"}})")).status,
            201);
  auto watched = admin_->get("/api/v1/namespaces?watch=true&timeoutSeconds=1");
  ASSERT_EQ(watched.status, 200);
  auto status = admin_->get("/api/v1/namespaces/team-a/status");
  ASSERT_EQ(status.status, 200) << status.body;
  // A request answered with an injected fault was still made.
  ASSERT_EQ(
      admin_->post("/_test/faults", json(R"({"errorRate": {"fraction": 1, "code": 429}})")).status,
      200);
  ASSERT_EQ(admin_->get(kMaps).status, 429);
  ASSERT_EQ(admin_->post("/_test/faults", json(R"({"reset": true})")).status, 200);

  const value document = counts();
  EXPECT_EQ(countOf(document, "admin", "create", "namespaces"), 1u);
  EXPECT_EQ(countOf(document, "admin", "watch", "namespaces"), 1u);
  EXPECT_EQ(countOf(document, "admin", "get", "namespaces", "status"), 1u);
  EXPECT_EQ(countOf(document, "admin", "list", "configmaps"), 1u);
  // In-process readers see the same numbers.
  std::uint64_t creates = 0;
  for (const RequestCount& count : server_->requests().snapshot()) {
    if (count.user == "admin" && count.verb == "create" && count.resource == "namespaces") {
      creates = count.count;
    }
  }
  EXPECT_EQ(creates, 1u);
}

TEST_F(RequestCounterTest, OnlyAdminsReadTheCounts) {
  EXPECT_EQ(alice_->get("/_test/requests").status, 403);
  EXPECT_EQ(admin_->call("POST", "/_test/requests", "{}").status, 404);
}

}  // namespace
}  // namespace billing::apiserver
