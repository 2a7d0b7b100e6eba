// Money parsing (reconcilers/domain/money.h): the first byte picks a currency of the ISO 4217
// table, the rest is the amount's text. Parsing never rounds and never wraps, so whatever is
// accepted formats back to a text that parses to the same amount, and the checked arithmetic
// either gives the exact result or an error.
#include <cstdint>
#include <limits>
#include <string>

#include "reconcilers/domain/currency.h"
#include "reconcilers/domain/money.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace billing::domain;
  if (size == 0) return 0;
  const auto currencies = allCurrencies();
  const Currency currency = currencies[data[0] % currencies.size()];
  const std::string text(billing::fuzz::asText(data + 1, size - 1));
  const auto parsed = parseMoney(text, currency);
  if (!parsed) {
    BILLING_FUZZ_CHECK(!parsed.error().empty(), "a rejection must say why: " + text);
    return 0;
  }
  BILLING_FUZZ_CHECK(parsed->currency == currency, "parseMoney changed the currency: " + text);
  const std::string canonical = formatMoney(*parsed);
  const auto again = parseMoney(canonical, currency);
  BILLING_FUZZ_CHECK(again.has_value() && *again == *parsed,
                     text + " formats as " + canonical + ", which does not read back the same");
  // The canonical form has exactly the currency's decimals; a longer text must only have added
  // zeros (parsing never rounds).
  const auto dot = canonical.find('.');
  const std::size_t decimals = dot == std::string::npos ? 0 : canonical.size() - dot - 1;
  BILLING_FUZZ_CHECK(
      static_cast<int>(decimals) == currency.exponent,
      canonical + " does not have " + std::to_string(currency.exponent) + " decimals");

  // Sums and differences are exact or refused, never wrapped.
  const std::int64_t units = parsed->minorUnits;
  const auto doubled = add(*parsed, *parsed);
  const bool fits = units <= std::numeric_limits<std::int64_t>::max() / 2 &&
                    units >= std::numeric_limits<std::int64_t>::min() / 2;
  BILLING_FUZZ_CHECK(doubled.has_value() == fits, "add overflow check wrong for " + canonical);
  if (doubled) BILLING_FUZZ_CHECK(doubled->minorUnits == units * 2, "add is not exact");
  const auto zero = subtract(*parsed, *parsed);
  BILLING_FUZZ_CHECK(zero.has_value() && zero->minorUnits == 0, "x - x is not 0 for " + canonical);
  // A whole share is the amount itself; a half rounds to one of its two neighbours.
  const auto whole = prorate(*parsed, 7, 7);
  BILLING_FUZZ_CHECK(whole.has_value() && *whole == *parsed, "prorate(x, 7, 7) != x: " + canonical);
  const auto half = prorate(*parsed, 1, 2);
  BILLING_FUZZ_CHECK(half.has_value(), "prorate(x, 1, 2) failed for " + canonical);
  BILLING_FUZZ_CHECK(
      half->minorUnits == units / 2 || half->minorUnits == units / 2 + (units > 0 ? 1 : -1),
      "prorate(x, 1, 2) is not a neighbour of x/2 for " + canonical);
  return 0;
}
