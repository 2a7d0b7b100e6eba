// The Project reconciler: resolves the project's billing group (same namespace, or another
// namespace of the same organization), creates the project's own project billing group when it
// names none (R4), records every membership change with its effective time at the billing
// backend, and writes status.organization, status.billingGroup, the Ready condition and
// observedGeneration. A finalizer ends the backend membership at the project's deletion time and
// deletes the project's project billing groups (R5) before the project goes.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "operator/runtime/controller.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/reconciler_support.h"

namespace billing::reconcilers {

// The effective time of a move the reconciler decided but has not seen recorded at the backend
// yet: "<idempotency key> <RFC 3339 time>". Written on the Project before the backend call, so
// that a retry, even by a restarted operator, sends the very same request (the backend refuses a
// reused key with another time); removed once the move is recorded.
inline constexpr std::string_view kPendingMoveAnnotation = "billing.operator.dev/pending-move";

class ProjectReconciler final : public runtime::Reconciler {
 public:
  ProjectReconciler(ReconcilerDeps deps, ReconcilerOptions options);

  runtime::ReconcileOutcome reconcile(const runtime::Request& request) override;

 private:
  runtime::ReconcileOutcome finalize(const web::json::value& object, domain::Project project,
                                     const runtime::Logger& log);
  // Makes the backend's membership of the project point at `group`'s account; the error when
  // it could not. A failed write of the pending-move annotation comes back in `kubeFailure`;
  // `object` becomes the server's answer to the writes that succeeded.
  // `organization` is the project's organization now: when it differs from the one its last
  // status recorded, a new membership starts now rather than where the last one ended (the time
  // between was another organization's).
  std::optional<backend::BackendError> syncMembership(
      const domain::Project& project, const domain::BillingGroup& group,
      const std::string& organization, domain::Timestamp now, const runtime::Logger& log,
      std::optional<std::string>& kubeFailure, web::json::value& object);
  // Tenancy: ends the project's open membership when its account belongs to another organization
  // than the project's (`organization`, empty when its namespace has none); the project has no
  // usable group then, and nothing of it may be billed to another organization.
  std::optional<backend::BackendError> endForeignMembership(const domain::Project& project,
                                                            const std::string& organization,
                                                            domain::Timestamp now,
                                                            const runtime::Logger& log);
  // The same for a membership already read.
  std::optional<backend::BackendError> endIfForeign(const domain::Project& project,
                                                    const backend::Membership& current,
                                                    const std::string& organization,
                                                    domain::Timestamp now,
                                                    const runtime::Logger& log);
  // The organization of a backend account, read once: the backend never moves an account to
  // another organization (R10), so what it said stays true.
  backend::BackendResult<std::string> accountOrganization(const std::string& accountId);

  std::mutex accountOrganizationsMutex_;
  std::map<std::string, std::string, std::less<>> accountOrganizations_;
  // Sets (a value) or removes (nullopt) the pending-move annotation.
  kube::Result<web::json::value> patchPendingMove(const domain::Project& project,
                                                  std::optional<std::string> value);
  // Writes `status` when it differs from the object's, and emits the Ready transition's event.
  // The error describes a failed write.
  std::optional<std::string> writeStatus(const web::json::value& object,
                                         const domain::Project& project,
                                         const domain::ProjectStatus& status);

  ReconcilerDeps deps_;
  ReconcilerOptions options_;
};

}  // namespace billing::reconcilers
