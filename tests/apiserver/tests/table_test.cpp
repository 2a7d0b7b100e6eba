#include "tests/apiserver/table.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace billing::apiserver {
namespace {

using web::json::value;

value parse(const std::string& text) { return *common::parseJson(text); }

const value kGroup = parse(R"({
  "metadata": {"name": "shared", "namespace": "acme", "creationTimestamp": "2020-01-01T00:00:00Z"},
  "spec": {"scope": "Organization", "items": [{"name": "a"}, {"name": "b"}]},
  "status": {"projectCount": 3, "conditions": [
    {"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}
})");

TEST(TableJsonPathTest, FieldsIndexesFiltersAndWildcards) {
  EXPECT_EQ(evaluateJsonPath(kGroup, ".spec.scope")->as_string(), "Organization");
  EXPECT_EQ(evaluateJsonPath(kGroup, ".status.projectCount")->as_integer(), 3);
  EXPECT_EQ(
      evaluateJsonPath(kGroup, ".status.conditions[?(@.type==\"Ready\")].status")->as_string(),
      "True");
  EXPECT_EQ(evaluateJsonPath(kGroup, ".status.conditions[?(@.type=='Synced')].status")->as_string(),
            "False");
  EXPECT_EQ(evaluateJsonPath(kGroup, ".spec.items[1].name")->as_string(), "b");
  EXPECT_EQ(evaluateJsonPath(kGroup, ".spec.items[-1].name")->as_string(), "b");
  EXPECT_EQ(evaluateJsonPath(kGroup, ".spec.items[*].name")->as_string(), "a,b");
  EXPECT_EQ(evaluateJsonPath(kGroup, "{.spec.scope}")->as_string(), "Organization");
  EXPECT_FALSE(evaluateJsonPath(kGroup, ".spec.missing"));
  EXPECT_FALSE(evaluateJsonPath(kGroup, ".status.conditions[?(@.type==\"Gone\")].status"));
  EXPECT_FALSE(evaluateJsonPath(kGroup, ".spec.items[7].name"));
}

TEST(TableHumanDurationTest, MatchesKubectlAges) {
  using std::chrono::seconds;
  EXPECT_EQ(humanDuration(seconds(5)), "5s");
  EXPECT_EQ(humanDuration(seconds(119)), "119s");
  EXPECT_EQ(humanDuration(seconds(150)), "2m30s");
  EXPECT_EQ(humanDuration(seconds(180)), "3m");
  EXPECT_EQ(humanDuration(seconds(45 * 60)), "45m");
  EXPECT_EQ(humanDuration(seconds(3 * 3600 + 5 * 60)), "3h5m");
  EXPECT_EQ(humanDuration(seconds(20 * 3600)), "20h");
  EXPECT_EQ(humanDuration(seconds(3 * 86400 + 4 * 3600)), "3d4h");
  EXPECT_EQ(humanDuration(seconds(45 * 86400)), "45d");
  EXPECT_EQ(humanDuration(seconds(3 * 365 * 86400 + 10 * 86400)), "3y10d");
  EXPECT_EQ(humanDuration(seconds(-3)), "0s");
}

TEST(TableTest, CustomResourcesUseTheirPrinterColumns) {
  ResourceType type;
  type.group = "billing.operator.dev";
  type.version = "v1alpha1";
  type.kind = "BillingGroup";
  type.plural = "billinggroups";
  type.crdName = "billinggroups.billing.operator.dev";
  type.printerColumns = parse(R"([
    {"name": "Scope", "type": "string", "jsonPath": ".spec.scope"},
    {"name": "Projects", "type": "integer", "jsonPath": ".status.projectCount"},
    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
    {"name": "Currency", "type": "string", "jsonPath": ".spec.currency", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])");
  value table = tableFor(type, {kGroup}, 42, "token");
  EXPECT_EQ(table.at("kind").as_string(), "Table");
  EXPECT_EQ(table.at("apiVersion").as_string(), "meta.k8s.io/v1");
  EXPECT_EQ(table.at("metadata").at("resourceVersion").as_string(), "42");
  EXPECT_EQ(table.at("metadata").at("continue").as_string(), "token");
  const auto& columns = table.at("columnDefinitions").as_array();
  ASSERT_EQ(columns.size(), 6u);
  EXPECT_EQ(columns.at(0).at("name").as_string(), "Name");
  EXPECT_EQ(columns.at(4).at("priority").as_integer(), 1);
  const auto& cells = table.at("rows").at(0).at("cells").as_array();
  EXPECT_EQ(cells.at(0).as_string(), "shared");
  EXPECT_EQ(cells.at(1).as_string(), "Organization");
  EXPECT_EQ(cells.at(2).as_integer(), 3);
  EXPECT_EQ(cells.at(3).as_string(), "True");
  EXPECT_TRUE(cells.at(4).is_null());  // no currency: an empty cell, not an error
  EXPECT_TRUE(cells.at(5).as_string().ends_with("y") ||
              cells.at(5).as_string().find('y') != std::string::npos);
  const value& object = table.at("rows").at(0).at("object");
  EXPECT_EQ(object.at("kind").as_string(), "PartialObjectMetadata");
  EXPECT_EQ(object.at("metadata").at("namespace").as_string(), "acme");
}

TEST(TableTest, BuiltinKindsShowNameAndAge) {
  ResourceType type;
  type.group = "rbac.authorization.k8s.io";
  type.kind = "Role";
  type.plural = "roles";
  type.version = "v1";
  value table = tableFor(type, {kGroup}, 1, "", TableObjects::None);
  ASSERT_EQ(table.at("columnDefinitions").size(), 2u);
  EXPECT_EQ(table.at("columnDefinitions").at(1).at("name").as_string(), "Age");
  EXPECT_FALSE(table.at("rows").at(0).has_field("object"));
}

TEST(TableTest, BuiltinKindsUsersListGetKubesColumns) {
  ResourceType secrets;
  secrets.kind = "Secret";
  secrets.plural = "secrets";
  secrets.version = "v1";
  value secret =
      parse(R"({"metadata": {"name": "sepa", "creationTimestamp": "2020-01-01T00:00:00Z"},
                           "type": "Opaque", "data": {"a": "", "b": ""}})");
  value table = tableFor(secrets, {secret}, 1, "");
  std::vector<std::string> names;
  for (const auto& c : table.at("columnDefinitions").as_array()) {
    names.push_back(c.at("name").as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Type", "Data", "Age"}));
  const auto& cells = table.at("rows").at(0).at("cells").as_array();
  EXPECT_EQ(cells.at(1).as_string(), "Opaque");
  EXPECT_EQ(cells.at(2).as_integer(), 2);

  ResourceType deployments;
  deployments.group = "apps";
  deployments.kind = "Deployment";
  deployments.plural = "deployments";
  deployments.version = "v1";
  value deployment = parse(R"({"metadata": {"name": "d"}, "spec": {"replicas": 3},
                               "status": {"readyReplicas": 2, "updatedReplicas": 3}})");
  value deploymentTable = tableFor(deployments, {deployment}, 1, "");
  const value& row = deploymentTable.at("rows").at(0).at("cells");
  EXPECT_EQ(row.at(1).as_string(), "2/3");
  EXPECT_EQ(row.at(2).as_integer(), 3);
  EXPECT_EQ(row.at(3).as_integer(), 0);
}

}  // namespace
}  // namespace billing::apiserver
