// Syntax checks for the strings the rules look at: Kubernetes names and label values, e-mail
// addresses, ISO 3166 country codes, and strings that look like payment secrets (R8).
#pragma once

#include <string_view>

namespace billing::domain {

// RFC 1123 subdomain, as Kubernetes requires of most object names (at most 253 characters).
bool isDnsSubdomain(std::string_view name);
// RFC 1123 label (at most 63 characters), as Kubernetes requires of Namespace names.
bool isDnsLabel(std::string_view name);
// A Kubernetes label value: empty, or at most 63 of [A-Za-z0-9-_.] starting and ending with an
// alphanumeric.
bool isLabelValue(std::string_view value);
// A pragmatic addr-spec check: local part and a dotted domain, no spaces or display names.
bool isEmailAddress(std::string_view address);
// An officially assigned ISO 3166-1 alpha-2 code ("DE", "US").
bool isCountryCode(std::string_view code);
// True when the text contains a run of 13-19 digits (spaces and dashes allowed between them)
// that passes the Luhn check, i.e. something that is probably a card number.
bool containsCardNumber(std::string_view text);
// True when the text contains an IBAN with a valid ISO 13616 check sum.
bool containsIban(std::string_view text);

}  // namespace billing::domain
