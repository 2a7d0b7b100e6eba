#include "reconcilers/domain/money.h"

#include <limits>

#include "reconcilers/domain/rounding.h"

namespace billing::domain {
namespace {

using detail::divideRoundHalfEven;
using detail::Int128;
using detail::UInt128;

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool fitsInt64(Int128 value) { return value >= kMin && value <= kMax; }

std::expected<void, std::string> sameCurrency(const Money& a, const Money& b) {
  if (a.currency.code != b.currency.code) {
    return std::unexpected("currency mismatch: " + std::string(a.currency.code) + " and " +
                           std::string(b.currency.code));
  }
  return {};
}

}  // namespace

std::expected<Money, std::string> parseMoney(std::string_view text, Currency currency) {
  if (text.empty()) return std::unexpected(std::string("empty amount"));
  std::size_t pos = 0;
  const bool negative = text[0] == '-';
  if (negative) ++pos;

  // Up to 2^64 magnitude is tracked; anything larger is an overflow whatever follows.
  constexpr UInt128 kLimit = static_cast<UInt128>(1) << 64;
  UInt128 magnitude = 0;
  std::size_t integerDigits = 0;
  for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++integerDigits) {
    magnitude = magnitude * 10 + static_cast<unsigned>(text[pos] - '0');
    if (magnitude > kLimit) return std::unexpected("amount " + quoted(text) + " is too large");
  }
  if (integerDigits == 0) {
    return std::unexpected("amount " + quoted(text) +
                           " must start with a digit, optionally after \"-\"");
  }

  int fractionDigits = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t first = pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      if (fractionDigits < currency.exponent) {
        magnitude = magnitude * 10 + static_cast<unsigned>(text[pos] - '0');
        ++fractionDigits;
      } else if (text[pos] != '0') {
        return std::unexpected("amount " + quoted(text) + " has more than " +
                               std::to_string(currency.exponent) + " decimal places, the minor " +
                               "unit of " + std::string(currency.code));
      }
    }
    if (pos == first) {
      return std::unexpected("amount " + quoted(text) + " needs digits after the decimal point");
    }
  }
  if (pos != text.size()) {
    return std::unexpected("amount " + quoted(text) +
                           " is not a plain decimal number (unexpected \"" +
                           std::string(1, text[pos]) + "\")");
  }
  for (; fractionDigits < currency.exponent; ++fractionDigits) {
    magnitude *= 10;
    if (magnitude > kLimit) break;
  }

  const UInt128 maxMagnitude =
      negative ? static_cast<UInt128>(kMax) + 1 : static_cast<UInt128>(kMax);
  if (magnitude > maxMagnitude) {
    return std::unexpected("amount " + quoted(text) + " is too large");
  }
  const Int128 value = negative ? -static_cast<Int128>(magnitude) : static_cast<Int128>(magnitude);
  return Money{static_cast<std::int64_t>(value), currency};
}

std::string formatMoney(const Money& money) {
  const bool negative = money.minorUnits < 0;
  // Magnitude as unsigned so that INT64_MIN formats too.
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(money.minorUnits)
                                     : static_cast<std::uint64_t>(money.minorUnits);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + magnitude % 10));
    magnitude /= 10;
  } while (magnitude > 0);
  const auto exponent = static_cast<std::size_t>(money.currency.exponent);
  if (digits.size() <= exponent) digits.insert(0, exponent + 1 - digits.size(), '0');
  if (exponent > 0) digits.insert(digits.size() - exponent, 1, '.');
  if (negative) digits.insert(digits.begin(), '-');
  return digits;
}

std::expected<Money, std::string> add(const Money& a, const Money& b) {
  if (auto same = sameCurrency(a, b); !same) return std::unexpected(same.error());
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a.minorUnits, b.minorUnits, &sum)) {
    return std::unexpected("overflow adding " + formatMoney(a) + " and " + formatMoney(b) + " " +
                           std::string(a.currency.code));
  }
  return Money{sum, a.currency};
}

std::expected<Money, std::string> subtract(const Money& a, const Money& b) {
  if (auto same = sameCurrency(a, b); !same) return std::unexpected(same.error());
  std::int64_t difference = 0;
  if (__builtin_sub_overflow(a.minorUnits, b.minorUnits, &difference)) {
    return std::unexpected("overflow subtracting " + formatMoney(b) + " from " + formatMoney(a) +
                           " " + std::string(a.currency.code));
  }
  return Money{difference, a.currency};
}

std::expected<Money, std::string> prorate(const Money& amount, std::int64_t numerator,
                                          std::int64_t denominator) {
  if (denominator == 0) return std::unexpected(std::string("prorate: denominator is zero"));
  // |amount * numerator| <= 2^126 fits in a signed 128-bit integer.
  Int128 n = static_cast<Int128>(amount.minorUnits) * numerator;
  Int128 d = denominator;
  if (d < 0) {
    n = -n;
    d = -d;
  }
  const Int128 result = divideRoundHalfEven(n, d);
  if (!fitsInt64(result)) {
    return std::unexpected("overflow prorating " + formatMoney(amount) + " " +
                           std::string(amount.currency.code) + " by " + std::to_string(numerator) +
                           "/" + std::to_string(denominator));
  }
  return Money{static_cast<std::int64_t>(result), amount.currency};
}

}  // namespace billing::domain
