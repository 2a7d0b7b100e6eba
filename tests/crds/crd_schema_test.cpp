// Checks the CustomResourceDefinitions in crds/ for what a real Kubernetes API server (v1.21+)
// demands of them and for the resource contract of the design brief (section 3). No API server
// runs here, so the structural-schema rules the server enforces at CRD creation are re-checked
// below: a CRD that fails them is refused by `kubectl apply`, and a user would notice.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace {

constexpr std::string_view kGroup = "billing.operator.dev";
constexpr std::string_view kVersion = "v1alpha1";

using Problems = std::vector<std::string>;

std::string joinLines(const Problems& problems) {
  std::ostringstream out;
  for (const std::string& problem : problems) out << "  " << problem << "\n";
  return out.str();
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// Reads a child without ever inserting it: yaml-cpp's non-const operator[] may modify the map.
// A missing child comes back undefined, and so does any child of it.
YAML::Node child(const YAML::Node& node, const std::string& key) {
  if (!node || !node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& constNode = node;
  return constNode[key];
}

std::string scalarOr(const YAML::Node& node, const std::string& fallback = "") {
  return node && node.IsScalar() ? node.Scalar() : fallback;
}

std::vector<std::string> scalarList(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node || !node.IsSequence()) return out;
  for (const YAML::Node& item : node) out.push_back(scalarOr(item, "<non-scalar>"));
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// ---- How Kubernetes reads a YAML scalar ----

// kubectl and the API server decode YAML with YAML 1.1 rules (sigs.k8s.io/yaml), so an unquoted
// `True`, `on` or `NO` is a boolean and `0755` a number. Returns the JSON kind a scalar becomes:
// "string", "boolean", "integer", "number", "null" or "timestamp".
std::string scalarKind(const YAML::Node& node) {
  if (node.IsNull()) return "null";
  if (!node.IsScalar()) return "";
  const std::string& tag = node.Tag();
  if (tag == "tag:yaml.org,2002:str") return "string";
  if (tag == "tag:yaml.org,2002:bool") return "boolean";
  if (tag == "tag:yaml.org,2002:int") return "integer";
  if (tag == "tag:yaml.org,2002:float") return "number";
  if (tag != "?") return "string";  // quoted or block scalar, or built in code
  static const std::set<std::string> kNulls = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string> kBools = {
      "y",    "Y",    "yes",   "Yes",   "YES",   "n",  "N",  "no", "No",  "NO",  "true",
      "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"};
  static const std::regex kInt(R"(^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0[0-7_]*|[1-9][0-9_]*)$)");
  static const std::regex kFloat(
      R"(^[-+]?(([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.(inf|Inf|INF))$|^\.(nan|NaN|NAN)$)");
  static const std::regex kTimestamp(R"(^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$)");
  const std::string& text = node.Scalar();
  if (kNulls.contains(text)) return "null";
  if (kBools.contains(text)) return "boolean";
  if (std::regex_match(text, kInt)) return "integer";
  if (std::regex_match(text, kFloat) && text.find_first_of("0123456789") != std::string::npos)
    return "number";
  if (std::regex_match(text, kTimestamp)) return "timestamp";
  return "string";
}

bool matchesType(const YAML::Node& value, const std::string& type) {
  if (type == "object") return value.IsMap();
  if (type == "array") return value.IsSequence();
  const std::string kind = scalarKind(value);
  if (type == "number") return kind == "integer" || kind == "number";
  return kind == type;
}

std::string describeValue(const YAML::Node& value) {
  if (value.IsMap()) return "an object";
  if (value.IsSequence()) return "an array";
  const std::string kind = scalarKind(value);
  if (kind == "null") return "null";
  return "\"" + value.Scalar() + "\" (read as " + kind + ")";
}

std::size_t codePoints(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// ---- Walking a schema ----

struct SchemaNode {
  std::string path;  // "spec.address.lines[]", "spec.tags{}" (map values); "" is the root
  YAML::Node node;
};

std::string displayPath(const std::string& path) { return path.empty() ? "<root>" : path; }

std::string childPath(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

void collectNodes(const YAML::Node& node, const std::string& path, std::vector<SchemaNode>& out) {
  out.push_back({path, node});
  if (!node.IsMap()) return;
  if (YAML::Node properties = child(node, "properties"); properties && properties.IsMap()) {
    for (const auto& entry : properties) {
      collectNodes(entry.second, childPath(path, entry.first.Scalar()), out);
    }
  }
  if (YAML::Node items = child(node, "items"); items) collectNodes(items, path + "[]", out);
  if (YAML::Node values = child(node, "additionalProperties"); values && values.IsMap()) {
    collectNodes(values, path + "{}", out);
  }
}

std::vector<SchemaNode> allNodes(const YAML::Node& schema) {
  std::vector<SchemaNode> out;
  collectNodes(schema, "", out);
  return out;
}

// The root `metadata` may carry nothing but `type: object`: the API server supplies ObjectMeta's
// schema itself and refuses a CRD whose metadata schema says more (even a description).
bool isRootMetadata(const std::string& path) { return path == "metadata"; }

const std::set<std::string> kTypes = {"object", "array", "string", "integer", "number", "boolean"};

// The keywords these CRDs may use: structural value validations without CEL rules (which need
// v1.25+), without anyOf/oneOf/not, without preserve-unknown-fields (nothing here is free-form).
const std::set<std::string> kKeywords = {
    // Shape and documentation.
    "type", "description", "properties", "items", "additionalProperties", "required", "default",
    // Value validations.
    "enum", "format", "pattern", "minLength", "maxLength", "minItems", "maxItems", "minProperties",
    "maxProperties", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    // Server-side apply merge strategy.
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type"};

// Formats the API server validates (k8s.io/apiextensions-apiserver); any other is refused or
// silently ignored depending on the version.
const std::set<std::string> kFormats = {
    "bsonobjectid", "uri",    "email",    "hostname",   "ipv4",     "ipv6",
    "cidr",         "mac",    "uuid",     "uuid3",      "uuid4",    "uuid5",
    "isbn",         "isbn10", "isbn13",   "creditcard", "ssn",      "hexcolor",
    "rgbcolor",     "byte",   "password", "date",       "duration", "datetime",
    "date-time",    "int32",  "int64",    "float",      "double"};

Problems checkTypesAndDescriptions(const YAML::Node& schema) {
  Problems problems;
  for (const SchemaNode& entry : allNodes(schema)) {
    const std::string where = displayPath(entry.path);
    if (!entry.node.IsMap()) {
      problems.push_back(where + ": is not a schema object");
      continue;
    }
    const std::string type = scalarOr(child(entry.node, "type"));
    if (type.empty()) {
      problems.push_back(where + ": has no type (every node of a structural schema needs one)");
    } else if (!kTypes.contains(type)) {
      problems.push_back(where + ": unknown type \"" + type + "\"");
    }
    if (isRootMetadata(entry.path)) continue;  // checked by checkRootFields
    if (scalarOr(child(entry.node, "description")).find_first_not_of(" \t\n") ==
        std::string::npos) {
      problems.push_back(where + ": has no description (kubectl explain shows nothing)");
    }
  }
  return problems;
}

Problems checkPropertiesXorAdditionalProperties(const YAML::Node& schema) {
  Problems problems;
  for (const SchemaNode& entry : allNodes(schema)) {
    if (!entry.node.IsMap()) continue;
    const YAML::Node values = child(entry.node, "additionalProperties");
    if (child(entry.node, "properties") && values) {
      problems.push_back(displayPath(entry.path) +
                         ": has both properties and additionalProperties (not structural)");
    }
    if (values && !values.IsMap()) {
      problems.push_back(displayPath(entry.path) + ": additionalProperties must be a schema");
    }
  }
  return problems;
}

Problems checkKeywordsAndShapes(const YAML::Node& schema) {
  Problems problems;
  for (const SchemaNode& entry : allNodes(schema)) {
    if (!entry.node.IsMap()) continue;
    const std::string where = displayPath(entry.path);
    for (const auto& keyword : entry.node) {
      const std::string key = keyword.first.Scalar();
      if (key == "x-kubernetes-validations") {
        problems.push_back(where + ": uses CEL x-kubernetes-validations (needs Kubernetes 1.25+)");
      } else if (!kKeywords.contains(key)) {
        problems.push_back(where + ": keyword \"" + key + "\" is not allowed here");
      }
    }
    const std::string type = scalarOr(child(entry.node, "type"));
    if (const YAML::Node format = child(entry.node, "format"); format) {
      if (!kFormats.contains(scalarOr(format))) {
        problems.push_back(where + ": format \"" + scalarOr(format) +
                           "\" is unknown to Kubernetes");
      }
    }
    if (const YAML::Node pattern = child(entry.node, "pattern"); pattern) {
      try {
        std::regex compiled(scalarOr(pattern));
      } catch (const std::regex_error& error) {
        problems.push_back(where + ": pattern does not compile: " + error.what());
      }
      if (type != "string") problems.push_back(where + ": pattern on a non-string node");
    }
    if (type == "array" && !child(entry.node, "items")) {
      problems.push_back(where + ": array without items");
    }
    if (type == "object" && !isRootMetadata(entry.path) && !child(entry.node, "properties") &&
        !child(entry.node, "additionalProperties")) {
      problems.push_back(where +
                         ": object without properties: the API server prunes all its fields");
    }
    if (const YAML::Node required = child(entry.node, "required"); required) {
      const YAML::Node properties = child(entry.node, "properties");
      for (const std::string& name : scalarList(required)) {
        if (!child(properties, name)) {
          problems.push_back(where + ": requires \"" + name + "\", which is not a property");
        }
      }
    }
  }
  return problems;
}

Problems checkRootFields(const YAML::Node& schema) {
  Problems problems;
  const YAML::Node properties = child(schema, "properties");
  if (scalarOr(child(schema, "type")) != "object") problems.push_back("<root>: must be an object");
  for (const std::string name : {"apiVersion", "kind"}) {
    if (scalarOr(child(child(properties, name), "type")) != "string") {
      problems.push_back(name + ": must be declared as a string");
    }
  }
  const YAML::Node metadata = child(properties, "metadata");
  if (!metadata || !metadata.IsMap() || metadata.size() != 1 ||
      scalarOr(child(metadata, "type")) != "object") {
    problems.push_back(
        "metadata: must be exactly {type: object}; the API server refuses anything more");
  }
  for (const std::string name : {"spec", "status"}) {
    if (scalarOr(child(child(properties, name), "type")) != "object") {
      problems.push_back(name + ": must be declared as an object");
    }
  }
  return problems;
}

// ---- Validating a value against a schema, as the API server validates defaults ----

Problems validateValue(const YAML::Node& value, const YAML::Node& schema, const std::string& path) {
  Problems problems;
  const std::string where = displayPath(path);
  const std::string type = scalarOr(child(schema, "type"));
  if (!matchesType(value, type)) {
    problems.push_back(where + ": " + describeValue(value) + " is not of type " + type);
    return problems;
  }
  if (const YAML::Node allowed = child(schema, "enum"); allowed && allowed.IsSequence()) {
    bool found = false;
    for (const YAML::Node& candidate : allowed) {
      found = found ||
              (candidate.IsScalar() && value.IsScalar() && candidate.Scalar() == value.Scalar() &&
               scalarKind(candidate) == scalarKind(value));
    }
    if (!found) {
      problems.push_back(where + ": " + describeValue(value) + " is not one of [" +
                         join(scalarList(allowed), ", ") + "]");
    }
  }
  if (type == "string") {
    const std::string& text = value.Scalar();
    if (const YAML::Node pattern = child(schema, "pattern"); pattern) {
      if (!std::regex_search(text, std::regex(pattern.Scalar()))) {
        problems.push_back(where + ": \"" + text + "\" does not match " + pattern.Scalar());
      }
    }
    if (const YAML::Node limit = child(schema, "maxLength");
        limit && codePoints(text) > limit.as<std::size_t>()) {
      problems.push_back(where + ": longer than " + limit.Scalar() + " characters");
    }
    if (const YAML::Node limit = child(schema, "minLength");
        limit && codePoints(text) < limit.as<std::size_t>()) {
      problems.push_back(where + ": shorter than " + limit.Scalar() + " characters");
    }
  }
  if (type == "integer" || type == "number") {
    double number = 0;
    if (!YAML::convert<double>::decode(value, number)) {
      problems.push_back(where + ": \"" + value.Scalar() + "\" is not a decimal number");
      return problems;
    }
    if (const YAML::Node limit = child(schema, "minimum"); limit && number < limit.as<double>()) {
      problems.push_back(where + ": below the minimum " + limit.Scalar());
    }
    if (const YAML::Node limit = child(schema, "maximum"); limit && number > limit.as<double>()) {
      problems.push_back(where + ": above the maximum " + limit.Scalar());
    }
  }
  if (type == "object") {
    const YAML::Node properties = child(schema, "properties");
    const YAML::Node values = child(schema, "additionalProperties");
    for (const auto& field : value) {
      const std::string name = field.first.Scalar();
      if (const YAML::Node fieldSchema = child(properties, name); fieldSchema) {
        for (std::string& problem : validateValue(field.second, fieldSchema, childPath(path, name)))
          problems.push_back(std::move(problem));
      } else if (values) {
        for (std::string& problem : validateValue(field.second, values, childPath(path, name)))
          problems.push_back(std::move(problem));
      } else {
        problems.push_back(where + ": unknown field \"" + name + "\" (the API server prunes it)");
      }
    }
    for (const std::string& name : scalarList(child(schema, "required"))) {
      // A required field that is absent is still fine when defaulting fills it in.
      if (!child(value, name) && !child(child(properties, name), "default")) {
        problems.push_back(where + ": required field \"" + name + "\" is missing");
      }
    }
    if (const YAML::Node limit = child(schema, "maxProperties");
        limit && value.size() > limit.as<std::size_t>()) {
      problems.push_back(where + ": more than " + limit.Scalar() + " properties");
    }
  }
  if (type == "array") {
    const YAML::Node items = child(schema, "items");
    for (std::size_t i = 0; i < value.size(); ++i) {
      for (std::string& problem :
           validateValue(value[i], items, path + "[" + std::to_string(i) + "]"))
        problems.push_back(std::move(problem));
    }
    if (const YAML::Node limit = child(schema, "maxItems");
        limit && value.size() > limit.as<std::size_t>()) {
      problems.push_back(where + ": more than " + limit.Scalar() + " items");
    }
  }
  return problems;
}

Problems checkDefaults(const YAML::Node& schema) {
  Problems problems;
  for (const SchemaNode& entry : allNodes(schema)) {
    const YAML::Node value = child(entry.node, "default");
    if (!value) continue;
    for (std::string& problem : validateValue(value, entry.node, entry.path)) {
      problems.push_back("default of " + problem);
    }
  }
  return problems;
}

Problems checkEnums(const YAML::Node& schema) {
  Problems problems;
  for (const SchemaNode& entry : allNodes(schema)) {
    const YAML::Node allowed = child(entry.node, "enum");
    if (!allowed) continue;
    const std::string where = displayPath(entry.path);
    if (!allowed.IsSequence() || allowed.size() == 0) {
      problems.push_back(where + ": enum must be a non-empty list");
      continue;
    }
    std::set<std::string> seen;
    for (const YAML::Node& candidate : allowed) {
      for (std::string& problem : validateValue(candidate, entry.node, entry.path)) {
        problems.push_back("enum value of " + problem);
      }
      if (candidate.IsScalar() && !seen.insert(candidate.Scalar()).second) {
        problems.push_back(where + ": enum lists \"" + candidate.Scalar() + "\" twice");
      }
    }
  }
  return problems;
}

Problems checkListTypes(const YAML::Node& schema) {
  Problems problems;
  static const std::set<std::string> kScalarTypes = {"string", "integer", "number", "boolean"};
  for (const SchemaNode& entry : allNodes(schema)) {
    const std::string where = displayPath(entry.path);
    const YAML::Node listType = child(entry.node, "x-kubernetes-list-type");
    const YAML::Node keys = child(entry.node, "x-kubernetes-list-map-keys");
    if (keys && scalarOr(listType) != "map") {
      problems.push_back(where + ": x-kubernetes-list-map-keys without x-kubernetes-list-type map");
    }
    if (!listType) continue;
    const YAML::Node items = child(entry.node, "items");
    const std::string itemType = scalarOr(child(items, "type"));
    if (scalarOr(child(entry.node, "type")) != "array") {
      problems.push_back(where + ": x-kubernetes-list-type on a non-array");
    }
    const std::string kind = scalarOr(listType);
    if (kind == "atomic") continue;
    if (kind == "set") {
      if (!kScalarTypes.contains(itemType)) {
        problems.push_back(where + ": list-type set needs scalar items, not " + itemType);
      }
      continue;
    }
    if (kind != "map") {
      problems.push_back(where + ": unknown x-kubernetes-list-type \"" + kind + "\"");
      continue;
    }
    if (itemType != "object") problems.push_back(where + ": list-type map needs object items");
    if (scalarList(keys).empty()) {
      problems.push_back(where + ": list-type map needs x-kubernetes-list-map-keys");
    }
    const std::vector<std::string> required = scalarList(child(items, "required"));
    for (const std::string& key : scalarList(keys)) {
      const YAML::Node keySchema = child(child(items, "properties"), key);
      if (!keySchema) {
        problems.push_back(where + ": map key \"" + key + "\" is not a property of the items");
        continue;
      }
      if (!kScalarTypes.contains(scalarOr(child(keySchema, "type")))) {
        problems.push_back(where + ": map key \"" + key + "\" is not a scalar");
      }
      if (!contains(required, key)) {
        problems.push_back(where + ": map key \"" + key + "\" is not required in the items");
      }
    }
  }
  return problems;
}

// ---- Resolving JSONPaths and contract paths against a schema ----

// Resolves ".status.conditions[?(@.type==\"Ready\")].status" or "spec.credits[].id": a name
// steps into properties (or additionalProperties), any [...] steps into items.
std::optional<YAML::Node> resolve(const YAML::Node& schema, std::string_view path,
                                  std::string& error) {
  YAML::Node node = schema;
  std::size_t i = (!path.empty() && path.front() == '.') ? 1 : 0;
  std::string walked;
  while (i < path.size()) {
    if (path[i] == '[') {
      int depth = 0;
      char quote = 0;
      std::size_t end = i;
      for (; end < path.size(); ++end) {
        const char c = path[end];
        if (quote) {
          if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
          quote = c;
        } else if (c == '[') {
          ++depth;
        } else if (c == ']' && --depth == 0) {
          break;
        }
      }
      if (end == path.size()) {
        error = "unbalanced [ in " + std::string(path);
        return std::nullopt;
      }
      if (scalarOr(child(node, "type")) != "array") {
        error = displayPath(walked) + " is not an array";
        return std::nullopt;
      }
      node.reset(child(node, "items"));
      walked += "[]";
      i = end + 1;
      if (i < path.size() && path[i] == '.') ++i;
      continue;
    }
    if (path.substr(i, 2) == "{}") {
      node.reset(child(node, "additionalProperties"));
      if (!node) {
        error = displayPath(walked) + " is not a map";
        return std::nullopt;
      }
      walked += "{}";
      i += 2;
      if (i < path.size() && path[i] == '.') ++i;
      continue;
    }
    const std::size_t end = path.find_first_of(".[{", i);
    const std::string name(path.substr(i, end == std::string_view::npos ? end : end - i));
    if (name.empty()) {
      error = "empty step in " + std::string(path);
      return std::nullopt;
    }
    if (YAML::Node next = child(child(node, "properties"), name); next) {
      node.reset(next);
    } else if (YAML::Node values = child(node, "additionalProperties"); values) {
      node.reset(values);
    } else {
      error = displayPath(walked) + " has no field \"" + name + "\"";
      return std::nullopt;
    }
    walked = childPath(walked, name);
    if (end == std::string_view::npos) break;
    i = path[end] == '.' ? end + 1 : end;
  }
  return node;
}

const std::set<std::string> kObjectMetaColumns = {".metadata.name", ".metadata.namespace",
                                                  ".metadata.creationTimestamp",
                                                  ".metadata.generation", ".metadata.uid"};

Problems checkPrinterColumns(const YAML::Node& version, const YAML::Node& schema) {
  Problems problems;
  static const std::set<std::string> kColumnTypes = {"integer", "number", "string", "boolean",
                                                     "date"};
  std::set<std::string> names;
  const YAML::Node columns = child(version, "additionalPrinterColumns");
  if (!columns || !columns.IsSequence()) return {"additionalPrinterColumns: missing"};
  for (const YAML::Node& column : columns) {
    const std::string name = scalarOr(child(column, "name"));
    const std::string type = scalarOr(child(column, "type"));
    const std::string jsonPath = scalarOr(child(column, "jsonPath"));
    const std::string where = "column \"" + name + "\" (" + jsonPath + ")";
    if (name.empty()) problems.push_back(where + ": has no name");
    if (!names.insert(name).second) problems.push_back(where + ": duplicate column name");
    if (!kColumnTypes.contains(type)) problems.push_back(where + ": unknown type " + type);
    if (jsonPath.starts_with(".metadata.")) {
      if (!kObjectMetaColumns.contains(jsonPath)) {
        problems.push_back(where + ": not a well-known ObjectMeta field");
      }
      if (type == "date" && jsonPath != ".metadata.creationTimestamp") {
        problems.push_back(where + ": a date column must name a timestamp");
      }
      continue;
    }
    if (!jsonPath.starts_with(".spec.") && !jsonPath.starts_with(".status.")) {
      problems.push_back(where + ": must start with .spec, .status or .metadata");
      continue;
    }
    std::string error;
    const std::optional<YAML::Node> target = resolve(schema, jsonPath, error);
    if (!target) {
      problems.push_back(where + ": path not in the schema: " + error);
      continue;
    }
    const std::string fieldType = scalarOr(child(*target, "type"));
    const bool consistent =
        (type == "string" && fieldType == "string") ||
        (type == "integer" && fieldType == "integer") ||
        (type == "number" && (fieldType == "integer" || fieldType == "number")) ||
        (type == "boolean" && fieldType == "boolean") ||
        (type == "date" && fieldType == "string" &&
         scalarOr(child(*target, "format")) == "date-time");
    if (!consistent) {
      problems.push_back(where + ": column type " + type + " does not fit field type " + fieldType);
    }
  }
  return problems;
}

// ---- The three files and their contract ----

struct Column {
  std::string name;
  std::string type;
  std::string jsonPath;
  int priority = 0;
  friend bool operator==(const Column&, const Column&) = default;
};

std::ostream& operator<<(std::ostream& out, const Column& column) {
  return out << "{" << column.name << ", " << column.type << ", " << column.jsonPath
             << ", priority " << column.priority << "}";
}

// A contract field: it must exist with this type, and each listed keyword must have this value
// ("enum" and "required" compare the list joined with '|').
struct Field {
  std::string path;
  std::string type;
  std::vector<std::pair<std::string, std::string>> keywords = {};
};

struct CrdCase {
  std::string file;
  std::string kind;
  std::string plural;
  std::string singular;
  std::string shortName;
  std::vector<Column> columns;
  std::vector<Field> fields;
};

std::ostream& operator<<(std::ostream& out, const CrdCase& crd) { return out << crd.file; }

// Shared by the three kinds: status.conditions as metav1.Condition, and observedGeneration.
std::vector<Field> conditionFields() {
  return {
      {"status.conditions",
       "array",
       {{"x-kubernetes-list-type", "map"}, {"x-kubernetes-list-map-keys", "type"}}},
      {"status.conditions[]",
       "object",
       {{"required", "type|status|reason|message|lastTransitionTime"}}},
      {"status.conditions[].type", "string", {{"maxLength", "316"}}},
      {"status.conditions[].status", "string", {{"enum", "True|False|Unknown"}}},
      {"status.conditions[].reason",
       "string",
       {{"minLength", "1"},
        {"maxLength", "1024"},
        {"pattern", "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"}}},
      {"status.conditions[].message", "string", {{"maxLength", "32768"}}},
      {"status.conditions[].observedGeneration", "integer", {{"format", "int64"}}},
      {"status.conditions[].lastTransitionTime", "string", {{"format", "date-time"}}},
      {"status.observedGeneration", "integer", {{"format", "int64"}}},
  };
}

std::vector<Field> withConditions(std::vector<Field> fields) {
  for (Field& field : conditionFields()) fields.push_back(std::move(field));
  return fields;
}

const std::string kReadyPath = R"(.status.conditions[?(@.type=="Ready")].status)";
const std::string kDecimal = R"(^[0-9]{1,15}(\.[0-9]{1,4})?$)";

std::vector<CrdCase> crdCases() {
  return {
      {"billing.operator.dev_billinggroups.yaml",
       "BillingGroup",
       "billinggroups",
       "billinggroup",
       "bg",
       {{"Organization", "string", ".status.organization"},
        {"Scope", "string", ".spec.scope"},
        {"Projects", "integer", ".status.projectCount"},
        {"Currency", "string", ".spec.currency", 1},
        {"Period", "string", ".spec.invoicing.period", 1},
        {"Ready", "string", kReadyPath},
        {"Age", "date", ".metadata.creationTimestamp"}},
       withConditions({
           {"", "object", {{"required", "spec"}}},
           {"spec", "object", {{"required", "currency"}}},
           {"spec.displayName", "string", {{"maxLength", "256"}}},
           {"spec.scope",
            "string",
            {{"enum", "Organization|Project"}, {"default", "Organization"}}},
           {"spec.projectRef", "object", {{"required", "name"}}},
           {"spec.projectRef.name", "string"},
           {"spec.currency", "string", {{"pattern", "^[A-Z]{3}$"}}},
           {"spec.billingEmails", "array", {{"maxItems", "20"}}},
           {"spec.billingEmails[]", "string", {{"format", "email"}}},
           {"spec.billingContactEmails", "array", {{"maxItems", "20"}}},
           {"spec.billingContactEmails[]", "string", {{"format", "email"}}},
           {"spec.company", "string"},
           {"spec.address", "object"},
           {"spec.address.lines", "array", {{"maxItems", "4"}}},
           {"spec.address.lines[]", "string"},
           {"spec.address.city", "string"},
           {"spec.address.state", "string"},
           {"spec.address.zipCode", "string"},
           {"spec.address.countryCode", "string", {{"pattern", "^[A-Z]{2}$"}}},
           {"spec.vatId", "string", {{"maxLength", "32"}}},
           {"spec.paymentMethod", "object", {{"required", "type"}}},
           {"spec.paymentMethod.type",
            "string",
            {{"enum", "Card|SepaDebit|AchDebit|BankTransfer"}}},
           {"spec.paymentMethod.secretRef", "object", {{"required", "name|key"}}},
           {"spec.paymentMethod.secretRef.name", "string"},
           {"spec.paymentMethod.secretRef.key", "string"},
           {"spec.invoiceText", "string", {{"maxLength", "2000"}}},
           {"spec.invoicing", "object", {{"default", "{}"}}},
           {"spec.invoicing.period",
            "string",
            {{"enum", "Monthly|Weekly|Daily"}, {"default", "Monthly"}}},
           {"spec.credits", "array"},
           {"spec.credits[]", "object", {{"required", "id|amount"}}},
           {"spec.credits[].id", "string", {{"pattern", "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}}},
           {"spec.credits[].amount", "string", {{"pattern", kDecimal}}},
           {"spec.credits[].description", "string"},
           {"spec.credits[].expiresAt", "string", {{"format", "date-time"}}},
           {"status", "object"},
           {"status.organization", "string"},
           {"status.projectCount", "integer", {{"format", "int64"}}},
           {"status.projects", "array"},
           {"status.projects[].namespace", "string"},
           {"status.projects[].name", "string"},
           {"status.credits", "string"},
           {"status.currentPeriod", "object"},
           {"status.currentPeriod.start", "string", {{"format", "date-time"}}},
           {"status.currentPeriod.end", "string", {{"format", "date-time"}}},
           {"status.currentPeriod.estimatedTotal", "string"},
           {"status.lastInvoice", "object"},
           {"status.lastInvoice.name", "string"},
           {"status.lastInvoice.number", "string"},
           {"status.lastInvoice.periodStart", "string"},
           {"status.lastInvoice.periodEnd", "string"},
           {"status.lastInvoice.total", "string"},
           {"status.lastInvoice.state", "string"},
       })},
      {"billing.operator.dev_projects.yaml",
       "Project",
       "projects",
       "project",
       "bproj",
       {{"Organization", "string", ".status.organization"},
        {"Billing Group", "string", ".status.billingGroup.name"},
        {"Scope", "string", ".status.billingGroup.scope"},
        {"Group Namespace", "string", ".status.billingGroup.namespace", 1},
        {"Ready", "string", kReadyPath},
        {"Age", "date", ".metadata.creationTimestamp"}},
       withConditions({
           {"spec", "object"},
           {"spec.displayName", "string"},
           {"spec.billingGroupRef", "object", {{"required", "name"}}},
           {"spec.billingGroupRef.name", "string"},
           {"spec.billingGroupRef.namespace", "string"},
           {"spec.tags", "object", {{"maxProperties", "64"}}},
           {"spec.tags{}", "string"},
           {"status", "object"},
           {"status.organization", "string"},
           {"status.billingGroup", "object"},
           {"status.billingGroup.name", "string"},
           {"status.billingGroup.namespace", "string"},
           {"status.billingGroup.scope", "string", {{"enum", "Organization|Project"}}},
       })},
      {"billing.operator.dev_invoices.yaml",
       "Invoice",
       "invoices",
       "invoice",
       "binv",
       {{"Billing Group", "string", ".spec.billingGroupRef.name"},
        {"Period Start", "string", ".spec.periodStart"},
        {"Period End", "string", ".spec.periodEnd"},
        {"Number", "string", ".status.number"},
        {"State", "string", ".status.state"},
        {"Total", "string", ".status.total"},
        {"Currency", "string", ".status.currency"},
        {"Age", "date", ".metadata.creationTimestamp"}},
       withConditions({
           {"", "object", {{"required", "spec"}}},
           {"spec", "object", {{"required", "billingGroupRef|periodStart|periodEnd"}}},
           {"spec.billingGroupRef", "object", {{"required", "name"}}},
           {"spec.billingGroupRef.name", "string"},
           {"spec.periodStart", "string", {{"format", "date-time"}}},
           {"spec.periodEnd", "string", {{"format", "date-time"}}},
           {"spec.finalize", "boolean", {{"default", "false"}}},
           {"status", "object"},
           {"status.number", "string"},
           {"status.state", "string", {{"enum", "Draft|Finalized|Paid|Void"}}},
           {"status.currency", "string"},
           {"status.subtotal", "string"},
           {"status.creditsApplied", "string"},
           {"status.total", "string"},
           {"status.projectTotals", "array"},
           {"status.projectTotals[].project", "string"},
           {"status.projectTotals[].amount", "string"},
           {"status.periodStart", "string", {{"format", "date-time"}}},
           {"status.periodEnd", "string", {{"format", "date-time"}}},
           {"status.backendInvoiceId", "string"},
       })},
  };
}

Problems checkFields(const YAML::Node& schema, const std::vector<Field>& fields) {
  Problems problems;
  for (const Field& field : fields) {
    const std::string where = displayPath(field.path);
    std::string error;
    const std::optional<YAML::Node> node = resolve(schema, field.path, error);
    if (!node) {
      problems.push_back(where + ": missing from the schema: " + error);
      continue;
    }
    const std::string type = scalarOr(child(*node, "type"));
    if (type != field.type) {
      problems.push_back(where + ": type is \"" + type + "\", the contract says " + field.type);
    }
    for (const auto& [keyword, expected] : field.keywords) {
      const YAML::Node value = child(*node, keyword);
      std::string actual = "<absent>";
      if (value && value.IsSequence()) {
        actual = join(scalarList(value), "|");
      } else if (value && value.IsMap()) {
        actual = YAML::Dump(value);
      } else {
        actual = scalarOr(value, actual);
      }
      if (actual != expected) {
        problems.push_back(where + ": " + keyword + " is \"" + actual + "\", the contract says \"" +
                           expected + "\"");
      }
    }
  }
  return problems;
}

std::string crdFile(const CrdCase& crd) {
  return std::string(BILLING_SOURCE_DIR) + "/crds/" + crd.file;
}

class CrdFileTest : public testing::TestWithParam<CrdCase> {
 protected:
  void SetUp() override {
    const CrdCase& crd = GetParam();
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAllFromFile(crdFile(crd));
    } catch (const YAML::Exception& error) {
      FAIL() << crdFile(crd) << ": does not parse: " << error.what();
    }
    ASSERT_EQ(documents.size(), 1u) << crd.file << ": expected exactly one YAML document";
    crd_.reset(documents.front());
    ASSERT_TRUE(crd_.IsMap()) << crd.file << ": not a YAML mapping";
    const YAML::Node versions = child(child(crd_, "spec"), "versions");
    ASSERT_TRUE(versions && versions.IsSequence() && versions.size() > 0)
        << crd.file << ": spec.versions is missing";
    version_.reset(versions[0]);
    schema_.reset(child(child(version_, "schema"), "openAPIV3Schema"));
    ASSERT_TRUE(schema_ && schema_.IsMap()) << crd.file << ": versions[0] has no openAPIV3Schema";
  }

  std::string file() const { return "crds/" + GetParam().file; }

  YAML::Node crd_;
  YAML::Node version_;
  YAML::Node schema_;
};

TEST_P(CrdFileTest, IsAV1CustomResourceDefinitionWithTheBriefsNames) {
  const CrdCase& crd = GetParam();
  const YAML::Node spec = child(crd_, "spec");
  const YAML::Node names = child(spec, "names");
  EXPECT_EQ(scalarOr(child(crd_, "apiVersion")), "apiextensions.k8s.io/v1") << file();
  EXPECT_EQ(scalarOr(child(crd_, "kind")), "CustomResourceDefinition") << file();
  EXPECT_EQ(scalarOr(child(child(crd_, "metadata"), "name")),
            crd.plural + "." + std::string(kGroup))
      << file() << ": metadata.name must be <plural>.<group>";
  EXPECT_EQ(scalarOr(child(spec, "group")), kGroup) << file();
  EXPECT_EQ(scalarOr(child(spec, "scope")), "Namespaced") << file();
  EXPECT_EQ(scalarOr(child(names, "kind")), crd.kind) << file();
  EXPECT_EQ(scalarOr(child(names, "listKind")), crd.kind + "List") << file();
  EXPECT_EQ(scalarOr(child(names, "plural")), crd.plural) << file();
  EXPECT_EQ(scalarOr(child(names, "singular")), crd.singular) << file();
  EXPECT_EQ(scalarList(child(names, "shortNames")), std::vector<std::string>{crd.shortName})
      << file();
  EXPECT_EQ(scalarList(child(names, "categories")), std::vector<std::string>{"billing"})
      << file() << ": `kubectl get billing` must list every kind";
}

TEST_P(CrdFileTest, CarriesTheStandardLabels) {
  const YAML::Node labels = child(child(crd_, "metadata"), "labels");
  EXPECT_EQ(scalarOr(child(labels, "app.kubernetes.io/name")), "billing-operator") << file();
  EXPECT_EQ(scalarOr(child(labels, "app.kubernetes.io/part-of")), "billing-operator") << file();
}

TEST_P(CrdFileTest, ServesOneStorageVersionWithAStatusSubresource) {
  const YAML::Node versions = child(child(crd_, "spec"), "versions");
  ASSERT_EQ(versions.size(), 1u) << file() << ": exactly one version is served";
  EXPECT_EQ(scalarOr(child(version_, "name")), kVersion) << file();
  EXPECT_EQ(scalarKind(child(version_, "served")), "boolean") << file();
  EXPECT_EQ(scalarOr(child(version_, "served")), "true") << file();
  EXPECT_EQ(scalarOr(child(version_, "storage")), "true") << file();
  const YAML::Node status = child(child(version_, "subresources"), "status");
  EXPECT_TRUE(status && status.IsMap() && status.size() == 0)
      << file() << ": subresources.status must be {} so that only the operator writes status";
}

TEST_P(CrdFileTest, EveryNodeHasATypeAndADescription) {
  const Problems problems = checkTypesAndDescriptions(schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, NoNodeHasBothPropertiesAndAdditionalProperties) {
  const Problems problems = checkPropertiesXorAdditionalProperties(schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, UsesOnlyStructuralKeywordsAndKnownFormats) {
  const Problems problems = checkKeywordsAndShapes(schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, RootFieldsAreWhatTheApiServerAccepts) {
  const Problems problems = checkRootFields(schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, DefaultsAreValidAgainstTheirSchema) {
  const Problems problems = checkDefaults(schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, EnumValuesMatchTheirType) {
  const Problems problems = checkEnums(schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, ListMapKeysAreRequiredScalarFieldsOfTheItems) {
  const Problems problems = checkListTypes(schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, PrinterColumnsNameFieldsOfTheSchema) {
  const Problems problems = checkPrinterColumns(version_, schema_);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

TEST_P(CrdFileTest, PrinterColumnsAreTheBriefs) {
  std::vector<Column> columns;
  const YAML::Node declared = child(version_, "additionalPrinterColumns");
  ASSERT_TRUE(declared && declared.IsSequence()) << file() << ": no additionalPrinterColumns";
  for (const YAML::Node& column : declared) {
    const YAML::Node priority = child(column, "priority");
    columns.push_back({scalarOr(child(column, "name")), scalarOr(child(column, "type")),
                       scalarOr(child(column, "jsonPath")), priority ? priority.as<int>() : 0});
  }
  EXPECT_EQ(columns, GetParam().columns) << file();
}

TEST_P(CrdFileTest, ContractFieldsExistWithTheirTypesAndLimits) {
  const Problems problems = checkFields(schema_, GetParam().fields);
  EXPECT_TRUE(problems.empty()) << file() << ":\n" << joinLines(problems);
}

INSTANTIATE_TEST_SUITE_P(Crds, CrdFileTest, testing::ValuesIn(crdCases()),
                         [](const testing::TestParamInfo<CrdCase>& param) {
                           return param.param.kind;
                         });

// ---- What a user notices at `kubectl apply` time ----

YAML::Node loadSchema(const std::string& file) {
  const YAML::Node crd = YAML::LoadFile(std::string(BILLING_SOURCE_DIR) + "/crds/" + file);
  return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

YAML::Node fieldSchema(const YAML::Node& schema, const std::string& path) {
  std::string error;
  const std::optional<YAML::Node> node = resolve(schema, path, error);
  if (!node) ADD_FAILURE() << path << ": " << error;
  return node.value_or(YAML::Node());
}

// Validates a quoted YAML string, as a user writes one in a manifest.
bool accepts(const YAML::Node& schema, const std::string& text) {
  return validateValue(YAML::Load("'" + text + "'"), schema, "value").empty();
}

TEST(BillingGroupSchema, PatternsAcceptWhatTheBriefAllowsAndNothingElse) {
  const YAML::Node schema = loadSchema("billing.operator.dev_billinggroups.yaml");
  const YAML::Node currency = fieldSchema(schema, "spec.currency");
  EXPECT_TRUE(accepts(currency, "EUR"));
  EXPECT_FALSE(accepts(currency, "eur"));
  EXPECT_FALSE(accepts(currency, "EURO"));
  EXPECT_FALSE(accepts(currency, ""));
  const YAML::Node country = fieldSchema(schema, "spec.address.countryCode");
  EXPECT_TRUE(accepts(country, "DE"));
  EXPECT_FALSE(accepts(country, "DEU"));
  EXPECT_FALSE(accepts(country, "de"));
  const YAML::Node amount = fieldSchema(schema, "spec.credits[].amount");
  for (const std::string valid : {"0", "500", "125.50", "0.0001", "999999999999999.9999"}) {
    EXPECT_TRUE(accepts(amount, valid)) << valid;
  }
  for (const std::string invalid :
       {"-1", "1e3", "1.23456", "1,00", "12.", ".5", "1000000000000000"}) {
    EXPECT_FALSE(accepts(amount, invalid)) << invalid;
  }
  const YAML::Node id = fieldSchema(schema, "spec.credits[].id");
  EXPECT_TRUE(accepts(id, "promo-2024-q1"));
  EXPECT_FALSE(accepts(id, "Promo"));
  EXPECT_FALSE(accepts(id, "-promo"));
  EXPECT_FALSE(accepts(id, std::string(64, 'a')));
  const YAML::Node reason = fieldSchema(schema, "status.conditions[].reason");
  EXPECT_TRUE(accepts(reason, "ProjectsAttached"));
  EXPECT_FALSE(accepts(reason, ""));
  EXPECT_FALSE(accepts(reason, "not camel case"));
  const YAML::Node conditionType = fieldSchema(schema, "status.conditions[].type");
  EXPECT_TRUE(accepts(conditionType, "Ready"));
  EXPECT_TRUE(accepts(conditionType, "billing.operator.dev/BackendSynced"));
  EXPECT_FALSE(accepts(conditionType, "Not Ready"));
}

TEST(BillingGroupSchema, AcceptsAFullExampleAndRefusesMistakes) {
  const YAML::Node spec =
      fieldSchema(loadSchema("billing.operator.dev_billinggroups.yaml"), "spec");
  const YAML::Node example = YAML::Load(R"(
displayName: ACME Platform
scope: Organization
currency: EUR
billingEmails: [accounts-payable@acme.example]
billingContactEmails: [finops@acme.example]
company: ACME GmbH
address:
  lines: ['Hauptstrasse 1']
  city: Berlin
  zipCode: '10115'
  countryCode: DE
vatId: DE123456789
paymentMethod:
  type: SepaDebit
  secretRef: {name: acme-sepa, key: mandate}
invoiceText: PO 4711
invoicing: {period: Monthly}
credits:
  - {id: welcome, amount: '500.00', description: Welcome credit, expiresAt: '2030-01-01T00:00:00Z'}
)");
  const Problems problems = validateValue(example, spec, "spec");
  EXPECT_TRUE(problems.empty()) << joinLines(problems);

  EXPECT_FALSE(validateValue(YAML::Load("{currency: EUR, scope: Global}"), spec, "spec").empty());
  EXPECT_FALSE(validateValue(YAML::Load("{scope: Organization}"), spec, "spec").empty())
      << "currency is required";
  EXPECT_FALSE(
      validateValue(YAML::Load("{currency: EUR, paymentMethod: {type: Card, token: tok_123}}"),
                    spec, "spec")
          .empty())
      << "a payment token in the spec must be pruned away, never stored (R8)";
  EXPECT_FALSE(
      validateValue(YAML::Load("{currency: EUR, credits: [{id: x, amount: 12.5}]}"), spec, "spec")
          .empty())
      << "an unquoted amount is a number, not the decimal string the contract asks for";
}

std::vector<std::string> propertyNames(const YAML::Node& schema) {
  std::vector<std::string> names;
  for (const auto& entry : child(schema, "properties")) names.push_back(entry.first.Scalar());
  return names;
}

TEST(BillingGroupSchema, PaymentSecretsAreReferencedNeverEmbedded) {
  // R8: a payment method names a Secret key; no field could hold a card number or a mandate.
  const YAML::Node schema = loadSchema("billing.operator.dev_billinggroups.yaml");
  EXPECT_EQ(propertyNames(fieldSchema(schema, "spec.paymentMethod")),
            (std::vector<std::string>{"type", "secretRef"}));
  EXPECT_EQ(propertyNames(fieldSchema(schema, "spec.paymentMethod.secretRef")),
            (std::vector<std::string>{"name", "key"}));
}

TEST(ProjectSchema, AcceptsAnEmptySpecAndAReferenceToAnotherNamespace) {
  const YAML::Node spec = fieldSchema(loadSchema("billing.operator.dev_projects.yaml"), "spec");
  EXPECT_TRUE(validateValue(YAML::Load("{}"), spec, "spec").empty());
  const Problems problems = validateValue(
      YAML::Load("{billingGroupRef: {name: acme, namespace: acme-billing}, tags: {team: web}}"),
      spec, "spec");
  EXPECT_TRUE(problems.empty()) << joinLines(problems);
  EXPECT_FALSE(
      validateValue(YAML::Load("{billingGroupRef: {namespace: acme}}"), spec, "spec").empty())
      << "billingGroupRef.name is required";
  EXPECT_FALSE(validateValue(YAML::Load("{tags: {team: {nested: x}}}"), spec, "spec").empty())
      << "tag values are strings";
  YAML::Node tooManyTags(YAML::NodeType::Map);
  for (int i = 0; i < 65; ++i) tooManyTags["tag" + std::to_string(i)] = "x";
  EXPECT_FALSE(validateValue(tooManyTags, fieldSchema(spec, "tags"), "spec.tags").empty())
      << "at most 64 tags";
  const YAML::Node ns = fieldSchema(spec, "billingGroupRef.namespace");
  EXPECT_TRUE(accepts(ns, "acme-billing"));
  EXPECT_FALSE(accepts(ns, "Acme_Billing"));
}

TEST(InvoiceSchema, RequiresAGroupAndAPeriod) {
  const YAML::Node spec = fieldSchema(loadSchema("billing.operator.dev_invoices.yaml"), "spec");
  const Problems problems = validateValue(
      YAML::Load("{billingGroupRef: {name: acme}, periodStart: '2025-03-01T00:00:00Z', "
                 "periodEnd: '2025-04-01T00:00:00Z', finalize: true}"),
      spec, "spec");
  EXPECT_TRUE(problems.empty()) << joinLines(problems);
  EXPECT_FALSE(validateValue(YAML::Load("{billingGroupRef: {name: acme}}"), spec, "spec").empty());
  EXPECT_FALSE(
      validateValue(
          YAML::Load("{billingGroupRef: {name: acme}, periodStart: '2025-03-01T00:00:00Z', "
                     "periodEnd: '2025-04-01T00:00:00Z', finalize: 'yes'}"),
          spec, "spec")
          .empty())
      << "finalize is a boolean";
}

// ---- The checks themselves can fail ----

YAML::Node schemaWithSpec(const std::string& specYaml) {
  YAML::Node schema = YAML::Load(R"(
type: object
description: root
properties:
  apiVersion: {type: string, description: v}
  kind: {type: string, description: k}
  metadata: {type: object}
  status: {type: object, description: s, properties: {x: {type: string, description: x}}}
)");
  schema["properties"]["spec"] = YAML::Load(specYaml);
  return schema;
}

bool mentions(const Problems& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(), [&](const std::string& problem) {
    return problem.find(text) != std::string::npos;
  });
}

TEST(SchemaChecks, AcceptAMinimalCorrectSchema) {
  const YAML::Node schema = schemaWithSpec(
      "{type: object, description: s, properties: {a: {type: string, description: a, default: "
      "x}}}");
  EXPECT_TRUE(checkTypesAndDescriptions(schema).empty());
  EXPECT_TRUE(checkPropertiesXorAdditionalProperties(schema).empty());
  EXPECT_TRUE(checkKeywordsAndShapes(schema).empty());
  EXPECT_TRUE(checkRootFields(schema).empty());
  EXPECT_TRUE(checkDefaults(schema).empty());
}

TEST(SchemaChecks, FindAMissingTypeOrDescriptionInListItems) {
  const Problems problems = checkTypesAndDescriptions(schemaWithSpec(
      "{type: object, description: s, properties: {l: {type: array, description: l, "
      "items: {description: i}}, m: {type: object, additionalProperties: {type: string}}}}"));
  EXPECT_TRUE(mentions(problems, "spec.l[]: has no type")) << joinLines(problems);
  EXPECT_TRUE(mentions(problems, "spec.m: has no description")) << joinLines(problems);
  EXPECT_TRUE(mentions(problems, "spec.m{}: has no description")) << joinLines(problems);
}

TEST(SchemaChecks, FindPropertiesMixedWithAdditionalProperties) {
  const Problems problems = checkPropertiesXorAdditionalProperties(schemaWithSpec(
      "{type: object, description: s, properties: {a: {type: string, description: a}}, "
      "additionalProperties: {type: string, description: v}}"));
  EXPECT_TRUE(mentions(problems, "spec: has both")) << joinLines(problems);
}

TEST(SchemaChecks, FindCelRulesUnknownFormatsAndADescribedRootMetadata) {
  YAML::Node schema = schemaWithSpec(
      "{type: object, description: s, x-kubernetes-validations: [{rule: 'true'}], "
      "properties: {a: {type: string, description: a, format: iban}}}");
  schema["properties"]["metadata"]["description"] = "not allowed";
  const Problems problems = checkKeywordsAndShapes(schema);
  EXPECT_TRUE(mentions(problems, "spec: uses CEL")) << joinLines(problems);
  EXPECT_TRUE(mentions(problems, "spec.a: format \"iban\"")) << joinLines(problems);
  EXPECT_TRUE(mentions(checkRootFields(schema), "metadata: must be exactly"));
}

TEST(SchemaChecks, FindDefaultsAndEnumsTheApiServerWouldRefuse) {
  const YAML::Node schema = schemaWithSpec(R"(
type: object
description: s
properties:
  scope: {type: string, description: s, enum: [Organization, Project], default: Global}
  status: {type: string, description: s, enum: [True, 'False']}
  count: {type: integer, description: c, default: '3'}
  country: {type: string, description: c, default: NO}
  nested: {type: object, description: n, default: {other: 1}, properties: {a: {type: string, description: a}}}
)");
  const Problems defaults = checkDefaults(schema);
  EXPECT_TRUE(mentions(defaults, "spec.scope: \"Global\" (read as string) is not one of"))
      << joinLines(defaults);
  EXPECT_TRUE(mentions(defaults, "spec.count: \"3\" (read as string) is not of type integer"))
      << joinLines(defaults);
  EXPECT_TRUE(mentions(defaults, "spec.country: \"NO\" (read as boolean)")) << joinLines(defaults);
  EXPECT_TRUE(mentions(defaults, "spec.nested: unknown field \"other\"")) << joinLines(defaults);
  const Problems enums = checkEnums(schema);
  EXPECT_TRUE(mentions(enums, "spec.status: \"True\" (read as boolean) is not of type string"))
      << joinLines(enums);
}

TEST(SchemaChecks, FindListMapKeysThatAreNotRequired) {
  const Problems problems = checkListTypes(schemaWithSpec(R"(
type: object
description: s
properties:
  list:
    type: array
    description: l
    x-kubernetes-list-type: map
    x-kubernetes-list-map-keys: [id, missing]
    items: {type: object, description: i, properties: {id: {type: string, description: i}}}
)"));
  EXPECT_TRUE(mentions(problems, "spec.list: map key \"id\" is not required"))
      << joinLines(problems);
  EXPECT_TRUE(mentions(problems, "spec.list: map key \"missing\" is not a property"))
      << joinLines(problems);
}

TEST(SchemaChecks, FindPrinterColumnsOutsideTheSchema) {
  const YAML::Node schema = schemaWithSpec(
      "{type: object, description: s, properties: {l: {type: array, description: l, items: "
      "{type: object, description: i, properties: {n: {type: integer, description: n}}}}}}");
  const YAML::Node version = YAML::Load(R"(
additionalPrinterColumns:
  - {name: Good, type: integer, jsonPath: '.spec.l[?(@.n==1)].n'}
  - {name: Missing, type: string, jsonPath: .status.nothing}
  - {name: WrongType, type: date, jsonPath: '.spec.l[0].n'}
  - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
)");
  const Problems problems = checkPrinterColumns(version, schema);
  EXPECT_FALSE(mentions(problems, "column \"Good\"")) << joinLines(problems);
  EXPECT_FALSE(mentions(problems, "column \"Age\"")) << joinLines(problems);
  EXPECT_TRUE(mentions(problems, "column \"Missing\" (.status.nothing): path not in the schema"))
      << joinLines(problems);
  EXPECT_TRUE(mentions(problems, "column \"WrongType\"")) << joinLines(problems);
}

TEST(SchemaChecks, FindMissingContractFields) {
  const Problems problems = checkFields(
      schemaWithSpec("{type: object, description: s, properties: {scope: {type: string, "
                     "description: s, enum: [Organization]}}}"),
      {{"spec.scope", "string", {{"enum", "Organization|Project"}}}, {"spec.currency", "string"}});
  EXPECT_TRUE(mentions(problems, "spec.scope: enum is \"Organization\"")) << joinLines(problems);
  EXPECT_TRUE(mentions(problems, "spec.currency: missing")) << joinLines(problems);
}

}  // namespace
