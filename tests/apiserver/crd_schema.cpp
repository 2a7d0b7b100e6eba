#include "tests/apiserver/crd_schema.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "common/json.h"
#include "tests/apiserver/crd_pruning.h"
#include "tests/apiserver/crd_validation.h"
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

std::string stringMember(const JsonValue& object, std::string_view key) {
  const auto* value = member(object, key);
  return value && value->is_string() ? value->as_string() : std::string();
}

bool boolMember(const JsonValue& object, std::string_view key) {
  const auto* value = member(object, key);
  return value && value->is_boolean() && value->as_bool();
}

bool has(const JsonValue& object, std::string_view key) {
  const auto* value = member(object, key);
  return value && !value->is_null();
}

std::string child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string keyed(const std::string& path, std::string_view key) {
  return path + "[" + std::string(key) + "]";
}

std::string indexed(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// %#v of a []string.
std::string goStringSlice(const std::vector<std::string>& values) {
  std::string out = "[]string{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += gotext::quote(values[i]);
  }
  return out + "}";
}

std::vector<std::string> stringList(const JsonValue* value) {
  std::vector<std::string> out;
  if (!value || !value->is_array()) return out;
  for (const auto& element : value->as_array()) {
    if (element.is_string()) out.push_back(element.as_string());
  }
  return out;
}

std::vector<std::string> sortedKeys(const JsonValue* object) {
  std::vector<std::string> keys;
  if (!object || !object->is_object()) return keys;
  for (const auto& [key, value] : object->as_object()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

FieldError withValue(FieldErrorType type, std::string field, std::string value,
                     std::string detail) {
  FieldError error;
  error.type = type;
  error.field = std::move(field);
  error.badValue = std::move(value);
  error.detail = std::move(detail);
  return error;
}

void append(FieldErrors& to, const FieldErrors& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// ---- structural schema (apiextensions-apiserver pkg/apiserver/schema/validation.go) ----

enum class Level { Root, Item, Field };

bool isPlainTypeSchema(const JsonValue& schema, std::string_view type) {
  return schema.is_object() && schema.size() == 1 && stringMember(schema, "type") == type;
}

bool isIntOrStringAnyOf(const JsonValue* anyOf) {
  return anyOf && anyOf->is_array() && anyOf->size() == 2 &&
         isPlainTypeSchema(anyOf->at(0), "integer") && isPlainTypeSchema(anyOf->at(1), "string");
}

void nestedValueValidation(const JsonValue* schema, bool skipAnyOf, bool skipAllOfAnyOf,
                           const std::string& path, FieldErrors& errors);

void valueValidation(const JsonValue& schema, bool skipAnyOf, bool skipFirstAllOfAnyOf,
                     const std::string& path, FieldErrors& errors) {
  if (const auto* anyOf = member(schema, "anyOf"); anyOf && anyOf->is_array() && !skipAnyOf) {
    for (std::size_t i = 0; i < anyOf->size(); ++i) {
      nestedValueValidation(&anyOf->at(i), false, false, indexed(child(path, "anyOf"), i), errors);
    }
  }
  if (const auto* allOf = member(schema, "allOf"); allOf && allOf->is_array()) {
    for (std::size_t i = 0; i < allOf->size(); ++i) {
      nestedValueValidation(&allOf->at(i), skipFirstAllOfAnyOf && i == 0, false,
                            indexed(child(path, "allOf"), i), errors);
    }
  }
  if (const auto* oneOf = member(schema, "oneOf"); oneOf && oneOf->is_array()) {
    for (std::size_t i = 0; i < oneOf->size(); ++i) {
      nestedValueValidation(&oneOf->at(i), false, false, indexed(child(path, "oneOf"), i), errors);
    }
  }
  if (const auto* notSchema = member(schema, "not")) {
    nestedValueValidation(notSchema, false, false, child(path, "not"), errors);
  }
  const auto pattern = stringMember(schema, "pattern");
  if (!pattern.empty()) {
    if (auto error = goRegexError(pattern)) {
      errors.push_back(
          invalidStringError(child(path, "pattern"), pattern,
                             "must be a valid regular expression, but isn't: " + *error));
    }
  }
}

void nestedValueValidation(const JsonValue* schema, bool skipAnyOf, bool skipAllOfAnyOf,
                           const std::string& path, FieldErrors& errors) {
  if (!schema || !schema->is_object()) return;
  valueValidation(*schema, skipAnyOf, skipAllOfAnyOf, path, errors);
  if (const auto* items = member(*schema, "items"); items && items->is_object()) {
    nestedValueValidation(items, false, false, child(path, "items"), errors);
  }
  const auto* properties = member(*schema, "properties");
  for (const auto& key : sortedKeys(properties)) {
    nestedValueValidation(member(*properties, key), false, false,
                          keyed(child(path, "properties"), key), errors);
  }
  if (has(*schema, "type")) {
    errors.push_back(forbiddenError(child(path, "type"), "must be empty to be structural"));
  }
  if (has(*schema, "additionalProperties")) {
    errors.push_back(
        forbiddenError(child(path, "additionalProperties"), "must be undefined to be structural"));
  }
  if (has(*schema, "default")) {
    errors.push_back(forbiddenError(child(path, "default"), "must be undefined to be structural"));
  }
  if (!stringMember(*schema, "title").empty()) {
    errors.push_back(forbiddenError(child(path, "title"), "must be empty to be structural"));
  }
  if (!stringMember(*schema, "description").empty()) {
    errors.push_back(forbiddenError(child(path, "description"), "must be empty to be structural"));
  }
  if (boolMember(*schema, "nullable")) {
    errors.push_back(forbiddenError(child(path, "nullable"), "must be false to be structural"));
  }
  for (const char* extension : {"x-kubernetes-preserve-unknown-fields",
                                "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string"}) {
    if (boolMember(*schema, extension)) {
      errors.push_back(forbiddenError(child(path, extension), "must be false to be structural"));
    }
  }
  if (!stringList(member(*schema, "x-kubernetes-list-map-keys")).empty()) {
    errors.push_back(forbiddenError(child(path, "x-kubernetes-list-map-keys"),
                                    "must be empty to be structural"));
  }
  for (const char* extension : {"x-kubernetes-list-type", "x-kubernetes-map-type"}) {
    if (has(*schema, extension)) {
      errors.push_back(
          forbiddenError(child(path, extension), "must be undefined to be structural"));
    }
  }
  if (const auto* rules = member(*schema, "x-kubernetes-validations");
      rules && rules->is_array() && rules->size() > 0) {
    errors.push_back(
        forbiddenError(child(path, "x-kubernetes-validations"), "must be empty to be structural"));
  }
  if (properties && member(*properties, "metadata")) {
    errors.push_back(forbiddenError(keyed(child(path, "properties"), "metadata"),
                                    "must not be specified in a nested context"));
  }
}

void metadataInvariants(const JsonValue& metadata, bool checkMetadata, Level level,
                        const std::string& path, FieldErrors& errors) {
  const auto type = stringMember(metadata, "type");
  if (checkMetadata && type != "object") {
    errors.push_back(invalidStringError(child(path, "type"), type, "must be object"));
  }
  if (level != Level::Root) return;
  // Only `type` and properties limited to name and/or generateName may remain (defaults are
  // reported by the OpenAPI checks).
  bool other = false;
  for (const auto& [key, value] : metadata.as_object()) {
    if (key == "type" || key == "default") continue;
    if (key == "properties" && value.is_object()) {
      const bool name = value.has_field("name");
      const bool generateName = value.has_field("generateName");
      const auto count = value.size();
      if ((name && generateName && count == 2) || ((name || generateName) && count == 1) ||
          count == 0) {
        continue;
      }
    }
    if (value.is_null() || (value.is_boolean() && !value.as_bool()) ||
        (value.is_string() && value.as_string().empty())) {
      continue;
    }
    other = true;
  }
  if (other) {
    errors.push_back(forbiddenError(path,
                                    "must not specify anything other than name and generateName, "
                                    "but metadata is implicitly specified"));
  }
}

void structuralInvariants(const JsonValue* schema, Level level, const std::string& path,
                          FieldErrors& errors) {
  if (!schema || !schema->is_object()) return;
  const auto type = stringMember(*schema, "type");
  const auto* items = member(*schema, "items");
  if (type == "array" && !items) {
    errors.push_back(requiredError(child(path, "items"), "must be specified"));
  }
  if (items && items->is_object()) {
    structuralInvariants(items, Level::Item, child(path, "items"), errors);
  }
  const auto* properties = member(*schema, "properties");
  for (const auto& key : sortedKeys(properties)) {
    structuralInvariants(member(*properties, key), Level::Field,
                         keyed(child(path, "properties"), key), errors);
  }
  const auto* additional = member(*schema, "additionalProperties");
  if (additional && !additional->is_null()) {
    if (level == Level::Root) {
      errors.push_back(
          forbiddenError(child(path, "additionalProperties"), "must not be used at the root"));
    }
    if (additional->is_object()) {
      structuralInvariants(additional, Level::Field, child(path, "additionalProperties"), errors);
    }
  }
  const bool intOrString = boolMember(*schema, "x-kubernetes-int-or-string");
  const bool preserve = boolMember(*schema, "x-kubernetes-preserve-unknown-fields");
  const bool embedded = boolMember(*schema, "x-kubernetes-embedded-resource");
  if (intOrString && preserve) {
    errors.push_back(invalidError(child(path, "x-kubernetes-preserve-unknown-fields"),
                                  JsonValue::boolean(true),
                                  "must be false if x-kubernetes-int-or-string is true"));
  }
  if (intOrString && embedded) {
    errors.push_back(invalidError(child(path, "x-kubernetes-embedded-resource"),
                                  JsonValue::boolean(true),
                                  "must be false if x-kubernetes-int-or-string is true"));
  }
  const bool skipAnyOf = isIntOrStringAnyOf(member(*schema, "anyOf"));
  const auto* allOf = member(*schema, "allOf");
  const bool skipFirstAllOfAnyOf = allOf && allOf->is_array() && allOf->size() >= 1 &&
                                   isIntOrStringAnyOf(member(allOf->at(0), "anyOf"));
  valueValidation(*schema, skipAnyOf, skipFirstAllOfAnyOf, path, errors);

  const bool checkMetadata = level == Level::Root || embedded;
  if (embedded && type != "object") {
    if (type.empty()) {
      errors.push_back(requiredError(child(path, "type"),
                                     "must be object if x-kubernetes-embedded-resource is true"));
    } else {
      errors.push_back(invalidStringError(
          child(path, "type"), type, "must be object if x-kubernetes-embedded-resource is true"));
    }
  } else if (type.empty() && !intOrString && !preserve) {
    switch (level) {
      case Level::Root:
        errors.push_back(requiredError(child(path, "type"), "must not be empty at the root"));
        break;
      case Level::Item:
        errors.push_back(
            requiredError(child(path, "type"), "must not be empty for specified array items"));
        break;
      case Level::Field:
        errors.push_back(
            requiredError(child(path, "type"), "must not be empty for specified object fields"));
        break;
    }
  }
  if (embedded && additional && !additional->is_null()) {
    errors.push_back(forbiddenError(child(path, "additionalProperties"),
                                    "must not be used if x-kubernetes-embedded-resource is set"));
  }
  if (level == Level::Root && !type.empty() && type != "object") {
    errors.push_back(invalidStringError(child(path, "type"), type, "must be object at the root"));
  }
  if (checkMetadata && properties) {
    for (const char* name : {"kind", "apiVersion"}) {
      if (const auto* property = member(*properties, name)) {
        const auto propertyType = stringMember(*property, "type");
        if (propertyType != "string") {
          errors.push_back(invalidStringError(child(keyed(child(path, "properties"), name), "type"),
                                              propertyType, "must be string"));
        }
      }
    }
  }
  if (const auto* metadata = properties ? member(*properties, "metadata") : nullptr;
      metadata && metadata->is_object()) {
    metadataInvariants(*metadata, checkMetadata, level,
                       keyed(child(path, "properties"), "metadata"), errors);
  }
  if (embedded && !preserve &&
      (!properties || !properties->is_object() || properties->size() == 0)) {
    errors.push_back(requiredError(child(path, "properties"),
                                   "must not be empty if x-kubernetes-embedded-resource is true "
                                   "without x-kubernetes-preserve-unknown-fields"));
  }
}

void nestedCompleteness(const JsonValue* value, const JsonValue* structural,
                        const std::string& sPath, const std::string& vPath, FieldErrors& errors);

void valueCompleteness(const JsonValue& value, const JsonValue* structural,
                       const std::string& sPath, const std::string& vPath, FieldErrors& errors) {
  if (const auto* notSchema = member(value, "not")) {
    nestedCompleteness(notSchema, structural, sPath, child(vPath, "not"), errors);
  }
  for (const char* junctor : {"allOf", "anyOf", "oneOf"}) {
    if (const auto* list = member(value, junctor); list && list->is_array()) {
      for (std::size_t i = 0; i < list->size(); ++i) {
        nestedCompleteness(&list->at(i), structural, sPath, indexed(child(vPath, junctor), i),
                           errors);
      }
    }
  }
}

void nestedCompleteness(const JsonValue* value, const JsonValue* structural,
                        const std::string& sPath, const std::string& vPath, FieldErrors& errors) {
  if (!value || !value->is_object()) return;
  valueCompleteness(*value, structural, sPath, vPath, errors);
  if (const auto* items = member(*value, "items"); items && items->is_object()) {
    const auto* sItems = structural ? member(*structural, "items") : nullptr;
    if (!sItems) {
      errors.push_back(requiredError(child(sPath, "items"),
                                     "because it is defined in " + child(vPath, "items")));
    } else {
      nestedCompleteness(items, sItems, child(sPath, "items"), child(vPath, "items"), errors);
    }
  }
  const auto* properties = member(*value, "properties");
  const auto* sProperties = structural ? member(*structural, "properties") : nullptr;
  for (const auto& key : sortedKeys(properties)) {
    const auto* sProperty = sProperties ? member(*sProperties, key) : nullptr;
    if (!sProperty) {
      errors.push_back(
          requiredError(keyed(child(sPath, "properties"), key),
                        "because it is defined in " + keyed(child(vPath, "properties"), key)));
    } else {
      nestedCompleteness(member(*properties, key), sProperty,
                         keyed(child(sPath, "properties"), key),
                         keyed(child(vPath, "properties"), key), errors);
    }
  }
}

FieldErrors validateStructural(const JsonValue& schema, const std::string& path) {
  FieldErrors errors;
  structuralInvariants(&schema, Level::Root, path, errors);
  valueCompleteness(schema, &schema, path, path, errors);
  std::stable_sort(errors.begin(), errors.end(),
                   [](const FieldError& left, const FieldError& right) {
                     return left.message() < right.message();
                   });
  return errors;
}

// ---- defaults (pkg/apiserver/schema/defaulting/validation.go) ----

void validateDefaults(const JsonValue& schema, const std::string& path, bool embeddedRoot,
                      FieldErrors& errors) {
  if (!schema.is_object()) return;
  const bool embedded = embeddedRoot || boolMember(schema, "x-kubernetes-embedded-resource");
  if (const auto* defaultValue = member(schema, "default");
      defaultValue && !defaultValue->is_null()) {
    const auto defaultPath = child(path, "default");
    auto pruned = *defaultValue;
    pruneUnknownFields(pruned, schema, embedded);
    if (!common::jsonEqual(pruned, *defaultValue)) {
      errors.push_back(invalidError(defaultPath, *defaultValue, "must not have unknown fields"));
    }
    append(errors, validateAgainstSchema(*defaultValue, schema, SchemaErrorBase{defaultPath}));
  }
  if (const auto* items = member(schema, "items"); items && items->is_object()) {
    validateDefaults(*items, child(path, "items"), false, errors);
  }
  const auto* properties = member(schema, "properties");
  for (const auto& key : sortedKeys(properties)) {
    validateDefaults(*member(*properties, key), keyed(child(path, "properties"), key), false,
                     errors);
  }
}

// ---- OpenAPI schema checks (ValidateCustomResourceDefinitionOpenAPISchema) ----

struct SchemaRules {
  bool allowDefaults = true;
  std::string disallowDefaultsReason;
  bool insideResourceMeta = false;
};

void mapListKeysMapSet(const JsonValue& schema, const std::string& path, FieldErrors& errors) {
  const auto* items = member(schema, "items");
  if (!items || !items->is_object()) return;
  const auto listType = stringMember(schema, "x-kubernetes-list-type");
  if (listType != "set" && listType != "map") return;
  if (boolMember(*items, "nullable")) {
    errors.push_back(
        forbiddenError(child(child(path, "items"), "nullable"),
                       "cannot be nullable when x-kubernetes-list-type is " + listType));
  }
  if (listType != "map") return;
  const auto required = stringList(member(*items, "required"));
  const auto* properties = member(*items, "properties");
  for (const auto& key : stringList(member(schema, "x-kubernetes-list-map-keys"))) {
    const auto* property = properties ? member(*properties, key) : nullptr;
    if (!property) continue;
    const auto propertyPath = keyed(child(child(path, "items"), "properties"), key);
    if (std::find(required.begin(), required.end(), key) == required.end() &&
        !has(*property, "default")) {
      errors.push_back(requiredError(child(propertyPath, "default"),
                                     "this property is in x-kubernetes-list-map-keys, so it must "
                                     "have a default or be a required property"));
    }
    if (boolMember(*property, "nullable")) {
      errors.push_back(forbiddenError(
          child(propertyPath, "nullable"),
          "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"));
    }
  }
}

void openApiSchema(const JsonValue* schemaPointer, const std::string& path,
                   const SchemaRules& rules, bool isRoot, FieldErrors& errors) {
  if (!schemaPointer || !schemaPointer->is_object()) return;
  const auto& schema = *schemaPointer;
  const auto type = stringMember(schema, "type");
  static const std::vector<std::string> kTypes = {"array",  "boolean", "integer",
                                                  "number", "object",  "string"};
  if (!type.empty() && std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
    errors.push_back(notSupportedStringError(child(path, "type"), type, kTypes));
  }
  if (has(schema, "default") && !rules.allowDefaults) {
    std::string detail = "must not be set";
    if (!rules.disallowDefaultsReason.empty()) detail += " " + rules.disallowDefaultsReason;
    errors.push_back(forbiddenError(child(path, "default"), detail));
  }
  if (!stringMember(schema, "id").empty()) {
    errors.push_back(forbiddenError(child(path, "id"), "id is not supported"));
  }
  for (const char* unsupported :
       {"additionalItems", "patternProperties", "definitions", "dependencies"}) {
    const auto* value = member(schema, unsupported);
    if (value && !value->is_null() && !(value->is_object() && value->size() == 0)) {
      errors.push_back(
          forbiddenError(child(path, unsupported), std::string(unsupported) + " is not supported"));
    }
  }
  if (has(schema, "$ref")) {
    errors.push_back(forbiddenError(child(path, "$ref"), "$ref is not supported"));
  }
  if (type == "null") {
    errors.push_back(forbiddenError(child(path, "type"),
                                    "type cannot be set to null, use nullable as an alternative"));
  }
  const auto* items = member(schema, "items");
  if (items && items->is_array()) {
    errors.push_back(
        forbiddenError(child(path, "items"), "items must be a schema object and not an array"));
  }
  if (rules.insideResourceMeta && boolMember(schema, "x-kubernetes-embedded-resource")) {
    errors.push_back(forbiddenError(child(path, "x-kubernetes-embedded-resource"),
                                    "must not be used inside of resource meta"));
  }
  if (boolMember(schema, "uniqueItems")) {
    errors.push_back(forbiddenError(
        child(path, "uniqueItems"),
        "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"));
  }
  const auto* properties = member(schema, "properties");
  const bool hasProperties = properties && properties->is_object() && properties->size() > 0;
  const bool embedded = boolMember(schema, "x-kubernetes-embedded-resource");
  if (const auto* additional = member(schema, "additionalProperties");
      additional && !additional->is_null()) {
    if (hasProperties &&
        (additional->is_object() || (additional->is_boolean() && !additional->as_bool()))) {
      errors.push_back(forbiddenError(child(path, "additionalProperties"),
                                      "additionalProperties and properties are mutual exclusive"));
    }
    SchemaRules sub = rules;
    if (rules.insideResourceMeta) {
      sub.allowDefaults = false;
      sub.disallowDefaultsReason = "inside additionalProperties applying to object metadata";
    }
    openApiSchema(additional->is_object() ? additional : nullptr,
                  child(path, "additionalProperties"), sub, false, errors);
  }
  for (const auto& key : sortedKeys(properties)) {
    SchemaRules sub = rules;
    if ((isRoot || embedded) && (key == "metadata" || key == "kind" || key == "apiVersion")) {
      sub.insideResourceMeta = true;
      if (isRoot) {
        sub.allowDefaults = false;
        sub.disallowDefaultsReason = "in top-level " + key;
      }
    }
    openApiSchema(member(*properties, key), keyed(child(path, "properties"), key), sub, false,
                  errors);
  }
  openApiSchema(member(schema, "not"), child(path, "not"), rules, false, errors);
  for (const char* junctor : {"allOf", "oneOf", "anyOf"}) {
    if (const auto* list = member(schema, junctor); list && list->is_array()) {
      for (std::size_t i = 0; i < list->size(); ++i) {
        openApiSchema(&list->at(i), indexed(child(path, junctor), i), rules, false, errors);
      }
    }
  }
  if (items && items->is_object()) {
    openApiSchema(items, child(path, "items"), rules, false, errors);
  } else if (items && items->is_array()) {
    for (std::size_t i = 0; i < items->size(); ++i) {
      openApiSchema(&items->at(i), indexed(child(path, "items"), i), rules, false, errors);
    }
  }
  if (const auto* preserve = member(schema, "x-kubernetes-preserve-unknown-fields");
      preserve && preserve->is_boolean() && !preserve->as_bool()) {
    errors.push_back(invalidError(child(path, "x-kubernetes-preserve-unknown-fields"), *preserve,
                                  "must be true or undefined"));
  }
  const auto mapType = stringMember(schema, "x-kubernetes-map-type");
  if (has(schema, "x-kubernetes-map-type") && type != "object") {
    if (type.empty()) {
      errors.push_back(requiredError(child(path, "type"),
                                     "must be object if x-kubernetes-map-type is specified"));
    } else {
      errors.push_back(invalidStringError(child(path, "type"), type,
                                          "must be object if x-kubernetes-map-type is specified"));
    }
  }
  if (has(schema, "x-kubernetes-map-type") && mapType != "atomic" && mapType != "granular") {
    errors.push_back(notSupportedStringError(child(path, "x-kubernetes-map-type"), mapType,
                                             {"atomic", "granular"}));
  }
  const bool hasListType = has(schema, "x-kubernetes-list-type");
  const auto listType = stringMember(schema, "x-kubernetes-list-type");
  if (hasListType && type != "array") {
    if (type.empty()) {
      errors.push_back(requiredError(child(path, "type"),
                                     "must be array if x-kubernetes-list-type is specified"));
    } else {
      errors.push_back(invalidStringError(child(path, "type"), type,
                                          "must be array if x-kubernetes-list-type is specified"));
    }
  } else if (listType == "set" && items && items->is_object()) {
    const auto itemsType = stringMember(*items, "type");
    if (itemsType == "array" && has(*items, "x-kubernetes-list-type") &&
        stringMember(*items, "x-kubernetes-list-type") != "atomic") {
      errors.push_back(invalidStringError(child(child(path, "items"), "x-kubernetes-list-type"),
                                          stringMember(*items, "x-kubernetes-list-type"),
                                          "must be atomic as item of a list with "
                                          "x-kubernetes-list-type=set"));
    } else if (itemsType == "object" && stringMember(*items, "x-kubernetes-map-type") != "atomic") {
      // kube reports the items' list type here (usually unset: "null").
      const auto* itemsListType = member(*items, "x-kubernetes-list-type");
      errors.push_back(withValue(
          FieldErrorType::Invalid, child(child(path, "items"), "x-kubernetes-map-type"),
          itemsListType && itemsListType->is_string() ? gotext::quote(itemsListType->as_string())
                                                      : std::string("\"null\""),
          "must be atomic as item of a list with x-kubernetes-list-type=set"));
    }
  }
  if (hasListType && listType != "atomic" && listType != "set" && listType != "map") {
    errors.push_back(notSupportedStringError(child(path, "x-kubernetes-list-type"), listType,
                                             {"atomic", "set", "map"}));
  }
  const auto mapKeys = stringList(member(schema, "x-kubernetes-list-map-keys"));
  if (!mapKeys.empty()) {
    if (!hasListType) {
      errors.push_back(requiredError(child(path, "x-kubernetes-list-type"),
                                     "must be map if x-kubernetes-list-map-keys is non-empty"));
    } else if (listType != "map") {
      errors.push_back(
          invalidStringError(child(path, "x-kubernetes-list-type"), listType,
                             "must be map if x-kubernetes-list-map-keys is non-empty"));
    }
  }
  if (listType == "map") {
    if (mapKeys.empty()) {
      errors.push_back(requiredError(child(path, "x-kubernetes-list-map-keys"),
                                     "must not be empty if x-kubernetes-list-type is map"));
    }
    if (!items) {
      errors.push_back(requiredError(child(path, "items"),
                                     "must have a schema if x-kubernetes-list-type is map"));
    } else if (items->is_array()) {
      errors.push_back(invalidError(child(path, "items"), *items,
                                    "must only have a single schema if x-kubernetes-list-type is "
                                    "map"));
    } else if (items->is_object()) {
      const auto itemsType = stringMember(*items, "type");
      if (itemsType != "object") {
        errors.push_back(invalidStringError(child(child(path, "items"), "type"), itemsType,
                                            "must be object if parent array's "
                                            "x-kubernetes-list-type is map"));
      } else {
        const auto* itemProperties = member(*items, "properties");
        std::set<std::string> seen;
        for (const auto& key : mapKeys) {
          if (const auto* property = itemProperties ? member(*itemProperties, key) : nullptr) {
            const auto propertyType = stringMember(*property, "type");
            if (propertyType == "array" || propertyType == "object") {
              errors.push_back(invalidStringError(
                  child(keyed(child(child(path, "items"), "properties"), key), "type"), itemsType,
                  "must be a scalar type if parent array's x-kubernetes-list-type is map"));
            }
          } else {
            errors.push_back(
                withValue(FieldErrorType::Invalid, child(path, "x-kubernetes-list-map-keys"),
                          goStringSlice(mapKeys), "entries must all be names of item properties"));
          }
          if (!seen.insert(key).second) {
            errors.push_back(
                withValue(FieldErrorType::Invalid, child(path, "x-kubernetes-list-map-keys"),
                          goStringSlice(mapKeys), "must not contain duplicate entries"));
          }
        }
      }
    }
  }
  mapListKeysMapSet(schema, path, errors);
  if (const auto* rulesList = member(schema, "x-kubernetes-validations");
      rulesList && rulesList->is_array()) {
    for (std::size_t i = 0; i < rulesList->size(); ++i) {
      auto rule = stringMember(rulesList->at(i), "rule");
      const auto first = rule.find_first_not_of(" \t\r\n");
      if (first == std::string::npos) {
        errors.push_back(
            requiredError(child(indexed(child(path, "x-kubernetes-validations"), i), "rule"),
                          "rule is not specified"));
      }
    }
  }
}

// The JSONSchemaProps fields allowed at the root when the status subresource is enabled, and
// the order kube checks fields in.
const std::vector<std::pair<std::string, bool>>& rootFieldOrder() {
  static const std::vector<std::pair<std::string, bool>> kOrder = {
      {"id", false},
      {"$schema", false},
      {"$ref", false},
      {"description", true},
      {"type", true},
      {"nullable", false},
      {"format", true},
      {"title", true},
      {"default", false},
      {"maximum", true},
      {"exclusiveMaximum", true},
      {"minimum", true},
      {"exclusiveMinimum", true},
      {"maxLength", true},
      {"minLength", true},
      {"pattern", true},
      {"maxItems", true},
      {"minItems", true},
      {"uniqueItems", true},
      {"multipleOf", true},
      {"enum", false},
      {"maxProperties", false},
      {"minProperties", false},
      {"required", true},
      {"items", true},
      {"allOf", false},
      {"oneOf", false},
      {"anyOf", false},
      {"not", false},
      {"properties", true},
      {"additionalProperties", false},
      {"patternProperties", false},
      {"dependencies", false},
      {"additionalItems", false},
      {"definitions", false},
      {"externalDocs", true},
      {"example", true},
      {"x-kubernetes-preserve-unknown-fields", true},
      {"x-kubernetes-embedded-resource", false},
      {"x-kubernetes-int-or-string", false},
      {"x-kubernetes-list-map-keys", false},
      {"x-kubernetes-list-type", false},
      {"x-kubernetes-map-type", false},
      {"x-kubernetes-validations", true},
  };
  return kOrder;
}

bool isZero(const JsonValue& value) {
  switch (value.type()) {
    case JsonValue::Null:
      return true;
    case JsonValue::Boolean:
      return !value.as_bool();
    case JsonValue::String:
      return value.as_string().empty();
    case JsonValue::Array:
    case JsonValue::Object:
      return value.size() == 0;
    default:
      return false;
  }
}

// ---- printer columns, subresources, names ----

FieldErrors validateColumn(const JsonValue& column, const std::string& path) {
  FieldErrors errors;
  if (stringMember(column, "name").empty()) errors.push_back(requiredError(child(path, "name")));
  const auto type = stringMember(column, "type");
  static const std::set<std::string> kTypes = {"boolean", "date", "integer", "number", "string"};
  const std::string typesText = "must be one of boolean,date,integer,number,string";
  if (type.empty()) {
    errors.push_back(requiredError(child(path, "type"), typesText));
  } else if (!kTypes.contains(type)) {
    errors.push_back(invalidStringError(child(path, "type"), type, typesText));
  }
  const auto format = stringMember(column, "format");
  static const std::set<std::string> kFormats = {"byte",  "date",  "date-time", "double",
                                                 "float", "int32", "int64",     "password"};
  if (!format.empty() && !kFormats.contains(format)) {
    errors.push_back(
        invalidStringError(child(path, "format"), format,
                           "must be one of byte,date,date-time,double,float,int32,int64,password"));
  }
  const auto jsonPath = stringMember(column, "jsonPath");
  if (jsonPath.empty()) {
    errors.push_back(requiredError(child(path, "JSONPath")));
  } else if (jsonPath[0] != '.') {
    errors.push_back(invalidStringError(child(path, "JSONPath"), jsonPath,
                                        "must be a simple json path starting with ."));
  }
  return errors;
}

void simpleJsonPath(const std::string& value, const std::string& path, FieldErrors& errors) {
  if (value.empty()) {
    errors.push_back(invalidStringError(path, value, "must not be empty"));
  } else if (value[0] != '.') {
    errors.push_back(invalidStringError(path, value, "must be a simple json path starting with ."));
  }
}

FieldErrors validateSubresources(const JsonValue* subresources, const std::string& path) {
  FieldErrors errors;
  const auto* scale = subresources ? member(*subresources, "scale") : nullptr;
  if (!scale || !scale->is_object()) return errors;
  const auto spec = stringMember(*scale, "specReplicasPath");
  if (spec.empty()) {
    errors.push_back(requiredError(child(path, "scale.specReplicasPath")));
  } else {
    const auto before = errors.size();
    simpleJsonPath(spec, child(path, "scale.specReplicasPath"), errors);
    if (errors.size() == before && !spec.starts_with(".spec.")) {
      errors.push_back(invalidStringError(child(path, "scale.specReplicasPath"), spec,
                                          "should be a json path under .spec"));
    }
  }
  const auto status = stringMember(*scale, "statusReplicasPath");
  if (status.empty()) {
    errors.push_back(requiredError(child(path, "scale.statusReplicasPath")));
  } else {
    const auto before = errors.size();
    simpleJsonPath(status, child(path, "scale.statusReplicasPath"), errors);
    if (errors.size() == before && !status.starts_with(".status.")) {
      errors.push_back(invalidStringError(child(path, "scale.statusReplicasPath"), status,
                                          "should be a json path under .status"));
    }
  }
  const auto selector = stringMember(*scale, "labelSelectorPath");
  if (!selector.empty()) {
    const auto before = errors.size();
    simpleJsonPath(selector, child(path, "scale.labelSelectorPath"), errors);
    if (errors.size() == before && !selector.starts_with(".spec.") &&
        !selector.starts_with(".status.")) {
      errors.push_back(invalidStringError(child(path, "scale.labelSelectorPath"), selector,
                                          "should be a json path under either .spec or .status"));
    }
  }
  return errors;
}

FieldErrors validateNames(const JsonValue& names, const std::string& path) {
  FieldErrors errors;
  auto lower = [](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
  };
  for (const char* field : {"plural", "singular"}) {
    const auto value = stringMember(names, field);
    if (auto problems = dns1035LabelErrors(value); !value.empty() && !problems.empty()) {
      errors.push_back(invalidStringError(child(path, field), value, join(problems, ",")));
    }
  }
  for (const char* field : {"kind", "listKind"}) {
    const auto value = stringMember(names, field);
    if (auto problems = dns1035LabelErrors(lower(value)); !value.empty() && !problems.empty()) {
      errors.push_back(invalidStringError(
          child(path, field), value,
          "may have mixed case, but should otherwise match: " + join(problems, ",")));
    }
  }
  const auto shortNames = stringList(member(names, "shortNames"));
  for (std::size_t i = 0; i < shortNames.size(); ++i) {
    if (auto problems = dns1035LabelErrors(shortNames[i]); !problems.empty()) {
      errors.push_back(invalidStringError(indexed(child(path, "shortNames"), i), shortNames[i],
                                          join(problems, ",")));
    }
  }
  const auto kind = stringMember(names, "kind");
  if (!kind.empty() && kind == stringMember(names, "listKind")) {
    errors.push_back(
        invalidStringError(child(path, "listKind"), kind, "kind and listKind may not be the same"));
  }
  const auto categories = stringList(member(names, "categories"));
  for (std::size_t i = 0; i < categories.size(); ++i) {
    if (auto problems = dns1035LabelErrors(categories[i]); !problems.empty()) {
      errors.push_back(invalidStringError(indexed(child(path, "categories"), i), categories[i],
                                          join(problems, ",")));
    }
  }
  return errors;
}

// %#v of the internal versions slice as kube prints it in "spec.versions" errors. Pointers kube
// prints as addresses are shown as (0xc000000000): those values never compare equal anyway.
std::string goVersionsValue(const std::vector<JsonValue>& versions, bool schemaHoisted,
                            bool subresourcesHoisted, bool columnsHoisted) {
  if (versions.empty()) return "[]apiextensions.CustomResourceDefinitionVersion(nil)";
  std::string out = "[]apiextensions.CustomResourceDefinitionVersion{";
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const auto& version = versions[i];
    if (i > 0) out += ", ";
    out += "apiextensions.CustomResourceDefinitionVersion{Name:" +
           gotext::quote(stringMember(version, "name")) +
           ", Served:" + (boolMember(version, "served") ? "true" : "false") +
           ", Storage:" + (boolMember(version, "storage") ? "true" : "false") +
           ", Deprecated:" + (boolMember(version, "deprecated") ? "true" : "false") +
           ", DeprecationWarning:" +
           (has(version, "deprecationWarning") ? "(*string)(0xc000000000)" : "(*string)(nil)") +
           ", Schema:" +
           (!schemaHoisted && has(version, "schema")
                ? "(*apiextensions.CustomResourceValidation)(0xc000000000)"
                : "(*apiextensions.CustomResourceValidation)(nil)") +
           ", Subresources:" +
           (!subresourcesHoisted && has(version, "subresources")
                ? "(*apiextensions.CustomResourceSubresources)(0xc000000000)"
                : "(*apiextensions.CustomResourceSubresources)(nil)") +
           ", AdditionalPrinterColumns:" +
           (!columnsHoisted && has(version, "additionalPrinterColumns")
                ? "[]apiextensions.CustomResourceColumnDefinition{...}"
                : "[]apiextensions.CustomResourceColumnDefinition(nil)") +
           ", SelectableFields:[]apiextensions.SelectableField(nil)}";
  }
  return out + "}";
}

bool allEqual(const std::vector<JsonValue>& versions, std::string_view key) {
  const JsonValue null = JsonValue::null();
  for (const auto& version : versions) {
    const auto* first = member(versions.front(), key);
    const auto* current = member(version, key);
    if (!common::jsonEqual(first ? *first : null, current ? *current : null)) return false;
  }
  return true;
}

bool statusIn(const JsonValue* subresources) {
  return subresources && subresources->is_object() && has(*subresources, "status");
}

// ---- decoding (Go encoding/json type errors) ----

struct Decoder {
  std::optional<std::string> error;

  bool expect(const JsonValue* value, JsonValue::value_type type, const std::string& goStruct,
              const std::string& path, const std::string& goType) {
    if (error || !value || value->is_null() || value->type() == type) return !error;
    std::string jsonType;
    switch (value->type()) {
      case JsonValue::Boolean:
        jsonType = "bool";
        break;
      case JsonValue::Number:
        jsonType = "number";
        break;
      case JsonValue::String:
        jsonType = "string";
        break;
      case JsonValue::Array:
        jsonType = "array";
        break;
      default:
        jsonType = "object";
    }
    error = "json: cannot unmarshal " + jsonType + " into Go struct field " + goStruct + "." +
            path + " of type " + goType;
    return false;
  }

  void schemaNode(const JsonValue& schema, const std::string& path) {
    if (error) return;
    const std::string s = "JSONSchemaProps";
    for (const char* field : {"type", "format", "description", "title", "pattern", "id",
                              "x-kubernetes-list-type", "x-kubernetes-map-type"}) {
      expect(member(schema, field), JsonValue::String, s, path + "." + field, "string");
    }
    for (const char* field : {"nullable", "uniqueItems", "exclusiveMaximum", "exclusiveMinimum",
                              "x-kubernetes-preserve-unknown-fields",
                              "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string"}) {
      expect(member(schema, field), JsonValue::Boolean, s, path + "." + field, "bool");
    }
    for (const char* field :
         {"maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"}) {
      expect(member(schema, field), JsonValue::Number, s, path + "." + field, "int64");
    }
    for (const char* field : {"maximum", "minimum", "multipleOf"}) {
      expect(member(schema, field), JsonValue::Number, s, path + "." + field, "float64");
    }
    for (const char* field : {"required", "x-kubernetes-list-map-keys"}) {
      const auto* value = member(schema, field);
      if (expect(value, JsonValue::Array, s, path + "." + field, "[]string") && value &&
          value->is_array()) {
        for (const auto& entry : value->as_array()) {
          expect(&entry, JsonValue::String, s, path + "." + field, "string");
        }
      }
    }
    expect(member(schema, "enum"), JsonValue::Array, s, path + ".enum", "[]v1.JSON");
    const auto* properties = member(schema, "properties");
    if (expect(properties, JsonValue::Object, s, path + ".properties",
               "map[string]v1.JSONSchemaProps") &&
        properties && properties->is_object()) {
      for (const auto& [key, property] : properties->as_object()) {
        if (expect(&property, JsonValue::Object, s, path + ".properties", "v1.JSONSchemaProps")) {
          schemaNode(property, path + ".properties");
        }
      }
    }
    for (const char* junctor : {"allOf", "oneOf", "anyOf"}) {
      const auto* list = member(schema, junctor);
      if (expect(list, JsonValue::Array, s, path + "." + junctor, "[]v1.JSONSchemaProps") && list &&
          list->is_array()) {
        for (const auto& entry : list->as_array()) {
          if (expect(&entry, JsonValue::Object, s, path + "." + junctor, "v1.JSONSchemaProps")) {
            schemaNode(entry, path + "." + junctor);
          }
        }
      }
    }
    if (const auto* notSchema = member(schema, "not"); notSchema && !notSchema->is_null()) {
      if (expect(notSchema, JsonValue::Object, s, path + ".not", "v1.JSONSchemaProps")) {
        schemaNode(*notSchema, path + ".not");
      }
    }
    if (const auto* items = member(schema, "items"); items && items->is_object()) {
      schemaNode(*items, path + ".items");
    } else if (items && !items->is_array() && !items->is_null()) {
      error = "json: cannot unmarshal into Go struct field " + s + "." + path +
              ".items of type v1.JSONSchemaPropsOrArray";
    }
    if (const auto* additional = member(schema, "additionalProperties");
        additional && additional->is_object()) {
      schemaNode(*additional, path + ".additionalProperties");
    } else if (additional && !additional->is_boolean() && !additional->is_null()) {
      error = "json: cannot unmarshal into Go struct field " + s + "." + path +
              ".additionalProperties of type v1.JSONSchemaPropsOrBool";
    }
  }

  void crd(const JsonValue& object) {
    const std::string top = "CustomResourceDefinition";
    expect(member(object, "metadata"), JsonValue::Object, top, "metadata", "v1.ObjectMeta");
    const auto* spec = member(object, "spec");
    if (!expect(spec, JsonValue::Object, top, "spec", "v1.CustomResourceDefinitionSpec") || !spec ||
        !spec->is_object()) {
      return;
    }
    const std::string specStruct = "CustomResourceDefinitionSpec";
    expect(member(*spec, "group"), JsonValue::String, specStruct, "spec.group", "string");
    expect(member(*spec, "scope"), JsonValue::String, specStruct, "spec.scope", "v1.ResourceScope");
    expect(member(*spec, "preserveUnknownFields"), JsonValue::Boolean, specStruct,
           "spec.preserveUnknownFields", "bool");
    const auto* names = member(*spec, "names");
    if (expect(names, JsonValue::Object, specStruct, "spec.names",
               "v1.CustomResourceDefinitionNames") &&
        names && names->is_object()) {
      const std::string namesStruct = "CustomResourceDefinitionNames";
      for (const char* field : {"plural", "singular", "kind", "listKind"}) {
        expect(member(*names, field), JsonValue::String, namesStruct,
               std::string("spec.names.") + field, "string");
      }
      for (const char* field : {"shortNames", "categories"}) {
        const auto* list = member(*names, field);
        if (expect(list, JsonValue::Array, namesStruct, std::string("spec.names.") + field,
                   "[]string") &&
            list && list->is_array()) {
          for (const auto& entry : list->as_array()) {
            expect(&entry, JsonValue::String, namesStruct, std::string("spec.names.") + field,
                   "string");
          }
        }
      }
    }
    const auto* versions = member(*spec, "versions");
    if (!expect(versions, JsonValue::Array, specStruct, "spec.versions",
                "[]v1.CustomResourceDefinitionVersion") ||
        !versions || !versions->is_array()) {
      return;
    }
    const std::string versionStruct = "CustomResourceDefinitionVersion";
    for (const auto& version : versions->as_array()) {
      if (!expect(&version, JsonValue::Object, specStruct, "spec.versions",
                  "v1.CustomResourceDefinitionVersion")) {
        return;
      }
      expect(member(version, "name"), JsonValue::String, versionStruct, "spec.versions.name",
             "string");
      for (const char* field : {"served", "storage", "deprecated"}) {
        expect(member(version, field), JsonValue::Boolean, versionStruct,
               std::string("spec.versions.") + field, "bool");
      }
      expect(member(version, "deprecationWarning"), JsonValue::String, versionStruct,
             "spec.versions.deprecationWarning", "string");
      expect(member(version, "subresources"), JsonValue::Object, versionStruct,
             "spec.versions.subresources", "v1.CustomResourceSubresources");
      const auto* columns = member(version, "additionalPrinterColumns");
      if (expect(columns, JsonValue::Array, versionStruct, "spec.versions.additionalPrinterColumns",
                 "[]v1.CustomResourceColumnDefinition") &&
          columns && columns->is_array()) {
        const std::string columnStruct = "CustomResourceColumnDefinition";
        for (const auto& column : columns->as_array()) {
          if (!expect(&column, JsonValue::Object, versionStruct,
                      "spec.versions.additionalPrinterColumns",
                      "v1.CustomResourceColumnDefinition")) {
            return;
          }
          for (const char* field : {"name", "type", "format", "description", "jsonPath"}) {
            expect(member(column, field), JsonValue::String, columnStruct,
                   std::string("spec.versions.additionalPrinterColumns.") + field, "string");
          }
          expect(member(column, "priority"), JsonValue::Number, columnStruct,
                 "spec.versions.additionalPrinterColumns.priority", "int32");
        }
      }
      const auto* schema = member(version, "schema");
      if (expect(schema, JsonValue::Object, versionStruct, "spec.versions.schema",
                 "v1.CustomResourceValidation") &&
          schema && schema->is_object()) {
        const auto* root = member(*schema, "openAPIV3Schema");
        if (expect(root, JsonValue::Object, "CustomResourceValidation",
                   "spec.versions.schema.openAPIV3Schema", "v1.JSONSchemaProps") &&
            root && root->is_object()) {
          schemaNode(*root, "spec.versions.schema.openAPIV3Schema");
        }
      }
    }
  }
};

std::vector<JsonValue> versionList(const JsonValue& spec) {
  std::vector<JsonValue> out;
  if (const auto* versions = member(spec, "versions"); versions && versions->is_array()) {
    for (const auto& version : versions->as_array()) out.push_back(version);
  }
  return out;
}

std::vector<CrdPrinterColumn> parseColumns(const JsonValue* columns) {
  std::vector<CrdPrinterColumn> out;
  if (!columns || !columns->is_array()) return out;
  for (const auto& column : columns->as_array()) {
    CrdPrinterColumn parsed;
    parsed.name = stringMember(column, "name");
    parsed.type = stringMember(column, "type");
    parsed.format = stringMember(column, "format");
    parsed.description = stringMember(column, "description");
    parsed.jsonPath = stringMember(column, "jsonPath");
    if (const auto* priority = member(column, "priority"); priority && priority->is_number()) {
      parsed.priority = static_cast<long long>(priority->as_double());
    }
    out.push_back(std::move(parsed));
  }
  return out;
}

// ---- unknown fields of the typed CRD ----

using FieldSet = std::set<std::string, std::less<>>;

struct UnknownFieldPruner {
  std::vector<std::string> paths;

  // Removes the members of `object` not in `known`, recording "<path>.<key>".
  void keep(JsonValue& object, const FieldSet& known, const std::string& path) {
    if (!object.is_object()) return;
    std::vector<std::string> removed;
    for (const auto& [key, value] : object.as_object()) {
      if (!known.contains(key)) removed.push_back(key);
    }
    for (const auto& key : removed) {
      paths.push_back(child(path, key));
      object.erase(key);
    }
  }

  void schema(JsonValue& node, const std::string& path) {
    static const FieldSet kSchemaFields = {"id",
                                           "$schema",
                                           "$ref",
                                           "description",
                                           "type",
                                           "format",
                                           "title",
                                           "default",
                                           "maximum",
                                           "exclusiveMaximum",
                                           "minimum",
                                           "exclusiveMinimum",
                                           "maxLength",
                                           "minLength",
                                           "pattern",
                                           "maxItems",
                                           "minItems",
                                           "uniqueItems",
                                           "multipleOf",
                                           "enum",
                                           "maxProperties",
                                           "minProperties",
                                           "required",
                                           "items",
                                           "allOf",
                                           "oneOf",
                                           "anyOf",
                                           "not",
                                           "properties",
                                           "additionalProperties",
                                           "patternProperties",
                                           "dependencies",
                                           "additionalItems",
                                           "definitions",
                                           "externalDocs",
                                           "example",
                                           "nullable",
                                           "x-kubernetes-preserve-unknown-fields",
                                           "x-kubernetes-embedded-resource",
                                           "x-kubernetes-int-or-string",
                                           "x-kubernetes-list-map-keys",
                                           "x-kubernetes-list-type",
                                           "x-kubernetes-map-type",
                                           "x-kubernetes-validations"};
    if (!node.is_object()) return;
    keep(node, kSchemaFields, path);
    for (const char* mapField : {"properties", "patternProperties", "definitions"}) {
      if (node.has_field(mapField) && node[mapField].is_object()) {
        for (auto& [key, value] : node[mapField].as_object()) {
          schema(value, child(child(path, mapField), key));
        }
      }
    }
    for (const char* single : {"not", "items", "additionalProperties", "additionalItems"}) {
      if (node.has_field(single) && node[single].is_object()) {
        schema(node[single], child(path, single));
      }
    }
    for (const char* list : {"allOf", "oneOf", "anyOf", "items"}) {
      if (node.has_field(list) && node[list].is_array()) {
        std::size_t index = 0;
        for (auto& value : node[list].as_array()) {
          schema(value, indexed(child(path, list), index++));
        }
      }
    }
    if (node.has_field("externalDocs")) {
      keep(node["externalDocs"], {"description", "url"}, child(path, "externalDocs"));
    }
    if (node.has_field("x-kubernetes-validations") && node["x-kubernetes-validations"].is_array()) {
      std::size_t index = 0;
      for (auto& rule : node["x-kubernetes-validations"].as_array()) {
        keep(rule,
             {"rule", "message", "messageExpression", "reason", "fieldPath", "optionalOldSelf"},
             indexed(child(path, "x-kubernetes-validations"), index++));
      }
    }
  }

  void crd(JsonValue& object) {
    keep(object, {"apiVersion", "kind", "metadata", "spec", "status"}, "");
    if (object.has_field("metadata")) {
      if (auto unknown = coerceObjectMeta(object, ""); unknown) {
        paths.insert(paths.end(), unknown->begin(), unknown->end());
      }
    }
    if (!object.has_field("spec") || !object["spec"].is_object()) return;
    auto& spec = object["spec"];
    keep(spec, {"group", "names", "scope", "versions", "conversion", "preserveUnknownFields"},
         "spec");
    if (spec.has_field("names")) {
      keep(spec["names"], {"plural", "singular", "shortNames", "kind", "listKind", "categories"},
           "spec.names");
    }
    if (spec.has_field("conversion") && spec["conversion"].is_object()) {
      auto& conversion = spec["conversion"];
      keep(conversion, {"strategy", "webhook"}, "spec.conversion");
      if (conversion.has_field("webhook") && conversion["webhook"].is_object()) {
        auto& webhook = conversion["webhook"];
        keep(webhook, {"clientConfig", "conversionReviewVersions"}, "spec.conversion.webhook");
        if (webhook.has_field("clientConfig") && webhook["clientConfig"].is_object()) {
          auto& config = webhook["clientConfig"];
          keep(config, {"url", "caBundle", "service"}, "spec.conversion.webhook.clientConfig");
          if (config.has_field("service")) {
            keep(config["service"], {"namespace", "name", "path", "port"},
                 "spec.conversion.webhook.clientConfig.service");
          }
        }
      }
    }
    if (!spec.has_field("versions") || !spec["versions"].is_array()) return;
    std::size_t index = 0;
    for (auto& version : spec["versions"].as_array()) {
      const auto path = indexed("spec.versions", index++);
      keep(version,
           {"name", "served", "storage", "deprecated", "deprecationWarning", "schema",
            "subresources", "additionalPrinterColumns", "selectableFields"},
           path);
      if (version.has_field("schema") && version["schema"].is_object()) {
        keep(version["schema"], {"openAPIV3Schema"}, child(path, "schema"));
        if (version["schema"].has_field("openAPIV3Schema")) {
          schema(version["schema"]["openAPIV3Schema"], child(path, "schema") + ".openAPIV3Schema");
        }
      }
      if (version.has_field("subresources") && version["subresources"].is_object()) {
        auto& subresources = version["subresources"];
        keep(subresources, {"status", "scale"}, child(path, "subresources"));
        if (subresources.has_field("status")) {
          keep(subresources["status"], {}, child(path, "subresources") + ".status");
        }
        if (subresources.has_field("scale")) {
          keep(subresources["scale"],
               {"specReplicasPath", "statusReplicasPath", "labelSelectorPath"},
               child(path, "subresources") + ".scale");
        }
      }
      for (const char* list : {"additionalPrinterColumns", "selectableFields"}) {
        if (!version.has_field(list) || !version[list].is_array()) continue;
        std::size_t column = 0;
        for (auto& entry : version[list].as_array()) {
          const FieldSet known =
              std::string_view(list) == "selectableFields"
                  ? FieldSet{"jsonPath"}
                  : FieldSet{"name", "type", "format", "description", "priority", "jsonPath"};
          keep(entry, known, indexed(child(path, list), column++));
        }
      }
    }
  }
};

}  // namespace

std::vector<std::string> pruneCrdUnknownFields(web::json::value& crd) {
  UnknownFieldPruner pruner;
  pruner.crd(crd);
  return pruner.paths;
}

const CrdVersion* CrdDescription::findVersion(std::string_view version) const {
  for (const auto& candidate : versions) {
    if (candidate.name == version) return &candidate;
  }
  return nullptr;
}

const CrdVersion* CrdDescription::storageVersion() const {
  for (const auto& candidate : versions) {
    if (candidate.storage) return &candidate;
  }
  return nullptr;
}

web::json::value CrdRejection::status(std::string_view crdName) const {
  if (kind == Kind::Invalid) {
    return invalidStatus("apiextensions.k8s.io", "CustomResourceDefinition", crdName, errors);
  }
  auto body = JsonValue::object(true);
  body["kind"] = JsonValue::string("Status");
  body["apiVersion"] = JsonValue::string("v1");
  body["metadata"] = JsonValue::object();
  body["status"] = JsonValue::string("Failure");
  body["message"] = JsonValue::string(message);
  body["reason"] = JsonValue::string("BadRequest");
  body["code"] = JsonValue::number(400);
  return body;
}

void defaultCrd(web::json::value& crd) {
  if (!crd.is_object()) return;
  auto* spec = crd.has_field("spec") ? &crd["spec"] : nullptr;
  if (!spec || !spec->is_object()) return;
  if (spec->has_field("names") && (*spec)["names"].is_object()) {
    auto& names = (*spec)["names"];
    const auto kind = stringMember(names, "kind");
    if (stringMember(names, "singular").empty() && !kind.empty()) {
      std::string lower = kind;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      names["singular"] = JsonValue::string(lower);
    }
    if (stringMember(names, "listKind").empty() && !kind.empty()) {
      names["listKind"] = JsonValue::string(kind + "List");
    }
  }
  if (!has(*spec, "conversion")) {
    auto conversion = JsonValue::object();
    conversion["strategy"] = JsonValue::string("None");
    (*spec)["conversion"] = conversion;
  }
}

FieldErrors validateCrdSchema(const web::json::value& schema, const std::string& path,
                              bool statusEnabled) {
  FieldErrors errors;
  if (statusEnabled && schema.is_object()) {
    for (const auto& [field, allowed] : rootFieldOrder()) {
      const auto* value = member(schema, field);
      if (!value || isZero(*value)) continue;
      if (field == "type") {
        if (value->is_string() && value->as_string() != "object") {
          errors.push_back(invalidError(child(path, "type"), *value,
                                        "only \"object\" is allowed as the type at the root of "
                                        "the schema if the status subresource is enabled"));
          break;
        }
        continue;
      }
      if (!allowed) {
        errors.push_back(invalidError(
            path, schema,
            "only [Description Type Format Title Maximum ExclusiveMaximum Minimum "
            "ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems "
            "MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields "
            "XValidations] fields are allowed at the root of the schema if the status "
            "subresource is enabled"));
        break;
      }
    }
  }
  if (boolMember(schema, "nullable")) {
    errors.push_back(
        forbiddenError(child(path, "nullable"), "nullable cannot be true at the root"));
  }
  auto structural = validateStructural(schema, path);
  if (!structural.empty()) {
    append(errors, structural);
  } else {
    validateDefaults(schema, path, true, errors);
  }
  openApiSchema(&schema, path, SchemaRules{}, true, errors);
  return errors;
}

FieldErrors validateCrd(const web::json::value& crd) {
  FieldErrors errors;
  const JsonValue empty = JsonValue::object();
  const auto* specPointer = member(crd, "spec");
  const JsonValue& spec = specPointer && specPointer->is_object() ? *specPointer : empty;
  const auto* namesPointer = member(spec, "names");
  const JsonValue& names = namesPointer && namesPointer->is_object() ? *namesPointer : empty;
  const auto group = stringMember(spec, "group");
  const auto plural = stringMember(names, "plural");

  // metadata: ValidateObjectMeta with the CRD name rule.
  const auto* metadata = member(crd, "metadata");
  for (auto& error : validateObjectMeta(metadata ? *metadata : JsonValue::null(), false)) {
    if (error.field == "metadata.name" && error.type == FieldErrorType::Invalid) continue;
    errors.push_back(std::move(error));
  }
  const auto name = metadata ? stringMember(*metadata, "name") : std::string();
  if (!name.empty()) {
    auto problems = dns1123SubdomainErrors(name);
    if (name != plural + "." + group)
      problems.push_back("must be spec.names.plural+\".\"+spec.group");
    // kube reports these right after the generateName errors, before the namespace ones.
    std::size_t insertAt = 0;
    while (insertAt < errors.size() && errors[insertAt].field == "metadata.generateName") {
      ++insertAt;
    }
    for (const auto& problem : problems) {
      errors.insert(errors.begin() + static_cast<std::ptrdiff_t>(insertAt++),
                    invalidStringError("metadata.name", name, problem));
    }
  }

  // spec.group and spec.scope
  if (group.empty()) {
    errors.push_back(requiredError("spec.group"));
  } else if (auto problems = dns1123SubdomainErrors(group); !problems.empty()) {
    errors.push_back(invalidStringError("spec.group", group, join(problems, ",")));
  } else if (group.find('.') == std::string::npos) {
    errors.push_back(
        invalidStringError("spec.group", group, "should be a domain with at least one dot"));
  }
  const auto scope = stringMember(spec, "scope");
  if (scope.empty()) {
    errors.push_back(requiredError("spec.scope"));
  } else if (scope != "Cluster" && scope != "Namespaced") {
    errors.push_back(notSupportedStringError("spec.scope", scope, {"Cluster", "Namespaced"}));
  }

  const auto versions = versionList(spec);
  const bool schemaHoisted = !versions.empty() && allEqual(versions, "schema");
  const bool subresourcesHoisted = !versions.empty() && allEqual(versions, "subresources");
  const bool columnsHoisted = !versions.empty() && allEqual(versions, "additionalPrinterColumns");
  const JsonValue* hoistedSchema = schemaHoisted ? member(versions.front(), "schema") : nullptr;
  if (hoistedSchema && hoistedSchema->is_null()) hoistedSchema = nullptr;
  const JsonValue* hoistedSubresources =
      subresourcesHoisted ? member(versions.front(), "subresources") : nullptr;
  bool anyStatus = statusIn(hoistedSubresources);
  for (const auto& version : versions) {
    if (!subresourcesHoisted && statusIn(member(version, "subresources"))) anyStatus = true;
  }

  const bool topLevelSchema = hoistedSchema && has(*hoistedSchema, "openAPIV3Schema");
  if (!topLevelSchema) {
    for (std::size_t i = 0; i < versions.size(); ++i) {
      const auto* schema = member(versions[i], "schema");
      if (!schema || !has(*schema, "openAPIV3Schema")) {
        errors.push_back(requiredError(indexed("spec.versions", i) + ".schema.openAPIV3Schema"));
      }
    }
  }
  if (boolMember(spec, "preserveUnknownFields")) {
    // v1 allows true only for CRDs migrated from v1beta1 and never with defaults.
    bool defaults = false;
    std::function<void(const JsonValue&)> findDefaults = [&](const JsonValue& node) {
      if (!node.is_object() && !node.is_array()) return;
      if (node.is_object() && has(node, "default")) defaults = true;
      if (node.is_object()) {
        for (const auto& [key, value] : node.as_object()) findDefaults(value);
      } else {
        for (const auto& value : node.as_array()) findDefaults(value);
      }
    };
    for (const auto& version : versions) {
      if (const auto* schema = member(version, "schema")) findDefaults(*schema);
    }
    if (defaults) {
      errors.push_back(invalidError("spec.preserveUnknownFields", JsonValue::boolean(true),
                                    "must be false in order to use defaults in the schema"));
    }
  }

  int storageCount = 0;
  std::set<std::string> seenVersions;
  bool uniqueNames = true;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const auto& version = versions[i];
    const auto path = indexed("spec.versions", i);
    if (boolMember(version, "storage")) ++storageCount;
    const auto versionName = stringMember(version, "name");
    if (!seenVersions.insert(versionName).second) uniqueNames = false;
    if (auto problems = dns1035LabelErrors(versionName); !problems.empty()) {
      errors.push_back(invalidStringError(child(path, "name"), versionName, join(problems, ",")));
    }
    if (const auto* warning = member(version, "deprecationWarning");
        warning && warning->is_string()) {
      const auto& text = warning->as_string();
      if (!boolMember(version, "deprecated")) {
        errors.push_back(invalidStringError(child(path, "deprecationWarning"), text,
                                            "can only be set for deprecated versions"));
      } else if (text.size() > 256) {
        errors.push_back(invalidStringError(child(path, "deprecationWarning"), text,
                                            "must be <= 256 characters long"));
      } else if (text.empty()) {
        errors.push_back(invalidStringError(child(path, "deprecationWarning"), text,
                                            "must not be an empty string"));
      }
    }
    const bool statusEnabled = subresourcesHoisted ? statusIn(hoistedSubresources)
                                                   : statusIn(member(version, "subresources"));
    if (!schemaHoisted) {
      if (const auto* schema = member(version, "schema")) {
        if (const auto* root = member(*schema, "openAPIV3Schema"); root && root->is_object()) {
          append(errors, validateCrdSchema(*root, child(path, "schema") + ".openAPIV3Schema",
                                           statusEnabled));
        }
      }
    }
    if (!subresourcesHoisted) {
      append(errors,
             validateSubresources(member(version, "subresources"), child(path, "subresources")));
    }
    if (!columnsHoisted) {
      if (const auto* columns = member(version, "additionalPrinterColumns");
          columns && columns->is_array()) {
        for (std::size_t c = 0; c < columns->size(); ++c) {
          append(errors, validateColumn(columns->at(c),
                                        indexed(child(path, "additionalPrinterColumns"), c)));
        }
      }
    }
  }
  if (!uniqueNames || storageCount != 1) {
    const auto value =
        goVersionsValue(versions, schemaHoisted, subresourcesHoisted, columnsHoisted);
    if (!uniqueNames) {
      errors.push_back(withValue(FieldErrorType::Invalid, "spec.versions", value,
                                 "must contain unique version names"));
    }
    if (storageCount != 1) {
      errors.push_back(withValue(FieldErrorType::Invalid, "spec.versions", value,
                                 "must have exactly one version marked as storage version"));
    }
  }
  for (const char* field : {"plural", "singular", "kind", "listKind"}) {
    if (stringMember(names, field).empty()) {
      errors.push_back(requiredError(std::string("spec.names.") + field));
    }
  }
  append(errors, validateNames(names, "spec.names"));
  if (topLevelSchema) {
    append(errors, validateCrdSchema(*member(*hoistedSchema, "openAPIV3Schema"),
                                     "spec.validation.openAPIV3Schema", anyStatus));
  }
  if (subresourcesHoisted) {
    append(errors, validateSubresources(hoistedSubresources, "spec.subresources"));
  }
  if (columnsHoisted) {
    if (const auto* columns = member(versions.front(), "additionalPrinterColumns");
        columns && columns->is_array()) {
      for (std::size_t c = 0; c < columns->size(); ++c) {
        append(errors, validateColumn(columns->at(c), indexed("spec.additionalPrinterColumns", c)));
      }
    }
  }
  if (const auto* conversion = member(spec, "conversion"); conversion && conversion->is_object()) {
    const auto strategy = stringMember(*conversion, "strategy");
    if (strategy.empty()) {
      errors.push_back(requiredError("spec.conversion.strategy"));
    } else if (strategy != "None" && strategy != "Webhook") {
      errors.push_back(
          notSupportedStringError("spec.conversion.strategy", strategy, {"None", "Webhook"}));
    } else if (strategy == "Webhook") {
      const auto* webhook = member(*conversion, "webhook");
      if (!webhook || !has(*webhook, "clientConfig")) {
        errors.push_back(requiredError("spec.conversion.webhookClientConfig",
                                       "required when strategy is set to Webhook"));
      }
      if (!webhook || stringList(member(*webhook, "conversionReviewVersions")).empty()) {
        errors.push_back(requiredError("spec.conversion.conversionReviewVersions"));
      }
    } else if (const auto* webhook = member(*conversion, "webhook");
               webhook && !webhook->is_null()) {
      if (has(*webhook, "clientConfig")) {
        errors.push_back(forbiddenError("spec.conversion.webhookClientConfig",
                                        "should not be set when strategy is not set to Webhook"));
      }
      if (!stringList(member(*webhook, "conversionReviewVersions")).empty()) {
        errors.push_back(forbiddenError("spec.conversion.conversionReviewVersions",
                                        "should not be set when strategy is not set to Webhook"));
      }
    }
  }
  // validateAPIApproval: groups of the Kubernetes project need an approval annotation.
  const bool protectedGroup = group == "k8s.io" || group.ends_with(".k8s.io") ||
                              group == "kubernetes.io" || group.ends_with(".kubernetes.io");
  if (protectedGroup) {
    const std::string annotationField = "metadata.annotations[api-approved.kubernetes.io]";
    const auto* annotations = metadata ? member(*metadata, "annotations") : nullptr;
    const auto* approval =
        annotations ? member(*annotations, "api-approved.kubernetes.io") : nullptr;
    if (!approval || !approval->is_string()) {
      errors.push_back(requiredError(
          annotationField,
          "protected groups must have approval annotation \"api-approved.kubernetes.io\", see "
          "https://github.com/kubernetes/enhancements/pull/1111"));
    } else if (const auto& text = approval->as_string();
               !text.starts_with("unapproved") && !checkFormat("uri", text).value_or(false)) {
      errors.push_back(invalidStringError(
          annotationField, text,
          "protected groups must have approval annotation \"api-approved.kubernetes.io\" with "
          "either a URL or a reason starting with \"unapproved\", see "
          "https://github.com/kubernetes/enhancements/pull/1111"));
    }
  }
  // validatePreserveUnknownFields: v1 CRDs cannot turn it on.
  if (boolMember(spec, "preserveUnknownFields")) {
    errors.push_back(invalidError("spec.preserveUnknownFields", JsonValue::boolean(true),
                                  "cannot set to true, set x-kubernetes-preserve-unknown-fields "
                                  "to true in spec.versions[*].schema instead"));
  }
  return errors;
}

std::expected<CrdDescription, CrdRejection> parseCrd(const web::json::value& input) {
  if (!input.is_object()) {
    CrdRejection rejection;
    rejection.kind = CrdRejection::Kind::BadRequest;
    rejection.message = "the body of the request was not a JSON object";
    return std::unexpected(std::move(rejection));
  }
  Decoder decoder;
  decoder.crd(input);
  if (decoder.error) {
    CrdRejection rejection;
    rejection.kind = CrdRejection::Kind::BadRequest;
    rejection.message =
        "CustomResourceDefinition in version \"v1\" cannot be handled as a "
        "CustomResourceDefinition: " +
        *decoder.error;
    return std::unexpected(std::move(rejection));
  }
  auto crd = input;
  defaultCrd(crd);
  auto errors = validateCrd(crd);
  if (!errors.empty()) {
    CrdRejection rejection;
    rejection.kind = CrdRejection::Kind::Invalid;
    rejection.errors = std::move(errors);
    return std::unexpected(std::move(rejection));
  }

  CrdDescription description;
  const auto& spec = crd.at("spec");
  const auto& names = spec.at("names");
  description.name = stringMember(crd.at("metadata"), "name");
  description.group = stringMember(spec, "group");
  description.scope = stringMember(spec, "scope");
  description.preserveUnknownFields = boolMember(spec, "preserveUnknownFields");
  description.names.plural = stringMember(names, "plural");
  description.names.singular = stringMember(names, "singular");
  description.names.kind = stringMember(names, "kind");
  description.names.listKind = stringMember(names, "listKind");
  description.names.shortNames = stringList(member(names, "shortNames"));
  description.names.categories = stringList(member(names, "categories"));
  for (const auto& version : versionList(spec)) {
    CrdVersion parsed;
    parsed.name = stringMember(version, "name");
    parsed.served = boolMember(version, "served");
    parsed.storage = boolMember(version, "storage");
    parsed.deprecated = boolMember(version, "deprecated");
    if (const auto* warning = member(version, "deprecationWarning");
        warning && warning->is_string()) {
      parsed.deprecationWarning = warning->as_string();
    }
    if (const auto* schema = member(version, "schema")) {
      if (const auto* root = member(*schema, "openAPIV3Schema"); root && root->is_object()) {
        parsed.schema = *root;
      }
    }
    const auto* subresources = member(version, "subresources");
    parsed.statusSubresource = statusIn(subresources);
    if (const auto* scale = subresources ? member(*subresources, "scale") : nullptr;
        scale && scale->is_object()) {
      CrdScaleSubresource parsedScale;
      parsedScale.specReplicasPath = stringMember(*scale, "specReplicasPath");
      parsedScale.statusReplicasPath = stringMember(*scale, "statusReplicasPath");
      if (has(*scale, "labelSelectorPath")) {
        parsedScale.labelSelectorPath = stringMember(*scale, "labelSelectorPath");
      }
      parsed.scaleSubresource = parsedScale;
    }
    parsed.printerColumns = parseColumns(member(version, "additionalPrinterColumns"));
    description.versions.push_back(std::move(parsed));
  }
  return description;
}

}  // namespace billing::apiserver
