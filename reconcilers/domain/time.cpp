#include "reconcilers/domain/time.h"

#include <algorithm>
#include <cstdint>

namespace billing::domain {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `width` decimal digits at `pos`, advancing it; nullopt on anything else.
std::optional<int> readDigits(std::string_view text, std::size_t& pos, std::size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[pos + i];
    if (!isDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

bool expect(std::string_view text, std::size_t& pos, char wanted) {
  if (pos >= text.size() || text[pos] != wanted) return false;
  ++pos;
  return true;
}

// RFC 3339 section 5.6 allows "T" and "Z" in lower case too.
bool expectEither(std::string_view text, std::size_t& pos, char upper, char lower) {
  if (pos >= text.size() || (text[pos] != upper && text[pos] != lower)) return false;
  ++pos;
  return true;
}

void appendPadded(std::string& out, std::int64_t value, int width) {
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  char digits[24];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int i = count; i < width; ++i) out.push_back('0');
  while (count > 0) out.push_back(digits[--count]);
}

}  // namespace

std::optional<Timestamp> parseTimestamp(std::string_view text) {
  std::size_t pos = 0;
  const auto year = readDigits(text, pos, 4);
  if (!year || !expect(text, pos, '-')) return std::nullopt;
  const auto month = readDigits(text, pos, 2);
  if (!month || !expect(text, pos, '-')) return std::nullopt;
  const auto day = readDigits(text, pos, 2);
  if (!day || !expectEither(text, pos, 'T', 't')) return std::nullopt;
  const auto hour = readDigits(text, pos, 2);
  if (!hour || !expect(text, pos, ':')) return std::nullopt;
  const auto minute = readDigits(text, pos, 2);
  if (!minute || !expect(text, pos, ':')) return std::nullopt;
  const auto second = readDigits(text, pos, 2);
  if (!second) return std::nullopt;

  // Fractional seconds: at least one digit, truncated (the domain has second precision).
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t first = pos;
    while (pos < text.size() && isDigit(text[pos])) ++pos;
    if (pos == first) return std::nullopt;
  }

  seconds offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const bool negative = text[pos] == '-';
    ++pos;
    const auto offsetHours = readDigits(text, pos, 2);
    if (!offsetHours || !expect(text, pos, ':')) return std::nullopt;
    const auto offsetMinutes = readDigits(text, pos, 2);
    if (!offsetMinutes || *offsetHours > 23 || *offsetMinutes > 59) return std::nullopt;
    offset = hours{*offsetHours} + minutes{*offsetMinutes};
    if (negative) offset = -offset;
  } else {
    return std::nullopt;  // RFC 3339 requires a zone
  }
  if (pos != text.size()) return std::nullopt;

  // Leap seconds (":60") cannot be represented by sys_seconds and are rejected.
  if (*hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{*year},
                                         std::chrono::month{static_cast<unsigned>(*month)},
                                         std::chrono::day{static_cast<unsigned>(*day)}};
  if (!date.ok()) return std::nullopt;

  const Timestamp local =
      std::chrono::sys_days{date} + hours{*hour} + minutes{*minute} + seconds{*second};
  // "+01:00" means local time is one hour ahead of UTC, so UTC = local - offset.
  return local - offset;
}

std::string formatTimestamp(Timestamp t) {
  const auto day = std::chrono::floor<days>(t);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss<seconds> time{t - day};
  std::string out;
  out.reserve(20);
  appendPadded(out, static_cast<int>(date.year()), 4);
  out.push_back('-');
  appendPadded(out, static_cast<unsigned>(date.month()), 2);
  out.push_back('-');
  appendPadded(out, static_cast<unsigned>(date.day()), 2);
  out.push_back('T');
  appendPadded(out, time.hours().count(), 2);
  out.push_back(':');
  appendPadded(out, time.minutes().count(), 2);
  out.push_back(':');
  appendPadded(out, time.seconds().count(), 2);
  out.push_back('Z');
  return out;
}

Interval intersect(const Interval& a, const Interval& b) {
  const Timestamp start = std::max(a.start, b.start);
  const Timestamp end = std::min(a.end, b.end);
  if (end <= start) return Interval{start, start};
  return Interval{start, end};
}

}  // namespace billing::domain
