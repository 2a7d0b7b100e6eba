#include "tests/apiserver/crd_field_errors.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include "common/json.h"
#include "tests/apiserver/go_text.h"

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
    out += gotext::quote(key);
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
  return gotext::formatFloat(value.as_double());
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
      return gotext::quote(value.as_string());
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
  return make(FieldErrorType::Invalid, std::move(field), gotext::quote(value), std::move(detail));
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
      detail += gotext::quote(supported[i]);
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

bool isGoInt64(const web::json::value& number) {
  if (!number.is_number() || !number.is_integer()) return false;
  return number.as_number().is_int64();
}

std::string goErrorValue(const web::json::value& value) {
  switch (value.type()) {
    case JsonValue::Null:
      return "\"null\"";
    case JsonValue::String:
      return gotext::quote(value.as_string());
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
  std::string out = qualified + " " + gotext::quote(name) + " is invalid";
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
