// The values a Helm template sees (.Values, .Release, .Chart, results of functions), as Go's
// text/template sees them after Helm loaded YAML: nil, bool, numbers, strings, lists and maps
// with sorted keys (Go ranges over and marshals maps in key order).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace billing::chart {

struct Value;
using List = std::vector<Value>;
using Map = std::map<std::string, Value>;

struct Value {
  // shared_ptr keeps Value copyable and cheap; templates never mutate a value in place.
  std::variant<std::monostate, bool, std::int64_t, double, std::string, std::shared_ptr<List>,
               std::shared_ptr<Map>>
      data;

  Value() = default;
  Value(bool b) : data(b) {}
  Value(std::int64_t i) : data(i) {}
  Value(int i) : data(static_cast<std::int64_t>(i)) {}
  Value(double d) : data(d) {}
  Value(std::string s) : data(std::move(s)) {}
  Value(const char* s) : data(std::string(s)) {}
  Value(List list) : data(std::make_shared<List>(std::move(list))) {}
  Value(Map map) : data(std::make_shared<Map>(std::move(map))) {}

  bool isNil() const { return std::holds_alternative<std::monostate>(data); }
  bool isBool() const { return std::holds_alternative<bool>(data); }
  bool isInt() const { return std::holds_alternative<std::int64_t>(data); }
  bool isFloat() const { return std::holds_alternative<double>(data); }
  bool isString() const { return std::holds_alternative<std::string>(data); }
  bool isList() const { return std::holds_alternative<std::shared_ptr<List>>(data); }
  bool isMap() const { return std::holds_alternative<std::shared_ptr<Map>>(data); }

  bool asBool() const { return std::get<bool>(data); }
  std::int64_t asInt() const { return std::get<std::int64_t>(data); }
  double asFloat() const { return std::get<double>(data); }
  const std::string& asString() const { return std::get<std::string>(data); }
  const List& asList() const { return *std::get<std::shared_ptr<List>>(data); }
  const Map& asMap() const { return *std::get<std::shared_ptr<Map>>(data); }

  // The member `key` of a map, nil when absent or when this is not a map.
  Value field(const std::string& key) const;
  // text/template's truth: false, 0, nil and empty strings, lists and maps are false.
  bool truthy() const;
  // What {{ . }} prints: Go's fmt %v ("<nil>" for nil, maps as map[k:v]).
  std::string print() const;
  // "string", "bool", "int64", "float64", "[]interface {}", "map[string]interface {}", "<nil>".
  std::string typeName() const;
};

bool operator==(const Value& left, const Value& right);

// YAML to values as Helm loads values.yaml (via JSON: a plain scalar is null, a bool, a number
// or a string; a quoted one is always a string). `where` names the file in errors.
Value fromYaml(const YAML::Node& node, const std::string& where);

// Helm's toYaml (sigs.k8s.io/yaml over go-yaml v2): block style, keys sorted, two-space
// indentation, lists at their parent key's indentation, strings quoted when they would read back
// as something else. No trailing newline, as Helm trims it.
std::string toYaml(const Value& value);

// Deep merge of `overlay` into `base` as Helm merges -f files and --set: maps merge key by key,
// anything else replaces; a nil in the overlay deletes the key.
Value mergeValues(const Value& base, const Value& overlay);

}  // namespace billing::chart
