#include "tests/apiserver/crd_validation.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <utility>

#include "common/json.h"
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

std::optional<double> numberMember(const JsonValue& object, std::string_view key) {
  const auto* value = member(object, key);
  if (!value || !value->is_number()) return std::nullopt;
  return value->as_double();
}

std::optional<long long> integerMember(const JsonValue& object, std::string_view key) {
  const auto* value = member(object, key);
  if (!value || !value->is_number()) return std::nullopt;
  if (value->is_integer() && value->as_number().is_int64()) return value->as_number().to_int64();
  return static_cast<long long>(value->as_double());
}

// The JSON types as kube's decoder produces them (int64 for integer literals within range,
// float64 otherwise).
enum class Kind { Null, Bool, Int, Float, String, Array, Object };

Kind kindOf(const JsonValue& value) {
  switch (value.type()) {
    case JsonValue::Null:
      return Kind::Null;
    case JsonValue::Boolean:
      return Kind::Bool;
    case JsonValue::Number:
      return isGoInt64(value) ? Kind::Int : Kind::Float;
    case JsonValue::String:
      return Kind::String;
    case JsonValue::Array:
      return Kind::Array;
    case JsonValue::Object:
      return Kind::Object;
  }
  return Kind::Null;
}

std::string schemaTypeOf(Kind kind) {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return "boolean";
    case Kind::Int:
      return "integer";
    case Kind::Float:
      return "number";
    case Kind::String:
      return "string";
    case Kind::Array:
      return "array";
    case Kind::Object:
      return "object";
  }
  return "null";
}

// swag.IsFloat64AJSONInteger as it behaves on amd64 (negative floats convert badly to uint64,
// so they are not integers).
bool isJsonIntegerFloat(double value) {
  constexpr double kMaxJsonFloat = 9007199254740991.0;  // 1<<53 - 1
  if (!std::isfinite(value) || value < 0 || value > kMaxJsonFloat) return false;
  return value == std::trunc(value);
}

// The formats kube validates (apiextensions-apiserver's supported formats); others are
// stripped from the schema before validation.
bool isSupportedFormat(std::string_view format) {
  static const std::set<std::string, std::less<>> kSupported = {
      "bsonobjectid", "uri",    "email",    "hostname",   "ipv4",     "ipv6",
      "cidr",         "mac",    "uuid",     "uuid3",      "uuid4",    "uuid5",
      "isbn",         "isbn10", "isbn13",   "creditcard", "ssn",      "hexcolor",
      "rgbcolor",     "byte",   "password", "date",       "duration", "datetime"};
  std::string normalized;
  for (char c : format) {
    if (c != '-') normalized.push_back(c);
  }
  return kSupported.contains(normalized);
}

std::string effectiveFormat(const JsonValue& schema) {
  auto format = stringMember(schema, "format");
  return isSupportedFormat(format) ? format : std::string();
}

std::vector<std::string> declaredTypes(const JsonValue& schema) {
  if (boolMember(schema, "x-kubernetes-int-or-string")) return {"integer", "string"};
  auto type = stringMember(schema, "type");
  if (type.empty()) return {};
  return {type};
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// ---- Regular expressions (Go RE2 -> ECMAScript) ----

struct CompiledRegex {
  std::shared_ptr<const std::regex> regex;
  std::string error;  // Go-style compile error; empty when compiled
};

CompiledRegex translateAndCompile(std::string_view pattern) {
  std::string out;
  bool icase = false;
  std::size_t at = 0;
  if (pattern.starts_with("(?i)")) {
    icase = true;
    at = 4;
  }
  bool inClass = false;
  for (; at < pattern.size(); ++at) {
    const char c = pattern[at];
    if (c == '\\' && at + 1 < pattern.size()) {
      const char next = pattern[at + 1];
      if (next >= '1' && next <= '9' && !inClass) {
        return {nullptr,
                "error parsing regexp: invalid escape sequence: `\\" + std::string(1, next) + "`"};
      }
      if (next == 'A' && !inClass) {
        out += '^';
      } else if (next == 'z' && !inClass) {
        out += '$';
      } else if (next == 'Z') {
        return {nullptr, "error parsing regexp: invalid escape sequence: `\\Z`"};
      } else if (next == 'p' || next == 'P') {
        return {nullptr,
                "error parsing regexp: Unicode classes are not supported by the test API "
                "server: `\\" +
                    std::string(1, next) + "`"};
      } else {
        out += c;
        out += next;
      }
      ++at;
      continue;
    }
    if (inClass) {
      if (c == '[' && at + 1 < pattern.size() && pattern[at + 1] == ':') {
        auto end = pattern.find(":]", at + 2);
        if (end != std::string_view::npos) {
          out.append(pattern.substr(at, end + 2 - at));
          at = end + 1;
          continue;
        }
      }
      if (c == ']') inClass = false;
      out += c;
      continue;
    }
    if (c == '[') {
      inClass = true;
      out += c;
      if (at + 1 < pattern.size() && pattern[at + 1] == '^') {
        out += '^';
        ++at;
      }
      if (at + 1 < pattern.size() && pattern[at + 1] == ']') {
        out += "\\]";
        ++at;
      }
      continue;
    }
    if (c == '(' && at + 1 < pattern.size() && pattern[at + 1] == '?') {
      const auto rest = pattern.substr(at);
      if (rest.starts_with("(?:")) {
        out += "(?:";
        at += 2;
        continue;
      }
      if (rest.starts_with("(?P<") || rest.starts_with("(?<")) {
        const auto close = pattern.find('>', at);
        if (close == std::string_view::npos) {
          return {nullptr,
                  "error parsing regexp: invalid named capture: `" + std::string(rest) + "`"};
        }
        if (rest.starts_with("(?<=") || rest.starts_with("(?<!")) {
          return {nullptr, "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"};
        }
        out += '(';
        at = close;
        continue;
      }
      return {nullptr, "error parsing regexp: invalid or unsupported Perl syntax: `" +
                           std::string(rest.substr(0, 3)) + "`"};
    }
    out += c;
  }
  auto flags = std::regex::ECMAScript;
  if (icase) flags |= std::regex::icase;
  try {
    return {std::make_shared<const std::regex>(out, flags), {}};
  } catch (const std::regex_error& error) {
    std::string detail;
    switch (error.code()) {
      case std::regex_constants::error_paren:
        detail = "missing closing ): `" + std::string(pattern) + "`";
        break;
      case std::regex_constants::error_brack:
        detail = "missing closing ]: `" + std::string(pattern) + "`";
        break;
      case std::regex_constants::error_badrepeat:
        detail = "missing argument to repetition operator: `" + std::string(pattern) + "`";
        break;
      default:
        detail = "invalid regular expression: `" + std::string(pattern) + "`";
    }
    return {nullptr, "error parsing regexp: " + detail};
  }
}

const CompiledRegex& compiledRegex(std::string_view pattern) {
  static std::mutex mutex;
  static std::map<std::string, CompiledRegex, std::less<>> cache;
  std::lock_guard lock(mutex);
  auto found = cache.find(pattern);
  if (found != cache.end()) return found->second;
  return cache.emplace(std::string(pattern), translateAndCompile(pattern)).first->second;
}

// ---- Formats ----

bool isDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool fullMatch(const char* pattern, std::string_view text, bool icase = false) {
  auto flags = std::regex::ECMAScript;
  if (icase) flags |= std::regex::icase;
  const std::regex regex(pattern, flags);
  return std::regex_match(text.begin(), text.end(), regex);
}

bool isLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// time.Parse("2006-01-02", text).
bool isDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  if (!isDigits(text.substr(0, 4)) || !isDigits(text.substr(5, 2)) ||
      !isDigits(text.substr(8, 2))) {
    return false;
  }
  const int year = std::stoi(std::string(text.substr(0, 4)));
  const int month = std::stoi(std::string(text.substr(5, 2)));
  const int day = std::stoi(std::string(text.substr(8, 2)));
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int maxDay = kDays[month - 1];
  if (month == 2 && isLeapYear(year)) maxDay = 29;
  return day <= maxDay;
}

// strfmt.IsDateTime: a date, 't' (any case), then hh:mm:ss[.frac](z|±hh:mm).
bool isDateTime(std::string_view text) {
  if (text.size() < 4) return false;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto t = lower.find('t', start);
    parts.push_back(lower.substr(start, t == std::string::npos ? std::string::npos : t - start));
    if (t == std::string::npos) break;
    start = t + 1;
  }
  if (parts.size() < 2 || !isDate(parts[0])) return false;
  static const std::regex kTime(
      R"(^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$)");
  std::smatch match;
  if (!std::regex_search(parts[1], match, kTime)) return false;
  return match[1].str() <= "23" && match[2].str() <= "59" && match[3].str() <= "59";
}

bool isIPv4Text(std::string_view text) {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    auto dot = text.find('.', start);
    auto part =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!isDigits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

// net.ParseIP for an address with ':' (IPv6, possibly with an embedded IPv4 tail).
bool isIPv6Text(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return false;
  int groups = 0;
  bool ellipsis = false;
  std::size_t at = 0;
  if (text.starts_with("::")) {
    ellipsis = true;
    at = 2;
    if (at == text.size()) return true;
  }
  while (at < text.size()) {
    auto colon = text.find(':', at);
    auto group =
        text.substr(at, colon == std::string_view::npos ? std::string_view::npos : colon - at);
    if (colon == std::string_view::npos && group.find('.') != std::string_view::npos) {
      if (!isIPv4Text(group)) return false;
      groups += 2;
      break;
    }
    if (group.empty() || group.size() > 4 || !std::all_of(group.begin(), group.end(), isHex)) {
      return false;
    }
    ++groups;
    if (colon == std::string_view::npos) break;
    at = colon + 1;
    if (at < text.size() && text[at] == ':') {
      if (ellipsis) return false;
      ellipsis = true;
      ++at;
      if (at == text.size()) break;
    } else if (at == text.size()) {
      return false;
    }
  }
  return ellipsis ? groups < 8 : groups == 8;
}

bool isCidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  auto address = text.substr(0, slash);
  auto bits = text.substr(slash + 1);
  if (!isDigits(bits) || bits.size() > 3 || (bits.size() > 1 && bits[0] == '0')) return false;
  const int prefix = std::stoi(std::string(bits));
  if (isIPv4Text(address)) return prefix <= 32;
  if (isIPv6Text(address)) return prefix <= 128;
  return false;
}

bool isMac(std::string_view text) {
  if (fullMatch("([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", text)) {
    return text[2] == text[5] && text[5] == text[8] && text[8] == text[11] && text[11] == text[14];
  }
  return fullMatch("([0-9A-Fa-f]{2}:){7}[0-9A-Fa-f]{2}", text) ||
         fullMatch("([0-9A-Fa-f]{2}-){7}[0-9A-Fa-f]{2}", text) ||
         fullMatch("([0-9A-Fa-f]{2}:){19}[0-9A-Fa-f]{2}", text) ||
         fullMatch("([0-9A-Fa-f]{2}-){19}[0-9A-Fa-f]{2}", text) ||
         fullMatch("([0-9A-Fa-f]{4}\\.){2}[0-9A-Fa-f]{4}", text) ||
         fullMatch("([0-9A-Fa-f]{4}\\.){3}[0-9A-Fa-f]{4}", text) ||
         fullMatch("([0-9A-Fa-f]{4}\\.){9}[0-9A-Fa-f]{4}", text);
}

bool isAtext(unsigned char c) {
  if (c >= 0x80) return true;  // RFC 6532, as Go's net/mail accepts UTF-8
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

bool isDotAtom(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char previous = 0;
  for (char c : text) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!isAtext(static_cast<unsigned char>(c))) {
      return false;
    }
    previous = c;
  }
  return true;
}

bool isQuotedString(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      ++i;
      if (i + 1 >= text.size()) return false;
      continue;
    }
    if (c == '"' || (c < 0x20 && c != '\t')) return false;
  }
  return true;
}

bool isAddrSpec(std::string_view text) {
  auto at = text.rfind('@');
  if (at == std::string_view::npos) return false;
  auto local = text.substr(0, at);
  auto domain = text.substr(at + 1);
  if (!(isDotAtom(local) || isQuotedString(local))) return false;
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    return domain.find_first_of("[]\\", 1) == domain.size() - 1;
  }
  return isDotAtom(domain);
}

std::string_view trimSpace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// net/mail.ParseAddress, approximated: "addr-spec", "<addr-spec>" or "Display Name <addr-spec>".
bool isEmail(std::string_view text) {
  text = trimSpace(text);
  if (text.empty()) return false;
  if (text.back() == '>') {
    auto open = text.rfind('<');
    if (open == std::string_view::npos) return false;
    auto name = trimSpace(text.substr(0, open));
    if (!name.empty() && !isQuotedString(name)) {
      for (char c : name) {
        if (c != ' ' && c != '.' && !isAtext(static_cast<unsigned char>(c))) return false;
      }
    }
    return isAddrSpec(text.substr(open + 1, text.size() - open - 2));
  }
  return isAddrSpec(text);
}

bool isHostname(std::string_view text) {
  if (text.empty() || text.size() > 255) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = text.find('.', start);
    auto label =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const auto byte = static_cast<unsigned char>(c);
      if (!(std::isalnum(byte) || c == '-' || byte >= 0x80)) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// govalidator.IsRequestURI (url.ParseRequestURI): an absolute URI or an absolute path.
bool isRequestUri(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return false;
  }
  if (text.front() == '/') return true;
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(text[0]))) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!(std::isalnum(c) || c == '+' || c == '-' || c == '.')) return false;
  }
  return true;
}

bool isGoDuration(std::string_view text) {
  if (text == "0") return true;
  std::size_t at = 0;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) ++at;
  if (at == text.size()) return false;
  while (at < text.size()) {
    const auto numberStart = at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at;
    bool digits = at > numberStart;
    if (at < text.size() && text[at] == '.') {
      ++at;
      const auto fractionStart = at;
      while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) ++at;
      digits = digits || at > fractionStart;
    }
    if (!digits) return false;
    const auto unitStart = at;
    while (at < text.size() && !std::isdigit(static_cast<unsigned char>(text[at])) &&
           text[at] != '.') {
      ++at;
    }
    const auto unit = text.substr(unitStart, at - unitStart);
    static const std::set<std::string, std::less<>> kUnits = {"ns", "us", "\xC2\xB5s", "\xCE\xBCs",
                                                              "ms", "s",  "m",         "h"};
    if (!kUnits.contains(unit)) return false;
  }
  return true;
}

// strfmt.ParseDuration: Go durations, or "<n> <unit>" pairs with day/week units and long names.
bool isDuration(std::string_view text) {
  if (isGoDuration(text)) return true;
  static const std::regex kPair(R"((\d+)\s*([A-Za-z]+))");
  static const std::vector<std::vector<std::string>> kUnits = {
      {"ns", "nanosecond"}, {"us", "microsecond"}, {"ms", "millisecond"}, {"s", "second"},
      {"m", "minute"},      {"h", "hour"},         {"d", "day"},          {"w", "week"}};
  bool found = false;
  const std::string input(text);
  for (auto it = std::sregex_iterator(input.begin(), input.end(), kPair);
       it != std::sregex_iterator(); ++it) {
    std::string unit = (*it)[2].str();
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& variants : kUnits) {
      for (std::size_t i = 0; i < variants.size(); ++i) {
        const bool last = i + 1 == variants.size();
        if ((last && unit.starts_with(variants[i])) || unit == variants[i]) found = true;
      }
    }
  }
  return found;
}

bool luhn(std::string_view digits) {
  int sum = 0;
  bool doubled = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int digit = *it - '0';
    if (doubled) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    doubled = !doubled;
  }
  return sum % 10 == 0;
}

std::string withoutSeparators(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '-') out.push_back(c);
  }
  return out;
}

bool isIsbn10(std::string_view text) {
  auto clean = withoutSeparators(text);
  if (!fullMatch("(?:[0-9]{9}X|[0-9]{10})", clean)) return false;
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += (i + 1) * (clean[static_cast<std::size_t>(i)] - '0');
  sum += clean[9] == 'X' ? 100 : 10 * (clean[9] - '0');
  return sum % 11 == 0;
}

bool isIsbn13(std::string_view text) {
  auto clean = withoutSeparators(text);
  if (!fullMatch("[0-9]{13}", clean)) return false;
  int sum = 0;
  for (int i = 0; i < 12; ++i) {
    sum += (i % 2 == 0 ? 1 : 3) * (clean[static_cast<std::size_t>(i)] - '0');
  }
  return (10 - sum % 10) % 10 == clean[12] - '0';
}

bool isCreditCard(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  if (!fullMatch("(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|"
                 "27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0["
                 "0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\\d{3})\\d{11}|6[27][0-9]{14})",
                 digits)) {
    return false;
  }
  return luhn(digits);
}

bool isBase64(std::string_view text) {
  return fullMatch(
      "(?:[A-Za-z0-9+\\/]{4})*(?:[A-Za-z0-9+\\/]{2}==|[A-Za-z0-9+\\/]{3}=|[A-Za-z0-9+\\/]{4})",
      text);
}

// ---- The schema validator ----

struct Validator {
  std::string base;  // field.Path of the validated value ("" = nil)
  FieldErrors errors;

  // The field of an error whose kube-openapi name is `name` (errPath in kube).
  std::string fieldFor(std::string_view name) const {
    if (name.empty() || name == ".") return base.empty() ? std::string("<nil>") : base;
    if (name.front() == '.') name.remove_prefix(1);
    return base.empty() ? std::string(name) : base + "." + std::string(name);
  }
  std::string rootField() const { return base.empty() ? std::string("<nil>") : base; }

  void typeError(std::string_view name, const std::string& typeName, const std::string& got) {
    errors.push_back(typeInvalidError(
        fieldFor(name), JsonValue::string(got),
        std::string(name) + " in body must be of type " + typeName + ": " + gotext::quote(got)));
  }

  void validate(const JsonValue& data, const JsonValue& schema, const std::string& name);
  bool validateType(const JsonValue& data, const JsonValue& schema, const std::string& name);
  void validateSchemaProps(const JsonValue& data, const JsonValue& schema, const std::string& name);
  void validateString(const JsonValue& data, const JsonValue& schema, const std::string& name);
  void validateFormat(const JsonValue& data, const JsonValue& schema, const std::string& name);
  void validateNumber(const JsonValue& data, const JsonValue& schema, const std::string& name);
  void validateArray(const JsonValue& data, const JsonValue& schema, const std::string& name);
  void validateEnum(const JsonValue& data, const JsonValue& schema, const std::string& name);
  void validateObject(const JsonValue& data, const JsonValue& schema, const std::string& name);
};

FieldErrors validateSubschema(const JsonValue& data, const JsonValue& schema,
                              const std::string& name, const std::string& base) {
  Validator sub{base, {}};
  sub.validate(data, schema, name);
  return sub.errors;
}

void Validator::validate(const JsonValue& data, const JsonValue& schema, const std::string& name) {
  if (!schema.is_object()) return;
  if (data.is_null()) {
    const auto types = declaredTypes(schema);
    if (!types.empty() && !contains(types, "null") && !boolMember(schema, "nullable")) {
      typeError(name, join(types, ","), "null");
    }
    validateEnum(data, schema, name);
    return;
  }
  validateType(data, schema, name);
  validateSchemaProps(data, schema, name);
  const auto kind = kindOf(data);
  if (kind == Kind::String) {
    validateString(data, schema, name);
    validateFormat(data, schema, name);
  }
  if (kind == Kind::Int || kind == Kind::Float) validateNumber(data, schema, name);
  if (kind == Kind::Array) validateArray(data, schema, name);
  validateEnum(data, schema, name);
  if (kind == Kind::Object) validateObject(data, schema, name);
}

bool Validator::validateType(const JsonValue& data, const JsonValue& schema,
                             const std::string& name) {
  const auto types = declaredTypes(schema);
  const auto format = effectiveFormat(schema);
  if (types.empty() && format.empty()) return true;
  const auto kind = kindOf(data);
  const auto schType = schemaTypeOf(kind);
  std::string dataFormat;
  if (kind == Kind::Int) dataFormat = "int64";
  if (kind == Kind::Float) dataFormat = "float64";
  const bool isFloatInt =
      kind == Kind::Float && isJsonIntegerFloat(data.as_double()) && contains(types, "integer");
  const bool isIntFloat = kind == Kind::Int && contains(types, "number");
  const bool stringOrSlice = kind == Kind::String || kind == Kind::Array;
  if (!stringOrSlice && !format.empty() &&
      !(contains(types, schType) || dataFormat == format || isFloatInt || isIntFloat)) {
    typeError(name, format, dataFormat);
    return false;
  }
  if (!(contains(types, "number") || contains(types, "integer")) && !format.empty() &&
      stringOrSlice) {
    return true;
  }
  if (!(contains(types, schType) || isFloatInt || isIntFloat)) {
    typeError(name, join(types, ","), schType);
    return false;
  }
  return true;
}

void Validator::validateSchemaProps(const JsonValue& data, const JsonValue& schema,
                                    const std::string& name) {
  const std::string quoted = gotext::quote(name);
  if (const auto* anyOf = member(schema, "anyOf");
      anyOf && anyOf->is_array() && anyOf->size() > 0) {
    std::optional<FieldErrors> best;
    bool valid = false;
    for (const auto& sub : anyOf->as_array()) {
      auto result = validateSubschema(data, sub, name, base);
      if (result.empty()) {
        valid = true;
        break;
      }
      if (!best || result.size() < best->size()) best = std::move(result);
    }
    if (!valid) {
      errors.push_back(invalidStringError(rootField(), "",
                                          quoted + " must validate at least one schema (anyOf)"));
      if (best) errors.insert(errors.end(), best->begin(), best->end());
    }
  }
  if (const auto* oneOf = member(schema, "oneOf");
      oneOf && oneOf->is_array() && oneOf->size() > 0) {
    std::size_t validCount = 0;
    std::optional<FieldErrors> best;
    for (const auto& sub : oneOf->as_array()) {
      auto result = validateSubschema(data, sub, name, base);
      if (result.empty()) {
        ++validCount;
      } else if (!best || result.size() < best->size()) {
        best = std::move(result);
      }
    }
    if (validCount != 1) {
      std::string detail = quoted + " must validate one and only one schema (oneOf)";
      if (validCount == 0) {
        detail += ". Found none valid";
      } else {
        detail += ". Found " + std::to_string(validCount) + " valid alternatives";
      }
      errors.push_back(invalidStringError(rootField(), "", detail));
      if (validCount == 0 && best) errors.insert(errors.end(), best->begin(), best->end());
    }
  }
  if (const auto* allOf = member(schema, "allOf");
      allOf && allOf->is_array() && allOf->size() > 0) {
    std::size_t validCount = 0;
    FieldErrors collected;
    for (const auto& sub : allOf->as_array()) {
      auto result = validateSubschema(data, sub, name, base);
      if (result.empty()) ++validCount;
      collected.insert(collected.end(), result.begin(), result.end());
    }
    errors.insert(errors.end(), collected.begin(), collected.end());
    if (validCount != allOf->size()) {
      std::string detail = quoted + " must validate all the schemas (allOf)";
      if (validCount == 0) detail += ". Failed to validate any of the allOf schemas";
      errors.push_back(invalidStringError(rootField(), "", detail));
    }
  }
  if (const auto* notSchema = member(schema, "not"); notSchema && notSchema->is_object()) {
    if (validateSubschema(data, *notSchema, name, base).empty()) {
      errors.push_back(
          invalidStringError(rootField(), "", quoted + " must not validate the schema (not)"));
    }
  }
}

void Validator::validateString(const JsonValue& data, const JsonValue& schema,
                               const std::string& name) {
  const auto& text = data.as_string();
  const auto length = static_cast<long long>(runeCount(text));
  if (auto maxLength = integerMember(schema, "maxLength"); maxLength && length > *maxLength) {
    errors.push_back(tooLongError(fieldFor(name), *maxLength));
    return;
  }
  if (auto minLength = integerMember(schema, "minLength"); minLength && length < *minLength) {
    errors.push_back(invalidError(
        fieldFor(name), data,
        name + " in body should be at least " + std::to_string(*minLength) + " chars long"));
    return;
  }
  const auto pattern = stringMember(schema, "pattern");
  if (!pattern.empty()) {
    const auto& compiled = compiledRegex(pattern);
    if (!compiled.regex) {
      errors.push_back(invalidError(fieldFor(name), data,
                                    name + " in body should match '" + pattern +
                                        ", but pattern is invalid: " + compiled.error + "'"));
    } else if (!goRegexMatch(pattern, text)) {
      errors.push_back(
          invalidError(fieldFor(name), data, name + " in body should match '" + pattern + "'"));
    }
  }
}

void Validator::validateFormat(const JsonValue& data, const JsonValue& schema,
                               const std::string& name) {
  const auto format = effectiveFormat(schema);
  if (format.empty()) return;
  const auto valid = checkFormat(format, data.as_string());
  if (valid && !*valid) {
    errors.push_back(typeInvalidError(
        fieldFor(name), data,
        name + " in body must be of type " + format + ": " + gotext::quote(data.as_string())));
  }
}

void Validator::validateNumber(const JsonValue& data, const JsonValue& schema,
                               const std::string& name) {
  const bool isInt = kindOf(data) == Kind::Int;
  const double asFloat = data.as_double();
  const long long asInt = isInt ? data.as_number().to_int64() : 0;
  if (auto factor = numberMember(schema, "multipleOf")) {
    if (*factor < 0) {
      errors.push_back(invalidError(fieldFor(name), JsonValue::number(*factor),
                                    "factor MultipleOf declared for " + name +
                                        " must be positive: " + gotext::formatFloat(*factor)));
    } else if (isInt) {
      const auto intFactor = static_cast<long long>(*factor);
      if (intFactor != 0 && (asInt / intFactor) * intFactor != asInt) {
        errors.push_back(
            invalidError(fieldFor(name), data,
                         name + " in body should be a multiple of " + std::to_string(intFactor)));
      }
    } else if (*factor > 0) {
      const double multiple = *factor < 1 ? 1 / *factor * asFloat : asFloat / *factor;
      if (!isJsonIntegerFloat(std::fabs(multiple))) {
        errors.push_back(invalidError(
            fieldFor(name), data,
            name + " in body should be a multiple of " + gotext::formatFloat(*factor)));
      }
    }
  }
  if (auto minimum = numberMember(schema, "minimum")) {
    const bool exclusive = boolMember(schema, "exclusiveMinimum");
    const char* relation = exclusive ? " in body should be greater than "
                                     : " in body should be greater than or equal to ";
    if (isInt) {
      const auto limit = static_cast<long long>(*minimum);
      if ((!exclusive && asInt < limit) || (exclusive && asInt <= limit)) {
        errors.push_back(
            invalidError(fieldFor(name), data, name + relation + std::to_string(limit)));
      }
    } else if ((!exclusive && asFloat < *minimum) || (exclusive && asFloat <= *minimum)) {
      errors.push_back(
          invalidError(fieldFor(name), data, name + relation + gotext::formatFloat(*minimum)));
    }
  }
  if (auto maximum = numberMember(schema, "maximum")) {
    const bool exclusive = boolMember(schema, "exclusiveMaximum");
    const char* relation =
        exclusive ? " in body should be less than " : " in body should be less than or equal to ";
    if (isInt) {
      const auto limit = static_cast<long long>(*maximum);
      if ((!exclusive && asInt > limit) || (exclusive && asInt >= limit)) {
        errors.push_back(
            invalidError(fieldFor(name), data, name + relation + std::to_string(limit)));
      }
    } else if ((!exclusive && asFloat > *maximum) || (exclusive && asFloat >= *maximum)) {
      errors.push_back(
          invalidError(fieldFor(name), data, name + relation + gotext::formatFloat(*maximum)));
    }
  }
}

void Validator::validateArray(const JsonValue& data, const JsonValue& schema,
                              const std::string& name) {
  const auto& elements = data.as_array();
  if (const auto* items = member(schema, "items"); items && items->is_object()) {
    for (std::size_t i = 0; i < elements.size(); ++i) {
      validate(elements.at(i), *items, name + "[" + std::to_string(i) + "]");
    }
  }
  const auto size = static_cast<long long>(elements.size());
  if (auto minItems = integerMember(schema, "minItems"); minItems && size < *minItems) {
    errors.push_back(invalidError(
        fieldFor(name), JsonValue::number(static_cast<int64_t>(size)),
        name + " in body should have at least " + std::to_string(*minItems) + " items"));
  }
  if (auto maxItems = integerMember(schema, "maxItems"); maxItems && size > *maxItems) {
    errors.push_back(tooManyError(fieldFor(name), size, *maxItems));
  }
  if (boolMember(schema, "uniqueItems")) {
    for (std::size_t i = 0; i < elements.size(); ++i) {
      bool duplicate = false;
      for (std::size_t j = 0; j < i; ++j) {
        if (common::jsonEqual(elements.at(i), elements.at(j))) duplicate = true;
      }
      if (duplicate) {
        errors.push_back(
            invalidStringError(fieldFor(name), "", name + " in body shouldn't contain duplicates"));
        break;
      }
    }
  }
}

// reflect's ConvertibleTo + Convert + DeepEqual between decoded JSON values.
bool enumMatches(const JsonValue& data, const JsonValue& enumValue) {
  const auto dataKind = kindOf(data);
  switch (kindOf(enumValue)) {
    case Kind::Null:
      return false;
    case Kind::Bool:
      return dataKind == Kind::Bool && data.as_bool() == enumValue.as_bool();
    case Kind::Int: {
      if (dataKind == Kind::Int)
        return data.as_number().to_int64() == enumValue.as_number().to_int64();
      if (dataKind == Kind::Float) {
        const double value = data.as_double();
        if (!std::isfinite(value) || std::fabs(value) >= 9.2e18) return false;
        return static_cast<long long>(value) == enumValue.as_number().to_int64();
      }
      return false;
    }
    case Kind::Float:
      if (dataKind == Kind::Int || dataKind == Kind::Float) {
        return data.as_double() == enumValue.as_double();
      }
      return false;
    case Kind::String: {
      if (dataKind == Kind::String) return data.as_string() == enumValue.as_string();
      if (dataKind == Kind::Int) {
        // Go converts an integer to the string of that code point.
        const long long rune = data.as_number().to_int64();
        std::string text;
        if (rune < 0 || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF)) {
          text = "\xEF\xBF\xBD";
        } else if (rune < 0x80) {
          text.push_back(static_cast<char>(rune));
        } else if (rune < 0x800) {
          text.push_back(static_cast<char>(0xC0 | (rune >> 6)));
          text.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
        } else if (rune < 0x10000) {
          text.push_back(static_cast<char>(0xE0 | (rune >> 12)));
          text.push_back(static_cast<char>(0x80 | ((rune >> 6) & 0x3F)));
          text.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
        } else {
          text.push_back(static_cast<char>(0xF0 | (rune >> 18)));
          text.push_back(static_cast<char>(0x80 | ((rune >> 12) & 0x3F)));
          text.push_back(static_cast<char>(0x80 | ((rune >> 6) & 0x3F)));
          text.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
        }
        return text == enumValue.as_string();
      }
      return false;
    }
    case Kind::Array:
    case Kind::Object:
      return dataKind == kindOf(enumValue) && common::jsonEqual(data, enumValue);
  }
  return false;
}

void Validator::validateEnum(const JsonValue& data, const JsonValue& schema,
                             const std::string& name) {
  const auto* values = member(schema, "enum");
  if (!values || !values->is_array() || values->size() == 0) return;
  for (const auto& candidate : values->as_array()) {
    if (enumMatches(data, candidate)) return;
  }
  std::vector<std::string> supported;
  for (const auto& candidate : values->as_array()) {
    supported.push_back(candidate.is_string() ? candidate.as_string() : common::toJson(candidate));
  }
  errors.push_back(notSupportedError(fieldFor(name), data, supported));
}

void Validator::validateObject(const JsonValue& data, const JsonValue& schema,
                               const std::string& name) {
  const auto& fields = data.as_object();
  const auto count = static_cast<long long>(fields.size());
  if (auto minProperties = integerMember(schema, "minProperties");
      minProperties && count < *minProperties) {
    errors.push_back(invalidError(
        fieldFor(name), JsonValue::number(static_cast<int64_t>(count)),
        name + " in body should have at least " + std::to_string(*minProperties) + " properties"));
    return;
  }
  if (auto maxProperties = integerMember(schema, "maxProperties");
      maxProperties && count > *maxProperties) {
    errors.push_back(tooManyError(fieldFor(name), count, *maxProperties));
    return;
  }
  const auto* properties = member(schema, "properties");
  auto isProperty = [&](const std::string& key) {
    return properties && properties->is_object() && properties->has_field(key);
  };
  const auto* additional = member(schema, "additionalProperties");
  if (additional && additional->is_boolean() && !additional->as_bool()) {
    for (const auto& [key, value] : fields) {
      if (!isProperty(key)) {
        errors.push_back(invalidStringError(fieldFor(name), key,
                                            name + "." + key + " in body is a forbidden property"));
      }
    }
  } else if (additional && additional->is_object()) {
    // kube walks Go maps in random order; sorted keys keep the order stable.
    std::vector<std::string> keys;
    for (const auto& [key, value] : fields) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      if (!isProperty(key)) validate(fields.find(key)->second, *additional, name + "." + key);
    }
  }
  if (properties && properties->is_object()) {
    std::vector<std::string> keys;
    for (const auto& [key, propertySchema] : properties->as_object()) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      auto found = fields.find(key);
      if (found == fields.end()) continue;
      validate(found->second, properties->at(key), name.empty() ? key : name + "." + key);
    }
  }
  if (const auto* required = member(schema, "required"); required && required->is_array()) {
    for (const auto& key : required->as_array()) {
      if (!key.is_string()) continue;
      if (fields.find(key.as_string()) == fields.end()) {
        errors.push_back(requiredError(fieldFor(name + "." + key.as_string())));
      }
    }
  }
}

// ---- field.Path helpers for the checks that use field.Path directly ----

std::string childPath(const std::string& parent, std::string_view child) {
  return parent.empty() ? std::string(child) : parent + "." + std::string(child);
}

std::string keyPath(const std::string& parent, std::string_view key) {
  return parent + "[" + std::string(key) + "]";
}

std::string indexPath(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// ---- x-kubernetes-list-type ----

void listSetsAndMaps(const std::string& path, const JsonValue& schema, const JsonValue& value,
                     FieldErrors& errors);

void listSetsAndMapsObject(const std::string& path, const JsonValue& schema,
                           const JsonValue& object, FieldErrors& errors) {
  if (!schema.is_object() || !object.is_object()) return;
  if (const auto* additional = member(schema, "additionalProperties");
      additional && additional->is_object()) {
    for (const auto& [key, value] : object.as_object()) {
      listSetsAndMaps(keyPath(path, key), *additional, value, errors);
    }
  }
  if (const auto* properties = member(schema, "properties");
      properties && properties->is_object()) {
    for (const auto& [key, value] : object.as_object()) {
      if (const auto* sub = member(*properties, key)) {
        listSetsAndMaps(childPath(path, key), *sub, value, errors);
      }
    }
  }
}

// validateListSet: the indices of the second appearance of each non-unique element.
std::vector<std::size_t> nonUniqueIndices(const std::vector<JsonValue>& elements) {
  std::vector<std::size_t> out;
  std::vector<std::pair<std::string, int>> seen;  // canonical form, count
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const auto& element = elements[i];
    std::string canonical;
    // Go compares scalars by dynamic type and value (1 and 1.0 differ), compounds by JSON.
    switch (kindOf(element)) {
      case Kind::Int:
        canonical = "i" + common::toJson(element);
        break;
      case Kind::Float:
        canonical = "f" + gotext::formatFloat(element.as_double());
        break;
      default:
        canonical = std::string(1, static_cast<char>('a' + static_cast<int>(kindOf(element)))) +
                    common::toJson(element);
    }
    auto found = std::find_if(seen.begin(), seen.end(),
                              [&](const auto& entry) { return entry.first == canonical; });
    if (found == seen.end()) {
      seen.emplace_back(canonical, 1);
    } else {
      if (found->second == 1) out.push_back(i);
      ++found->second;
    }
  }
  return out;
}

void listSetsAndMapsArray(const std::string& path, const JsonValue& schema, const JsonValue& array,
                          FieldErrors& errors) {
  const auto listType = stringMember(schema, "x-kubernetes-list-type");
  std::vector<JsonValue> elements(array.as_array().begin(), array.as_array().end());
  if (listType == "set") {
    if (elements.size() > 1) {
      for (auto i : nonUniqueIndices(elements)) {
        errors.push_back(duplicateError(indexPath(path, i), elements[i]));
      }
    }
  } else if (listType == "map") {
    bool shapeError = false;
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (!elements[i].is_null() && !elements[i].is_object()) {
        errors.push_back(invalidError(indexPath(path, i), elements[i],
                                      "must be an object for an array of list-type map"));
        shapeError = true;
        break;
      }
    }
    if (!shapeError && elements.size() > 1) {
      std::vector<std::string> keyFields;
      if (const auto* keys = member(schema, "x-kubernetes-list-map-keys");
          keys && keys->is_array()) {
        for (const auto& key : keys->as_array()) {
          if (key.is_string()) keyFields.push_back(key.as_string());
        }
      }
      std::vector<JsonValue> keys;
      for (const auto& element : elements) {
        auto key = JsonValue::object();
        if (element.is_object()) {
          for (const auto& field : keyFields) {
            if (const auto* value = member(element, field)) key[field] = *value;
          }
        }
        keys.push_back(key);
      }
      // With one key field kube compares the key values themselves (an absent key is its own
      // value); the reported duplicate is {key: value} either way, {} when absent.
      std::vector<JsonValue> compared = keys;
      if (keyFields.size() == 1) {
        for (std::size_t i = 0; i < keys.size(); ++i) {
          const auto* value = member(keys[i], keyFields[0]);
          compared[i] = value ? *value : JsonValue::string("\x01unspecified");
        }
      }
      for (auto i : nonUniqueIndices(compared)) {
        errors.push_back(duplicateError(indexPath(path, i), keys[i]));
      }
    }
  }
  if (const auto* items = member(schema, "items"); items && items->is_object()) {
    for (std::size_t i = 0; i < elements.size(); ++i) {
      listSetsAndMaps(indexPath(path, i), *items, elements[i], errors);
    }
  }
}

void listSetsAndMaps(const std::string& path, const JsonValue& schema, const JsonValue& value,
                     FieldErrors& errors) {
  if (value.is_array()) {
    listSetsAndMapsArray(path, schema, value, errors);
  } else if (value.is_object()) {
    listSetsAndMapsObject(path, schema, value, errors);
  }
}

// ---- Names ----

std::string regexError(const std::string& message, const std::string& format,
                       const std::vector<std::string>& examples) {
  if (examples.empty()) return message + " (regex used for validation is '" + format + "')";
  std::string out = message + " (e.g. ";
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) out += " or ";
    out += "'" + examples[i] + "', ";
  }
  out += "regex used for validation is '" + format + "')";
  return out;
}

std::string maxLenError(std::size_t length) {
  return "must be no more than " + std::to_string(length) + " characters";
}

const std::string kDns1123LabelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const std::string kDns1123SubdomainFormat =
    kDns1123LabelFormat + "(\\." + kDns1123LabelFormat + ")*";
const std::string kDns1035LabelFormat = "[a-z]([-a-z0-9]*[a-z0-9])?";
const std::string kQualifiedNameFormat = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const std::string kLabelValueFormat = "(" + kQualifiedNameFormat + ")?";

bool matchesWhole(const std::string& format, std::string_view text) {
  static std::mutex mutex;
  static std::map<std::string, std::regex> cache;
  std::lock_guard lock(mutex);
  auto found = cache.find(format);
  if (found == cache.end()) found = cache.emplace(format, std::regex(format)).first;
  return std::regex_match(text.begin(), text.end(), found->second);
}

// validation.NameIsDNSSubdomain with prefix: the trailing '-' of a generateName is masked.
std::vector<std::string> nameIsDnsSubdomain(std::string_view name, bool prefix) {
  std::string value(name);
  if (prefix && !value.empty() && value.back() == '-') {
    value.pop_back();
    value += 'a';
  }
  return dns1123SubdomainErrors(value);
}

std::vector<std::string> pathSegmentNameErrors(std::string_view name, bool prefix) {
  if (!prefix && (name == "." || name == "..")) {
    return {"may not be '" + std::string(name) + "'"};
  }
  std::vector<std::string> out;
  for (const char* illegal : {"/", "%"}) {
    if (name.find(illegal) != std::string_view::npos) {
      out.push_back("may not contain '" + std::string(illegal) + "'");
    }
  }
  return out;
}

std::string stringOr(const JsonValue* value) {
  return value && value->is_string() ? value->as_string() : std::string();
}

using NameRule = std::vector<std::string> (*)(std::string_view, bool);

FieldErrors objectMetaErrors(const JsonValue& metadata, bool namespaced, NameRule nameRule,
                             const std::string& path) {
  FieldErrors errors;
  const JsonValue empty = JsonValue::object();
  const JsonValue& meta = metadata.is_object() ? metadata : empty;
  const auto generateName = stringOr(member(meta, "generateName"));
  const auto name = stringOr(member(meta, "name"));
  const auto ns = stringOr(member(meta, "namespace"));
  if (!generateName.empty()) {
    for (const auto& message : nameRule(generateName, true)) {
      errors.push_back(invalidStringError(childPath(path, "generateName"), generateName, message));
    }
  }
  if (name.empty()) {
    errors.push_back(requiredError(childPath(path, "name"), "name or generateName is required"));
  } else {
    for (const auto& message : nameRule(name, false)) {
      errors.push_back(invalidStringError(childPath(path, "name"), name, message));
    }
  }
  if (namespaced) {
    if (ns.empty()) {
      errors.push_back(requiredError(childPath(path, "namespace")));
    } else {
      for (const auto& message : dns1123LabelErrors(ns)) {
        errors.push_back(invalidStringError(childPath(path, "namespace"), ns, message));
      }
    }
  } else if (!ns.empty()) {
    errors.push_back(forbiddenError(childPath(path, "namespace"), "not allowed on this type"));
  }
  if (const auto* generation = member(meta, "generation");
      generation && generation->is_number() && generation->as_double() < 0) {
    errors.push_back(invalidError(childPath(path, "generation"), *generation,
                                  "must be greater than or equal to 0"));
  }
  if (const auto* labels = member(meta, "labels"); labels && labels->is_object()) {
    const auto labelsPath = childPath(path, "labels");
    for (const auto& [key, value] : labels->as_object()) {
      for (const auto& message : qualifiedNameErrors(key)) {
        errors.push_back(invalidStringError(labelsPath, key, message));
      }
      const auto text = value.is_string() ? value.as_string() : std::string();
      for (const auto& message : labelValueErrors(text)) {
        errors.push_back(invalidStringError(labelsPath, text, message));
      }
    }
  }
  if (const auto* annotations = member(meta, "annotations");
      annotations && annotations->is_object()) {
    const auto annotationsPath = childPath(path, "annotations");
    std::size_t total = 0;
    for (const auto& [key, value] : annotations->as_object()) {
      std::string lower(key);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      for (const auto& message : qualifiedNameErrors(lower)) {
        errors.push_back(invalidStringError(annotationsPath, key, message));
      }
      total += key.size() + (value.is_string() ? value.as_string().size() : 0);
    }
    constexpr std::size_t kTotalAnnotationSizeLimit = 256 * 1024;
    if (total > kTotalAnnotationSizeLimit) {
      errors.push_back(tooLongError(annotationsPath, kTotalAnnotationSizeLimit));
    }
  }
  if (const auto* finalizers = member(meta, "finalizers"); finalizers && finalizers->is_array()) {
    const auto finalizersPath = childPath(path, "finalizers");
    bool orphan = false;
    bool foreground = false;
    for (const auto& finalizer : finalizers->as_array()) {
      const auto text = finalizer.is_string() ? finalizer.as_string() : std::string();
      for (const auto& message : qualifiedNameErrors(text)) {
        errors.push_back(invalidStringError(finalizersPath, text, message));
      }
      orphan = orphan || text == "orphan";
      foreground = foreground || text == "foregroundDeletion";
    }
    if (orphan && foreground) {
      errors.push_back(invalidError(finalizersPath, *finalizers,
                                    "finalizer orphan and foregroundDeletion cannot be both set"));
    }
  }
  return errors;
}

// ---- Embedded resources ----

void embeddedResources(const std::string& path, const JsonValue& value, const JsonValue& schema,
                       bool root, FieldErrors& errors);

void validateEmbeddedResource(const std::string& path, const JsonValue& object,
                              FieldErrors& errors) {
  if (!member(object, "apiVersion")) {
    errors.push_back(requiredError(childPath(path, "apiVersion"), "must not be empty"));
  }
  if (!member(object, "kind")) {
    errors.push_back(requiredError(childPath(path, "kind"), "must not be empty"));
  }
  for (const auto& [key, value] : object.as_object()) {
    if (key == "apiVersion") {
      if (!value.is_string()) {
        errors.push_back(invalidError(childPath(path, "apiVersion"), value, "must be a string"));
      } else if (value.as_string().empty()) {
        errors.push_back(invalidError(childPath(path, "apiVersion"), value, "must not be empty"));
      } else {
        const auto& text = value.as_string();
        const auto slashes = std::count(text.begin(), text.end(), '/');
        if (slashes > 1) {
          errors.push_back(invalidError(childPath(path, "apiVersion"), value,
                                        "unexpected GroupVersion string: " + text));
        }
      }
    } else if (key == "kind") {
      if (!value.is_string()) {
        errors.push_back(invalidError(childPath(path, "kind"), value, "must be a string"));
      } else if (value.as_string().empty()) {
        errors.push_back(invalidError(childPath(path, "kind"), value, "must not be empty"));
      } else {
        std::string lower = value.as_string();
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        auto problems = dns1035LabelErrors(lower);
        if (!problems.empty()) {
          errors.push_back(invalidError(
              childPath(path, "kind"), value,
              "may have mixed case, but should otherwise match: " + join(problems, ",")));
        }
      }
    } else if (key == "metadata") {
      if (!value.is_object() && !value.is_null()) {
        errors.push_back(invalidError(childPath(path, "metadata"), value,
                                      "json: cannot unmarshal " +
                                          std::string(value.is_array() ? "array" : "string") +
                                          " into Go value of type v1.ObjectMeta"));
        continue;
      }
      auto meta = value.is_object() ? value : JsonValue::object();
      if (stringOr(member(meta, "name")).empty()) meta["name"] = JsonValue::string("fakename");
      const bool namespaced = !stringOr(member(meta, "namespace")).empty();
      auto metaErrors =
          objectMetaErrors(meta, namespaced, &pathSegmentNameErrors, childPath(path, "metadata"));
      errors.insert(errors.end(), metaErrors.begin(), metaErrors.end());
    }
  }
}

void embeddedResources(const std::string& path, const JsonValue& value, const JsonValue& schema,
                       bool root, FieldErrors& errors) {
  if (!schema.is_object()) return;
  if (value.is_object()) {
    if (boolMember(schema, "x-kubernetes-embedded-resource") && !root) {
      validateEmbeddedResource(path, value, errors);
    }
    const auto* properties = member(schema, "properties");
    const auto* additional = member(schema, "additionalProperties");
    for (const auto& [key, child] : value.as_object()) {
      if (root && (key == "apiVersion" || key == "kind" || key == "metadata")) continue;
      if (const auto* sub = properties ? member(*properties, key) : nullptr) {
        embeddedResources(childPath(path, key), child, *sub, false, errors);
      } else if (additional && additional->is_object()) {
        embeddedResources(keyPath(path, key), child, *additional, false, errors);
      }
    }
  } else if (value.is_array()) {
    if (const auto* items = member(schema, "items"); items && items->is_object()) {
      std::size_t index = 0;
      for (const auto& element : value.as_array()) {
        embeddedResources(indexPath(path, index++), element, *items, false, errors);
      }
    }
  }
}

}  // namespace

FieldErrors validateAgainstSchema(const web::json::value& value, const web::json::value& schema,
                                  const SchemaErrorBase& base) {
  Validator validator{base.field, {}};
  validator.validate(value, schema, "");
  return validator.errors;
}

FieldErrors validateListSetsAndMaps(const web::json::value& object,
                                    const web::json::value& schema) {
  FieldErrors errors;
  listSetsAndMapsObject("", schema, object, errors);
  return errors;
}

FieldErrors validateEmbeddedResources(const web::json::value& object,
                                      const web::json::value& schema) {
  FieldErrors errors;
  embeddedResources("", object, schema, true, errors);
  return errors;
}

FieldErrors validateObjectMeta(const web::json::value& metadata, bool namespaced) {
  return objectMetaErrors(metadata, namespaced, &nameIsDnsSubdomain, "metadata");
}

FieldErrors validateCustomObject(const web::json::value& object, const web::json::value& schema,
                                 const ObjectTarget& target) {
  FieldErrors errors;
  const auto kind = stringOr(member(object, "kind"));
  const auto apiVersion = stringOr(member(object, "apiVersion"));
  if (kind != target.kind) {
    errors.push_back(invalidStringError("kind", kind, "must be " + target.kind));
  }
  const auto expectedVersion =
      target.group.empty() ? target.version : target.group + "/" + target.version;
  if (apiVersion != expectedVersion) {
    errors.push_back(invalidStringError("apiVersion", apiVersion, "must be " + expectedVersion));
  }
  if (!errors.empty()) return errors;

  const auto* metadata = member(object, "metadata");
  auto metaErrors = validateObjectMeta(metadata ? *metadata : JsonValue::null(), target.namespaced);
  errors.insert(errors.end(), metaErrors.begin(), metaErrors.end());
  if (schema.is_object()) {
    auto schemaErrors = validateAgainstSchema(object, schema);
    errors.insert(errors.end(), schemaErrors.begin(), schemaErrors.end());
    auto embedded = validateEmbeddedResources(object, schema);
    errors.insert(errors.end(), embedded.begin(), embedded.end());
    auto lists = validateListSetsAndMaps(object, schema);
    errors.insert(errors.end(), lists.begin(), lists.end());
  }
  return errors;
}

std::vector<std::string> dns1123SubdomainErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 253) out.push_back(maxLenError(253));
  if (!matchesWhole(kDns1123SubdomainFormat, value)) {
    out.push_back(regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character",
        kDns1123SubdomainFormat, {"example.com"}));
  }
  return out;
}

std::vector<std::string> dns1123LabelErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 63) out.push_back(maxLenError(63));
  if (!matchesWhole(kDns1123LabelFormat, value)) {
    out.push_back(regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        kDns1123LabelFormat, {"my-name", "123-abc"}));
  }
  return out;
}

std::vector<std::string> dns1035LabelErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 63) out.push_back(maxLenError(63));
  if (!matchesWhole(kDns1035LabelFormat, value)) {
    out.push_back(regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character",
        kDns1035LabelFormat, {"my-name", "abc-123"}));
  }
  return out;
}

std::vector<std::string> qualifiedNameErrors(std::string_view value) {
  static const std::string kMessage =
      "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character";
  std::vector<std::string> out;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto slash = value.find('/', start);
    parts.push_back(value.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string_view name;
  if (parts.size() == 1) {
    name = parts[0];
  } else if (parts.size() == 2) {
    const auto prefix = parts[0];
    name = parts[1];
    if (prefix.empty()) {
      out.push_back("prefix part must be non-empty");
    } else {
      for (const auto& message : dns1123SubdomainErrors(prefix)) {
        out.push_back("prefix part " + message);
      }
    }
  } else {
    out.push_back("a qualified name " +
                  regexError(kMessage, kQualifiedNameFormat, {"MyName", "my.name", "123-abc"}) +
                  " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    return out;
  }
  if (name.empty()) {
    out.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    out.push_back("name part " + maxLenError(63));
  }
  if (!matchesWhole(kQualifiedNameFormat, name)) {
    out.push_back("name part " +
                  regexError(kMessage, kQualifiedNameFormat, {"MyName", "my.name", "123-abc"}));
  }
  return out;
}

std::vector<std::string> labelValueErrors(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 63) out.push_back(maxLenError(63));
  if (!matchesWhole(kLabelValueFormat, value)) {
    out.push_back(regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character",
        kLabelValueFormat, {"MyValue", "my_value", "12345"}));
  }
  return out;
}

std::optional<std::string> goRegexError(std::string_view pattern) {
  const auto& compiled = compiledRegex(pattern);
  if (compiled.regex) return std::nullopt;
  return compiled.error;
}

bool goRegexMatch(std::string_view pattern, std::string_view text) {
  const auto& compiled = compiledRegex(pattern);
  if (!compiled.regex) return false;
  try {
    return std::regex_search(text.begin(), text.end(), *compiled.regex);
  } catch (const std::regex_error&) {
    return false;  // backtracking limits; RE2 would have answered
  }
}

std::optional<bool> checkFormat(std::string_view format, std::string_view text) {
  if (!isSupportedFormat(format)) return std::nullopt;
  std::string name;
  for (char c : format) {
    if (c != '-') name.push_back(c);
  }
  if (name == "email") return isEmail(text);
  if (name == "datetime") return isDateTime(text);
  if (name == "date") return isDate(text);
  if (name == "uri") return isRequestUri(text);
  if (name == "hostname") return isHostname(text);
  if (name == "ipv4") return isIPv4Text(text) || (isIPv6Text(text) && text.find('.') != text.npos);
  if (name == "ipv6") return isIPv6Text(text);
  if (name == "cidr") return isCidr(text);
  if (name == "mac") return isMac(text);
  if (name == "uuid") {
    return fullMatch("[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", text,
                     true);
  }
  if (name == "uuid3") {
    return fullMatch("[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}", text,
                     true);
  }
  if (name == "uuid4") {
    return fullMatch("[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}",
                     text, true);
  }
  if (name == "uuid5") {
    return fullMatch("[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}",
                     text, true);
  }
  if (name == "isbn") return isIsbn10(text) || isIsbn13(text);
  if (name == "isbn10") return isIsbn10(text);
  if (name == "isbn13") return isIsbn13(text);
  if (name == "creditcard") return isCreditCard(text);
  if (name == "ssn") return text.size() == 11 && fullMatch("\\d{3}[- ]?\\d{2}[- ]?\\d{4}", text);
  if (name == "hexcolor") return fullMatch("#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", text);
  if (name == "rgbcolor") {
    return fullMatch(
        "rgb\\(\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*,\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]"
        "\\d|25[0-5])\\s*,\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*\\)",
        text);
  }
  if (name == "byte") return isBase64(text);
  if (name == "password") return true;
  if (name == "duration") return isDuration(text);
  if (name == "bsonobjectid") {
    return text.size() == 24 && std::all_of(text.begin(), text.end(), isHex);
  }
  return std::nullopt;
}

std::size_t runeCount(std::string_view text) {
  std::size_t count = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto byte = static_cast<unsigned char>(text[at]);
    std::size_t width = 1;
    if (byte >= 0xC2 && byte <= 0xDF) {
      width = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      width = 3;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      width = 4;
    }
    bool valid = at + width <= text.size();
    for (std::size_t i = 1; valid && i < width; ++i) {
      valid = (static_cast<unsigned char>(text[at + i]) & 0xC0) == 0x80;
    }
    at += valid ? width : 1;
    ++count;
  }
  return count;
}

}  // namespace billing::apiserver
