#include "operator/runtime/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_client.h"

namespace billing::runtime {
namespace {

using testing::Json;
using testing::parse;

ObjectPtr object(std::string_view text) { return std::make_shared<const Json>(parse(text)); }

std::vector<std::string> names(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> result;
  for (const auto& o : objects) result.push_back(objectKey(*o));
  return result;
}

TEST(StoreTest, KeysAreNamespaceSlashNameOrJustTheNameWhenClusterScoped) {
  Store store;
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"x"}})"));
  store.upsert(object(R"({"metadata":{"name":"cluster-wide"}})"));
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"a/x", "cluster-wide"}));
  EXPECT_NE(store.get("a", "x"), nullptr);
  EXPECT_NE(store.get("cluster-wide"), nullptr);
  EXPECT_EQ(store.get("b", "x"), nullptr);
}

TEST(StoreTest, UpsertAndEraseReturnThePreviousObject) {
  Store store;
  EXPECT_EQ(
      store.upsert(object(R"({"metadata":{"namespace":"a","name":"x","resourceVersion":"1"}})")),
      nullptr);
  const auto previous =
      store.upsert(object(R"({"metadata":{"namespace":"a","name":"x","resourceVersion":"2"}})"));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ(objectResourceVersion(*previous), "1");
  const auto erased = store.erase("a/x");
  ASSERT_NE(erased, nullptr);
  EXPECT_EQ(objectResourceVersion(*erased), "2");
  EXPECT_EQ(store.erase("a/x"), nullptr);
  EXPECT_EQ(store.size(), 0u);
}

TEST(StoreTest, DefaultIndexesByNamespaceBillingGroupAndOwner) {
  Store store(defaultIndexers());
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"p1"},
                          "spec":{"billingGroupRef":{"name":"g"}}})"));
  store.upsert(object(R"({"metadata":{"namespace":"b","name":"p2"},
                          "spec":{"billingGroupRef":{"name":"g","namespace":"a"}}})"));
  store.upsert(object(R"({"metadata":{"namespace":"b","name":"p3",
                          "ownerReferences":[{"apiVersion":"x/v1","kind":"K","name":"o","uid":"u-1"}]},
                          "spec":{"billingGroupRef":{"name":"g"}}})"));
  EXPECT_THAT(names(store.byIndex(kNamespaceIndex, "b")), ::testing::ElementsAre("b/p2", "b/p3"));
  EXPECT_THAT(names(store.byIndex(kBillingGroupRefIndex, "a/g")),
              ::testing::ElementsAre("a/p1", "b/p2"));
  EXPECT_THAT(names(store.byIndex(kBillingGroupRefIndex, "b/g")), ::testing::ElementsAre("b/p3"));
  EXPECT_THAT(names(store.byIndex(kOwnerIndex, "u-1")), ::testing::ElementsAre("b/p3"));
  EXPECT_TRUE(store.byIndex("no-such-index", "a").empty());

  // Moving p1 to another group and deleting p2 leave no stale entries behind.
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"p1"},
                          "spec":{"billingGroupRef":{"name":"h"}}})"));
  store.erase("b/p2");
  EXPECT_TRUE(store.byIndex(kBillingGroupRefIndex, "a/g").empty());
  EXPECT_THAT(names(store.byIndex(kBillingGroupRefIndex, "a/h")), ::testing::ElementsAre("a/p1"));
}

TEST(StoreTest, ProjectRefIndexFindsTheGroupsBoundToAProject) {
  Store store(defaultIndexers());
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"g1"},
                          "spec":{"scope":"Project","projectRef":{"name":"web"}}})"));
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"g2"},
                          "spec":{"scope":"Project","projectRef":{"name":"web"}}})"));
  store.upsert(object(R"({"metadata":{"namespace":"b","name":"g3"},
                          "spec":{"scope":"Project","projectRef":{"name":"web"}}})"));
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"shared"},
                          "spec":{"scope":"Organization"}})"));
  // The project is in the group's own namespace: b/g3 binds b/web, not a/web.
  EXPECT_THAT(names(store.byIndex(kProjectRefIndex, "a/web")),
              ::testing::ElementsAre("a/g1", "a/g2"));
  EXPECT_THAT(names(store.byIndex(kProjectRefIndex, "b/web")), ::testing::ElementsAre("b/g3"));
  // Rebinding moves the entry.
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"g2"},
                          "spec":{"scope":"Project","projectRef":{"name":"api"}}})"));
  EXPECT_THAT(names(store.byIndex(kProjectRefIndex, "a/web")), ::testing::ElementsAre("a/g1"));
  EXPECT_THAT(names(store.byIndex(kProjectRefIndex, "a/api")), ::testing::ElementsAre("a/g2"));
}

TEST(StoreTest, PluggableIndexAddedLaterCoversExistingObjects) {
  Store store;
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"x","labels":{"tier":"gold"}}})"));
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"y","labels":{"tier":"silver"}}})"));
  store.addIndex("tier", [](const Json& o) -> std::vector<std::string> {
    std::string tier = stringAt(o, {"metadata", "labels", "tier"});
    if (tier.empty()) return {};
    return {tier};
  });
  EXPECT_THAT(names(store.byIndex("tier", "gold")), ::testing::ElementsAre("a/x"));
  store.upsert(object(R"({"metadata":{"namespace":"a","name":"z","labels":{"tier":"gold"}}})"));
  EXPECT_THAT(names(store.byIndex("tier", "gold")), ::testing::ElementsAre("a/x", "a/z"));
}

}  // namespace
}  // namespace billing::runtime
