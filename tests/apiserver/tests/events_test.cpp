// Events served as kube-apiserver serves them: core v1 and events.k8s.io/v1 are two views of one
// storage. The conversion and printing as pure functions, then over HTTPS (write through one API,
// read and watch through the other, field selectors, tables), then with the real kubectl
// (`get events`, `describe` of a custom resource, `events --for`).
#include "tests/apiserver/events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using harness::CommandResult;
using harness::json;
using harness::Kubectl;
using harness::tableRows;
using harness::TempDir;
using harness::WatchStream;
using web::json::value;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSource = BILLING_SOURCE_DIR;

ResourceType coreEvents() {
  ResourceType type;
  type.version = "v1";
  type.kind = "Event";
  type.plural = "events";
  return type;
}

ResourceType eventsV1() {
  ResourceType type = coreEvents();
  type.group = "events.k8s.io";
  return type;
}

// A timestamp `ago` before now, as metav1.Time (seconds) or MicroTime (microseconds) writes it.
// Ages are whole minutes or hours, so that a slow run still prints the same age. The MicroTime's
// fraction (.123456) lies after the whole second, so it goes one second further back: otherwise,
// read within 0.12 s of a second's start, `ago` = 40 min was printed as "39m".
std::string timestamp(std::chrono::seconds ago, bool micro = false) {
  std::time_t when = std::time(nullptr) - static_cast<std::time_t>(ago.count()) - (micro ? 1 : 0);
  std::tm utc{};
  gmtime_r(&when, &utc);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, micro ? "%Y-%m-%dT%H:%M:%S.123456Z" : "%Y-%m-%dT%H:%M:%SZ",
                &utc);
  return buffer;
}

// An Event as the operator's recorder writes it (events.k8s.io/v1).
value operatorEvent(const std::string& ns, const std::string& name, const std::string& regarding,
                    const std::string& uid, const std::string& reason = "Synced",
                    const std::string& type = "Normal") {
  value event = json(R"({"apiVersion": "events.k8s.io/v1", "kind": "Event",
    "reportingController": "billing.operator.dev/billing-operator",
    "reportingInstance": "billing-operator-7d9f", "action": "Reconcile",
    "note": "billing group is in sync with the ledger"})");
  event["metadata"]["name"] = value::string(name);
  event["metadata"]["namespace"] = value::string(ns);
  event["eventTime"] = value::string(timestamp(40min, true));
  event["reason"] = value::string(reason);
  event["type"] = value::string(type);
  event["regarding"]["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
  event["regarding"]["kind"] = value::string("BillingGroup");
  event["regarding"]["namespace"] = value::string(ns);
  event["regarding"]["name"] = value::string(regarding);
  event["regarding"]["uid"] = value::string(uid);
  return event;
}

// An Event as the kubelet writes it (core v1, source/firstTimestamp/lastTimestamp/count).
value kubeletEvent(const std::string& ns, const std::string& name) {
  value event = json(R"({"apiVersion": "v1", "kind": "Event",
    "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "pod-uid",
                       "fieldPath": "spec.containers{web}", "resourceVersion": "812"},
    "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
    "source": {"component": "kubelet", "host": "node-1"}, "count": 7,
    "reportingComponent": "", "reportingInstance": ""})");
  event["metadata"]["name"] = value::string(name);
  event["metadata"]["namespace"] = value::string(ns);
  event["involvedObject"]["namespace"] = value::string(ns);
  event["firstTimestamp"] = value::string(timestamp(5h));
  event["lastTimestamp"] = value::string(timestamp(3h));
  return event;
}

std::string str(const value& object, std::initializer_list<std::string_view> path) {
  return harness::field(object, path);
}

// ---- conversion ----

TEST(EventConversion, EventsV1ToCoreRenamesEveryField) {
  value event = operatorEvent("acme", "shared.1", "shared", "bg-uid");
  event["series"] = json(R"({"count": 4, "lastObservedTime": "2025-01-02T03:04:05.000000Z"})");
  event["related"] = json(R"({"kind": "Project", "name": "web", "namespace": "acme"})");
  event["deprecatedSource"] = json(R"({"component": "legacy", "host": "h"})");
  event["deprecatedFirstTimestamp"] = value::string("2025-01-01T00:00:00Z");
  event["deprecatedLastTimestamp"] = value::string("2025-01-02T00:00:00Z");
  event["deprecatedCount"] = value::number(3);

  value core = eventAsCoreV1(event);
  EXPECT_EQ(str(core, {"apiVersion"}), "v1");
  EXPECT_EQ(str(core, {"message"}), "billing group is in sync with the ledger");
  EXPECT_EQ(str(core, {"involvedObject", "kind"}), "BillingGroup");
  EXPECT_EQ(str(core, {"involvedObject", "uid"}), "bg-uid");
  EXPECT_EQ(str(core, {"reportingComponent"}), "billing.operator.dev/billing-operator");
  EXPECT_EQ(str(core, {"reportingInstance"}), "billing-operator-7d9f");
  EXPECT_EQ(str(core, {"source", "component"}), "legacy");
  EXPECT_EQ(str(core, {"firstTimestamp"}), "2025-01-01T00:00:00Z");
  EXPECT_EQ(str(core, {"lastTimestamp"}), "2025-01-02T00:00:00Z");
  EXPECT_EQ(core.at("count").as_integer(), 3);
  EXPECT_EQ(core.at("series").at("count").as_integer(), 4);
  EXPECT_EQ(str(core, {"related", "name"}), "web");
  EXPECT_EQ(str(core, {"action"}), "Reconcile");
  EXPECT_EQ(str(core, {"eventTime"}), str(event, {"eventTime"}));
  for (const char* gone :
       {"note", "regarding", "reportingController", "deprecatedSource", "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp", "deprecatedCount"}) {
    EXPECT_FALSE(core.has_field(gone)) << gone;
  }
  // And back: nothing lost either way.
  EXPECT_EQ(eventAsEventsV1(core), eventAsEventsV1(event));
  EXPECT_EQ(eventAsCoreV1(eventAsEventsV1(core)), core);
}

TEST(EventConversion, ZeroValuesAreWrittenAsGoEncodesTheTypedObjects) {
  value core = eventAsCoreV1(operatorEvent("acme", "e", "shared", "u"));
  // corev1.Event: structs and times are never omitted; reportingComponent has no omitempty.
  EXPECT_TRUE(core.at("source").is_object() && core.at("source").size() == 0);
  EXPECT_TRUE(core.at("firstTimestamp").is_null());
  EXPECT_TRUE(core.at("lastTimestamp").is_null());
  EXPECT_FALSE(core.has_field("count"));
  EXPECT_FALSE(core.has_field("series"));

  value events = eventAsEventsV1(kubeletEvent("default", "web-0.17a"));
  EXPECT_EQ(str(events, {"apiVersion"}), "events.k8s.io/v1");
  EXPECT_TRUE(events.at("eventTime").is_null());
  EXPECT_EQ(str(events, {"deprecatedSource", "host"}), "node-1");
  EXPECT_EQ(events.at("deprecatedCount").as_integer(), 7);
  EXPECT_EQ(str(events, {"regarding", "fieldPath"}), "spec.containers{web}");
  // events.k8s.io/v1 leaves out its empty strings: the kubelet's "" reportingComponent is gone.
  EXPECT_FALSE(events.has_field("reportingController"));
  EXPECT_FALSE(events.has_field("reportingInstance"));
  EXPECT_FALSE(events.has_field("action"));
}

TEST(EventConversion, UnknownFieldsAreDroppedAsTypedDecodingDrops) {
  value event = kubeletEvent("default", "e");
  event["spec"] = json(R"({"not": "an event field"})");
  event["involvedObject"]["name"] = value::string("");  // omitempty inside the reference
  value core = eventAsCoreV1(event);
  EXPECT_FALSE(core.has_field("spec"));
  EXPECT_FALSE(core.at("involvedObject").has_field("name"));
  EXPECT_EQ(str(core, {"involvedObject", "kind"}), "Pod");
}

TEST(EventConversion, OnlyEventsAreConvertedOrMovedToSharedStorage) {
  ResourceType secrets;
  secrets.version = "v1";
  secrets.kind = "Secret";
  secrets.plural = "secrets";
  ResourceType other = eventsV1();
  other.group = "example.com";  // a CRD whose plural happens to be "events"
  other.crdName = "events.example.com";
  EXPECT_FALSE(isEventResource(secrets));
  EXPECT_FALSE(isEventResource(other));
  EXPECT_EQ(storageResource(other), "events.example.com");
  EXPECT_EQ(storageResource(eventsV1()), "events");
  EXPECT_EQ(storageResource(coreEvents()), "events");
  value object = json(R"({"apiVersion": "v1", "kind": "Secret", "note": "kept"})");
  EXPECT_EQ(toStorage(secrets, object), object);
  EXPECT_EQ(fromStorage(other, object), object);
}

// ---- field selectors and printing ----

TEST(EventFieldSelectors, EventsV1LabelsNameCoreFields) {
  EXPECT_EQ(coreEventFieldLabel("regarding.name"), "involvedObject.name");
  EXPECT_EQ(coreEventFieldLabel("regarding.fieldPath"), "involvedObject.fieldPath");
  EXPECT_EQ(coreEventFieldLabel("reportingController"), "reportingComponent");
  EXPECT_EQ(coreEventFieldLabel("reason"), "reason");
  auto supported = eventFieldSelectorSupport(eventsV1()).fields;
  EXPECT_THAT(supported, ::testing::Contains("regarding.resourceVersion"));
  EXPECT_THAT(supported, ::testing::Contains("source"));
  EXPECT_THAT(supported, Not(::testing::Contains("involvedObject.name")));
  auto core = eventFieldSelectorSupport(coreEvents()).fields;
  EXPECT_THAT(core, ::testing::Contains("involvedObject.apiVersion"));
  EXPECT_THAT(core, Not(::testing::Contains("reportingController")));
}

TEST(EventFieldSelectors, SourceFallsBackToTheReportingComponent) {
  auto kubelet = eventSelectableFields(eventAsCoreV1(kubeletEvent("default", "e")));
  EXPECT_EQ(kubelet.at("source"), "kubelet");
  EXPECT_EQ(kubelet.at("involvedObject.resourceVersion"), "812");
  EXPECT_EQ(kubelet.at("metadata.namespace"), "default");
  auto operatorFields = eventSelectableFields(eventAsCoreV1(operatorEvent("a", "e", "g", "u")));
  EXPECT_EQ(operatorFields.at("source"), "billing.operator.dev/billing-operator");
  EXPECT_EQ(operatorFields.at("reportingComponent"), "billing.operator.dev/billing-operator");
}

std::vector<std::string> columnNames(const value& table) {
  std::vector<std::string> names;
  for (const value& column : table.at("columnDefinitions").as_array()) {
    names.push_back(column.at("name").as_string() +
                    (column.at("priority").as_integer() > 0 ? "*" : ""));
  }
  return names;
}

TEST(EventTable, KubesEventColumnsForBothApis) {
  value kubelet = kubeletEvent("default", "web-0.17a");
  value operatorSeries = operatorEvent("acme", "shared.1", "shared", "u");
  operatorSeries["series"]["count"] = value::number(5);
  operatorSeries["series"]["lastObservedTime"] = value::string(timestamp(10min, true));
  value singleton = operatorEvent("acme", "shared.2", "", "u", "Deleted", "Warning");
  value table = tableFor(eventsV1(), {kubelet, eventAsEventsV1(operatorSeries), singleton}, 9, "",
                         TableObjects::Metadata);
  EXPECT_THAT(columnNames(table),
              ElementsAre("Last Seen", "Type", "Reason", "Object", "Subobject*", "Source*",
                          "Message", "First Seen*", "Count*", "Name*"));
  auto cells = [&](std::size_t row) {
    std::vector<std::string> out;
    for (const value& cell : table.at("rows").at(row).at("cells").as_array()) {
      out.push_back(cell.is_string() ? cell.as_string() : common::toJson(cell));
    }
    return out;
  };
  EXPECT_THAT(cells(0), ElementsAre("3h", "Warning", "BackOff", "pod/web-0", "spec.containers{web}",
                                    "kubelet, node-1", "Back-off restarting failed container", "5h",
                                    "7", "web-0.17a"));
  // A series: last seen is the series' last observation, count the series' count.
  EXPECT_THAT(cells(1),
              ElementsAre("10m", "Normal", "Synced", "billinggroup/shared", "",
                          "billing.operator.dev/billing-operator, billing-operator-7d9f",
                          "billing group is in sync with the ledger", "40m", "5", "shared.1"));
  // No name in the reference: the kind alone; a singleton counts 1, first seen is eventTime.
  EXPECT_EQ(cells(2)[3], "billinggroup");
  EXPECT_EQ(cells(2)[0], "40m");
  EXPECT_EQ(cells(2)[8], "1");
  EXPECT_EQ(table.at("rows").at(0).at("object").at("kind").as_string(), "PartialObjectMetadata");
  EXPECT_EQ(tableFor(coreEvents(), {kubelet}, 9, "", TableObjects::None).at("columnDefinitions"),
            table.at("columnDefinitions"));
}

TEST(EventStorage, LegacyEventsV1ObjectsMoveIntoTheSharedStorage) {
  ObjectStore store(ObjectStore::Options{});
  ASSERT_TRUE(store.create("events.events.k8s.io", operatorEvent("acme", "old", "shared", "u")));
  ASSERT_TRUE(store.create("events.events.k8s.io", operatorEvent("acme", "taken", "shared", "u")));
  ASSERT_TRUE(store.create("events", kubeletEvent("acme", "taken")));
  EXPECT_EQ(migrateEventStorage(store), 1u);
  EXPECT_TRUE(store.list("events.events.k8s.io", std::nullopt).items.empty());
  auto moved = store.get("events", "acme", "old");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(str(*moved, {"message"}), "billing group is in sync with the ledger");
  EXPECT_EQ(str(*store.get("events", "acme", "taken"), {"reason"}), "BackOff");
}

// ---- over HTTPS ----

class EventsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = harness::startServer();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<Client>(*server_);
    ASSERT_EQ(client_->post("/api/v1/namespaces", json(R"({"metadata": {"name": "acme"}})")).status,
              201);
  }

  static constexpr const char* kCore = "/api/v1/namespaces/acme/events";
  static constexpr const char* kEventsV1 = "/apis/events.k8s.io/v1/namespaces/acme/events";

  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(EventsApiTest, WrittenThroughEventsV1ReadThroughCoreAndBack) {
  auto created = client_->post(kEventsV1, operatorEvent("acme", "shared.1", "shared", "bg-uid"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(str(created.json, {"note"}), "billing group is in sync with the ledger");
  auto core = client_->get(std::string(kCore) + "/shared.1");
  ASSERT_EQ(core.status, 200) << core.body;
  EXPECT_EQ(str(core.json, {"apiVersion"}), "v1");
  EXPECT_EQ(str(core.json, {"message"}), "billing group is in sync with the ledger");
  EXPECT_EQ(str(core.json, {"involvedObject", "name"}), "shared");
  EXPECT_EQ(str(core.json, {"reportingComponent"}), "billing.operator.dev/billing-operator");
  for (const char* same : {"uid", "resourceVersion", "name", "creationTimestamp"}) {
    EXPECT_EQ(str(core.json, {"metadata", same}), str(created.json, {"metadata", same})) << same;
  }

  auto kubelet = client_->post(kCore, kubeletEvent("acme", "web-0.17a"));
  ASSERT_EQ(kubelet.status, 201) << kubelet.body;
  auto viewed = client_->get(std::string(kEventsV1) + "/web-0.17a");
  ASSERT_EQ(viewed.status, 200) << viewed.body;
  EXPECT_EQ(str(viewed.json, {"kind"}), "Event");
  EXPECT_EQ(str(viewed.json, {"apiVersion"}), "events.k8s.io/v1");
  EXPECT_EQ(str(viewed.json, {"note"}), "Back-off restarting failed container\n");
  EXPECT_EQ(str(viewed.json, {"deprecatedSource", "component"}), "kubelet");
  EXPECT_EQ(viewed.json.at("deprecatedCount").as_integer(), 7);
  EXPECT_EQ(str(viewed.json, {"metadata", "uid"}), str(kubelet.json, {"metadata", "uid"}));

  // One list, either way.
  auto coreList = client_->get(kCore);
  auto eventsList = client_->get(kEventsV1);
  ASSERT_EQ(coreList.json.at("items").size(), 2u);
  ASSERT_EQ(eventsList.json.at("items").size(), 2u);
  EXPECT_EQ(str(eventsList.json, {"kind"}), "EventList");
  EXPECT_EQ(str(eventsList.json, {"apiVersion"}), "events.k8s.io/v1");
  EXPECT_EQ(str(coreList.json, {"metadata", "resourceVersion"}),
            str(eventsList.json, {"metadata", "resourceVersion"}));

  // One name space: the name is taken in both APIs, and a delete through one removes both views.
  auto again = client_->post(kCore, kubeletEvent("acme", "shared.1"));
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(client_->del(std::string(kCore) + "/shared.1").status, 200);
  auto gone = client_->get(std::string(kEventsV1) + "/shared.1");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(str(gone.json, {"message"}), "events.events.k8s.io \"shared.1\" not found");
}

TEST_F(EventsApiTest, UpdatesThroughOneApiShowInTheOther) {
  ASSERT_EQ(client_->post(kEventsV1, operatorEvent("acme", "shared.1", "shared", "u")).status, 201);
  // The operator's recorder counts repeats with a merge patch of series.
  const std::string observed = timestamp(1s, true);
  auto patched =
      client_->patch(std::string(kEventsV1) + "/shared.1",
                     R"({"series": {"count": 2, "lastObservedTime": ")" + observed + R"("}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  auto core = client_->get(std::string(kCore) + "/shared.1");
  EXPECT_EQ(core.json.at("series").at("count").as_integer(), 2);
  EXPECT_EQ(str(core.json, {"series", "lastObservedTime"}), observed);
  EXPECT_EQ(str(core.json, {"metadata", "resourceVersion"}),
            str(patched.json, {"metadata", "resourceVersion"}));

  // A PUT of the core form, as a kubectl edit would send it, changes the message.
  value edited = core.json;
  edited["message"] = value::string("edited through core v1");
  auto put = client_->put(std::string(kCore) + "/shared.1", edited);
  ASSERT_EQ(put.status, 200) << put.body;
  auto viewed = client_->get(std::string(kEventsV1) + "/shared.1");
  EXPECT_EQ(str(viewed.json, {"note"}), "edited through core v1");
  EXPECT_EQ(viewed.json.at("series").at("count").as_integer(), 2);

  // Writing back what was read through events.k8s.io changes nothing: same resourceVersion.
  auto unchanged = client_->put(std::string(kEventsV1) + "/shared.1", viewed.json);
  ASSERT_EQ(unchanged.status, 200) << unchanged.body;
  EXPECT_EQ(str(unchanged.json, {"metadata", "resourceVersion"}),
            str(viewed.json, {"metadata", "resourceVersion"}));
  // A stale resourceVersion conflicts whichever API it comes through.
  value stale = viewed.json;
  stale["metadata"]["resourceVersion"] =
      value::string(str(core.json, {"metadata", "resourceVersion"}));
  stale["note"] = value::string("late");
  EXPECT_EQ(client_->put(std::string(kEventsV1) + "/shared.1", stale).status, 409);
}

TEST_F(EventsApiTest, WatchesOnEitherApiSeeWritesThroughTheOther) {
  WatchStream core(*client_, std::string(kCore) + "?watch=true");
  WatchStream events(*client_, std::string(kEventsV1) + "?watch=true");
  ASSERT_EQ(core.status(), 200);
  ASSERT_EQ(events.status(), 200);

  ASSERT_EQ(client_->post(kEventsV1, operatorEvent("acme", "shared.1", "shared", "u")).status, 201);
  ASSERT_EQ(client_->post(kCore, kubeletEvent("acme", "web-0.17a")).status, 201);
  ASSERT_EQ(client_->patch(std::string(kCore) + "/web-0.17a", R"({"count": 8})").status, 200);
  ASSERT_EQ(client_->del(std::string(kEventsV1) + "/web-0.17a").status, 200);

  auto expect = [](WatchStream& stream, const char* type, const char* name,
                   const char* apiVersion) {
    auto event = stream.nextChange();
    ASSERT_TRUE(event.has_value()) << type << " " << name;
    EXPECT_EQ(harness::eventType(*event), type);
    EXPECT_EQ(harness::eventName(*event), name);
    EXPECT_EQ(str(event->at("object"), {"apiVersion"}), apiVersion);
  };
  expect(core, "ADDED", "shared.1", "v1");
  expect(core, "ADDED", "web-0.17a", "v1");
  expect(core, "MODIFIED", "web-0.17a", "v1");
  expect(core, "DELETED", "web-0.17a", "v1");
  expect(events, "ADDED", "shared.1", "events.k8s.io/v1");
  expect(events, "ADDED", "web-0.17a", "events.k8s.io/v1");
  auto modified = events.nextChange();
  ASSERT_TRUE(modified.has_value());
  EXPECT_EQ(modified->at("object").at("deprecatedCount").as_integer(), 8);
  expect(events, "DELETED", "web-0.17a", "events.k8s.io/v1");
}

TEST_F(EventsApiTest, FieldSelectorsOfBothApis) {
  ASSERT_EQ(client_->post(kEventsV1, operatorEvent("acme", "shared.1", "shared", "bg-1")).status,
            201);
  ASSERT_EQ(
      client_->post(kEventsV1, operatorEvent("acme", "web.1", "web", "bg-2", "Invalid", "Warning"))
          .status,
      201);
  ASSERT_EQ(client_->post(kCore, kubeletEvent("acme", "web-0.17a")).status, 201);
  auto names = [&](const std::string& path, const std::string& selector) {
    auto listed = client_->get(path + "?fieldSelector=" + selector);
    std::vector<std::string> out;
    if (listed.status != 200)
      return std::vector<std::string>{"HTTP " + std::to_string(listed.status)};
    for (const value& item : listed.json.at("items").as_array()) {
      out.push_back(str(item, {"metadata", "name"}));
    }
    return out;
  };
  // kubectl describe's selector for a custom resource.
  EXPECT_THAT(names(kCore,
                    "involvedObject.namespace%3Dacme%2CinvolvedObject.kind%3DBillingGroup%2C"
                    "involvedObject.uid%3Dbg-1%2CinvolvedObject.name%3Dshared"),
              ElementsAre("shared.1"));
  // kubectl events --for's.
  EXPECT_THAT(names(kCore,
                    "involvedObject.kind%3DBillingGroup%2CinvolvedObject.apiVersion%3D"
                    "billing.operator.dev%2Fv1alpha1%2CinvolvedObject.name%3Dweb"),
              ElementsAre("web.1"));
  EXPECT_THAT(names(kCore, "type%3DWarning"), ElementsAre("web-0.17a", "web.1"));
  EXPECT_THAT(names(kCore, "source%3Dkubelet"), ElementsAre("web-0.17a"));
  EXPECT_THAT(names(kCore, "source%3Dbilling.operator.dev%2Fbilling-operator"),
              ElementsAre("shared.1", "web.1"));
  EXPECT_THAT(names(kCore,
                    "reportingComponent%3Dbilling.operator.dev%2Fbilling-operator%2C"
                    "reason!%3DSynced"),
              ElementsAre("web.1"));
  EXPECT_THAT(names(kCore, "involvedObject.fieldPath%3Dspec.containers%7Bweb%7D"),
              ElementsAre("web-0.17a"));
  EXPECT_THAT(names(kEventsV1, "regarding.name%3Dshared"), ElementsAre("shared.1"));
  EXPECT_THAT(names(kEventsV1, "regarding.kind%3DPod%2Cregarding.resourceVersion%3D812"),
              ElementsAre("web-0.17a"));
  EXPECT_THAT(names(kEventsV1,
                    "reportingController%3Dbilling.operator.dev%2Fbilling-operator%2C"
                    "type%3DNormal"),
              ElementsAre("shared.1"));
  EXPECT_THAT(names(kEventsV1, "metadata.name%3Dweb.1"), ElementsAre("web.1"));

  // Each API takes only its own names, and says so as kube-apiserver does.
  auto wrong = client_->get(std::string(kEventsV1) + "?fieldSelector=involvedObject.name%3Dweb");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(str(wrong.json, {"message"}), "field label not supported: involvedObject.name");
  auto wrongCore = client_->get(std::string(kCore) + "?fieldSelector=note%3Dx");
  EXPECT_EQ(wrongCore.status, 400);
  EXPECT_EQ(str(wrongCore.json, {"message"}), "field label not supported: note");

  // A watch with a selector through events.k8s.io sees a core write that matches.
  WatchStream watch(*client_, std::string(kEventsV1) + "?watch=true&resourceVersion=" +
                                  str(client_->get(kCore).json, {"metadata", "resourceVersion"}) +
                                  "&fieldSelector=regarding.name%3Dweb-1");
  ASSERT_EQ(watch.status(), 200);
  ASSERT_EQ(client_->post(kCore, kubeletEvent("acme", "other")).status, 201);
  value matching = kubeletEvent("acme", "web-1.x");
  matching["involvedObject"]["name"] = value::string("web-1");
  ASSERT_EQ(client_->post(kCore, matching).status, 201);
  auto seen = watch.nextChange();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(harness::eventName(*seen), "web-1.x");
  EXPECT_EQ(str(seen->at("object"), {"regarding", "name"}), "web-1");
}

TEST_F(EventsApiTest, TablesHaveTheEventColumnsThroughBothApis) {
  ASSERT_EQ(client_->post(kEventsV1, operatorEvent("acme", "shared.1", "shared", "u")).status, 201);
  common::HttpHeaders accept;
  accept.set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io");
  for (const char* path : {kCore, kEventsV1}) {
    auto table = client_->call("GET", path, {}, "application/json", accept);
    ASSERT_EQ(table.status, 200) << table.body;
    EXPECT_EQ(str(table.json, {"kind"}), "Table");
    EXPECT_EQ(columnNames(table.json)[3], "Object");
    const value& cells = table.json.at("rows").at(0).at("cells");
    EXPECT_EQ(cells.at(3).as_string(), "billinggroup/shared") << path;
    EXPECT_EQ(cells.at(6).as_string(), "billing group is in sync with the ledger") << path;
  }
}

TEST(EventsDataDir, EventsOfAnOlderDataDirAreServedByBothApis) {
  TempDir dir;
  {
    ObjectStore::Options options;
    options.dataDir = dir.path();
    ObjectStore legacy(options);
    value ns = json(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "acme"}})");
    ASSERT_TRUE(legacy.create("namespaces", ns));
    ASSERT_TRUE(legacy.create("events.events.k8s.io", operatorEvent("acme", "old", "shared", "u")));
  }
  TestApiServerOptions options;
  options.dataDir = dir.path();
  auto server = harness::startServer(options);
  ASSERT_NE(server, nullptr);
  Client client(*server);
  auto core = client.get("/api/v1/namespaces/acme/events/old");
  ASSERT_EQ(core.status, 200) << core.body;
  EXPECT_EQ(str(core.json, {"message"}), "billing group is in sync with the ledger");
  EXPECT_EQ(client.get("/apis/events.k8s.io/v1/namespaces/acme/events/old").status, 200);
}

// ---- with kubectl ----

class EventsKubectlTest : public EventsApiTest {
 protected:
  void SetUp() override {
    EventsApiTest::SetUp();
    ASSERT_NE(server_, nullptr);
    auto written =
        server_->writeKubeconfig(dir_.path() / "kubeconfig", KubeconfigAuth::ClientCertificate);
    ASSERT_TRUE(written.has_value()) << written.error();
    kubectl_ = std::make_unique<Kubectl>(dir_.path() / "kubeconfig", dir_.path());
    CommandResult crds = kubectl_->run({"apply", "-f", kSource + "/crds/"});
    ASSERT_EQ(crds.exitCode, 0) << crds;
    std::error_code ignored;
    std::filesystem::remove_all(dir_.path() / "cache", ignored);
    CommandResult group = kubectl_->run({"apply", "-f", "-"}, R"(
apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata: {name: shared, namespace: acme}
spec: {displayName: Shared, currency: EUR}
)");
    ASSERT_EQ(group.exitCode, 0) << group;
    CommandResult uid = kubectl_->run(
        {"get", "billinggroup", "shared", "-n", "acme", "-o", "jsonpath={.metadata.uid}"});
    ASSERT_EQ(uid.exitCode, 0) << uid;
    groupUid_ = uid.out;
    // What the operator writes, through events.k8s.io; and a kubelet event through core v1.
    ASSERT_EQ(
        client_->post(kEventsV1, operatorEvent("acme", "shared.1", "shared", groupUid_)).status,
        201);
    ASSERT_EQ(client_
                  ->post(kEventsV1, operatorEvent("acme", "other.1", "other", "other-uid",
                                                  "Invalid", "Warning"))
                  .status,
              201);
    ASSERT_EQ(client_->post(kCore, kubeletEvent("acme", "web-0.17a")).status, 201);
  }

  TempDir dir_;
  std::unique_ptr<Kubectl> kubectl_;
  std::string groupUid_;
};

TEST_F(EventsKubectlTest, GetEventsListsEventsOfBothApis) {
  CommandResult all = kubectl_->run({"get", "events", "-A"});
  ASSERT_EQ(all.exitCode, 0) << all;
  auto rows = tableRows(all.out);
  ASSERT_EQ(rows.size(), 4u) << all.out;
  EXPECT_THAT(rows[0],
              ElementsAre("NAMESPACE", "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"));
  EXPECT_THAT(rows, ::testing::Contains(ElementsAre("acme", "40m", "Normal", "Synced",
                                                    "billinggroup/shared", "billing", "group", "is",
                                                    "in", "sync", "with", "the", "ledger")));
  EXPECT_THAT(rows,
              ::testing::Contains(ElementsAre("acme", "3h", "Warning", "BackOff", "pod/web-0",
                                              "Back-off", "restarting", "failed", "container")));

  CommandResult wide = kubectl_->run({"get", "events", "-n", "acme", "-o", "wide"});
  ASSERT_EQ(wide.exitCode, 0) << wide;
  EXPECT_THAT(wide.out, HasSubstr("SUBOBJECT"));
  EXPECT_THAT(wide.out, HasSubstr("billing.operator.dev/billing-operator, billing-operator-7d9f"));
  EXPECT_THAT(wide.out, HasSubstr("kubelet, node-1"));

  CommandResult eventsV1 = kubectl_->run(
      {"get", "events.v1.events.k8s.io", "-n", "acme", "-o", "jsonpath={.items[*].note}"});
  ASSERT_EQ(eventsV1.exitCode, 0) << eventsV1;
  EXPECT_THAT(eventsV1.out, HasSubstr("Back-off restarting failed container"));

  CommandResult selected =
      kubectl_->run({"get", "events", "-n", "acme", "--field-selector",
                     "involvedObject.kind=BillingGroup,type=Warning", "-o", "name"});
  ASSERT_EQ(selected.exitCode, 0) << selected;
  EXPECT_EQ(selected.out, "event/other.1\n");
}

TEST_F(EventsKubectlTest, DescribeShowsTheOperatorsEvents) {
  CommandResult described = kubectl_->run({"describe", "billinggroup", "shared", "-n", "acme"});
  ASSERT_EQ(described.exitCode, 0) << described;
  const auto at = described.out.find("Events:");
  ASSERT_NE(at, std::string::npos) << described.out;
  const std::string events = described.out.substr(at);
  auto rows = tableRows(events);
  ASSERT_EQ(rows.size(), 4u) << events;  // Events:, the header, the dashes, one event
  EXPECT_THAT(rows[1], ElementsAre("Type", "Reason", "Age", "From", "Message"));
  EXPECT_THAT(rows[3],
              ElementsAre("Normal", "Synced", "40m", "billing.operator.dev/billing-operator",
                          "billing", "group", "is", "in", "sync", "with", "the", "ledger"));
}

TEST_F(EventsKubectlTest, EventsForACustomResource) {
  CommandResult listed = kubectl_->run({"events", "-n", "acme", "--for", "billinggroup/shared"});
  ASSERT_EQ(listed.exitCode, 0) << listed;
  auto rows = tableRows(listed.out);
  ASSERT_EQ(rows.size(), 2u) << listed.out;
  EXPECT_THAT(rows[1], ElementsAre("40m", "Normal", "Synced", "BillingGroup/shared", "billing",
                                   "group", "is", "in", "sync", "with", "the", "ledger"));

  CommandResult warnings = kubectl_->run({"events", "-A", "--types", "Warning"});
  ASSERT_EQ(warnings.exitCode, 0) << warnings;
  EXPECT_THAT(warnings.out, HasSubstr("BillingGroup/other"));
  EXPECT_THAT(warnings.out, HasSubstr("Pod/web-0"));
  EXPECT_THAT(warnings.out, Not(HasSubstr("Synced")));
}

}  // namespace
}  // namespace billing::apiserver
