// Period close as pure decisions: which periods of a billing group are due for their invoice, the
// deterministic name of the Invoice resource of a period, the final partial period of a deleted
// group, which user-requested Invoices are acceptable, which of several Invoices for one period
// is the real one, and which old Invoice resources retention removes. The reconcilers carry these
// out against the backend and the API server (reconcilers/invoicing.h, docs/invoicing.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/time.h"

namespace billing::domain {

// Set on the Invoice resources the operator creates at period close, so that users (and kubectl
// selectors) can tell them from the ones they asked for.
inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "billing-operator";

// The name of the Invoice resource for `groupName`'s invoice starting at `periodStart`:
// "<group>-<yyyy-mm-dd>" (UTC date). Deterministic, so a restarted operator finds (or collides
// with, and then adopts) the resource it created before a crash. Group names are DNS subdomains of
// up to 253 characters; when the suffix would make the name longer, the group part is cut and a
// hash of the whole group name keeps names of different groups apart. The result is always a
// valid DNS subdomain.
std::string invoiceResourceName(std::string_view groupName, Timestamp periodStart);

struct DuePeriodsInput {
  InvoicingPeriod kind = InvoicingPeriod::Monthly;
  // The earliest instant the group's account can have usage for: the start of its first
  // membership. Periods before the one containing it are never due.
  Timestamp firstBillable;
  // The end of the last period already closed (status.lastInvoice.periodEnd), if any: periods
  // before it are done.
  std::optional<Timestamp> closedUpTo;
  Timestamp now;
  // Late charges are accepted for this long after a period ends before it is closed.
  std::chrono::seconds grace{0};
  // At most this many periods per call (a group with years of history catches up in steps).
  std::size_t limit = 64;
};

// The whole periods to close now, in order: from the period containing max(firstBillable,
// closedUpTo) on, each one whose end + grace is at or before `now`. Never the running period.
std::vector<Interval> duePeriods(const DuePeriodsInput& input);

// The instant at which the next period becomes due after `now`: the end of the period that
// contains now - grace, plus grace.
Timestamp nextCloseTime(InvoicingPeriod kind, Timestamp now, std::chrono::seconds grace);

// The final, partial period of a group whose account closes at `closeAt`: [start of the period
// containing closeAt, closeAt). nullopt when closeAt is a period boundary (the whole periods
// before it cover everything).
std::optional<Interval> finalPartialPeriod(InvoicingPeriod kind, Timestamp closeAt);

// The final partial period that billing group `group`, being deleted, has recorded in
// status.currentPeriod before its final invoice is created: [start of one of its periods, the
// instant its account closes), strictly shorter than that period and not ending before the
// deletion. nullopt for a live group, or when no such period is recorded.
//
// It is the one misaligned period an Invoice may have (R6: "its final, partial-period invoice is
// generated first"). The close instant depends on the backend's memberships, which only the
// operator sees, so the operator records it in the status, which the group's authors cannot
// write (status subresource), before it creates the Invoice; the admission webhook, the Invoice
// reconciler and the offline checker then accept exactly that period and nothing else.
std::optional<Interval> recordedFinalPeriod(const BillingGroup& group);

// A draft at the backend for a period that ended before the first one the period close is about
// to issue. The backend issues an account's invoices in period order, so such a draft blocks
// every later invoice until it is finalized or voided.
struct EarlierDraft {
  std::string id;
  Interval period;
  // The backend's live estimate has no project on it: no usage was billed to the group then.
  bool billsNothing = false;
};

enum class DraftSettlement { Finalize, Void };

struct DraftStep {
  std::string id;
  DraftSettlement action = DraftSettlement::Finalize;
  friend bool operator==(const DraftStep&, const DraftStep&) = default;
};

// What to do, in period order, with the drafts of periods ending at or before `issuingFrom` (the
// start of the first period about to be issued) for a group whose first billable instant is
// `firstBillable`:
//  - Void a draft that bills nothing and ends by the start of the period containing
//    `firstBillable`: an estimate a user asked for a period in which the group had no member.
//    Issuing it would send an empty invoice for a period the group was not billing; a draft has
//    no number, so voiding it leaves no gap.
//  - Finalize every other one: its period has ended and its usage must be invoiced, before the
//    later periods (the numbers follow period order).
// Drafts ending after `issuingFrom` are not returned (they are the periods being closed).
std::vector<DraftStep> settleEarlierDrafts(InvoicingPeriod kind, Timestamp firstBillable,
                                           Timestamp issuingFrom, std::vector<EarlierDraft> drafts);

// Why an Invoice a user asked for cannot be served (no backend call is made for it).
struct InvoiceRequestProblem {
  std::string reason;  // CamelCase condition reason
  std::string message;
};

// Checks the period an Invoice asks for against its group's invoicing period, at `now`:
//  - PeriodMisaligned: the period is not exactly one whole period of the group, nor the final
//    partial period the group recorded while being deleted (`finalPeriod`, recordedFinalPeriod);
//  - PeriodNotEnded: finalize is asked for a period that has not ended yet.
std::optional<InvoiceRequestProblem> checkInvoiceRequest(InvoicingPeriod kind,
                                                         const Interval& period, bool finalize,
                                                         const std::optional<Interval>& finalPeriod,
                                                         Timestamp now);

// Of several Invoices of one group for the same period, the one that stands: the oldest by
// creationTimestamp, then by name (creation times have whole seconds). The others are duplicates.
// Returns nullptr for an empty list.
const Invoice* canonicalInvoice(const std::vector<const Invoice*>& invoices);

// Retention: which of a group's Invoice resources to delete so that the `keep` newest periods
// remain. Never deletes a Draft or an Invoice without a state yet (an estimate or a close in
// progress), and never one of the `keep` newest. Names, oldest period first.
std::vector<std::string> invoicesToPrune(const std::vector<Invoice>& invoices, std::size_t keep);

}  // namespace billing::domain
