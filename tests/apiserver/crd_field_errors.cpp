#include "tests/apiserver/crd_field_errors.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include "common/json.h"

namespace billing::apiserver {
namespace {

using JsonValue = web::json::value;

std::string typeString(FieldErrorType type) {
  switch (type) {
    case FieldErrorType::NotFound:
      return "Not found";
    case FieldErrorType::Required:
      return "Required value";
    case FieldErrorType::Duplicate:
      return "Duplicate value";
    case FieldErrorType::Invalid:
    case FieldErrorType::TypeInvalid:
      return "Invalid value";
    case FieldErrorType::NotSupported:
      return "Unsupported value";
    case FieldErrorType::Forbidden:
      return "Forbidden";
    case FieldErrorType::TooLong:
      return "Too long";
    case FieldErrorType::TooMany:
      return "Too many";
    case FieldErrorType::Internal:
      return "Internal error";
  }
  return "Invalid value";
}

// Decodes one UTF-8 sequence at `at`; returns the code point and its length, or -1 and 1 for an
// invalid byte (Go's utf8.RuneError with width 1).
std::pair<long, std::size_t> decodeRune(std::string_view text, std::size_t at) {
  const auto byte = static_cast<unsigned char>(text[at]);
  if (byte < 0x80) return {byte, 1};
  std::size_t length = 0;
  long rune = 0;
  long minimum = 0;
  if ((byte & 0xE0) == 0xC0) {
    length = 2;
    rune = byte & 0x1F;
    minimum = 0x80;
  } else if ((byte & 0xF0) == 0xE0) {
    length = 3;
    rune = byte & 0x0F;
    minimum = 0x800;
  } else if ((byte & 0xF8) == 0xF0) {
    length = 4;
    rune = byte & 0x07;
    minimum = 0x10000;
  } else {
    return {-1, 1};
  }
  if (at + length > text.size()) return {-1, 1};
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[at + i]);
    if ((next & 0xC0) != 0x80) return {-1, 1};
    rune = (rune << 6) | (next & 0x3F);
  }
  if (rune < minimum || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF)) return {-1, 1};
  return {rune, length};
}

// Go's strconv.IsPrint, approximated: controls, the C1 block, separators other than the ASCII
// space and the specials that Go classes as non-graphic are not printable.
bool isPrintable(long rune) {
  if (rune < 0x20 || rune == 0x7F) return false;
  if (rune >= 0x80 && rune <= 0xA0) return false;
  if (rune == 0xAD) return false;
  if (rune >= 0x2000 && rune <= 0x200F) return false;
  if (rune >= 0x2028 && rune <= 0x202F) return false;
  if (rune >= 0x205F && rune <= 0x206F) return false;
  if (rune == 0x3000 || rune == 0xFEFF) return false;
  if (rune >= 0xFFF9 && rune <= 0xFFFB) return false;
  if (rune >= 0xE000 && rune <= 0xF8FF) return false;  // private use
  if ((rune & 0xFFFE) == 0xFFFE) return false;         // noncharacters
  return true;
}

void appendHex(std::string& out, unsigned long value, int digits) {
  static constexpr std::array<char, 16> kHex{'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out.push_back(kHex[(value >> shift) & 0xF]);
  }
}

std::string goSharp(const JsonValue& value);

std::string sharpMap(const JsonValue& value) {
  std::vector<std::pair<std::string, const JsonValue*>> members;
  for (const auto& [key, member] : value.as_object()) members.emplace_back(key, &member);
  std::sort(members.begin(), members.end(),
            [](const auto& left, const auto& right) { return left.first < right.first; });
  std::string out = "map[string]interface {}{";
  bool first = true;
  for (const auto& [key, member] : members) {
    if (!first) out += ", ";
    first = false;
    out += goQuote(key);
    out += ':';
    out += goSharp(*member);
  }
  out += '}';
  return out;
}

std::string sharpSlice(const JsonValue& value) {
  std::string out = "[]interface {}{";
  bool first = true;
  for (const auto& element : value.as_array()) {
    if (!first) out += ", ";
    first = false;
    out += goSharp(element);
  }
  out += '}';
  return out;
}

std::string goNumber(const JsonValue& value) {
  if (isGoInt64(value)) return std::to_string(value.as_number().to_int64());
  return goFloat(value.as_double());
}

std::string goSharp(const JsonValue& value) {
  switch (value.type()) {
    case JsonValue::Null:
      return "interface {}(nil)";
    case JsonValue::Boolean:
      return value.as_bool() ? "true" : "false";
    case JsonValue::Number:
      return goNumber(value);
    case JsonValue::String:
      return goQuote(value.as_string());
    case JsonValue::Array:
      return sharpSlice(value);
    case JsonValue::Object:
      return sharpMap(value);
  }
  return "interface {}(nil)";
}

FieldError make(FieldErrorType type, std::string field, std::optional<std::string> value,
                std::string detail) {
  FieldError error;
  error.type = type;
  error.field = std::move(field);
  error.badValue = std::move(value);
  error.detail = std::move(detail);
  return error;
}

}  // namespace

std::string FieldError::reason() const {
  switch (type) {
    case FieldErrorType::NotFound:
      return "FieldValueNotFound";
    case FieldErrorType::Required:
      return "FieldValueRequired";
    case FieldErrorType::Duplicate:
      return "FieldValueDuplicate";
    case FieldErrorType::Invalid:
      return "FieldValueInvalid";
    case FieldErrorType::NotSupported:
      return "FieldValueNotSupported";
    case FieldErrorType::Forbidden:
      return "FieldValueForbidden";
    case FieldErrorType::TooLong:
      return "FieldValueTooLong";
    case FieldErrorType::TooMany:
      return "FieldValueTooMany";
    case FieldErrorType::Internal:
      return "InternalError";
    case FieldErrorType::TypeInvalid:
      return "FieldValueTypeInvalid";
  }
  return "FieldValueInvalid";
}

std::string FieldError::body() const {
  std::string out = typeString(type);
  const bool valueShown = type != FieldErrorType::Required && type != FieldErrorType::Forbidden &&
                          type != FieldErrorType::TooLong && type != FieldErrorType::Internal &&
                          badValue.has_value();
  if (valueShown) {
    out += ": ";
    out += *badValue;
  }
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

std::string FieldError::message() const { return field + ": " + body(); }

FieldError requiredError(std::string field, std::string detail) {
  return make(FieldErrorType::Required, std::move(field), std::nullopt, std::move(detail));
}

FieldError forbiddenError(std::string field, std::string detail) {
  return make(FieldErrorType::Forbidden, std::move(field), std::nullopt, std::move(detail));
}

FieldError invalidError(std::string field, const web::json::value& value, std::string detail) {
  return make(FieldErrorType::Invalid, std::move(field), goErrorValue(value), std::move(detail));
}

FieldError invalidStringError(std::string field, std::string_view value, std::string detail) {
  return make(FieldErrorType::Invalid, std::move(field), goQuote(value), std::move(detail));
}

FieldError typeInvalidError(std::string field, const web::json::value& value, std::string detail) {
  return make(FieldErrorType::TypeInvalid, std::move(field), goErrorValue(value),
              std::move(detail));
}

FieldError duplicateError(std::string field, const web::json::value& value) {
  return make(FieldErrorType::Duplicate, std::move(field), goErrorValue(value), {});
}

FieldError notSupportedError(std::string field, const web::json::value& value,
                             const std::vector<std::string>& supported) {
  std::string detail;
  if (!supported.empty()) {
    detail = "supported values: ";
    for (std::size_t i = 0; i < supported.size(); ++i) {
      if (i > 0) detail += ", ";
      detail += goQuote(supported[i]);
    }
  }
  return make(FieldErrorType::NotSupported, std::move(field), goErrorValue(value),
              std::move(detail));
}

FieldError notSupportedStringError(std::string field, std::string_view value,
                                   const std::vector<std::string>& supported) {
  return notSupportedError(std::move(field), JsonValue::string(std::string(value)), supported);
}

FieldError tooLongError(std::string field, long long maxLength) {
  std::string detail = maxLength >= 0
                           ? "may not be more than " + std::to_string(maxLength) + " bytes"
                           : std::string("value is too long");
  return make(FieldErrorType::TooLong, std::move(field), std::nullopt, std::move(detail));
}

FieldError tooManyError(std::string field, long long actual, long long max) {
  std::string detail = max >= 0 ? "must have at most " + std::to_string(max) + " items"
                                : std::string("too many items");
  std::optional<std::string> value;
  if (actual >= 0) value = std::to_string(actual);
  return make(FieldErrorType::TooMany, std::move(field), std::move(value), std::move(detail));
}

FieldError internalError(std::string field, std::string detail) {
  return make(FieldErrorType::Internal, std::move(field), std::nullopt, std::move(detail));
}

std::string goQuote(std::string_view text) {
  std::string out = "\"";
  std::size_t at = 0;
  while (at < text.size()) {
    const auto [rune, width] = decodeRune(text, at);
    if (rune < 0) {
      out += "\\x";
      appendHex(out, static_cast<unsigned char>(text[at]), 2);
      at += 1;
      continue;
    }
    switch (rune) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
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
      case '\v':
        out += "\\v";
        break;
      default:
        if (isPrintable(rune)) {
          out.append(text.substr(at, width));
        } else if (rune < 0x80) {
          out += "\\x";
          appendHex(out, static_cast<unsigned long>(rune), 2);
        } else if (rune <= 0xFFFF) {
          out += "\\u";
          appendHex(out, static_cast<unsigned long>(rune), 4);
        } else {
          out += "\\U";
          appendHex(out, static_cast<unsigned long>(rune), 8);
        }
    }
    at += width;
  }
  out += '"';
  return out;
}

std::string goFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  // Shortest digits in scientific form, then laid out as Go's %g with shortest precision.
  std::array<char, 64> buffer{};
  auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                              std::chars_format::scientific);
  std::string scientific(buffer.data(), result.ptr);
  const auto ePosition = scientific.find('e');
  std::string mantissa = scientific.substr(0, ePosition);
  const int exponent = std::stoi(scientific.substr(ePosition + 1));
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  // strconv's %g with the shortest precision decides with an "eprec" of 6.
  if (exponent < -4 || exponent >= 6) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exponent < 0 ? "e-" : "e+";
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
    return out;
  }
  if (exponent < 0) {
    return sign + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  }
  const auto integerDigits = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= integerDigits) {
    return sign + digits + std::string(integerDigits - digits.size(), '0');
  }
  return sign + digits.substr(0, integerDigits) + "." + digits.substr(integerDigits);
}

bool isGoInt64(const web::json::value& number) {
  if (!number.is_number() || !number.is_integer()) return false;
  return number.as_number().is_int64();
}

std::string goErrorValue(const web::json::value& value) {
  switch (value.type()) {
    case JsonValue::Null:
      return "\"null\"";
    case JsonValue::String:
      return goQuote(value.as_string());
    case JsonValue::Boolean:
      return value.as_bool() ? "true" : "false";
    case JsonValue::Number:
      return goNumber(value);
    default:
      return goSharp(value);
  }
}

std::string goSharpValue(const web::json::value& value) { return goSharp(value); }

std::string aggregateMessage(const FieldErrors& errors) {
  std::set<std::string> seen;
  std::vector<std::string> messages;
  for (const auto& error : errors) {
    auto message = error.message();
    if (seen.insert(message).second) messages.push_back(std::move(message));
  }
  if (messages.size() == 1) return messages.front();
  std::string out = "[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ", ";
    out += messages[i];
  }
  out += "]";
  return out;
}

std::string invalidMessage(std::string_view group, std::string_view kind, std::string_view name,
                           const FieldErrors& errors) {
  std::string qualified(kind);
  if (!group.empty()) {
    qualified += '.';
    qualified += group;
  }
  std::string out = qualified + " " + goQuote(name) + " is invalid";
  if (!errors.empty()) out += ": " + aggregateMessage(errors);
  return out;
}

web::json::value invalidStatus(std::string_view group, std::string_view kind, std::string_view name,
                               const FieldErrors& errors) {
  auto causes = JsonValue::array();
  std::size_t index = 0;
  for (const auto& error : errors) {
    auto cause = JsonValue::object(true);
    cause["reason"] = JsonValue::string(error.reason());
    cause["message"] = JsonValue::string(error.body());
    cause["field"] = JsonValue::string(error.field);
    causes[index++] = cause;
  }
  auto details = JsonValue::object(true);
  details["name"] = JsonValue::string(std::string(name));
  if (!group.empty()) details["group"] = JsonValue::string(std::string(group));
  details["kind"] = JsonValue::string(std::string(kind));
  if (index > 0) details["causes"] = causes;

  auto status = JsonValue::object(true);
  status["kind"] = JsonValue::string("Status");
  status["apiVersion"] = JsonValue::string("v1");
  status["metadata"] = JsonValue::object();
  status["status"] = JsonValue::string("Failure");
  status["message"] = JsonValue::string(invalidMessage(group, kind, name, errors));
  status["reason"] = JsonValue::string("Invalid");
  status["details"] = details;
  status["code"] = JsonValue::number(422);
  return status;
}

}  // namespace billing::apiserver
