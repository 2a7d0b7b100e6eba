// Events as kube-apiserver serves them: one storage, two APIs. Core v1 `events` is the storage;
// `events.k8s.io/v1` Events are the same objects converted on every read and write
// (pkg/apis/events/v1 conversion.go): note <-> message, regarding <-> involvedObject,
// reportingController <-> reportingComponent, deprecatedSource <-> source,
// deprecatedFirstTimestamp/deprecatedLastTimestamp/deprecatedCount <-> firstTimestamp/
// lastTimestamp/count; eventTime, series, related, reportingInstance, action, reason and type keep
// their names. So an event the operator writes through events.k8s.io shows in `kubectl get
// events` and in `kubectl describe`'s Events section, with the same name, uid and
// resourceVersion, and a watch on either API sees writes made through the other.
//
// Both APIs also share their field selectors (events.k8s.io's are renamed to core's, as kube's
// field label conversion does) and their table (kube's event printer: LAST SEEN, TYPE, REASON,
// OBJECT, MESSAGE, and SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME for -o wide).
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/apiserver/object_store.h"
#include "tests/apiserver/resource_registry.h"
#include "tests/apiserver/selectors.h"
#include "tests/apiserver/table.h"

namespace billing::apiserver {

// Core v1 events or events.k8s.io events (any version).
bool isEventResource(const ResourceType& type);

// The store key of a type's objects: "events" for both Event APIs, groupResource() otherwise.
std::string storageResource(const ResourceType& type);

// An object as `type` serves it, converted to what the store keeps (core v1 for Events), and
// back. Both are the identity for every other type. Each direction looks at the object's own
// apiVersion, so converting an object already in the target form only normalizes it.
web::json::value toStorage(const ResourceType& type, web::json::value object);
web::json::value fromStorage(const ResourceType& type, web::json::value object);

// An Event of either API (told apart by its apiVersion) in one API's form, shaped as Go encodes
// the typed object: known fields only, empty optional fields left out, and the fields Go always
// writes present (core: `source: {}`, `firstTimestamp: null`, `lastTimestamp: null`,
// `eventTime: null`, `reportingComponent: ""`, `reportingInstance: ""`; events.k8s.io:
// `regarding: {}`, `deprecatedSource: {}`, `eventTime: null`, `deprecatedFirstTimestamp: null`,
// `deprecatedLastTimestamp: null`).
web::json::value eventAsCoreV1(const web::json::value& event);
web::json::value eventAsEventsV1(const web::json::value& event);

// The Event fields a field selector may name, worded as kube-apiserver 1.32 refuses others
// ("field label not supported: x"). Core: metadata.name/namespace, involvedObject.{kind,
// namespace,name,uid,apiVersion,resourceVersion,fieldPath}, reason, reportingComponent, source,
// type. events.k8s.io: the same with regarding.* and reportingController.
FieldSelectorSupport eventFieldSelectorSupport(const ResourceType& type);
// The core field an events.k8s.io field selector label stands for (regarding.name ->
// involvedObject.name, reportingController -> reportingComponent); other labels unchanged.
std::string coreEventFieldLabel(const std::string& label);
// The field set a stored (core v1) Event is selected on, as kube's ToSelectableFields: `source`
// is source.component, or reportingComponent when that is empty.
std::map<std::string, std::string> eventSelectableFields(const web::json::value& coreEvent);

// The server-side Table of Events (either API; the rows' objects stay in the served form).
web::json::value eventTable(const std::vector<web::json::value>& items, std::uint64_t revision,
                            const std::string& continueToken, TableObjects include);

// Events an older server stored under "events.events.k8s.io" (a data directory from before the
// two APIs shared their storage) move into the shared storage; a name already taken there keeps
// the core Event. Returns how many moved.
std::size_t migrateEventStorage(ObjectStore& store);

}  // namespace billing::apiserver
