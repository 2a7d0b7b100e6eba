#include "reconcilers/domain/period.h"

#include <gtest/gtest.h>

#include <chrono>

namespace billing::domain {
namespace {

using namespace std::chrono;

Timestamp at(year_month_day date, int h = 0, int m = 0, int s = 0) {
  return sys_days{date} + hours{h} + minutes{m} + seconds{s};
}

Interval range(year_month_day from, year_month_day to) { return Interval{at(from), at(to)}; }

TEST(PeriodMonthly, IsTheCalendarMonth) {
  const Interval november = range(2026y / November / 1, 2026y / December / 1);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Monthly, at(2026y / November / 15, 12)), november);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Monthly, at(2026y / November / 1)), november);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Monthly, at(2026y / November / 30, 23, 59, 59)),
            november);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Monthly, at(2026y / December / 1)),
            range(2026y / December / 1, 2027y / January / 1));
}

TEST(PeriodMonthly, FebruaryFollowsTheLeapYearRules) {
  const auto february = [](year y) {
    return periodContaining(InvoicingPeriod::Monthly, at(y / February / 10)).length();
  };
  EXPECT_EQ(february(2024y), hours{24 * 29});
  EXPECT_EQ(february(2026y), hours{24 * 28});
  EXPECT_EQ(february(2000y), hours{24 * 29});
  EXPECT_EQ(february(2100y), hours{24 * 28});
}

TEST(PeriodMonthly, DecemberEndsAtNewYear) {
  EXPECT_EQ(periodContaining(InvoicingPeriod::Monthly, at(2026y / December / 31, 23, 59, 59)),
            range(2026y / December / 1, 2027y / January / 1));
}

TEST(PeriodMonthly, ConsecutiveMonthsTileFourCenturiesWithoutGaps) {
  Interval month = periodContaining(InvoicingPeriod::Monthly, at(2000y / January / 1));
  for (int i = 0; i < 12 * 400; ++i) {
    const year_month_day first{floor<std::chrono::days>(month.start)};
    ASSERT_EQ(first.day(), day{1});
    const auto expectedDays = (first.year() / first.month() / last).day();
    ASSERT_EQ(month.length(), hours{24} * static_cast<unsigned>(expectedDays));
    ASSERT_TRUE(isPeriodAligned(InvoicingPeriod::Monthly, month));
    const Interval next = nextPeriod(InvoicingPeriod::Monthly, month);
    ASSERT_EQ(next.start, month.end);
    month = next;
  }
  EXPECT_EQ(month.start, at(2400y / January / 1));
}

TEST(PeriodWeekly, IsTheIsoWeekStartingMonday) {
  // 2026-11-27 is a Friday.
  const Interval week = range(2026y / November / 23, 2026y / November / 30);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Weekly, at(2026y / November / 27, 15)), week);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Weekly, at(2026y / November / 23)), week);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Weekly, at(2026y / November / 29, 23, 59, 59)), week);
  EXPECT_EQ(weekday{floor<std::chrono::days>(week.start)}, Monday);
}

TEST(PeriodWeekly, WeeksCrossYearBoundaries) {
  // 2026-12-31 is a Thursday; its ISO week runs Monday 2026-12-28 to Monday 2027-01-04.
  const Interval week = range(2026y / December / 28, 2027y / January / 4);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Weekly, at(2026y / December / 31)), week);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Weekly, at(2027y / January / 3, 23)), week);
  EXPECT_EQ(periodContaining(InvoicingPeriod::Weekly, at(2021y / January / 1)),
            range(2020y / December / 28, 2021y / January / 4));
}

TEST(PeriodWeekly, WorksBeforeTheEpoch) {
  // 1970-01-01 was a Thursday, so negative day counts must round down, not towards zero.
  EXPECT_EQ(periodContaining(InvoicingPeriod::Weekly, at(1969y / December / 31, 12)),
            range(1969y / December / 29, 1970y / January / 5));
}

TEST(PeriodDaily, IsTheUtcDay) {
  EXPECT_EQ(periodContaining(InvoicingPeriod::Daily, at(2026y / November / 27, 13, 5)),
            range(2026y / November / 27, 2026y / November / 28));
  EXPECT_EQ(periodContaining(InvoicingPeriod::Daily, at(2024y / February / 29, 23, 59, 59)),
            range(2024y / February / 29, 2024y / March / 1));
  EXPECT_EQ(periodContaining(InvoicingPeriod::Daily, Timestamp{seconds{-1}}),
            range(1969y / December / 31, 1970y / January / 1));
}

TEST(PeriodDaily, EveryDayIs86400SecondsInUtc) {
  // The days on which Europe and the US change their clocks are ordinary days in UTC.
  for (year_month_day date :
       {2026y / March / 8, 2026y / March / 29, 2026y / October / 25, 2026y / November / 1}) {
    EXPECT_EQ(periodContaining(InvoicingPeriod::Daily, at(date, 2, 30)).length(), seconds{86400});
  }
}

TEST(PeriodNext, FollowsTheCurrentPeriod) {
  EXPECT_EQ(nextPeriod(InvoicingPeriod::Monthly, range(2026y / December / 1, 2027y / January / 1)),
            range(2027y / January / 1, 2027y / February / 1));
  EXPECT_EQ(nextPeriod(InvoicingPeriod::Monthly, range(2027y / January / 1, 2027y / February / 1)),
            range(2027y / February / 1, 2027y / March / 1));
  EXPECT_EQ(nextPeriod(InvoicingPeriod::Weekly, range(2026y / December / 28, 2027y / January / 4)),
            range(2027y / January / 4, 2027y / January / 11));
  EXPECT_EQ(nextPeriod(InvoicingPeriod::Daily, range(2024y / February / 28, 2024y / February / 29)),
            range(2024y / February / 29, 2024y / March / 1));
}

TEST(PeriodNext, AfterAPartialFirstPeriodComesTheNextWholeOne) {
  const Interval firstPartial{at(2026y / November / 15, 10), at(2026y / December / 1)};
  EXPECT_EQ(nextPeriod(InvoicingPeriod::Monthly, firstPartial),
            range(2026y / December / 1, 2027y / January / 1));
}

TEST(PeriodNext, AfterAnIntervalEndingMidPeriodComesTheRestOfThatPeriod) {
  EXPECT_EQ(
      nextPeriod(InvoicingPeriod::Monthly, range(2026y / November / 1, 2026y / November / 15)),
      range(2026y / November / 1, 2026y / December / 1));
}

TEST(PeriodAligned, AcceptsExactlyOnePeriod) {
  EXPECT_TRUE(
      isPeriodAligned(InvoicingPeriod::Monthly, range(2026y / November / 1, 2026y / December / 1)));
  EXPECT_TRUE(
      isPeriodAligned(InvoicingPeriod::Monthly, range(2024y / February / 1, 2024y / March / 1)));
  EXPECT_TRUE(
      isPeriodAligned(InvoicingPeriod::Weekly, range(2026y / December / 28, 2027y / January / 4)));
  EXPECT_TRUE(
      isPeriodAligned(InvoicingPeriod::Daily, range(2026y / November / 27, 2026y / November / 28)));
}

TEST(PeriodAligned, RejectsPartialShiftedLongerAndEmptyIntervals) {
  const auto monthly = [](Interval i) { return isPeriodAligned(InvoicingPeriod::Monthly, i); };
  EXPECT_FALSE(monthly(range(2026y / November / 1, 2026y / November / 30)));
  EXPECT_FALSE(monthly(range(2026y / November / 2, 2026y / December / 2)));
  EXPECT_FALSE(monthly(range(2026y / November / 1, 2027y / January / 1)));
  EXPECT_FALSE(monthly(Interval{at(2026y / November / 1), at(2026y / November / 1)}));
  EXPECT_FALSE(monthly(Interval{at(2026y / November / 1, 0, 0, 1), at(2026y / December / 1)}));
  // A Sunday-to-Sunday week is seven days but not an ISO week.
  EXPECT_FALSE(isPeriodAligned(InvoicingPeriod::Weekly,
                               range(2026y / November / 22, 2026y / November / 29)));
  EXPECT_FALSE(isPeriodAligned(InvoicingPeriod::Daily, Interval{at(2026y / November / 27, 1),
                                                                at(2026y / November / 28, 1)}));
}

TEST(PeriodOverlapping, ListsTheWholePeriodsAnIntervalTouches) {
  const auto periods = periodsOverlapping(
      InvoicingPeriod::Monthly, Interval{at(2026y / November / 15, 8), at(2027y / January / 10)});
  ASSERT_EQ(periods.size(), 3u);
  EXPECT_EQ(periods[0], range(2026y / November / 1, 2026y / December / 1));
  EXPECT_EQ(periods[1], range(2026y / December / 1, 2027y / January / 1));
  EXPECT_EQ(periods[2], range(2027y / January / 1, 2027y / February / 1));
}

TEST(PeriodOverlapping, EndIsExclusive) {
  const auto periods = periodsOverlapping(InvoicingPeriod::Monthly,
                                          range(2026y / November / 1, 2026y / December / 1));
  ASSERT_EQ(periods.size(), 1u);
  EXPECT_EQ(periods[0], range(2026y / November / 1, 2026y / December / 1));
  const auto oneSecondMore =
      periodsOverlapping(InvoicingPeriod::Monthly,
                         Interval{at(2026y / November / 1), at(2026y / December / 1, 0, 0, 1)});
  EXPECT_EQ(oneSecondMore.size(), 2u);
}

TEST(PeriodOverlapping, EmptyIntervalOverlapsNothing) {
  const Timestamp t = at(2026y / November / 15);
  EXPECT_TRUE(periodsOverlapping(InvoicingPeriod::Daily, Interval{t, t}).empty());
  EXPECT_TRUE(periodsOverlapping(InvoicingPeriod::Daily, Interval{t, t - hours{1}}).empty());
}

TEST(PeriodOverlapping, WeeksAndDaysAcrossNewYear) {
  const Interval holidays{at(2026y / December / 30, 18), at(2027y / January / 2, 6)};
  const auto weeks = periodsOverlapping(InvoicingPeriod::Weekly, holidays);
  ASSERT_EQ(weeks.size(), 1u);
  EXPECT_EQ(weeks[0], range(2026y / December / 28, 2027y / January / 4));
  const auto daily = periodsOverlapping(InvoicingPeriod::Daily, holidays);
  ASSERT_EQ(daily.size(), 4u);
  EXPECT_EQ(daily.front(), range(2026y / December / 30, 2026y / December / 31));
  EXPECT_EQ(daily.back(), range(2027y / January / 2, 2027y / January / 3));
}

}  // namespace
}  // namespace billing::domain
