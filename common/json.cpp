#include "common/json.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <optional>
#include <set>

#include "common/utf8.h"

namespace billing::common {
namespace {

using JsonValue = web::json::value;

// Finds what cpprest accepts but JSON (or Kubernetes) does not: duplicate keys and numbers that
// overflowed to infinity. Returns an empty string when the value is clean.
std::string findInvalid(const JsonValue& node, const std::string& path) {
  if (node.is_number()) {
    if (!node.is_integer() && !std::isfinite(node.as_double())) {
      return "number out of range at " + (path.empty() ? std::string("the top level") : path);
    }
    return {};
  }
  if (node.is_array()) {
    const auto& elements = node.as_array();
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (auto problem = findInvalid(elements.at(i), indexFieldPath(path, i)); !problem.empty()) {
        return problem;
      }
    }
    return {};
  }
  if (node.is_object()) {
    std::set<std::string_view> seen;
    for (const auto& [key, member] : node.as_object()) {
      if (!seen.insert(key).second) {
        return "duplicate key \"" + key + "\" in the object at " +
               (path.empty() ? std::string("the top level") : path);
      }
      if (auto problem = findInvalid(member, joinFieldPath(path, key)); !problem.empty()) {
        return problem;
      }
    }
  }
  return {};
}

// cpprest reports "* Line 1, Column 6 Syntax error: Malformed token".
std::string readableParseError(std::string message) {
  if (message.starts_with("* ")) message.erase(0, 2);
  if (auto at = message.find(" Syntax error: "); at != std::string::npos) {
    message.replace(at, std::string_view(" Syntax error: ").size(), ": ");
  }
  return message;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  static constexpr std::array<char, 16> kHex{'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out.push_back('"');
  for (std::size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // JSON text is UTF-8. Bytes that are not (an id percent-decoded from a URL, a method
      // echoed in an error) become U+FFFD, one per byte, as Go's encoding/json writes them:
      // the document stays readable instead of being refused whole.
      const std::optional<Utf8Sequence> sequence = decodeUtf8(text, at);
      if (!sequence) {
        out += "\\ufffd";
      } else {
        out.append(text.substr(at, sequence->length));
        at += sequence->length - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20) {
          out += "\\u00";
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0xf]);
        } else {
          out.push_back(c);
        }
      }
    }
  }
  out.push_back('"');
}

namespace {

void appendNumber(std::string& out, const JsonValue& node) {
  if (node.is_integer()) {
    const auto& number = node.as_number();
    out +=
        number.is_int64() ? std::to_string(number.to_int64()) : std::to_string(number.to_uint64());
    return;
  }
  const double number = node.as_double();
  if (!std::isfinite(number)) {
    out += "null";
    return;
  }
  std::array<char, 32> buffer{};
  auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), number);
  out.append(buffer.data(), result.ptr);
}

void newline(std::string& out, int indent) {
  out.push_back('\n');
  out.append(static_cast<std::size_t>(indent), ' ');
}

// indent < 0 writes compact JSON; otherwise the current indentation of pretty JSON.
void appendValue(std::string& out, const JsonValue& node, int indent) {
  const bool pretty = indent >= 0;
  switch (node.type()) {
    case JsonValue::Null:
      out += "null";
      return;
    case JsonValue::Boolean:
      out += node.as_bool() ? "true" : "false";
      return;
    case JsonValue::Number:
      appendNumber(out, node);
      return;
    case JsonValue::String:
      appendJsonString(out, node.as_string());
      return;
    case JsonValue::Array: {
      const auto& elements = node.as_array();
      out.push_back('[');
      bool first = true;
      for (const auto& element : elements) {
        if (!first) out.push_back(',');
        first = false;
        if (pretty) newline(out, indent + 2);
        appendValue(out, element, pretty ? indent + 2 : -1);
      }
      if (pretty && elements.size() != 0) newline(out, indent);
      out.push_back(']');
      return;
    }
    case JsonValue::Object: {
      const auto& members = node.as_object();
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : members) {
        if (!first) out.push_back(',');
        first = false;
        if (pretty) newline(out, indent + 2);
        appendJsonString(out, key);
        out += pretty ? ": " : ":";
        appendValue(out, member, pretty ? indent + 2 : -1);
      }
      if (pretty && members.size() != 0) newline(out, indent);
      out.push_back('}');
      return;
    }
  }
}

bool numbersEqual(const web::json::number& left, const web::json::number& right) {
  if (left.is_integral() && right.is_integral()) {
    if (left.is_int64() && right.is_int64()) return left.to_int64() == right.to_int64();
    if (left.is_uint64() && right.is_uint64()) return left.to_uint64() == right.to_uint64();
    return false;  // one is negative, the other above the int64 range
  }
  return left.to_double() == right.to_double();
}

bool isPlainKeyCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '$';
}

// The UTF-16 code unit written as four hexadecimal digits at text[at], if there are four.
std::optional<char32_t> hexCodeUnit(std::string_view text, std::size_t at) {
  if (at + 4 > text.size()) return std::nullopt;
  char32_t unit = 0;
  for (std::size_t i = at; i < at + 4; ++i) {
    const char c = text[i];
    char32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<char32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<char32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<char32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    unit = (unit << 4) | digit;
  }
  return unit;
}

bool isHighSurrogate(char32_t unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool isLowSurrogate(char32_t unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

// `text` as Go's encoding/json (and so kubectl and the API server) reads it, in a form cpprest
// reads the same way: each byte that is not part of well-formed UTF-8 becomes U+FFFD, and inside
// strings each \u escape of a surrogate that is not half of a high-low pair becomes \ufffd.
// cpprest kept such bytes and turned a lone low surrogate escape into the bytes of an encoded
// surrogate, which toJson then writes as U+FFFD: a value read and written back differed from
// itself (found by fuzzing: corpus json/invalid-utf8-key.json, json/lone-surrogate-escapes.json).
// cpprest also refused a lone high surrogate, which Go accepts. As in Go, the escape after a lone
// high surrogate is read on its own ("\ud800\u0041" is U+FFFD then "A"). Escapes keep their length,
// so cpprest's error columns stay right for them.
std::string asGoReadsIt(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool inString = false;
  for (std::size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const std::optional<Utf8Sequence> sequence = decodeUtf8(text, at);
      if (!sequence) {
        out += "\xef\xbf\xbd";
        continue;
      }
      out.append(text.substr(at, sequence->length));
      at += sequence->length - 1;
      continue;
    }
    if (c == '"') inString = !inString;
    const bool unicodeEscape = inString && c == '\\' && at + 1 < text.size() && text[at + 1] == 'u';
    if (!unicodeEscape) {
      out.push_back(c);
      // The character after any other backslash is copied as is: an escaped quote or backslash
      // neither ends the string nor starts another escape. (Past a backslash a byte above 0x7F
      // is no escape: cpprest refuses the text whatever that byte becomes.)
      if (inString && c == '\\' && at + 1 < text.size() &&
          static_cast<unsigned char>(text[at + 1]) < 0x80) {
        out.push_back(text[++at]);
      }
      continue;
    }
    const std::optional<char32_t> unit = hexCodeUnit(text, at + 2);
    if (!unit || !(isHighSurrogate(*unit) || isLowSurrogate(*unit))) {
      out += "\\u";  // cpprest reads (or refuses) it; the digits follow as plain characters
      ++at;
      continue;
    }
    constexpr std::size_t kEscapeLength = 6;  // \uXXXX
    const std::size_t next = at + kEscapeLength;
    if (isHighSurrogate(*unit) && next + 1 < text.size() && text[next] == '\\' &&
        text[next + 1] == 'u') {
      if (const auto low = hexCodeUnit(text, next + 2); low && isLowSurrogate(*low)) {
        out.append(text.substr(at, 2 * kEscapeLength));
        at += 2 * kEscapeLength - 1;
        continue;
      }
    }
    out += "\\ufffd";
    at += kEscapeLength - 1;
  }
  return out;
}

}  // namespace

std::expected<web::json::value, std::string> parseJson(std::string_view text) {
  JsonValue parsed;
  try {
    parsed = JsonValue::parse(asGoReadsIt(text));
  } catch (const web::json::json_exception& error) {
    return std::unexpected(readableParseError(error.what()));
  } catch (const std::exception& error) {
    return std::unexpected(std::string(error.what()));
  }
  if (auto problem = findInvalid(parsed, ""); !problem.empty()) {
    return std::unexpected(std::move(problem));
  }
  return parsed;
}

std::string toJson(const web::json::value& value) {
  std::string out;
  appendValue(out, value, -1);
  return out;
}

std::string toPrettyJson(const web::json::value& value) {
  std::string out;
  appendValue(out, value, 0);
  return out;
}

bool jsonEqual(const web::json::value& left, const web::json::value& right) {
  if (left.type() != right.type()) return false;
  switch (left.type()) {
    case JsonValue::Null:
      return true;
    case JsonValue::Boolean:
      return left.as_bool() == right.as_bool();
    case JsonValue::Number:
      return numbersEqual(left.as_number(), right.as_number());
    case JsonValue::String:
      return left.as_string() == right.as_string();
    case JsonValue::Array: {
      const auto& a = left.as_array();
      const auto& b = right.as_array();
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!jsonEqual(a.at(i), b.at(i))) return false;
      }
      return true;
    }
    case JsonValue::Object: {
      const auto& a = left.as_object();
      const auto& b = right.as_object();
      if (a.size() != b.size()) return false;
      for (const auto& [key, member] : a) {
        auto found = b.find(key);
        if (found == b.end() || !jsonEqual(member, found->second)) return false;
      }
      return true;
    }
  }
  return false;
}

std::string escapeFieldPathKey(std::string_view key) {
  bool plain = !key.empty();
  for (char c : key) plain = plain && isPlainKeyCharacter(c);
  if (plain) return std::string(key);
  std::string escaped;
  escaped.reserve(key.size() + 2);
  escaped.push_back('[');
  escaped.append(key);
  escaped.push_back(']');
  return escaped;
}

std::string joinFieldPath(std::string_view parent, std::string_view key) {
  std::string escaped = escapeFieldPathKey(key);
  std::string path(parent);
  if (!path.empty() && escaped.front() != '[') path.push_back('.');
  path += escaped;
  return path;
}

std::string indexFieldPath(std::string_view parent, std::size_t index) {
  std::string path(parent);
  path.push_back('[');
  path += std::to_string(index);
  path.push_back(']');
  return path;
}

std::string parentFieldPath(std::string_view path) {
  if (path.empty()) return {};
  if (path.back() == ']') {
    auto open = path.rfind('[');
    return open == std::string_view::npos ? std::string() : std::string(path.substr(0, open));
  }
  // The last segment is a plain key: it starts after the last '.' or the last ']'.
  auto dot = path.rfind('.');
  auto bracket = path.rfind(']');
  if (dot != std::string_view::npos && (bracket == std::string_view::npos || dot > bracket)) {
    return std::string(path.substr(0, dot));
  }
  if (bracket != std::string_view::npos) return std::string(path.substr(0, bracket + 1));
  return {};
}

const web::json::value* findMember(const web::json::value& object,
                                   std::initializer_list<std::string_view> path) {
  const web::json::value* node = &object;
  for (std::string_view key : path) {
    const std::string name(key);
    if (!node->is_object() || !node->has_field(name)) return nullptr;
    node = &node->at(name);
  }
  return node;
}

std::string stringAt(const web::json::value& object, std::initializer_list<std::string_view> path) {
  const web::json::value* node = findMember(object, path);
  return node != nullptr && node->is_string() ? node->as_string() : std::string();
}

}  // namespace billing::common
