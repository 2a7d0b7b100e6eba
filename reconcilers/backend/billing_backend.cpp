#include "reconcilers/backend/billing_backend.h"

namespace billing::backend {

std::string_view backendErrorKindName(BackendErrorKind kind) {
  switch (kind) {
    case BackendErrorKind::Unavailable:
      return "Unavailable";
    case BackendErrorKind::Conflict:
      return "Conflict";
    case BackendErrorKind::Invalid:
      return "Invalid";
    case BackendErrorKind::NotFound:
      return "NotFound";
    case BackendErrorKind::Unauthorized:
      return "Unauthorized";
    case BackendErrorKind::Internal:
      return "Internal";
  }
  return "Internal";
}

bool BackendError::retryable() const {
  return kind == BackendErrorKind::Unavailable || kind == BackendErrorKind::Internal;
}

std::string BackendError::message() const {
  std::string out(backendErrorKindName(kind));
  if (httpStatus != 0 || !problemType.empty()) {
    out += " (";
    if (httpStatus != 0) out += std::to_string(httpStatus);
    if (httpStatus != 0 && !problemType.empty()) out += ' ';
    out += problemType;
    out += ')';
  }
  if (!detail.empty()) out += ": " + detail;
  if (!field.empty()) out += " [" + field + "]";
  return out;
}

std::string_view exportFormatName(ExportFormat format) {
  switch (format) {
    case ExportFormat::Json:
      return "json";
    case ExportFormat::Csv:
      return "csv";
    case ExportFormat::Focus:
      return "focus";
  }
  return "json";
}

}  // namespace billing::backend
