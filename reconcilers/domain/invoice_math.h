// R7 as pure maths: the consolidated invoice of one billing group for one period. The backend
// owns the charges; this decides which share of each charge this group pays, given when each
// project was a member of the group, and adds lines up to per-project totals, subtotal, credits
// and total. Deterministic, so the reconcilers, the backend and the tests agree to the unit.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/domain/money.h"
#include "reconcilers/domain/time.h"

namespace billing::domain {

// One stretch of time during which `project` was a member of the group being invoiced. A project
// that moved in or out mid-period has a partial interval; one that left and came back has
// several. Overlapping or touching intervals of a project are merged, never billed twice.
struct MembershipSpan {
  std::string project;  // "namespace/name"
  Interval effective;

  friend bool operator==(const MembershipSpan&, const MembershipSpan&) = default;
};

// A usage charge as the backend reports it. Usage is taken as spread evenly over `period`; a
// charge with start == end is an instant (a one-off fee) and is never split.
struct UsageCharge {
  std::string id;  // unique among the charges of one computation
  std::string project;
  std::string service;
  std::string description;
  std::string quantity;  // decimal string, e.g. "744" or "1.5"; may be empty
  std::string unit;
  Money amount;
  Interval period;

  friend bool operator==(const UsageCharge&, const UsageCharge&) = default;
};

struct InvoiceInput {
  Currency currency;
  Interval period;  // the invoice period
  std::vector<MembershipSpan> memberships;
  std::vector<UsageCharge> charges;
  Money creditsAvailable;  // remaining credit balance of the group, >= 0
};

// One share of one charge billed to this group.
struct InvoiceLine {
  std::string chargeId;
  std::string project;
  std::string service;
  std::string description;
  std::string quantity;  // the charge's quantity prorated like the amount (see prorateQuantity)
  std::string unit;
  Money amount;
  Interval period;  // the billed sub-period: charge period ∩ membership ∩ invoice period

  friend bool operator==(const InvoiceLine&, const InvoiceLine&) = default;
};

struct ProjectSubtotal {
  std::string project;
  Money amount;

  friend bool operator==(const ProjectSubtotal&, const ProjectSubtotal&) = default;
};

struct InvoiceDraft {
  Currency currency;
  Interval period;
  std::vector<InvoiceLine> lines;  // sorted by project, billed period, charge id
  // Every project that was a member during the period or has lines, sorted by project; each is
  // exactly the sum of its lines (zero for a member without charges).
  std::vector<ProjectSubtotal> projectTotals;
  Money subtotal;        // exactly the sum of the lines
  Money creditsApplied;  // min(creditsAvailable, max(subtotal, 0))
  Money total;           // subtotal - creditsApplied

  friend bool operator==(const InvoiceDraft&, const InvoiceDraft&) = default;
};

// The share of `amount`, spread evenly over `whole`, that falls in `part` (which must lie within
// `whole`, and `whole` must not be empty):
//
//   share(part) = R(amount * (part.end - whole.start) / |whole|)
//               - R(amount * (part.start - whole.start) / |whole|)
//
// where R is prorate()'s round-half-to-even. Rounding the cumulative amount at each boundary,
// instead of each share on its own, makes splits exact: the shares of any partition of `whole`
// add up to `amount` to the minor unit, even when they are computed in separate calls (one per
// group the project belonged to, or one per invoice period the charge straddles). A share that
// starts at whole.start, the usual case, is one plain rounding of its exact value; any share is
// within one minor unit of its exact value.
std::expected<Money, std::string> shareOf(const Money& amount, const Interval& whole,
                                          const Interval& part);

// `quantity` * numerator / denominator as a decimal string, for the quantity of a split line.
// Rounded half-to-even to max(6, the input's decimals) decimals, then trailing zeros are trimmed
// back to the input's own decimals: "744" * 1/2 = "372", "100" * 1/3 = "33.333333". Quantities
// are informational, so unlike money their splits need not add up exactly. Empty stays empty.
std::expected<std::string, std::string> prorateQuantity(std::string_view quantity,
                                                        std::int64_t numerator,
                                                        std::int64_t denominator);

// The consolidated invoice of one group for input.period:
//  - a charge's share for this group is shareOf(amount, chargePeriod, chargePeriod ∩ membership
//    ∩ invoicePeriod), one line per merged membership span that overlaps it;
//  - an instant charge goes wholly to the membership containing its instant, if the instant is
//    in the invoice period;
//  - charges of projects with no overlapping membership produce no line (another group bills
//    them);
//  - totals are exact sums of lines; credits never exceed the (non-negative) subtotal.
// Errors, as values: a charge or the credits in another currency, a charge with end before
// start, duplicate charge ids, an empty invoice period, negative credits, a malformed quantity,
// overflow.
std::expected<InvoiceDraft, std::string> computeInvoice(const InvoiceInput& input);

}  // namespace billing::domain
