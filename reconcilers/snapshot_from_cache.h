// The domain Snapshot the plans look at, built from the Manager's informer caches rather than
// from API calls per reconcile: the caches already hold every Namespace, BillingGroup, Project and
// Invoice, kept in step by the informers' watches.
#pragma once

#include <span>
#include <string_view>

#include "operator/runtime/store.h"
#include "reconcilers/domain/model.h"

namespace billing::reconcilers {

// The informer stores to read; a null store counts as empty.
struct Caches {
  const runtime::Store* namespaces = nullptr;
  const runtime::Store* billingGroups = nullptr;
  const runtime::Store* projects = nullptr;
  const runtime::Store* invoices = nullptr;
};

// Every cached object decoded with its status. Decoding problems of stored objects are not this
// reconcile's to report (the rules and the objects' own reconciles do): what could be read is
// kept.
domain::Snapshot snapshotFromCaches(const Caches& caches);

// What one reconcile's plan reads, found through the stores' indexes instead of decoding every
// cached object: a reconcile then costs the same in a cluster of 100 objects or 100,000 (decoding
// everything per reconcile made a cold start of N objects O(N^2): docs/benchmarks.md). The plans
// (planProject, planProjectDeletion, planBillingGroup) give the same answer on these as on
// snapshotFromCaches (tested for every object of generated worlds).
//
// A Project: itself, the group it references, the groups bound to it (spec.projectRef), its
// default group, the groups it owns, and their namespaces.
domain::Snapshot snapshotForProject(const Caches& caches, std::string_view ns,
                                    std::string_view name);
// A BillingGroup: itself, every project that may be its member (references it, is bound by its
// spec.projectRef, or is named by its default-group annotation) with what decides that project's
// membership (as for snapshotForProject), the invoices of the group, and their namespaces.
domain::Snapshot snapshotForBillingGroup(const Caches& caches, std::string_view ns,
                                         std::string_view name);

// What the admission webhook's review of a write to `object` (or of a BillingGroup's deletion)
// reads: every object whose violations the write can change, each with everything its rules look
// up, so that validate() over this snapshot before and after the write introduces exactly the
// violations it introduces over every cached object (tested for every possible write of generated
// worlds). `references` are the objects the request's versions of `object` name (the group a
// Project or Invoice references, the project a BillingGroup's spec.projectRef binds); the cached
// version's are added here.
//
// A Project: itself, the groups bound to it, its default group, the groups its versions
// reference. A BillingGroup: itself, every project that may be its member (references it, is bound
// to it, has it as default group, for each version) with what decides that project's membership,
// the other groups bound to the same project, and its invoices. An Invoice: itself and every
// invoice of the groups its versions name, with those groups. Always the namespaces of all of
// these and of `references`.
domain::Snapshot snapshotForReview(const Caches& caches, const domain::ObjectKey& object,
                                   std::span<const domain::ObjectKey> references);

}  // namespace billing::reconcilers
