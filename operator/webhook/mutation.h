// The mutating admission webhook's decision (POST kMutatePath): Projects and BillingGroups are
// created with the operator's finalizer already in metadata.finalizers, so that
//
//   - their reconciler finds nothing to add (reconcilers::ensureFinalizer), which saves one write
//     per object: the status is then the only write a new object costs (docs/benchmarks.md);
//   - an object deleted before its first reconcile is still held until its reconciler has
//     recorded the deletion (the Project's membership ends at its exact deletionTimestamp, a
//     BillingGroup waits for R6), instead of vanishing before the operator saw it.
//
// Objects created before the webhook existed, or while it was not registered, still get the
// finalizer from their reconciler. The decision needs nothing but the request: no snapshot, no
// clock. Reviews are decoded by parseAdmissionReview, like the validating webhook's, so a bad
// AdmissionReview gets the same 400 and message on both paths. See docs/webhook.md.
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <optional>
#include <string_view>

#include "operator/webhook/admission_review.h"

namespace billing::webhook {

// The finalizer the operator wants on a new object of this kind (request.kind of the review):
// reconcilers::kProjectFinalizer, reconcilers::kBillingGroupFinalizer; none for other kinds.
std::optional<std::string_view> finalizerFor(const AdmissionRequest& request);

// The decision for one request: allowed, with a JSONPatch adding the finalizer for a CREATE of a
// Project or BillingGroup that lacks it (`add /metadata/finalizers` with the whole array when the
// object has none, `add /metadata/finalizers/-` otherwise); allowed unchanged for everything
// else. A dry run gets the same answer, so `kubectl apply --dry-run=server -o yaml` shows the
// object as a real create would store it (the patch has no side effect). An object whose
// metadata.finalizers is not an array of strings is refused (422) with where and what.
AdmissionResponse mutate(const AdmissionRequest& request);

// parseAdmissionReview, mutate and encodeAdmissionReview in one.
std::expected<web::json::value, ReviewError> mutateReview(const web::json::value& admissionReview);

}  // namespace billing::webhook
