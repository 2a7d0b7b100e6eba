#include "tools/docs-gen/markdown.h"

#include <set>
#include <sstream>
#include <vector>

#include "common/json.h"
#include "common/yaml.h"

namespace billing::docsgen {
namespace {

using web::json::value;

bool has(const value& object, const char* key) {
  return object.is_object() && object.as_object().find(key) != object.as_object().end();
}

std::string str(const value& object, const char* key) {
  if (!has(object, key) || !object.at(key).is_string()) return {};
  return object.at(key).as_string();
}

std::string code(std::string_view text) {
  // Backticks inside inline code would end it early; patterns and defaults rarely hold them, but
  // a double-backtick span copes when they do.
  if (text.find('`') != std::string_view::npos) return "`` " + std::string(text) + " ``";
  return "`" + std::string(text) + "`";
}

std::string compact(const value& v) { return common::toJson(v); }

// "Organization" for a JSON string, its JSON text for anything else, as a reader types it.
std::string literal(const value& v) { return v.is_string() ? v.as_string() : compact(v); }

std::string joinCodes(const value& array, std::string_view separator) {
  std::string out;
  if (!array.is_array()) return out;
  for (const value& item : array.as_array()) {
    if (!out.empty()) out += separator;
    out += code(literal(item));
  }
  return out;
}

// The JSON schema type of a node as a reader of Go or Kubernetes docs expects it:
// "string (date-time)", "[]string", "map[string]string", "object", "integer (int64)".
std::string typeOf(const value& schema) {
  std::string type = str(schema, "type");
  if (type.empty() && has(schema, "enum")) {
    const web::json::array& values = schema.at("enum").as_array();
    if (values.size() > 0) {
      const value& first = *values.begin();
      type = first.is_string() ? "string" : first.is_boolean() ? "boolean" : "";
    }
  }
  if (has(schema, "x-kubernetes-int-or-string")) type = "int-or-string";
  if (type == "array" && has(schema, "items")) return "[]" + typeOf(schema.at("items"));
  if (type == "object" && has(schema, "additionalProperties") &&
      schema.at("additionalProperties").is_object()) {
    return "map[string]" + typeOf(schema.at("additionalProperties"));
  }
  if (type.empty()) type = "any";
  const std::string format = str(schema, "format");
  if (!format.empty()) type += " (" + format + ")";
  return type;
}

// Every constraint of a schema node that a user can break, as one cell.
std::string validationOf(const value& schema, bool required) {
  std::vector<std::string> parts;
  if (required) parts.push_back("required");
  if (has(schema, "enum")) parts.push_back("one of " + joinCodes(schema.at("enum"), ", "));
  auto bound = [&](const char* key, const char* label) {
    if (has(schema, key)) parts.push_back(std::string(label) + " " + compact(schema.at(key)));
  };
  bound("minLength", "min length");
  bound("maxLength", "max length");
  bound("minimum", "min");
  bound("maximum", "max");
  bound("exclusiveMinimum", "exclusive min");
  bound("exclusiveMaximum", "exclusive max");
  bound("minItems", "min items");
  bound("maxItems", "max items");
  bound("minProperties", "min properties");
  bound("maxProperties", "max properties");
  if (has(schema, "uniqueItems") && schema.at("uniqueItems").is_boolean() &&
      schema.at("uniqueItems").as_bool()) {
    parts.push_back("unique items");
  }
  if (has(schema, "pattern")) parts.push_back("pattern " + code(str(schema, "pattern")));
  if (has(schema, "x-kubernetes-list-type")) {
    std::string listType = "list type " + code(str(schema, "x-kubernetes-list-type"));
    if (has(schema, "x-kubernetes-list-map-keys")) {
      listType += " keyed by " + joinCodes(schema.at("x-kubernetes-list-map-keys"), ", ");
    }
    parts.push_back(listType);
  }
  if (has(schema, "x-kubernetes-validations") && schema.at("x-kubernetes-validations").is_array()) {
    for (const value& rule : schema.at("x-kubernetes-validations").as_array()) {
      std::string text = "rule " + code(str(rule, "rule"));
      const std::string message = str(rule, "message");
      if (!message.empty()) text += ": " + message;
      parts.push_back(text);
    }
  }
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : "; ") + part;
  return out;
}

bool isRequired(const value& parent, const std::string& name) {
  if (!has(parent, "required") || !parent.at("required").is_array()) return false;
  for (const value& item : parent.at("required").as_array()) {
    if (item.is_string() && item.as_string() == name) return true;
  }
  return false;
}

struct FieldWalk {
  std::string rows;
  std::string error;
};

void walkFields(const value& node, const std::string& path, bool required, FieldWalk& walk) {
  if (!walk.error.empty()) return;
  // metadata is Kubernetes' ObjectMeta: its own reference, not this resource's.
  const bool described = !str(node, "description").empty();
  if (!described && path != "metadata") {
    walk.error = "field " + path +
                 " has no description; add one to the CRD so that `kubectl explain` and "
                 "docs/resources.md can say what it is";
    return;
  }
  const std::string defaultCell = has(node, "default") ? code(compact(node.at("default"))) : "";
  walk.rows += "| " + code(path) + " | " + cell(typeOf(node)) + " | " + cell(defaultCell) + " | " +
               cell(validationOf(node, required)) + " | " +
               prose(path == "metadata" ? "Standard Kubernetes object metadata."
                                        : str(node, "description")) +
               " |\n";
  if (has(node, "properties") && node.at("properties").is_object()) {
    for (const auto& [name, child] : node.at("properties").as_object()) {
      walkFields(child, path + "." + name, isRequired(node, name), walk);
    }
  }
  if (has(node, "items") && has(node.at("items"), "properties")) {
    const value& items = node.at("items");
    for (const auto& [name, child] : items.at("properties").as_object()) {
      walkFields(child, path + "[]." + name, isRequired(items, name), walk);
    }
  }
  if (has(node, "additionalProperties") && has(node.at("additionalProperties"), "properties")) {
    const value& entries = node.at("additionalProperties");
    for (const auto& [name, child] : entries.at("properties").as_object()) {
      walkFields(child, path + ".<key>." + name, isRequired(entries, name), walk);
    }
  }
}

std::vector<std::string> splitLines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < text.size()) lines.emplace_back(text.substr(start));
      break;
    }
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const std::size_t last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

// The `# --` comment block directly above 1-based line `line`: helm-docs' marker for a value's
// description; comment lines after the marker continue it.
std::string helmDocsComment(const std::vector<std::string>& lines, int line) {
  std::vector<std::string> block;
  for (int i = line - 2; i >= 0; --i) {
    const std::string text = trim(lines[static_cast<std::size_t>(i)]);
    if (text.rfind('#', 0) != 0) break;
    block.insert(block.begin(), text);
  }
  std::string description;
  bool started = false;
  for (const std::string& text : block) {
    if (text.rfind("# --", 0) == 0) {
      started = true;
      description = trim(text.substr(4));
      continue;
    }
    if (started) description += " " + trim(text.substr(1));
  }
  return description;
}

struct ValuesWalk {
  const std::vector<std::string>* lines = nullptr;
  const common::YamlDocument* document = nullptr;
  const std::map<std::string, std::string>* extra = nullptr;
  std::set<std::string> seen;
  std::string rows;
  std::string error;
};

const value& schemaProperty(const value& schema, const std::string& name) {
  static const value empty = value::object();
  if (has(schema, "properties") && has(schema.at("properties"), name.c_str())) {
    return schema.at("properties").at(name);
  }
  return empty;
}

void valueRow(ValuesWalk& walk, const std::string& dotted, const std::string& fieldPath,
              const value* defaultValue, const value& schema, bool required) {
  walk.seen.insert(dotted);
  // The comment a chart author writes next to the value says most; the schema's description is
  // often only a constraint's rationale.
  std::string description;
  if (defaultValue != nullptr) {
    const auto found = walk.document->lines.find(fieldPath);
    if (found != walk.document->lines.end()) {
      description = helmDocsComment(*walk.lines, found->second);
    }
  }
  if (description.empty()) {
    const auto extra = walk.extra->find(dotted);
    if (extra != walk.extra->end()) description = extra->second;
  }
  if (description.empty()) description = str(schema, "description");
  if (description.empty()) {
    walk.error = "chart value " + dotted +
                 " has no description: give it a \"description\" in values.schema.json, a "
                 "`# --` comment above it in values.yaml, or an entry in "
                 "tools/docs-gen/value-descriptions.yaml";
    return;
  }
  std::string defaultCell = "(unset)";
  if (defaultValue != nullptr) defaultCell = code(compact(*defaultValue));
  std::string type = typeOf(schema);
  if (type == "any" && defaultValue != nullptr) {
    type = defaultValue->is_string()    ? "string"
           : defaultValue->is_boolean() ? "boolean"
           : defaultValue->is_array()   ? "array"
           : defaultValue->is_object()  ? "object"
                                        : "number";
  }
  walk.rows += "| " + code(dotted) + " | " + cell(type) + " | " + cell(defaultCell) + " | " +
               cell(validationOf(schema, required)) + " | " + prose(description) + " |\n";
}

void walkValues(ValuesWalk& walk, const value* node, const value& schema, const std::string& dotted,
                const std::string& fieldPath, bool required) {
  if (!walk.error.empty()) return;
  const bool mapOfValues = node != nullptr && node->is_object() && node->size() > 0;
  const bool schemaObject = has(schema, "properties");
  // A free-form object in the schema (resources, podAnnotations) is one value, whatever it holds.
  if (!schemaObject && (!mapOfValues || str(schema, "type") == "object")) {
    valueRow(walk, dotted, fieldPath, node, schema, required);
    return;
  }
  // An object value: its members are the values; a documented object (say billingLedger) gets a
  // row of its own too when it carries a description, so the section is introduced.
  if (!dotted.empty() &&
      (!str(schema, "description").empty() ||
       (node != nullptr && walk.document->lines.count(fieldPath) &&
        !helmDocsComment(*walk.lines, walk.document->lines.at(fieldPath)).empty()))) {
    std::string description = str(schema, "description");
    if (description.empty()) {
      description = helmDocsComment(*walk.lines, walk.document->lines.at(fieldPath));
    }
    walk.seen.insert(dotted);
    walk.rows += "| " + code(dotted) + " | object |  | " + cell(validationOf(schema, required)) +
                 " | " + prose(description) + " |\n";
  }
  std::set<std::string> done;
  if (mapOfValues) {
    for (const auto& [name, child] : node->as_object()) {
      done.insert(name);
      walkValues(walk, &child, schemaProperty(schema, name),
                 dotted.empty() ? name : dotted + "." + name,
                 common::joinFieldPath(fieldPath, name), isRequired(schema, name));
    }
  }
  if (schemaObject) {
    for (const auto& [name, child] : schema.at("properties").as_object()) {
      if (done.count(name)) continue;
      walkValues(walk, nullptr, child, dotted.empty() ? name : dotted + "." + name,
                 common::joinFieldPath(fieldPath, name), isRequired(schema, name));
    }
  }
}

}  // namespace

std::string prose(std::string_view text) {
  std::string out;
  for (char c : cell(text)) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string cell(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::expected<std::string, std::string> crdReference(std::string_view crdYaml) {
  auto documents = common::parseYamlDocuments(crdYaml);
  if (!documents) {
    return std::unexpected("line " + std::to_string(documents.error().line) + ": " +
                           documents.error().message);
  }
  if (documents->size() != 1 ||
      str(documents->front().value, "kind") != "CustomResourceDefinition") {
    return std::unexpected("expected exactly one CustomResourceDefinition document");
  }
  const value& crd = documents->front().value;
  if (!has(crd, "spec") || !has(crd.at("spec"), "names") || !has(crd.at("spec"), "versions")) {
    return std::unexpected("the CRD has no spec.names or spec.versions");
  }
  const value& spec = crd.at("spec");
  const value& names = spec.at("names");
  std::ostringstream out;
  out << "| kind | plural | singular | short names | categories | scope | group |\n"
      << "|---|---|---|---|---|---|---|\n"
      << "| " << code(str(names, "kind")) << " | " << code(str(names, "plural")) << " | "
      << code(str(names, "singular")) << " | "
      << (has(names, "shortNames") ? joinCodes(names.at("shortNames"), ", ") : "") << " | "
      << (has(names, "categories") ? joinCodes(names.at("categories"), ", ") : "") << " | "
      << code(str(spec, "scope")) << " | " << code(str(spec, "group")) << " |\n";

  for (const value& version : spec.at("versions").as_array()) {
    const std::string name = str(version, "name");
    const bool served = has(version, "served") && version.at("served").as_bool();
    if (!served) continue;
    out << "\n#### " << str(names, "kind") << " " << name << ": printer columns\n\n";
    if (has(version, "additionalPrinterColumns")) {
      out << "`kubectl get " << str(names, "plural")
          << "` shows these columns (priority 1 only with `-o wide`).\n\n"
          << "| column | type | JSONPath | priority | description |\n|---|---|---|---|---|\n";
      for (const value& column : version.at("additionalPrinterColumns").as_array()) {
        out << "| " << cell(str(column, "name")) << " | " << cell(str(column, "type")) << " | "
            << code(str(column, "jsonPath")) << " | "
            << (has(column, "priority") ? compact(column.at("priority")) : "0") << " | "
            << prose(str(column, "description")) << " |\n";
      }
    } else {
      out << "None: `kubectl get` shows NAME and AGE.\n";
    }
    if (!has(version, "schema") || !has(version.at("schema"), "openAPIV3Schema")) {
      return std::unexpected("version " + name + " has no schema.openAPIV3Schema");
    }
    const value& root = version.at("schema").at("openAPIV3Schema");
    out << "\n#### " << str(names, "kind") << " " << name << ": fields\n\n"
        << prose(str(root, "description")) << "\n\n"
        << "| field | type | default | validation | description |\n|---|---|---|---|---|\n";
    FieldWalk walk;
    if (has(root, "properties")) {
      for (const auto& [field, child] : root.at("properties").as_object()) {
        if (field == "apiVersion" || field == "kind") continue;  // the same on every object
        walkFields(child, field, isRequired(root, field), walk);
      }
    }
    if (!walk.error.empty()) return std::unexpected(walk.error);
    out << walk.rows;
  }
  return out.str();
}

std::expected<std::string, std::string> valuesReference(
    std::string_view valuesYaml, std::string_view schemaJson,
    const std::map<std::string, std::string>& extraDescriptions) {
  auto documents = common::parseYamlDocuments(valuesYaml);
  if (!documents) {
    return std::unexpected("values.yaml line " + std::to_string(documents.error().line) + ": " +
                           documents.error().message);
  }
  if (documents->size() != 1 || !documents->front().value.is_object()) {
    return std::unexpected("values.yaml must be one mapping");
  }
  auto schema = common::parseJson(schemaJson);
  if (!schema) return std::unexpected("values.schema.json: " + schema.error());
  const std::vector<std::string> lines = splitLines(valuesYaml);
  ValuesWalk walk;
  walk.lines = &lines;
  walk.document = &documents->front();
  walk.extra = &extraDescriptions;
  walk.rows = "| value | type | default | validation | description |\n|---|---|---|---|---|\n";
  walkValues(walk, &documents->front().value, *schema, "", "", false);
  if (!walk.error.empty()) return std::unexpected(walk.error);
  for (const auto& [path, text] : extraDescriptions) {
    if (!walk.seen.count(path)) {
      return std::unexpected("tools/docs-gen/value-descriptions.yaml describes " + path +
                             ", which is not a value of the chart; remove or rename the entry");
    }
  }
  return walk.rows;
}

std::expected<std::string, std::string> flagsReference(std::string_view helpText) {
  struct Flag {
    std::string section, names, argument, description;
  };
  std::vector<Flag> flags;
  std::string section;
  // The lines after the last flag (argument formats, exit codes), shown verbatim below the table.
  std::vector<std::string> after;
  bool inFlag = false;
  for (const std::string& line : splitLines(helpText)) {
    const std::string text = trim(line);
    if (line.rfind("  -", 0) == 0) {
      // "  --name ARG      description": the flag part ends at the first run of two spaces.
      const std::size_t gap = text.find("  ");
      const std::string flagPart = text.substr(0, gap);
      Flag flag;
      flag.section = section;
      flag.description = gap == std::string::npos ? "" : trim(text.substr(gap));
      const std::size_t space = flagPart.rfind(' ');
      const bool hasArgument = space != std::string::npos && flagPart[space + 1] != '-';
      flag.names = hasArgument ? flagPart.substr(0, space) : flagPart;
      flag.argument = hasArgument ? flagPart.substr(space + 1) : "";
      flags.push_back(flag);
      inFlag = true;
      after.clear();
      continue;
    }
    if (inFlag && !text.empty() && line.rfind("   ", 0) == 0) {
      flags.back().description += " " + text;
      continue;
    }
    inFlag = false;
    // A blank line ends a group: flags after it without a heading of their own are "General".
    if (text.empty()) section.clear();
    if (!text.empty() && line[0] != ' ' && text.back() == ':')
      section = text.substr(0, text.size() - 1);
    after.push_back(line);
  }
  if (flags.empty()) {
    return std::unexpected(
        "no flags found in the help text (lines starting with two spaces and '-'); the help "
        "format changed, update tools/docs-gen/markdown.cpp");
  }
  std::ostringstream out;
  std::string current;
  bool first = true;
  for (const Flag& flag : flags) {
    if (first || flag.section != current) {
      current = flag.section;
      out << (first ? "" : "\n") << "**" << (current.empty() ? "General" : current)
          << "**\n\n| flag | argument | description |\n|---|---|---|\n";
      first = false;
    }
    std::string names;
    std::istringstream split(flag.names);
    for (std::string name; std::getline(split, name, ',');) {
      names += (names.empty() ? "" : ", ") + code(trim(name));
    }
    out << "| " << names << " | " << (flag.argument.empty() ? "" : code(flag.argument)) << " | "
        << prose(flag.description) << " |\n";
  }
  while (!after.empty() && trim(after.front()).empty()) after.erase(after.begin());
  while (!after.empty() && trim(after.back()).empty()) after.pop_back();
  if (!after.empty()) {
    out << "\n```\n";
    for (const std::string& line : after) out << line << "\n";
    out << "```\n";
  }
  return out.str();
}

std::expected<std::string, std::string> spliceGenerated(std::string_view document,
                                                        std::string_view name,
                                                        std::string_view content) {
  const std::string begin = "<!-- BEGIN GENERATED: " + std::string(name) + " -->";
  const std::string end = "<!-- END GENERATED: " + std::string(name) + " -->";
  auto lineAt = [&](const std::string& marker) -> std::expected<std::size_t, std::string> {
    std::size_t found = std::string_view::npos;
    for (std::size_t at = document.find(marker); at != std::string_view::npos;
         at = document.find(marker, at + 1)) {
      const bool startsLine = at == 0 || document[at - 1] == '\n';
      const std::size_t after = at + marker.size();
      const bool endsLine = after == document.size() || document[after] == '\n';
      if (!startsLine || !endsLine) continue;
      if (found != std::string_view::npos) {
        return std::unexpected("the marker " + marker + " appears twice");
      }
      found = at;
    }
    if (found == std::string_view::npos) {
      return std::unexpected("the marker " + marker +
                             " is missing; put it on a line of its own where the generated "
                             "part goes");
    }
    return found;
  };
  auto beginAt = lineAt(begin);
  if (!beginAt) return std::unexpected(beginAt.error());
  auto endAt = lineAt(end);
  if (!endAt) return std::unexpected(endAt.error());
  if (*endAt < *beginAt) return std::unexpected(end + " comes before " + begin);
  std::string out(document.substr(0, *beginAt + begin.size()));
  out += "\n";
  out += content;
  if (!content.empty() && content.back() != '\n') out += "\n";
  out += document.substr(*endAt);
  return out;
}

}  // namespace billing::docsgen
