#include "tests/apiserver/patch.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>

#include "tests/apiserver/go_text.h"

namespace billing::apiserver {
namespace {

using JsonValue = web::json::value;

constexpr std::size_t kMaxJsonPatchOperations = 10000;
constexpr std::string_view kRejectedMessage =
    "the server rejected our request due to an error in our request";

PatchError makeError(int code, std::string reason, std::string message, std::string cause = {},
                     bool emptyDetails = false) {
  PatchError error;
  error.code = code;
  error.reason = std::move(reason);
  error.message = std::move(message);
  error.cause = std::move(cause);
  error.emptyDetails = emptyDetails;
  return error;
}

PatchError patchBadRequest(std::string message) {
  return makeError(400, "BadRequest", std::move(message));
}

// errors.NewGenericServerResponse(422, ..., isUnexpectedResponse=false): the cause is not sent.
PatchError unprocessable(std::string cause) {
  return makeError(422, "Invalid", std::string(kRejectedMessage), std::move(cause), true);
}

// A plain Go error reaching the handler: ErrorToAPIStatus makes it a 500 with no reason.
PatchError patchInternalError(std::string message) {
  return makeError(500, "", std::move(message));
}

// ---- JSON merge patch ------------------------------------------------------------------------

// evanphx pruneNulls: null members leave objects, at any depth, arrays included; null elements of
// arrays stay.
JsonValue pruneNulls(const JsonValue& value) {
  if (value.is_object()) {
    JsonValue out = value;
    auto& members = out.as_object();
    for (auto it = members.begin(); it != members.end();) {
      if (it->second.is_null()) {
        it = members.erase(it);
      } else {
        it->second = pruneNulls(it->second);
        ++it;
      }
    }
    return out;
  }
  if (value.is_array()) {
    JsonValue out = value;
    for (auto& element : out.as_array()) element = pruneNulls(element);
    return out;
  }
  return value;
}

void mergeDocs(JsonValue& doc, const JsonValue& patch);

// evanphx merge(cur, patch): a value that is not an object gives way to the patch (nulls pruned);
// an object meeting a non-object patch value is replaced verbatim; two objects merge.
JsonValue mergeValue(JsonValue current, const JsonValue& patch) {
  if (!current.is_object()) return pruneNulls(patch);
  if (!patch.is_object()) return patch;
  mergeDocs(current, patch);
  return current;
}

void mergeDocs(JsonValue& doc, const JsonValue& patch) {
  auto& members = doc.as_object();
  for (const auto& [key, value] : patch.as_object()) {
    if (value.is_null()) {
      if (members.find(key) != members.end()) members.erase(key);
      continue;
    }
    const auto found = members.find(key);
    if (found == members.end() || found->second.is_null()) {
      members[key] = pruneNulls(value);
    } else {
      members[key] = mergeValue(found->second, value);
    }
  }
}

// ---- JSON patch ------------------------------------------------------------------------------

// pkg/errors' Wrapf: "<message>: <cause>".
std::string wrap(std::string_view message, std::string_view cause) {
  return std::string(message) + ": " + std::string(cause);
}

constexpr std::string_view kMissingValue = "missing value";
constexpr std::string_view kInvalidIndex = "invalid index referenced";

std::string invalidIndexError(std::int64_t index) {
  return wrap("Unable to access invalid index: " + std::to_string(index), kInvalidIndex);
}

// RFC 6901 unescaping as evanphx does it: ~1 first, then ~0.
std::string decodePatchKey(std::string_view key) {
  std::string once;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '~' && i + 1 < key.size() && key[i + 1] == '1') {
      once += '/';
      ++i;
    } else {
      once += key[i];
    }
  }
  std::string out;
  for (std::size_t i = 0; i < once.size(); ++i) {
    if (once[i] == '~' && i + 1 < once.size() && once[i + 1] == '0') {
      out += '~';
      ++i;
    } else {
      out += once[i];
    }
  }
  return out;
}

// partialArray index for get/set/remove: Atoi, negative indices counted from the end.
std::expected<std::size_t, std::string> existingIndex(const JsonValue& array,
                                                      const std::string& key) {
  const auto parsed = gotext::atoi(key);
  if (!parsed) return std::unexpected(parsed.error());
  const auto size = static_cast<std::int64_t>(array.as_array().size());
  std::int64_t index = *parsed;
  if (index >= size) return std::unexpected(invalidIndexError(index));
  if (index < 0) {
    if (index < -size) return std::unexpected(invalidIndexError(index));
    index += size;
  }
  return static_cast<std::size_t>(index);
}

// The value at key in a container, or nullptr for a missing or null object member (Go's nil).
std::expected<const JsonValue*, std::string> getMember(const JsonValue& container,
                                                       const std::string& key) {
  if (container.is_object()) {
    const auto& members = container.as_object();
    const auto found = members.find(key);
    if (found == members.end() || found->second.is_null()) return nullptr;
    return &found->second;
  }
  const auto index = existingIndex(container, key);
  if (!index) return std::unexpected(index.error());
  const auto& element = container.as_array().at(*index);
  return element.is_null() ? nullptr : &element;
}

struct Location {
  JsonValue* container;  // an object or an array
  std::string key;       // decoded
};

// evanphx findObject: splits at '/', walks every part but the first and the last, and fails on
// anything that is not an object or array on the way. A path without a leading '/' is read from
// its second part on, as evanphx reads it.
std::optional<Location> findObject(JsonValue& root, std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2) return std::nullopt;
  JsonValue* current = &root;
  for (std::size_t i = 1; i + 1 < parts.size(); ++i) {
    const auto key = decodePatchKey(parts[i]);
    JsonValue* next = nullptr;
    if (current->is_object()) {
      auto& members = current->as_object();
      if (members.find(key) == members.end()) return std::nullopt;
      next = &members[key];
    } else {
      const auto index = existingIndex(*current, key);
      if (!index) return std::nullopt;
      next = &current->as_array()[*index];
    }
    if (!next->is_object() && !next->is_array()) return std::nullopt;
    current = next;
  }
  return Location{current, decodePatchKey(parts.back())};
}

std::expected<void, std::string> addAt(const Location& at, JsonValue value) {
  if (at.container->is_object()) {
    at.container->as_object()[at.key] = std::move(value);
    return {};
  }
  auto& array = at.container->as_array();
  std::vector<JsonValue> elements(array.begin(), array.end());
  if (at.key == "-") {
    elements.push_back(std::move(value));
  } else {
    const auto parsed = gotext::atoi(at.key);
    if (!parsed)
      return std::unexpected(
          wrap("value was not a proper array index: '" + at.key + "'", parsed.error()));
    const auto size = static_cast<std::int64_t>(elements.size()) + 1;
    std::int64_t index = *parsed;
    if (index >= size) return std::unexpected(invalidIndexError(index));
    if (index < 0) {
      if (index < -size) return std::unexpected(invalidIndexError(index));
      index += size;
    }
    elements.insert(elements.begin() + index, std::move(value));
  }
  *at.container = JsonValue::array(std::move(elements));
  return {};
}

std::expected<void, std::string> removeAt(const Location& at) {
  if (at.container->is_object()) {
    auto& members = at.container->as_object();
    if (members.find(at.key) == members.end()) {
      return std::unexpected(wrap("Unable to remove nonexistent key: " + at.key, kMissingValue));
    }
    members.erase(at.key);
    return {};
  }
  const auto index = existingIndex(*at.container, at.key);
  if (!index) return std::unexpected(index.error());
  at.container->as_array().erase(*index);
  return {};
}

// An operation's member as evanphx reads it.
struct Operation {
  const JsonValue* body;  // an object, or null

  const JsonValue* member(const std::string& name) const {
    if (!body->is_object()) return nullptr;
    const auto& members = body->as_object();
    const auto found = members.find(name);
    return found == members.end() ? nullptr : &found->second;
  }

  std::string kind() const {
    const auto* op = member("op");
    return op != nullptr && op->is_string() ? op->as_string() : "unknown";
  }

  std::expected<std::string, std::string> stringMember(const std::string& name,
                                                       std::string_view missing) const {
    const auto* value = member(name);
    if (value == nullptr || value->is_null()) return std::unexpected(wrap(missing, kMissingValue));
    if (!value->is_string()) {
      return std::unexpected("json: cannot unmarshal " + std::string(gotext::jsonKind(*value)) +
                             " into Go value of type string");
    }
    return value->as_string();
  }

  std::expected<std::string, std::string> path() const {
    return stringMember("path", "operation missing path field");
  }
  std::expected<std::string, std::string> from() const {
    return stringMember("from", "operation, missing from field");
  }
  // An absent "value" is nil in evanphx and is stored as null; so it is here.
  JsonValue value() const {
    const auto* found = member("value");
    return found == nullptr ? JsonValue::null() : *found;
  }
};

using Step = std::expected<void, std::string>;

Step applyAdd(JsonValue& doc, const Operation& op) {
  const auto path = op.path();
  if (!path) return std::unexpected(wrap("add operation failed to decode path", kMissingValue));
  const auto at = findObject(doc, *path);
  if (!at) {
    return std::unexpected(wrap(
        "add operation does not apply: doc is missing path: \"" + *path + "\"", kMissingValue));
  }
  if (auto added = addAt(*at, op.value()); !added) {
    return std::unexpected(wrap("error in add for path: '" + *path + "'", added.error()));
  }
  return {};
}

Step applyRemove(JsonValue& doc, const Operation& op) {
  const auto path = op.path();
  if (!path) return std::unexpected(wrap("remove operation failed to decode path", kMissingValue));
  const auto at = findObject(doc, *path);
  if (!at) {
    return std::unexpected(wrap(
        "remove operation does not apply: doc is missing path: \"" + *path + "\"", kMissingValue));
  }
  if (auto removed = removeAt(*at); !removed) {
    return std::unexpected(wrap("error in remove for path: '" + *path + "'", removed.error()));
  }
  return {};
}

Step applyReplace(JsonValue& doc, const Operation& op) {
  const auto path = op.path();
  if (!path) return std::unexpected(wrap("replace operation failed to decode path", path.error()));
  if (path->empty()) {
    // evanphx wraps a nil error here, so a scalar value is silently ignored.
    auto value = op.value();
    if (value.is_object() || value.is_array()) doc = std::move(value);
    return {};
  }
  const auto at = findObject(doc, *path);
  if (!at) {
    return std::unexpected(
        wrap("replace operation does not apply: doc is missing path: " + *path, kMissingValue));
  }
  if (at->container->is_object()) {
    at->container->as_object()[at->key] = op.value();
    return {};
  }
  const auto index = existingIndex(*at->container, at->key);
  if (!index) {
    return std::unexpected(
        wrap("replace operation does not apply: doc is missing key: " + *path, kMissingValue));
  }
  at->container->as_array()[*index] = op.value();
  return {};
}

Step applyMove(JsonValue& doc, const Operation& op) {
  const auto from = op.from();
  if (!from) return std::unexpected(wrap("move operation failed to decode from", from.error()));
  const auto source = findObject(doc, *from);
  if (!source) {
    return std::unexpected(
        wrap("move operation does not apply: doc is missing from path: " + *from, kMissingValue));
  }
  const auto got = getMember(*source->container, source->key);
  if (!got)
    return std::unexpected(wrap("error in move for path: '" + source->key + "'", got.error()));
  JsonValue value = *got == nullptr ? JsonValue::null() : **got;
  if (auto removed = removeAt(*source); !removed) {
    return std::unexpected(wrap("error in move for path: '" + source->key + "'", removed.error()));
  }
  const auto path = op.path();
  if (!path) return std::unexpected(wrap("move operation failed to decode path", path.error()));
  const auto target = findObject(doc, *path);
  if (!target) {
    return std::unexpected(wrap(
        "move operation does not apply: doc is missing destination path: " + *path, kMissingValue));
  }
  if (auto added = addAt(*target, std::move(value)); !added) {
    return std::unexpected(wrap("error in move for path: '" + *path + "'", added.error()));
  }
  return {};
}

Step applyTest(JsonValue& doc, const Operation& op) {
  const auto path = op.path();
  if (!path) return std::unexpected(wrap("test operation failed to decode path", path.error()));
  const auto failed = wrap("testing value " + *path + " failed", "test failed");
  if (path->empty()) {
    if (common::jsonEqual(doc, op.value())) return {};
    return std::unexpected(failed);
  }
  const auto at = findObject(doc, *path);
  if (!at) {
    return std::unexpected(
        wrap("test operation does not apply: is missing path: " + *path, kMissingValue));
  }
  const auto got = getMember(*at->container, at->key);
  if (!got) return std::unexpected(wrap("error in test for path: '" + *path + "'", got.error()));
  const JsonValue actual = *got == nullptr ? JsonValue::null() : **got;
  if (common::jsonEqual(actual, op.value())) return {};
  return std::unexpected(failed);
}

Step applyCopy(JsonValue& doc, const Operation& op) {
  const auto from = op.from();
  if (!from) return std::unexpected(wrap("copy operation failed to decode from", from.error()));
  const auto source = findObject(doc, *from);
  if (!source) {
    return std::unexpected(
        wrap("copy operation does not apply: doc is missing from path: " + *from, kMissingValue));
  }
  const auto got = getMember(*source->container, source->key);
  if (!got) return std::unexpected(wrap("error in copy for from: '" + *from + "'", got.error()));
  JsonValue value = *got == nullptr ? JsonValue::null() : **got;
  const auto path = op.path();
  if (!path) return std::unexpected(wrap("copy operation failed to decode path", kMissingValue));
  const auto target = findObject(doc, *path);
  if (!target) {
    return std::unexpected(wrap(
        "copy operation does not apply: doc is missing destination path: " + *path, kMissingValue));
  }
  if (auto added = addAt(*target, std::move(value)); !added) {
    return std::unexpected(wrap("error while adding value during copy", added.error()));
  }
  return {};
}

// kube-apiserver first decodes the body strictly into []handlers.jsonPatchOp (fieldValidation
// Warn, its default, and Strict both do), whose type errors are the 400s a client sees.
std::optional<PatchError> decodeJsonPatch(const JsonValue& patch) {
  const auto decodeError = [](std::string what) {
    return patchBadRequest("error decoding patch: json: cannot unmarshal " + what);
  };
  if (patch.is_null()) return std::nullopt;
  if (!patch.is_array()) {
    return decodeError(std::string(gotext::jsonKind(patch)) +
                       " into Go value of type []handlers.jsonPatchOp");
  }
  for (const auto& operation : patch.as_array()) {
    if (operation.is_null()) continue;
    if (!operation.is_object()) {
      return decodeError(std::string(gotext::jsonKind(operation)) +
                         " into Go value of type handlers.jsonPatchOp");
    }
    for (const auto& [name, value] : operation.as_object()) {
      if ((name == "op" || name == "path" || name == "from") && !value.is_null() &&
          !value.is_string()) {
        return decodeError(std::string(gotext::jsonKind(value)) +
                           " into Go struct field jsonPatchOp." + name + " of type string");
      }
    }
  }
  if (patch.as_array().size() > kMaxJsonPatchOperations) {
    return makeError(
        413, "RequestEntityTooLarge",
        "Request entity too large: The allowed maximum operations in a JSON patch is " +
            std::to_string(kMaxJsonPatchOperations) + ", got " +
            std::to_string(patch.as_array().size()));
  }
  return std::nullopt;
}

// ---- Strategic merge patch -------------------------------------------------------------------

constexpr std::string_view kDirectiveMarker = "$patch";
constexpr std::string_view kRetainKeysDirective = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrderPrefix = "$setElementOrder/";

using Merged = std::expected<JsonValue, PatchError>;

// Go's == on the interface{} values encoding/json produces (int64 and float64 differ).
bool goScalarEqual(const JsonValue& left, const JsonValue& right) {
  if (left.is_null() || right.is_null()) return left.is_null() && right.is_null();
  if (left.is_string() && right.is_string()) return left.as_string() == right.as_string();
  if (left.is_boolean() && right.is_boolean()) return left.as_bool() == right.as_bool();
  if (left.is_number() && right.is_number()) {
    if (left.is_integer() != right.is_integer()) return false;
    if (left.is_integer()) return left.as_number().to_int64() == right.as_number().to_int64();
    return left.as_double() == right.as_double();
  }
  return false;
}

// reflect.Type of a decoded JSON value, as far as sliceElementType tells them apart.
std::string_view goType(const JsonValue& value) {
  if (value.is_object()) return "map";
  if (value.is_array()) return "slice";
  if (value.is_string()) return "string";
  if (value.is_boolean()) return "bool";
  if (value.is_number()) return value.is_integer() ? "int64" : "float64";
  return "nil";
}

const JsonValue* findMember(const JsonValue& object, const std::string& key) {
  const auto& members = object.as_object();
  const auto found = members.find(key);
  return found == members.end() ? nullptr : &found->second;
}

class StrategicMerger {
 public:
  explicit StrategicMerger(const StrategicMergeSchema& schema) : schema_(schema) {}

  Merged mergeMap(std::vector<std::string>& path, JsonValue original, const JsonValue& patch) {
    if (const auto* directive = findMember(patch, std::string(kDirectiveMarker))) {
      if (directive->is_string() && directive->as_string() == "replace") {
        JsonValue rest = patch;
        rest.as_object().erase(std::string(kDirectiveMarker));
        return mergeMap(path, JsonValue::object(), rest);
      }
      if (directive->is_string() && directive->as_string() == "delete") return JsonValue::object();
      return std::unexpected(
          patchInternalError("unknown patch type: " + gotext::formatValue(*directive) +
                             " in map: " + gotext::formatValue(patch)));
    }
    if (!original.is_object()) original = JsonValue::object();

    if (const auto* retainKeys = findMember(patch, std::string(kRetainKeysDirective))) {
      if (auto error = applyRetainKeys(original, patch, *retainKeys)) {
        return std::unexpected(*error);
      }
    }

    std::vector<std::string> ordered;
    for (const auto& [key, value] : patch.as_object()) {
      if (!key.starts_with(kSetElementOrderPrefix)) continue;
      if (!value.is_array()) {
        return std::unexpected(patchBadRequest("invalid patch format of setElementOrder list"));
      }
      const auto listKey = key.substr(kSetElementOrderPrefix.size());
      auto done = applySetElementOrder(path, original, patch, listKey, value);
      if (!done) return std::unexpected(done.error());
      if (*done) ordered.push_back(listKey);
    }

    for (const auto& [key, value] : patch.as_object()) {
      if (std::find(ordered.begin(), ordered.end(), key) != ordered.end()) continue;
      if (key.starts_with(kDeleteFromPrimitiveListPrefix)) {
        deleteFromPrimitiveList(original, key.substr(kDeleteFromPrimitiveListPrefix.size()), value);
        continue;
      }
      // Directives handled above, and "$" keys no Go type has, which the typed decode drops.
      if (key.starts_with("$")) continue;
      auto& members = original.as_object();
      if (value.is_null()) {
        if (members.find(key) != members.end()) members.erase(key);
        continue;
      }
      path.push_back(key);
      auto merged = mergeField(path, findMember(original, key), value);
      path.pop_back();
      if (!merged) return merged;
      members[key] = std::move(*merged);
    }
    return original;
  }

 private:
  // The new value of one field: the patch value merged into what is there, if anything.
  Merged mergeField(std::vector<std::string>& path, const JsonValue* current,
                    const JsonValue& patch) {
    if (current == nullptr || goType(*current) != goType(patch)) return clean(path, patch);
    if (patch.is_object()) return mergeMap(path, *current, patch);
    if (patch.is_array()) {
      if (const auto* rule = schema_.find(path)) return mergeList(path, *current, patch, *rule);
      return clean(path, patch);
    }
    return patch;
  }

  // A value the patch brings in whole: merged into nothing, so directives inside it are applied
  // and nulls dropped.
  Merged clean(std::vector<std::string>& path, const JsonValue& value) {
    if (value.is_object()) return mergeMap(path, JsonValue::object(), value);
    if (!value.is_array()) return value;
    if (const auto* rule = schema_.find(path)) {
      return mergeList(path, JsonValue::array(), value, *rule);
    }
    std::vector<JsonValue> elements;
    for (const auto& element : value.as_array()) {
      auto cleaned = clean(path, element);
      if (!cleaned) return cleaned;
      elements.push_back(std::move(*cleaned));
    }
    return JsonValue::array(std::move(elements));
  }

  static std::optional<PatchError> applyRetainKeys(JsonValue& original, const JsonValue& patch,
                                                   const JsonValue& retainKeys) {
    const auto invalid = patchBadRequest("invalid patch format of retainKeys");
    if (!retainKeys.is_array()) return invalid;
    const auto retained = [&](const std::string& key) {
      const auto& list = retainKeys.as_array();
      return std::any_of(list.begin(), list.end(), [&](const JsonValue& element) {
        return element.is_string() && element.as_string() == key;
      });
    };
    for (const auto& [key, value] : patch.as_object()) {
      if (key == kRetainKeysDirective || value.is_null() ||
          key.starts_with(kDeleteFromPrimitiveListPrefix) ||
          key.starts_with(kSetElementOrderPrefix)) {
        continue;
      }
      if (!retained(key)) return invalid;
    }
    auto& members = original.as_object();
    for (auto it = members.begin(); it != members.end();) {
      it = retained(it->first) ? std::next(it) : members.erase(it);
    }
    return std::nullopt;
  }

  static void deleteFromPrimitiveList(JsonValue& original, const std::string& listKey,
                                      const JsonValue& toDelete) {
    auto& members = original.as_object();
    const auto found = members.find(listKey);
    if (found == members.end() || !found->second.is_array() || !toDelete.is_array()) return;
    std::vector<JsonValue> kept;
    for (const auto& element : found->second.as_array()) {
      const auto& doomed = toDelete.as_array();
      if (element.is_object() || element.is_array() ||
          std::none_of(doomed.begin(), doomed.end(),
                       [&](const JsonValue& d) { return goScalarEqual(d, element); })) {
        kept.push_back(element);
      }
    }
    members[listKey] = JsonValue::array(std::move(kept));
  }

  // mergePatchIntoOriginal for one "$setElementOrder/<listKey>": merges the list (when the patch
  // has it) and orders the result as the directive asks. False when there is nothing to order
  // here, e.g. the list does not merge or the patch deletes it; the list is then handled like any
  // other field and the directive dropped.
  std::expected<bool, PatchError> applySetElementOrder(std::vector<std::string>& path,
                                                       JsonValue& original, const JsonValue& patch,
                                                       const std::string& listKey,
                                                       const JsonValue& order) {
    path.push_back(listKey);
    const auto* rule = schema_.find(path);
    const auto* originalList = findMember(original, listKey);
    const auto* patchList = findMember(patch, listKey);
    const bool usable = rule != nullptr && (originalList == nullptr || originalList->is_array()) &&
                        (patchList == nullptr || patchList->is_array()) &&
                        (originalList != nullptr || patchList != nullptr);
    if (!usable) {
      path.pop_back();
      return false;
    }
    const JsonValue serverList = originalList != nullptr ? *originalList : JsonValue::array();
    Merged merged =
        patchList != nullptr ? mergeList(path, serverList, *patchList, *rule) : serverList;
    path.pop_back();
    if (!merged) return std::unexpected(merged.error());
    auto orderedList = orderAs(*merged, order, serverList, rule->mergeKey);
    if (!orderedList) return std::unexpected(orderedList.error());
    original.as_object()[listKey] = std::move(*orderedList);
    return true;
  }

  // The value an element is known by in a list: its merge key, or itself for scalars.
  static const JsonValue* identity(const JsonValue& element, const std::string& mergeKey) {
    if (mergeKey.empty()) return &element;
    if (!element.is_object()) return nullptr;
    return findMember(element, mergeKey);
  }

  // strategicpatch's index(): position of the first element known by the same value, or -1.
  static std::ptrdiff_t indexIn(const std::vector<JsonValue>& list, const JsonValue& item,
                                const std::string& mergeKey) {
    const auto* wanted = identity(item, mergeKey);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto* candidate = identity(list[i], mergeKey);
      if (wanted == nullptr || candidate == nullptr) {
        if (wanted == nullptr && candidate == nullptr) return static_cast<std::ptrdiff_t>(i);
        continue;
      }
      if (goScalarEqual(*wanted, *candidate)) return static_cast<std::ptrdiff_t>(i);
    }
    return -1;
  }

  static std::vector<JsonValue> elementsOf(const JsonValue& array) {
    return std::vector<JsonValue>(array.as_array().begin(), array.as_array().end());
  }

  // normalizeElementOrder + mergeSortedSlice: items present in `order` in its order, the others
  // in `server`'s order, interleaved where `server` ranks both; an item `server` does not know
  // goes ahead of the server-only item it is compared with.
  static Merged orderAs(const JsonValue& merged, const JsonValue& order, const JsonValue& server,
                        const std::string& mergeKey) {
    const auto orderList = elementsOf(order);
    const auto serverList = elementsOf(server);
    std::vector<JsonValue> patchItems;
    std::vector<JsonValue> serverOnly;
    for (const auto& element : merged.as_array()) {
      if (!mergeKey.empty() && identity(element, mergeKey) == nullptr) {
        return std::unexpected(noMergeKey(element, mergeKey));
      }
      (indexIn(orderList, element, mergeKey) >= 0 ? patchItems : serverOnly).push_back(element);
    }
    // Items `by` does not know keep their relative order after the ones it does.
    const auto sortBy = [&](std::vector<JsonValue>& items, const std::vector<JsonValue>& by) {
      const auto rank = [&](const JsonValue& item) {
        const auto index = indexIn(by, item, mergeKey);
        return index < 0 ? static_cast<std::ptrdiff_t>(by.size()) : index;
      };
      std::stable_sort(items.begin(), items.end(),
                       [&](const JsonValue& a, const JsonValue& b) { return rank(a) < rank(b); });
    };
    sortBy(patchItems, orderList);
    sortBy(serverOnly, serverList);
    std::vector<JsonValue> out;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < serverOnly.size() || j < patchItems.size()) {
      if (i >= serverOnly.size()) {
        out.push_back(patchItems[j++]);
      } else if (j >= patchItems.size()) {
        out.push_back(serverOnly[i++]);
      } else {
        const auto li = indexIn(serverList, serverOnly[i], mergeKey);
        const auto ri = indexIn(serverList, patchItems[j], mergeKey);
        if (li >= 0 && ri >= 0 && li < ri) {
          out.push_back(serverOnly[i++]);
        } else {
          out.push_back(patchItems[j++]);
        }
      }
    }
    return JsonValue::array(std::move(out));
  }

  static PatchError noMergeKey(const JsonValue& element, const std::string& mergeKey) {
    return patchInternalError("map: " + gotext::formatValue(element) +
                              " does not contain declared merge key: " + mergeKey);
  }

  static std::string dotted(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& part : path) out += (out.empty() ? "" : ".") + part;
    return out;
  }

  Merged mergeList(std::vector<std::string>& path, const JsonValue& original,
                   const JsonValue& patch, const StrategicListRule& rule) {
    const auto& mergeKey = rule.mergeKey;
    auto server = elementsOf(original);
    const auto patchElements = elementsOf(patch);
    if (server.empty() && patchElements.empty()) return original;

    std::optional<std::string_view> elementType;
    for (const auto* list : std::array<const std::vector<JsonValue>*, 2>{&server, &patchElements}) {
      for (const auto& element : *list) {
        const auto type = goType(element);
        if (!elementType) {
          if (type == "slice")
            return std::unexpected(unprocessable("lists of lists are not supported"));
          elementType = type;
        } else if (*elementType != type) {
          return std::unexpected(patchInternalError("list element types are not identical: [" +
                                                    gotext::formatValue(original) + " " +
                                                    gotext::formatValue(patch) + "]"));
        }
      }
    }

    std::vector<JsonValue> merged;
    std::vector<JsonValue> order;
    if (*elementType != "map") {
      // deduplicateScalars(original + patch); the order is settled below.
      for (const auto* list :
           std::array<const std::vector<JsonValue>*, 2>{&server, &patchElements}) {
        for (const auto& element : *list) {
          if (indexIn(merged, element, "") < 0) merged.push_back(element);
        }
      }
      order = patchElements;
    } else {
      if (mergeKey.empty()) {
        return std::unexpected(
            patchInternalError("cannot merge lists without merge key for " + dotted(path)));
      }
      bool replace = false;
      for (const auto& element : patchElements) {
        const auto* directive = findMember(element, std::string(kDirectiveMarker));
        if (directive == nullptr) {
          order.push_back(element);
          continue;
        }
        const std::string kind = directive->is_string() ? directive->as_string() : "";
        if (kind == "delete") {
          const auto* key = findMember(element, mergeKey);
          if (key == nullptr) return std::unexpected(noMergeKey(element, mergeKey));
          std::erase_if(server, [&](const JsonValue& candidate) {
            const auto* candidateKey = findMember(candidate, mergeKey);
            return candidateKey != nullptr && goScalarEqual(*candidateKey, *key);
          });
        } else if (kind == "replace") {
          replace = true;
        } else if (kind == "merge") {
          return std::unexpected(
              patchInternalError("merging lists cannot yet be specified in the patch"));
        } else {
          return std::unexpected(
              patchInternalError("unknown patch type: " + gotext::formatValue(*directive) +
                                 " in map: " + gotext::formatValue(element)));
        }
      }
      if (replace) {
        server.clear();
        for (const auto& element : order) {
          auto cleaned = clean(path, element);
          if (!cleaned) return cleaned;
          server.push_back(std::move(*cleaned));
        }
        order.clear();
      }
      merged = server;
      for (const auto& element : order) {
        const auto* key = findMember(element, mergeKey);
        if (key == nullptr) return std::unexpected(noMergeKey(element, mergeKey));
        const auto at = std::find_if(merged.begin(), merged.end(), [&](const JsonValue& candidate) {
          const auto* candidateKey = findMember(candidate, mergeKey);
          return candidateKey != nullptr && goScalarEqual(*candidateKey, *key);
        });
        auto next = at == merged.end() ? clean(path, element) : mergeMap(path, *at, element);
        if (!next) return next;
        if (at == merged.end()) {
          merged.push_back(std::move(*next));
        } else {
          *at = std::move(*next);
        }
      }
    }
    return orderAs(JsonValue::array(std::move(merged)), JsonValue::array(std::move(order)),
                   JsonValue::array(std::move(server)), *elementType == "map" ? mergeKey : "");
  }

  const StrategicMergeSchema& schema_;
};

bool pathMatches(std::string_view pattern, std::span<const std::string> path) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto dot = pattern.find('.', start);
    parts.push_back(pattern.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  const bool anyPrefix = !parts.empty() && parts.front() == "**";
  if (anyPrefix) parts.erase(parts.begin());
  if (anyPrefix ? path.size() < parts.size() : path.size() != parts.size()) return false;
  const auto offset = path.size() - parts.size();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (path[offset + i] != parts[i]) return false;
  }
  return true;
}

}  // namespace

// ---- public ----------------------------------------------------------------------------------

std::optional<PatchType> patchTypeFromContentType(std::string_view contentType) {
  // As PatchResource does it: cut at the first ';' (if not leading), nothing trimmed.
  if (const auto semicolon = contentType.find(';');
      semicolon != std::string_view::npos && semicolon > 0) {
    contentType = contentType.substr(0, semicolon);
  }
  for (const auto type : kBuiltinPatchTypes) {
    if (mediaType(type) == contentType) return type;
  }
  return std::nullopt;
}

std::string_view mediaType(PatchType type) {
  switch (type) {
    case PatchType::kJsonPatch:
      return "application/json-patch+json";
    case PatchType::kMergePatch:
      return "application/merge-patch+json";
    case PatchType::kStrategicMergePatch:
      return "application/strategic-merge-patch+json";
    case PatchType::kApplyPatch:
      return "application/apply-patch+yaml";
  }
  return "";
}

web::json::value PatchError::status() const {
  JsonValue status = JsonValue::object(/*keep_order=*/true);
  status["kind"] = JsonValue::string("Status");
  status["apiVersion"] = JsonValue::string("v1");
  status["metadata"] = JsonValue::object();
  status["status"] = JsonValue::string("Failure");
  status["message"] = JsonValue::string(message);
  if (!reason.empty()) status["reason"] = JsonValue::string(reason);
  if (emptyDetails) status["details"] = JsonValue::object();
  status["code"] = JsonValue::number(code);
  return status;
}

PatchError unsupportedMediaType(std::span<const PatchType> accepted) {
  std::string list;
  for (const auto type : accepted) {
    if (!list.empty()) list += ", ";
    list += mediaType(type);
  }
  return makeError(415, "UnsupportedMediaType",
                   "the body of the request was in an unknown format - accepted media types "
                   "include: " +
                       list);
}

web::json::value mergePatch(const web::json::value& target, const web::json::value& patch) {
  if (!patch.is_object()) return pruneNulls(patch);
  JsonValue result = target.is_object() ? target : JsonValue::object();
  mergeDocs(result, patch);
  return result;
}

std::expected<web::json::value, PatchError> applyMergePatch(const web::json::value& object,
                                                            const web::json::value& patch) {
  if (patch.is_null()) return std::unexpected(patchBadRequest("Invalid JSON Patch"));
  if (!patch.is_object()) {
    return std::unexpected(patchBadRequest("error decoding patch: json: cannot unmarshal " +
                                           std::string(gotext::jsonKind(patch)) +
                                           " into Go value of type map[string]interface {}"));
  }
  return mergePatch(object, patch);
}

std::expected<web::json::value, PatchError> applyJsonPatch(const web::json::value& document,
                                                           const web::json::value& patch) {
  if (auto error = decodeJsonPatch(patch)) return std::unexpected(*error);
  if (!document.is_object() && !document.is_array()) {
    return std::unexpected(unprocessable("json: cannot unmarshal " +
                                         std::string(gotext::jsonKind(document)) +
                                         " into Go value of type jsonpatch.partialDoc"));
  }
  JsonValue doc = document;
  if (patch.is_null()) return doc;
  for (const auto& body : patch.as_array()) {
    const Operation op{&body};
    const auto kind = op.kind();
    Step step;
    if (kind == "add") {
      step = applyAdd(doc, op);
    } else if (kind == "remove") {
      step = applyRemove(doc, op);
    } else if (kind == "replace") {
      step = applyReplace(doc, op);
    } else if (kind == "move") {
      step = applyMove(doc, op);
    } else if (kind == "test") {
      step = applyTest(doc, op);
    } else if (kind == "copy") {
      step = applyCopy(doc, op);
    } else {
      step = std::unexpected("Unexpected kind: " + kind);
    }
    if (!step) return std::unexpected(unprocessable(step.error()));
  }
  return doc;
}

StrategicMergeSchema::StrategicMergeSchema(std::vector<StrategicListRule> rules)
    : rules_(std::move(rules)) {}

const StrategicMergeSchema& StrategicMergeSchema::builtin() {
  static const StrategicMergeSchema schema = [] {
    std::vector<StrategicListRule> rules = {
        {"metadata.finalizers", ""},
        {"metadata.ownerReferences", "uid"},
        {"**.volumes", "name"},
        {"**.imagePullSecrets", "name"},
        {"**.hostAliases", "ip"},
        {"**.topologySpreadConstraints", "topologyKey"},
        {"**.schedulingGates", "name"},
        {"**.resourceClaims", "name"},
        {"spec.ports", "port"},
        {"spec.podCIDRs", ""},
        {"status.conditions", "type"},
        {"status.addresses", "type"},
        {"status.podIPs", "ip"},
        {"status.hostIPs", "ip"},
        {"secrets", "name"},
        {"webhooks", "name"},
    };
    for (const char* containers : {"containers", "initContainers", "ephemeralContainers"}) {
      const std::string prefix = std::string("**.") + containers;
      rules.push_back({prefix, "name"});
      rules.push_back({prefix + ".env", "name"});
      rules.push_back({prefix + ".ports", "containerPort"});
      rules.push_back({prefix + ".volumeMounts", "mountPath"});
      rules.push_back({prefix + ".volumeDevices", "devicePath"});
    }
    return StrategicMergeSchema(std::move(rules));
  }();
  return schema;
}

const StrategicListRule* StrategicMergeSchema::find(std::span<const std::string> path) const {
  for (const auto& rule : rules_) {
    if (pathMatches(rule.path, path)) return &rule;
  }
  return nullptr;
}

std::expected<web::json::value, PatchError> applyStrategicMergePatch(
    const web::json::value& original, const web::json::value& patch,
    const StrategicMergeSchema& schema) {
  if (patch.is_null()) return original;
  if (!patch.is_object()) {
    return std::unexpected(patchBadRequest("json: cannot unmarshal " +
                                           std::string(gotext::jsonKind(patch)) +
                                           " into Go value of type map[string]interface {}"));
  }
  std::vector<std::string> path;
  return StrategicMerger(schema).mergeMap(path, original, patch);
}

}  // namespace billing::apiserver
