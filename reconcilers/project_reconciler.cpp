#include "reconcilers/project_reconciler.h"

#include <algorithm>

#include "reconcilers/backend_sync.h"
#include "reconcilers/codec/objects.h"
#include "reconcilers/domain/conditions.h"
#include "reconcilers/domain/plans.h"
#include "reconcilers/domain/rules.h"
#include "reconcilers/resources.h"

namespace billing::reconcilers {
namespace {

// Ready reasons that mean "in progress", not "something is wrong".
const std::vector<std::string_view> kProgressReasons = {"CreatingBillingGroup",
                                                        "BillingAccountPending"};

domain::Condition readyFalse(std::string reason, std::string message, std::int64_t generation) {
  return domain::Condition{std::string(domain::kConditionReady),
                           domain::ConditionStatus::False,
                           std::move(reason),
                           std::move(message),
                           generation,
                           std::nullopt};
}

bool sameGroup(const std::optional<domain::ProjectBillingGroupStatus>& a,
               const std::optional<domain::ProjectBillingGroupStatus>& b) {
  if (!a || !b) return a.has_value() == b.has_value();
  return a->name == b->name && a->ns == b->ns;
}

}  // namespace

ProjectReconciler::ProjectReconciler(ReconcilerDeps deps, ReconcilerOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

runtime::ReconcileOutcome ProjectReconciler::reconcile(const runtime::Request& request) {
  const runtime::Logger log = detail::loggerFor(deps_.logger, request);
  if (deps_.caches.projects == nullptr) return runtime::Result{};
  auto loaded = detail::loadWithFinalizer(
      *deps_.caches.projects, deps_.client, projectsResource(), request, kProjectFinalizer,
      [](const web::json::value& o) { return codec::decodeProject(o); });
  if (!loaded) return std::unexpected(loaded.error());
  if (!*loaded) return runtime::Result{};  // gone; the finalizer did the backend's part
  web::json::value object = std::move((*loaded)->object);
  domain::Project project = std::move((*loaded)->decoded);

  if (project.metadata.deletionTimestamp) return finalize(object, std::move(project), log);

  const domain::Snapshot snapshot = snapshotForProject(deps_.caches, request.ns, request.name);
  const domain::SnapshotIndex index(snapshot);
  const domain::Timestamp now = deps_.now();
  domain::ProjectPlan plan = domain::planProject(index, project, {now, options_.defaultCurrency});
  const std::int64_t generation = project.metadata.generation;

  runtime::Result result;
  std::optional<std::string> failure;
  bool waitForGroupsFirstReconcile = false;
  if (plan.groupToCreate) {
    const domain::BillingGroup& group = *plan.groupToCreate;
    auto created =
        deps_.client.create(billingGroupsResource(), group.metadata.ns, codec::encode(group));
    if (created) {
      log.info("Created the project's own billing group", {{"billingGroup", group.metadata.name}});
      if (deps_.events) {
        deps_.events(object, runtime::EventType::Normal, "BillingGroupCreated",
                     "Created project billing group " + group.key().display() +
                         " for the project, which names no billing group");
      }
    } else if (created.error().kind != kube::ErrorKind::AlreadyExists) {
      failure =
          "creating billing group " + group.key().display() + ": " + created.error().describe();
    }
    // The group's events bring the project back; this is the safety net.
    result.requeueAfter = options_.accountPendingRetry;
  } else if (plan.group && !plan.problem) {
    const domain::BillingGroup* group = index.findBillingGroup(plan.group->ns, plan.group->name);
    // Without a backend (no --ledger-url) there is no membership to record.
    if (deps_.backend != nullptr && group != nullptr && !group->metadata.deletionTimestamp &&
        !group->metadata.uid.empty()) {
      std::optional<std::string> kubeFailure;
      if (auto error = syncMembership(project, *group, plan.status.organization, now, log,
                                      kubeFailure, object)) {
        domain::setCondition(
            plan.status.conditions,
            readyFalse(backendReason(*error),
                       detail::backendMessage("Recording the project's membership of billing "
                                              "group " +
                                                  group->key().display() +
                                                  " at the billing backend failed",
                                              *error),
                       generation),
            now);
        if (error->retryable() || error->kind == backend::BackendErrorKind::Unauthorized) {
          failure = error->message();
        } else if (error->kind == backend::BackendErrorKind::NotFound) {
          result.requeueAfter = options_.accountPendingRetry;
          // The group's account is created by the group's first reconcile, whose status write
          // brings this project back (secondary event). Until then a first status would only
          // say "pending" for a moment and cost a write per project at cold start.
          waitForGroupsFirstReconcile = detail::readyOf(project.status.conditions) == nullptr &&
                                        detail::readyOf(group->status.conditions) == nullptr;
        } else {
          result.requeueAfter = jittered(options_.driftInterval, options_.driftJitter);
        }
      }
      if (kubeFailure && !failure) failure = kubeFailure;
    }
  } else if (plan.problem && deps_.backend != nullptr) {
    if (auto error = endForeignMembership(project, plan.status.organization, now, log)) {
      // The Ready condition keeps the problem (the user's to fix); the backoff retries the end.
      failure =
          "ending the membership in another organization's billing group: " + error->message();
    }
  }

  if (!waitForGroupsFirstReconcile) {
    if (auto written = writeStatus(object, project, plan.status); written && !failure) {
      failure = *written;
    }
  }
  if (failure) {
    log.error("Reconcile failed", {{"error", *failure}});
    return std::unexpected(runtime::ReconcileError{*failure});
  }
  return result;
}

kube::Result<web::json::value> ProjectReconciler::patchPendingMove(
    const domain::Project& project, std::optional<std::string> value) {
  web::json::value patch = web::json::value::object();
  patch["metadata"] = web::json::value::object();
  patch["metadata"]["annotations"] = web::json::value::object();
  patch["metadata"]["annotations"][std::string(kPendingMoveAnnotation)] =
      value ? web::json::value::string(*value) : web::json::value::null();
  return deps_.client.patch(projectsResource(), project.metadata.ns, project.metadata.name,
                            kube::PatchType::Merge, patch);
}

std::optional<backend::BackendError> ProjectReconciler::endForeignMembership(
    const domain::Project& project, const std::string& organization, domain::Timestamp now,
    const runtime::Logger& log) {
  const std::string name = backendProjectName(project);
  auto memberships = deps_.backend->listMemberships(backend::MembershipFilter{name, ""});
  if (!memberships) return memberships.error();
  const std::optional<backend::Membership> current = membershipAt(*memberships, now);
  if (!current) return std::nullopt;
  return endIfForeign(project, *current, organization, now, log);
}

std::optional<backend::BackendError> ProjectReconciler::endIfForeign(
    const domain::Project& project, const backend::Membership& current,
    const std::string& organization, domain::Timestamp now, const runtime::Logger& log) {
  auto accountOrg = accountOrganization(current.accountId);
  if (!accountOrg) return accountOrg.error();
  if (*accountOrg == organization) return std::nullopt;  // same tenant: kept
  // Keyed by the membership it ends: a later end (the project's deletion) is another request.
  auto ended = deps_.backend->endMembership(backendProjectName(project), now,
                                            "end-membership-" + current.id);
  if (!ended) return ended.error();
  log.info("Ended the project's membership in another organization's billing group",
           {{"account", current.accountId},
            {"accountOrganization", *accountOrg},
            {"projectOrganization", organization},
            {"effectiveTo", domain::formatTimestamp(now)}});
  if (deps_.events) {
    deps_.events(codec::encode(project), runtime::EventType::Warning, "MembershipEnded",
                 "Stopped billing the project to account " + current.accountId +
                     " of organization " + *accountOrg + ": the project is now in organization " +
                     organization + "; name a billing group of its organization");
  }
  return std::nullopt;
}

backend::BackendResult<std::string> ProjectReconciler::accountOrganization(
    const std::string& accountId) {
  {
    std::lock_guard lock(accountOrganizationsMutex_);
    if (auto found = accountOrganizations_.find(accountId); found != accountOrganizations_.end()) {
      return found->second;
    }
  }
  auto account = deps_.backend->getAccount(accountId);
  if (!account) return std::unexpected(account.error());
  std::lock_guard lock(accountOrganizationsMutex_);
  return accountOrganizations_.emplace(accountId, account->spec.organization).first->second;
}

std::optional<backend::BackendError> ProjectReconciler::syncMembership(
    const domain::Project& project, const domain::BillingGroup& group,
    const std::string& organization, domain::Timestamp now, const runtime::Logger& log,
    std::optional<std::string>& kubeFailure, web::json::value& object) {
  const std::string name = backendProjectName(project);
  const std::string& accountId = group.metadata.uid;
  auto memberships = deps_.backend->listMemberships(backend::MembershipFilter{name, ""});
  if (!memberships) return memberships.error();
  const std::string key = membershipKey(project, accountId);
  const std::optional<backend::Membership> current = membershipAt(*memberships, now);
  // Tenancy at the backend: the group's namespace may have been relabelled after its account was
  // opened, and an account never changes organization. The cluster's labels then agree and the
  // webhook admits the reference, but the account still bills the other organization.
  auto accountOrg = accountOrganization(accountId);
  if (!accountOrg) return accountOrg.error();
  if (*accountOrg != organization) {
    if (current) {
      if (auto error = endIfForeign(project, *current, organization, now, log)) return error;
    }
    return backend::BackendError{
        backend::BackendErrorKind::Conflict, 409, "account-of-another-organization",
        "the account of billing group " + group.key().display() + " belongs to organization " +
            *accountOrg + " (opened while the group's namespace was in that organization; an " +
            "account never changes organization) and the project is in organization " +
            organization +
            ": recreate the billing group (a new group gets a new account) or name another one",
        "organization"};
  }
  const auto pending = project.metadata.annotations.find(std::string(kPendingMoveAnnotation));
  if (current && current->accountId == accountId) {
    if (pending != project.metadata.annotations.end()) {
      // The move is recorded; the annotation has done its job. Best effort: a leftover one is
      // ignored (the next move has another key).
      if (auto cleared = patchPendingMove(project, std::nullopt); !cleared) {
        log.info("Could not remove the pending-move annotation",
                 {{"error", cleared.error().describe()}});
      } else {
        object = std::move(*cleared);
      }
    }
    return std::nullopt;
  }

  if (!current) {
    // The first membership: from the project's creation, so that nothing it used is unbilled.
    // Stable across retries: the creation time and the ends of earlier memberships.
    domain::Timestamp from = project.metadata.creationTimestamp.value_or(now);
    for (const backend::Membership& earlier : *memberships) {
      if (earlier.effectiveTo && *earlier.effectiveTo > from) from = *earlier.effectiveTo;
    }
    from = std::min(from, now);
    std::string addKey = key;
    // Back from another organization (its namespace was relabelled there and back): the time
    // since the last membership ended was that organization's, not this group's to pay. The key
    // differs from the first add's (same group and generation), which the backend would replay.
    if (!project.status.organization.empty() && project.status.organization != organization &&
        !memberships->empty()) {
      from = now;
      addKey += "-rejoined-" + domain::formatTimestamp(now);
    }
    auto added = deps_.backend->addMembership(name, accountId, from, std::nullopt, addKey);
    if (!added) return added.error();
    log.info("Recorded the project's membership at the billing backend",
             {{"billingGroup", group.key().display()},
              {"effectiveFrom", domain::formatTimestamp(from)}});
    return std::nullopt;
  }

  // The move's time is decided once, persisted, and reused by every retry of this key.
  domain::Timestamp at = now;
  std::optional<domain::Timestamp> persisted;
  if (pending != project.metadata.annotations.end() && pending->second.rfind(key + " ", 0) == 0) {
    persisted = domain::parseTimestamp(std::string_view(pending->second).substr(key.size() + 1));
  }
  if (persisted) {
    at = *persisted;
  } else {
    auto written = patchPendingMove(project, key + " " + domain::formatTimestamp(now));
    if (!written) {
      kubeFailure = "recording the pending move on the project: " + written.error().describe();
      return std::nullopt;
    }
    object = std::move(*written);
  }
  auto moved = deps_.backend->moveProject(name, accountId, at, key);
  if (!moved) return moved.error();
  if (auto cleared = patchPendingMove(project, std::nullopt); !cleared) {
    log.info("Could not remove the pending-move annotation",
             {{"error", cleared.error().describe()}});
  } else {
    object = std::move(*cleared);
  }
  log.info("Recorded the project's move at the billing backend",
           {{"billingGroup", group.key().display()},
            {"fromAccount", current->accountId},
            {"effectiveFrom", domain::formatTimestamp(at)}});
  return std::nullopt;
}

std::optional<std::string> ProjectReconciler::writeStatus(const web::json::value& object,
                                                          const domain::Project& project,
                                                          const domain::ProjectStatus& status) {
  if (status == project.status) return std::nullopt;
  web::json::value updated = object;
  updated["status"] = codec::encodeStatus(status);
  auto written = deps_.client.updateStatus(projectsResource(), project.metadata.ns, updated);
  if (!written) return "writing the status: " + written.error().describe();
  // A move to another group is a transition even when Ready stays True (not the first group).
  const bool moved = project.status.billingGroup.has_value() &&
                     !sameGroup(project.status.billingGroup, status.billingGroup);
  detail::eventOnReadyTransition(deps_.events, object, detail::readyOf(project.status.conditions),
                                 detail::readyOf(status.conditions), kProgressReasons, moved);
  return std::nullopt;
}

runtime::ReconcileOutcome ProjectReconciler::finalize(const web::json::value& object,
                                                      domain::Project project,
                                                      const runtime::Logger& log) {
  if (!detail::hasFinalizer(project.metadata, kProjectFinalizer)) return runtime::Result{};
  const domain::Snapshot snapshot =
      snapshotForProject(deps_.caches, project.metadata.ns, project.metadata.name);
  const domain::SnapshotIndex index(snapshot);

  // R5: the project's own billing groups go with it (the owner reference does the same for the
  // group the operator created; this covers groups users bound to the project).
  const domain::ProjectDeletionPlan deletion = domain::planProjectDeletion(index, project);
  for (const domain::ObjectKey& key : deletion.groupsToDelete) {
    const domain::BillingGroup* group = index.findBillingGroup(key.ns, key.name);
    if (group != nullptr && group->metadata.deletionTimestamp) continue;
    auto removed = deps_.client.remove(billingGroupsResource(), key.ns, key.name);
    if (!removed && removed.error().kind != kube::ErrorKind::NotFound) {
      return std::unexpected(runtime::ReconcileError{"deleting billing group " + key.display() +
                                                     ": " + removed.error().describe()});
    }
    if (removed) {
      log.info("Deleting the project's billing group with it", {{"billingGroup", key.display()}});
      if (deps_.events) {
        deps_.events(object, runtime::EventType::Normal, "BillingGroupDeleted",
                     "Deleting project billing group " + key.display() + " with its project");
      }
    }
  }

  // End the backend membership at the deletion time.
  const domain::Timestamp at = *project.metadata.deletionTimestamp;
  const std::string name = backendProjectName(project);
  std::optional<backend::BackendError> error;
  auto memberships =
      deps_.backend != nullptr
          ? deps_.backend->listMemberships(backend::MembershipFilter{name, ""})
          : backend::BackendResult<std::vector<backend::Membership>>();  // no backend: none
  if (!memberships) {
    error = memberships.error();
  } else if (membershipAt(*memberships, at)) {
    auto ended = deps_.backend->endMembership(name, at, endMembershipKey(project));
    if (!ended) {
      error = ended.error();
    } else {
      log.info("Ended the project's membership at the billing backend",
               {{"effectiveTo", domain::formatTimestamp(at)}});
    }
  }
  if (error) {
    domain::ProjectStatus status = project.status;
    domain::setCondition(
        status.conditions,
        readyFalse(
            backendReason(*error),
            detail::backendMessage(
                "Ending the deleted project's membership at the billing backend failed", *error),
            project.metadata.generation),
        deps_.now());
    writeStatus(object, project, status);
    log.error("Ending the membership failed", {{"error", error->message()}});
    return std::unexpected(runtime::ReconcileError{error->message()});
  }

  std::vector<std::string> finalizers = project.metadata.finalizers;
  std::erase(finalizers, std::string(kProjectFinalizer));
  auto patched =
      detail::patchFinalizers(deps_.client, projectsResource(), project.metadata, finalizers);
  if (!patched && patched.error().kind != kube::ErrorKind::NotFound) {
    return std::unexpected(
        runtime::ReconcileError{"removing the finalizer: " + patched.error().describe()});
  }
  return runtime::Result{};
}

}  // namespace billing::reconcilers
