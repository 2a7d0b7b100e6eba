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

class ProjectReconciler final : public runtime::Reconciler {
 public:
  ProjectReconciler(ReconcilerDeps deps, ReconcilerOptions options);

  runtime::ReconcileOutcome reconcile(const runtime::Request& request) override;

 private:
  runtime::ReconcileOutcome finalize(const web::json::value& object, domain::Project project,
                                     const runtime::Logger& log);
  // Makes the backend's membership of the project point at `group`'s account; the error when
  // it could not.
  std::optional<backend::BackendError> syncMembership(const domain::Project& project,
                                                      const domain::BillingGroup& group,
                                                      domain::Timestamp now,
                                                      const runtime::Logger& log);
  // Writes `status` when it differs from the object's, and emits the Ready transition's event.
  // The error describes a failed write.
  std::optional<std::string> writeStatus(const web::json::value& object,
                                         const domain::Project& project,
                                         const domain::ProjectStatus& status);

  ReconcilerDeps deps_;
  ReconcilerOptions options_;
  // The effective time of a move, by idempotency key, fixed when the move is first attempted so
  // that a retry sends the very same request.
  std::mutex mutex_;
  std::map<std::string, domain::Timestamp> pendingMoves_;
};

}  // namespace billing::reconcilers
