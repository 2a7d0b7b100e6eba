#include "reconcilers/domain/money.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <tuple>

namespace billing::domain {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Currency currency(std::string_view code) {
  auto found = findCurrency(code);
  EXPECT_TRUE(found) << code;
  return found.value_or(Currency{"???", 2});
}

const Currency kUsd = currency("USD");
const Currency kEur = currency("EUR");
const Currency kJpy = currency("JPY");
const Currency kKwd = currency("KWD");
const Currency kClf = currency("CLF");

std::int64_t minorUnits(std::string_view text, Currency in) {
  auto money = parseMoney(text, in);
  EXPECT_TRUE(money) << text << ": " << (money ? "" : money.error());
  if (!money) return 0;
  EXPECT_EQ(money->currency, in);
  return money->minorUnits;
}

std::string parseError(std::string_view text, Currency in) {
  auto money = parseMoney(text, in);
  EXPECT_FALSE(money) << '"' << text << "\" parsed as " << (money ? money->minorUnits : 0);
  return money ? std::string() : money.error();
}

std::string prorated(std::int64_t units, Currency in, std::int64_t numerator,
                     std::int64_t denominator) {
  auto money = prorate(Money{units, in}, numerator, denominator);
  EXPECT_TRUE(money) << (money ? "" : money.error());
  return money ? formatMoney(*money) : "error";
}

TEST(MoneyParse, ReadsDecimalStringsAsMinorUnits) {
  EXPECT_EQ(minorUnits("12.34", kUsd), 1234);
  EXPECT_EQ(minorUnits("-0.5", kUsd), -50);
  EXPECT_EQ(minorUnits("100", kUsd), 10000);
  EXPECT_EQ(minorUnits("0", kEur), 0);
  EXPECT_EQ(minorUnits("-0", kEur), 0);
  EXPECT_EQ(minorUnits("0.01", kEur), 1);
  EXPECT_EQ(minorUnits("007.10", kEur), 710);
}

TEST(MoneyParse, AcceptsExtraDecimalsOnlyWhenTheyAreZeros) {
  EXPECT_EQ(minorUnits("12.340", kUsd), 1234);
  EXPECT_EQ(minorUnits("12.3400000", kUsd), 1234);
  EXPECT_THAT(parseError("12.345", kUsd),
              AllOf(HasSubstr("12.345"), HasSubstr("2 decimal places"), HasSubstr("USD")));
  EXPECT_THAT(parseError("0.001", kEur), HasSubstr("decimal places"));
}

TEST(MoneyParse, YenHasNoDecimals) {
  EXPECT_EQ(minorUnits("100", kJpy), 100);
  EXPECT_EQ(minorUnits("100.0", kJpy), 100);
  EXPECT_EQ(minorUnits("-1500", kJpy), -1500);
  EXPECT_THAT(parseError("100.5", kJpy), AllOf(HasSubstr("0 decimal places"), HasSubstr("JPY")));
}

TEST(MoneyParse, KuwaitiDinarHasThreeDecimals) {
  EXPECT_EQ(minorUnits("1.234", kKwd), 1234);
  EXPECT_EQ(minorUnits("0.001", kKwd), 1);
  EXPECT_EQ(minorUnits("2.5", kKwd), 2500);
  EXPECT_THAT(parseError("1.2345", kKwd), HasSubstr("3 decimal places"));
}

TEST(MoneyParse, UnidadDeFomentoHasFourDecimals) {
  EXPECT_EQ(minorUnits("1.0001", kClf), 10001);
  EXPECT_THAT(parseError("1.00001", kClf), HasSubstr("4 decimal places"));
}

TEST(MoneyParse, RejectsAnythingButAPlainDecimal) {
  for (const char* text : {"",      "-",    "+5",   "+-5", "--5", " 5",    "5 ",      "1,000.00",
                           "1 000", "1e3",  "1E3",  ".5",  "-.5", "5.",    "5-",      "1.2.3",
                           "12.3a", "0x10", "five", "NaN", "inf", "1_000", "\xd9\xa1"}) {
    EXPECT_FALSE(parseError(text, kUsd).empty()) << '"' << text << '"';
  }
}

TEST(MoneyParse, ErrorMessagesSayWhatIsWrong) {
  EXPECT_THAT(parseError("", kUsd), HasSubstr("empty"));
  EXPECT_THAT(parseError("+5", kUsd), HasSubstr("must start with a digit"));
  EXPECT_THAT(parseError("5.", kUsd), HasSubstr("digits after the decimal point"));
  EXPECT_THAT(parseError("1,000.00", kUsd), HasSubstr("unexpected \",\""));
  EXPECT_THAT(parseError("1e3", kUsd), HasSubstr("unexpected \"e\""));
}

TEST(MoneyParse, AcceptsTheWholeInt64RangeAndNothingBeyond) {
  EXPECT_EQ(minorUnits("92233720368547758.07", kUsd), kMax);
  EXPECT_EQ(minorUnits("-92233720368547758.08", kUsd), kMin);
  EXPECT_THAT(parseError("92233720368547758.08", kUsd), HasSubstr("too large"));
  EXPECT_THAT(parseError("-92233720368547758.09", kUsd), HasSubstr("too large"));
  EXPECT_EQ(minorUnits("9223372036854775807", kJpy), kMax);
  EXPECT_THAT(parseError("9223372036854775808", kJpy), HasSubstr("too large"));
  EXPECT_THAT(parseError("99999999999999999999999999999999999999999", kUsd),
              HasSubstr("too large"));
  EXPECT_THAT(parseError("922337203685477.5808", kClf), HasSubstr("too large"));
}

TEST(MoneyFormat, WritesExactlyTheCurrencysDecimals) {
  EXPECT_EQ(formatMoney(Money{1234, kUsd}), "12.34");
  EXPECT_EQ(formatMoney(Money{1230, kUsd}), "12.30");
  EXPECT_EQ(formatMoney(Money{-50, kUsd}), "-0.50");
  EXPECT_EQ(formatMoney(Money{5, kUsd}), "0.05");
  EXPECT_EQ(formatMoney(Money{-5, kUsd}), "-0.05");
  EXPECT_EQ(formatMoney(Money{0, kUsd}), "0.00");
  EXPECT_EQ(formatMoney(Money{100, kJpy}), "100");
  EXPECT_EQ(formatMoney(Money{-7, kJpy}), "-7");
  EXPECT_EQ(formatMoney(Money{0, kJpy}), "0");
  EXPECT_EQ(formatMoney(Money{1, kKwd}), "0.001");
  EXPECT_EQ(formatMoney(Money{1250, kKwd}), "1.250");
  EXPECT_EQ(formatMoney(Money{10001, kClf}), "1.0001");
}

TEST(MoneyFormat, HandlesTheExtremes) {
  EXPECT_EQ(formatMoney(Money{kMax, kUsd}), "92233720368547758.07");
  EXPECT_EQ(formatMoney(Money{kMin, kUsd}), "-92233720368547758.08");
  EXPECT_EQ(formatMoney(Money{kMin, kJpy}), "-9223372036854775808");
}

TEST(MoneyFormat, RoundTripsThroughParse) {
  for (Currency in : {kUsd, kJpy, kKwd, kClf}) {
    for (std::int64_t units : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{99},
                               std::int64_t{-100}, std::int64_t{123456789}, kMax, kMin}) {
      const Money money{units, in};
      auto back = parseMoney(formatMoney(money), in);
      ASSERT_TRUE(back) << formatMoney(money) << ": " << back.error();
      EXPECT_EQ(*back, money) << formatMoney(money);
    }
  }
}

TEST(MoneyArithmetic, AddsAndSubtractsInOneCurrency) {
  auto sum = add(Money{110, kUsd}, Money{220, kUsd});
  ASSERT_TRUE(sum);
  EXPECT_EQ(*sum, (Money{330, kUsd}));
  auto difference = subtract(Money{110, kUsd}, Money{220, kUsd});
  ASSERT_TRUE(difference);
  EXPECT_EQ(*difference, (Money{-110, kUsd}));
}

TEST(MoneyArithmetic, RefusesToMixCurrencies) {
  auto sum = add(Money{100, kUsd}, Money{100, kEur});
  ASSERT_FALSE(sum);
  EXPECT_THAT(sum.error(),
              AllOf(HasSubstr("currency mismatch"), HasSubstr("USD"), HasSubstr("EUR")));
  EXPECT_FALSE(subtract(Money{100, kJpy}, Money{100, kUsd}));
}

TEST(MoneyArithmetic, ReportsOverflowInsteadOfWrapping) {
  auto sum = add(Money{kMax, kUsd}, Money{1, kUsd});
  ASSERT_FALSE(sum);
  EXPECT_THAT(sum.error(), HasSubstr("overflow"));
  EXPECT_FALSE(add(Money{kMin, kUsd}, Money{-1, kUsd}));
  EXPECT_FALSE(subtract(Money{kMin, kUsd}, Money{1, kUsd}));
  EXPECT_FALSE(subtract(Money{0, kUsd}, Money{kMin, kUsd}));
  EXPECT_TRUE(add(Money{kMax, kUsd}, Money{kMin, kUsd}));
}

TEST(MoneyProrate, RoundsTiesToEven) {
  // 0.125 and 0.135 dollars: exact halves of a cent.
  EXPECT_EQ(prorated(25, kUsd, 1, 2), "0.12");
  EXPECT_EQ(prorated(27, kUsd, 1, 2), "0.14");
  EXPECT_EQ(prorated(1, kUsd, 1, 2), "0.00");
  EXPECT_EQ(prorated(3, kUsd, 1, 2), "0.02");
  EXPECT_EQ(prorated(5, kUsd, 1, 2), "0.02");
  EXPECT_EQ(prorated(7, kUsd, 1, 2), "0.04");
}

TEST(MoneyProrate, RoundsNegativeTiesToEvenToo) {
  EXPECT_EQ(prorated(-25, kUsd, 1, 2), "-0.12");
  EXPECT_EQ(prorated(-27, kUsd, 1, 2), "-0.14");
  EXPECT_EQ(prorated(-1, kUsd, 1, 2), "0.00");
}

TEST(MoneyProrate, RoundsNonTiesToNearest) {
  EXPECT_EQ(prorated(100, kUsd, 1, 3), "0.33");
  EXPECT_EQ(prorated(200, kUsd, 1, 3), "0.67");
  EXPECT_EQ(prorated(-200, kUsd, 1, 3), "-0.67");
  EXPECT_EQ(prorated(1001, kUsd, 1, 2000), "0.01");  // 0.5005 cents is above the tie
  EXPECT_EQ(prorated(999, kUsd, 1, 2000), "0.00");   // 0.4995 cents is below it
}

TEST(MoneyProrate, WorksInTheCurrencysOwnMinorUnit) {
  EXPECT_EQ(prorated(1000, kJpy, 1, 3), "333");
  EXPECT_EQ(prorated(5, kJpy, 1, 2), "2");
  EXPECT_EQ(prorated(7, kJpy, 1, 2), "4");
  EXPECT_EQ(prorated(1000, kKwd, 1, 8), "0.125");
  EXPECT_EQ(prorated(1, kKwd, 1, 2), "0.000");
  auto yen = prorate(Money{1000, kJpy}, 1, 3);
  ASSERT_TRUE(yen);
  EXPECT_EQ(yen->currency, kJpy);
}

TEST(MoneyProrate, HandlesSignsOfNumeratorAndDenominator) {
  EXPECT_EQ(prorated(100, kUsd, 1, -2), "-0.50");
  EXPECT_EQ(prorated(100, kUsd, -1, -2), "0.50");
  EXPECT_EQ(prorated(100, kUsd, 0, 7), "0.00");
}

TEST(MoneyProrate, ComputesProductsBeyond64BitsExactly) {
  auto whole = prorate(Money{kMax, kUsd}, kMax, kMax);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->minorUnits, kMax);
  auto half = prorate(Money{kMax, kUsd}, 1'000'000'000'000, 2'000'000'000'000);
  ASSERT_TRUE(half);
  EXPECT_EQ(half->minorUnits, kMax / 2 + 1);  // 4611686018427387903.5 ties to even ...904
  auto smallest = prorate(Money{kMin, kUsd}, kMin, kMin);
  ASSERT_TRUE(smallest);
  EXPECT_EQ(smallest->minorUnits, kMin);
}

TEST(MoneyProrate, ReportsOverflowAndZeroDenominator) {
  auto doubled = prorate(Money{kMax, kUsd}, 2, 1);
  ASSERT_FALSE(doubled);
  EXPECT_THAT(doubled.error(), HasSubstr("overflow"));
  EXPECT_FALSE(prorate(Money{kMin, kUsd}, -1, 1));
  auto byZero = prorate(Money{100, kUsd}, 1, 0);
  ASSERT_FALSE(byZero);
  EXPECT_THAT(byZero.error(), HasSubstr("denominator"));
}

}  // namespace
}  // namespace billing::domain
