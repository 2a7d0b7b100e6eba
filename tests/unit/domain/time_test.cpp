#include "reconcilers/domain/time.h"

#include <gtest/gtest.h>

#include <chrono>

namespace billing::domain {
namespace {

using namespace std::chrono;

Timestamp at(year_month_day date, int h = 0, int m = 0, int s = 0) {
  return sys_days{date} + hours{h} + minutes{m} + seconds{s};
}

TEST(TimeParse, AcceptsUtcWithZ) {
  EXPECT_EQ(parseTimestamp("2026-11-01T00:00:00Z"), at(2026y / November / 1));
  EXPECT_EQ(parseTimestamp("2026-11-27T13:45:09Z"), at(2026y / November / 27, 13, 45, 9));
}

TEST(TimeParse, AppliesPositiveAndNegativeOffsets) {
  EXPECT_EQ(parseTimestamp("2026-11-01T01:00:00+01:00"), at(2026y / November / 1));
  EXPECT_EQ(parseTimestamp("2026-10-31T18:30:00-05:30"), at(2026y / November / 1));
  EXPECT_EQ(parseTimestamp("2026-11-01T00:00:00+00:00"), at(2026y / November / 1));
  EXPECT_EQ(parseTimestamp("2026-11-01T00:00:00-00:00"), at(2026y / November / 1));
}

TEST(TimeParse, OffsetCanMoveTheInstantIntoThePreviousYear) {
  EXPECT_EQ(parseTimestamp("2027-01-01T00:30:00+01:00"), at(2026y / December / 31, 23, 30));
  EXPECT_EQ(parseTimestamp("2026-12-31T23:30:00-01:00"), at(2027y / January / 1, 0, 30));
}

TEST(TimeParse, TruncatesFractionalSeconds) {
  EXPECT_EQ(parseTimestamp("2026-11-01T00:00:00.999999999Z"), at(2026y / November / 1));
  EXPECT_EQ(parseTimestamp("2026-11-01T00:00:07.5+00:00"), at(2026y / November / 1, 0, 0, 7));
}

TEST(TimeParse, AcceptsLowerCaseSeparatorAndZoneAsRfc3339Allows) {
  EXPECT_EQ(parseTimestamp("2026-11-01t00:00:00z"), at(2026y / November / 1));
}

TEST(TimeParse, LeapDaysFollowTheGregorianRules) {
  EXPECT_EQ(parseTimestamp("2024-02-29T00:00:00Z"), at(2024y / February / 29));
  EXPECT_EQ(parseTimestamp("2000-02-29T00:00:00Z"), at(2000y / February / 29));
  EXPECT_EQ(parseTimestamp("2026-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parseTimestamp("2100-02-29T00:00:00Z"), std::nullopt);
}

TEST(TimeParse, RejectsImpossibleDatesAndTimes) {
  for (const char* text : {"2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
                           "2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-01T24:00:00Z",
                           "2026-11-01T23:60:00Z", "2026-12-31T23:59:60Z"}) {
    EXPECT_EQ(parseTimestamp(text), std::nullopt) << text;
  }
}

TEST(TimeParse, RejectsMissingZoneAndMalformedText) {
  for (const char* text : {
           "", "2026-11-01",
           "2026-11-01T00:00:00",        // no zone
           "2026-11-01 00:00:00Z",       // space separator
           "2026-11-01T00:00Z",          // no seconds
           "2026-1-01T00:00:00Z",        // one-digit month
           "26-11-01T00:00:00Z",         // two-digit year
           "2026-11-01T00:00:00.Z",      // fraction without digits
           "2026-11-01T00:00:00Zjunk",   // trailing junk
           " 2026-11-01T00:00:00Z",      // leading space
           "2026-11-01T00:00:00+0100",   // offset without colon
           "2026-11-01T00:00:00+01",     // offset without minutes
           "2026-11-01T00:00:00+24:00",  // offset hour out of range
           "2026-11-01T00:00:00+01:60",  // offset minute out of range
           "2026-11-01T00:00:00UTC",     // zone name
           "2026/11/01T00:00:00Z",       // wrong date separator
           "2026-11-01T00:00:00Z\n",     // trailing newline
       }) {
    EXPECT_EQ(parseTimestamp(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(TimeFormat, WritesKubernetesStyleUtc) {
  EXPECT_EQ(formatTimestamp(at(2026y / November / 1)), "2026-11-01T00:00:00Z");
  EXPECT_EQ(formatTimestamp(at(2026y / March / 7, 5, 6, 7)), "2026-03-07T05:06:07Z");
  EXPECT_EQ(formatTimestamp(Timestamp{}), "1970-01-01T00:00:00Z");
}

TEST(TimeFormat, HandlesInstantsBeforeTheEpochAndSmallYears) {
  EXPECT_EQ(formatTimestamp(Timestamp{seconds{-1}}), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatTimestamp(at(year{99} / January / 2)), "0099-01-02T00:00:00Z");
}

TEST(TimeFormat, RoundTripsThroughParse) {
  for (const char* text : {"2026-11-01T00:00:00Z", "2024-02-29T23:59:59Z", "1999-12-31T12:00:01Z",
                           "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    auto parsed = parseTimestamp(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(formatTimestamp(*parsed), text);
  }
}

TEST(TimeIntersect, OverlappingIntervalsGiveTheOverlap) {
  const Interval a{at(2026y / November / 1), at(2026y / November / 20)};
  const Interval b{at(2026y / November / 10), at(2026y / December / 1)};
  const Interval expected{at(2026y / November / 10), at(2026y / November / 20)};
  EXPECT_EQ(intersect(a, b), expected);
  EXPECT_EQ(intersect(b, a), expected);
}

TEST(TimeIntersect, ContainedIntervalIsItself) {
  const Interval outer{at(2026y / November / 1), at(2026y / December / 1)};
  const Interval inner{at(2026y / November / 5, 6), at(2026y / November / 7)};
  EXPECT_EQ(intersect(outer, inner), inner);
}

TEST(TimeIntersect, DisjointOrTouchingIntervalsGiveAnEmptyInterval) {
  const Interval november{at(2026y / November / 1), at(2026y / December / 1)};
  const Interval december{at(2026y / December / 1), at(2027y / January / 1)};
  const Interval later{at(2027y / March / 1), at(2027y / April / 1)};
  const Interval touching = intersect(november, december);
  EXPECT_TRUE(touching.empty());
  EXPECT_EQ(touching.start, touching.end);
  EXPECT_EQ(touching.length(), seconds{0});
  const Interval apart = intersect(november, later);
  EXPECT_TRUE(apart.empty());
  EXPECT_EQ(apart.start, apart.end);
}

}  // namespace
}  // namespace billing::domain
