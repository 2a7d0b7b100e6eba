// How the ledger bills one account for one period, as pure functions over records. The money
// maths is the domain core's (reconcilers/domain/invoice_math.h): computeInvoice splits each
// charge by membership with shareOf's cumulative rounding, so the shares of a charge add up to
// the charge exactly, however many accounts and invoices it is spread over. This file decides
// only WHICH shares an invoice carries:
//
//  - current lines: every share of a charge that falls in the invoice period while the project
//    was a member of the account;
//  - corrections: every share that falls BEFORE the period, while the project was a member, and
//    is not yet on a finalized invoice of the account (a charge that arrived after its period
//    was invoiced, or one released by voiding an invoice). Nothing is lost, nothing is billed
//    twice.
//
// The service guarantees the precondition that makes current lines unbilled: invoices of an
// account are finalized in period order, and memberships never shrink into invoiced time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/error.h"
#include "ledger/records.h"
#include "reconcilers/domain/invoice_math.h"

namespace billing::ledger {

struct BillingInput {
  domain::Currency currency;
  Interval period;
  std::vector<Membership> memberships;  // every membership of the account (any project, any time)
  std::vector<Charge> current;          // charges overlapping the period
  std::vector<Charge> unsettled;        // unsettled charges starting before period.start
  std::vector<BilledShare> billed;      // shares of `unsettled` already billed to the account
  std::int64_t creditsAvailableMinor = 0;
};

// Where a line of the draft comes from.
struct LineOrigin {
  std::string clientId;
  bool correction = false;
};

struct Billing {
  domain::InvoiceDraft draft;       // period, lines, project totals, subtotal, credits, total
  std::vector<LineOrigin> origins;  // parallel to draft.lines
};

Result<Billing> computeBilling(const BillingInput& input);

// The first stretch of `period` that no (non-empty) membership covers, if any: a charge may only
// be posted for time its project belongs to an account.
std::optional<Interval> firstUncoveredStretch(const std::vector<Membership>& memberships,
                                              const Interval& period);

// `from` minus `remove`: the parts of the intervals of `from` that no interval of `remove`
// covers, sorted. Empty results are dropped.
std::vector<Interval> subtractIntervals(std::vector<Interval> from,
                                        const std::vector<Interval>& remove);

}  // namespace billing::ledger
