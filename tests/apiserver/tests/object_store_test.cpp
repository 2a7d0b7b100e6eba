#include "tests/apiserver/object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "common/json.h"

namespace billing::apiserver {
namespace {

using web::json::value;
using namespace std::chrono_literals;

constexpr const char* kLeases = "leases.coordination.k8s.io";

value object(const std::string& ns, const std::string& name, const std::string& team = "") {
  value o = value::object(true);
  o["metadata"]["namespace"] = value::string(ns);
  o["metadata"]["name"] = value::string(name);
  if (!team.empty()) o["metadata"]["labels"]["team"] = value::string(team);
  return o;
}

std::string rv(const value& o) { return o.at("metadata").at("resourceVersion").as_string(); }
std::string name(const value& o) { return o.at("metadata").at("name").as_string(); }

ObjectStore::Options small(std::size_t history = 100) {
  ObjectStore::Options options;
  options.historySize = history;
  return options;
}

TEST(ObjectStoreTest, RevisionsComeFromOneGlobalCounter) {
  ObjectStore store(small());
  auto a = store.create(kLeases, object("ns1", "a"));
  auto b = store.create("secrets", object("ns1", "b"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(rv(*a), "1");
  EXPECT_EQ(rv(*b), "2");
  EXPECT_EQ(store.revision(), 2u);
  auto updated = store.update(kLeases, *a);
  ASSERT_TRUE(updated);
  EXPECT_EQ(rv(*updated), "3");
}

TEST(ObjectStoreTest, CreateTwiceIsAlreadyExists) {
  ObjectStore store(small());
  ASSERT_TRUE(store.create(kLeases, object("ns1", "a")));
  auto again = store.create(kLeases, object("ns1", "a"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), StoreError::AlreadyExists);
  // Same name in another namespace or resource is another object.
  EXPECT_TRUE(store.create(kLeases, object("ns2", "a")));
  EXPECT_TRUE(store.create("secrets", object("ns1", "a")));
}

TEST(ObjectStoreTest, StaleRevisionIsAConflict) {
  ObjectStore store(small());
  auto created = store.create(kLeases, object("ns1", "a"));
  ASSERT_TRUE(created);
  ASSERT_TRUE(store.update(kLeases, *created, 1));
  auto stale = store.update(kLeases, *created, 1);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error(), StoreError::Conflict);
  auto missing = store.update(kLeases, object("ns1", "zzz"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), StoreError::NotFound);
}

TEST(ObjectStoreTest, ListIsOrderedAndScopedToNamespace) {
  ObjectStore store(small());
  store.create(kLeases, object("b", "x"));
  store.create(kLeases, object("a", "y"));
  store.create(kLeases, object("a", "x"));
  store.create("secrets", object("a", "s"));
  auto all = store.list(kLeases, std::nullopt);
  ASSERT_EQ(all.items.size(), 3u);
  EXPECT_EQ(all.revision, 4u);
  EXPECT_EQ(all.items[0].at("metadata").at("namespace").as_string(), "a");
  EXPECT_EQ(name(all.items[0]), "x");
  EXPECT_EQ(name(all.items[1]), "y");
  EXPECT_EQ(all.items[2].at("metadata").at("namespace").as_string(), "b");
  auto inA = store.list(kLeases, std::string("a"));
  EXPECT_EQ(inA.items.size(), 2u);
  EXPECT_TRUE(store.list(kLeases, std::string("c")).items.empty());
}

TEST(ObjectStoreTest, DeleteCarriesTheDeletionRevision) {
  ObjectStore store(small());
  store.create(kLeases, object("ns1", "a"));
  auto removed = store.remove(kLeases, "ns1", "a");
  ASSERT_TRUE(removed);
  EXPECT_EQ(rv(*removed), "2");
  EXPECT_EQ(store.get(kLeases, "ns1", "a").error(), StoreError::NotFound);
  EXPECT_EQ(store.remove(kLeases, "ns1", "a").error(), StoreError::NotFound);
}

TEST(ObjectStoreTest, WatchReplaysHistoryAfterTheRequestedRevision) {
  ObjectStore store(small());
  store.create(kLeases, object("ns1", "a"));               // 1
  store.create(kLeases, object("ns1", "b"));               // 2
  store.update(kLeases, *store.get(kLeases, "ns1", "a"));  // 3
  store.remove(kLeases, "ns1", "b");                       // 4
  auto start = store.watch({kLeases, std::nullopt, nullptr}, 1);
  ASSERT_TRUE(start);
  std::vector<std::pair<EventType, std::string>> seen;
  while (auto event = start->watcher->next(10ms)) seen.emplace_back(event->type, event->name);
  EXPECT_THAT(seen, ::testing::ElementsAre(std::pair{EventType::Added, std::string("b")},
                                           std::pair{EventType::Modified, std::string("a")},
                                           std::pair{EventType::Deleted, std::string("b")}));
}

TEST(ObjectStoreTest, WatchWithoutRevisionStartsFromCurrentState) {
  ObjectStore store(small());
  store.create(kLeases, object("ns1", "a"));
  store.create(kLeases, object("ns2", "b"));
  auto start = store.watch({kLeases, std::string("ns1"), nullptr}, std::nullopt);
  ASSERT_TRUE(start);
  ASSERT_EQ(start->initial.size(), 1u);
  EXPECT_EQ(name(start->initial[0]), "a");
  EXPECT_EQ(start->revision, 2u);
  EXPECT_FALSE(start->watcher->next(10ms));
  store.create(kLeases, object("ns1", "c"));
  store.create(kLeases, object("ns2", "d"));  // other namespace: not delivered
  auto event = start->watcher->next(1s);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->name, "c");
  EXPECT_EQ(event->revision, 3u);
  EXPECT_FALSE(start->watcher->next(10ms));
}

TEST(ObjectStoreTest, SelectorWatchSeesObjectsEnterAndLeave) {
  ObjectStore store(small());
  auto isWeb = [](const value& o) {
    return o.at("metadata").has_field("labels") &&
           o.at("metadata").at("labels").at("team").as_string() == "web";
  };
  auto start = store.watch({kLeases, std::nullopt, isWeb}, std::nullopt);
  ASSERT_TRUE(start);
  auto created = store.create(kLeases, object("ns1", "a", "data"));  // not matching: nothing
  store.update(kLeases, object("ns1", "a", "web"));                  // enters: ADDED
  store.update(kLeases, object("ns1", "a", "web"));                  // stays: MODIFIED
  store.update(kLeases, object("ns1", "a", "data"));                 // leaves: DELETED
  store.remove(kLeases, "ns1", "a");                                 // gone unseen: nothing
  std::vector<EventType> types;
  while (auto event = start->watcher->next(10ms)) types.push_back(event->type);
  EXPECT_THAT(types,
              ::testing::ElementsAre(EventType::Added, EventType::Modified, EventType::Deleted));
}

TEST(ObjectStoreTest, WatchFromCompactedRevisionIsExpired) {
  ObjectStore store(small(3));
  for (int i = 0; i < 6; ++i) store.create(kLeases, object("ns1", "o" + std::to_string(i)));
  EXPECT_EQ(store.oldestWatchableRevision(), 3u);
  auto expired = store.watch({kLeases, std::nullopt, nullptr}, 2);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().oldestAvailable, 4u);
  auto ok = store.watch({kLeases, std::nullopt, nullptr}, 3);
  ASSERT_TRUE(ok);
  int count = 0;
  while (ok->watcher->next(10ms)) ++count;
  EXPECT_EQ(count, 3);
  store.compactHistory();
  EXPECT_FALSE(store.watch({kLeases, std::nullopt, nullptr}, 5));
}

TEST(ObjectStoreTest, StopAllWatchersEndsBlockedReaders) {
  ObjectStore store(small());
  auto start = store.watch({kLeases, std::nullopt, nullptr}, std::nullopt);
  ASSERT_TRUE(start);
  std::thread reader([&] {
    while (!start->watcher->stopped()) start->watcher->next(5s);
  });
  store.stopAllWatchers();
  reader.join();
  EXPECT_EQ(store.watcherCount(), 0u);
}

TEST(ObjectStoreTest, SlowWatcherIsStoppedWhenItsQueueOverflows) {
  ObjectStore::Options options = small();
  options.watcherQueueCapacity = 2;
  ObjectStore store(options);
  auto start = store.watch({kLeases, std::nullopt, nullptr}, std::nullopt);
  for (int i = 0; i < 3; ++i) store.create(kLeases, object("ns1", "o" + std::to_string(i)));
  EXPECT_TRUE(start->watcher->overflowed());
  EXPECT_TRUE(start->watcher->stopped());
}

TEST(ObjectStoreTest, StateAndHistorySurviveARestart) {
  auto dir =
      std::filesystem::temp_directory_path() / ("object_store_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ObjectStore::Options options = small();
  options.dataDir = dir;
  {
    ObjectStore store(options);
    store.create(kLeases, object("ns1", "a"));
    store.create(kLeases, object("ns1", "b"));
    store.remove(kLeases, "ns1", "a");
  }
  {
    ObjectStore store(options);
    EXPECT_EQ(store.revision(), 3u);
    EXPECT_FALSE(store.get(kLeases, "ns1", "a"));
    auto b = store.get(kLeases, "ns1", "b");
    ASSERT_TRUE(b);
    EXPECT_EQ(rv(*b), "2");
    auto start = store.watch({kLeases, std::nullopt, nullptr}, 1);
    ASSERT_TRUE(start);
    int count = 0;
    while (start->watcher->next(10ms)) ++count;
    EXPECT_EQ(count, 2);  // b added, a deleted
    auto c = store.create(kLeases, object("ns1", "c"));
    ASSERT_TRUE(c);
    EXPECT_EQ(rv(*c), "4");
  }
  std::filesystem::remove_all(dir);
}

TEST(ObjectStoreTest, MutateSeesCurrentStateAtomically) {
  ObjectStore store(small());
  store.create(kLeases, object("ns1", "counter"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto result =
            store.mutate(kLeases, "ns1", "counter",
                         [](const std::optional<value>& current)
                             -> std::expected<ObjectStore::Mutation, std::string> {
                           value next = *current;
                           int n = next.has_field("n") ? next.at("n").as_integer() : 0;
                           next["n"] = value::number(n + 1);
                           return ObjectStore::Mutation{ObjectStore::Mutation::Action::Put, next};
                         });
        ASSERT_TRUE(result);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store.get(kLeases, "ns1", "counter")->at("n").as_integer(), 200);
}

}  // namespace
}  // namespace billing::apiserver
