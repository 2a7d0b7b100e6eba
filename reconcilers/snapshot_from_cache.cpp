#include "reconcilers/snapshot_from_cache.h"

#include "reconcilers/codec/objects.h"

namespace billing::reconcilers {
namespace {

template <typename Out, typename Decode>
void decodeAll(const runtime::Store* store, std::vector<Out>& out, Decode decode) {
  if (store == nullptr) return;
  const std::vector<runtime::ObjectPtr> objects = store->list();
  out.reserve(objects.size());
  for (const runtime::ObjectPtr& object : objects) {
    if (object) out.push_back(decode(*object).value);
  }
}

}  // namespace

domain::Snapshot snapshotFromCaches(const Caches& caches) {
  domain::Snapshot snapshot;
  decodeAll(caches.namespaces, snapshot.namespaces,
            [](const web::json::value& object) { return codec::decodeNamespace(object); });
  decodeAll(caches.billingGroups, snapshot.billingGroups,
            [](const web::json::value& object) { return codec::decodeBillingGroup(object); });
  decodeAll(caches.projects, snapshot.projects,
            [](const web::json::value& object) { return codec::decodeProject(object); });
  decodeAll(caches.invoices, snapshot.invoices,
            [](const web::json::value& object) { return codec::decodeInvoice(object); });
  return snapshot;
}

}  // namespace billing::reconcilers
