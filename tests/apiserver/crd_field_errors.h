// Field errors as kube-apiserver words them (k8s.io/apimachinery/pkg/util/validation/field,
// v1.32), the Go value printing they depend on, and the 422 Invalid Status built from them.
// Every string here is one a kubectl user reads, so the shapes are reproduced to the character:
//   spec.scope: Unsupported value: "Team": supported values: "Organization", "Project"
//   spec.currency: Required value
//   spec.displayName: Too long: may not be more than 256 bytes
#pragma once

#include <cpprest/json.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace billing::apiserver {

enum class FieldErrorType {
  NotFound,
  Required,
  Duplicate,
  Invalid,
  NotSupported,
  Forbidden,
  TooLong,
  TooMany,
  Internal,
  TypeInvalid,
};

// One field.Error. `badValue` is the value already printed the way ErrorBody prints it (see
// goErrorValue); nullopt means the body carries no value (Required, Forbidden, TooLong, Internal,
// and TooMany without a count).
struct FieldError {
  FieldErrorType type = FieldErrorType::Invalid;
  std::string field;  // "spec.currency"; "<nil>" for errors about the whole object
  std::optional<std::string> badValue;
  std::string detail;

  // The StatusCause reason: "FieldValueRequired", "FieldValueInvalid", ...
  std::string reason() const;
  // ErrorBody(): the message without the field, as put into StatusCause.message.
  std::string body() const;
  // Error(): "<field>: <body>".
  std::string message() const;
  bool operator==(const FieldError&) const = default;
};

using FieldErrors = std::vector<FieldError>;

// The constructors of the field package. `value` arguments are JSON values printed with
// goErrorValue; the string overloads print a Go string (%q).
FieldError requiredError(std::string field, std::string detail = {});
FieldError forbiddenError(std::string field, std::string detail);
FieldError invalidError(std::string field, const web::json::value& value, std::string detail);
FieldError invalidStringError(std::string field, std::string_view value, std::string detail);
FieldError typeInvalidError(std::string field, const web::json::value& value, std::string detail);
FieldError duplicateError(std::string field, const web::json::value& value);
FieldError notSupportedError(std::string field, const web::json::value& value,
                             const std::vector<std::string>& supported);
FieldError notSupportedStringError(std::string field, std::string_view value,
                                   const std::vector<std::string>& supported);
// "Too long: may not be more than N bytes" (the wording of 1.32, also used for maxLength, which
// counts characters).
FieldError tooLongError(std::string field, long long maxLength);
// "Too many: 21: must have at most 20 items"
FieldError tooManyError(std::string field, long long actual, long long max);
FieldError internalError(std::string field, std::string detail);

// A decoded JSON value as ErrorBody prints it: strings %q, int64/float64/bool %v, null "null",
// objects and arrays %#v (map[string]interface {}{"a":1, "b":"x"}, []interface {}{"a", 1}).
std::string goErrorValue(const web::json::value& value);
// %#v of a decoded JSON value inside an interface{} (strings quoted, nested maps and slices).
std::string goSharpValue(const web::json::value& value);
// True when a JSON number is what Go decodes as int64 (an integer literal within int64 range).
bool isGoInt64(const web::json::value& number);

// ErrorList.ToAggregate().Error(): messages de-duplicated, one as is, several as "[a, b]".
std::string aggregateMessage(const FieldErrors& errors);

// The whole 422 body kube-apiserver sends for invalid objects (apierrors.NewInvalid):
// {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
//  "message":"BillingGroup.billing.operator.dev \"shared\" is invalid: [...]","reason":"Invalid",
//  "details":{"name":"shared","group":"billing.operator.dev","kind":"BillingGroup",
//             "causes":[{"reason":"FieldValueRequired","message":"Required value",
//                        "field":"spec.currency"}]},
//  "code":422}
// `group` may be empty (core kinds): then the kind is not qualified and details has no group.
web::json::value invalidStatus(std::string_view group, std::string_view kind, std::string_view name,
                               const FieldErrors& errors);
// The message alone: `BillingGroup.billing.operator.dev "shared" is invalid: ...`.
std::string invalidMessage(std::string_view group, std::string_view kind, std::string_view name,
                           const FieldErrors& errors);

}  // namespace billing::apiserver
