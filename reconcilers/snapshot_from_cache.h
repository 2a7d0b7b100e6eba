// The domain Snapshot the plans look at, built from the Manager's informer caches rather than
// from API calls per reconcile: the caches already hold every Namespace, BillingGroup, Project and
// Invoice, kept in step by the informers' watches.
#pragma once

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

}  // namespace billing::reconcilers
