#include "reconcilers/billing_group_reconciler.h"

#include <algorithm>

#include "reconcilers/backend_sync.h"
#include "reconcilers/codec/objects.h"
#include "reconcilers/domain/conditions.h"
#include "reconcilers/domain/invoicing.h"
#include "reconcilers/resources.h"

namespace billing::reconcilers {
namespace {

const std::vector<std::string_view> kProgressReasons = {"BillingAccountPending"};

domain::Condition readyFalse(std::string reason, std::string message, std::int64_t generation) {
  return domain::Condition{std::string(domain::kConditionReady),
                           domain::ConditionStatus::False,
                           std::move(reason),
                           std::move(message),
                           generation,
                           std::nullopt};
}

web::json::value ownerReferencesJson(const std::vector<domain::OwnerReference>& owners) {
  if (owners.empty()) return web::json::value::null();
  domain::ObjectMeta meta;
  meta.ownerReferences = owners;
  return codec::encodeMetadata(meta).at("ownerReferences");
}

}  // namespace

BillingGroupReconciler::BillingGroupReconciler(ReconcilerDeps deps, ReconcilerOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

runtime::ReconcileOutcome BillingGroupReconciler::reconcile(const runtime::Request& request) {
  const runtime::Logger log = detail::loggerFor(deps_.logger, request);
  if (deps_.caches.billingGroups == nullptr) return runtime::Result{};
  auto loaded = detail::loadWithFinalizer(
      *deps_.caches.billingGroups, deps_.client, billingGroupsResource(), request,
      kBillingGroupFinalizer,
      [](const web::json::value& o) { return codec::decodeBillingGroup(o); });
  if (!loaded) return std::unexpected(loaded.error());
  if (!*loaded) return runtime::Result{};
  web::json::value object = std::move((*loaded)->object);
  domain::BillingGroup group = std::move((*loaded)->decoded);
  const bool deleting = group.metadata.deletionTimestamp.has_value();
  if (deleting && !detail::hasFinalizer(group.metadata, kBillingGroupFinalizer)) {
    return runtime::Result{};
  }

  const domain::Snapshot snapshot = snapshotForBillingGroup(deps_.caches, request.ns, request.name);
  const domain::SnapshotIndex index(snapshot);
  const domain::Timestamp now = deps_.now();
  domain::BillingGroupPlan plan = domain::planBillingGroup(index, group, now);

  if (deleting) return finalize(object, group, std::move(plan), log);

  std::optional<std::string> failure;
  std::optional<std::chrono::milliseconds> recheck;  // when the next period becomes due
  runtime::Result result;

  // R5: a project group assigned to the organization must survive its former project.
  if (!plan.ownerReferencesToRelease.empty()) {
    std::vector<domain::OwnerReference> remaining;
    for (const domain::OwnerReference& owner : group.metadata.ownerReferences) {
      if (std::find(plan.ownerReferencesToRelease.begin(), plan.ownerReferencesToRelease.end(),
                    owner) == plan.ownerReferencesToRelease.end()) {
        remaining.push_back(owner);
      }
    }
    web::json::value patch = web::json::value::object();
    patch["metadata"] = web::json::value::object();
    patch["metadata"]["ownerReferences"] = ownerReferencesJson(remaining);
    patch["metadata"]["resourceVersion"] = web::json::value::string(group.metadata.resourceVersion);
    auto patched = deps_.client.patch(billingGroupsResource(), group.metadata.ns,
                                      group.metadata.name, kube::PatchType::Merge, patch);
    if (!patched) {
      return std::unexpected(
          runtime::ReconcileError{"releasing owner references: " + patched.error().describe()});
    }
    object = *patched;
    group = codec::decodeBillingGroup(object).value;
    std::string owners;
    for (const domain::OwnerReference& owner : plan.ownerReferencesToRelease) {
      owners += (owners.empty() ? "" : ", ") + owner.kind + " " + owner.name;
    }
    log.info("Released owner references", {{"owners", owners}});
    if (deps_.events) {
      deps_.events(object, runtime::EventType::Normal, "OwnerReferenceReleased",
                   "Billing group now has scope Organization: released owner reference to " +
                       owners + " so the group survives its deletion");
    }
  }

  domain::BillingGroupStatus status = plan.status;
  if (deps_.backend == nullptr) {
    // No backend (no --ledger-url): validate and report, and say that invoicing is off.
    domain::setCondition(
        status.conditions,
        domain::Condition{std::string(kConditionInvoicing), domain::ConditionStatus::False,
                          std::string(kReasonInvoicingOff), std::string(kInvoicingOffMessage),
                          group.metadata.generation, std::nullopt},
        now);
  } else {
    std::erase_if(status.conditions, [](const domain::Condition& condition) {
      return condition.type == kConditionInvoicing;
    });
  }
  if (deps_.backend != nullptr && plan.problems.empty() && !group.metadata.uid.empty()) {
    if (auto error = syncAccount(object, group, status, log)) {
      domain::setCondition(
          status.conditions,
          readyFalse(
              backendReason(*error),
              detail::backendMessage("Syncing the billing account at the backend failed", *error),
              group.metadata.generation),
          now);
      if (error->retryable() || error->kind == backend::BackendErrorKind::Unauthorized) {
        failure = error->message();
      }
    } else if (options_.closePeriods) {
      PeriodCloseOutcome closed = options_.closePeriods(group, status);
      if (closed.backendError) {
        const backend::BackendError& invoicingError = *closed.backendError;
        domain::setCondition(
            status.conditions,
            readyFalse(
                backendReason(invoicingError),
                detail::backendMessage("Invoicing at the billing backend failed", invoicingError),
                group.metadata.generation),
            now);
        if (invoicingError.retryable() ||
            invoicingError.kind == backend::BackendErrorKind::Unauthorized) {
          failure = invoicingError.message();
        }
      }
      if (closed.failure && !failure) failure = closed.failure;
      recheck = closed.recheckAfter;
    }
  }

  if (auto written = writeStatus(object, group, status); written && !failure) failure = *written;
  if (failure) {
    log.error("Reconcile failed", {{"error", *failure}});
    return std::unexpected(runtime::ReconcileError{*failure});
  }
  if (deps_.backend == nullptr) return result;  // nothing to compare with
  // Drift detection: compare with the backend again later; sooner when a period becomes due.
  result.requeueAfter = jittered(options_.driftInterval, options_.driftJitter);
  if (recheck) {
    // Never 0 (that would mean "done"): a group catching up on many periods comes back soon.
    result.requeueAfter =
        std::min(result.requeueAfter, std::max(*recheck, std::chrono::milliseconds(100)));
  }
  return result;
}

std::optional<backend::BackendError> BillingGroupReconciler::syncAccount(
    const web::json::value& object, const domain::BillingGroup& group,
    domain::BillingGroupStatus& status, const runtime::Logger& log) {
  const std::string& accountId = group.metadata.uid;
  const backend::AccountSpec desired = accountSpecFor(group, status.organization);
  std::optional<backend::Account> current;
  if (auto found = deps_.backend->getAccount(accountId)) {
    current = *found;
  } else if (found.error().kind != backend::BackendErrorKind::NotFound) {
    return found.error();
  }
  if (!current || accountDiffers(current->spec, desired)) {
    auto upserted = deps_.backend->upsertAccount(desired, accountKey(group, current));
    if (!upserted) return upserted.error();
    if (current) {
      log.info("Updated the backend account to match the spec");
      if (deps_.events) {
        deps_.events(object, runtime::EventType::Normal, "BackendAccountUpdated",
                     "The billing backend's account differed from the spec; updated it");
      }
    } else {
      log.info("Created the backend account", {{"account", accountId}});
      if (deps_.events) {
        deps_.events(object, runtime::EventType::Normal, "BackendAccountCreated",
                     "Created the billing account at the backend");
      }
    }
  }

  // R2: credits exist only on organization groups.
  if (group.spec.scope != domain::Scope::Organization) return std::nullopt;
  auto credits = deps_.backend->getCredits(accountId);
  if (!credits) return credits.error();
  bool granted = false;
  for (const domain::CreditGrant& grant : group.spec.credits) {
    const bool known =
        std::any_of(credits->grants.begin(), credits->grants.end(),
                    [&](const backend::CreditGrant& g) { return g.spec.id == grant.id; });
    if (known) continue;
    backend::CreditGrantSpec spec{grant.id, grant.amount, grant.description, grant.expiresAt};
    auto result = deps_.backend->grantCredit(accountId, spec, creditKey(accountId, grant.id));
    if (!result) return result.error();
    granted = true;
    log.info("Granted credit at the backend", {{"grant", grant.id}, {"amount", grant.amount}});
  }
  if (granted) {
    credits = deps_.backend->getCredits(accountId);
    if (!credits) return credits.error();
  }
  status.credits = credits->balance;
  return std::nullopt;
}

std::optional<std::string> BillingGroupReconciler::writeStatus(
    const web::json::value& object, const domain::BillingGroup& group,
    const domain::BillingGroupStatus& status) {
  if (status == group.status) return std::nullopt;
  web::json::value updated = object;
  updated["status"] = codec::encodeStatus(status);
  auto written = deps_.client.updateStatus(billingGroupsResource(), group.metadata.ns, updated);
  if (!written) return "writing the status: " + written.error().describe();
  detail::eventOnReadyTransition(deps_.events, object, detail::readyOf(group.status.conditions),
                                 detail::readyOf(status.conditions), kProgressReasons);
  return std::nullopt;
}

runtime::ReconcileOutcome BillingGroupReconciler::finalize(const web::json::value& object,
                                                           const domain::BillingGroup& group,
                                                           domain::BillingGroupPlan plan,
                                                           const runtime::Logger& log) {
  const domain::Timestamp now = deps_.now();
  if (plan.deletionBlocked) {
    // R6: held until the projects are moved; their changes bring the group back here.
    log.info("Deletion held: the group still has projects",
             {{"projects", plan.status.projectCount}});
    if (auto written = writeStatus(object, group, plan.status)) {
      return std::unexpected(runtime::ReconcileError{*written});
    }
    return runtime::Result{};
  }

  const std::string& accountId = group.metadata.uid;
  std::optional<backend::BackendError> error;
  std::optional<std::string> waiting;  // why closing must wait, when it must
  // Without a backend there is no account to close (and no invoice to generate).
  if (deps_.backend != nullptr) {
    auto account = deps_.backend->getAccount(accountId);
    if (!account && account.error().kind != backend::BackendErrorKind::NotFound) {
      error = account.error();
    } else if (account && !account->closedAt) {
      domain::Timestamp closeAt = *group.metadata.deletionTimestamp;
      auto memberships = deps_.backend->listMemberships(backend::MembershipFilter{"", accountId});
      if (!memberships) {
        error = memberships.error();
      } else {
        for (const backend::Membership& membership : *memberships) {
          if (!membership.effectiveTo) {
            waiting = "project " + membership.project +
                      " is still a member at the billing backend; waiting for its move or deletion "
                      "to be recorded";
          } else if (*membership.effectiveTo > closeAt) {
            closeAt = *membership.effectiveTo;
          }
        }
      }
      if (!error && !waiting && options_.finalInvoice) {
        // The final partial period is recorded as status.currentPeriod first, and its invoice made
        // only on the reconcile that the status update brings: by then the informer caches, which
        // the admission webhook judges the Invoice against, hold the recorded period (see
        // domain::recordedFinalPeriod).
        const std::optional<domain::Interval> partial =
            domain::finalPartialPeriod(group.spec.invoicing.period, closeAt);
        if (partial && domain::recordedFinalPeriod(group) != partial) {
          domain::BillingGroupStatus status = plan.status;
          status.currentPeriod = domain::CurrentPeriod{
              partial->start, partial->end,
              group.status.currentPeriod ? group.status.currentPeriod->estimatedTotal : ""};
          log.info("Recorded the final partial period before the final invoice",
                   {{"periodStart", domain::formatTimestamp(partial->start)},
                    {"periodEnd", domain::formatTimestamp(partial->end)}});
          if (auto written = writeStatus(object, group, status)) {
            return std::unexpected(runtime::ReconcileError{*written});
          }
          // The update's watch event brings the group back; the requeue is a safety net.
          return runtime::Result{.requeue = false, .requeueAfter = options_.accountPendingRetry};
        }
        error = options_.finalInvoice(group, closeAt);
      }
      if (!error && !waiting) {
        auto closed =
            deps_.backend->closeAccount(accountId, closeAt, closeAccountKey(accountId, closeAt));
        if (!closed) {
          error = closed.error();
        } else {
          log.info("Closed the backend account", {{"closedAt", domain::formatTimestamp(closeAt)}});
          if (deps_.events) {
            deps_.events(object, runtime::EventType::Normal, "BackendAccountClosed",
                         "Closed the billing account at the backend as of " +
                             domain::formatTimestamp(closeAt));
          }
        }
      }
    }
  }
  if (error || waiting) {
    domain::BillingGroupStatus status = plan.status;
    domain::setCondition(
        status.conditions,
        error ? readyFalse(backendReason(*error),
                           detail::backendMessage(
                               "Closing the billing account at the backend failed", *error),
                           group.metadata.generation)
              : readyFalse("BackendMembershipsOpen", *waiting, group.metadata.generation),
        now);
    writeStatus(object, group, status);
    if (error && (error->retryable() || error->kind == backend::BackendErrorKind::Unauthorized)) {
      return std::unexpected(runtime::ReconcileError{error->message()});
    }
    return runtime::Result{.requeue = false, .requeueAfter = options_.accountPendingRetry};
  }

  std::vector<std::string> finalizers = group.metadata.finalizers;
  std::erase(finalizers, std::string(kBillingGroupFinalizer));
  auto patched =
      detail::patchFinalizers(deps_.client, billingGroupsResource(), group.metadata, finalizers);
  if (!patched && patched.error().kind != kube::ErrorKind::NotFound) {
    return std::unexpected(
        runtime::ReconcileError{"removing the finalizer: " + patched.error().describe()});
  }
  return runtime::Result{};
}

}  // namespace billing::reconcilers
