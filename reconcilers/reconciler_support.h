// What the Project and BillingGroup reconcilers share: their dependencies (the Kubernetes client
// for writes, the informer caches for reads, the backend, events, the clock) and small helpers
// for finalizers, metadata patches and Ready-condition events.
#pragma once

#include <cpprest/json.h>

#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/client.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/events.h"
#include "operator/runtime/log.h"
#include "reconcilers/backend/billing_backend.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/snapshot_from_cache.h"

namespace billing::reconcilers {

// Records a Kubernetes Event about `regarding` (runtime::EventRecorder in the operator, a
// recording fake in unit tests).
using EventSink = std::function<void(const web::json::value& regarding, runtime::EventType type,
                                     std::string_view reason, std::string_view note)>;
using Clock = std::function<domain::Timestamp()>;

// The wall clock, truncated to seconds (the precision of metav1.Time).
domain::Timestamp systemNow();

// The Manager's recorder as an EventSink (action "Reconcile").
EventSink eventSinkFor(runtime::EventRecorder& recorder);

// Called before a deleted group's backend account is closed, once it has no members left: the
// invoicing reconciler produces the final, partial-period invoice there (R6). An error keeps the
// group (and its finalizer) until a later reconcile succeeds.
using FinalInvoiceHook = std::function<std::optional<backend::BackendError>(
    const domain::BillingGroup& group, domain::Timestamp closeAt)>;

// Called for a live group whose backend account is in step: closes the periods that are due,
// prunes old Invoice resources and fills status.currentPeriod and status.lastInvoice (the
// invoicing of reconcilers/invoicing.h). `backendError` makes the group Ready=False with the
// backend's reason; `failure` (a Kubernetes write that failed) fails the reconcile for a retry
// with backoff; `recheckAfter` is when the next period becomes due.
struct PeriodCloseOutcome {
  std::optional<backend::BackendError> backendError;
  std::optional<std::string> failure;
  std::optional<std::chrono::milliseconds> recheckAfter;
};
using PeriodCloseHook = std::function<PeriodCloseOutcome(const domain::BillingGroup& group,
                                                         domain::BillingGroupStatus& status)>;

// The Invoicing condition a BillingGroup carries when the operator runs without a billing backend
// (no --ledger-url): it still validates and reports, but makes no backend calls.
inline constexpr std::string_view kConditionInvoicing = "Invoicing";
inline constexpr std::string_view kReasonInvoicingOff = "InvoicingOff";
inline constexpr std::string_view kInvoicingOffMessage =
    "no billing backend configured (--ledger-url): invoices are not generated";

struct ReconcilerDeps {
  kube::Client& client;
  // Null: no billing backend is configured. The reconcilers then keep statuses and finalizers
  // but skip every backend call, and each BillingGroup says Invoicing=False (InvoicingOff).
  backend::BillingBackend* backend;
  Caches caches;
  EventSink events;       // may be empty: no events
  Clock now = systemNow;  // injectable for tests
  runtime::Logger logger = runtime::Logger::discard();
};

struct ReconcilerOptions {
  std::string defaultCurrency = "USD";
  // Drift detection: a group is compared with its backend account this often (jittered).
  std::chrono::milliseconds driftInterval{std::chrono::minutes(5)};
  double driftJitter = 0.1;
  // How soon to look again when the backend said the group's account does not exist yet.
  std::chrono::milliseconds accountPendingRetry{std::chrono::seconds(2)};
  FinalInvoiceHook finalInvoice;  // empty: nothing to do before closing
  PeriodCloseHook closePeriods;   // empty: no period close
};

namespace detail {

// The reconcile's logger (with controller, namespace, name, reconcileID) when called from a
// controller's worker; otherwise `fallback` with namespace and name.
runtime::Logger loggerFor(const runtime::Logger& fallback, const runtime::Request& request);

bool hasFinalizer(const domain::ObjectMeta& metadata, std::string_view finalizer);

// Adds or removes `finalizer` with a merge patch carrying the resourceVersion the decision was
// made on (a precondition: a concurrent change makes it fail with Conflict, and the reconcile is
// retried on fresh state). Returns the object as the server answered.
kube::Result<web::json::value> patchFinalizers(kube::Client& client,
                                               const kube::ResourceRef& resource,
                                               const domain::ObjectMeta& metadata,
                                               std::vector<std::string> finalizers);

// Adds `finalizer` (patchFinalizers) when the object does not carry it yet. Returns the object as
// the server answered, or nullopt when nothing had to change. Failures are the reconcile's error.
std::expected<std::optional<web::json::value>, runtime::ReconcileError> ensureFinalizer(
    kube::Client& client, const kube::ResourceRef& resource, const domain::ObjectMeta& metadata,
    std::string_view finalizer);

// What a reconcile starts from: the cached object and its decoded form.
template <typename Decoded>
struct Loaded {
  web::json::value object;
  Decoded decoded;
};

// Reads request's object from `cache` and decodes it; unless it is being deleted, adds
// `finalizer` first (ensureFinalizer) and continues from the server's answer. nullopt when the
// object is gone (its finalizer did the backend's part). Both the Project and BillingGroup
// reconcilers start this way.
template <typename Decode>
auto loadWithFinalizer(const runtime::Store& cache, kube::Client& client,
                       const kube::ResourceRef& resource, const runtime::Request& request,
                       std::string_view finalizer, Decode decode)
    -> std::expected<std::optional<Loaded<decltype(decode(web::json::value()).value)>>,
                     runtime::ReconcileError> {
  using Decoded = decltype(decode(web::json::value()).value);
  const runtime::ObjectPtr cached = cache.get(request.ns, request.name);
  if (!cached) return std::nullopt;
  Loaded<Decoded> loaded{*cached, decode(*cached).value};
  if (!loaded.decoded.metadata.deletionTimestamp) {
    auto added = ensureFinalizer(client, resource, loaded.decoded.metadata, finalizer);
    if (!added) return std::unexpected(added.error());
    if (*added) {
      loaded.object = std::move(**added);
      loaded.decoded = decode(loaded.object).value;
    }
  }
  return loaded;
}

// The Ready condition of a status, or nullptr.
const domain::Condition* readyOf(const std::vector<domain::Condition>& conditions);

// Emits an event when the Ready condition changed status or reason: Normal for True (and for
// the progress reasons in `normalReasons`), Warning with the condition's reason otherwise. The
// first Ready=True of an object (no Ready condition before) is no event; `forceEvent` emits one
// even when Ready did not change (a project that moved to another group).
void eventOnReadyTransition(const EventSink& events, const web::json::value& regarding,
                            const domain::Condition* before, const domain::Condition* after,
                            const std::vector<std::string_view>& normalReasons,
                            bool forceEvent = false);

// "... (and N more)" free: the first line of a backend error for a condition message.
std::string backendMessage(std::string_view what, const backend::BackendError& error);

}  // namespace detail
}  // namespace billing::reconcilers
