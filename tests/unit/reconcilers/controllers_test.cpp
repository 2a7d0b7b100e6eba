#include "reconcilers/controllers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/backend_sync.h"
#include "tests/unit/runtime/fake_client.h"

namespace billing::reconcilers {
namespace {

using runtime::testing::parse;
using ::testing::UnorderedElementsAre;
using Json = web::json::value;

std::vector<std::string> keys(const std::vector<runtime::Request>& requests) {
  std::vector<std::string> out;
  for (const auto& r : requests) out.push_back(r.key());
  return out;
}

void add(runtime::Store& store, const std::string& json) {
  store.upsert(std::make_shared<const Json>(parse(json)));
}

class MapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add(groups_, R"({"metadata":{"name":"main","namespace":"billing"},"spec":{}})");
    add(groups_, R"({"metadata":{"name":"web-billing","namespace":"web"},
                     "spec":{"scope":"Project","projectRef":{"name":"web"}}})");
    add(projects_, R"({"metadata":{"name":"web","namespace":"web"},
                       "spec":{"billingGroupRef":{"name":"main","namespace":"billing"}}})");
    add(projects_, R"({"metadata":{"name":"api","namespace":"billing"},
                       "spec":{"billingGroupRef":{"name":"main"}}})");
    add(projects_, R"({"metadata":{"name":"lonely","namespace":"other"},"spec":{}})");
  }
  runtime::Store groups_{runtime::defaultIndexers()};
  runtime::Store projects_{runtime::defaultIndexers()};
};

TEST_F(MapperTest, NamespaceMapsToItsProjectsAndTheProjectsUsingItsGroups) {
  auto requests =
      projectsOfNamespace(projects_, groups_)(parse(R"({"metadata":{"name":"billing"}})"));
  EXPECT_THAT(keys(requests), UnorderedElementsAre("billing/api", "web/web"));
  EXPECT_THAT(keys(groupsOfNamespace(groups_)(parse(R"({"metadata":{"name":"billing"}})"))),
              UnorderedElementsAre("billing/main"));
}

TEST_F(MapperTest, GroupMapsToReferencingBoundAndListedProjects) {
  auto requests = projectsOfGroup(projects_)(parse(R"({"metadata":{"name":"main",
    "namespace":"billing"},"status":{"projects":[{"namespace":"gone","name":"old"}]}})"));
  EXPECT_THAT(keys(requests), UnorderedElementsAre("billing/api", "web/web", "gone/old"));
  EXPECT_THAT(keys(projectsOfGroup(projects_)(parse(R"({"metadata":{"name":"web-billing",
    "namespace":"web"},"spec":{"projectRef":{"name":"web"}}})"))),
              UnorderedElementsAre("web/web"));
}

TEST_F(MapperTest, ProjectMapsToItsGroups) {
  auto requests = groupsOfProject(groups_)(parse(R"({"metadata":{"name":"web","namespace":"web"},
    "spec":{"billingGroupRef":{"name":"main","namespace":"billing"}},
    "status":{"billingGroup":{"name":"before","namespace":"billing"}}})"));
  EXPECT_THAT(keys(requests),
              UnorderedElementsAre("billing/main", "billing/before", "web/web-billing"));
}

TEST(NamespacePredicateTest, OnlyLabelOrAnnotationChangesPass) {
  auto predicate = namespaceLabelsChanged();
  auto ns = [](const std::string& org) {
    return std::make_shared<const Json>(parse(
        R"({"metadata":{"name":"a","resourceVersion":"1","labels":{"billing.operator.dev/organization":")" +
        org + R"("}}})"));
  };
  runtime::InformerEvent modified{runtime::InformerEventType::Modified, ns("acme"), ns("acme"),
                                  false};
  EXPECT_FALSE(predicate(modified));
  modified.object = ns("globex");
  EXPECT_TRUE(predicate(modified));
  EXPECT_TRUE(predicate({runtime::InformerEventType::Added, ns("acme"), nullptr, false}));
}

TEST(BackendSyncTest, JitterStaysWithinTenPercent) {
  for (int i = 0; i < 200; ++i) {
    auto d = jittered(std::chrono::minutes(5), 0.1);
    EXPECT_GE(d, std::chrono::seconds(270));
    EXPECT_LT(d, std::chrono::seconds(330));
  }
}

TEST(BackendSyncTest, KeysComeFromStableFactsOnly) {
  domain::Project project;
  project.metadata.uid = "p-uid";
  project.metadata.generation = 3;
  EXPECT_EQ(membershipKey(project, "g-uid"), "membership-p-uid-g-uid-g3");
  EXPECT_EQ(membershipKey(project, "g-uid"), membershipKey(project, "g-uid"));
  project.metadata.generation = 4;
  EXPECT_NE(membershipKey(project, "g-uid"), "membership-p-uid-g-uid-g3");
  EXPECT_EQ(creditKey("g", "promo"), "credit-g-promo");
}

}  // namespace
}  // namespace billing::reconcilers
