#include "tests/apiserver/table.h"

#include <ctime>
#include <functional>

#include "common/json.h"
#include "tests/apiserver/events.h"

namespace billing::apiserver {
namespace {

using web::json::value;

value column(const std::string& name, const std::string& type, const std::string& format,
             const std::string& description, int priority) {
  value c = value::object(true);
  c["name"] = value::string(name);
  c["type"] = value::string(type);
  c["format"] = value::string(format);
  c["description"] = value::string(description);
  c["priority"] = value::number(priority);
  return c;
}

std::optional<std::chrono::sys_seconds> parseTime(const std::string& text) {
  std::tm tm{};
  if (text.size() < 20 || strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return std::nullopt;
  }
  return std::chrono::sys_seconds{std::chrono::seconds{timegm(&tm)}};
}

std::string ageOf(const value& cell) {
  if (!cell.is_string()) return "<unknown>";
  auto when = parseTime(cell.as_string());
  if (!when) return "<invalid>";
  auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return humanDuration(now - *when);
}

// A cell as Kubernetes' CRD table convertor renders it for the column type.
value cellFor(const std::optional<value>& found, const std::string& type) {
  if (!found || found->is_null()) return value::null();
  if (type == "date") return value::string(ageOf(*found));
  if (found->is_string() || found->is_number() || found->is_boolean()) return *found;
  return value::string(common::toJson(*found));
}

value rowObject(const ResourceType& type, const value& item, TableObjects include) {
  if (include == TableObjects::Object) return item;
  value partial = value::object(true);
  partial["kind"] = value::string("PartialObjectMetadata");
  partial["apiVersion"] = value::string("meta.k8s.io/v1");
  partial["metadata"] = item.has_field("metadata") ? item.at("metadata") : value::object();
  (void)type;
  return partial;
}

// Splits ".a.b[0][?(@.x==\"y\")].c" into steps; brackets stay whole.
std::vector<std::string> steps(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) out.push_back(current);
    current.clear();
  };
  while (i < path.size()) {
    char c = path[i];
    if (c == '.') {
      flush();
      ++i;
    } else if (c == '[') {
      flush();
      std::size_t close = path.find(']', i);
      if (close == std::string::npos) return {};
      out.push_back(path.substr(i, close - i + 1));
      i = close + 1;
    } else {
      current.push_back(c);
      ++i;
    }
  }
  flush();
  return out;
}

void apply(const std::vector<value>& from, const std::string& step, std::vector<value>& to) {
  for (const value& node : from) {
    if (step.front() != '[') {
      if (node.is_object() && node.has_field(step)) to.push_back(node.at(step));
      continue;
    }
    if (!node.is_array()) continue;
    const auto& items = node.as_array();
    std::string inner = step.substr(1, step.size() - 2);
    if (inner == "*") {
      for (const auto& item : items) to.push_back(item);
    } else if (inner.starts_with("?(@.")) {
      // ?(@.key=="value") or ?(@.key=='value')
      auto eq = inner.find("==");
      if (eq == std::string::npos) continue;
      std::string key = inner.substr(4, eq - 4);
      std::string expected = inner.substr(eq + 2);
      if (!expected.empty() && expected.back() == ')') expected.pop_back();
      if (expected.size() >= 2 && (expected.front() == '"' || expected.front() == '\'')) {
        expected = expected.substr(1, expected.size() - 2);
      }
      for (const auto& item : items) {
        if (item.is_object() && item.has_field(key) && item.at(key).is_string() &&
            item.at(key).as_string() == expected) {
          to.push_back(item);
        }
      }
    } else {
      try {
        long long index = std::stoll(inner);
        if (index < 0) index += static_cast<long long>(items.size());
        if (index >= 0 && static_cast<std::size_t>(index) < items.size()) {
          to.push_back(items.at(static_cast<std::size_t>(index)));
        }
      } catch (const std::exception&) {
      }
    }
  }
}

std::size_t sizeOf(const value& object, const char* section, const char* name = nullptr) {
  if (!object.is_object() || !object.has_field(section)) return 0;
  const value* node = &object.at(section);
  if (name != nullptr) {
    if (!node->is_object() || !node->has_field(name)) return 0;
    node = &node->at(name);
  }
  return node->is_object() || node->is_array() ? node->size() : 0;
}

std::string textAt(const value& object, const std::string& path) {
  auto found = evaluateJsonPath(object, path);
  return found && found->is_string() ? found->as_string() : std::string();
}

std::int64_t numberAt(const value& object, const std::string& path) {
  auto found = evaluateJsonPath(object, path);
  return found && found->is_number() ? found->as_number().to_int64() : 0;
}

// A column of a built-in kind's table and how its cell is computed.
struct BuiltinColumn {
  value definition;
  std::function<value(const value&)> cell;
};

value ageCell(const value& object) {
  auto created = evaluateJsonPath(object, ".metadata.creationTimestamp");
  return value::string(created ? ageOf(*created) : "<unknown>");
}

// The columns kube-apiserver's printers (pkg/printers/internalversion) give the built-in kinds
// users list most; other built-in kinds get Name and Age.
std::optional<std::vector<BuiltinColumn>> builtinColumns(const ResourceType& type) {
  const std::string key = type.group + "/" + type.plural;
  const BuiltinColumn age{column("Age", "string", "",
                                 "CreationTimestamp is a timestamp representing the server time "
                                 "when this object was created.",
                                 0),
                          ageCell};
  if (key == "/namespaces") {
    return std::vector<BuiltinColumn>{
        {column("Status", "string", "", "The status of the namespace", 0),
         [](const value& o) { return value::string(textAt(o, ".status.phase")); }},
        age};
  }
  if (key == "/secrets") {
    return std::vector<BuiltinColumn>{
        {column("Type", "string", "", "The type of the secret", 0),
         [](const value& o) { return value::string(textAt(o, ".type")); }},
        {column("Data", "string", "", "The number of entries in the secret", 0),
         [](const value& o) { return value::number(sizeOf(o, "data")); }},
        age};
  }
  if (key == "/configmaps") {
    return std::vector<BuiltinColumn>{
        {column("Data", "string", "", "The number of entries in the configmap", 0),
         [](const value& o) { return value::number(sizeOf(o, "data") + sizeOf(o, "binaryData")); }},
        age};
  }
  if (key == "/serviceaccounts") {
    return std::vector<BuiltinColumn>{
        {column("Secrets", "string", "", "The number of secrets of the service account", 0),
         [](const value& o) { return value::number(sizeOf(o, "secrets")); }},
        age};
  }
  if (key == "coordination.k8s.io/leases") {
    return std::vector<BuiltinColumn>{
        {column("Holder", "string", "", "The holder of the lease", 0),
         [](const value& o) { return value::string(textAt(o, ".spec.holderIdentity")); }},
        age};
  }
  if (key == "admissionregistration.k8s.io/validatingwebhookconfigurations" ||
      key == "admissionregistration.k8s.io/mutatingwebhookconfigurations") {
    return std::vector<BuiltinColumn>{
        {column("Webhooks", "integer", "", "Webhooks indicates the number of webhooks", 0),
         [](const value& o) { return value::number(sizeOf(o, "webhooks")); }},
        age};
  }
  if (key == "apps/deployments") {
    return std::vector<BuiltinColumn>{
        {column("Ready", "string", "", "Number of the pod with ready state", 0),
         [](const value& o) {
           return value::string(std::to_string(numberAt(o, ".status.readyReplicas")) + "/" +
                                std::to_string(numberAt(o, ".spec.replicas")));
         }},
        {column("Up-to-date", "string", "", "Total number of updated pods", 0),
         [](const value& o) { return value::number(numberAt(o, ".status.updatedReplicas")); }},
        {column("Available", "string", "", "Total number of available pods", 0),
         [](const value& o) { return value::number(numberAt(o, ".status.availableReplicas")); }},
        age};
  }
  if (key == "apiextensions.k8s.io/customresourcedefinitions") {
    return std::vector<BuiltinColumn>{
        {column("Created At", "date", "", "CreationTimestamp of the CustomResourceDefinition", 0),
         [](const value& o) { return value::string(textAt(o, ".metadata.creationTimestamp")); }}};
  }
  return std::nullopt;
}

}  // namespace

std::string humanDuration(std::chrono::seconds age) {
  long long seconds = age.count();
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return std::to_string(seconds) + "s";
  long long minutes = seconds / 60;
  if (minutes < 10) {
    long long rest = seconds % 60;
    return std::to_string(minutes) + "m" + (rest == 0 ? "" : std::to_string(rest) + "s");
  }
  if (minutes < 180) return std::to_string(minutes) + "m";
  long long hours = seconds / 3600;
  if (hours < 8) {
    long long rest = minutes % 60;
    return std::to_string(hours) + "h" + (rest == 0 ? "" : std::to_string(rest) + "m");
  }
  if (hours < 48) return std::to_string(hours) + "h";
  long long days = hours / 24;
  if (hours < 24 * 8) {
    long long rest = hours % 24;
    return std::to_string(days) + "d" + (rest == 0 ? "" : std::to_string(rest) + "h");
  }
  if (hours < 24 * 365 * 2) return std::to_string(days) + "d";
  long long years = days / 365;
  if (hours < 24 * 365 * 8) {
    long long rest = days % 365;
    return std::to_string(years) + "y" + (rest == 0 ? "" : std::to_string(rest) + "d");
  }
  return std::to_string(years) + "y";
}

std::optional<value> evaluateJsonPath(const value& object, const std::string& path) {
  std::string trimmed = path;
  if (trimmed.size() >= 2 && trimmed.front() == '{' && trimmed.back() == '}') {
    trimmed = trimmed.substr(1, trimmed.size() - 2);
  }
  std::vector<value> current{object};
  for (const std::string& step : steps(trimmed)) {
    std::vector<value> next;
    apply(current, step, next);
    current = std::move(next);
    if (current.empty()) return std::nullopt;
  }
  if (current.size() == 1) return current.front();
  std::string joined;
  for (const value& v : current) {
    if (!joined.empty()) joined += ",";
    joined += v.is_string() ? v.as_string() : common::toJson(v);
  }
  return value::string(joined);
}

value tableFor(const ResourceType& type, const std::vector<value>& items, std::uint64_t revision,
               const std::string& continueToken, TableObjects include) {
  value table = value::object(true);
  table["kind"] = value::string("Table");
  table["apiVersion"] = value::string("meta.k8s.io/v1");
  table["metadata"]["resourceVersion"] = value::string(std::to_string(revision));
  if (!continueToken.empty()) table["metadata"]["continue"] = value::string(continueToken);
  if (isEventResource(type)) return eventTable(items, revision, continueToken, include);

  if (!type.custom()) {
    if (auto builtin = builtinColumns(type)) {
      std::vector<value> definitions{column(
          "Name", "string", "name",
          "Name must be unique within a namespace. Is required when creating resources, although "
          "some resources may allow a client to request the generation of an appropriate name "
          "automatically.",
          0)};
      for (const BuiltinColumn& c : *builtin) definitions.push_back(c.definition);
      table["columnDefinitions"] = value::array(definitions);
      value rows = value::array(items.size());
      for (std::size_t i = 0; i < items.size(); ++i) {
        value cells = value::array(builtin->size() + 1);
        cells[0] = evaluateJsonPath(items[i], ".metadata.name").value_or(value::string(""));
        for (std::size_t c = 0; c < builtin->size(); ++c)
          cells[c + 1] = (*builtin)[c].cell(items[i]);
        rows[i]["cells"] = cells;
        if (include != TableObjects::None) rows[i]["object"] = rowObject(type, items[i], include);
      }
      table["rows"] = rows;
      return table;
    }
  }

  struct Column {
    std::string path;
    std::string type;
  };
  std::vector<value> definitions{
      column("Name", "string", "name",
             "Name must be unique within a namespace. Is required when creating resources, "
             "although some resources may allow a client to request the generation of an "
             "appropriate name automatically.",
             0)};
  std::vector<Column> columns;
  const auto& printer = type.printerColumns;
  if (type.custom() && printer.is_array() && printer.size() > 0) {
    for (const auto& c : printer.as_array()) {
      auto text = [&](const char* name) {
        return c.has_field(name) && c.at(name).is_string() ? c.at(name).as_string() : std::string();
      };
      int priority = c.has_field("priority") && c.at("priority").is_integer()
                         ? c.at("priority").as_integer()
                         : 0;
      definitions.push_back(
          column(text("name"), text("type"), text("format"), text("description"), priority));
      columns.push_back({text("jsonPath"), text("type")});
    }
  } else {
    definitions.push_back(column("Age", "date", "",
                                 "CreationTimestamp is a timestamp representing the server "
                                 "time when this object was created.",
                                 0));
    columns.push_back({".metadata.creationTimestamp", "date"});
  }
  table["columnDefinitions"] = value::array(definitions);

  value rows = value::array(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const value& item = items[i];
    value cells = value::array(columns.size() + 1);
    cells[0] = evaluateJsonPath(item, ".metadata.name").value_or(value::string(""));
    for (std::size_t c = 0; c < columns.size(); ++c) {
      cells[c + 1] = cellFor(evaluateJsonPath(item, columns[c].path), columns[c].type);
    }
    rows[i]["cells"] = cells;
    if (include != TableObjects::None) rows[i]["object"] = rowObject(type, item, include);
  }
  table["rows"] = rows;
  return table;
}

}  // namespace billing::apiserver
