// Invoicing on the operator's side (docs/invoicing.md): closing a billing group's periods at the
// backend and mirroring them as Invoice resources, the running estimate on the group, the final
// partial-period invoice of a deleted group, retention of old Invoice resources, and the helpers
// the Invoice reconciler shares (idempotency keys, status from a backend invoice).
//
// Exactly once rests on three facts: the backend keeps one live invoice per account and period
// (createInvoice returns the existing one) and numbers only at finalization, which is idempotent;
// every key sent is made of the group's UID, the period and the backend's invoice id; and the
// Invoice resource's name is deterministic, so AlreadyExists after a crash means "adopt".
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "reconcilers/backend/billing_backend.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/reconciler_support.h"

namespace billing::reconcilers {

struct InvoicingOptions {
  // Late charges are accepted for this long after a period ends before it is closed.
  std::chrono::seconds grace{std::chrono::hours(1)};
  // Invoice resources kept per group (at least 1); older finalized, paid or void ones are
  // deleted. The backend keeps every invoice.
  std::size_t retention = 12;
  // Invoices are re-read from the backend this often (jittered), so Paid or Void shows up.
  std::chrono::milliseconds resync{std::chrono::minutes(10)};
  double resyncJitter = 0.1;
  // At most this many periods are closed in one reconcile; a group far behind catches up in steps.
  std::size_t maxClosesPerReconcile = 31;
};

// Idempotency keys (stable facts only: the group's UID, the period, the backend's invoice id).
std::string createInvoiceKey(std::string_view groupUid, const domain::Interval& period);
std::string finalizeInvoiceKey(std::string_view invoiceId);
std::string voidInvoiceKey(std::string_view invoiceId);

// The Invoice status fields that mirror a backend invoice (conditions and observedGeneration are
// the caller's).
void mirrorBackendInvoice(const backend::Invoice& invoice, domain::InvoiceStatus& status);

// The status an Invoice resource shows for `invoice`: `current` with the backend's figures, Ready
// True with the state as reason (Estimate, Finalized, Paid, Void) and the current generation.
// Both the period close and the Invoice reconciler write it, so they never undo each other.
domain::InvoiceStatus desiredInvoiceStatus(const domain::Invoice& current,
                                           const backend::Invoice& invoice, domain::Timestamp now);

// The first instant the account can have usage for: the earliest start of a non-empty
// membership; nullopt when it never had a member.
std::optional<domain::Timestamp> firstBillable(const std::vector<backend::Membership>& memberships);

class GroupInvoicing {
 public:
  GroupInvoicing(ReconcilerDeps deps, InvoicingOptions options);

  // The PeriodCloseHook: for a live group whose account exists at the backend.
  PeriodCloseOutcome closePeriods(const domain::BillingGroup& group,
                                  domain::BillingGroupStatus& status);

  // The FinalInvoiceHook: closes every whole period ending by `closeAt`, then the partial period
  // up to `closeAt` (voiding the running period's estimate draft, which it replaces).
  std::optional<backend::BackendError> finalInvoice(const domain::BillingGroup& group,
                                                    domain::Timestamp closeAt);

 private:
  // Creates (or finds) and finalizes the backend invoice of `period`, then makes sure the Invoice
  // resource that shows it exists (AlreadyExists: adopt) and mirrors it. A Kubernetes failure
  // comes back as `kubeFailure`.
  struct Closed {
    backend::Invoice invoice;
    std::string resourceName;
  };
  backend::BackendResult<Closed> closePeriod(const domain::BillingGroup& group,
                                             const domain::Interval& period,
                                             std::optional<std::string>& kubeFailure);
  // Creates or adopts the Invoice resource of a finalized backend invoice and writes its status.
  std::optional<std::string> ensureInvoiceResource(const domain::BillingGroup& group,
                                                   const backend::Invoice& invoice,
                                                   std::string& name);
  // Finalizes or voids (domain::settleEarlierDrafts) the account's drafts of periods ending by
  // `issuingFrom`: the backend issues an account's invoices in period order, so such a draft (an
  // estimate a user asked for) would block every later invoice. A Kubernetes failure comes back
  // as `kubeFailure`.
  std::optional<backend::BackendError> settleEarlierDrafts(const domain::BillingGroup& group,
                                                           domain::Timestamp firstBillable,
                                                           domain::Timestamp issuingFrom,
                                                           std::optional<std::string>& kubeFailure);
  // Writes a voided backend invoice into the status of the group's Invoice resources that show
  // it, so that an estimate reads Void at once rather than at its next resync.
  void showVoided(const domain::BillingGroup& group, const backend::Invoice& invoice);
  // Deletes the group's Invoice resources beyond the retention.
  std::optional<std::string> prune(const domain::BillingGroup& group);

  ReconcilerDeps deps_;
  InvoicingOptions options_;
};

}  // namespace billing::reconcilers
