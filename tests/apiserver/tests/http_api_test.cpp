// The test API server over HTTPS as clients other than kubectl see it: authentication,
// discovery, the verbs and their metadata rules, error shapes, the status subresource,
// pagination, selectors, dry runs, patches and CustomResourceDefinitions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "common/yaml.h"
#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using web::json::value;
using namespace std::chrono_literals;
using harness::field;
using harness::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

const std::string kGroups = "/apis/billing.operator.dev/v1alpha1";

std::string groupsIn(const std::string& ns) {
  return kGroups + "/namespaces/" + ns + "/billinggroups";
}

value billingGroup(const std::string& name, const std::string& currency = "EUR") {
  value object = json(R"({"apiVersion": "billing.operator.dev/v1alpha1", "kind": "BillingGroup",
                          "metadata": {}, "spec": {}})");
  object["metadata"]["name"] = value::string(name);
  object["spec"]["currency"] = value::string(currency);
  return object;
}

value namespaceObject(const std::string& name) {
  value object = json(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {}})");
  object["metadata"]["name"] = value::string(name);
  return object;
}

value configMap(const std::string& name, const std::string& team = "") {
  value object = json(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {},
                          "data": {"k": "v"}})");
  object["metadata"]["name"] = value::string(name);
  if (!team.empty()) object["metadata"]["labels"]["team"] = value::string(team);
  return object;
}

// Posts every CRD of the repository's crds/ folder.
void installCrds(const Client& client) {
  for (const char* file :
       {"billing.operator.dev_billinggroups.yaml", "billing.operator.dev_projects.yaml",
        "billing.operator.dev_invoices.yaml"}) {
    auto documents = common::parseYamlDocuments(
        harness::readFile(std::string(BILLING_SOURCE_DIR) + "/crds/" + file));
    ASSERT_TRUE(documents && documents->size() == 1) << file;
    auto created = client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                               (*documents)[0].value);
    ASSERT_EQ(created.status, 201) << created.body;
  }
}

void createNamespace(const Client& client, const std::string& name) {
  auto created = client.post("/api/v1/namespaces", namespaceObject(name));
  ASSERT_EQ(created.status, 201) << created.body;
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = harness::startServer(options());
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<Client>(*server_);
    ASSERT_NO_FATAL_FAILURE(installCrds(*client_));
    ASSERT_NO_FATAL_FAILURE(createNamespace(*client_, "acme"));
  }
  virtual TestApiServerOptions options() { return {}; }

  value create(const std::string& ns, const std::string& name) {
    auto created = client_->post(groupsIn(ns), billingGroup(name));
    EXPECT_EQ(created.status, 201) << created.body;
    return created.json;
  }

  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<Client> client_;
};

// ---- authentication ----

TEST_F(HttpApiTest, RequestsWithoutCredentialsAre401) {
  Client anonymous(*server_, Client::Credentials{});
  auto response = anonymous.get("/api/v1/namespaces");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.body, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                           R"("message":"Unauthorized","reason":"Unauthorized","code":401})");
  // Health endpoints stay public, as kube-apiserver's default RBAC makes them.
  EXPECT_EQ(anonymous.get("/readyz").status, 200);
}

TEST_F(HttpApiTest, AWrongTokenIs401NotAnonymous) {
  Client stranger(*server_, Client::Credentials{"not-a-token", std::nullopt});
  EXPECT_EQ(stranger.get("/api/v1/namespaces").status, 401);
  EXPECT_EQ(stranger.get("/apis").status, 401);
}

TEST_F(HttpApiTest, BearerTokensAndClientCertificatesBothAuthenticate) {
  // RBAC: alice (by name) and bob (by his certificate's organization) may read Namespaces.
  ASSERT_EQ(client_
                ->post("/apis/rbac.authorization.k8s.io/v1/clusterroles",
                       json(R"({"metadata": {"name": "ns-reader"}, "rules": [{"apiGroups": [""],
                               "resources": ["namespaces"], "verbs": ["get", "list"]}]})"))
                .status,
            201);
  ASSERT_EQ(client_
                ->post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                       json(R"({"metadata": {"name": "ns-readers"},
                               "roleRef": {"kind": "ClusterRole", "name": "ns-reader"},
                               "subjects": [{"kind": "User", "name": "alice"},
                                            {"kind": "Group", "name": "dev-team"}]})"))
                .status,
            201);
  server_->addToken("alice-token", UserInfo{"alice", {"system:authenticated"}, ""});
  Client alice(*server_, Client::Credentials{"alice-token", std::nullopt});
  EXPECT_EQ(alice.get("/api/v1/namespaces").status, 200);

  auto certificate = server_->issueClientCertificate(UserInfo{"bob", {"dev-team"}, ""});
  ASSERT_TRUE(certificate) << certificate.error();
  Client bob(*server_, Client::Credentials{std::nullopt, *certificate});
  EXPECT_EQ(bob.get("/api/v1/namespaces/acme").status, 200);

  // Who is who shows through authorization: forbid bob (by certificate CN), not alice.
  auto forbid = client_->post("/_test/faults", json(R"({"forbid": [{"user": "bob",
                                                   "verb": "list", "resource": "namespaces"}]})"));
  ASSERT_EQ(forbid.status, 200) << forbid.body;
  auto refused = bob.get("/api/v1/namespaces");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(field(refused.json, {"message"}),
            "namespaces is forbidden: User \"bob\" cannot list resource \"namespaces\" in API "
            "group \"\" at the cluster scope");
  EXPECT_EQ(alice.get("/api/v1/namespaces").status, 200);
}

TEST_F(HttpApiTest, ACertificateFromAnotherCaIsRefused) {
  auto otherCa = common::generateCertificateAuthority("someone-else", std::chrono::days(1));
  ASSERT_TRUE(otherCa);
  common::CertificateRequest request;
  request.commonName = "admin";
  request.organizations = {"system:masters"};
  request.serverAuth = false;
  request.clientAuth = true;
  auto forged = common::issueCertificate(*otherCa, request);
  ASSERT_TRUE(forged);
  Client impostor(*server_, Client::Credentials{std::nullopt, *forged});
  auto response = impostor.get("/api/v1/namespaces");
  EXPECT_EQ(response.status, 0) << "the TLS handshake must fail, got " << response.body;
  EXPECT_FALSE(response.error.empty());
}

TEST_F(HttpApiTest, TheFaultEndpointIsForAdminsOnly) {
  server_->addToken("carol-token", UserInfo{"carol", {"system:authenticated"}, ""});
  Client carol(*server_, Client::Credentials{"carol-token", std::nullopt});
  auto refused = carol.post("/_test/faults", json(R"({"reset": true})"));
  EXPECT_EQ(refused.status, 403);
}

// ---- discovery and OpenAPI ----

TEST_F(HttpApiTest, DiscoveryServesBuiltinsAndCrdKinds) {
  auto core = client_->get("/api/v1");
  ASSERT_EQ(core.status, 200);
  std::set<std::string> coreNames;
  for (const auto& entry : core.json.at("resources").as_array()) {
    coreNames.insert(entry.at("name").as_string());
  }
  for (const char* name : {"namespaces", "namespaces/status", "secrets", "events", "configmaps"}) {
    EXPECT_TRUE(coreNames.count(name)) << name;
  }
  auto groups = client_->get("/apis");
  ASSERT_EQ(groups.status, 200);
  std::set<std::string> groupNames;
  for (const auto& entry : groups.json.at("groups").as_array()) {
    groupNames.insert(entry.at("name").as_string());
  }
  for (const char* name : {"billing.operator.dev", "coordination.k8s.io", "events.k8s.io",
                           "admissionregistration.k8s.io", "apiextensions.k8s.io"}) {
    EXPECT_TRUE(groupNames.count(name)) << name;
  }
  auto billing = client_->get(kGroups);
  ASSERT_EQ(billing.status, 200);
  bool sawStatus = false;
  for (const auto& entry : billing.json.at("resources").as_array()) {
    if (entry.at("name").as_string() == "billinggroups") {
      EXPECT_EQ(common::toJson(entry.at("shortNames")), R"(["bg"])");
      EXPECT_EQ(common::toJson(entry.at("categories")), R"(["billing"])");
      EXPECT_TRUE(entry.at("namespaced").as_bool());
    }
    sawStatus |= entry.at("name").as_string() == "billinggroups/status";
  }
  EXPECT_TRUE(sawStatus);
}

TEST_F(HttpApiTest, OpenApiV3PublishesTheCrdSchema) {
  auto index = client_->get("/openapi/v3");
  ASSERT_EQ(index.status, 200);
  std::string url =
      field(index.json, {"paths", "apis/billing.operator.dev/v1alpha1", "serverRelativeURL"});
  ASSERT_THAT(url, HasSubstr("?hash="));
  auto document = client_->get(url);
  ASSERT_EQ(document.status, 200);
  const value& schema =
      document.json.at("components").at("schemas").at("dev.operator.billing.v1alpha1.BillingGroup");
  EXPECT_EQ(
      common::toJson(schema.at("properties").at("spec").at("properties").at("scope").at("enum")),
      R"(["Organization","Project"])");
}

// ---- metadata rules ----

TEST_F(HttpApiTest, CreateSetsUidTimestampGenerationAndAGlobalResourceVersion) {
  auto before = client_->get("/api/v1/namespaces/acme");
  std::uint64_t nsRv = std::stoull(field(before.json, {"metadata", "resourceVersion"}));
  value group = create("acme", "shared");
  auto cm = client_->post("/api/v1/namespaces/acme/configmaps", configMap("settings"));
  ASSERT_EQ(cm.status, 201);
  std::uint64_t groupRv = std::stoull(field(group, {"metadata", "resourceVersion"}));
  std::uint64_t cmRv = std::stoull(field(cm.json, {"metadata", "resourceVersion"}));
  // One counter across kinds, as etcd's revision.
  EXPECT_GT(groupRv, nsRv);
  EXPECT_EQ(cmRv, groupRv + 1);
  EXPECT_THAT(field(group, {"metadata", "uid"}),
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_NE(field(group, {"metadata", "uid"}), field(cm.json, {"metadata", "uid"}));
  EXPECT_THAT(field(group, {"metadata", "creationTimestamp"}),
              MatchesRegex("20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z"));
  EXPECT_EQ(field(group, {"metadata", "generation"}), "1");
  // The list's resourceVersion is the store's current revision.
  auto list = client_->get("/api/v1/configmaps");
  EXPECT_EQ(field(list.json, {"metadata", "resourceVersion"}), std::to_string(cmRv));
}

TEST_F(HttpApiTest, GenerationCountsSpecChangesOnly) {
  value group = create("acme", "shared");
  const std::string path = groupsIn("acme") + "/shared";
  auto labelled = client_->patch(path, R"({"metadata": {"labels": {"team": "a"}}})");
  ASSERT_EQ(labelled.status, 200) << labelled.body;
  EXPECT_EQ(field(labelled.json, {"metadata", "generation"}), "1");
  EXPECT_NE(field(labelled.json, {"metadata", "resourceVersion"}),
            field(group, {"metadata", "resourceVersion"}));

  auto status = client_->patch(path + "/status", R"({"status": {"projectCount": 3}})");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(field(status.json, {"metadata", "generation"}), "1");

  auto spec = client_->patch(path, R"({"spec": {"displayName": "Shared"}})");
  ASSERT_EQ(spec.status, 200) << spec.body;
  EXPECT_EQ(field(spec.json, {"metadata", "generation"}), "2");

  // Writing the same spec again changes nothing, not even the resourceVersion.
  auto same = client_->patch(path, R"({"spec": {"displayName": "Shared"}})");
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(field(same.json, {"metadata", "generation"}), "2");
  EXPECT_EQ(field(same.json, {"metadata", "resourceVersion"}),
            field(spec.json, {"metadata", "resourceVersion"}));
}

TEST_F(HttpApiTest, OnlyKindsWithAGenerationGetOne) {
  auto cm = client_->post("/api/v1/namespaces/acme/configmaps", configMap("c"));
  ASSERT_EQ(cm.status, 201);
  EXPECT_EQ(field(cm.json, {"metadata", "generation"}), "<missing>");
  auto changed = client_->patch("/api/v1/namespaces/acme/configmaps/c", R"({"data": {"k": "w"}})");
  EXPECT_EQ(field(changed.json, {"metadata", "generation"}), "<missing>");
  EXPECT_EQ(field(client_->get("/api/v1/namespaces/acme").json, {"metadata", "generation"}),
            "<missing>");
  auto deployment = client_->post(
      "/apis/apps/v1/namespaces/acme/deployments",
      json(R"({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 1}})"));
  EXPECT_EQ(field(deployment.json, {"metadata", "generation"}), "1");
  auto scaled =
      client_->patch("/apis/apps/v1/namespaces/acme/deployments/d", R"({"spec": {"replicas": 2}})");
  EXPECT_EQ(field(scaled.json, {"metadata", "generation"}), "2");
}

TEST_F(HttpApiTest, ServerOwnedMetadataCannotBeWritten) {
  value group = create("acme", "shared");
  value changed = group;
  changed["metadata"]["uid"] = value::string("00000000-0000-4000-8000-000000000000");
  changed["metadata"]["creationTimestamp"] = value::string("2000-01-01T00:00:00Z");
  changed["metadata"]["generation"] = value::number(42);
  auto updated = client_->put(groupsIn("acme") + "/shared", changed);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(field(updated.json, {"metadata", "uid"}), field(group, {"metadata", "uid"}));
  EXPECT_EQ(field(updated.json, {"metadata", "creationTimestamp"}),
            field(group, {"metadata", "creationTimestamp"}));
  EXPECT_EQ(field(updated.json, {"metadata", "generation"}), "1");
}

// ---- errors ----

TEST_F(HttpApiTest, NotFoundHasKubesShape) {
  auto missing = client_->get(groupsIn("acme") + "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"billinggroups.billing.operator.dev \"nope\" not found",)"
            R"("reason":"NotFound","details":{"name":"nope","group":"billing.operator.dev",)"
            R"("kind":"billinggroups"},"code":404})");
  auto core = client_->get("/api/v1/namespaces/acme/secrets/nope");
  EXPECT_EQ(field(core.json, {"message"}), "secrets \"nope\" not found");
  auto noNamespace = client_->post(groupsIn("nowhere"), billingGroup("x"));
  EXPECT_EQ(noNamespace.status, 404);
  EXPECT_EQ(field(noNamespace.json, {"message"}), "namespaces \"nowhere\" not found");
  auto unknownKind = client_->get(kGroups + "/namespaces/acme/widgets");
  EXPECT_EQ(unknownKind.status, 404);
  EXPECT_EQ(field(unknownKind.json, {"message"}),
            "the server could not find the requested resource");
}

TEST_F(HttpApiTest, CreatingTwiceIsAlreadyExists) {
  create("acme", "shared");
  auto again = client_->post(groupsIn("acme"), billingGroup("shared"));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(field(again.json, {"reason"}), "AlreadyExists");
  EXPECT_EQ(field(again.json, {"message"}),
            "billinggroups.billing.operator.dev \"shared\" already exists");
  EXPECT_THAT(again.body, HasSubstr(R"("details":{"name":"shared","group":"billing.operator.dev",)"
                                    R"("kind":"billinggroups"})"));
}

TEST_F(HttpApiTest, UpdatingFromAStaleResourceVersionIsAConflict) {
  value group = create("acme", "shared");
  value first = group;
  first["spec"]["displayName"] = value::string("first");
  ASSERT_EQ(client_->put(groupsIn("acme") + "/shared", first).status, 200);
  value second = group;  // still at the old resourceVersion
  second["spec"]["displayName"] = value::string("second");
  auto stale = client_->put(groupsIn("acme") + "/shared", second);
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(field(stale.json, {"reason"}), "Conflict");
  EXPECT_EQ(field(stale.json, {"message"}),
            "Operation cannot be fulfilled on billinggroups.billing.operator.dev \"shared\": the "
            "object has been modified; please apply your changes to the latest version and try "
            "again");
  // A patch naming the stale resourceVersion conflicts as well.
  std::string rv = field(group, {"metadata", "resourceVersion"});
  auto patch =
      client_->patch(groupsIn("acme") + "/shared", R"({"metadata": {"resourceVersion": ")" + rv +
                                                       R"("}, "spec": {"displayName": "third"}})");
  EXPECT_EQ(patch.status, 409);
}

TEST_F(HttpApiTest, CustomResourcesNeedAResourceVersionToBeReplaced) {
  create("acme", "shared");
  value update = billingGroup("shared");  // no metadata.resourceVersion
  auto refused = client_->put(groupsIn("acme") + "/shared", update);
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(field(refused.json, {"message"}),
            "billinggroups.billing.operator.dev \"shared\" is invalid: metadata.resourceVersion: "
            "Invalid value: 0x0: must be specified for an update");
  EXPECT_THAT(refused.body,
              HasSubstr(R"("details":{"name":"shared","group":"billing.operator.dev",)"
                        R"("kind":"billinggroups","causes":[{"reason":"FieldValueInvalid",)"
                        R"("message":"Invalid value: 0x0: must be specified for an update",)"
                        R"("field":"metadata.resourceVersion"}]})"));
  // Built-in kinds such as ConfigMap allow unconditional updates.
  ASSERT_EQ(client_->post("/api/v1/namespaces/acme/configmaps", configMap("c")).status, 201);
  value cm = configMap("c");
  cm["data"]["k"] = value::string("changed");
  auto replaced = client_->put("/api/v1/namespaces/acme/configmaps/c", cm);
  EXPECT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(field(replaced.json, {"data", "k"}), "changed");
}

TEST_F(HttpApiTest, ConcurrentPatchesWithoutResourceVersionNeverConflict) {
  create("acme", "shared");
  constexpr int kWriters = 8;
  std::vector<int> codes(kWriters, 0);
  {
    std::vector<std::jthread> writers;
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back([&, i] {
        Client own(*server_);
        codes[i] = own.patch(groupsIn("acme") + "/shared", R"({"metadata": {"labels": {"writer-)" +
                                                               std::to_string(i) + R"(": "yes"}}})")
                       .status;
      });
    }
  }
  for (int i = 0; i < kWriters; ++i) EXPECT_EQ(codes[i], 200) << "writer " << i;
  auto final = client_->get(groupsIn("acme") + "/shared");
  EXPECT_EQ(final.json.at("metadata").at("labels").size(), static_cast<std::size_t>(kWriters));
}

// ---- status subresource ----

TEST_F(HttpApiTest, StatusSubresourceSplitsStatusFromTheRest) {
  value group = create("acme", "shared");
  const std::string path = groupsIn("acme") + "/shared";
  // Status sent to the main resource is dropped on create and on update.
  value withStatus = billingGroup("other");
  withStatus["status"]["projectCount"] = value::number(9);
  auto created = client_->post(groupsIn("acme"), withStatus);
  ASSERT_EQ(created.status, 201);
  EXPECT_FALSE(created.json.has_field("status"));

  value update = group;
  update["spec"]["displayName"] = value::string("Shared");
  update["status"]["projectCount"] = value::number(5);
  auto updated = client_->put(path, update);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(field(updated.json, {"spec", "displayName"}), "Shared");
  EXPECT_FALSE(updated.json.has_field("status"));

  // /status takes the status and nothing else.
  value statusUpdate = updated.json;
  statusUpdate["spec"]["displayName"] = value::string("ignored");
  statusUpdate["metadata"]["labels"]["ignored"] = value::string("yes");
  statusUpdate["status"]["projectCount"] = value::number(2);
  auto status = client_->put(path + "/status", statusUpdate);
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(field(status.json, {"status", "projectCount"}), "2");
  EXPECT_EQ(field(status.json, {"spec", "displayName"}), "Shared");
  EXPECT_EQ(field(status.json, {"metadata", "labels"}), "<missing>");

  auto read = client_->get(path + "/status");
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(field(read.json, {"status", "projectCount"}), "2");
  // The status is validated against the schema too.
  auto invalid = client_->patch(path + "/status", R"({"status": {"projectCount": "many"}})");
  EXPECT_EQ(invalid.status, 422) << invalid.body;
}

TEST_F(HttpApiTest, KindsWithoutStatusSubresourceHaveNoStatusPath) {
  ASSERT_EQ(client_->post("/api/v1/namespaces/acme/configmaps", configMap("c")).status, 201);
  EXPECT_EQ(client_->get("/api/v1/namespaces/acme/configmaps/c/status").status, 404);
}

// ---- lists: scopes, selectors, pagination ----

TEST_F(HttpApiTest, ListsByNamespaceAcrossNamespacesAndClusterScoped) {
  createNamespace(*client_, "globex");
  create("acme", "a");
  create("acme", "b");
  create("globex", "c");
  auto names = [](const harness::Response& response) {
    std::vector<std::string> out;
    for (const auto& item : response.json.at("items").as_array()) {
      out.push_back(item.at("metadata").at("namespace").as_string() + "/" +
                    item.at("metadata").at("name").as_string());
    }
    return out;
  };
  EXPECT_THAT(names(client_->get(groupsIn("acme"))), ElementsAre("acme/a", "acme/b"));
  auto all = client_->get(kGroups + "/billinggroups");
  EXPECT_EQ(field(all.json, {"kind"}), "BillingGroupList");
  EXPECT_THAT(names(all), ElementsAre("acme/a", "acme/b", "globex/c"));
  // Cluster-scoped kinds have no namespaced path.
  EXPECT_EQ(client_->get("/api/v1/namespaces/acme/namespaces").status, 404);
  auto namespaces = client_->get("/api/v1/namespaces");
  std::vector<std::string> nsNames;
  for (const auto& item : namespaces.json.at("items").as_array()) {
    nsNames.push_back(item.at("metadata").at("name").as_string());
  }
  EXPECT_THAT(nsNames, ::testing::IsSupersetOf({"acme", "globex"}));
}

TEST_F(HttpApiTest, LabelSelectorsEqualityAndSetBased) {
  for (auto [name, team] : std::vector<std::pair<std::string, std::string>>{
           {"a", "web"}, {"b", "data"}, {"c", "ml"}, {"d", ""}}) {
    ASSERT_EQ(client_->post("/api/v1/namespaces/acme/configmaps", configMap(name, team)).status,
              201);
  }
  auto select = [&](const std::string& query) {
    auto response = client_->get("/api/v1/namespaces/acme/configmaps?" + query);
    std::vector<std::string> out;
    if (response.status != 200) {
      out.push_back(std::to_string(response.status) + ": " + field(response.json, {"message"}));
      return out;
    }
    for (const auto& item : response.json.at("items").as_array()) {
      out.push_back(item.at("metadata").at("name").as_string());
    }
    return out;
  };
  EXPECT_THAT(select("labelSelector=team%3Dweb"), ElementsAre("a"));
  EXPECT_THAT(select("labelSelector=team%3D%3Dweb"), ElementsAre("a"));
  EXPECT_THAT(select("labelSelector=team!%3Dweb"), ElementsAre("b", "c", "d"));
  EXPECT_THAT(select("labelSelector=team%20in%20(web,ml)"), ElementsAre("a", "c"));
  EXPECT_THAT(select("labelSelector=team%20notin%20(web)"), ElementsAre("b", "c", "d"));
  EXPECT_THAT(select("labelSelector=team"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(select("labelSelector=!team"), ElementsAre("d"));
  EXPECT_THAT(select("labelSelector=team,team!%3Ddata"), ElementsAre("a", "c"));
  EXPECT_THAT(select("labelSelector=team%20in%20(web"),
              ElementsAre(HasSubstr("400: unable to parse requirement")));
}

TEST_F(HttpApiTest, FieldSelectorsOnNameAndNamespace) {
  createNamespace(*client_, "globex");
  create("acme", "a");
  create("acme", "b");
  create("globex", "a");
  auto select = [&](const std::string& path) {
    std::vector<std::string> out;
    auto response = client_->get(path);
    if (response.status != 200) {
      out.push_back(std::to_string(response.status) + ": " + field(response.json, {"message"}));
      return out;
    }
    for (const auto& item : response.json.at("items").as_array()) {
      out.push_back(item.at("metadata").at("namespace").as_string() + "/" +
                    item.at("metadata").at("name").as_string());
    }
    return out;
  };
  EXPECT_THAT(select(kGroups + "/billinggroups?fieldSelector=metadata.name%3Da"),
              ElementsAre("acme/a", "globex/a"));
  EXPECT_THAT(select(kGroups + "/billinggroups?fieldSelector=metadata.namespace%3Dglobex"),
              ElementsAre("globex/a"));
  EXPECT_THAT(select(kGroups + "/billinggroups?fieldSelector=metadata.name!%3Da"),
              ElementsAre("acme/b"));
  EXPECT_THAT(
      select(kGroups + "/billinggroups?fieldSelector=metadata.name%3Da,metadata.namespace%3Dacme"),
      ElementsAre("acme/a"));
  EXPECT_THAT(select(kGroups + "/billinggroups?fieldSelector=spec.currency%3DEUR"),
              ElementsAre("400: field label not supported: spec.currency"));
}

TEST_F(HttpApiTest, PaginationWithLimitAndContinue) {
  for (int i = 0; i < 7; ++i) create("acme", "g" + std::to_string(i));
  auto page1 = client_->get(groupsIn("acme") + "?limit=3");
  ASSERT_EQ(page1.status, 200);
  ASSERT_EQ(page1.json.at("items").size(), 3u);
  EXPECT_EQ(field(page1.json, {"metadata", "remainingItemCount"}), "4");
  std::string token = field(page1.json, {"metadata", "continue"});
  ASSERT_NE(token, "<missing>");
  // Later changes do not shift the pages: keys continue after the last one served.
  create("acme", "a-first");
  auto page2 = client_->get(groupsIn("acme") + "?limit=3&continue=" + token);
  ASSERT_EQ(page2.status, 200) << page2.body;
  ASSERT_EQ(page2.json.at("items").size(), 3u);
  EXPECT_EQ(field(page2.json.at("items").at(0), {"metadata", "name"}), "g3");
  EXPECT_EQ(field(page2.json, {"metadata", "remainingItemCount"}), "1");
  auto page3 = client_->get(groupsIn("acme") +
                            "?limit=3&continue=" + field(page2.json, {"metadata", "continue"}));
  ASSERT_EQ(page3.status, 200);
  ASSERT_EQ(page3.json.at("items").size(), 1u);
  EXPECT_EQ(field(page3.json.at("items").at(0), {"metadata", "name"}), "g6");
  EXPECT_EQ(field(page3.json, {"metadata", "continue"}), "<missing>");
  EXPECT_EQ(field(page3.json, {"metadata", "remainingItemCount"}), "<missing>");

  // With a selector kube cannot count what is left: no remainingItemCount.
  auto selected = client_->get(groupsIn("acme") + "?limit=2&fieldSelector=metadata.name!%3Dg0");
  EXPECT_EQ(selected.json.at("items").size(), 2u);
  EXPECT_NE(field(selected.json, {"metadata", "continue"}), "<missing>");
  EXPECT_EQ(field(selected.json, {"metadata", "remainingItemCount"}), "<missing>");

  auto garbage = client_->get(groupsIn("acme") + "?limit=3&continue=not-a-token");
  EXPECT_EQ(garbage.status, 400);

  // A token older than the kept history expires, as after an etcd compaction.
  server_->expireWatchHistory();
  auto expired = client_->get(groupsIn("acme") + "?limit=3&continue=" + token);
  EXPECT_EQ(expired.status, 410);
  EXPECT_EQ(field(expired.json, {"reason"}), "Expired");
}

TEST_F(HttpApiTest, PagesAcrossNamespacesWhoseNamesShareAPrefixLoseNothing) {
  // "acme-web/..." sorts before "acme/..." as text; the store orders (namespace, name).
  createNamespace(*client_, "acme-web");
  create("acme", "a");
  create("acme", "b");
  create("acme-web", "c");
  std::vector<std::string> seen;
  std::string token;
  for (int page = 0; page < 5; ++page) {
    auto response = client_->get(kGroups + "/billinggroups?limit=1" +
                                 (token.empty() ? "" : "&continue=" + token));
    ASSERT_EQ(response.status, 200) << response.body;
    for (const auto& item : response.json.at("items").as_array()) {
      seen.push_back(field(item, {"metadata", "namespace"}) + "/" +
                     field(item, {"metadata", "name"}));
    }
    token = field(response.json, {"metadata", "continue"});
    if (token == "<missing>") break;
  }
  EXPECT_THAT(seen, ElementsAre("acme/a", "acme/b", "acme-web/c"));
}

TEST_F(HttpApiTest, EveryPageReportsTheFirstPagesResourceVersion) {
  for (const char* name : {"g0", "g1", "g2", "g3"}) create("acme", name);
  auto first = client_->get(groupsIn("acme") + "?limit=2");
  ASSERT_EQ(first.status, 200);
  const std::string rv = field(first.json, {"metadata", "resourceVersion"});
  // g0, already served, changes while the client pages.
  auto changed = client_->patch(groupsIn("acme") + "/g0", R"({"spec": {"displayName": "x"}})");
  ASSERT_EQ(changed.status, 200);
  auto second = client_->get(groupsIn("acme") +
                             "?limit=2&continue=" + field(first.json, {"metadata", "continue"}));
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(field(second.json, {"metadata", "resourceVersion"}), rv);
  // A reflector watches from the list's resourceVersion: it must not miss g0's change.
  harness::WatchStream watch(*client_, groupsIn("acme") + "?watch=1&resourceVersion=" +
                                           field(second.json, {"metadata", "resourceVersion"}));
  auto event = watch.next();
  ASSERT_TRUE(event);
  EXPECT_EQ(field(*event, {"type"}), "MODIFIED");
  EXPECT_EQ(field(event->at("object"), {"metadata", "name"}), "g0");
}

// ---- dry run ----

TEST_F(HttpApiTest, DryRunCreateUpdatePatchDeleteStoreNothing) {
  value group = create("acme", "shared");
  const std::string path = groupsIn("acme") + "/shared";
  const std::uint64_t revision = server_->api().store().revision();

  auto created = client_->post(groupsIn("acme") + "?dryRun=All", billingGroup("ghost"));
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(field(created.json, {"spec", "scope"}), "Organization");  // defaulted all the same
  EXPECT_EQ(client_->get(groupsIn("acme") + "/ghost").status, 404);

  value update = group;
  update["spec"]["displayName"] = value::string("dry");
  auto updated = client_->put(path + "?dryRun=All", update);
  EXPECT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(field(updated.json, {"spec", "displayName"}), "dry");

  auto patched = client_->call("PATCH", path + "?dryRun=All", R"({"spec":{"currency":"USD"}})",
                               "application/merge-patch+json");
  EXPECT_EQ(patched.status, 200);
  EXPECT_EQ(field(patched.json, {"spec", "currency"}), "USD");

  auto deleted = client_->del(path + "?dryRun=All");
  EXPECT_EQ(deleted.status, 200);

  auto stored = client_->get(path);
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(field(stored.json, {"spec", "currency"}), "EUR");
  EXPECT_EQ(field(stored.json, {"spec", "displayName"}), "<missing>");
  EXPECT_EQ(server_->api().store().revision(), revision);

  // Validation still runs, and unknown dry-run modes are refused.
  auto invalid = client_->post(groupsIn("acme") + "?dryRun=All", billingGroup("bad", "euro"));
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(client_->post(groupsIn("acme") + "?dryRun=Some", billingGroup("x")).status, 400);
}

// ---- patches ----

TEST_F(HttpApiTest, MergeAndJsonPatches) {
  create("acme", "shared");
  const std::string path = groupsIn("acme") + "/shared";
  auto merged = client_->patch(path, R"({"spec": {"displayName": "Shared", "vatId": "DE1"}})");
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(field(merged.json, {"spec", "vatId"}), "DE1");
  auto removed = client_->patch(path, R"({"spec": {"vatId": null}})");
  EXPECT_EQ(field(removed.json, {"spec", "vatId"}), "<missing>");

  auto jsonPatch =
      client_->patch(path,
                     R"([{"op": "test", "path": "/spec/displayName", "value": "Shared"},
          {"op": "replace", "path": "/spec/currency", "value": "USD"},
          {"op": "add", "path": "/spec/billingEmails", "value": ["a@example.com"]}])",
                     "application/json-patch+json");
  ASSERT_EQ(jsonPatch.status, 200) << jsonPatch.body;
  EXPECT_EQ(field(jsonPatch.json, {"spec", "currency"}), "USD");
  EXPECT_EQ(field(jsonPatch.json, {"spec", "billingEmails"}), R"(["a@example.com"])");

  // A failing test operation: 422, nothing applied.
  auto failed = client_->patch(path,
                               R"([{"op": "replace", "path": "/spec/currency", "value": "GBP"},
          {"op": "test", "path": "/spec/displayName", "value": "Other"}])",
                               "application/json-patch+json");
  EXPECT_EQ(failed.status, 422);
  EXPECT_EQ(field(failed.json, {"message"}),
            "the server rejected our request due to an error in our request");
  EXPECT_EQ(field(client_->get(path).json, {"spec", "currency"}), "USD");

  // The patched object is validated like any write.
  auto invalid = client_->patch(path, R"({"spec": {"scope": "Team"}})");
  EXPECT_EQ(invalid.status, 422);
  EXPECT_THAT(field(invalid.json, {"message"}),
              HasSubstr("spec.scope: Unsupported value: \"Team\""));
}

TEST_F(HttpApiTest, StrategicMergeIs415ForCustomResourcesOnly) {
  create("acme", "shared");
  auto refused = client_->patch(groupsIn("acme") + "/shared", R"({"spec": {"vatId": "x"}})",
                                "application/strategic-merge-patch+json");
  EXPECT_EQ(refused.status, 415);
  EXPECT_EQ(field(refused.json, {"reason"}), "UnsupportedMediaType");
  EXPECT_EQ(field(refused.json, {"message"}),
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/apply-patch+yaml");

  ASSERT_EQ(client_->post("/api/v1/namespaces/acme/configmaps", configMap("c")).status, 201);
  auto strategic =
      client_->patch("/api/v1/namespaces/acme/configmaps/c", R"({"data": {"extra": "1"}})",
                     "application/strategic-merge-patch+json");
  EXPECT_EQ(strategic.status, 200) << strategic.body;
  EXPECT_EQ(common::toJson(strategic.json.at("data")), R"({"extra":"1","k":"v"})");
}

// ---- CustomResourceDefinitions ----

// A CRD whose schema exercises every kind of value validation, defaulting and pruning.
constexpr const char* kWidgetCrd = R"({
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.test.example"},
  "spec": {"group": "test.example", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
          "size": {"type": "integer", "minimum": 1, "maximum": 10},
          "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
          "color": {"type": "string", "enum": ["red", "green"]},
          "mode": {"type": "string", "default": "auto"},
          "ratio": {"type": "number"},
          "tags": {"type": "array", "maxItems": 2,
                   "items": {"type": "string", "minLength": 1}}}},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}})";

TEST_F(HttpApiTest, CreatingACrdStartsServingItsResource) {
  const std::string widgets = "/apis/test.example/v1/namespaces/acme/widgets";
  EXPECT_EQ(client_->get(widgets).status, 404);
  auto crd =
      client_->post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json(kWidgetCrd));
  ASSERT_EQ(crd.status, 201) << crd.body;
  auto list = client_->get(widgets);
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(field(list.json, {"kind"}), "WidgetList");
  EXPECT_EQ(client_->get("/apis/test.example/v1").status, 200);

  auto created = client_->post(widgets, json(R"({"apiVersion": "test.example/v1", "kind": "Widget",
                       "metadata": {"name": "w"}, "spec": {"size": 3, "extra": true}})"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(field(created.json, {"spec", "mode"}), "auto");        // defaulted
  EXPECT_EQ(field(created.json, {"spec", "extra"}), "<missing>");  // pruned
  // The API's default fieldValidation is Warn: the pruned field comes back as a warning.
  EXPECT_EQ(created.headers.get("Warning").value_or(""), R"(299 - "unknown field \"spec.extra\"")");

  // Deleting the CRD stops serving and removes its objects.
  auto deleted =
      client_->del("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.example");
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(client_->get(widgets).status, 404);
  EXPECT_EQ(server_->api().store().list("widgets.test.example", std::nullopt).items.size(), 0u);
}

TEST_F(HttpApiTest, CustomResourcesAreValidatedAgainstTheSchema) {
  auto crd =
      client_->post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json(kWidgetCrd));
  ASSERT_EQ(crd.status, 201) << crd.body;
  const std::string widgets = "/apis/test.example/v1/namespaces/acme/widgets";
  auto refused = client_->post(widgets, json(R"({"apiVersion": "test.example/v1", "kind": "Widget",
                       "metadata": {"name": "w"},
                       "spec": {"size": 11, "name": "ABCDEF", "color": "blue", "ratio": "x",
                                "tags": ["a", "", "c"]}})"));
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(field(refused.json, {"reason"}), "Invalid");
  EXPECT_EQ(field(refused.json, {"details", "kind"}), "Widget");
  EXPECT_EQ(field(refused.json, {"details", "group"}), "test.example");
  std::vector<std::string> causes;
  for (const auto& cause : refused.json.at("details").at("causes").as_array()) {
    causes.push_back(cause.at("field").as_string() + " | " + cause.at("reason").as_string() +
                     " | " + cause.at("message").as_string());
  }
  EXPECT_THAT(
      causes,
      UnorderedElementsAre(
          "spec.size | FieldValueInvalid | Invalid value: 11: spec.size in body should be less "
          "than or equal to 10",
          // kube-openapi stops at a string's first failure: maxLength before pattern.
          "spec.name | FieldValueTooLong | Too long: may not be more than 5 bytes",
          "spec.color | FieldValueNotSupported | Unsupported value: \"blue\": supported values: "
          "\"red\", \"green\"",
          "spec.ratio | FieldValueTypeInvalid | Invalid value: \"string\": spec.ratio in body "
          "must be of type number: \"string\"",
          "spec.tags | FieldValueTooMany | Too many: 3: must have at most 2 items",
          "spec.tags[1] | FieldValueInvalid | Invalid value: \"\": spec.tags[1] in body should be "
          "at least 1 chars long"));

  auto missing = client_->post(widgets, json(R"({"apiVersion": "test.example/v1",
      "kind": "Widget", "metadata": {"name": "w"}, "spec": {"name": "a"}})"));
  ASSERT_EQ(missing.status, 422);
  // Several errors are listed in brackets (their order follows kube's map walk, not fixed).
  EXPECT_THAT(field(missing.json, {"message"}),
              StartsWith("Widget.test.example \"w\" is invalid: ["));
  EXPECT_THAT(field(missing.json, {"message"}), HasSubstr("spec.size: Required value"));
  EXPECT_THAT(field(missing.json, {"message"}),
              HasSubstr("spec.name: Invalid value: \"a\": spec.name in body should be at least 2 "
                        "chars long"));
  auto pattern = client_->post(widgets, json(R"({"apiVersion": "test.example/v1",
      "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2, "name": "AB"}})"));
  EXPECT_EQ(field(pattern.json, {"message"}),
            "Widget.test.example \"w\" is invalid: spec.name: Invalid value: \"AB\": spec.name in "
            "body should match '^[a-z]+$'");
  auto small = client_->post(widgets, json(R"({"apiVersion": "test.example/v1",
      "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 0}})"));
  EXPECT_EQ(field(small.json, {"message"}),
            "Widget.test.example \"w\" is invalid: spec.size: Invalid value: 0: spec.size in body "
            "should be greater than or equal to 1");
}

// ---- built-in kinds stored generically ----

TEST_F(HttpApiTest, LeasesEventsSecretsAndWebhookConfigurationsAreServed) {
  auto lease = client_->post("/apis/coordination.k8s.io/v1/namespaces/acme/leases",
                             json(R"({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "billing-operator-leader"},
               "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15}})"));
  ASSERT_EQ(lease.status, 201) << lease.body;
  value renewed = lease.json;
  renewed["spec"]["holderIdentity"] = value::string("pod-b");
  auto updated = client_->put(
      "/apis/coordination.k8s.io/v1/namespaces/acme/leases/billing-operator-leader", renewed);
  EXPECT_EQ(updated.status, 200);
  EXPECT_EQ(field(updated.json, {"spec", "holderIdentity"}), "pod-b");
  // The old holder's write from the previous resourceVersion loses.
  EXPECT_EQ(client_
                ->put("/apis/coordination.k8s.io/v1/namespaces/acme/leases/billing-operator-leader",
                      lease.json)
                .status,
            409);

  auto coreEvent =
      client_->post("/api/v1/namespaces/acme/events",
                    json(R"({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
               "involvedObject": {"kind": "BillingGroup", "name": "shared", "namespace": "acme"},
               "reason": "Synced", "message": "ok", "type": "Normal"})"));
  EXPECT_EQ(coreEvent.status, 201) << coreEvent.body;
  auto byObject = client_->get(
      "/api/v1/namespaces/acme/events?fieldSelector=involvedObject.name%3Dshared,reason%3DSynced");
  EXPECT_EQ(byObject.json.at("items").size(), 1u);
  auto newEvent = client_->post(
      "/apis/events.k8s.io/v1/namespaces/acme/events",
      json(R"({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2"},
               "regarding": {"kind": "BillingGroup", "name": "shared", "namespace": "acme"},
               "reason": "Synced", "note": "ok", "type": "Normal", "action": "Reconcile",
               "reportingController": "billing.operator.dev/operator",
               "reportingInstance": "pod-a", "eventTime": "2026-01-01T00:00:00.000000Z"})"));
  EXPECT_EQ(newEvent.status, 201) << newEvent.body;
  // One storage behind both APIs (events_test.cpp): e1, written through core v1, is selected too.
  auto regarding = client_->get(
      "/apis/events.k8s.io/v1/namespaces/acme/events?fieldSelector=regarding.name%3Dshared");
  EXPECT_EQ(regarding.json.at("items").size(), 2u);

  auto secret =
      client_->post("/api/v1/namespaces/acme/secrets",
                    json(R"({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sepa"},
               "stringData": {"mandate": "DE-123"}})"));
  ASSERT_EQ(secret.status, 201) << secret.body;
  // As kube-apiserver: stringData is merged into data (base64) and the type defaults to Opaque.
  EXPECT_EQ(field(secret.json, {"data", "mandate"}), common::base64Encode("DE-123"));
  EXPECT_EQ(field(secret.json, {"stringData"}), "<missing>");
  EXPECT_EQ(field(secret.json, {"type"}), "Opaque");

  auto webhook =
      client_->post("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                    json(R"({"apiVersion": "admissionregistration.k8s.io/v1",
               "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "billing"},
               "webhooks": []})"));
  EXPECT_EQ(webhook.status, 201) << webhook.body;
  EXPECT_EQ(field(webhook.json, {"metadata", "namespace"}), "<missing>");
}

TEST_F(HttpApiTest, NamespacesCarryTheirNameLabelAndSystemNamespacesExist) {
  auto acme = client_->get("/api/v1/namespaces/acme");
  EXPECT_EQ(field(acme.json, {"metadata", "labels", "kubernetes.io/metadata.name"}), "acme");
  EXPECT_EQ(field(acme.json, {"status", "phase"}), "Active");
  EXPECT_EQ(field(acme.json, {"spec", "finalizers"}), R"(["kubernetes"])");
  // The label cannot be changed away from the name.
  auto relabelled =
      client_->patch("/api/v1/namespaces/acme",
                     R"({"metadata": {"labels": {"kubernetes.io/metadata.name": "x"}}})");
  EXPECT_EQ(field(relabelled.json, {"metadata", "labels", "kubernetes.io/metadata.name"}), "acme");
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    EXPECT_EQ(client_->get(std::string("/api/v1/namespaces/") + name).status, 200) << name;
  }
  auto refused = client_->del("/api/v1/namespaces/default");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(field(refused.json, {"message"}),
            "namespaces \"default\" is forbidden: this namespace may not be deleted");
}

}  // namespace
}  // namespace billing::apiserver
