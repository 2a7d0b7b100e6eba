// Invoicing periods as half-open UTC intervals [start, end). A group's invoicing period decides
// which interval one invoice covers: Monthly is a calendar month, Weekly an ISO week (Monday
// 00:00Z to the next Monday), Daily a UTC day. UTC has no DST, so a day is always 86400 s.
#pragma once

#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/time.h"

namespace billing::domain {

// The period of kind `period` that contains instant `t`.
Interval periodContaining(InvoicingPeriod period, Timestamp t);

// The period that contains `current.end`: for an aligned period, the one right after it; for a
// partial interval that ends mid-period (a group created mid-month), the rest of that period.
Interval nextPeriod(InvoicingPeriod period, const Interval& current);

// True when `interval` is exactly one whole period, as an Invoice's spec must be.
bool isPeriodAligned(InvoicingPeriod period, const Interval& interval);

// The whole periods that overlap `interval`, in order (not clipped to it); empty for an empty
// interval.
std::vector<Interval> periodsOverlapping(InvoicingPeriod period, const Interval& interval);

}  // namespace billing::domain
