#include "tools/chart-render/schema.h"

#include <cmath>
#include <regex>
#include <set>
#include <stdexcept>

namespace billing::chart {

namespace {

using web::json::value;

// Annotations carry no rule; the rest are the keywords implemented below.
const std::set<std::string>& knownKeywords() {
  static const std::set<std::string> keywords = {
      "$schema",  "$id",     "title",   "description", "default",   "examples",
      "type",     "enum",    "const",   "properties",  "required",  "additionalProperties",
      "items",    "minimum", "maximum", "minLength",   "maxLength", "pattern",
      "minItems", "anyOf"};
  return keywords;
}

bool hasType(const Value& item, const std::string& type) {
  if (type == "null") return item.isNil();
  if (type == "boolean") return item.isBool();
  if (type == "integer") {
    return item.isInt() || (item.isFloat() && std::floor(item.asFloat()) == item.asFloat());
  }
  if (type == "number") return item.isInt() || item.isFloat();
  if (type == "string") return item.isString();
  if (type == "array") return item.isList();
  if (type == "object") return item.isMap();
  throw std::runtime_error("values.schema.json: unknown type \"" + type + "\"");
}

std::string describeType(const Value& item) {
  if (item.isNil()) return "null";
  if (item.isBool()) return "boolean";
  if (item.isInt()) return "integer";
  if (item.isFloat()) return "number";
  if (item.isString()) return "string";
  if (item.isList()) return "array";
  return "object";
}

Value fromJson(const value& json) {
  if (json.is_null()) return {};
  if (json.is_boolean()) return Value(json.as_bool());
  if (json.is_integer()) return Value(static_cast<std::int64_t>(json.as_number().to_int64()));
  if (json.is_number()) return Value(json.as_double());
  if (json.is_string()) return Value(json.as_string());
  if (json.is_array()) {
    List list;
    for (const auto& element : json.as_array()) list.push_back(fromJson(element));
    return Value(list);
  }
  Map map;
  for (const auto& [key, member] : json.as_object()) map[key] = fromJson(member);
  return Value(map);
}

double numberOf(const Value& item) {
  return item.isInt() ? static_cast<double>(item.asInt()) : item.asFloat();
}

void check(const Value& item, const value& schema, const std::string& path,
           std::vector<std::string>& errors) {
  if (!schema.is_object())
    throw std::runtime_error("values.schema.json: a schema must be an object");
  const std::string where = path.empty() ? "(root)" : path;
  for (const auto& [keyword, unused] : schema.as_object()) {
    (void)unused;
    if (knownKeywords().count(keyword) == 0) {
      throw std::runtime_error("values.schema.json: keyword \"" + keyword + "\" at " + where +
                               " is not implemented by tools/chart-render");
    }
  }
  if (schema.has_field("type")) {
    const value& type = schema.at("type");
    std::vector<std::string> types;
    if (type.is_string()) {
      types.push_back(type.as_string());
    } else {
      for (const auto& t : type.as_array()) types.push_back(t.as_string());
    }
    bool matched = false;
    for (const std::string& t : types) matched = matched || hasType(item, t);
    if (!matched) {
      std::string expected;
      for (const std::string& t : types) expected += (expected.empty() ? "" : " or ") + t;
      errors.push_back(where + ": expected " + expected + ", got " + describeType(item));
      return;
    }
  }
  if (schema.has_field("enum")) {
    bool found = false;
    std::string allowed;
    for (const auto& option : schema.at("enum").as_array()) {
      found = found || fromJson(option) == item;
      allowed += (allowed.empty() ? "" : ", ") + option.serialize();
    }
    if (!found) errors.push_back(where + ": must be one of " + allowed + ", got " + item.print());
  }
  if (schema.has_field("const") && !(fromJson(schema.at("const")) == item)) {
    errors.push_back(where + ": must be " + schema.at("const").serialize());
  }
  if (item.isInt() || item.isFloat()) {
    if (schema.has_field("minimum") && numberOf(item) < schema.at("minimum").as_double()) {
      errors.push_back(where + ": must be at least " + schema.at("minimum").serialize());
    }
    if (schema.has_field("maximum") && numberOf(item) > schema.at("maximum").as_double()) {
      errors.push_back(where + ": must be at most " + schema.at("maximum").serialize());
    }
  }
  if (item.isString()) {
    const auto length = static_cast<int>(item.asString().size());
    if (schema.has_field("minLength") && length < schema.at("minLength").as_integer()) {
      errors.push_back(where + ": must be at least " + schema.at("minLength").serialize() +
                       " characters long");
    }
    if (schema.has_field("maxLength") && length > schema.at("maxLength").as_integer()) {
      errors.push_back(where + ": must be at most " + schema.at("maxLength").serialize() +
                       " characters long");
    }
    if (schema.has_field("pattern") &&
        !std::regex_search(item.asString(), std::regex(schema.at("pattern").as_string()))) {
      errors.push_back(where + ": \"" + item.asString() + "\" does not match " +
                       schema.at("pattern").serialize());
    }
  }
  if (item.isList()) {
    if (schema.has_field("minItems") &&
        static_cast<int>(item.asList().size()) < schema.at("minItems").as_integer()) {
      errors.push_back(where + ": needs at least " + schema.at("minItems").serialize() + " items");
    }
    if (schema.has_field("items")) {
      std::size_t index = 0;
      for (const Value& element : item.asList()) {
        check(element, schema.at("items"), path + "[" + std::to_string(index++) + "]", errors);
      }
    }
  }
  if (item.isMap()) {
    const Map& map = item.asMap();
    if (schema.has_field("required")) {
      for (const auto& name : schema.at("required").as_array()) {
        if (map.count(name.as_string()) == 0) {
          errors.push_back(where + ": " + name.as_string() + " is required");
        }
      }
    }
    for (const auto& [key, member] : map) {
      const std::string memberPath = path.empty() ? key : path + "." + key;
      if (schema.has_field("properties") && schema.at("properties").has_field(key)) {
        check(member, schema.at("properties").at(key), memberPath, errors);
      } else if (schema.has_field("additionalProperties")) {
        const value& additional = schema.at("additionalProperties");
        if (additional.is_boolean()) {
          if (!additional.as_bool()) {
            errors.push_back(where + ": unknown key \"" + key +
                             "\" (additional properties are not allowed)");
          }
        } else {
          check(member, additional, memberPath, errors);
        }
      }
    }
  }
  if (schema.has_field("anyOf")) {
    bool any = false;
    for (const auto& option : schema.at("anyOf").as_array()) {
      std::vector<std::string> optionErrors;
      check(item, option, path, optionErrors);
      any = any || optionErrors.empty();
    }
    if (!any) errors.push_back(where + ": matches none of the allowed forms (anyOf)");
  }
}

}  // namespace

std::vector<std::string> validateValues(const Value& values, const web::json::value& schema) {
  std::vector<std::string> errors;
  check(values, schema, "", errors);
  return errors;
}

}  // namespace billing::chart
