#include "reconcilers/domain/period.h"

#include <cassert>
#include <chrono>

namespace billing::domain {

Interval periodContaining(InvoicingPeriod period, Timestamp t) {
  using namespace std::chrono;
  const sys_days day = floor<days>(t);
  switch (period) {
    case InvoicingPeriod::Monthly: {
      const year_month_day date{day};
      const year_month month = date.year() / date.month();
      const year_month next = month + months{1};
      return Interval{sys_days{month / 1}, sys_days{next / 1}};
    }
    case InvoicingPeriod::Weekly: {
      // weekday difference is always in [0, 6] days, so this is the Monday on or before `day`.
      const sys_days monday = day - (weekday{day} - Monday);
      return Interval{monday, monday + days{7}};
    }
    case InvoicingPeriod::Daily:
      return Interval{day, day + days{1}};
  }
  assert(false && "unknown InvoicingPeriod");
  return Interval{day, day + days{1}};
}

Interval nextPeriod(InvoicingPeriod period, const Interval& current) {
  return periodContaining(period, current.end);
}

bool isPeriodAligned(InvoicingPeriod period, const Interval& interval) {
  return periodContaining(period, interval.start) == interval;
}

std::vector<Interval> periodsOverlapping(InvoicingPeriod period, const Interval& interval) {
  std::vector<Interval> out;
  if (interval.empty()) return out;
  for (Interval p = periodContaining(period, interval.start); p.start < interval.end;
       p = periodContaining(period, p.end)) {
    out.push_back(p);
  }
  return out;
}

}  // namespace billing::domain
