#include "tools/chart-render/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <stdexcept>

namespace billing::chart {

namespace {

// go-yaml v2 (YAML 1.1) resolution of a plain scalar: what Helm reads values.yaml with, and what
// its toYaml avoids by quoting.
const std::regex& intPattern() {
  static const std::regex pattern(R"([-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?0[0-7_]+)");
  return pattern;
}
const std::regex& floatPattern() {
  static const std::regex pattern(
      R"([-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  return pattern;
}

bool isYamlBool(const std::string& text, bool& result) {
  static const char* const kTrue[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                      "True", "TRUE", "on",  "On",  "ON"};
  static const char* const kFalse[] = {"n",     "N",     "no",  "No",  "NO", "false",
                                       "False", "FALSE", "off", "Off", "OFF"};
  for (const char* word : kTrue) {
    if (text == word) {
      result = true;
      return true;
    }
  }
  for (const char* word : kFalse) {
    if (text == word) {
      result = false;
      return true;
    }
  }
  return false;
}

bool isYamlNull(const std::string& text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// A plain scalar as go-yaml v2 resolves it.
Value resolvePlain(const std::string& text) {
  if (isYamlNull(text)) return {};
  bool flag = false;
  if (isYamlBool(text, flag)) return Value(flag);
  if (std::regex_match(text, intPattern())) {
    std::string digits;
    for (char c : text) {
      if (c != '_') digits.push_back(c);
    }
    try {
      std::size_t used = 0;
      const long long number = std::stoll(digits, &used, 0);
      if (used == digits.size()) return Value(static_cast<std::int64_t>(number));
    } catch (const std::exception&) {
      // Out of range: a float, as Go would have it.
    }
    return Value(std::stod(digits));
  }
  if (std::regex_match(text, floatPattern())) {
    if (text.find("inf") != std::string::npos || text.find("Inf") != std::string::npos ||
        text.find("INF") != std::string::npos) {
      return Value(text[0] == '-' ? -INFINITY : INFINITY);
    }
    if (text.find("nan") != std::string::npos || text.find("NaN") != std::string::npos ||
        text.find("NAN") != std::string::npos) {
      return Value(NAN);
    }
    std::string digits;
    for (char c : text) {
      if (c != '_') digits.push_back(c);
    }
    // The YAML 1.1 pattern admits "0.1.0"; Go's ParseFloat, which decides, does not.
    char* end = nullptr;
    const double number = std::strtod(digits.c_str(), &end);
    if (end == digits.c_str() + digits.size()) return Value(number);
  }
  return Value(text);
}

// Go's strconv.FormatFloat(f, 'g', -1, 64) as %v prints it: the shortest text that reads back,
// exponent form for large and small magnitudes.
std::string formatFloat(double number) {
  if (std::isnan(number)) return "NaN";
  if (std::isinf(number)) return number < 0 ? "-Inf" : "+Inf";
  char buffer[64];
  // Integral values below 1e21 as plain integers (as JSON, hence Helm's toYaml, writes them);
  // the rest in the shortest form that reads back.
  const bool integral = number == std::floor(number) && std::fabs(number) < 1e21;
  auto [end, ec] =
      integral ? std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::fixed)
               : std::to_chars(buffer, buffer + sizeof buffer, number);
  return ec == std::errc() ? std::string(buffer, end) : std::string("0");
}

bool needsQuotes(const std::string& text) {
  if (text.empty()) return true;
  const Value resolved = resolvePlain(text);
  if (!resolved.isString()) return true;  // would read back as null, bool or number
  return false;
}

// Whether a string that resolves as a string can still not be written plain in block context.
bool plainForbidden(const std::string& text) {
  static const std::string kIndicators = "-?:,[]{}#&*!|>'\"%@`";
  if (kIndicators.find(text.front()) != std::string::npos) {
    // "-x", "?x" and ":x" are plain in block context; the rest never are.
    const bool dashLike = text.front() == '-' || text.front() == '?' || text.front() == ':';
    if (!dashLike || text.size() == 1 || text[1] == ' ') return true;
  }
  if (text.front() == ' ' || text.back() == ' ' || text.back() == ':') return true;
  if (text.find(": ") != std::string::npos || text.find(" #") != std::string::npos) return true;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') return true;
  }
  return false;
}

std::string doubleQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out.push_back(c);
    }
  }
  return out + "\"";
}

std::string singleQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "''";
    else
      out.push_back(c);
  }
  return out + "'";
}

std::string scalarYaml(const Value& value, const std::string& indent) {
  if (value.isNil()) return "null";
  if (value.isBool()) return value.asBool() ? "true" : "false";
  if (value.isInt()) return std::to_string(value.asInt());
  if (value.isFloat()) {
    const double number = value.asFloat();
    if (std::isinf(number)) return number < 0 ? "-.inf" : ".inf";
    if (std::isnan(number)) return ".nan";
    return formatFloat(number);
  }
  const std::string& text = value.asString();
  if (text.find('\n') != std::string::npos) {
    // Literal block, "|-" when there is no trailing newline, as go-yaml writes it.
    const bool trailing = text.back() == '\n';
    std::string out = trailing ? "|" : "|-";
    std::size_t start = 0;
    const std::string body = trailing ? text.substr(0, text.size() - 1) : text;
    while (start <= body.size()) {
      const auto end = body.find('\n', start);
      const std::string line = body.substr(start, end == std::string::npos ? end : end - start);
      out += "\n" + (line.empty() ? std::string() : indent + line);
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return out;
  }
  if (needsQuotes(text)) return doubleQuoted(text);
  if (plainForbidden(text)) return singleQuoted(text);
  return text;
}

bool isEmptyCollection(const Value& value) {
  return (value.isList() && value.asList().empty()) || (value.isMap() && value.asMap().empty());
}

void emit(const Value& value, const std::string& indent, std::string& out);

// A map's entries at `indent`; the caller has positioned the first line.
void emitMap(const Map& map, const std::string& indent, std::string& out, bool firstInline) {
  bool first = true;
  for (const auto& [key, member] : map) {
    if (!(first && firstInline)) out += "\n" + indent;
    first = false;
    out += scalarYaml(Value(key), indent) + ":";
    if (member.isMap() && !member.asMap().empty()) {
      out += "\n" + indent + "  ";
      emitMap(member.asMap(), indent + "  ", out, true);
    } else if (member.isList() && !member.asList().empty()) {
      out += "\n" + indent;
      emit(member, indent, out);
    } else {
      out += " ";
      emit(member, indent + "  ", out);
    }
  }
}

void emit(const Value& value, const std::string& indent, std::string& out) {
  if (value.isMap()) {
    if (value.asMap().empty()) {
      out += "{}";
      return;
    }
    emitMap(value.asMap(), indent, out, true);
    return;
  }
  if (value.isList()) {
    if (value.asList().empty()) {
      out += "[]";
      return;
    }
    bool first = true;
    for (const Value& item : value.asList()) {
      if (!first) out += "\n" + indent;
      first = false;
      out += "-";
      if (isEmptyCollection(item) || (!item.isMap() && !item.isList())) {
        out += " ";
        emit(item, indent + "  ", out);
      } else if (item.isMap()) {
        out += " ";
        emitMap(item.asMap(), indent + "  ", out, true);
      } else {
        out += " ";
        emit(item, indent + "  ", out);
      }
    }
    return;
  }
  out += scalarYaml(value, indent);
}

}  // namespace

Value Value::field(const std::string& key) const {
  if (!isMap()) return {};
  const auto& map = asMap();
  auto found = map.find(key);
  return found == map.end() ? Value() : found->second;
}

bool Value::truthy() const {
  if (isNil()) return false;
  if (isBool()) return asBool();
  if (isInt()) return asInt() != 0;
  if (isFloat()) return asFloat() != 0;
  if (isString()) return !asString().empty();
  if (isList()) return !asList().empty();
  return !asMap().empty();
}

std::string Value::print() const {
  if (isNil()) return "<nil>";
  if (isBool()) return asBool() ? "true" : "false";
  if (isInt()) return std::to_string(asInt());
  // Integral floats print as integers; exponents beyond that follow formatFloat.
  if (isFloat()) return formatFloat(asFloat());
  if (isString()) return asString();
  std::string out;
  if (isList()) {
    out = "[";
    bool first = true;
    for (const Value& item : asList()) {
      if (!first) out += " ";
      first = false;
      out += item.print();
    }
    return out + "]";
  }
  out = "map[";
  bool first = true;
  for (const auto& [key, member] : asMap()) {
    if (!first) out += " ";
    first = false;
    out += key + ":" + member.print();
  }
  return out + "]";
}

std::string Value::typeName() const {
  if (isNil()) return "<nil>";
  if (isBool()) return "bool";
  if (isInt()) return "int64";
  if (isFloat()) return "float64";
  if (isString()) return "string";
  if (isList()) return "[]interface {}";
  return "map[string]interface {}";
}

bool operator==(const Value& left, const Value& right) {
  if (left.isInt() && right.isFloat()) return static_cast<double>(left.asInt()) == right.asFloat();
  if (left.isFloat() && right.isInt()) return left.asFloat() == static_cast<double>(right.asInt());
  if (left.data.index() != right.data.index()) return false;
  if (left.isList()) return left.asList() == right.asList();
  if (left.isMap()) return left.asMap() == right.asMap();
  return left.data == right.data;
}

Value fromYaml(const YAML::Node& node, const std::string& where) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return {};
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and plain ones "?".
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return Value(node.Scalar());
      return resolvePlain(node.Scalar());
    case YAML::NodeType::Sequence: {
      List list;
      for (const auto& item : node) list.push_back(fromYaml(item, where));
      return Value(std::move(list));
    }
    case YAML::NodeType::Map: {
      Map map;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          throw std::runtime_error(where + ":" + std::to_string(entry.first.Mark().line + 1) +
                                   ": map keys must be strings");
        }
        map[entry.first.Scalar()] = fromYaml(entry.second, where);
      }
      return Value(std::move(map));
    }
  }
  return {};
}

std::string toYaml(const Value& value) {
  std::string out;
  emit(value, "", out);
  return out;
}

Value mergeValues(const Value& base, const Value& overlay) {
  if (!base.isMap() || !overlay.isMap()) return overlay;
  Map merged = base.asMap();
  for (const auto& [key, member] : overlay.asMap()) {
    if (member.isNil()) {
      merged.erase(key);
      continue;
    }
    auto existing = merged.find(key);
    merged[key] = existing == merged.end() ? member : mergeValues(existing->second, member);
  }
  return Value(std::move(merged));
}

}  // namespace billing::chart
