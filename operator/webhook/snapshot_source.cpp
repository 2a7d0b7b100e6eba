#include "operator/webhook/snapshot_source.h"

#include "reconcilers/codec/objects.h"
#include "reconcilers/resources.h"

namespace billing::webhook {

namespace {

template <typename Decode, typename Out>
std::expected<void, std::string> listInto(kube::Client& client, const kube::ResourceRef& resource,
                                          Decode decode, std::vector<Out>& out) {
  auto listed = kube::listAll(client, resource, "");
  if (!listed) return std::unexpected(listed.error().describe());
  out.reserve(listed->items.size());
  for (const web::json::value& item : listed->items) out.push_back(decode(item).value);
  return {};
}

}  // namespace

std::expected<domain::Snapshot, std::string> ClientSnapshotSource::snapshot() const {
  domain::Snapshot snapshot;
  codec::DecodeOptions options;
  options.status = false;
  auto namespaces = listInto(
      client_, reconcilers::namespacesResource(),
      [](const web::json::value& item) { return codec::decodeNamespace(item); },
      snapshot.namespaces);
  if (!namespaces) return std::unexpected(namespaces.error());
  auto groups = listInto(
      client_, reconcilers::billingGroupsResource(),
      [&](const web::json::value& item) { return codec::decodeBillingGroup(item, options); },
      snapshot.billingGroups);
  if (!groups) return std::unexpected(groups.error());
  auto projects = listInto(
      client_, reconcilers::projectsResource(),
      [&](const web::json::value& item) { return codec::decodeProject(item, options); },
      snapshot.projects);
  if (!projects) return std::unexpected(projects.error());
  auto invoices = listInto(
      client_, reconcilers::invoicesResource(),
      [&](const web::json::value& item) { return codec::decodeInvoice(item, options); },
      snapshot.invoices);
  if (!invoices) return std::unexpected(invoices.error());
  return snapshot;
}

std::expected<std::optional<domain::Namespace>, std::string> getNamespace(kube::Client& client,
                                                                          const std::string& name) {
  auto got = client.get(reconcilers::namespacesResource(), "", name);
  if (!got) {
    if (got.error().kind == kube::ErrorKind::NotFound) return std::nullopt;
    return std::unexpected("reading Namespace " + name + ": " + got.error().describe());
  }
  return codec::decodeNamespace(*got).value;
}

}  // namespace billing::webhook
