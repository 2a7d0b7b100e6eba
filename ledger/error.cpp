#include "ledger/error.h"

#include <array>
#include <utility>

namespace billing::ledger {

int httpStatusOf(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Malformed:
      return 400;
    case ErrorKind::Unauthorized:
      return 401;
    case ErrorKind::NotFound:
      return 404;
    case ErrorKind::Conflict:
      return 409;
    case ErrorKind::Invalid:
      return 422;
    case ErrorKind::Unavailable:
    case ErrorKind::Retry:
      return 503;
    case ErrorKind::Internal:
      return 500;
  }
  return 500;
}

int httpStatusOf(const Error& error) {
  if (error.type == "method-not-allowed") return 405;
  if (error.type == "payload-too-large") return 413;
  if (error.type == "unsupported-media-type") return 415;
  return httpStatusOf(error.kind);
}

std::string_view problemTitle(std::string_view type) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 42> kTitles{{
      {"malformed-json", "Malformed JSON"},
      {"unsupported-media-type", "Unsupported media type"},
      {"payload-too-large", "Payload too large"},
      {"invalid-idempotency-key", "Invalid Idempotency-Key"},
      {"idempotency-key-reused", "Idempotency key reused with another request"},
      {"unauthorized", "Unauthorized"},
      {"route-not-found", "No such route"},
      {"method-not-allowed", "Method not allowed"},
      {"account-not-found", "Account not found"},
      {"membership-not-found", "Membership not found"},
      {"charge-not-found", "Charge not found"},
      {"invoice-not-found", "Invoice not found"},
      {"unknown-field", "Unknown field"},
      {"missing-field", "Missing field"},
      {"wrong-type", "Wrong JSON type"},
      {"invalid-value", "Invalid value"},
      {"invalid-timestamp", "Invalid timestamp"},
      {"unknown-currency", "Unknown currency"},
      {"invalid-amount", "Invalid amount"},
      {"amount-precision", "Amount more precise than the currency allows"},
      {"invalid-period", "Period end not after start"},
      {"currency-mismatch", "Currency mismatch"},
      {"payment-secret", "Payment secret in a reference"},
      {"invalid-export-format", "Invalid export format"},
      {"overlapping-membership", "Overlapping membership"},
      {"no-membership", "Project belongs to no account"},
      {"account-closed", "Account closed"},
      {"account-has-projects", "Account still has projects"},
      {"immutable-field", "Field cannot change"},
      {"credits-not-allowed", "Credits only on organization accounts"},
      {"credit-balance-remaining", "Credit balance remaining"},
      {"charge-conflict", "Charge exists with other content"},
      {"credit-conflict", "Credit grant exists with other content"},
      {"invoice-state", "Invoice state does not allow this"},
      {"invoice-overlap", "Invoice period overlaps another invoice"},
      {"invoice-order", "Invoices out of order"},
      {"invoiced-period", "Period already invoiced"},
      {"charges-after-end", "Charges after the membership end"},
      {"membership-state", "Membership state does not allow this"},
      {"unavailable", "Ledger unavailable"},
      {"internal", "Internal error"},
      {"not-found", "Not found"},
  }};
  for (const auto& [slug, title] : kTitles) {
    if (slug == type) return title;
  }
  return "Request failed";
}

std::string problemTypeUri(std::string_view type) {
  return "https://billing.operator.dev/problems/" + std::string(type);
}

}  // namespace billing::ledger
