// Period close decisions: due periods, Invoice names, the final partial period, request checks,
// duplicates and retention.
#include "reconcilers/domain/invoicing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

namespace billing::domain {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Timestamp at(const char* text) { return *parseTimestamp(text); }
Interval between(const char* start, const char* end) { return {at(start), at(end)}; }

bool isDnsSubdomain(const std::string& name) {
  static const std::regex pattern(
      R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
  return name.size() <= 253 && std::regex_match(name, pattern);
}

TEST(InvoiceResourceNameTest, GroupAndUtcDateOfThePeriodStart) {
  EXPECT_EQ(invoiceResourceName("acme-main", at("2026-03-01T00:00:00Z")), "acme-main-2026-03-01");
  EXPECT_EQ(invoiceResourceName("a.b", at("2026-12-31T00:00:00Z")), "a.b-2026-12-31");
}

TEST(InvoiceResourceNameTest, LongNamesAreCutHashedAndStayValid) {
  const std::string longName(253, 'g');
  const std::string name = invoiceResourceName(longName, at("2026-03-01T00:00:00Z"));
  EXPECT_EQ(name.size(), 253u);
  EXPECT_TRUE(isDnsSubdomain(name)) << name;
  EXPECT_TRUE(name.ends_with("-2026-03-01"));
  // Two long names that share the kept prefix still get different Invoice names.
  std::string other = longName;
  other.back() = 'h';
  EXPECT_NE(invoiceResourceName(other, at("2026-03-01T00:00:00Z")), name);
  // A cut that lands after a dot or dash must not leave an empty DNS label.
  std::string dotted(240, 'a');
  dotted[232] = '.';
  dotted += std::string(13, 'b');
  const std::string cut = invoiceResourceName(dotted, at("2026-03-01T00:00:00Z"));
  EXPECT_TRUE(isDnsSubdomain(cut)) << cut;
  // Deterministic: the same input gives the same name.
  EXPECT_EQ(invoiceResourceName(longName, at("2026-03-01T00:00:00Z")), name);
}

TEST(DuePeriodsTest, ClosesEndedPeriodsAfterTheGraceNeverTheRunningOne) {
  DuePeriodsInput input;
  input.kind = InvoicingPeriod::Daily;
  input.firstBillable = at("2026-03-01T10:00:00Z");
  input.now = at("2026-03-04T00:30:00Z");
  input.grace = 1h;
  // 03-01 and 03-02 ended more than an hour ago; 03-03 ended 30 minutes ago; 03-04 is running.
  EXPECT_THAT(duePeriods(input),
              ElementsAre(between("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"),
                          between("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z")));
  input.now = at("2026-03-04T01:00:00Z");
  EXPECT_EQ(duePeriods(input).size(), 3u);
  input.grace = 0s;
  input.now = at("2026-03-01T23:59:59Z");
  EXPECT_THAT(duePeriods(input), IsEmpty());
}

TEST(DuePeriodsTest, StartsAfterTheLastClosedPeriodAndStopsAtTheLimit) {
  DuePeriodsInput input;
  input.kind = InvoicingPeriod::Monthly;
  input.firstBillable = at("2025-11-15T00:00:00Z");
  input.closedUpTo = at("2026-01-01T00:00:00Z");
  input.now = at("2026-04-10T00:00:00Z");
  EXPECT_THAT(duePeriods(input),
              ElementsAre(between("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
                          between("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
                          between("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")));
  input.limit = 1;
  EXPECT_EQ(duePeriods(input).size(), 1u);
  // A closedUpTo before the first membership does not reach back before it.
  input.limit = 64;
  input.closedUpTo = at("2025-01-01T00:00:00Z");
  EXPECT_EQ(duePeriods(input).front(), between("2025-11-01T00:00:00Z", "2025-12-01T00:00:00Z"));
}

TEST(DuePeriodsTest, WeeklyPeriodsAreIsoWeeks) {
  DuePeriodsInput input;
  input.kind = InvoicingPeriod::Weekly;
  input.firstBillable = at("2026-03-04T12:00:00Z");  // a Wednesday
  input.now = at("2026-03-16T00:00:00Z");            // a Monday
  EXPECT_THAT(duePeriods(input),
              ElementsAre(between("2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z"),
                          between("2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z")));
}

TEST(NextCloseTimeTest, IsTheNextPeriodEndPlusGrace) {
  EXPECT_EQ(nextCloseTime(InvoicingPeriod::Daily, at("2026-03-04T00:30:00Z"), 1h),
            at("2026-03-04T01:00:00Z"));
  EXPECT_EQ(nextCloseTime(InvoicingPeriod::Daily, at("2026-03-04T01:00:00Z"), 1h),
            at("2026-03-05T01:00:00Z"));
  EXPECT_EQ(nextCloseTime(InvoicingPeriod::Monthly, at("2026-03-04T00:00:00Z"), 0s),
            at("2026-04-01T00:00:00Z"));
}

TEST(FinalPartialPeriodTest, FromThePeriodStartToTheClose) {
  EXPECT_EQ(finalPartialPeriod(InvoicingPeriod::Monthly, at("2026-03-10T08:00:00Z")),
            between("2026-03-01T00:00:00Z", "2026-03-10T08:00:00Z"));
  EXPECT_EQ(finalPartialPeriod(InvoicingPeriod::Monthly, at("2026-03-01T00:00:00Z")), std::nullopt);
}

TEST(CheckInvoiceRequestTest, MisalignedAndNotEndedPeriodsAreRefusedWithReasons) {
  const Timestamp now = at("2026-03-10T12:00:00Z");
  const Interval day = between("2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z");
  EXPECT_EQ(checkInvoiceRequest(InvoicingPeriod::Daily, day, true, std::nullopt, now),
            std::nullopt);
  // An estimate of the running period is fine; its early close is not.
  const Interval today = between("2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z");
  EXPECT_EQ(checkInvoiceRequest(InvoicingPeriod::Daily, today, false, std::nullopt, now),
            std::nullopt);
  auto notEnded = checkInvoiceRequest(InvoicingPeriod::Daily, today, true, std::nullopt, now);
  ASSERT_TRUE(notEnded);
  EXPECT_EQ(notEnded->reason, "PeriodNotEnded");
  EXPECT_THAT(notEnded->message, ::testing::HasSubstr("2026-03-11T00:00:00Z"));

  auto misaligned = checkInvoiceRequest(InvoicingPeriod::Monthly,
                                        between("2026-02-15T00:00:00Z", "2026-03-15T00:00:00Z"),
                                        false, std::nullopt, now);
  ASSERT_TRUE(misaligned);
  EXPECT_EQ(misaligned->reason, "PeriodMisaligned");
  EXPECT_THAT(misaligned->message,
              ::testing::HasSubstr("[2026-02-01T00:00:00Z, 2026-03-01T00:00:00Z)"));

  // A deleted group's recorded final partial period is accepted; any other cut is not.
  const Interval partial = between("2026-03-01T00:00:00Z", "2026-03-05T10:00:00Z");
  EXPECT_EQ(checkInvoiceRequest(InvoicingPeriod::Monthly, partial, true, partial, now),
            std::nullopt);
  EXPECT_TRUE(checkInvoiceRequest(InvoicingPeriod::Monthly, partial, true, std::nullopt, now));
  auto otherCut = checkInvoiceRequest(InvoicingPeriod::Monthly,
                                      between("2026-03-01T00:00:00Z", "2026-03-05T09:59:59Z"), true,
                                      partial, now);
  ASSERT_TRUE(otherCut);
  EXPECT_EQ(otherCut->reason, "PeriodMisaligned");
}

BillingGroup deletingGroup(const char* deletedAt, std::optional<Interval> currentPeriod) {
  BillingGroup group;
  group.spec.invoicing.period = InvoicingPeriod::Monthly;
  if (deletedAt != nullptr) group.metadata.deletionTimestamp = at(deletedAt);
  if (currentPeriod) {
    group.status.currentPeriod = CurrentPeriod{currentPeriod->start, currentPeriod->end, "1.00"};
  }
  return group;
}

TEST(RecordedFinalPeriodTest, OnlyAPartialPeriodRecordedWhileDeletingCounts) {
  const Interval partial = between("2026-03-01T00:00:00Z", "2026-03-05T10:00:00Z");
  EXPECT_EQ(recordedFinalPeriod(deletingGroup("2026-03-05T09:00:00Z", partial)), partial);
  // The close may be the deletion itself.
  EXPECT_EQ(recordedFinalPeriod(deletingGroup("2026-03-05T10:00:00Z", partial)), partial);

  EXPECT_EQ(recordedFinalPeriod(deletingGroup(nullptr, partial)), std::nullopt) << "not deleting";
  EXPECT_EQ(recordedFinalPeriod(deletingGroup("2026-03-05T09:00:00Z", std::nullopt)), std::nullopt);
  EXPECT_EQ(recordedFinalPeriod(deletingGroup(
                "2026-03-05T09:00:00Z", between("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))),
            std::nullopt)
      << "the whole running period is not a final partial one";
  EXPECT_EQ(recordedFinalPeriod(deletingGroup(
                "2026-03-05T09:00:00Z", between("2026-03-02T00:00:00Z", "2026-03-05T10:00:00Z"))),
            std::nullopt)
      << "does not start at a period start";
  EXPECT_EQ(recordedFinalPeriod(deletingGroup(
                "2026-03-05T09:00:00Z", between("2026-03-01T00:00:00Z", "2026-04-02T00:00:00Z"))),
            std::nullopt)
      << "runs past the period";
  EXPECT_EQ(recordedFinalPeriod(deletingGroup("2026-03-06T00:00:00Z", partial)), std::nullopt)
      << "a close before the deletion";
  BillingGroup open = deletingGroup("2026-03-05T09:00:00Z", partial);
  open.status.currentPeriod->end.reset();
  EXPECT_EQ(recordedFinalPeriod(open), std::nullopt);
}

EarlierDraft draft(std::string id, const char* start, const char* end, bool billsNothing) {
  return EarlierDraft{std::move(id), between(start, end), billsNothing};
}

TEST(SettleEarlierDraftsTest, EmptyEstimatesBeforeTheFirstMemberAreVoidedOthersFinalizedInOrder) {
  // The group's first member joined on 2026-11-27; it is closing from November on.
  const Timestamp firstBillable = at("2026-11-27T07:00:00Z");
  const Timestamp issuingFrom = at("2026-11-01T00:00:00Z");
  const std::vector<EarlierDraft> drafts = {
      draft("inv-oct", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", true),
      draft("inv-aug", "2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z", false),
      draft("inv-sep", "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", true),
      // The running period's estimate is not an earlier draft.
      draft("inv-nov", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", true),
  };
  EXPECT_THAT(settleEarlierDrafts(InvoicingPeriod::Monthly, firstBillable, issuingFrom, drafts),
              ElementsAre(DraftStep{"inv-aug", DraftSettlement::Finalize},
                          DraftStep{"inv-sep", DraftSettlement::Void},
                          DraftStep{"inv-oct", DraftSettlement::Void}))
      << "a draft with usage is never voided: its usage must be invoiced";
  EXPECT_THAT(settleEarlierDrafts(InvoicingPeriod::Monthly, firstBillable, issuingFrom, {}),
              IsEmpty());
}

TEST(SettleEarlierDraftsTest, EmptyDraftsOfBillablePeriodsAreFinalizedLikeAnyClosedPeriod) {
  // Members since September: an empty September is still a period of the group, invoiced (a
  // zero invoice) like the period close does, so the numbering follows every billed period.
  const Timestamp firstBillable = at("2026-09-10T00:00:00Z");
  EXPECT_THAT(
      settleEarlierDrafts(InvoicingPeriod::Monthly, firstBillable, at("2026-11-01T00:00:00Z"),
                          {draft("inv-oct", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", true),
                           draft("inv-sep", "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", true),
                           draft("inv-aug", "2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z", true)}),
      ElementsAre(DraftStep{"inv-aug", DraftSettlement::Void},
                  DraftStep{"inv-sep", DraftSettlement::Finalize},
                  DraftStep{"inv-oct", DraftSettlement::Finalize}));
}

Invoice invoiceNamed(std::string name, const char* created, const char* start,
                     std::optional<InvoiceState> state) {
  Invoice invoice;
  invoice.metadata.name = std::move(name);
  if (created != nullptr) invoice.metadata.creationTimestamp = at(created);
  if (start != nullptr) invoice.spec.periodStart = at(start);
  invoice.status.state = state;
  return invoice;
}

TEST(CanonicalInvoiceTest, TheOldestThenTheFirstByNameStands) {
  const Invoice a = invoiceNamed("b-user", "2026-03-01T10:00:00Z", nullptr, std::nullopt);
  const Invoice b = invoiceNamed("a-user", "2026-03-01T10:00:05Z", nullptr, std::nullopt);
  const Invoice c = invoiceNamed("a-same-second", "2026-03-01T10:00:00Z", nullptr, std::nullopt);
  EXPECT_EQ(canonicalInvoice({&a, &b}), &a);
  EXPECT_EQ(canonicalInvoice({&b, &a, &c}), &c);
  EXPECT_EQ(canonicalInvoice({}), nullptr);
}

TEST(InvoicesToPruneTest, KeepsTheNewestAndNeverADraft) {
  std::vector<Invoice> invoices = {
      invoiceNamed("g-01", nullptr, "2026-01-01T00:00:00Z", InvoiceState::Paid),
      invoiceNamed("g-04", nullptr, "2026-04-01T00:00:00Z", InvoiceState::Finalized),
      invoiceNamed("g-02", nullptr, "2026-02-01T00:00:00Z", InvoiceState::Draft),
      invoiceNamed("g-03", nullptr, "2026-03-01T00:00:00Z", InvoiceState::Void),
      invoiceNamed("g-00", nullptr, "2025-12-01T00:00:00Z", std::nullopt),
      invoiceNamed("g-05", nullptr, "2026-05-01T00:00:00Z", InvoiceState::Finalized),
  };
  EXPECT_THAT(invoicesToPrune(invoices, 2), ElementsAre("g-01", "g-03"));
  EXPECT_THAT(invoicesToPrune(invoices, 12), IsEmpty());
  EXPECT_THAT(invoicesToPrune(invoices, 1), ElementsAre("g-01", "g-03", "g-04"));
}

}  // namespace
}  // namespace billing::domain
