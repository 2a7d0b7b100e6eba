#include "operator/kube/status.h"

#include <charconv>

#include "common/http_message.h"
#include "common/json.h"

namespace billing::kube {
namespace {

std::string stringField(const web::json::value& object, const char* name) {
  if (!object.is_object() || !object.has_field(name)) return "";
  const auto& field = object.at(name);
  return field.is_string() ? field.as_string() : "";
}

std::optional<std::chrono::seconds> parseSeconds(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::int64_t seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

std::string oneLine(std::string_view text, std::size_t limit) {
  std::string result;
  for (char c : text.substr(0, limit)) {
    result += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  while (!result.empty() && result.back() == ' ') result.pop_back();
  if (text.size() > limit) result += "...";
  return result;
}

void fillFromStatus(Error& error, const web::json::value& status) {
  error.reason = stringField(status, "reason");
  error.message = stringField(status, "message");
  if (!status.has_field("details") || !status.at("details").is_object()) return;
  const auto& details = status.at("details");
  if (details.has_field("causes") && details.at("causes").is_array()) {
    for (const auto& cause : details.at("causes").as_array()) {
      error.causes.push_back(StatusCause{stringField(cause, "reason"),
                                         stringField(cause, "message"),
                                         stringField(cause, "field")});
    }
  }
  if (details.has_field("retryAfterSeconds") && details.at("retryAfterSeconds").is_integer()) {
    auto seconds = details.at("retryAfterSeconds").as_number().to_int64();
    if (seconds > 0) error.retryAfter = std::chrono::seconds(seconds);
  }
}

}  // namespace

ErrorKind errorKindFor(int httpStatus, std::string_view reason) {
  if (reason == "NotFound") return ErrorKind::NotFound;
  if (reason == "AlreadyExists") return ErrorKind::AlreadyExists;
  if (reason == "Conflict") return ErrorKind::Conflict;
  if (reason == "Gone" || reason == "Expired") return ErrorKind::Gone;
  if (reason == "Invalid") return ErrorKind::Invalid;
  if (reason == "BadRequest") return ErrorKind::BadRequest;
  if (reason == "Unauthorized") return ErrorKind::Unauthorized;
  if (reason == "Forbidden") return ErrorKind::Forbidden;
  if (reason == "MethodNotAllowed") return ErrorKind::MethodNotAllowed;
  if (reason == "UnsupportedMediaType") return ErrorKind::UnsupportedMediaType;
  if (reason == "TooManyRequests") return ErrorKind::TooManyRequests;
  if (reason == "Timeout" || reason == "ServerTimeout") return ErrorKind::Timeout;
  if (reason == "InternalError" || reason == "ServiceUnavailable") return ErrorKind::ServerError;
  switch (httpStatus) {
    case 400:
      return ErrorKind::BadRequest;
    case 401:
      return ErrorKind::Unauthorized;
    case 403:
      return ErrorKind::Forbidden;
    case 404:
      return ErrorKind::NotFound;
    case 405:
      return ErrorKind::MethodNotAllowed;
    case 409:
      return ErrorKind::Conflict;
    case 410:
      return ErrorKind::Gone;
    case 415:
      return ErrorKind::UnsupportedMediaType;
    case 422:
      return ErrorKind::Invalid;
    case 429:
      return ErrorKind::TooManyRequests;
    case 504:
      return ErrorKind::Timeout;
    default:
      break;
  }
  if (httpStatus >= 500) return ErrorKind::ServerError;
  return ErrorKind::BadRequest;
}

Error errorFromResponse(int httpStatus, const common::HttpHeaders& headers, std::string_view body) {
  Error error;
  error.httpStatus = httpStatus;
  auto parsed = common::parseJson(body);
  if (parsed && parsed->is_object() && stringField(*parsed, "kind") == "Status") {
    fillFromStatus(error, *parsed);
  } else {
    std::string text = oneLine(body, 200);
    error.message = "the server answered " + std::to_string(httpStatus) + " " +
                    std::string(common::reasonPhrase(httpStatus)) +
                    (text.empty() ? "" : ": " + text);
  }
  if (auto header = headers.get("Retry-After")) {
    if (auto seconds = parseSeconds(*header)) error.retryAfter = *seconds;
  }
  error.kind = errorKindFor(httpStatus, error.reason);
  return error;
}

Error errorFromStatus(const web::json::value& status) {
  Error error;
  if (status.is_object() && status.has_field("code") && status.at("code").is_integer()) {
    error.httpStatus = status.at("code").as_integer();
  }
  fillFromStatus(error, status);
  error.kind = errorKindFor(error.httpStatus, error.reason);
  return error;
}

}  // namespace billing::kube
