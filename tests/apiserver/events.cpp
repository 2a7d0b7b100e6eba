#include "tests/apiserver/events.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>
#include <optional>
#include <string_view>

#include "common/json.h"

namespace billing::apiserver {
namespace {

using web::json::value;

constexpr std::string_view kEventsGroup = "events.k8s.io";
constexpr const char* kLegacyEventsKey = "events.events.k8s.io";

// How Go's encoding/json writes a field of the typed Event when it holds its zero value.
enum class WhenEmpty {
  kOmit,         // `omitempty` strings, integers and pointers
  kNull,         // metav1.Time / MicroTime structs: written as null
  kEmptyString,  // strings without omitempty (core reportingComponent, reportingInstance)
  kEmptyObject,  // struct fields (ObjectReference, EventSource): never omitted, {} when empty
};

// One Event field under its two names. The core v1 order is Go's field order of corev1.Event.
struct EventField {
  const char* core;
  const char* events;
  WhenEmpty coreEmpty;
  WhenEmpty eventsEmpty;
};

constexpr std::array<EventField, 14> kFields = {{
    {"involvedObject", "regarding", WhenEmpty::kEmptyObject, WhenEmpty::kEmptyObject},
    {"reason", "reason", WhenEmpty::kOmit, WhenEmpty::kOmit},
    {"message", "note", WhenEmpty::kOmit, WhenEmpty::kOmit},
    {"source", "deprecatedSource", WhenEmpty::kEmptyObject, WhenEmpty::kEmptyObject},
    {"firstTimestamp", "deprecatedFirstTimestamp", WhenEmpty::kNull, WhenEmpty::kNull},
    {"lastTimestamp", "deprecatedLastTimestamp", WhenEmpty::kNull, WhenEmpty::kNull},
    {"count", "deprecatedCount", WhenEmpty::kOmit, WhenEmpty::kOmit},
    {"type", "type", WhenEmpty::kOmit, WhenEmpty::kOmit},
    {"eventTime", "eventTime", WhenEmpty::kNull, WhenEmpty::kNull},
    {"series", "series", WhenEmpty::kOmit, WhenEmpty::kOmit},
    {"action", "action", WhenEmpty::kOmit, WhenEmpty::kOmit},
    {"related", "related", WhenEmpty::kOmit, WhenEmpty::kOmit},
    {"reportingComponent", "reportingController", WhenEmpty::kEmptyString, WhenEmpty::kOmit},
    {"reportingInstance", "reportingInstance", WhenEmpty::kEmptyString, WhenEmpty::kOmit},
}};

// Go's field order of eventsv1.Event, as indexes into kFields.
constexpr std::array<std::size_t, 14> kEventsV1Order = {8,  9, 12, 13, 10, 1, 0,
                                                        11, 2, 7,  3,  4,  5, 6};

bool inEventsV1Form(const value& event) {
  if (!event.is_object() || !event.has_field("apiVersion")) return false;
  const value& apiVersion = event.at("apiVersion");
  return apiVersion.is_string() &&
         apiVersion.as_string().starts_with(std::string(kEventsGroup) + "/");
}

const value* member(const value& object, const char* name) {
  if (!object.is_object() || !object.has_field(name)) return nullptr;
  const value& found = object.at(name);
  return found.is_null() ? nullptr : &found;
}

// The zero values Go leaves out of `omitempty` fields.
bool zeroValue(const value& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return v.as_string().empty();
  if (v.is_number()) return v.is_integer() && v.as_number().to_int64() == 0;
  return false;
}

// ObjectReference and EventSource members are all `omitempty` strings.
value withoutEmptyMembers(const value& object) {
  if (!object.is_object()) return object;
  value out = value::object(true);
  for (const auto& [key, item] : object.as_object()) {
    if (!zeroValue(item)) out[key] = item;
  }
  return out;
}

value convertEvent(const value& event, bool toEventsV1) {
  const bool fromEventsV1 = inEventsV1Form(event);
  value out = value::object(true);
  out["apiVersion"] = value::string(toEventsV1 ? std::string(kEventsGroup) + "/v1" : "v1");
  out["kind"] = value::string("Event");
  const value* metadata = member(event, "metadata");
  out["metadata"] = metadata != nullptr ? *metadata : value::object(true);
  auto put = [&](const EventField& field) {
    const char* from = fromEventsV1 ? field.events : field.core;
    const char* to = toEventsV1 ? field.events : field.core;
    const WhenEmpty whenEmpty = toEventsV1 ? field.eventsEmpty : field.coreEmpty;
    const value* given = member(event, from);
    if (whenEmpty == WhenEmpty::kEmptyObject) {
      out[to] = given != nullptr && given->is_object() ? withoutEmptyMembers(*given)
                : given != nullptr                     ? *given
                                                       : value::object(true);
      return;
    }
    if (given != nullptr && !zeroValue(*given)) {
      out[to] = given->is_object() && std::string_view(field.core) == "related"
                    ? withoutEmptyMembers(*given)
                    : *given;
      return;
    }
    if (whenEmpty == WhenEmpty::kNull) out[to] = value::null();
    if (whenEmpty == WhenEmpty::kEmptyString) out[to] = value::string("");
  };
  if (toEventsV1) {
    for (std::size_t index : kEventsV1Order) put(kFields[index]);
  } else {
    for (const EventField& field : kFields) put(field);
  }
  return out;
}

std::string text(const value& object, const char* name) {
  const value* found = member(object, name);
  return found != nullptr && found->is_string() ? found->as_string() : std::string();
}

std::string textAt(const value& object, const char* section, const char* name) {
  const value* inner = member(object, section);
  return inner != nullptr ? text(*inner, name) : std::string();
}

// RFC 3339 (seconds or microseconds, as metav1.Time and MicroTime write it) to a point in time.
std::optional<std::chrono::sys_seconds> parseTime(const value* cell) {
  if (cell == nullptr || !cell->is_string()) return std::nullopt;
  const std::string& when = cell->as_string();
  std::tm tm{};
  if (when.size() < 20 || strptime(when.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return std::nullopt;
  }
  return std::chrono::sys_seconds{std::chrono::seconds{timegm(&tm)}};
}

// translateTimestampSince: an age counted from the real clock, "<unknown>" for a zero time.
std::string since(const value* when) {
  auto parsed = parseTime(when);
  if (!parsed) return "<unknown>";
  auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return humanDuration(now - *parsed);
}

std::string trimSpace(const std::string& in) {
  std::size_t begin = 0;
  std::size_t end = in.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(in[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(in[end - 1]))) --end;
  return in.substr(begin, end - begin);
}

std::string lower(std::string in) {
  for (char& c : in) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return in;
}

value column(const char* name, const char* format, const char* description, int priority) {
  value c = value::object(true);
  c["name"] = value::string(name);
  c["type"] = value::string("string");
  c["format"] = value::string(format);
  c["description"] = value::string(description);
  c["priority"] = value::number(priority);
  return c;
}

// kube's eventColumnDefinitions (pkg/printers/internalversion), with corev1.Event's field docs.
value eventColumns() {
  return value::array({
      column("Last Seen", "",
             "The time at which the most recent occurrence of this event was recorded.", 0),
      column("Type", "",
             "Type of this event (Normal, Warning), new types could be added in the "
             "future",
             0),
      column("Reason", "",
             "This should be a short, machine understandable string that gives the reason for "
             "the transition into the object's current status.",
             0),
      column("Object", "", "The object that this event is about.", 0),
      column("Subobject", "",
             "If referring to a piece of an object instead of an entire object, this string "
             "should contain a valid JSON/Go field access statement, such as "
             "desiredState.manifest.containers[2].",
             1),
      column("Source", "",
             "The component reporting this event. Should be a short machine understandable "
             "string.",
             1),
      column("Message", "", "A human-readable description of the status of this operation.", 0),
      column("First Seen", "",
             "The time at which the event was first recorded. (Time of server receipt is in "
             "TypeMeta.)",
             1),
      column("Count", "", "The number of times this event has occurred.", 1),
      column("Name", "name",
             "Name must be unique within a namespace. Is required when creating resources, "
             "although some resources may allow a client to request the generation of an "
             "appropriate name automatically.",
             1),
  });
}

// printEvent with Wide set, as the server prints (kubectl hides priority-1 columns itself).
value eventCells(const value& core) {
  std::string firstSeen = member(core, "firstTimestamp") != nullptr
                              ? since(member(core, "firstTimestamp"))
                              : since(member(core, "eventTime"));
  std::string lastSeen =
      member(core, "lastTimestamp") != nullptr ? since(member(core, "lastTimestamp")) : firstSeen;
  std::int64_t count = 0;
  if (const value* c = member(core, "count"); c != nullptr && c->is_integer()) {
    count = c->as_number().to_int64();
  }
  if (const value* series = member(core, "series"); series != nullptr) {
    lastSeen = since(member(*series, "lastObservedTime"));
    const value* seriesCount = member(*series, "count");
    count = seriesCount != nullptr && seriesCount->is_integer()
                ? seriesCount->as_number().to_int64()
                : 0;
  } else if (count == 0) {
    count = 1;  // singleton events of the new API carry no count
  }
  const std::string kind = lower(textAt(core, "involvedObject", "kind"));
  const std::string name = textAt(core, "involvedObject", "name");
  const std::string target = name.empty() ? kind : kind + "/" + name;
  std::string component = textAt(core, "source", "component");
  if (component.empty()) component = text(core, "reportingComponent");
  std::string instance = textAt(core, "source", "host");
  if (instance.empty()) instance = text(core, "reportingInstance");
  const std::string source = instance.empty() ? component : component + ", " + instance;
  return value::array({
      value::string(lastSeen),
      value::string(text(core, "type")),
      value::string(text(core, "reason")),
      value::string(target),
      value::string(textAt(core, "involvedObject", "fieldPath")),
      value::string(source),
      value::string(trimSpace(text(core, "message"))),
      value::string(firstSeen),
      value::number(count),
      value::string(textAt(core, "metadata", "name")),
  });
}

}  // namespace

bool isEventResource(const ResourceType& type) {
  return type.plural == "events" && (type.group.empty() || type.group == kEventsGroup);
}

std::string storageResource(const ResourceType& type) {
  return isEventResource(type) ? std::string("events") : type.groupResource();
}

value toStorage(const ResourceType& type, value object) {
  if (!isEventResource(type)) return object;
  return eventAsCoreV1(object);
}

value fromStorage(const ResourceType& type, value object) {
  if (!isEventResource(type)) return object;
  return type.group.empty() ? eventAsCoreV1(object) : eventAsEventsV1(object);
}

value eventAsCoreV1(const value& event) { return convertEvent(event, false); }

value eventAsEventsV1(const value& event) { return convertEvent(event, true); }

FieldSelectorSupport eventFieldSelectorSupport(const ResourceType& type) {
  const bool eventsV1 = type.group == kEventsGroup;
  FieldSelectorSupport support;
  support.wording = UnsupportedFieldWording::kFieldLabelNotSupported;
  support.fields = {"metadata.name", "metadata.namespace"};
  const std::string reference = eventsV1 ? "regarding." : "involvedObject.";
  for (const char* part :
       {"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"}) {
    support.fields.push_back(reference + part);
  }
  for (const char* field :
       {"reason", eventsV1 ? "reportingController" : "reportingComponent", "source", "type"}) {
    support.fields.emplace_back(field);
  }
  return support;
}

std::string coreEventFieldLabel(const std::string& label) {
  constexpr std::string_view kRegarding = "regarding.";
  if (label.starts_with(kRegarding)) return "involvedObject." + label.substr(kRegarding.size());
  if (label == "reportingController") return "reportingComponent";
  return label;
}

std::map<std::string, std::string> eventSelectableFields(const value& coreEvent) {
  std::map<std::string, std::string> fields;
  fields["metadata.name"] = textAt(coreEvent, "metadata", "name");
  fields["metadata.namespace"] = textAt(coreEvent, "metadata", "namespace");
  for (const char* part :
       {"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"}) {
    fields[std::string("involvedObject.") + part] = textAt(coreEvent, "involvedObject", part);
  }
  fields["reason"] = text(coreEvent, "reason");
  fields["reportingComponent"] = text(coreEvent, "reportingComponent");
  std::string source = textAt(coreEvent, "source", "component");
  fields["source"] = source.empty() ? fields["reportingComponent"] : source;
  fields["type"] = text(coreEvent, "type");
  return fields;
}

value eventTable(const std::vector<value>& items, std::uint64_t revision,
                 const std::string& continueToken, TableObjects include) {
  value table = value::object(true);
  table["kind"] = value::string("Table");
  table["apiVersion"] = value::string("meta.k8s.io/v1");
  table["metadata"]["resourceVersion"] = value::string(std::to_string(revision));
  if (!continueToken.empty()) table["metadata"]["continue"] = value::string(continueToken);
  table["columnDefinitions"] = eventColumns();
  value rows = value::array(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    rows[i]["cells"] = eventCells(eventAsCoreV1(items[i]));
    if (include == TableObjects::Object) {
      rows[i]["object"] = items[i];
    } else if (include == TableObjects::Metadata) {
      value partial = value::object(true);
      partial["kind"] = value::string("PartialObjectMetadata");
      partial["apiVersion"] = value::string("meta.k8s.io/v1");
      const value* metadata = member(items[i], "metadata");
      partial["metadata"] = metadata != nullptr ? *metadata : value::object(true);
      rows[i]["object"] = partial;
    }
  }
  table["rows"] = rows;
  return table;
}

std::size_t migrateEventStorage(ObjectStore& store) {
  std::size_t moved = 0;
  for (const value& legacy : store.list(kLegacyEventsKey, std::nullopt).items) {
    const std::string ns = textAt(legacy, "metadata", "namespace");
    const std::string name = textAt(legacy, "metadata", "name");
    if (store.create("events", eventAsCoreV1(legacy))) ++moved;
    store.remove(kLegacyEventsKey, ns, name);
  }
  return moved;
}

}  // namespace billing::apiserver
