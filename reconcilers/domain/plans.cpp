#include "reconcilers/domain/plans.h"

#include "reconcilers/domain/conditions.h"

namespace billing::domain {
namespace {

Condition ready(ConditionStatus status, std::string reason, std::string message,
                std::int64_t generation) {
  return Condition{std::string(kConditionReady), status,     std::move(reason),
                   std::move(message),           generation, std::nullopt};
}

BillingGroup defaultGroupFor(const SnapshotIndex& index, const Project& project,
                             const std::string& name, const ProjectPlanOptions& options) {
  BillingGroup group;
  group.metadata.name = name;
  group.metadata.ns = project.metadata.ns;
  group.metadata.annotations[std::string(kDefaultGroupOfAnnotation)] = project.metadata.name;
  // Owned by the project, so it goes when the project goes (R5).
  group.metadata.ownerReferences.push_back(OwnerReference{std::string(kApiVersion), "Project",
                                                          project.metadata.name,
                                                          project.metadata.uid, true, true});
  group.spec.scope = Scope::Project;
  group.spec.projectRef = LocalObjectReference{project.metadata.name};
  group.spec.displayName =
      project.spec.displayName.empty() ? project.metadata.name : project.spec.displayName;
  group.spec.currency = options.defaultCurrency;
  if (const Namespace* ns = index.findNamespace(project.metadata.ns)) {
    auto currency = ns->metadata.annotations.find(std::string(kDefaultCurrencyAnnotation));
    if (currency != ns->metadata.annotations.end() && !currency->second.empty()) {
      group.spec.currency = currency->second;
    }
  }
  return group;
}

}  // namespace

ProjectPlan planProject(const SnapshotIndex& index, const Project& project,
                        const ProjectPlanOptions& options) {
  ProjectPlan plan;
  const std::int64_t generation = project.metadata.generation;
  plan.status = project.status;
  plan.status.organization = index.organizationOf(project.metadata.ns);
  plan.status.observedGeneration = generation;

  auto membership = resolveMembership(index, project);
  if (!membership) {
    plan.problem = membership.error();
    plan.status.billingGroup.reset();
    setCondition(plan.status.conditions,
                 ready(ConditionStatus::False, reasonFor(membership.error()),
                       membership.error().message, generation),
                 options.now);
    return plan;
  }
  if (membership->found == nullptr) {
    plan.groupToCreate = defaultGroupFor(index, project, membership->group.name, options);
    plan.status.billingGroup.reset();
    setCondition(plan.status.conditions,
                 ready(ConditionStatus::False, "CreatingBillingGroup",
                       "Creating the project's own billing group " + membership->group.display() +
                           " (the project names no group)",
                       generation),
                 options.now);
    return plan;
  }
  const BillingGroup& group = *membership->found;
  plan.group = group.key();
  plan.status.billingGroup =
      ProjectBillingGroupStatus{group.metadata.name, group.metadata.ns, group.spec.scope};
  if (group.metadata.deletionTimestamp) {
    setCondition(plan.status.conditions,
                 ready(ConditionStatus::False, "BillingGroupDeleting",
                       "Billing group " + group.key().display() +
                           " is being deleted: move the project to another billing group",
                       generation),
                 options.now);
    return plan;
  }
  setCondition(plan.status.conditions,
               ready(ConditionStatus::True, "BillingGroupAssigned",
                     "Billed to billing group " + group.key().display() + " (" +
                         std::string(scopeName(group.spec.scope)) + " scope, organization " +
                         plan.status.organization + ")",
                     generation),
               options.now);
  return plan;
}

BillingGroupPlan planBillingGroup(const SnapshotIndex& index, const BillingGroup& group,
                                  Timestamp now) {
  BillingGroupPlan plan;
  const std::int64_t generation = group.metadata.generation;
  plan.status = group.status;
  plan.status.organization = index.organizationOf(group.metadata.ns);
  plan.status.observedGeneration = generation;
  plan.status.projects.clear();
  for (const Project* member : membersOf(index, group)) {
    plan.status.projects.push_back({member->metadata.ns, member->metadata.name});
  }
  plan.status.projectCount = static_cast<std::int64_t>(plan.status.projects.size());
  if (group.spec.scope == Scope::Project) plan.status.credits.clear();
  plan.ownerReferencesToRelease = ownerReferencesToRelease(group);

  for (Violation& v : validateObject(index, group.key())) {
    if (v.severity == Severity::Error) plan.problems.push_back(std::move(v));
  }
  if (group.metadata.deletionTimestamp) plan.deletionBlocked = checkGroupDeletion(index, group);

  if (plan.deletionBlocked) {
    setCondition(plan.status.conditions,
                 ready(ConditionStatus::False, reasonFor(*plan.deletionBlocked),
                       plan.deletionBlocked->message, generation),
                 now);
  } else if (!plan.problems.empty()) {
    std::string message = plan.problems.front().message;
    if (plan.problems.size() > 1) {
      message += " (and " + std::to_string(plan.problems.size() - 1) + " more)";
    }
    setCondition(
        plan.status.conditions,
        ready(ConditionStatus::False, reasonFor(plan.problems.front()), message, generation), now);
  } else {
    setCondition(plan.status.conditions,
                 ready(ConditionStatus::True, "Reconciled",
                       std::string(scopeName(group.spec.scope)) +
                           " billing group of organization " + plan.status.organization +
                           " billing " + std::to_string(plan.status.projectCount) +
                           (plan.status.projectCount == 1 ? " project" : " projects"),
                       generation),
                 now);
  }
  return plan;
}

}  // namespace billing::domain
