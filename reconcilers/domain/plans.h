// What the reconcilers should make true, computed purely from a snapshot: the status of a Project
// or BillingGroup, the project billing group to create (R4), the owner references to release
// (R5), and whether a deletion must wait (R6). The reconcilers carry the plans out against the
// API server and the billing backend; keeping the decisions here keeps them unit-testable.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/rules.h"
#include "reconcilers/domain/snapshot_index.h"
#include "reconcilers/domain/violation.h"

namespace billing::domain {

// Namespaces may choose the currency of the project billing groups the operator creates in them.
inline constexpr std::string_view kDefaultCurrencyAnnotation =
    "billing.operator.dev/default-currency";

struct ProjectPlan {
  ProjectStatus status;
  // R4: the project billing group to create, when the project names none and has none yet.
  std::optional<BillingGroup> groupToCreate;
  // The group the project belongs to, when it exists (the backend membership follows it).
  std::optional<ObjectKey> group;
  // Why the project has no usable group, when it has none.
  std::optional<Violation> problem;
};

struct ProjectPlanOptions {
  Timestamp now;
  std::string defaultCurrency = "USD";  // unless the namespace's annotation says otherwise
};

ProjectPlan planProject(const SnapshotIndex& index, const Project& project,
                        const ProjectPlanOptions& options);

struct BillingGroupPlan {
  // organization, projects, projectCount, conditions and observedGeneration; the backend-owned
  // fields (credits, currentPeriod, lastInvoice) are carried over from the current status.
  BillingGroupStatus status;
  std::vector<OwnerReference> ownerReferencesToRelease;  // R5
  std::optional<Violation> deletionBlocked;              // R6, while deleting
  std::vector<Violation> problems;                       // errors of this group's spec
};

BillingGroupPlan planBillingGroup(const SnapshotIndex& index, const BillingGroup& group,
                                  Timestamp now);

}  // namespace billing::domain
