// Rules R1-R10 of ../shared/DESIGN.md as pure functions over a Snapshot. The offline checker
// reports validate()'s result, the admission webhook reports the violations a change
// introduces, and the reconcilers use the resolution and deletion helpers to decide what to do.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/snapshot_index.h"
#include "reconcilers/domain/violation.h"

namespace billing::domain {

struct RuleOptions {
  // When set, an Invoice asking to finalize a period that has not ended yet is a violation.
  // Unset in offline checks that should not depend on the clock.
  std::optional<Timestamp> now;
};

// Every violation in the snapshot, ordered by object, then field, then code.
std::vector<Violation> validate(const Snapshot& snapshot, const RuleOptions& options = {});

// The violations of one object, without the whole-snapshot checks (duplicates, one invoice per
// period): what a reconciler reports in the object's Ready condition.
std::vector<Violation> validateObject(const SnapshotIndex& index, const ObjectKey& key,
                                      const RuleOptions& options = {});

// The violations in `after` that are not in `before`: what a change introduces. The webhook
// refuses a change for these only, so an unrelated, already-broken object elsewhere in the
// cluster never blocks a user.
std::vector<Violation> introducedViolations(const std::vector<Violation>& before,
                                            const std::vector<Violation>& after);

// ---- R4 single membership ----

// The name of the project billing group the operator creates for a project without a
// billingGroupRef: "<project>-billing", shortened with a hash suffix to stay a valid name.
std::string defaultGroupName(std::string_view projectName);

struct Membership {
  enum class Source {
    Reference,   // spec.billingGroupRef names the group
    BoundGroup,  // no reference; a Project-scope group's projectRef names this project
    // No reference and no bound group: the group named defaultGroupName(project). When it
    // does not exist yet the operator creates it; when it exists it is the project's former own
    // group moved to Organization scope (annotated kDefaultGroupOfAnnotation).
    DefaultGroup,
  };
  Source source = Source::Reference;
  ObjectKey group;                      // always set, even when the group is still to be created
  const BillingGroup* found = nullptr;  // the group when it exists in the snapshot
};

// Which group a project belongs to. Errors (not found, cross-organization, bound to another
// project) come back as the violation that explains them.
std::expected<Membership, Violation> resolveMembership(const SnapshotIndex& index,
                                                       const Project& project);

// The projects whose membership resolves to `group`, sorted by namespace and name.
std::vector<const Project*> membersOf(const SnapshotIndex& index, const BillingGroup& group);

// ---- R5 deleting a project ----

struct ProjectDeletionPlan {
  std::vector<ObjectKey> groupsToDelete;   // its Project-scope groups
  std::vector<ObjectKey> groupsSurviving;  // groups it created that were moved to Organization
};
ProjectDeletionPlan planProjectDeletion(const SnapshotIndex& index, const Project& project);

// Owner references the operator must drop from a group so that the group survives deletion
// of its former project: every Project owner of a group whose scope is Organization.
std::vector<OwnerReference> ownerReferencesToRelease(const BillingGroup& group);

// ---- R6 deleting a billing group ----

// nullopt when the group may go now; otherwise a GroupHasProjects violation naming the members.
std::optional<Violation> checkGroupDeletion(const SnapshotIndex& index, const BillingGroup& group);

}  // namespace billing::domain
