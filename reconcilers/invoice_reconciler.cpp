#include "reconcilers/invoice_reconciler.h"

#include "operator/runtime/object.h"
#include "operator/runtime/store.h"
#include "reconcilers/backend_sync.h"
#include "reconcilers/codec/objects.h"
#include "reconcilers/domain/conditions.h"
#include "reconcilers/domain/invoicing.h"
#include "reconcilers/resources.h"

namespace billing::reconcilers {
namespace {

// How soon to look again when the group's account does not exist at the backend yet.
constexpr std::chrono::seconds kAccountPendingRetry{2};

std::string describePeriod(const domain::Interval& period) {
  return "[" + domain::formatTimestamp(period.start) + ", " + domain::formatTimestamp(period.end) +
         ")";
}

}  // namespace

InvoiceReconciler::InvoiceReconciler(ReconcilerDeps deps, InvoicingOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

runtime::ReconcileOutcome InvoiceReconciler::reconcile(const runtime::Request& request) {
  const runtime::Logger log = detail::loggerFor(deps_.logger, request);
  if (deps_.caches.invoices == nullptr) return runtime::Result{};
  const runtime::ObjectPtr cached = deps_.caches.invoices->get(request.ns, request.name);
  if (!cached) return runtime::Result{};
  const web::json::value& object = *cached;
  const codec::Decoded<domain::Invoice> decoded = codec::decodeInvoice(object);
  const domain::Invoice& invoice = decoded.value;
  if (invoice.metadata.deletionTimestamp) return runtime::Result{};
  const domain::Timestamp now = deps_.now();
  const std::int64_t generation = invoice.metadata.generation;

  // Not served: Ready=False with the reason, the status otherwise kept, no backend call.
  auto refuse = [&](std::string reason, std::string message,
                    std::chrono::milliseconds requeueAfter) -> runtime::ReconcileOutcome {
    domain::InvoiceStatus status = invoice.status;
    status.observedGeneration = generation;
    domain::setCondition(
        status.conditions,
        domain::Condition{std::string(domain::kConditionReady), domain::ConditionStatus::False,
                          std::move(reason), std::move(message), generation, std::nullopt},
        now);
    if (auto failed = writeStatus(object, invoice, status)) {
      return std::unexpected(runtime::ReconcileError{*failed});
    }
    return runtime::Result{.requeue = false, .requeueAfter = requeueAfter};
  };
  const std::chrono::milliseconds never{0};

  for (const domain::Violation& error : decoded.errors) {
    if (error.field.rfind("status", 0) == 0) continue;  // ours to rewrite
    return refuse("InvalidInvoice", error.message, never);
  }
  if (!invoice.spec.periodStart || !invoice.spec.periodEnd) {
    return refuse("InvalidInvoice", "spec.periodStart and spec.periodEnd are required", never);
  }
  const domain::Interval period{*invoice.spec.periodStart, *invoice.spec.periodEnd};
  const std::string& groupName = invoice.spec.billingGroupRef.name;
  const runtime::ObjectPtr groupObject =
      deps_.caches.billingGroups != nullptr
          ? deps_.caches.billingGroups->get(invoice.metadata.ns, groupName)
          : nullptr;
  // An Invoice bound to a backend invoice is re-read by that invoice's id and needs its group no
  // more: a user's Invoice (only the operator's own are owned by the group) outlives a deleted
  // group, and keeps saying what became of it (Void, Finalized, Paid) rather than "create the
  // group".
  const bool issued = invoice.status.state && *invoice.status.state != domain::InvoiceState::Draft;
  const bool bound =
      !invoice.status.backendInvoiceId.empty() && invoice.status.observedGeneration == generation;
  if (!groupObject && !bound) {
    // The group watch brings this Invoice back when the group appears.
    return refuse("BillingGroupNotFound",
                  "billing group " + invoice.metadata.ns + "/" + groupName +
                      " does not exist; create it or set spec.billingGroupRef.name to a billing "
                      "group in namespace " +
                      invoice.metadata.ns,
                  never);
  }
  const domain::BillingGroup group =
      groupObject ? codec::decodeBillingGroup(*groupObject).value : domain::BillingGroup{};
  if (deps_.backend == nullptr) {
    return refuse(std::string(kReasonInvoicingOff), std::string(kInvoicingOffMessage), never);
  }

  // One Invoice per group and period: the oldest stands, later ones are duplicates.
  std::vector<domain::Invoice> samePeriod;
  for (const auto& other : deps_.caches.invoices->byIndex(
           runtime::kBillingGroupRefIndex, runtime::objectKey(invoice.metadata.ns, groupName))) {
    domain::Invoice decodedOther = codec::decodeInvoice(*other).value;
    if (decodedOther.spec.periodStart == invoice.spec.periodStart &&
        decodedOther.spec.periodEnd == invoice.spec.periodEnd &&
        !decodedOther.metadata.deletionTimestamp) {
      samePeriod.push_back(std::move(decodedOther));
    }
  }
  std::vector<const domain::Invoice*> candidates;
  for (const domain::Invoice& candidate : samePeriod) candidates.push_back(&candidate);
  if (const domain::Invoice* canonical = domain::canonicalInvoice(candidates);
      canonical != nullptr && canonical->metadata.name != invoice.metadata.name) {
    return refuse("DuplicateInvoice",
                  "Invoice " + canonical->metadata.name + " already covers billing group " +
                      groupName + " for " + describePeriod(period) +
                      "; this one is ignored and makes no backend call: delete it",
                  never);
  }

  if (!issued && groupObject) {
    if (group.metadata.deletionTimestamp && invoice.status.backendInvoiceId.empty()) {
      return refuse("BillingGroupDeleting",
                    "billing group " + group.key().display() +
                        " is being deleted; it gets its final invoice from the operator and no "
                        "new ones",
                    never);
    }
    if (auto problem =
            domain::checkInvoiceRequest(group.spec.invoicing.period, period, invoice.spec.finalize,
                                        domain::recordedFinalPeriod(group), now)) {
      std::chrono::milliseconds again = never;
      if (problem->reason == "PeriodNotEnded") {
        again = std::chrono::duration_cast<std::chrono::milliseconds>(period.end - now);
      }
      return refuse(std::move(problem->reason), std::move(problem->message), again);
    }
  }
  if (group.metadata.uid.empty() && invoice.status.backendInvoiceId.empty()) {
    return runtime::Result{.requeueAfter = kAccountPendingRetry};
  }

  auto backendFailure = [&](const backend::BackendError& error,
                            std::string_view what) -> runtime::ReconcileOutcome {
    auto outcome = refuse(backendReason(error), detail::backendMessage(what, error),
                          error.kind == backend::BackendErrorKind::NotFound
                              ? std::chrono::milliseconds(kAccountPendingRetry)
                              : jittered(options_.resync, options_.resyncJitter));
    log.error(std::string(what) + " failed", {{"error", error.message()}});
    if (error.retryable() || error.kind == backend::BackendErrorKind::Unauthorized) {
      return std::unexpected(runtime::ReconcileError{error.message()});  // backoff
    }
    return outcome;
  };

  const std::string& accountId = group.metadata.uid;
  auto found =
      invoice.status.backendInvoiceId.empty()
          ? deps_.backend->createInvoice(accountId, period, createInvoiceKey(accountId, period))
          : deps_.backend->getInvoice(invoice.status.backendInvoiceId);
  if (!found) return backendFailure(found.error(), "Reading the invoice at the billing backend");
  backend::Invoice current = std::move(*found);
  // Never once the group is gone: its account is closed, nothing new is issued for it.
  if (invoice.spec.finalize && groupObject && current.state == domain::InvoiceState::Draft) {
    // An early close: the period has ended (checked above), the grace is the user's to skip.
    auto finalized = deps_.backend->finalizeInvoice(current.id, finalizeInvoiceKey(current.id));
    if (!finalized) {
      return backendFailure(finalized.error(), "Finalizing the invoice at the billing backend");
    }
    current = std::move(*finalized);
    log.info("Finalized the invoice on request", {{"number", current.number}});
  }

  const domain::InvoiceStatus status = desiredInvoiceStatus(invoice, current, now);
  if (auto failed = writeStatus(object, invoice, status)) {
    return std::unexpected(runtime::ReconcileError{*failed});
  }
  if (current.state == domain::InvoiceState::Paid || current.state == domain::InvoiceState::Void) {
    return runtime::Result{};  // final states: nothing more will change
  }
  return runtime::Result{.requeue = false,
                         .requeueAfter = jittered(options_.resync, options_.resyncJitter)};
}

std::optional<std::string> InvoiceReconciler::writeStatus(const web::json::value& object,
                                                          const domain::Invoice& invoice,
                                                          const domain::InvoiceStatus& status) {
  if (status == invoice.status) return std::nullopt;
  web::json::value updated = object;
  updated["status"] = codec::encodeStatus(status);
  auto written = deps_.client.updateStatus(invoicesResource(), invoice.metadata.ns, updated);
  if (!written) {
    // A 409 means our copy is stale: the retry reads the cache again.
    return "writing the status: " + written.error().describe();
  }
  detail::eventOnReadyTransition(deps_.events, object, detail::readyOf(invoice.status.conditions),
                                 detail::readyOf(status.conditions), {});
  return std::nullopt;
}

}  // namespace billing::reconcilers
