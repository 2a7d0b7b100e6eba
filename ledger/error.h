// Errors of the ledger as values. Every error carries a problem type (a short slug that becomes
// the RFC 9457 problem's "type" URI), a human-readable detail that says what is wrong, where and
// how to fix it, and optionally the JSON field at fault. The HTTP layer maps the kind to a status.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace billing::ledger {

enum class ErrorKind {
  Malformed,     // 400: the request cannot be read (malformed JSON, bad header)
  Unauthorized,  // 401
  NotFound,      // 404
  Conflict,      // 409: the request clashes with the ledger's state
  Invalid,       // 422: the request is well-formed but its content is not acceptable
  Unavailable,   // 503: the database is busy or unreachable; retrying later may work
  Internal,      // 500: a bug or a broken database
  Retry,         // never leaves the store: the transaction lost a race and is run again
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string type;    // "unknown-currency", "overlapping-membership", ...
  std::string detail;  // "currency \"EUX\" is not an ISO 4217 code; use e.g. EUR, USD, JPY"
  std::string field;   // JSON field path, "profile.address.countryCode"; may be empty
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorKind kind, std::string type, std::string detail,
                                   std::string field = {}) {
  return std::unexpected(Error{kind, std::move(type), std::move(detail), std::move(field)});
}

inline std::unexpected<Error> invalid(std::string type, std::string detail,
                                      std::string field = {}) {
  return fail(ErrorKind::Invalid, std::move(type), std::move(detail), std::move(field));
}

inline std::unexpected<Error> conflict(std::string type, std::string detail,
                                       std::string field = {}) {
  return fail(ErrorKind::Conflict, std::move(type), std::move(detail), std::move(field));
}

inline std::unexpected<Error> notFound(std::string type, std::string detail) {
  return fail(ErrorKind::NotFound, std::move(type), std::move(detail));
}

inline std::unexpected<Error> internal(std::string detail) {
  return fail(ErrorKind::Internal, "internal", std::move(detail));
}

// The HTTP status of an error kind.
int httpStatusOf(ErrorKind kind);
// The HTTP status of an error: its kind's, except for the few problem types with a status of
// their own (405 method-not-allowed, 413 payload-too-large, 415 unsupported-media-type).
int httpStatusOf(const Error& error);

// The problem title of a type ("Unknown currency"); a generic one for types it does not know.
std::string_view problemTitle(std::string_view type);

// The problem "type" URI of a slug: "https://billing.operator.dev/problems/unknown-currency".
std::string problemTypeUri(std::string_view type);

}  // namespace billing::ledger

// Unwraps a Result into `lhs`, or returns its error from the enclosing function (which must
// return some Result<U>). Errors must propagate on almost every line of the service and store;
// this keeps the happy path readable without exceptions crossing layers.
#define LEDGER_CONCAT_INNER(a, b) a##b
#define LEDGER_CONCAT(a, b) LEDGER_CONCAT_INNER(a, b)
#define LEDGER_ASSIGN_OR_RETURN(lhs, expr)                                              \
  auto LEDGER_CONCAT(ledger_result_, __LINE__) = (expr);                                \
  if (!LEDGER_CONCAT(ledger_result_, __LINE__)) {                                       \
    return std::unexpected(std::move(LEDGER_CONCAT(ledger_result_, __LINE__)).error()); \
  }                                                                                     \
  lhs = std::move(*LEDGER_CONCAT(ledger_result_, __LINE__))
#define LEDGER_RETURN_IF_ERROR(expr)                            \
  do {                                                          \
    if (auto ledger_status = (expr); !ledger_status) {          \
      return std::unexpected(std::move(ledger_status).error()); \
    }                                                           \
  } while (false)
