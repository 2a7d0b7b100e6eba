#include "reconcilers/domain/invoice_math.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>

namespace billing::domain {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const Currency kUsd = findCurrency("USD").value();
const Currency kEur = findCurrency("EUR").value();
const Currency kJpy = findCurrency("JPY").value();

Timestamp ts(const char* text) {
  auto parsed = parseTimestamp(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(Timestamp{});
}

Interval iv(const char* start, const char* end) { return Interval{ts(start), ts(end)}; }

Money usd(const char* text) {
  auto money = parseMoney(text, kUsd);
  EXPECT_TRUE(money) << text;
  return money.value_or(Money{0, kUsd});
}

const Interval kNovember = iv("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
const Interval kDecember = iv("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z");
const Interval kForever = iv("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z");

UsageCharge charge(std::string id, std::string project, Money amount, Interval period,
                   std::string quantity = "720") {
  return UsageCharge{std::move(id),
                     std::move(project),
                     "compute",
                     "vCPU hours",
                     std::move(quantity),
                     "hours",
                     amount,
                     period};
}

InvoiceInput input(Interval period, std::vector<MembershipSpan> memberships,
                   std::vector<UsageCharge> charges, Money credits = Money{0, kUsd}) {
  return InvoiceInput{credits.currency, period, std::move(memberships), std::move(charges),
                      credits};
}

InvoiceDraft compute(const InvoiceInput& in) {
  auto draft = computeInvoice(in);
  EXPECT_TRUE(draft) << (draft ? "" : draft.error());
  return draft.value_or(InvoiceDraft{});
}

std::string computeError(const InvoiceInput& in) {
  auto draft = computeInvoice(in);
  EXPECT_FALSE(draft);
  return draft ? std::string() : draft.error();
}

std::string amount(const Money& money) { return formatMoney(money); }

TEST(InvoiceMath, BillsAWholeChargeToTheOnlyMember) {
  const auto draft = compute(input(kNovember, {{"acme/web", kForever}},
                                   {charge("c1", "acme/web", usd("12.34"), kNovember)}));
  ASSERT_EQ(draft.lines.size(), 1u);
  const InvoiceLine& line = draft.lines[0];
  EXPECT_EQ(line.chargeId, "c1");
  EXPECT_EQ(line.project, "acme/web");
  EXPECT_EQ(line.service, "compute");
  EXPECT_EQ(line.description, "vCPU hours");
  EXPECT_EQ(line.quantity, "720");
  EXPECT_EQ(line.unit, "hours");
  EXPECT_EQ(line.amount, usd("12.34"));
  EXPECT_EQ(line.period, kNovember);
  ASSERT_EQ(draft.projectTotals.size(), 1u);
  EXPECT_EQ(draft.projectTotals[0], (ProjectSubtotal{"acme/web", usd("12.34")}));
  EXPECT_EQ(draft.subtotal, usd("12.34"));
  EXPECT_EQ(draft.creditsApplied, usd("0"));
  EXPECT_EQ(draft.total, usd("12.34"));
  EXPECT_EQ(draft.currency, kUsd);
  EXPECT_EQ(draft.period, kNovember);
}

TEST(InvoiceMath, ProjectThatMovedMidPeriodPaysForItsMembershipOnly) {
  const Interval firstHalf = iv("2026-11-01T00:00:00Z", "2026-11-16T00:00:00Z");
  const auto draft =
      compute(input(kNovember, {{"acme/web", iv("2026-01-01T00:00:00Z", "2026-11-16T00:00:00Z")}},
                    {charge("c1", "acme/web", usd("30.00"), kNovember)}));
  ASSERT_EQ(draft.lines.size(), 1u);
  EXPECT_EQ(amount(draft.lines[0].amount), "15.00");
  EXPECT_EQ(draft.lines[0].quantity, "360");
  EXPECT_EQ(draft.lines[0].period, firstHalf);
  EXPECT_EQ(amount(draft.total), "15.00");
}

TEST(InvoiceMath, OnlyThePartOfAChargeInsideTheInvoicePeriodIsBilled) {
  const auto draft =
      compute(input(kNovember, {{"acme/web", kForever}},
                    {charge("c1", "acme/web", usd("30.00"),
                            iv("2026-10-17T00:00:00Z", "2026-11-16T00:00:00Z"), "30")}));
  ASSERT_EQ(draft.lines.size(), 1u);
  EXPECT_EQ(draft.lines[0].period, iv("2026-11-01T00:00:00Z", "2026-11-16T00:00:00Z"));
  EXPECT_EQ(amount(draft.lines[0].amount), "15.00");
  EXPECT_EQ(draft.lines[0].quantity, "15");
}

// The share a group with these memberships gets of one charge.
Money shareFor(const UsageCharge& c, const Interval& invoicePeriod,
               std::vector<MembershipSpan> memberships) {
  const auto draft =
      compute(input(invoicePeriod, std::move(memberships), {c}, Money{0, c.amount.currency}));
  return draft.subtotal;
}

TEST(InvoiceMath, SplitBetweenTwoGroupsAddsUpToTheWholeCharge) {
  const UsageCharge c = charge("c1", "acme/web", usd("100.00"), kNovember);
  const char* moved = "2026-11-11T07:13:21Z";
  const Money groupA = shareFor(c, kNovember, {{"acme/web", iv("2026-10-01T00:00:00Z", moved)}});
  const Money groupB = shareFor(c, kNovember, {{"acme/web", iv(moved, "2027-01-01T00:00:00Z")}});
  EXPECT_EQ(groupA.minorUnits + groupB.minorUnits, 10000);
  // Each share is within one cent of its exact value.
  const std::int64_t secondsA = (ts(moved) - kNovember.start).count();
  const std::int64_t total = kNovember.length().count();
  EXPECT_LE(std::llabs(groupA.minorUnits * total - 10000 * secondsA), total);
  EXPECT_EQ(amount(groupA), "34.34");  // 10d 7h 13m 21s of 30 days is 34.3364... %
  EXPECT_EQ(amount(groupB), "65.66");
}

TEST(InvoiceMath, ThreeThirdsOfADollarAddUpToADollar) {
  const UsageCharge c = charge("c1", "acme/web", usd("1.00"), kNovember);
  const char* day11 = "2026-11-11T00:00:00Z";
  const char* day21 = "2026-11-21T00:00:00Z";
  const Money first = shareFor(c, kNovember, {{"acme/web", iv("2026-11-01T00:00:00Z", day11)}});
  const Money second = shareFor(c, kNovember, {{"acme/web", iv(day11, day21)}});
  const Money third = shareFor(c, kNovember, {{"acme/web", iv(day21, "2026-12-01T00:00:00Z")}});
  EXPECT_EQ(amount(first), "0.33");
  EXPECT_EQ(amount(second), "0.34");
  EXPECT_EQ(amount(third), "0.33");
}

TEST(InvoiceMath, NegativeChargesSplitExactlyToo) {
  const UsageCharge c = charge("refund", "acme/web", usd("-1.00"), kNovember);
  const char* day11 = "2026-11-11T00:00:00Z";
  const char* day21 = "2026-11-21T00:00:00Z";
  const Money first = shareFor(c, kNovember, {{"acme/web", iv("2026-11-01T00:00:00Z", day11)}});
  const Money second = shareFor(c, kNovember, {{"acme/web", iv(day11, day21)}});
  const Money third = shareFor(c, kNovember, {{"acme/web", iv(day21, "2026-12-01T00:00:00Z")}});
  EXPECT_EQ(amount(first), "-0.33");
  EXPECT_EQ(amount(second), "-0.34");
  EXPECT_EQ(amount(third), "-0.33");
}

TEST(InvoiceMath, YenSplitsInWholeYen) {
  const UsageCharge c{"c1", "acme/web", "compute", "", "", "", Money{1000, kJpy}, kNovember};
  const char* day11 = "2026-11-11T00:00:00Z";
  const char* day21 = "2026-11-21T00:00:00Z";
  EXPECT_EQ(amount(shareFor(c, kNovember, {{"acme/web", iv("2026-11-01T00:00:00Z", day11)}})),
            "333");
  EXPECT_EQ(amount(shareFor(c, kNovember, {{"acme/web", iv(day11, day21)}})), "334");
  EXPECT_EQ(amount(shareFor(c, kNovember, {{"acme/web", iv(day21, "2026-12-01T00:00:00Z")}})),
            "333");
}

TEST(InvoiceMath, SplitsAreExactForAnyAmountAndBoundaries) {
  std::mt19937_64 random(20261127);
  const Timestamp origin = ts("2026-11-01T00:00:00Z");
  for (int round = 0; round < 300; ++round) {
    const std::int64_t cents =
        std::uniform_int_distribution<std::int64_t>(-1'000'000'000'000, 1'000'000'000'000)(random);
    const std::int64_t length = std::uniform_int_distribution<std::int64_t>(1, 40 * 86400)(random);
    const UsageCharge c = charge("c", "p/q", Money{cents, kUsd},
                                 Interval{origin, origin + std::chrono::seconds{length}});
    // Cut the charge period into 2-5 memberships of different groups.
    const int groups = std::uniform_int_distribution<int>(2, 5)(random);
    std::vector<std::int64_t> cuts{0, length};
    for (int i = 1; i < groups; ++i) {
      cuts.push_back(std::uniform_int_distribution<std::int64_t>(0, length)(random));
    }
    std::sort(cuts.begin(), cuts.end());
    std::int64_t sum = 0;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      const Interval membership{origin + std::chrono::seconds{cuts[i]},
                                origin + std::chrono::seconds{cuts[i + 1]}};
      const Money share = shareFor(c, kForever, {{"p/q", membership}});
      // Within one cent of the exact share.
      // |cents| * length < 10^12 * 3.5 * 10^6 fits in 64 bits.
      const std::int64_t error = share.minorUnits * length - cents * (cuts[i + 1] - cuts[i]);
      ASSERT_LE(std::llabs(error), length) << "round " << round;
      sum += share.minorUnits;
    }
    ASSERT_EQ(sum, cents) << "round " << round << ": " << groups << " groups, length " << length;
  }
}

TEST(InvoiceMath, ChargeStraddlingTwoInvoicePeriodsIsSplitExactlyBetweenThem) {
  // One cent over 20 days: half a cent on each side of the month boundary.
  const UsageCharge c = charge("c1", "acme/web", usd("0.01"),
                               iv("2026-11-21T00:00:00Z", "2026-12-11T00:00:00Z"), "20");
  const auto november = compute(input(kNovember, {{"acme/web", kForever}}, {c}));
  const auto december = compute(input(kDecember, {{"acme/web", kForever}}, {c}));
  ASSERT_EQ(november.lines.size(), 1u);
  ASSERT_EQ(december.lines.size(), 1u);
  EXPECT_EQ(november.lines[0].period, iv("2026-11-21T00:00:00Z", "2026-12-01T00:00:00Z"));
  EXPECT_EQ(december.lines[0].period, iv("2026-12-01T00:00:00Z", "2026-12-11T00:00:00Z"));
  EXPECT_EQ(amount(november.lines[0].amount), "0.00");  // R(0.5) = 0, ties to even
  EXPECT_EQ(amount(december.lines[0].amount), "0.01");  // R(1) - R(0.5) = 1
  EXPECT_EQ(november.lines[0].quantity, "10");
  EXPECT_EQ(december.lines[0].quantity, "10");
}

TEST(InvoiceMath, InstantChargeGoesWhollyToTheMembershipContainingIt) {
  const Interval instant{ts("2026-11-16T00:00:00Z"), ts("2026-11-16T00:00:00Z")};
  const UsageCharge setupFee = charge("fee", "acme/web", usd("5.00"), instant, "1");
  const auto before = compute(input(
      kNovember, {{"acme/web", iv("2026-11-01T00:00:00Z", "2026-11-16T00:00:00Z")}}, {setupFee}));
  const auto after = compute(input(
      kNovember, {{"acme/web", iv("2026-11-16T00:00:00Z", "2026-12-01T00:00:00Z")}}, {setupFee}));
  EXPECT_TRUE(before.lines.empty());
  EXPECT_EQ(amount(before.total), "0.00");
  ASSERT_EQ(after.lines.size(), 1u);
  EXPECT_EQ(amount(after.lines[0].amount), "5.00");
  EXPECT_EQ(after.lines[0].period, instant);
  EXPECT_EQ(after.lines[0].quantity, "1");
}

TEST(InvoiceMath, InstantChargeIsBilledInThePeriodContainingIt) {
  const Timestamp endOfNovember = ts("2026-12-01T00:00:00Z");
  const Timestamp startOfNovember = ts("2026-11-01T00:00:00Z");
  const auto atEnd = compute(
      input(kNovember, {{"acme/web", kForever}},
            {charge("fee", "acme/web", usd("5.00"), Interval{endOfNovember, endOfNovember})}));
  const auto atStart = compute(
      input(kNovember, {{"acme/web", kForever}},
            {charge("fee", "acme/web", usd("5.00"), Interval{startOfNovember, startOfNovember})}));
  EXPECT_TRUE(atEnd.lines.empty());
  EXPECT_EQ(atStart.lines.size(), 1u);
}

TEST(InvoiceMath, ChargesOfProjectsWithoutOverlappingMembershipProduceNoLine) {
  const auto draft =
      compute(input(kNovember, {{"acme/late", iv("2026-11-20T00:00:00Z", "2026-12-01T00:00:00Z")}},
                    {charge("c1", "other/x", usd("9.00"), kNovember),
                     charge("c2", "acme/late", usd("9.00"),
                            iv("2026-11-01T00:00:00Z", "2026-11-10T00:00:00Z"))}));
  EXPECT_TRUE(draft.lines.empty());
  ASSERT_EQ(draft.projectTotals.size(), 1u);  // a member without billed charges shows 0.00
  EXPECT_EQ(draft.projectTotals[0], (ProjectSubtotal{"acme/late", usd("0")}));
  EXPECT_EQ(amount(draft.subtotal), "0.00");
}

TEST(InvoiceMath, ProjectThatLeftAndCameBackGetsOneLinePerStay) {
  const auto draft =
      compute(input(kNovember,
                    {{"acme/web", iv("2026-11-21T00:00:00Z", "2026-12-01T00:00:00Z")},
                     {"acme/web", iv("2026-10-01T00:00:00Z", "2026-11-06T00:00:00Z")}},
                    {charge("c1", "acme/web", usd("30.00"), kNovember)}));
  ASSERT_EQ(draft.lines.size(), 2u);
  EXPECT_EQ(draft.lines[0].period, iv("2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z"));
  EXPECT_EQ(amount(draft.lines[0].amount), "5.00");
  EXPECT_EQ(draft.lines[1].period, iv("2026-11-21T00:00:00Z", "2026-12-01T00:00:00Z"));
  EXPECT_EQ(amount(draft.lines[1].amount), "10.00");
  EXPECT_EQ(amount(draft.total), "15.00");
}

TEST(InvoiceMath, OverlappingOrRepeatedMembershipRecordsNeverBillTwice) {
  const auto draft =
      compute(input(kNovember,
                    {{"acme/web", iv("2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z")},
                     {"acme/web", iv("2026-11-10T00:00:00Z", "2026-11-25T00:00:00Z")},
                     {"acme/web", iv("2026-11-25T00:00:00Z", "2026-12-01T00:00:00Z")},
                     {"acme/web", iv("2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z")}},
                    {charge("c1", "acme/web", usd("30.00"), kNovember)}));
  ASSERT_EQ(draft.lines.size(), 1u);
  EXPECT_EQ(draft.lines[0].period, kNovember);
  EXPECT_EQ(amount(draft.total), "30.00");
}

TEST(InvoiceMath, LinesAndTotalsAreSortedByProjectWhateverTheInputOrder) {
  const auto draft = compute(input(
      kNovember, {{"team-b/api", kForever}, {"team-c/idle", kForever}, {"team-a/web", kForever}},
      {charge("z", "team-b/api", usd("1.00"), kNovember),
       charge("y", "team-a/web", usd("2.00"), iv("2026-11-10T00:00:00Z", "2026-11-11T00:00:00Z")),
       charge("x", "team-a/web", usd("3.00"),
              iv("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"))}));
  ASSERT_EQ(draft.lines.size(), 3u);
  EXPECT_EQ(draft.lines[0].chargeId, "x");
  EXPECT_EQ(draft.lines[1].chargeId, "y");
  EXPECT_EQ(draft.lines[2].chargeId, "z");
  ASSERT_EQ(draft.projectTotals.size(), 3u);
  EXPECT_EQ(draft.projectTotals[0], (ProjectSubtotal{"team-a/web", usd("5.00")}));
  EXPECT_EQ(draft.projectTotals[1], (ProjectSubtotal{"team-b/api", usd("1.00")}));
  EXPECT_EQ(draft.projectTotals[2], (ProjectSubtotal{"team-c/idle", usd("0.00")}));
}

TEST(InvoiceMath, TotalsAreExactlyTheSumsOfTheirLines) {
  const Interval firstThird = iv("2026-11-01T00:00:00Z", "2026-11-11T00:00:00Z");
  std::vector<UsageCharge> charges;
  for (int i = 0; i < 7; ++i) {
    charges.push_back(charge("web-" + std::to_string(i), "acme/web", usd("1.00"), kNovember));
    charges.push_back(charge("api-" + std::to_string(i), "acme/api", usd("0.10"), kNovember));
  }
  const auto draft = compute(
      input(kNovember, {{"acme/web", firstThird}, {"acme/api", firstThird}}, std::move(charges)));
  ASSERT_EQ(draft.lines.size(), 14u);
  std::int64_t web = 0;
  std::int64_t api = 0;
  for (const InvoiceLine& line : draft.lines) {
    (line.project == "acme/web" ? web : api) += line.amount.minorUnits;
  }
  EXPECT_EQ(web, 7 * 33);  // each 0.333... rounds to 0.33
  EXPECT_EQ(api, 7 * 3);   // each 0.0333... rounds to 0.03
  ASSERT_EQ(draft.projectTotals.size(), 2u);
  EXPECT_EQ(draft.projectTotals[0].amount.minorUnits, api);
  EXPECT_EQ(draft.projectTotals[1].amount.minorUnits, web);
  EXPECT_EQ(draft.subtotal.minorUnits, web + api);
}

struct CreditCase {
  const char* available;
  const char* charged;
  const char* applied;
  const char* total;
};

class InvoiceMathCredits : public ::testing::TestWithParam<CreditCase> {};

TEST_P(InvoiceMathCredits, NeverExceedTheSubtotalNorGoNegative) {
  const CreditCase& c = GetParam();
  const auto draft =
      compute(input(kNovember, {{"acme/web", kForever}},
                    {charge("c1", "acme/web", usd(c.charged), kNovember)}, usd(c.available)));
  EXPECT_EQ(amount(draft.subtotal), c.charged);
  EXPECT_EQ(amount(draft.creditsApplied), c.applied);
  EXPECT_EQ(amount(draft.total), c.total);
}

INSTANTIATE_TEST_SUITE_P(InvoiceMath, InvoiceMathCredits,
                         ::testing::Values(CreditCase{"50.00", "30.00", "30.00", "0.00"},
                                           CreditCase{"10.00", "30.00", "10.00", "20.00"},
                                           CreditCase{"30.00", "30.00", "30.00", "0.00"},
                                           CreditCase{"0.00", "30.00", "0.00", "30.00"},
                                           CreditCase{"10.00", "-5.00", "0.00", "-5.00"},
                                           CreditCase{"10.00", "0.00", "0.00", "0.00"}));

TEST(InvoiceMath, RefusesChargesInAnotherCurrency) {
  UsageCharge euros = charge("c1", "acme/web", Money{100, kEur}, kNovember);
  const std::string error = computeError(input(kNovember, {{"acme/web", kForever}}, {euros}));
  EXPECT_THAT(error, AllOf(HasSubstr("c1"), HasSubstr("EUR"), HasSubstr("USD")));
}

TEST(InvoiceMath, RefusesCreditsInAnotherCurrencyOrBelowZero) {
  InvoiceInput in = input(kNovember, {}, {});
  in.creditsAvailable = Money{100, kEur};
  EXPECT_THAT(computeError(in), AllOf(HasSubstr("credit"), HasSubstr("EUR")));
  EXPECT_THAT(computeError(input(kNovember, {}, {}, usd("-1.00"))), HasSubstr("negative"));
}

TEST(InvoiceMath, RefusesAnEmptyInvoicePeriod) {
  const Interval empty{kNovember.end, kNovember.start};
  EXPECT_THAT(computeError(input(empty, {}, {})), HasSubstr("empty"));
}

TEST(InvoiceMath, RefusesAChargeEndingBeforeItStarts) {
  const Interval backwards{kNovember.end, kNovember.start};
  EXPECT_THAT(computeError(input(kNovember, {{"acme/web", kForever}},
                                 {charge("c9", "acme/web", usd("1.00"), backwards)})),
              AllOf(HasSubstr("c9"), HasSubstr("ends before it starts")));
}

TEST(InvoiceMath, RefusesDuplicateChargeIds) {
  EXPECT_THAT(computeError(input(kNovember, {{"acme/web", kForever}},
                                 {charge("c1", "acme/web", usd("1.00"), kNovember),
                                  charge("c1", "acme/web", usd("1.00"), kNovember)})),
              AllOf(HasSubstr("c1"), HasSubstr("more than once")));
}

TEST(InvoiceMath, RefusesAMalformedQuantityOfASplitCharge) {
  EXPECT_THAT(computeError(input(kNovember,
                                 {{"acme/web", iv("2026-11-01T00:00:00Z", "2026-11-16T00:00:00Z")}},
                                 {charge("c1", "acme/web", usd("1.00"), kNovember, "1,5")})),
              AllOf(HasSubstr("c1"), HasSubstr("quantity")));
}

TEST(InvoiceMath, ReportsOverflowOfTheSubtotal) {
  const Money huge{std::numeric_limits<std::int64_t>::max(), kUsd};
  EXPECT_THAT(computeError(input(kNovember, {{"acme/web", kForever}},
                                 {charge("c1", "acme/web", huge, kNovember),
                                  charge("c2", "acme/web", huge, kNovember)})),
              HasSubstr("overflow"));
}

TEST(InvoiceMathShare, IsTheWholeAmountForTheWholePeriod) {
  auto share = shareOf(usd("10.01"), kNovember, kNovember);
  ASSERT_TRUE(share);
  EXPECT_EQ(amount(*share), "10.01");
}

TEST(InvoiceMathShare, RefusesPartsOutsideTheWholeAndEmptyWholes) {
  EXPECT_FALSE(shareOf(usd("1.00"), kNovember, kDecember));
  EXPECT_FALSE(shareOf(usd("1.00"), kNovember, iv("2026-10-31T00:00:00Z", "2026-11-02T00:00:00Z")));
  EXPECT_FALSE(shareOf(usd("1.00"), Interval{kNovember.start, kNovember.start}, kNovember));
}

TEST(InvoiceMathQuantity, ProratesDecimalStrings) {
  const auto prorated = [](const char* q, std::int64_t n, std::int64_t d) {
    auto result = prorateQuantity(q, n, d);
    EXPECT_TRUE(result) << q << ": " << (result ? "" : result.error());
    return result.value_or("error");
  };
  EXPECT_EQ(prorated("744", 1, 2), "372");
  EXPECT_EQ(prorated("100", 1, 3), "33.333333");
  EXPECT_EQ(prorated("2", 2, 3), "1.333333");
  EXPECT_EQ(prorated("1", 2, 3), "0.666667");
  EXPECT_EQ(prorated("1.5", 1, 3), "0.5");
  EXPECT_EQ(prorated("10", 1, 4), "2.5");
  EXPECT_EQ(prorated("-3", 1, 2), "-1.5");
  EXPECT_EQ(prorated("0.00000001", 1, 3), "0.00000000");
  EXPECT_EQ(prorated("-0.000001", 1, 3), "0.000000");  // no "-0"
  EXPECT_EQ(prorated("1.50", 7, 7), "1.50");           // a whole share keeps the text as given
  EXPECT_EQ(prorated("", 1, 2), "");
}

TEST(InvoiceMathQuantity, RefusesMalformedQuantities) {
  for (const char* q : {"abc", "1.", ".5", "1,5", "1e3", "+1", "-", "1.2.3", " 1"}) {
    EXPECT_FALSE(prorateQuantity(q, 1, 2)) << '"' << q << '"';
  }
  EXPECT_FALSE(prorateQuantity("1", 1, 0));
  EXPECT_FALSE(prorateQuantity("1234567890123456789012345678901", 1, 2));
}

}  // namespace
}  // namespace billing::domain
