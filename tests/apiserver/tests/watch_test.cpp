// Watches over HTTPS: replay from a resourceVersion, synthetic ADDED events from 0, the change
// types a selector turns events into, bookmarks, timeouts, 410 Expired and dropped streams.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using web::json::value;
using namespace std::chrono_literals;
using harness::eventName;
using harness::eventRv;
using harness::eventType;
using harness::field;
using harness::json;
using harness::WatchStream;
using ::testing::ElementsAre;

const std::string kMaps = "/api/v1/namespaces/acme/configmaps";

value configMap(const std::string& name, const std::string& team = "") {
  value object = json(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {},
                          "data": {"k": "v"}})");
  object["metadata"]["name"] = value::string(name);
  if (!team.empty()) object["metadata"]["labels"]["team"] = value::string(team);
  return object;
}

// "TYPE name rv" for each event, to compare whole sequences at once.
std::string describe(const value& event) {
  return eventType(event) + " " + eventName(event) + " " + eventRv(event);
}

class WatchTest : public ::testing::Test {
 protected:
  void start(TestApiServerOptions options = {}) {
    server_ = harness::startServer(std::move(options));
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<Client>(*server_);
    for (const char* ns : {"acme", "globex"}) {
      value object = json(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {}})");
      object["metadata"]["name"] = value::string(ns);
      ASSERT_EQ(client_->post("/api/v1/namespaces", object).status, 201);
    }
  }
  void SetUp() override { start(); }

  std::string create(const std::string& name, const std::string& team = "") {
    auto created = client_->post(kMaps, configMap(name, team));
    EXPECT_EQ(created.status, 201) << created.body;
    return field(created.json, {"metadata", "resourceVersion"});
  }
  std::string setData(const std::string& name, const std::string& data) {
    auto patched = client_->patch(kMaps + "/" + name, R"({"data": {"k": ")" + data + R"("}})");
    EXPECT_EQ(patched.status, 200) << patched.body;
    return field(patched.json, {"metadata", "resourceVersion"});
  }
  std::string remove(const std::string& name) {
    auto deleted = client_->del(kMaps + "/" + name);
    EXPECT_EQ(deleted.status, 200) << deleted.body;
    return std::to_string(server_->api().store().revision());
  }

  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(WatchTest, FromAResourceVersionReplaysEveryLaterChangeInOrder) {
  std::string rvA = create("a");
  std::string rvA2 = setData("a", "2");
  std::string rvB = create("b");
  std::string rvDel = remove("a");
  WatchStream watch(*client_, kMaps + "?watch=1&resourceVersion=" + rvA);
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto event = watch.next();
    ASSERT_TRUE(event) << "after " << i << " events";
    seen.push_back(describe(*event));
  }
  EXPECT_THAT(seen, ElementsAre("MODIFIED a " + rvA2, "ADDED b " + rvB, "DELETED a " + rvDel));
  // Then live changes.
  std::string rvC = create("c");
  auto live = watch.next();
  ASSERT_TRUE(live);
  EXPECT_EQ(describe(*live), "ADDED c " + rvC);
  // Events carry the whole object, served with apiVersion and kind.
  EXPECT_EQ(field(live->at("object"), {"kind"}), "ConfigMap");
  EXPECT_EQ(field(live->at("object"), {"data", "k"}), "v");
}

TEST_F(WatchTest, FromZeroOrUnsetStartsWithSyntheticAddedEvents) {
  std::string rvA = create("a");
  std::string rvB = create("b");
  for (const std::string query : {"?watch=true&resourceVersion=0", "?watch=true"}) {
    SCOPED_TRACE(query);
    rvA = field(client_->get(kMaps + "/a").json, {"metadata", "resourceVersion"});
    WatchStream watch(*client_, kMaps + query);
    auto first = watch.next();
    auto second = watch.next();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(describe(*first), "ADDED a " + rvA);
    EXPECT_EQ(describe(*second), "ADDED b " + rvB);
    std::string rvA2 = setData("a", query.size() > 12 ? "x" : "y");
    auto modified = watch.next();
    ASSERT_TRUE(modified);
    EXPECT_EQ(describe(*modified), "MODIFIED a " + rvA2);
  }
}

TEST_F(WatchTest, ScopedToTheNamespaceOfThePath) {
  WatchStream acme(*client_, kMaps + "?watch=1");
  WatchStream all(*client_, "/api/v1/configmaps?watch=1");
  ASSERT_EQ(client_->post("/api/v1/namespaces/globex/configmaps", configMap("g")).status, 201);
  create("a");
  auto inAcme = acme.next();
  ASSERT_TRUE(inAcme);
  EXPECT_EQ(eventName(*inAcme), "a");
  auto first = all.next();
  auto second = all.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(eventName(*first), "g");
  EXPECT_EQ(eventName(*second), "a");
}

TEST_F(WatchTest, ALabelSelectorTurnsEnteringAndLeavingIntoAddedAndDeleted) {
  create("a", "web");
  WatchStream watch(*client_, kMaps + "?watch=1&labelSelector=team%3Dweb");
  auto initial = watch.next();
  ASSERT_TRUE(initial);
  EXPECT_EQ(eventType(*initial), "ADDED");
  create("b", "data");  // never matches: no event
  auto left = client_->patch(kMaps + "/a", R"({"metadata": {"labels": {"team": "data"}}})");
  auto entered = client_->patch(kMaps + "/b", R"({"metadata": {"labels": {"team": "web"}}})");
  auto first = watch.next();
  auto second = watch.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(describe(*first), "DELETED a " + field(left.json, {"metadata", "resourceVersion"}));
  EXPECT_EQ(describe(*second), "ADDED b " + field(entered.json, {"metadata", "resourceVersion"}));
}

TEST_F(WatchTest, BookmarksOnlyWhenAskedFor) {
  TestApiServerOptions options;
  options.bookmarkInterval = std::chrono::milliseconds(100);
  start(options);
  std::string rv = create("a");
  WatchStream withBookmarks(*client_,
                            kMaps + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv);
  WatchStream without(*client_, kMaps + "?watch=1&resourceVersion=" + rv);
  auto bookmark = withBookmarks.next(3s);
  ASSERT_TRUE(bookmark);
  EXPECT_EQ(eventType(*bookmark), "BOOKMARK");
  EXPECT_EQ(field(bookmark->at("object"), {"kind"}), "ConfigMap");
  EXPECT_EQ(field(bookmark->at("object"), {"apiVersion"}), "v1");
  EXPECT_EQ(eventRv(*bookmark), std::to_string(server_->api().store().revision()));
  EXPECT_FALSE(without.next(500ms)) << "a bookmark nobody asked for";
  // A bookmark after a change carries its resourceVersion: the client may resume from there.
  std::string rvB = create("b");
  auto added = withBookmarks.nextChange();
  ASSERT_TRUE(added);
  EXPECT_EQ(describe(*added), "ADDED b " + rvB);
  auto later = withBookmarks.next(3s);
  ASSERT_TRUE(later);
  EXPECT_EQ(eventType(*later), "BOOKMARK");
  EXPECT_EQ(eventRv(*later), rvB);
}

TEST_F(WatchTest, TimeoutSecondsEndsTheStream) {
  auto started = std::chrono::steady_clock::now();
  WatchStream watch(*client_, kMaps + "?watch=1&timeoutSeconds=1");
  ASSERT_TRUE(watch.ended(5s));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(watch.status(), 200);
  EXPECT_EQ(watch.error(), "");
}

TEST_F(WatchTest, AResourceVersionOlderThanTheHistoryIs410Expired) {
  TestApiServerOptions options;
  options.historySize = 3;
  start(options);
  std::string first = create("a");
  for (const char* name : {"b", "c", "d", "e"}) create(name);
  const std::uint64_t revision = server_->api().store().revision();
  WatchStream watch(*client_, kMaps + "?watch=1&resourceVersion=" + first);
  EXPECT_EQ(watch.status(), 200);
  auto error = watch.next();
  ASSERT_TRUE(error);
  EXPECT_EQ(eventType(*error), "ERROR");
  // The three changes kept are revision-2..revision: a watch may start from revision-3 on.
  const std::string expected =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
      R"("message":"too old resource version: )" +
      first + " (" + std::to_string(revision - 3) + R"x()","reason":"Expired","code":410})x";
  EXPECT_TRUE(common::jsonEqual(error->at("object"), json(expected)))
      << common::toJson(error->at("object"));
  EXPECT_TRUE(watch.ended());
  // From the oldest kept revision on, watches replay.
  WatchStream resumed(*client_, kMaps + "?watch=1&resourceVersion=" + std::to_string(revision - 3));
  auto replayed = resumed.next();
  ASSERT_TRUE(replayed);
  EXPECT_EQ(eventType(*replayed), "ADDED");
  EXPECT_EQ(eventName(*replayed), "c");
}

TEST_F(WatchTest, ExpiringTheHistoryMakesTheNextWatchFromAnOlderVersion410) {
  std::string rv = create("a");
  create("b");
  server_->expireWatchHistory();
  WatchStream old(*client_, kMaps + "?watch=1&resourceVersion=" + rv);
  auto error = old.next();
  ASSERT_TRUE(error);
  EXPECT_EQ(eventType(*error), "ERROR");
  EXPECT_EQ(field(error->at("object"), {"code"}), "410");
  // A relist and a watch from the list's resourceVersion work.
  auto list = client_->get(kMaps);
  WatchStream fresh(*client_, kMaps + "?watch=1&resourceVersion=" +
                                  field(list.json, {"metadata", "resourceVersion"}));
  std::string rvC = create("c");
  auto added = fresh.next();
  ASSERT_TRUE(added);
  EXPECT_EQ(describe(*added), "ADDED c " + rvC);
}

TEST_F(WatchTest, DroppedWatchesEndAndResumeWithoutLoss) {
  std::string rv = create("a");
  WatchStream first(*client_, kMaps + "?watch=1&resourceVersion=" + rv);
  std::string rvB = create("b");
  auto seen = first.next();
  ASSERT_TRUE(seen);
  EXPECT_EQ(describe(*seen), "ADDED b " + rvB);
  ASSERT_EQ(client_->post("/_test/faults", json(R"({"dropWatches": true})")).status, 200);
  EXPECT_TRUE(first.ended());
  // Changes while nobody watches are replayed to the next watch from the last version seen.
  std::string rvC = create("c");
  std::string rvB2 = setData("b", "2");
  WatchStream second(*client_, kMaps + "?watch=1&resourceVersion=" + eventRv(*seen));
  auto c = second.next();
  auto b = second.next();
  ASSERT_TRUE(c && b);
  EXPECT_EQ(describe(*c), "ADDED c " + rvC);
  EXPECT_EQ(describe(*b), "MODIFIED b " + rvB2);
}

TEST_F(WatchTest, DeletionWithAFinalizerIsModifiedThenDeleted) {
  ASSERT_EQ(client_
                ->post(kMaps, json(R"({"apiVersion": "v1", "kind": "ConfigMap",
      "metadata": {"name": "f", "finalizers": ["example.com/hold"]}})"))
                .status,
            201);
  WatchStream watch(*client_, kMaps + "?watch=1&resourceVersion=" +
                                  std::to_string(server_->api().store().revision()));
  ASSERT_EQ(client_->del(kMaps + "/f").status, 200);
  auto marked = watch.next();
  ASSERT_TRUE(marked);
  EXPECT_EQ(eventType(*marked), "MODIFIED");
  EXPECT_NE(field(marked->at("object"), {"metadata", "deletionTimestamp"}), "<missing>");
  ASSERT_EQ(client_->patch(kMaps + "/f", R"({"metadata": {"finalizers": null}})").status, 200);
  auto gone = watch.next();
  ASSERT_TRUE(gone);
  EXPECT_EQ(eventType(*gone), "DELETED");
  EXPECT_EQ(client_->get(kMaps + "/f").status, 404);
}

}  // namespace
}  // namespace billing::apiserver
