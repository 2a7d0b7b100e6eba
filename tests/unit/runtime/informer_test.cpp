#include "operator/runtime/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_client.h"
#include "test_support.h"

namespace billing::runtime {
namespace {

using ::testing::ElementsAre;
using testing::EventLog;
using testing::FakeApi;
using testing::Json;
using testing::kWait;
using testing::makeObject;
using testing::projectsResource;

Json project(std::string_view ns, std::string_view name) {
  return makeObject("billing.operator.dev/v1alpha1", "Project", ns, name);
}

std::string rvOf(const Json& object) { return objectResourceVersion(object); }

TEST(InformerTest, InitialSyncListsEveryPageThenWatchesFromTheListResourceVersion) {
  FakeApi api;
  for (const char* name : {"e", "d", "c", "b", "a"})
    api.put(projectsResource(), project("team", name));
  auto options = testing::quickInformerOptions();
  options.pageSize = 2;
  Informer informer(api, projectsResource(), "", options);
  EventLog log;
  informer.addHandler(log.handler());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();

  ASSERT_TRUE(informer.waitForSync(kWait));
  const std::string listVersion = std::to_string(api.resourceVersion());
  EXPECT_EQ(informer.store().size(), 5u);
  EXPECT_EQ(informer.lastSyncResourceVersion(), listVersion);
  // The Added events of the first list are delivered before hasSynced() turns true.
  EXPECT_THAT(log.lines(), ElementsAre("Added team/a 105", "Added team/b 104", "Added team/c 103",
                                       "Added team/d 102", "Added team/e 101"));
  const auto lists = api.listCalls();
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].limit, 2);
  EXPECT_EQ(lists[0].continueToken, "");
  EXPECT_NE(lists[1].continueToken, "");
  EXPECT_NE(lists[2].continueToken, lists[1].continueToken);
  ASSERT_TRUE(api.waitForWatchCalls(1, kWait));
  EXPECT_EQ(api.watchResourceVersions().front(), listVersion);
}

TEST(InformerTest, DeliversWatchEventsInOrderAndKeepsTheStoreCurrent) {
  FakeApi api;
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  EventLog log;
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));

  Json a = api.put(projectsResource(), project("team", "a"));
  a["spec"]["displayName"] = Json::string("A");
  a = api.put(projectsResource(), a);
  const Json b = api.put(projectsResource(), project("team", "b"));
  api.erase(projectsResource(), "team", "a");

  ASSERT_TRUE(log.waitForCount(4));
  EXPECT_THAT(log.lines(), ElementsAre("Added team/a 101", "Modified team/a 102",
                                       "Added team/b 103", "Deleted team/a 104"));
  EXPECT_EQ(informer.store().keys(), std::vector<std::string>{"team/b"});
  EXPECT_EQ(informer.lastSyncResourceVersion(), "104");
  EXPECT_EQ(rvOf(*informer.store().get("team", "b")), rvOf(b));
}

TEST(InformerTest, WatchCutMidStreamResumesFromTheLastResourceVersionWithoutLossOrDuplicates) {
  FakeApi api;
  api.put(projectsResource(), project("team", "seed"));
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  EventLog log;
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));

  // The stream ends right after delivering x1, while x2 and x3 are still to come.
  api.cutWatchAfter(1);
  const Json x1 = api.put(projectsResource(), project("team", "x1"));
  api.put(projectsResource(), project("team", "x2"));
  api.put(projectsResource(), project("team", "x3"));

  ASSERT_TRUE(log.waitForCount(4));
  EXPECT_THAT(log.lines(), ElementsAre("Added team/seed 101", "Added team/x1 102",
                                       "Added team/x2 103", "Added team/x3 104"));
  EXPECT_THAT(api.watchResourceVersions(), ElementsAre("101", rvOf(x1)));
  EXPECT_EQ(informer.relists(), 0u);
  EXPECT_EQ(api.listCalls().size(), 1u);
}

TEST(InformerTest, ConnectionDroppedWithoutEventsReconnectsFromTheSameResourceVersion) {
  FakeApi api;
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  EventLog log;
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));
  api.failWatches(testing::makeError(kube::ErrorKind::Network, 0, "connection refused"));
  api.cutWatches();
  ASSERT_TRUE(api.waitForWatchCalls(3, kWait));  // retrying, with backoff
  api.put(projectsResource(), project("team", "during-outage"));
  api.failWatches(std::nullopt);

  ASSERT_TRUE(log.waitForCount(1));
  EXPECT_THAT(log.lines(), ElementsAre("Added team/during-outage 101"));
  for (const auto& version : api.watchResourceVersions()) EXPECT_EQ(version, "100");
  EXPECT_EQ(api.listCalls().size(), 1u);
}

class InformerGoneTest : public ::testing::TestWithParam<bool> {};

TEST_P(InformerGoneTest, RelistAfter410EmitsDeletesForTheGapAndNothingForUnchangedObjects) {
  FakeApi api;
  api.goneAsCallError(GetParam());
  const Json a = api.put(projectsResource(), project("team", "a"));
  Json b = api.put(projectsResource(), project("team", "b"));
  api.put(projectsResource(), project("team", "c"));
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  EventLog log;
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(log.waitForCount(3));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));

  // A gap: the connection drops and stays down while a is deleted and b changes, then the
  // history of that period is compacted away.
  api.failWatches(testing::makeError(kube::ErrorKind::Network, 0, "connection reset"));
  api.cutWatches();
  ASSERT_TRUE(api.waitForActiveWatches(0, kWait));
  api.erase(projectsResource(), "team", "a");
  b["spec"]["displayName"] = Json::string("B");
  b = api.put(projectsResource(), b);
  api.compact();
  api.failWatches(std::nullopt);

  // A sentinel created after the relist: every relist event comes before it.
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(log.waitFor("Added team/c"));
  ASSERT_TRUE(api.waitForListCalls(2, kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));
  api.put(projectsResource(), project("team", "d"));
  ASSERT_TRUE(log.waitFor("Added team/d"));

  const auto lines = log.lines();
  EXPECT_THAT(std::vector<std::string>(lines.begin() + 3, lines.end()),
              ElementsAre("Modified team/b " + rvOf(b),
                          "Deleted team/a " + rvOf(a) + " (last known)", "Added team/d 106"));
  EXPECT_EQ(informer.relists(), 1u);
  EXPECT_EQ(informer.store().keys(), (std::vector<std::string>{"team/b", "team/c", "team/d"}));
  // The relist is a fresh, consistent list, not one served from a possibly stale cache.
  EXPECT_EQ(api.listCalls().back().resourceVersion, "");
}

INSTANTIATE_TEST_SUITE_P(ErrorEventOrCallError, InformerGoneTest, ::testing::Bool());

TEST(InformerTest, BookmarksAdvanceTheResourceVersionTheNextWatchStartsFrom) {
  FakeApi api;
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));
  EXPECT_EQ(informer.lastSyncResourceVersion(), "100");

  // Other resources move the cluster's resourceVersion; the bookmark tells us so.
  for (const char* name : {"g1", "g2", "g3"}) {
    api.put(testing::billingGroupsResource(),
            makeObject("billing.operator.dev/v1alpha1", "BillingGroup", "team", name));
  }
  const auto before = api.delivered();
  const std::int64_t bookmark = api.bookmark(projectsResource());
  ASSERT_TRUE(api.waitForDelivered(before + 1, kWait));
  EXPECT_EQ(informer.lastSyncResourceVersion(), std::to_string(bookmark));
  EXPECT_EQ(informer.store().size(), 0u);

  api.cutWatches();
  ASSERT_TRUE(api.waitForWatchCalls(2, kWait));
  EXPECT_THAT(api.watchResourceVersions(), ElementsAre("100", std::to_string(bookmark)));
}

TEST(InformerTest, ExpiredContinueTokenFallsBackToOneFullList) {
  FakeApi api;
  for (const char* name : {"a", "b", "c", "d", "e"})
    api.put(projectsResource(), project("t", name));
  testing::ProxyClient proxy(api);
  int lists = 0;
  proxy.setIntercept(
      [&](std::string_view verb, const kube::ResourceRef&) -> std::optional<kube::Error> {
        if (verb == "list" && ++lists == 2) api.expireContinueTokens();
        return std::nullopt;
      });
  auto options = testing::quickInformerOptions();
  options.pageSize = 2;
  Informer informer(proxy, projectsResource(), "", options);
  EventLog log;
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));

  EXPECT_EQ(log.lines().size(), 5u);
  EXPECT_EQ(informer.store().size(), 5u);
  const auto calls = api.listCalls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].limit, 0);
  EXPECT_EQ(calls[2].continueToken, "");
}

TEST(InformerTest, ListFailuresAreRetriedUntilTheListSucceeds) {
  FakeApi api;
  api.put(projectsResource(), project("t", "a"));
  api.failLists(testing::makeError(kube::ErrorKind::ServerError, 503, "etcd unavailable"));
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  informer.start();
  ASSERT_TRUE(api.waitForListCalls(3, kWait));
  EXPECT_FALSE(informer.hasSynced());
  api.failLists(std::nullopt);
  ASSERT_TRUE(informer.waitForSync(kWait));
  EXPECT_EQ(informer.store().size(), 1u);
}

TEST(InformerTest, ResyncRedeliversEveryObjectAsItIs) {
  FakeApi api;
  api.put(projectsResource(), project("t", "a"));
  auto options = testing::quickInformerOptions();
  options.resyncPeriod = std::chrono::milliseconds(20);
  options.resyncJitter = 0;
  Informer informer(api, projectsResource(), "", options);
  EventLog log;
  std::atomic<bool> sameObject{false};
  // Handlers run in order: this one has run once the log shows the resync.
  informer.addHandler([&](const InformerEvent& event) {
    if (event.type == InformerEventType::Resync) sameObject = event.oldObject == event.object;
  });
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(log.waitFor("Resync t/a 101"));
  EXPECT_EQ(log.lines().front(), "Added t/a 101");
  EXPECT_TRUE(sameObject.load());
}

TEST(InformerTest, HandlerAddedAfterSyncFirstGetsTheCurrentObjects) {
  FakeApi api;
  api.put(projectsResource(), project("t", "a"));
  api.put(projectsResource(), project("t", "b"));
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));
  EventLog late;
  informer.addHandler(late.handler());
  api.put(projectsResource(), project("t", "c"));
  ASSERT_TRUE(late.waitForCount(3));
  EXPECT_THAT(late.lines(), ElementsAre("Added t/a 101", "Added t/b 102", "Added t/c 103"));
}

TEST(InformerTest, NamespacedInformerSeesOnlyItsNamespace) {
  FakeApi api;
  api.put(projectsResource(), project("one", "a"));
  api.put(projectsResource(), project("two", "b"));
  Informer informer(api, projectsResource(), "one", testing::quickInformerOptions());
  EventLog log;
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));
  api.put(projectsResource(), project("two", "c"));
  api.put(projectsResource(), project("one", "d"));
  ASSERT_TRUE(log.waitFor("Added one/d"));
  EXPECT_THAT(log.lines(), ElementsAre("Added one/a 101", "Added one/d 104"));
}

TEST(InformerTest, StoreIndexesFollowWatchEvents) {
  FakeApi api;
  Informer informer(api, projectsResource(), "", testing::quickInformerOptions());
  EventLog log;
  informer.addHandler(log.handler());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(1, kWait));
  Json p = project("team", "p");
  p["spec"]["billingGroupRef"] = testing::parse(R"({"name":"g1"})");
  p = api.put(projectsResource(), p);
  ASSERT_TRUE(log.waitForCount(1));
  EXPECT_EQ(informer.store().byIndex(kBillingGroupRefIndex, "team/g1").size(), 1u);
  p["spec"]["billingGroupRef"] = testing::parse(R"({"name":"g2","namespace":"shared"})");
  api.put(projectsResource(), p);
  ASSERT_TRUE(log.waitForCount(2));
  EXPECT_TRUE(informer.store().byIndex(kBillingGroupRefIndex, "team/g1").empty());
  EXPECT_EQ(informer.store().byIndex(kBillingGroupRefIndex, "shared/g2").size(), 1u);
}

}  // namespace
}  // namespace billing::runtime
