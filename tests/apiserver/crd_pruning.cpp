#include "tests/apiserver/crd_pruning.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "tests/apiserver/crd_field_errors.h"
#include "tests/apiserver/go_text.h"

namespace billing::apiserver {
namespace {

using JsonValue = web::json::value;

const JsonValue* member(const JsonValue& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto& fields = object.as_object();
  auto found = fields.find(std::string(key));
  return found == fields.end() ? nullptr : &found->second;
}

bool boolMember(const JsonValue& object, std::string_view key) {
  const auto* value = member(object, key);
  return value && value->is_boolean() && value->as_bool();
}

bool isMetaField(std::string_view key) {
  return key == "apiVersion" || key == "kind" || key == "metadata";
}

// The schema applying to a member: its property, else the additionalProperties schema. `found`
// tells whether one applies; the schema may be null for `additionalProperties: true`.
const JsonValue* memberSchema(const JsonValue& schema, std::string_view key, bool& found) {
  found = false;
  if (const auto* properties = member(schema, "properties")) {
    if (const auto* property = member(*properties, key)) {
      found = true;
      return property;
    }
  }
  if (const auto* additional = member(schema, "additionalProperties")) {
    if (additional->is_object()) {
      found = true;
      return additional;
    }
    if (additional->is_boolean() && additional->as_bool()) {
      found = true;
      return nullptr;
    }
  }
  return nullptr;
}

// ---- pruning ----

struct Pruner {
  std::vector<std::string> pruned;

  static std::string append(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  void skipPrune(JsonValue& value, const JsonValue* schema, const std::string& path) {
    if (!schema) return;
    if (value.is_object()) {
      const bool embedded = boolMember(*schema, "x-kubernetes-embedded-resource");
      for (auto& [key, child] : value.as_object()) {
        if (embedded && isMetaField(key)) continue;
        bool found = false;
        const auto* sub = memberSchema(*schema, key, found);
        if (found) prune(child, sub, append(path, key), false);
      }
    } else if (value.is_array()) {
      const auto* items = member(*schema, "items");
      std::size_t index = 0;
      for (auto& element : value.as_array()) {
        skipPrune(element, items, path + "[" + std::to_string(index++) + "]");
      }
    }
  }

  void prune(JsonValue& value, const JsonValue* schema, const std::string& path, bool root) {
    if (schema && boolMember(*schema, "x-kubernetes-preserve-unknown-fields")) {
      skipPrune(value, schema, path);
      return;
    }
    if (value.is_object()) {
      auto& fields = value.as_object();
      if (!schema) {
        std::vector<std::string> keys;
        for (const auto& [key, child] : fields) keys.push_back(key);
        for (const auto& key : keys) {
          pruned.push_back(append(path, key));
          fields.erase(key);
        }
        return;
      }
      const bool embedded = root || boolMember(*schema, "x-kubernetes-embedded-resource");
      std::vector<std::string> removed;
      for (auto& [key, child] : fields) {
        if (embedded) {
          if ((key == "apiVersion" || key == "kind") && child.is_string()) continue;
          if (key == "metadata" && child.is_object()) continue;
        }
        bool found = false;
        const auto* sub = memberSchema(*schema, key, found);
        if (found) {
          prune(child, sub, append(path, key), false);
        } else {
          if (!isMetaField(key) || !path.empty()) pruned.push_back(append(path, key));
          removed.push_back(key);
        }
      }
      for (const auto& key : removed) fields.erase(key);
    } else if (value.is_array()) {
      const auto* items = schema ? member(*schema, "items") : nullptr;
      std::size_t index = 0;
      for (auto& element : value.as_array()) {
        prune(element, items, path + "[" + std::to_string(index++) + "]", false);
      }
    }
  }
};

// ---- nulls and defaults ----

bool hasDefault(const JsonValue* schema) {
  const auto* value = schema ? member(*schema, "default") : nullptr;
  return value && !value->is_null();
}

bool isNonNullableNull(const JsonValue& value, const JsonValue* schema) {
  return value.is_null() && schema && !boolMember(*schema, "nullable") && hasDefault(schema);
}

void pruneNulls(JsonValue& value, const JsonValue* schema) {
  if (!schema) return;
  if (value.is_object()) {
    std::vector<std::string> removed;
    for (auto& [key, child] : value.as_object()) {
      const JsonValue* sub = nullptr;
      if (const auto* properties = member(*schema, "properties")) sub = member(*properties, key);
      if (!sub) {
        const auto* additional = member(*schema, "additionalProperties");
        if (!additional || !additional->is_object()) continue;
        sub = additional;
      }
      if (child.is_null() && !boolMember(*sub, "nullable") && !hasDefault(sub)) {
        removed.push_back(key);
      } else {
        pruneNulls(child, sub);
      }
    }
    for (const auto& key : removed) value.as_object().erase(key);
  } else if (value.is_array()) {
    const auto* items = member(*schema, "items");
    for (auto& element : value.as_array()) pruneNulls(element, items);
  }
}

void defaults(JsonValue& value, const JsonValue* schema) {
  if (!schema) return;
  if (value.is_object()) {
    const auto* properties = member(*schema, "properties");
    if (properties && properties->is_object()) {
      for (const auto& [key, property] : properties->as_object()) {
        if (!hasDefault(&property)) continue;
        const auto* current = member(value, key);
        if (!current || isNonNullableNull(*current, &property)) {
          value[key] = *member(property, "default");
        }
      }
    }
    const auto* additional = member(*schema, "additionalProperties");
    for (auto& [key, child] : value.as_object()) {
      if (const auto* property = properties ? member(*properties, key) : nullptr) {
        defaults(child, property);
      } else if (additional && additional->is_object()) {
        if (isNonNullableNull(child, additional)) {
          child = *member(*additional, "default");  // not defaulted further, as in kube
        } else {
          defaults(child, additional);
        }
      }
    }
  } else if (value.is_array()) {
    const auto* items = member(*schema, "items");
    for (auto& element : value.as_array()) {
      if (isNonNullableNull(element, items)) {
        element = *member(*items, "default");
      } else {
        defaults(element, items);
      }
    }
  }
}

// ---- ObjectMeta ----

std::string jsonTypeName(const JsonValue& value) {
  switch (value.type()) {
    case JsonValue::Boolean:
      return "bool";
    case JsonValue::Number:
      return "number";
    case JsonValue::String:
      return "string";
    case JsonValue::Array:
      return "array";
    case JsonValue::Object:
      return "object";
    default:
      return "null";
  }
}

std::string unmarshalError(const JsonValue& value, const std::string& field,
                           const std::string& goType) {
  return "json: cannot unmarshal " + jsonTypeName(value) + " into Go struct field " + field +
         " of type " + goType;
}

long long daysFromCivil(long long year, unsigned month, unsigned day) {
  year -= month <= 2;
  const long long era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

void civilFromDays(long long days, long long& year, unsigned& month, unsigned& day) {
  days += 719468;
  const long long era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<long long>(yoe) + era * 400 + (month <= 2);
}

bool digitsAt(std::string_view text, std::size_t at, std::size_t count, int& out) {
  if (at + count > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[at + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// metav1.Time: RFC 3339 in, RFC 3339 UTC with seconds out.
std::optional<std::string> normalizeTime(std::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!digitsAt(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !digitsAt(text, 5, 2, month) || text[7] != '-' || !digitsAt(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !digitsAt(text, 11, 2, hour) || text[13] != ':' ||
      !digitsAt(text, 14, 2, minute) || text[16] != ':' || !digitsAt(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const auto start = at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at;
    if (at == start) return std::nullopt;
  }
  long long offsetSeconds = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int offsetHours = 0;
    int offsetMinutes = 0;
    if (!digitsAt(text, at + 1, 2, offsetHours) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !digitsAt(text, at + 4, 2, offsetMinutes) || offsetHours > 23 || offsetMinutes > 59) {
      return std::nullopt;
    }
    offsetSeconds = (offsetHours * 3600LL + offsetMinutes * 60LL) * (text[at] == '-' ? -1 : 1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  long long seconds =
      daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600LL + minute * 60LL + second - offsetSeconds;
  long long days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  long long rest = seconds - days * 86400;
  long long outYear = 0;
  unsigned outMonth = 0;
  unsigned outDay = 0;
  civilFromDays(days, outYear, outMonth, outDay);
  auto pad = [](long long value, std::size_t width) {
    auto digits = std::to_string(value);
    return digits.size() < width ? std::string(width - digits.size(), '0') + digits : digits;
  };
  return pad(outYear, 4) + "-" + pad(outMonth, 2) + "-" + pad(outDay, 2) + "T" +
         pad(rest / 3600, 2) + ":" + pad((rest % 3600) / 60, 2) + ":" + pad(rest % 60, 2) + "Z";
}

struct MetaCoercer {
  std::string prefix;  // "metadata" or "spec.template.metadata"
  std::vector<std::string> unknown;
  std::optional<std::string> error;

  bool fail(std::string message) {
    if (!error) error = std::move(message);
    return false;
  }

  // A Go string field; nullopt (and an error) when the value is not a string or null.
  bool stringField(const JsonValue& value, const std::string& goField, JsonValue& out,
                   std::string_view key, bool keepEmpty = false) {
    if (value.is_null()) {
      if (keepEmpty) out[std::string(key)] = JsonValue::string("");
      return true;
    }
    if (!value.is_string()) return fail(unmarshalError(value, goField, "string"));
    if (keepEmpty || !value.as_string().empty()) out[std::string(key)] = value;
    return true;
  }

  bool int64Field(const JsonValue& value, const std::string& goField, JsonValue& out,
                  std::string_view key, bool pointer) {
    if (value.is_null()) return true;
    if (!value.is_number()) return fail(unmarshalError(value, goField, "int64"));
    if (!isGoInt64(value)) {
      return fail("json: cannot unmarshal number " + gotext::formatFloat(value.as_double()) +
                  " into Go struct field " + goField + " of type int64");
    }
    if (pointer || value.as_number().to_int64() != 0) out[std::string(key)] = value;
    return true;
  }

  bool timeField(const JsonValue& value, const std::string& goField, JsonValue& out,
                 std::string_view key, bool alwaysPresent) {
    if (value.is_null()) {
      if (alwaysPresent) out[std::string(key)] = JsonValue::null();
      return true;
    }
    if (!value.is_string()) return fail(unmarshalError(value, goField, "string"));
    auto normalized = normalizeTime(value.as_string());
    if (!normalized) {
      return fail("parsing time " + gotext::quote(value.as_string()) +
                  " as \"2006-01-02T15:04:05Z07:00\": cannot parse " +
                  gotext::quote(value.as_string()) + " as \"2006\"");
    }
    out[std::string(key)] = JsonValue::string(*normalized);
    return true;
  }

  bool stringMap(const JsonValue& value, const std::string& goField, JsonValue& out,
                 std::string_view key) {
    if (value.is_null()) return true;
    if (!value.is_object()) return fail(unmarshalError(value, goField, "map[string]string"));
    for (const auto& [entryKey, entry] : value.as_object()) {
      if (!entry.is_string() && !entry.is_null()) {
        return fail(unmarshalError(entry, goField, "string"));
      }
    }
    if (value.size() == 0) return true;
    auto copy = JsonValue::object();
    for (const auto& [entryKey, entry] : value.as_object()) {
      copy[entryKey] = entry.is_null() ? JsonValue::string("") : entry;
    }
    out[std::string(key)] = copy;
    return true;
  }

  bool boolPointer(const JsonValue& value, const std::string& goField, JsonValue& out,
                   std::string_view key) {
    if (value.is_null()) return true;
    if (!value.is_boolean()) return fail(unmarshalError(value, goField, "bool"));
    out[std::string(key)] = value;
    return true;
  }

  bool ownerReferences(const JsonValue& value, JsonValue& out) {
    const std::string goField = "ObjectMeta.ownerReferences";
    if (value.is_null()) return true;
    if (!value.is_array()) {
      return fail(unmarshalError(value, goField, "[]v1.OwnerReference"));
    }
    auto list = JsonValue::array();
    std::size_t index = 0;
    for (const auto& entry : value.as_array()) {
      if (!entry.is_object() && !entry.is_null()) {
        return fail(unmarshalError(entry, goField, "v1.OwnerReference"));
      }
      auto reference = JsonValue::object();
      for (const char* field : {"apiVersion", "kind", "name", "uid"}) {
        reference[field] = JsonValue::string("");
      }
      if (entry.is_object()) {
        for (const auto& [key, child] : entry.as_object()) {
          const std::string field = goField + "." + key;
          if (key == "apiVersion" || key == "kind" || key == "name" || key == "uid") {
            if (!stringField(child, field, reference, key, true)) return false;
          } else if (key == "controller" || key == "blockOwnerDeletion") {
            if (!boolPointer(child, field, reference, key)) return false;
          } else {
            unknown.push_back(prefix + ".ownerReferences[" + std::to_string(index) + "]." + key);
          }
        }
      }
      list[index++] = reference;
    }
    if (index > 0) out["ownerReferences"] = list;
    return true;
  }

  bool managedFields(const JsonValue& value, JsonValue& out) {
    const std::string goField = "ObjectMeta.managedFields";
    if (value.is_null()) return true;
    if (!value.is_array()) {
      return fail(unmarshalError(value, goField, "[]v1.ManagedFieldsEntry"));
    }
    auto list = JsonValue::array();
    std::size_t index = 0;
    for (const auto& entry : value.as_array()) {
      if (!entry.is_object() && !entry.is_null()) {
        return fail(unmarshalError(entry, goField, "v1.ManagedFieldsEntry"));
      }
      auto managed = JsonValue::object();
      if (entry.is_object()) {
        for (const auto& [key, child] : entry.as_object()) {
          const std::string field = goField + "." + key;
          if (key == "manager" || key == "operation" || key == "apiVersion" ||
              key == "fieldsType" || key == "subresource") {
            if (!stringField(child, field, managed, key)) return false;
          } else if (key == "time") {
            if (!timeField(child, field, managed, key, false)) return false;
          } else if (key == "fieldsV1") {
            if (!child.is_null()) managed[key] = child;
          } else {
            unknown.push_back(prefix + ".managedFields[" + std::to_string(index) + "]." + key);
          }
        }
      }
      list[index++] = managed;
    }
    if (index > 0) out["managedFields"] = list;
    return true;
  }

  bool finalizers(const JsonValue& value, JsonValue& out) {
    const std::string goField = "ObjectMeta.finalizers";
    if (value.is_null()) return true;
    if (!value.is_array()) return fail(unmarshalError(value, goField, "[]string"));
    for (const auto& entry : value.as_array()) {
      if (!entry.is_string() && !entry.is_null()) {
        return fail(unmarshalError(entry, goField, "string"));
      }
    }
    if (value.size() == 0) return true;
    auto list = JsonValue::array();
    std::size_t index = 0;
    for (const auto& entry : value.as_array()) {
      list[index++] = entry.is_null() ? JsonValue::string("") : entry;
    }
    out["finalizers"] = list;
    return true;
  }

  std::optional<JsonValue> coerce(const JsonValue& metadata) {
    if (!metadata.is_object() && !metadata.is_null()) {
      fail("json: cannot unmarshal " + jsonTypeName(metadata) +
           " into Go value of type v1.ObjectMeta");
      return std::nullopt;
    }
    auto out = JsonValue::object();
    out["creationTimestamp"] = JsonValue::null();
    if (metadata.is_null()) return out;
    for (const auto& [key, value] : metadata.as_object()) {
      const std::string goField = "ObjectMeta." + key;
      bool ok = true;
      if (key == "name" || key == "generateName" || key == "namespace" || key == "selfLink" ||
          key == "uid" || key == "resourceVersion") {
        ok = stringField(value, goField, out, key);
      } else if (key == "generation") {
        ok = int64Field(value, goField, out, key, false);
      } else if (key == "deletionGracePeriodSeconds") {
        ok = int64Field(value, goField, out, key, true);
      } else if (key == "creationTimestamp") {
        ok = timeField(value, goField, out, key, true);
      } else if (key == "deletionTimestamp") {
        ok = timeField(value, goField, out, key, false);
      } else if (key == "labels" || key == "annotations") {
        ok = stringMap(value, goField, out, key);
      } else if (key == "ownerReferences") {
        ok = ownerReferences(value, out);
      } else if (key == "finalizers") {
        ok = finalizers(value, out);
      } else if (key == "managedFields") {
        ok = managedFields(value, out);
      } else {
        unknown.push_back(prefix + "." + key);
      }
      if (!ok) return std::nullopt;
    }
    return out;
  }
};

// schemaobjectmeta.Coerce below the root: embedded resources' metadata.
std::optional<std::string> coerceEmbedded(JsonValue& value, const JsonValue* schema,
                                          const std::string& path, bool root,
                                          std::vector<std::string>& unknown) {
  if (!schema) return std::nullopt;
  if (value.is_object()) {
    if (!root && boolMember(*schema, "x-kubernetes-embedded-resource") &&
        member(value, "metadata")) {
      MetaCoercer coercer{path.empty() ? "metadata" : path + ".metadata", {}, {}};
      auto coerced = coercer.coerce(value["metadata"]);
      if (!coerced) {
        return invalidError(path.empty() ? "metadata" : path + ".metadata", value["metadata"],
                            *coercer.error)
            .message();
      }
      value["metadata"] = *coerced;
      unknown.insert(unknown.end(), coercer.unknown.begin(), coercer.unknown.end());
    }
    for (auto& [key, child] : value.as_object()) {
      if ((root || boolMember(*schema, "x-kubernetes-embedded-resource")) && isMetaField(key)) {
        continue;
      }
      bool found = false;
      const auto* sub = memberSchema(*schema, key, found);
      if (!found) continue;
      const auto* properties = member(*schema, "properties");
      const bool isProperty = properties && member(*properties, key);
      const auto childPath =
          isProperty ? (path.empty() ? key : path + "." + key) : path + "[" + key + "]";
      if (auto error = coerceEmbedded(child, sub, childPath, false, unknown)) return error;
    }
  } else if (value.is_array()) {
    const auto* items = member(*schema, "items");
    std::size_t index = 0;
    for (auto& element : value.as_array()) {
      if (auto error = coerceEmbedded(element, items, path + "[" + std::to_string(index++) + "]",
                                      false, unknown)) {
        return error;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> pruneUnknownFields(web::json::value& object,
                                            const web::json::value& schema, bool isResourceRoot) {
  Pruner pruner;
  pruner.prune(object, schema.is_object() ? &schema : nullptr, "", isResourceRoot);
  std::sort(pruner.pruned.begin(), pruner.pruned.end());
  return pruner.pruned;
}

void pruneNonNullableNulls(web::json::value& object, const web::json::value& schema) {
  if (schema.is_object()) pruneNulls(object, &schema);
}

void applyDefaults(web::json::value& object, const web::json::value& schema) {
  if (schema.is_object()) defaults(object, &schema);
}

std::expected<std::vector<std::string>, std::string> coerceObjectMeta(web::json::value& object,
                                                                      std::string_view parentPath) {
  if (!object.is_object() || !object.has_field("metadata")) return std::vector<std::string>{};
  MetaCoercer coercer{
      parentPath.empty() ? std::string("metadata") : std::string(parentPath) + ".metadata", {}, {}};
  auto coerced = coercer.coerce(object["metadata"]);
  if (!coerced) return std::unexpected(*coercer.error);
  object["metadata"] = *coerced;
  return coercer.unknown;
}

std::expected<DecodedCustomResource, std::string> decodeCustomResource(
    web::json::value body, const web::json::value& schema) {
  if (!body.is_object()) {
    return std::unexpected("json: cannot unmarshal " + jsonTypeName(body) +
                           " into Go value of type map[string]interface {}");
  }
  DecodedCustomResource out;
  auto metaUnknown = coerceObjectMeta(body, "");
  if (!metaUnknown) return std::unexpected(metaUnknown.error());
  out.unknownFields = std::move(*metaUnknown);
  if (schema.is_object()) {
    auto pruned = pruneUnknownFields(body, schema);
    out.unknownFields.insert(out.unknownFields.end(), pruned.begin(), pruned.end());
    pruneNonNullableNulls(body, schema);
    std::vector<std::string> embeddedUnknown;
    if (auto error = coerceEmbedded(body, &schema, "", true, embeddedUnknown)) {
      return std::unexpected(*error);
    }
    out.unknownFields.insert(out.unknownFields.end(), embeddedUnknown.begin(),
                             embeddedUnknown.end());
    applyDefaults(body, schema);
  }
  out.object = std::move(body);
  return out;
}

std::string decodeErrorMessage(std::string_view kind, std::string_view version,
                               std::string_view detail) {
  return std::string(kind) + " in version " + gotext::quote(version) + " cannot be handled as a " +
         std::string(kind) + ": " + std::string(detail);
}

std::string strictDecodingMessage(std::string_view kind, std::string_view version,
                                  const std::vector<std::string>& unknownFields) {
  std::string detail = "strict decoding error: ";
  for (std::size_t i = 0; i < unknownFields.size(); ++i) {
    if (i > 0) detail += ", ";
    detail += "unknown field \"" + unknownFields[i] + "\"";
  }
  return decodeErrorMessage(kind, version, detail);
}

std::vector<std::string> unknownFieldWarnings(const std::vector<std::string>& unknownFields) {
  std::vector<std::string> out;
  for (const auto& field : unknownFields) out.push_back("unknown field \"" + field + "\"");
  return out;
}

}  // namespace billing::apiserver
