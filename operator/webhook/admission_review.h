// The validating admission webhook's decision, as a pure function of an AdmissionReview request
// (admission.k8s.io/v1), the cluster's billing objects and the time. No I/O beyond the
// SnapshotSource, so every rule family is unit-tested over in-memory snapshots; the HTTPS part
// lives in webhook_server.h. See docs/webhook.md for the behaviour users see.
//
// CREATE and UPDATE of BillingGroups, Projects and Invoices are refused when they introduce a rule
// violation (domain::introducedViolations of the snapshot before and after the change), so an
// already-broken object elsewhere never blocks anyone. References to objects that do not exist
// yet (BillingGroupNotFound, ProjectNotFound) are warnings here: GitOps tools and `kubectl apply
// -f dir` may create a Project before its group, and the reconcilers report them in status.
// DELETE of a BillingGroup is refused (403, GroupHasProjects, the domain's message) while it still
// bills projects that are not being deleted themselves (R6); when every remaining member has a
// deletionTimestamp (a GitOps prune of a whole folder, a namespace teardown) or there is none, it
// is allowed.
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/webhook/snapshot_source.h"
#include "reconcilers/domain/time.h"
#include "reconcilers/domain/violation.h"
#include "reconcilers/resources.h"

namespace billing::webhook {

// The path the validating webhook serves reviews on, for all three kinds.
inline constexpr std::string_view kValidatePath = "/validate";
// The path the mutating webhook serves reviews on (mutation.h): the finalizer on CREATE.
inline constexpr std::string_view kMutatePath = "/mutate";

// The parts of AdmissionReview.request the decision reads.
struct AdmissionRequest {
  std::string apiVersion;  // of the AdmissionReview; the answer uses the same
  std::string uid;
  std::string group;  // request.kind
  std::string version;
  std::string kind;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string ns;
  std::string name;
  web::json::value object;     // null for DELETE
  web::json::value oldObject;  // null for CREATE
  bool dryRun = false;
};

struct AdmissionResponse {
  std::string uid;
  bool allowed = true;
  // A denial's metav1.Status: 403 Forbidden for rule violations, 422 Invalid for objects that do
  // not decode. The API server shows `admission webhook "<name>" denied the request: <message>`.
  int code = 0;
  std::string reason;
  std::string message;
  std::vector<domain::Violation> violations;  // what was refused, for status.details.causes
  std::vector<std::string> warnings;
  // A mutating webhook's change to the object, as JSONPatch operations (RFC 6902); sent as
  // patchType JSONPatch with the patch base64-encoded. Absent: the object is left as it is.
  std::optional<web::json::value> patch;
};

// Why there is no answer to give: the request is not an AdmissionReview (400), or the cluster's
// objects could not be read (500, so that the API server applies the failurePolicy).
struct ReviewError {
  int httpStatus = 400;
  std::string message;
};

// Reads an AdmissionReview of admission.k8s.io/v1 (or v1beta1, which has the same shape).
std::expected<AdmissionRequest, ReviewError> parseAdmissionReview(const web::json::value& review);

// The decision for one request. `now` is for rules that depend on the clock (PeriodNotEnded).
std::expected<AdmissionResponse, ReviewError> decide(const AdmissionRequest& request,
                                                     const SnapshotSource& source,
                                                     domain::Timestamp now);

// The AdmissionReview to answer with: apiVersion (the request's), kind, and response{uid,
// allowed, status{...} when denied, warnings when any, patchType and patch when patched}.
web::json::value encodeAdmissionReview(const AdmissionResponse& response,
                                       std::string_view apiVersion);

// parseAdmissionReview, decide and encodeAdmissionReview in one.
std::expected<web::json::value, ReviewError> review(const web::json::value& admissionReview,
                                                    const SnapshotSource& source,
                                                    domain::Timestamp now);

}  // namespace billing::webhook
