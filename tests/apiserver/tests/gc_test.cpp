// Deletion as kube-apiserver and kube-controller-manager carry it out: finalizers and
// deletionTimestamp, garbage collection of dependents by ownerReferences (Background, Foreground,
// Orphan), and namespace deletion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using web::json::value;
using namespace std::chrono_literals;
using harness::field;
using harness::json;
using ::testing::HasSubstr;

const std::string kMaps = "/api/v1/namespaces/acme/configmaps";
const std::string kSecrets = "/api/v1/namespaces/acme/secrets";

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = harness::startServer();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<Client>(*server_);
    ASSERT_EQ(client_
                  ->post("/api/v1/namespaces", json(R"({"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": "acme"}})"))
                  .status,
              201);
  }

  // A ConfigMap, optionally owned by `owner` and holding finalizers.
  value createMap(const std::string& name, const value& owner = value::null(),
                  const std::vector<std::string>& finalizers = {}) {
    value object = json(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})");
    object["metadata"]["name"] = value::string(name);
    if (!owner.is_null()) {
      value reference = value::object(true);
      reference["apiVersion"] = owner.at("apiVersion");
      reference["kind"] = owner.at("kind");
      reference["name"] = owner.at("metadata").at("name");
      reference["uid"] = owner.at("metadata").at("uid");
      object["metadata"]["ownerReferences"] = value::array({reference});
    }
    if (!finalizers.empty()) {
      value list = value::array();
      for (std::size_t i = 0; i < finalizers.size(); ++i) list[i] = value::string(finalizers[i]);
      object["metadata"]["finalizers"] = list;
    }
    auto created = client_->post(kMaps, object);
    EXPECT_EQ(created.status, 201) << created.body;
    return created.json;
  }
  value createOwner(const std::string& name) {
    auto created = client_->post(kSecrets, json(R"({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": ")" + name + R"("}, "data": {}})"));
    EXPECT_EQ(created.status, 201) << created.body;
    return created.json;
  }

  // Polls until `path` answers `status` (the garbage collector works in the background).
  bool eventually(const std::string& path, int status, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (client_->get(path).status == status) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(GcTest, FinalizersHoldTheObjectWithADeletionTimestamp) {
  createMap("held", value::null(), {"example.com/a", "example.com/b"});
  auto deleted = client_->del(kMaps + "/held");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  // Still there, marked (ConfigMaps have no generation to bump, see the test below).
  auto marked = client_->get(kMaps + "/held");
  ASSERT_EQ(marked.status, 200);
  EXPECT_NE(field(marked.json, {"metadata", "deletionTimestamp"}), "<missing>");
  EXPECT_EQ(field(marked.json, {"metadata", "deletionGracePeriodSeconds"}), "0");
  EXPECT_EQ(field(marked.json, {"metadata", "generation"}), "<missing>");

  // No new finalizers once deleting.
  auto added = client_->patch(kMaps + "/held",
                              R"({"metadata": {"finalizers": ["example.com/a", "example.com/b",
                                                              "example.com/c"]}})");
  EXPECT_EQ(added.status, 422);
  EXPECT_EQ(field(added.json, {"message"}),
            "ConfigMap \"held\" is invalid: metadata.finalizers: Forbidden: no new finalizers can "
            "be added if the object is being deleted, found new finalizers "
            "[]string{\"example.com/c\"}");
  // Deleting again changes nothing.
  std::string rv = field(marked.json, {"metadata", "resourceVersion"});
  EXPECT_EQ(client_->del(kMaps + "/held").status, 200);
  EXPECT_EQ(field(client_->get(kMaps + "/held").json, {"metadata", "resourceVersion"}), rv);

  // Removing one keeps it; removing the last one completes the deletion.
  auto one = client_->patch(kMaps + "/held", R"({"metadata": {"finalizers": ["example.com/b"]}})");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(client_->get(kMaps + "/held").status, 200);
  auto last = client_->patch(kMaps + "/held", R"({"metadata": {"finalizers": []}})");
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(client_->get(kMaps + "/held").status, 404);
}

TEST_F(GcTest, MarkingForDeletionBumpsTheGenerationOfKindsThatHaveOne) {
  auto created = client_->post("/apis/apps/v1/namespaces/acme/deployments",
                               json(R"({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "d", "finalizers": ["example.com/hold"]},
               "spec": {"replicas": 1}})"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(field(created.json, {"metadata", "generation"}), "1");
  ASSERT_EQ(client_->del("/apis/apps/v1/namespaces/acme/deployments/d").status, 200);
  auto marked = client_->get("/apis/apps/v1/namespaces/acme/deployments/d");
  EXPECT_EQ(field(marked.json, {"metadata", "generation"}), "2");
}

TEST_F(GcTest, DeletionTimestampCannotBeSetOrClearedByWrites) {
  value object = createMap("plain");
  object["metadata"]["deletionTimestamp"] = value::string("2026-01-01T00:00:00Z");
  auto updated = client_->put(kMaps + "/plain", object);
  ASSERT_EQ(updated.status, 200);
  EXPECT_EQ(field(updated.json, {"metadata", "deletionTimestamp"}), "<missing>");
}

TEST_F(GcTest, BackgroundIsTheDefaultAndDeletesDependents) {
  value owner = createOwner("owner");
  createMap("dependent", owner);
  createMap("unrelated");
  auto deleted = client_->del(kSecrets + "/owner");
  ASSERT_EQ(deleted.status, 200);
  // The owner goes at once; the dependent soon after.
  EXPECT_EQ(client_->get(kSecrets + "/owner").status, 404);
  EXPECT_TRUE(eventually(kMaps + "/dependent", 404));
  EXPECT_EQ(client_->get(kMaps + "/unrelated").status, 200);
}

TEST_F(GcTest, ADependentWithAnotherLiveOwnerSurvivesAndLosesTheDeadReference) {
  value first = createOwner("first");
  value second = createOwner("second");
  value object = createMap("shared", first);
  value references = object.at("metadata").at("ownerReferences");
  value secondRef = references.at(0);
  secondRef["name"] = second.at("metadata").at("name");
  secondRef["uid"] = second.at("metadata").at("uid");
  references[1] = secondRef;
  object["metadata"]["ownerReferences"] = references;
  ASSERT_EQ(client_->put(kMaps + "/shared", object).status, 200);
  ASSERT_EQ(client_->del(kSecrets + "/first").status, 200);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  std::string owners;
  while (std::chrono::steady_clock::now() < deadline) {
    owners = field(client_->get(kMaps + "/shared").json, {"metadata", "ownerReferences"});
    if (owners.find("first") == std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_THAT(owners, HasSubstr("\"second\""));
  EXPECT_EQ(owners.find("\"first\""), std::string::npos);
}

TEST_F(GcTest, OrphanKeepsDependentsAndDropsTheirReference) {
  value owner = createOwner("owner");
  createMap("dependent", owner);
  auto deleted = client_->del(kSecrets + "/owner", R"({"propagationPolicy": "Orphan"})");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(eventually(kSecrets + "/owner", 404));
  auto dependent = client_->get(kMaps + "/dependent");
  ASSERT_EQ(dependent.status, 200);
  EXPECT_EQ(field(dependent.json, {"metadata", "ownerReferences"}), "<missing>");
}

TEST_F(GcTest, ForegroundWaitsForDependentsToGo) {
  value owner = createOwner("owner");
  createMap("dependent", owner, {"example.com/hold"});
  auto deleted = client_->del(kSecrets + "/owner?propagationPolicy=Foreground");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  // The owner waits, marked, with the foregroundDeletion finalizer; the dependent is deleting.
  auto waiting = client_->get(kSecrets + "/owner");
  ASSERT_EQ(waiting.status, 200);
  EXPECT_EQ(field(waiting.json, {"metadata", "finalizers"}), R"(["foregroundDeletion"])");
  EXPECT_NE(field(waiting.json, {"metadata", "deletionTimestamp"}), "<missing>");
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (field(client_->get(kMaps + "/dependent").json, {"metadata", "deletionTimestamp"}) ==
             "<missing>" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(field(client_->get(kMaps + "/dependent").json, {"metadata", "deletionTimestamp"}),
            "<missing>");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(client_->get(kSecrets + "/owner").status, 200) << "the owner went before its dependent";
  // Once the dependent's finalizer is released, both go.
  ASSERT_EQ(client_->patch(kMaps + "/dependent", R"({"metadata": {"finalizers": null}})").status,
            200);
  EXPECT_TRUE(eventually(kMaps + "/dependent", 404));
  EXPECT_TRUE(eventually(kSecrets + "/owner", 404));
}

TEST_F(GcTest, ForegroundWithoutDependentsDeletesAtOnce) {
  createOwner("lonely");
  ASSERT_EQ(client_->del(kSecrets + "/lonely?propagationPolicy=Foreground").status, 200);
  EXPECT_EQ(client_->get(kSecrets + "/lonely").status, 404);
}

TEST_F(GcTest, AnUnknownPropagationPolicyIsABadRequest) {
  createOwner("owner");
  auto refused = client_->del(kSecrets + "/owner", R"({"propagationPolicy": "Eventually"})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(client_->get(kSecrets + "/owner").status, 200);
}

TEST_F(GcTest, DeletingANamespaceDeletesItsObjectsThenItself) {
  createMap("a");
  createMap("held", value::null(), {"example.com/hold"});
  createOwner("s");
  auto deleted = client_->del("/api/v1/namespaces/acme");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  auto terminating = client_->get("/api/v1/namespaces/acme");
  ASSERT_EQ(terminating.status, 200);
  EXPECT_EQ(field(terminating.json, {"status", "phase"}), "Terminating");
  EXPECT_NE(field(terminating.json, {"metadata", "deletionTimestamp"}), "<missing>");
  // Nothing new may be created in it.
  auto refused = client_->post(kMaps, json(R"({"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": "late"}})"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(field(refused.json, {"message"}),
            "configmaps \"late\" is forbidden: unable to create new content in namespace acme "
            "because it is being terminated");
  EXPECT_TRUE(eventually(kMaps + "/a", 404));
  EXPECT_TRUE(eventually(kSecrets + "/s", 404));
  // The object with a finalizer holds the namespace until released.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(client_->get("/api/v1/namespaces/acme").status, 200);
  ASSERT_EQ(client_->patch(kMaps + "/held", R"({"metadata": {"finalizers": null}})").status, 200);
  EXPECT_TRUE(eventually("/api/v1/namespaces/acme", 404));
}

}  // namespace
}  // namespace billing::apiserver
