// ISO 4217 currencies and their minor-unit exponents. Money is exact (integer minor units), so
// every amount must know how many decimal places its currency has: 2 for EUR, 0 for JPY, 3 for
// KWD, 4 for CLF. The table is compiled in because the domain depends on nothing.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace billing::domain {

struct Currency {
  std::string_view code;  // upper-case alphabetic code, "EUR"; points into a static table
  int exponent = 2;       // number of decimal places of the minor unit

  friend bool operator==(const Currency&, const Currency&) = default;
};

// The active currency codes of ISO 4217 List One (as amended up to 2026, e.g. XCG replaced ANG
// and BGN was withdrawn when Bulgaria adopted the euro), including fund codes with a defined
// minor unit (CLF, UYW, ...). Codes whose minor unit is "N.A." (precious metals XAU/XAG/XPD/XPT,
// bond-market units XBA-XBD, XDR, XSU, XUA, test and no-currency codes XTS/XXX) are absent: an
// amount in them has no exact decimal form, and nobody is invoiced in them.
// Lookup is exact and case-sensitive: "eur" is not a currency code.
std::optional<Currency> findCurrency(std::string_view code);

// Every currency of the table, sorted by code.
std::span<const Currency> allCurrencies();

}  // namespace billing::domain
