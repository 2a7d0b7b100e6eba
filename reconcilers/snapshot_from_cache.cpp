#include "reconcilers/snapshot_from_cache.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/codec/objects.h"
#include "reconcilers/domain/rules.h"

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

// Collects decoded objects once each, by key, and hands them over in the stores' key order (the
// order snapshotFromCaches gives; the index's "first object" lookups depend on it).
class PartialSnapshot {
 public:
  explicit PartialSnapshot(const Caches& caches) : caches_(caches) {}

  void addNamespace(const std::string& name) {
    if (caches_.namespaces == nullptr || namespaces_.contains(name)) return;
    if (auto object = caches_.namespaces->get(name)) {
      namespaces_.emplace(name, codec::decodeNamespace(*object).value);
    }
  }
  const domain::BillingGroup* addGroup(const std::string& ns, const std::string& name) {
    return addGroupObject(caches_.billingGroups == nullptr ? nullptr
                                                           : caches_.billingGroups->get(ns, name));
  }
  const domain::BillingGroup* addGroupObject(const runtime::ObjectPtr& object) {
    if (!object) return nullptr;
    const std::string key = runtime::objectKey(*object);
    auto found = groups_.find(key);
    if (found == groups_.end()) {
      found = groups_.emplace(key, codec::decodeBillingGroup(*object).value).first;
      addNamespace(found->second.metadata.ns);
    }
    return &found->second;
  }
  // The project and what decides its membership and its deletion plan.
  void addProjectObject(const runtime::ObjectPtr& object) {
    if (!object) return;
    const std::string key = runtime::objectKey(*object);
    if (projects_.contains(key)) return;
    const domain::Project& project =
        projects_.emplace(key, codec::decodeProject(*object).value).first->second;
    const std::string& ns = project.metadata.ns;
    addNamespace(ns);
    if (const auto& ref = project.spec.billingGroupRef) {
      const std::string groupNs = ref->ns.empty() ? ns : ref->ns;
      addNamespace(groupNs);
      addGroup(groupNs, ref->name);
    }
    if (caches_.billingGroups != nullptr) {
      for (const auto& group : caches_.billingGroups->byIndex(runtime::kProjectRefIndex, key)) {
        addGroupObject(group);
      }
      if (!project.metadata.uid.empty()) {
        for (const auto& group :
             caches_.billingGroups->byIndex(runtime::kOwnerIndex, project.metadata.uid)) {
          addGroupObject(group);
        }
      }
    }
    addGroup(ns, domain::defaultGroupName(project.metadata.name));
  }
  void addProject(const std::string& ns, const std::string& name) {
    if (caches_.projects != nullptr && !name.empty())
      addProjectObject(caches_.projects->get(ns, name));
  }
  // Projects whose default group (domain::defaultGroupName) is `ns/name`: the name without the
  // suffix, or, for a name shortened with a hash, the long-named projects of the namespace.
  void addProjectsDefaultingTo(const std::string& ns, const std::string& name) {
    constexpr std::string_view kSuffix = "-billing";
    if (caches_.projects == nullptr || !name.ends_with(kSuffix)) return;
    const std::string stripped = name.substr(0, name.size() - kSuffix.size());
    if (domain::defaultGroupName(stripped) == name) addProject(ns, stripped);
    // Only names too long for the plain suffix are shortened, and those are rare, so scanning
    // the namespace's keys (without decoding) is cheap enough.
    constexpr std::size_t kLongestPlainName = 253 - kSuffix.size();
    if (name.size() < 9 + kSuffix.size()) return;
    for (const auto& object : caches_.projects->byIndex(runtime::kNamespaceIndex, ns)) {
      const std::string projectName = runtime::objectName(*object);
      if (projectName.size() > kLongestPlainName && domain::defaultGroupName(projectName) == name) {
        addProjectObject(object);
      }
    }
  }
  // Groups whose spec.projectRef names the project `ns/name` (whatever their scope).
  void addGroupsBoundTo(const std::string& ns, const std::string& name) {
    if (caches_.billingGroups == nullptr || name.empty()) return;
    for (const auto& group :
         caches_.billingGroups->byIndex(runtime::kProjectRefIndex, runtime::objectKey(ns, name))) {
      addGroupObject(group);
    }
  }
  const domain::Invoice* addInvoiceObject(const runtime::ObjectPtr& object) {
    if (!object) return nullptr;
    const std::string key = runtime::objectKey(*object);
    auto found = invoices_.find(key);
    if (found == invoices_.end()) {
      found = invoices_.emplace(key, codec::decodeInvoice(*object).value).first;
      addNamespace(found->second.metadata.ns);
    }
    return &found->second;
  }
  void addInvoicesOf(const std::string& groupKey) {
    if (caches_.invoices == nullptr) return;
    for (const auto& object : caches_.invoices->byIndex(runtime::kBillingGroupRefIndex, groupKey)) {
      addInvoiceObject(object);
    }
  }
  const Caches& caches() const { return caches_; }

  domain::Snapshot take() {
    domain::Snapshot snapshot;
    for (auto& [key, item] : namespaces_) snapshot.namespaces.push_back(std::move(item));
    for (auto& [key, item] : groups_) snapshot.billingGroups.push_back(std::move(item));
    for (auto& [key, item] : projects_) snapshot.projects.push_back(std::move(item));
    for (auto& [key, item] : invoices_) snapshot.invoices.push_back(std::move(item));
    return snapshot;
  }

 private:
  const Caches& caches_;
  std::map<std::string, domain::Namespace> namespaces_;
  std::map<std::string, domain::BillingGroup> groups_;
  std::map<std::string, domain::Project> projects_;
  std::map<std::string, domain::Invoice> invoices_;
};

}  // namespace

domain::Snapshot snapshotForProject(const Caches& caches, std::string_view ns,
                                    std::string_view name) {
  PartialSnapshot partial(caches);
  partial.addProject(std::string(ns), std::string(name));
  partial.addNamespace(std::string(ns));
  return partial.take();
}

domain::Snapshot snapshotForBillingGroup(const Caches& caches, std::string_view ns,
                                         std::string_view name) {
  PartialSnapshot partial(caches);
  const std::string groupNs(ns);
  const std::string key = runtime::objectKey(ns, name);
  partial.addNamespace(groupNs);
  const domain::BillingGroup* group = partial.addGroup(groupNs, std::string(name));
  if (group == nullptr) return partial.take();
  // Copies: adding objects may not move the group, but its fields are read after more adds.
  const std::optional<std::string> boundProject =
      group->spec.projectRef ? std::optional<std::string>(group->spec.projectRef->name)
                             : std::nullopt;
  std::string defaultOf;
  if (auto it = group->metadata.annotations.find(std::string(domain::kDefaultGroupOfAnnotation));
      it != group->metadata.annotations.end()) {
    defaultOf = it->second;
  }
  if (caches.projects != nullptr) {
    for (const auto& project : caches.projects->byIndex(runtime::kBillingGroupRefIndex, key)) {
      partial.addProjectObject(project);
    }
  }
  if (boundProject) partial.addProject(groupNs, *boundProject);
  partial.addProject(groupNs, defaultOf);
  partial.addInvoicesOf(key);
  return partial.take();
}

namespace {

void reviewProject(PartialSnapshot& partial, const std::string& ns, const std::string& name,
                   std::span<const domain::ObjectKey> references) {
  // The cached version with what decides its membership, including the groups bound to it (the
  // groups whose rules read the project) and its default group.
  partial.addProject(ns, name);
  // The same lookups for a project the cache does not hold yet (CREATE).
  partial.addGroupsBoundTo(ns, name);
  partial.addGroup(ns, domain::defaultGroupName(name));
  for (const domain::ObjectKey& ref : references) {
    if (ref.kind == domain::Kind::BillingGroup) partial.addGroup(ref.ns, ref.name);
  }
}

void reviewBillingGroup(PartialSnapshot& partial, const Caches& caches, const std::string& ns,
                        const std::string& name, std::span<const domain::ObjectKey> references) {
  const std::string key = runtime::objectKey(ns, name);
  std::vector<std::string> boundProjects;
  if (const domain::BillingGroup* cached = partial.addGroup(ns, name)) {
    if (cached->spec.projectRef) boundProjects.push_back(cached->spec.projectRef->name);
  }
  for (const domain::ObjectKey& ref : references) {
    if (ref.kind == domain::Kind::Project && ref.ns == ns) boundProjects.push_back(ref.name);
  }
  // Projects that may resolve to this group: by reference, by binding, by default name.
  if (caches.projects != nullptr) {
    for (const auto& project : caches.projects->byIndex(runtime::kBillingGroupRefIndex, key)) {
      partial.addProjectObject(project);
    }
  }
  for (const std::string& project : boundProjects) {
    partial.addProject(ns, project);
    // The other groups bound to that project: DuplicateProjectGroup compares them with this one.
    partial.addGroupsBoundTo(ns, project);
  }
  partial.addProjectsDefaultingTo(ns, name);
  // Invoices check their period against the group's.
  partial.addInvoicesOf(key);
}

void reviewInvoice(PartialSnapshot& partial, const Caches& caches, const std::string& ns,
                   const std::string& name, std::span<const domain::ObjectKey> references) {
  std::vector<std::string> groups;
  if (caches.invoices != nullptr) {
    if (const domain::Invoice* cached = partial.addInvoiceObject(caches.invoices->get(ns, name))) {
      groups.push_back(cached->spec.billingGroupRef.name);
    }
  }
  for (const domain::ObjectKey& ref : references) {
    if (ref.kind == domain::Kind::BillingGroup && ref.ns == ns) groups.push_back(ref.name);
  }
  // One invoice per group and period: every invoice of the groups either version names.
  for (const std::string& group : groups) {
    partial.addGroup(ns, group);
    partial.addInvoicesOf(runtime::objectKey(ns, group));
  }
}

}  // namespace

domain::Snapshot snapshotForReview(const Caches& caches, const domain::ObjectKey& object,
                                   std::span<const domain::ObjectKey> references) {
  PartialSnapshot partial(caches);
  // The namespaces deciding the organizations the rules compare, even when no object is there.
  partial.addNamespace(object.ns);
  for (const domain::ObjectKey& ref : references) partial.addNamespace(ref.ns);
  switch (object.kind) {
    case domain::Kind::Project:
      reviewProject(partial, object.ns, object.name, references);
      break;
    case domain::Kind::BillingGroup:
      reviewBillingGroup(partial, caches, object.ns, object.name, references);
      break;
    case domain::Kind::Invoice:
      reviewInvoice(partial, caches, object.ns, object.name, references);
      break;
    case domain::Kind::Namespace:
      break;
  }
  return partial.take();
}

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
