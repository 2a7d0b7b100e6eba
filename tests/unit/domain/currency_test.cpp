#include "reconcilers/domain/currency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace billing::domain {
namespace {

int exponentOf(std::string_view code) {
  auto currency = findCurrency(code);
  EXPECT_TRUE(currency) << code;
  if (!currency) return -1;
  EXPECT_EQ(currency->code, code);
  return currency->exponent;
}

TEST(CurrencyTable, KnowsTheMinorUnitOfCommonCurrencies) {
  EXPECT_EQ(exponentOf("USD"), 2);
  EXPECT_EQ(exponentOf("EUR"), 2);
  EXPECT_EQ(exponentOf("GBP"), 2);
  EXPECT_EQ(exponentOf("CHF"), 2);
  EXPECT_EQ(exponentOf("INR"), 2);
  EXPECT_EQ(exponentOf("BRL"), 2);
}

TEST(CurrencyTable, KnowsCurrenciesWithoutDecimals) {
  for (const char* code : {"JPY", "KRW", "ISK", "CLP", "VND", "XOF", "XAF", "XPF", "PYG", "UGX",
                           "BIF", "DJF", "GNF", "KMF", "RWF", "VUV", "UYI"}) {
    EXPECT_EQ(exponentOf(code), 0) << code;
  }
}

TEST(CurrencyTable, KnowsCurrenciesWithThreeDecimals) {
  for (const char* code : {"KWD", "BHD", "TND", "OMR", "JOD", "IQD", "LYD"}) {
    EXPECT_EQ(exponentOf(code), 3) << code;
  }
}

TEST(CurrencyTable, KnowsFundCodesWithFourDecimals) {
  EXPECT_EQ(exponentOf("CLF"), 4);
  EXPECT_EQ(exponentOf("UYW"), 4);
}

TEST(CurrencyTable, KnowsRecentlyIntroducedCodes) {
  EXPECT_EQ(exponentOf("XCG"), 2);  // Caribbean guilder, replaced ANG in 2025
  EXPECT_EQ(exponentOf("ZWG"), 2);  // Zimbabwe Gold, replaced ZWL in 2024
  EXPECT_EQ(exponentOf("SLE"), 2);
  EXPECT_EQ(exponentOf("VED"), 2);
}

TEST(CurrencyTable, RejectsUnknownWithdrawnAndNonMonetaryCodes) {
  for (const char* code : {"", "US", "USDX", "ABC", "usd", "Eur", "HRK", "ANG", "BGN", "ZWL", "SLL",
                           "CUC", "XAU", "XAG", "XDR", "XTS", "XXX", "XBA"}) {
    EXPECT_FALSE(findCurrency(code)) << '"' << code << '"';
  }
}

TEST(CurrencyTable, ListsEveryCodeOnceInOrderWithAValidExponent) {
  const auto all = allCurrencies();
  EXPECT_GE(all.size(), 150u);
  std::set<std::string_view> seen;
  for (const Currency& currency : all) {
    EXPECT_EQ(currency.code.size(), 3u);
    EXPECT_TRUE(std::all_of(currency.code.begin(), currency.code.end(), [](char c) {
      return c >= 'A' && c <= 'Z';
    })) << currency.code;
    EXPECT_TRUE(currency.exponent == 0 || currency.exponent == 2 || currency.exponent == 3 ||
                currency.exponent == 4)
        << currency.code;
    EXPECT_TRUE(seen.insert(currency.code).second) << currency.code << " listed twice";
    EXPECT_EQ(findCurrency(currency.code), currency) << currency.code;
  }
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const Currency& a, const Currency& b) { return a.code < b.code; }));
}

TEST(CurrencyTable, FoundCodeDoesNotDependOnTheCallersBuffer) {
  std::string code = "KWD";
  auto currency = findCurrency(code);
  code = "XXX";
  ASSERT_TRUE(currency);
  EXPECT_EQ(currency->code, "KWD");
}

}  // namespace
}  // namespace billing::domain
