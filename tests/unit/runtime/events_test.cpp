#include "operator/runtime/events.h"

#include <gtest/gtest.h>

#include <atomic>

#include "fake_client.h"
#include "test_support.h"

namespace billing::runtime {
namespace {

using testing::FakeApi;
using testing::Json;
using testing::kWait;
using namespace std::chrono_literals;

Json billingGroup(std::string_view name, std::string_view uid) {
  Json group = testing::makeObject("billing.operator.dev/v1alpha1", "BillingGroup", "team", name);
  group["metadata"]["uid"] = Json::string(std::string(uid));
  group["metadata"]["resourceVersion"] = Json::string("42");
  return group;
}

EventRecorderOptions quickOptions(const common::Clock* clock) {
  EventRecorderOptions options;
  options.reportingInstance = "billing-operator-7d9f";
  options.clock = clock;
  options.logger = Logger::discard();
  return options;
}

std::int64_t seriesCount(const Json& event) {
  if (!event.has_field("series")) return 1;
  return event.at("series").at("count").as_number().to_int64();
}

TEST(EventRecorderTest, WritesAnEventsV1EventAboutTheObject) {
  FakeApi api;
  common::ManualClock clock;
  clock.setWall(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 10h + 5us);
  EventRecorder recorder(api, quickOptions(&clock));
  recorder.event(billingGroup("acme", "uid-1"), EventType::Warning, "PaymentSecretMissing",
                 "Reconcile", "secret \"acme-card\" not found");
  ASSERT_TRUE(recorder.flush(kWait));

  const auto events = api.storedAll(eventResource());
  ASSERT_EQ(events.size(), 1u);
  const Json& event = events[0];
  EXPECT_EQ(stringAt(event, {"apiVersion"}), "events.k8s.io/v1");
  EXPECT_EQ(stringAt(event, {"kind"}), "Event");
  EXPECT_EQ(objectNamespace(event), "team");
  EXPECT_EQ(objectName(event).rfind("acme.", 0), 0u);
  EXPECT_EQ(stringAt(event, {"type"}), "Warning");
  EXPECT_EQ(stringAt(event, {"reason"}), "PaymentSecretMissing");
  EXPECT_EQ(stringAt(event, {"action"}), "Reconcile");
  EXPECT_EQ(stringAt(event, {"note"}), "secret \"acme-card\" not found");
  EXPECT_EQ(stringAt(event, {"eventTime"}), "2024-05-01T10:00:00.000005Z");
  EXPECT_EQ(stringAt(event, {"reportingController"}), "billing.operator.dev/billing-operator");
  EXPECT_EQ(stringAt(event, {"reportingInstance"}), "billing-operator-7d9f");
  EXPECT_EQ(stringAt(event, {"regarding", "kind"}), "BillingGroup");
  EXPECT_EQ(stringAt(event, {"regarding", "apiVersion"}), "billing.operator.dev/v1alpha1");
  EXPECT_EQ(stringAt(event, {"regarding", "namespace"}), "team");
  EXPECT_EQ(stringAt(event, {"regarding", "name"}), "acme");
  EXPECT_EQ(stringAt(event, {"regarding", "uid"}), "uid-1");
  EXPECT_FALSE(event.has_field("series"));
}

TEST(EventRecorderTest, RepeatsWithinTheWindowGrowOneSeriesInsteadOfNewEvents) {
  FakeApi api;
  common::ManualClock clock;
  EventRecorder recorder(api, quickOptions(&clock));
  const Json group = billingGroup("acme", "uid-1");
  recorder.event(group, EventType::Normal, "Synced", "Reconcile", "in sync with the ledger");
  ASSERT_TRUE(recorder.flush(kWait));
  clock.advance(1min);
  recorder.event(group, EventType::Normal, "Synced", "Reconcile", "in sync with the ledger");
  ASSERT_TRUE(recorder.flush(kWait));
  clock.advance(1min);
  recorder.event(group, EventType::Normal, "Synced", "Reconcile", "in sync with the ledger");
  ASSERT_TRUE(recorder.flush(kWait));

  const auto events = api.storedAll(eventResource());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(seriesCount(events[0]), 3);
  EXPECT_EQ(stringAt(events[0], {"series", "lastObservedTime"}),
            common::formatMicroTime(clock.wallNow()));
  EXPECT_EQ(api.calls("create"), 1u);
  EXPECT_EQ(api.calls("patch"), 2u);
}

TEST(EventRecorderTest, DifferentNoteReasonOrObjectIsADifferentEvent) {
  FakeApi api;
  common::ManualClock clock;
  EventRecorder recorder(api, quickOptions(&clock));
  recorder.event(billingGroup("acme", "uid-1"), EventType::Normal, "Synced", "Reconcile", "one");
  recorder.event(billingGroup("acme", "uid-1"), EventType::Normal, "Synced", "Reconcile", "two");
  recorder.event(billingGroup("acme", "uid-1"), EventType::Normal, "Other", "Reconcile", "one");
  recorder.event(billingGroup("beta", "uid-2"), EventType::Normal, "Synced", "Reconcile", "one");
  ASSERT_TRUE(recorder.flush(kWait));
  const auto events = api.storedAll(eventResource());
  EXPECT_EQ(events.size(), 4u);
  for (const auto& event : events) EXPECT_EQ(seriesCount(event), 1);
}

TEST(EventRecorderTest, RepeatAfterTheWindowStartsANewEvent) {
  FakeApi api;
  common::ManualClock clock;
  EventRecorder recorder(api, quickOptions(&clock));
  const Json group = billingGroup("acme", "uid-1");
  recorder.event(group, EventType::Normal, "Synced", "Reconcile", "ok");
  ASSERT_TRUE(recorder.flush(kWait));
  clock.advance(7min);
  recorder.event(group, EventType::Normal, "Synced", "Reconcile", "ok");
  ASSERT_TRUE(recorder.flush(kWait));
  EXPECT_EQ(api.storedAll(eventResource()).size(), 2u);
}

TEST(EventRecorderTest, RepeatsWhileAWriteIsInFlightAreCoalesced) {
  FakeApi api;
  testing::ProxyClient proxy(api);
  std::mutex mutex;
  std::condition_variable gate;
  bool open = false;
  bool blocked = false;
  proxy.setIntercept(
      [&](std::string_view verb, const kube::ResourceRef&) -> std::optional<kube::Error> {
        if (verb == "create") {
          std::unique_lock lock(mutex);
          blocked = true;
          gate.notify_all();
          gate.wait(lock, [&] { return open; });
        }
        return std::nullopt;
      });
  common::ManualClock clock;
  EventRecorder recorder(proxy, quickOptions(&clock));
  const Json group = billingGroup("acme", "uid-1");
  recorder.event(group, EventType::Warning, "LedgerUnavailable", "Reconcile", "retrying");
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(gate.wait_for(lock, kWait, [&] { return blocked; }));
  }
  for (int i = 0; i < 9; ++i) {
    recorder.event(group, EventType::Warning, "LedgerUnavailable", "Reconcile", "retrying");
  }
  {
    std::lock_guard lock(mutex);
    open = true;
  }
  gate.notify_all();
  ASSERT_TRUE(recorder.flush(kWait));
  const auto events = api.storedAll(eventResource());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(seriesCount(events[0]), 10);
  EXPECT_EQ(api.calls("patch"), 1u) << "nine repeats, one write";
}

TEST(EventRecorderTest, EachObjectIsRateLimitedOnItsOwn) {
  FakeApi api;
  common::ManualClock clock;
  auto options = quickOptions(&clock);
  options.burstPerObject = 3;
  options.refillPerSecondPerObject = 1.0;
  EventRecorder recorder(api, options);
  for (int i = 0; i < 5; ++i) {
    recorder.event(billingGroup("noisy", "uid-n"), EventType::Normal, "Step", "Reconcile",
                   "step " + std::to_string(i));
  }
  recorder.event(billingGroup("quiet", "uid-q"), EventType::Normal, "Step", "Reconcile", "once");
  ASSERT_TRUE(recorder.flush(kWait));
  EXPECT_EQ(api.storedAll(eventResource()).size(), 4u);
  EXPECT_EQ(recorder.dropped(), 2u);
  clock.advance(1s);  // one token back
  recorder.event(billingGroup("noisy", "uid-n"), EventType::Normal, "Step", "Reconcile", "later");
  ASSERT_TRUE(recorder.flush(kWait));
  EXPECT_EQ(api.storedAll(eventResource()).size(), 5u);
}

TEST(EventRecorderTest, SeriesWhoseEventWasGarbageCollectedIsCreatedAgain) {
  FakeApi api;
  common::ManualClock clock;
  EventRecorder recorder(api, quickOptions(&clock));
  const Json group = billingGroup("acme", "uid-1");
  recorder.event(group, EventType::Normal, "Synced", "Reconcile", "ok");
  ASSERT_TRUE(recorder.flush(kWait));
  const auto first = api.storedAll(eventResource());
  ASSERT_EQ(first.size(), 1u);
  api.erase(eventResource(), "team", objectName(first[0]));
  recorder.event(group, EventType::Normal, "Synced", "Reconcile", "ok");
  ASSERT_TRUE(recorder.flush(kWait));
  const auto events = api.storedAll(eventResource());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(seriesCount(events[0]), 2);
}

TEST(EventRecorderTest, LongNotesAreCutToOneKilobyteOnACharacterBoundary) {
  FakeApi api;
  EventRecorder recorder(api, quickOptions(nullptr));
  std::string note(1023, 'x');
  note += "\xC3\xA9\xC3\xA9";  // two-byte characters straddling the limit
  recorder.event(billingGroup("acme", "uid-1"), EventType::Normal, "Long", "Reconcile", note);
  ASSERT_TRUE(recorder.flush(kWait));
  const auto events = api.storedAll(eventResource());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(stringAt(events[0], {"note"}), std::string(1023, 'x'));
}

}  // namespace
}  // namespace billing::runtime
