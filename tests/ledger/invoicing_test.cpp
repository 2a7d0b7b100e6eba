// Which shares of which charges an invoice carries (ledger/invoicing.h), as pure functions.
#include "ledger/invoicing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "ledger_test_support.h"
#include "reconcilers/domain/currency.h"

namespace billing::ledger {
namespace {

using testing::at;

const domain::Currency kEur = domain::findCurrency("EUR").value();

Interval iv(const char* start, const char* end) { return Interval{at(start), at(end)}; }

Membership membership(const std::string& project, const char* from, const char* to = nullptr) {
  Membership m;
  m.id = "mem-" + project + "-" + from;
  m.project = project;
  m.accountId = "a";
  m.effectiveFrom = at(from);
  if (to != nullptr) m.effectiveTo = at(to);
  return m;
}

Charge charge(const std::string& id, const std::string& project, std::int64_t cents,
              Interval period) {
  Charge c;
  c.id = id;
  c.clientId = "client-" + id;
  c.project = project;
  c.service = "compute";
  c.quantity = "100";
  c.unit = "hours";
  c.currency = "EUR";
  c.amountMinor = cents;
  c.period = period;
  return c;
}

const Interval kNov = iv("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
const Interval kDec = iv("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z");

Billing bill(BillingInput input) {
  input.currency = kEur;
  auto billing = computeBilling(input);
  EXPECT_TRUE(billing) << (billing ? "" : billing.error().detail);
  return billing.value_or(Billing{});
}

std::vector<std::string> describe(const Billing& billing) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < billing.draft.lines.size(); ++i) {
    const auto& line = billing.draft.lines[i];
    out.push_back(line.chargeId + " " + line.project + " " + domain::formatMoney(line.amount) +
                  " " + domain::formatTimestamp(line.period.start) + " " +
                  domain::formatTimestamp(line.period.end) +
                  (billing.origins[i].correction ? " correction" : ""));
  }
  return out;
}

TEST(SubtractIntervalsTest, RemovesCoveredParts) {
  const auto result = subtractIntervals({iv("2026-11-10T00:00:00Z", "2026-11-20T00:00:00Z"),
                                         iv("2026-11-01T00:00:00Z", "2026-11-05T00:00:00Z")},
                                        {iv("2026-11-03T00:00:00Z", "2026-11-12T00:00:00Z"),
                                         iv("2026-11-15T00:00:00Z", "2026-11-16T00:00:00Z"),
                                         iv("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")});
  EXPECT_THAT(result, ::testing::ElementsAre(iv("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z"),
                                             iv("2026-11-12T00:00:00Z", "2026-11-15T00:00:00Z"),
                                             iv("2026-11-16T00:00:00Z", "2026-11-20T00:00:00Z")));
  EXPECT_TRUE(subtractIntervals({kNov}, {kNov}).empty());
  EXPECT_THAT(subtractIntervals({kNov}, {}), ::testing::ElementsAre(kNov));
}

TEST(FirstUncoveredStretchTest, FindsTheFirstGap) {
  const std::vector<Membership> memberships{
      membership("p", "2026-11-01T00:00:00Z", "2026-11-10T00:00:00Z"),
      membership("p", "2026-11-12T00:00:00Z"),
      membership("p", "2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z")};  // ended at its start
  EXPECT_EQ(firstUncoveredStretch(memberships, iv("2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z")),
            std::nullopt);
  EXPECT_EQ(firstUncoveredStretch(memberships, iv("2026-11-05T00:00:00Z", "2026-12-05T00:00:00Z")),
            iv("2026-11-10T00:00:00Z", "2026-11-12T00:00:00Z"));
  EXPECT_EQ(firstUncoveredStretch(memberships, iv("2026-09-30T00:00:00Z", "2026-10-02T00:00:00Z")),
            iv("2026-09-30T00:00:00Z", "2026-10-02T00:00:00Z"));
}

TEST(ComputeBillingTest, BillsThePeriodsSharesAndAddsUpWithCredits) {
  BillingInput input;
  input.period = kNov;
  input.memberships = {membership("acme/web", "2026-11-01T00:00:00Z"),
                       membership("acme/api", "2026-11-16T00:00:00Z"),
                       membership("acme/idle", "2026-11-01T00:00:00Z")};
  input.current = {
      charge("c1", "acme/web", 10000, kNov),
      charge("c2", "acme/api", 3000, kNov),  // member for the second half only
      charge("c3", "acme/web", 700, iv("2026-11-20T00:00:00Z", "2026-12-10T00:00:00Z"))};
  input.creditsAvailableMinor = 2500;
  const Billing billing = bill(input);
  EXPECT_THAT(describe(billing),
              ::testing::ElementsAre("c2 acme/api 15.00 2026-11-16T00:00:00Z 2026-12-01T00:00:00Z",
                                     "c1 acme/web 100.00 2026-11-01T00:00:00Z 2026-12-01T00:00:00Z",
                                     "c3 acme/web 3.85 2026-11-20T00:00:00Z 2026-12-01T00:00:00Z"));
  EXPECT_EQ(billing.origins[1].clientId, "client-c1");
  ASSERT_EQ(billing.draft.projectTotals.size(), 3u);
  EXPECT_EQ(billing.draft.projectTotals[1].project, "acme/idle");
  EXPECT_EQ(billing.draft.projectTotals[1].amount.minorUnits, 0);
  EXPECT_EQ(billing.draft.subtotal.minorUnits, 11885);
  EXPECT_EQ(billing.draft.creditsApplied.minorUnits, 2500);
  EXPECT_EQ(billing.draft.total.minorUnits, 9385);
  EXPECT_EQ(billing.draft.period, kNov);
}

TEST(ComputeBillingTest, BillsUnbilledEarlierSharesAsCorrections) {
  BillingInput input;
  input.period = kDec;
  input.memberships = {membership("acme/web", "2026-11-01T00:00:00Z"),
                       // left on Nov 15: its late November charge is still ours to bill
                       membership("acme/old", "2026-10-01T00:00:00Z", "2026-11-15T00:00:00Z")};
  const Charge straddling =
      charge("s", "acme/web", 3000, iv("2026-11-21T00:00:00Z", "2026-12-21T00:00:00Z"));
  const Charge late = charge("l", "acme/old", 3000, kNov);
  // `h` was billed on November's invoice except for a hole a void left: [Nov 10, Nov 20).
  const Charge holed = charge("h", "acme/web", 3000, kNov);
  input.current = {straddling};
  input.unsettled = {straddling, late, holed};
  input.billed = {{"h", iv("2026-11-01T00:00:00Z", "2026-11-10T00:00:00Z")},
                  {"h", iv("2026-11-20T00:00:00Z", "2026-12-01T00:00:00Z")}};
  const Billing billing = bill(input);
  EXPECT_THAT(describe(billing),
              ::testing::ElementsAre(
                  "l acme/old 14.00 2026-11-01T00:00:00Z 2026-11-15T00:00:00Z correction",
                  "h acme/web 10.00 2026-11-10T00:00:00Z 2026-11-20T00:00:00Z correction",
                  "s acme/web 10.00 2026-11-21T00:00:00Z 2026-12-01T00:00:00Z correction",
                  "s acme/web 20.00 2026-12-01T00:00:00Z 2026-12-21T00:00:00Z"));
  EXPECT_EQ(billing.draft.subtotal.minorUnits, 5400);
  EXPECT_EQ(billing.draft.total.minorUnits, 5400);
}

// Whatever the moves, the shares of a charge over every account and every invoice add up to the
// charge, to the cent: each (account, period) is billed in its own computation, as in the ledger.
TEST(ComputeBillingTest, SharesOfAChargeOverAccountsAndPeriodsAddUpExactly) {
  std::mt19937_64 random(20261101);
  const std::vector<Interval> periods{kNov, kDec,
                                      iv("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")};
  for (int round = 0; round < 200; ++round) {
    // The project moves between three accounts at random instants.
    std::vector<std::int64_t> cuts{periods.front().start.time_since_epoch().count(),
                                   periods.back().end.time_since_epoch().count()};
    std::uniform_int_distribution<std::int64_t> instant(cuts[0] + 1, cuts[1] - 1);
    for (int i = 0; i < 4; ++i) cuts.push_back(instant(random));
    std::sort(cuts.begin(), cuts.end());
    std::map<std::string, std::vector<Membership>> byAccount;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      Membership m;
      m.project = "p";
      m.accountId = std::string(1, static_cast<char>('a' + i % 3));
      m.effectiveFrom = Timestamp{std::chrono::seconds{cuts[i]}};
      m.effectiveTo = Timestamp{std::chrono::seconds{cuts[i + 1]}};
      byAccount[m.accountId].push_back(m);
    }
    const std::int64_t start = instant(random);
    const std::int64_t end =
        std::uniform_int_distribution<std::int64_t>(start + 1, cuts.back())(random);
    const Charge c = charge(
        "c", "p", std::uniform_int_distribution<std::int64_t>(-100000, 10000000)(random),
        Interval{Timestamp{std::chrono::seconds{start}}, Timestamp{std::chrono::seconds{end}}});
    std::int64_t sum = 0;
    for (const auto& [account, memberships] : byAccount) {
      for (const Interval& period : periods) {
        BillingInput input;
        input.period = period;
        input.memberships = memberships;
        if (!domain::intersect(c.period, period).empty()) input.current = {c};
        sum += bill(input).draft.subtotal.minorUnits;
      }
    }
    ASSERT_EQ(sum, c.amountMinor) << "round " << round;
  }
}

}  // namespace
}  // namespace billing::ledger
