// Exact money: an integer count of the currency's minor units (cents for EUR, yen for JPY, fils
// for KWD), never floating point, so sums and splits on invoices are exact and reproducible.
// Amounts cross the API as decimal strings with the currency's ISO 4217 exponent. See
// docs/money.md.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "reconcilers/domain/currency.h"

namespace billing::domain {

struct Money {
  std::int64_t minorUnits = 0;
  Currency currency;

  friend bool operator==(const Money&, const Money&) = default;
};

// Parses a plain decimal string in `currency`: an optional leading "-", at least one digit, and
// optionally "." followed by at least one digit ("12.34", "-0.5", "100"). Digits beyond the
// currency's exponent are accepted only when they are zeros ("12.340" is 12.34 EUR, "12.345" is
// an error): parsing never rounds. Rejected with a message: empty text, "+", spaces, commas or
// other grouping, exponents ("1e3"), ".5", "5.", and amounts outside the int64 minor-unit range.
std::expected<Money, std::string> parseMoney(std::string_view text, Currency currency);

// The canonical decimal form with exactly `exponent` decimals: "12.30", "-0.50", "100" (JPY).
// parseMoney(formatMoney(m), m.currency) == m for every m.
std::string formatMoney(const Money& money);

// Checked arithmetic: an error, never a wrapped value, on currency mismatch or int64 overflow.
std::expected<Money, std::string> add(const Money& a, const Money& b);
std::expected<Money, std::string> subtract(const Money& a, const Money& b);

// amount * numerator / denominator, computed exactly in 128 bits and rounded ONCE to a whole
// minor unit with round-half-to-even ("banker's rounding"): an exact half goes to the even
// neighbour, so 12.5 cents -> 12, 13.5 cents -> 14, -12.5 cents -> -12. Unlike half-up, ties do
// not bias a long series of prorated lines upwards. This is the only rounding rule of the domain
// core. Errors: denominator 0, or a result outside the int64 range.
std::expected<Money, std::string> prorate(const Money& amount, std::int64_t numerator,
                                          std::int64_t denominator);

}  // namespace billing::domain
