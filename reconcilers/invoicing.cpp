#include "reconcilers/invoicing.h"

#include <algorithm>

#include "operator/runtime/object.h"
#include "operator/runtime/store.h"
#include "reconcilers/backend_sync.h"
#include "reconcilers/codec/objects.h"
#include "reconcilers/domain/conditions.h"
#include "reconcilers/domain/invoicing.h"
#include "reconcilers/domain/money.h"
#include "reconcilers/domain/period.h"
#include "reconcilers/resources.h"

namespace billing::reconcilers {
namespace {

std::string seconds(domain::Timestamp t) { return std::to_string(t.time_since_epoch().count()); }

domain::Interval periodOf(const backend::Invoice& invoice) {
  return {invoice.periodStart, invoice.periodEnd};
}

bool isLive(const backend::Invoice& invoice) { return invoice.state != domain::InvoiceState::Void; }
bool isIssued(const backend::Invoice& invoice) {
  return invoice.state == domain::InvoiceState::Finalized ||
         invoice.state == domain::InvoiceState::Paid;
}

// Whether closing `period` failed only because a later invoice of the account was issued first
// (an early close): this period's usage goes onto that later invoice as corrections, so the period
// is skipped rather than retried forever. The backend answers `invoice-order` also when an earlier
// draft is still open, which must never skip the period (its usage would be lost), so the
// account's invoices are looked at.
bool laterInvoiceIssued(backend::BillingBackend& backend, const std::string& accountId,
                        const domain::Interval& period, const backend::BackendError& error) {
  if (error.kind != backend::BackendErrorKind::Conflict || error.problemType != "invoice-order") {
    return false;
  }
  auto invoices = backend.listInvoices(accountId);
  if (!invoices) return false;  // the close is retried
  return std::any_of(invoices->begin(), invoices->end(), [&](const backend::Invoice& invoice) {
    return isIssued(invoice) && invoice.periodStart >= period.end;
  });
}

backend::BackendError kubeFailureAsBackendError(const std::string& failure) {
  backend::BackendError error;
  error.kind = backend::BackendErrorKind::Internal;
  error.detail = failure;
  return error;
}

domain::InvoiceSummary summaryOf(const backend::Invoice& invoice, std::string name) {
  return domain::InvoiceSummary{std::move(name),
                                invoice.number,
                                domain::formatTimestamp(invoice.periodStart),
                                domain::formatTimestamp(invoice.periodEnd),
                                invoice.total,
                                std::string(domain::invoiceStateName(invoice.state))};
}

std::chrono::milliseconds until(domain::Timestamp when, domain::Timestamp now) {
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

}  // namespace

std::string createInvoiceKey(std::string_view groupUid, const domain::Interval& period) {
  return "invoice-" + std::string(groupUid) + "-" + seconds(period.start) + "-" +
         seconds(period.end);
}

std::string finalizeInvoiceKey(std::string_view invoiceId) {
  return "finalize-" + std::string(invoiceId);
}

std::string voidInvoiceKey(std::string_view invoiceId) { return "void-" + std::string(invoiceId); }

void mirrorBackendInvoice(const backend::Invoice& invoice, domain::InvoiceStatus& status) {
  status.number = invoice.number;
  status.state = invoice.state;
  status.currency = invoice.currency;
  status.subtotal = invoice.subtotal;
  status.creditsApplied = invoice.creditsApplied;
  status.total = invoice.total;
  status.projectTotals = invoice.projectTotals;
  status.periodStart = invoice.periodStart;
  status.periodEnd = invoice.periodEnd;
  status.backendInvoiceId = invoice.id;
}

domain::InvoiceStatus desiredInvoiceStatus(const domain::Invoice& current,
                                           const backend::Invoice& invoice, domain::Timestamp now) {
  domain::InvoiceStatus status = current.status;
  mirrorBackendInvoice(invoice, status);
  status.observedGeneration = current.metadata.generation;
  std::string reason;
  std::string message;
  switch (invoice.state) {
    case domain::InvoiceState::Draft:
      reason = "Estimate";
      message =
          "Draft at the billing backend: an estimate that follows the charges until the "
          "period is finalized";
      break;
    case domain::InvoiceState::Finalized:
      reason = "Finalized";
      message = "Finalized at the billing backend as invoice " + invoice.number;
      break;
    case domain::InvoiceState::Paid:
      reason = "Paid";
      message = "Invoice " + invoice.number + " is paid";
      break;
    case domain::InvoiceState::Void:
      reason = "Void";
      message = "Voided at the billing backend" +
                (invoice.voidReason.empty() ? std::string() : ": " + invoice.voidReason);
      break;
  }
  domain::setCondition(
      status.conditions,
      domain::Condition{std::string(domain::kConditionReady), domain::ConditionStatus::True, reason,
                        message, current.metadata.generation, std::nullopt},
      now);
  return status;
}

std::optional<domain::Timestamp> firstBillable(
    const std::vector<backend::Membership>& memberships) {
  std::optional<domain::Timestamp> first;
  for (const backend::Membership& membership : memberships) {
    // A membership ended in the second it began ([t, t)) never had usage.
    if (membership.effectiveTo && *membership.effectiveTo <= membership.effectiveFrom) continue;
    if (!first || membership.effectiveFrom < *first) first = membership.effectiveFrom;
  }
  return first;
}

GroupInvoicing::GroupInvoicing(ReconcilerDeps deps, InvoicingOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {
  options_.retention = std::max<std::size_t>(options_.retention, 1);
}

backend::BackendResult<GroupInvoicing::Closed> GroupInvoicing::closePeriod(
    const domain::BillingGroup& group, const domain::Interval& period,
    std::optional<std::string>& kubeFailure) {
  const std::string& accountId = group.metadata.uid;
  auto created =
      deps_.backend->createInvoice(accountId, period, createInvoiceKey(accountId, period));
  if (!created) return std::unexpected(created.error());
  backend::Invoice invoice = std::move(*created);
  if (invoice.state == domain::InvoiceState::Draft) {
    auto finalized = deps_.backend->finalizeInvoice(invoice.id, finalizeInvoiceKey(invoice.id));
    if (!finalized) return std::unexpected(finalized.error());
    invoice = std::move(*finalized);
  }
  Closed closed{std::move(invoice), {}};
  kubeFailure = ensureInvoiceResource(group, closed.invoice, closed.resourceName);
  return closed;
}

std::optional<std::string> GroupInvoicing::ensureInvoiceResource(const domain::BillingGroup& group,
                                                                 const backend::Invoice& invoice,
                                                                 std::string& name) {
  const runtime::Logger log = deps_.logger.withValues(
      {{"namespace", group.metadata.ns}, {"billingGroup", group.metadata.name}});
  const domain::Timestamp now = deps_.now();
  // An Invoice for this group and period may exist already: ours from before a crash, or one a
  // user created for an estimate or an early close. It shows this invoice; no second one.
  web::json::value object;
  std::vector<domain::Invoice> samePeriod;
  std::vector<web::json::value> samePeriodObjects;
  if (deps_.caches.invoices != nullptr) {
    for (const auto& cached : deps_.caches.invoices->byIndex(
             runtime::kBillingGroupRefIndex,
             runtime::objectKey(group.metadata.ns, group.metadata.name))) {
      domain::Invoice decoded = codec::decodeInvoice(*cached).value;
      if (decoded.spec.periodStart == invoice.periodStart &&
          decoded.spec.periodEnd == invoice.periodEnd) {
        samePeriod.push_back(std::move(decoded));
        samePeriodObjects.push_back(*cached);
      }
    }
  }
  if (!samePeriod.empty()) {
    std::vector<const domain::Invoice*> candidates;
    for (const domain::Invoice& candidate : samePeriod) candidates.push_back(&candidate);
    const domain::Invoice* canonical = domain::canonicalInvoice(candidates);
    object = samePeriodObjects[static_cast<std::size_t>(canonical - samePeriod.data())];
  } else {
    name = domain::invoiceResourceName(group.metadata.name, invoice.periodStart);
    domain::Invoice desired;
    desired.metadata.name = name;
    desired.metadata.ns = group.metadata.ns;
    desired.metadata.labels[std::string(domain::kManagedByLabel)] =
        std::string(domain::kManagedByValue);
    desired.metadata.ownerReferences.push_back(
        domain::OwnerReference{std::string(domain::kApiVersion), "BillingGroup",
                               group.metadata.name, group.metadata.uid, true, false});
    desired.spec.billingGroupRef.name = group.metadata.name;
    desired.spec.periodStart = invoice.periodStart;
    desired.spec.periodEnd = invoice.periodEnd;
    desired.spec.finalize = true;
    web::json::value encoded = codec::encode(desired);
    if (encoded.has_field("status")) encoded.erase("status");
    auto created = deps_.client.create(invoicesResource(), group.metadata.ns, encoded);
    if (created) {
      object = std::move(*created);
      log.info("Created the Invoice resource", {{"invoice", name}, {"number", invoice.number}});
    } else if (created.error().kind == kube::ErrorKind::AlreadyExists) {
      // Created before a crash, not in the cache yet: adopt it when it is this period's.
      auto existing = deps_.client.get(invoicesResource(), group.metadata.ns, name);
      if (!existing) return "reading Invoice " + name + ": " + existing.error().describe();
      const domain::Invoice found = codec::decodeInvoice(*existing).value;
      if (found.spec.billingGroupRef.name != group.metadata.name ||
          found.spec.periodStart != invoice.periodStart ||
          found.spec.periodEnd != invoice.periodEnd) {
        log.error("An unrelated Invoice has the name of this period's invoice; not showing it",
                  {{"invoice", name}, {"backendInvoiceId", invoice.id}});
        return std::nullopt;
      }
      object = std::move(*existing);
    } else {
      return "creating Invoice " + group.metadata.ns + "/" + name + ": " +
             created.error().describe();
    }
  }

  const domain::Invoice current = codec::decodeInvoice(object).value;
  name = current.metadata.name;
  const domain::InvoiceStatus status = desiredInvoiceStatus(current, invoice, now);
  if (status == current.status) return std::nullopt;
  web::json::value updated = object;
  updated["status"] = codec::encodeStatus(status);
  auto written = deps_.client.updateStatus(invoicesResource(), group.metadata.ns, updated);
  if (!written) return "writing the status of Invoice " + name + ": " + written.error().describe();
  return std::nullopt;
}

std::optional<backend::BackendError> GroupInvoicing::settleEarlierDrafts(
    const domain::BillingGroup& group, domain::Timestamp firstBillable,
    domain::Timestamp issuingFrom, std::optional<std::string>& kubeFailure) {
  const std::string& accountId = group.metadata.uid;
  const runtime::Logger log =
      deps_.logger.withValues({{"namespace", group.metadata.ns}, {"name", group.metadata.name}});
  auto invoices = deps_.backend->listInvoices(accountId);
  if (!invoices) return invoices.error();
  std::vector<domain::EarlierDraft> drafts;
  for (const backend::Invoice& invoice : *invoices) {
    if (invoice.state != domain::InvoiceState::Draft) continue;
    drafts.push_back(
        domain::EarlierDraft{invoice.id, periodOf(invoice), invoice.projectTotals.empty()});
  }
  const std::vector<domain::DraftStep> steps = domain::settleEarlierDrafts(
      group.spec.invoicing.period, firstBillable, issuingFrom, std::move(drafts));
  for (const domain::DraftStep& step : steps) {
    if (step.action == domain::DraftSettlement::Void) {
      auto voided = deps_.backend->voidInvoice(
          step.id,
          "an estimate of a period in which billing group " + group.key().display() +
              " had no project: nothing to invoice; voided so that the group's later invoices "
              "can be issued in period order",
          voidInvoiceKey(step.id));
      if (!voided) return voided.error();
      const std::string period = domain::formatTimestamp(voided->periodStart) + " to " +
                                 domain::formatTimestamp(voided->periodEnd);
      log.info("Voided an empty estimate of an earlier period",
               {{"periodStart", domain::formatTimestamp(voided->periodStart)},
                {"backendInvoiceId", voided->id}});
      if (deps_.events) {
        deps_.events(codec::encode(group), runtime::EventType::Normal, "EstimateVoided",
                     "Voided the estimate for " + period +
                         ": the group had no project then, so there is nothing to invoice, and "
                         "the later invoices can only be issued once it is settled");
      }
      showVoided(group, *voided);
      continue;
    }
    auto finalized = deps_.backend->finalizeInvoice(step.id, finalizeInvoiceKey(step.id));
    if (!finalized) return finalized.error();
    std::string name;
    kubeFailure = ensureInvoiceResource(group, *finalized, name);
    if (kubeFailure) return std::nullopt;
    log.info("Finalized the draft of an earlier period first",
             {{"periodStart", domain::formatTimestamp(finalized->periodStart)},
              {"number", finalized->number}});
    if (deps_.events) {
      deps_.events(codec::encode(group), runtime::EventType::Normal, "InvoiceFinalized",
                   "Closed the earlier period " + domain::formatTimestamp(finalized->periodStart) +
                       " to " + domain::formatTimestamp(finalized->periodEnd) +
                       ", whose draft was still open: invoice " + finalized->number + ", total " +
                       finalized->total + " " + finalized->currency + " (Invoice " + name + ")");
    }
  }
  return std::nullopt;
}

void GroupInvoicing::showVoided(const domain::BillingGroup& group,
                                const backend::Invoice& invoice) {
  if (deps_.caches.invoices == nullptr) return;
  const domain::Timestamp now = deps_.now();
  for (const auto& cached :
       deps_.caches.invoices->byIndex(runtime::kBillingGroupRefIndex,
                                      runtime::objectKey(group.metadata.ns, group.metadata.name))) {
    const domain::Invoice shown = codec::decodeInvoice(*cached).value;
    if (shown.status.backendInvoiceId != invoice.id) continue;
    const domain::InvoiceStatus status = desiredInvoiceStatus(shown, invoice, now);
    if (status == shown.status) continue;
    web::json::value updated = *cached;
    updated["status"] = codec::encodeStatus(status);
    // Best effort: the Invoice reconciler re-reads the backend invoice at its next resync anyway.
    if (auto written = deps_.client.updateStatus(invoicesResource(), group.metadata.ns, updated);
        !written) {
      deps_.logger.info("Could not show the voided estimate on its Invoice yet",
                        {{"namespace", group.metadata.ns},
                         {"invoice", shown.metadata.name},
                         {"error", written.error().describe()}});
    }
  }
}

std::optional<std::string> GroupInvoicing::prune(const domain::BillingGroup& group) {
  if (deps_.caches.invoices == nullptr) return std::nullopt;
  std::vector<domain::Invoice> invoices;
  for (const auto& cached :
       deps_.caches.invoices->byIndex(runtime::kBillingGroupRefIndex,
                                      runtime::objectKey(group.metadata.ns, group.metadata.name))) {
    invoices.push_back(codec::decodeInvoice(*cached).value);
  }
  for (const std::string& name : domain::invoicesToPrune(invoices, options_.retention)) {
    auto removed = deps_.client.remove(invoicesResource(), group.metadata.ns, name);
    if (!removed && removed.error().kind != kube::ErrorKind::NotFound) {
      return "deleting Invoice " + name + " (retention): " + removed.error().describe();
    }
    deps_.logger.info("Deleted an old Invoice resource (retention; the backend keeps it)",
                      {{"namespace", group.metadata.ns}, {"invoice", name}});
  }
  return std::nullopt;
}

PeriodCloseOutcome GroupInvoicing::closePeriods(const domain::BillingGroup& group,
                                                domain::BillingGroupStatus& status) {
  PeriodCloseOutcome outcome;
  if (deps_.backend == nullptr || group.metadata.uid.empty()) return outcome;
  const std::string& accountId = group.metadata.uid;
  const domain::InvoicingPeriod kind = group.spec.invoicing.period;
  const domain::Timestamp now = deps_.now();
  const runtime::Logger log =
      deps_.logger.withValues({{"namespace", group.metadata.ns}, {"name", group.metadata.name}});

  auto memberships = deps_.backend->listMemberships(backend::MembershipFilter{"", accountId});
  if (!memberships) {
    outcome.backendError = memberships.error();
    return outcome;
  }
  const domain::Interval running = domain::periodContaining(kind, now);
  const std::optional<domain::Timestamp> first = firstBillable(*memberships);
  outcome.recheckAfter = until(domain::nextCloseTime(kind, now, options_.grace), now);
  if (!first) {
    // No member ever: nothing to bill, no invoice to close. The estimate is zero, written as the
    // backend writes the draft's total once a project joins ("0.00"), so that the first member
    // does not cost the group a second status write (measured at cold start: docs/benchmarks.md).
    const std::optional<domain::Currency> currency = domain::findCurrency(group.spec.currency);
    status.currentPeriod = domain::CurrentPeriod{
        running.start, running.end,
        currency ? domain::formatMoney(domain::Money{0, *currency}) : std::string()};
    return outcome;
  }

  std::optional<domain::Timestamp> closedUpTo;
  if (status.lastInvoice) closedUpTo = domain::parseTimestamp(status.lastInvoice->periodEnd);
  domain::DuePeriodsInput input{kind, *first,         closedUpTo,
                                now,  options_.grace, options_.maxClosesPerReconcile};
  const std::vector<domain::Interval> due = domain::duePeriods(input);
  if (!due.empty()) {
    std::optional<std::string> kubeFailure;
    if (auto error = settleEarlierDrafts(group, *first, due.front().start, kubeFailure)) {
      outcome.backendError = *error;
      return outcome;
    }
    if (kubeFailure) {
      outcome.failure = kubeFailure;
      return outcome;
    }
  }
  for (const domain::Interval& period : due) {
    std::optional<std::string> kubeFailure;
    auto closed = closePeriod(group, period, kubeFailure);
    if (!closed) {
      if (laterInvoiceIssued(*deps_.backend, accountId, period, closed.error())) {
        log.info("Period skipped: a later invoice was issued first; its usage is billed there",
                 {{"periodStart", domain::formatTimestamp(period.start)}});
        continue;
      }
      outcome.backendError = closed.error();
      return outcome;
    }
    if (kubeFailure) {
      outcome.failure = kubeFailure;
      return outcome;
    }
    const bool advanced = !status.lastInvoice ||
                          status.lastInvoice->periodStart != domain::formatTimestamp(period.start);
    status.lastInvoice = summaryOf(closed->invoice, closed->resourceName);
    if (advanced) {
      log.info("Closed the period", {{"periodStart", domain::formatTimestamp(period.start)},
                                     {"number", closed->invoice.number},
                                     {"total", closed->invoice.total}});
      if (deps_.events) {
        deps_.events(codec::encode(group), runtime::EventType::Normal, "InvoiceFinalized",
                     "Closed the period " + domain::formatTimestamp(period.start) + " to " +
                         domain::formatTimestamp(period.end) + ": invoice " +
                         closed->invoice.number + ", total " + closed->invoice.total + " " +
                         closed->invoice.currency + " (Invoice " + closed->resourceName + ")");
      }
    }
  }
  if (due.size() == options_.maxClosesPerReconcile) {
    outcome.recheckAfter = std::chrono::milliseconds(0);  // more to catch up on
  }

  // The running estimate: the backend's draft for the running period.
  if (*first < running.end) {
    auto draft =
        deps_.backend->createInvoice(accountId, running, createInvoiceKey(accountId, running));
    if (!draft) {
      outcome.backendError = draft.error();
      return outcome;
    }
    status.currentPeriod = domain::CurrentPeriod{running.start, running.end, draft->total};
  }

  // lastInvoice follows its Invoice resource, which the Invoice reconciler keeps in step with
  // the backend (Paid shows up there first).
  if (status.lastInvoice && deps_.caches.invoices != nullptr && !status.lastInvoice->name.empty()) {
    if (const auto cached =
            deps_.caches.invoices->get(group.metadata.ns, status.lastInvoice->name)) {
      const domain::Invoice shown = codec::decodeInvoice(*cached).value;
      if (shown.status.state && !shown.status.backendInvoiceId.empty() &&
          shown.status.periodStart &&
          domain::formatTimestamp(*shown.status.periodStart) == status.lastInvoice->periodStart) {
        status.lastInvoice->state = std::string(domain::invoiceStateName(*shown.status.state));
        status.lastInvoice->number = shown.status.number;
        status.lastInvoice->total = shown.status.total;
      }
    }
  }

  if (auto failed = prune(group)) outcome.failure = failed;
  return outcome;
}

std::optional<backend::BackendError> GroupInvoicing::finalInvoice(const domain::BillingGroup& group,
                                                                  domain::Timestamp closeAt) {
  if (deps_.backend == nullptr || group.metadata.uid.empty()) return std::nullopt;
  const std::string& accountId = group.metadata.uid;
  const domain::InvoicingPeriod kind = group.spec.invoicing.period;
  const runtime::Logger log =
      deps_.logger.withValues({{"namespace", group.metadata.ns}, {"name", group.metadata.name}});
  auto memberships = deps_.backend->listMemberships(backend::MembershipFilter{"", accountId});
  if (!memberships) return memberships.error();
  const std::optional<domain::Timestamp> first = firstBillable(*memberships);
  if (!first || *first >= closeAt) return std::nullopt;  // never had usage

  // Every whole period up to the close, without the grace: the group is going now.
  std::optional<domain::Timestamp> closedUpTo;
  if (group.status.lastInvoice) {
    closedUpTo = domain::parseTimestamp(group.status.lastInvoice->periodEnd);
  }
  domain::DuePeriodsInput input{
      kind, *first, closedUpTo, closeAt, std::chrono::seconds(0), static_cast<std::size_t>(-1)};
  const std::vector<domain::Interval> due = domain::duePeriods(input);
  const std::optional<domain::Interval> partial = domain::finalPartialPeriod(kind, closeAt);

  // Drafts of periods before the first one issued here (estimates users asked for) are settled
  // first, in period order: they would block the final invoice, and the account must not close
  // with usage left on a draft.
  const domain::Timestamp issuingFrom =
      !due.empty() ? due.front().start : (partial ? partial->start : closeAt);
  std::optional<std::string> settleFailure;
  if (auto error = settleEarlierDrafts(group, *first, issuingFrom, settleFailure)) return error;
  if (settleFailure) return kubeFailureAsBackendError(*settleFailure);

  for (const domain::Interval& period : due) {
    std::optional<std::string> kubeFailure;
    auto closed = closePeriod(group, period, kubeFailure);
    if (!closed && !laterInvoiceIssued(*deps_.backend, accountId, period, closed.error())) {
      return closed.error();
    }
    if (kubeFailure) return kubeFailureAsBackendError(*kubeFailure);
  }

  if (!partial) return std::nullopt;
  auto invoices = deps_.backend->listInvoices(accountId);
  if (!invoices) return invoices.error();
  for (const backend::Invoice& invoice : *invoices) {
    if (!isLive(invoice)) continue;
    const domain::Interval period = periodOf(invoice);
    if (period == *partial) continue;  // the final invoice itself, from before a crash
    const bool covers = period.start <= partial->start && partial->end <= period.end;
    if (covers && isIssued(invoice)) return std::nullopt;  // the whole period was closed already
    if (covers || !domain::intersect(period, *partial).empty()) {
      if (invoice.state != domain::InvoiceState::Draft) continue;
      // The running period's estimate; the final invoice replaces it. A draft has no number, so
      // voiding it leaves no gap.
      auto voided =
          deps_.backend->voidInvoice(invoice.id,
                                     "replaced by the final partial-period invoice of deleted "
                                     "billing group " +
                                         group.key().display(),
                                     voidInvoiceKey(invoice.id));
      if (!voided) return voided.error();
    }
  }
  std::optional<std::string> kubeFailure;
  auto closed = closePeriod(group, *partial, kubeFailure);
  if (!closed) return closed.error();
  if (kubeFailure) return kubeFailureAsBackendError(*kubeFailure);
  log.info("Issued the final partial-period invoice",
           {{"periodStart", domain::formatTimestamp(partial->start)},
            {"periodEnd", domain::formatTimestamp(partial->end)},
            {"number", closed->invoice.number}});
  if (deps_.events) {
    deps_.events(codec::encode(group), runtime::EventType::Normal, "FinalInvoiceFinalized",
                 "Issued the final invoice " + closed->invoice.number + " for " +
                     domain::formatTimestamp(partial->start) + " to " +
                     domain::formatTimestamp(partial->end) + " before deleting the billing group");
  }
  return std::nullopt;
}

}  // namespace billing::reconcilers
