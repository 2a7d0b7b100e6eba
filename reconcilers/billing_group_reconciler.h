// The BillingGroup reconciler: status (organization from the Namespace label, R10; members and
// their count; credits), owner references released when a project group moves to Organization
// scope (R5), the backend account created, updated on drift (checked on a jittered interval) and
// closed at deletion, credit grants synced by grant id (organization groups only, R2), and a
// finalizer that holds the deletion while projects remain (R6).
#pragma once

#include <optional>
#include <string>

#include "operator/runtime/controller.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/domain/plans.h"
#include "reconcilers/reconciler_support.h"

namespace billing::reconcilers {

class BillingGroupReconciler final : public runtime::Reconciler {
 public:
  BillingGroupReconciler(ReconcilerDeps deps, ReconcilerOptions options);

  runtime::ReconcileOutcome reconcile(const runtime::Request& request) override;

 private:
  runtime::ReconcileOutcome finalize(const web::json::value& object,
                                     const domain::BillingGroup& group,
                                     domain::BillingGroupPlan plan, const runtime::Logger& log);
  // Creates or corrects the backend account and grants missing credits; fills status.credits.
  std::optional<backend::BackendError> syncAccount(const web::json::value& object,
                                                   const domain::BillingGroup& group,
                                                   domain::BillingGroupStatus& status,
                                                   const runtime::Logger& log);
  std::optional<std::string> writeStatus(const web::json::value& object,
                                         const domain::BillingGroup& group,
                                         const domain::BillingGroupStatus& status);

  ReconcilerDeps deps_;
  ReconcilerOptions options_;
};

}  // namespace billing::reconcilers
