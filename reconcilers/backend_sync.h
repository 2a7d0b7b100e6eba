// What the reconcilers send to the billing backend, computed from domain values: the account of a
// billing group, the idempotency keys (derived from stable facts only, so a retry repeats the
// same call), the condition reason a backend error shows, and the jittered drift-check interval.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/backend/billing_backend.h"
#include "reconcilers/domain/model.h"

namespace billing::reconcilers {

// R8: the backend gets where the payment secret lives, never its content.
// "secret://<namespace>/<name>/<key>".
std::string paymentSecretReference(std::string_view ns, const domain::SecretKeySelector& secret);

// The account the backend should hold for `group` (id = the group's UID).
backend::AccountSpec accountSpecFor(const domain::BillingGroup& group,
                                    const std::string& organization);

// True when the backend's account differs from what the group declares in anything the operator
// may change (name, scope, profile). Currency and organization cannot change at the backend; a
// difference there is sent too, so the backend's Conflict explains it in the condition.
bool accountDiffers(const backend::AccountSpec& actual, const backend::AccountSpec& desired);

// Idempotency keys. Each is made only of facts that stay the same when the call is retried.
// Upserting the account: the group UID, its generation, and the backend's last update of the
// account (so correcting a later drift is a new call, and a retry is the same one).
std::string accountKey(const domain::BillingGroup& group,
                       const std::optional<backend::Account>& existing);
// A project joining (or moving to) a group's account: project UID, group UID, project generation.
std::string membershipKey(const domain::Project& project, std::string_view groupUid);
// Ending the membership of a deleted project.
std::string endMembershipKey(const domain::Project& project);
// A credit grant, by the grant's id.
std::string creditKey(std::string_view groupUid, std::string_view grantId);
// Closing the account at `at`.
std::string closeAccountKey(std::string_view groupUid, domain::Timestamp at);

// The project's identity at the backend: "namespace/name".
std::string backendProjectName(const domain::Project& project);

// The membership of `memberships` in force at `at` (effectiveFrom <= at < effectiveTo), if any.
std::optional<backend::Membership> membershipAt(const std::vector<backend::Membership>& memberships,
                                                domain::Timestamp at);

// The Ready condition's reason for a backend error: BackendUnavailable for what a retry may fix,
// BillingAccountPending when the group's account does not exist yet, BackendConflict,
// BackendRejected or BackendUnauthorized otherwise.
std::string backendReason(const backend::BackendError& error);

// A duration drawn uniformly from [base * (1 - jitter), base * (1 + jitter)).
std::chrono::milliseconds jittered(std::chrono::milliseconds base, double jitter);

}  // namespace billing::reconcilers
