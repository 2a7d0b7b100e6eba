#include "reconcilers/domain/snapshot_index.h"

#include <algorithm>

namespace billing::domain {

SnapshotIndex::SnapshotIndex(const Snapshot& snapshot) : snapshot_(snapshot) {
  for (const auto& ns : snapshot.namespaces) namespaces_.emplace(ns.metadata.name, &ns);
  for (const auto& group : snapshot.billingGroups) {
    billingGroups_.emplace(NameKey{group.metadata.ns, group.metadata.name}, &group);
    if (group.spec.scope == Scope::Project && group.spec.projectRef) {
      boundGroups_[NameKey{group.metadata.ns, group.spec.projectRef->name}].push_back(&group);
    }
  }
  for (const auto& project : snapshot.projects) {
    projects_.emplace(NameKey{project.metadata.ns, project.metadata.name}, &project);
  }
  for (auto& [key, groups] : boundGroups_) {
    std::sort(groups.begin(), groups.end(), [](const BillingGroup* a, const BillingGroup* b) {
      return a->metadata.name < b->metadata.name;
    });
  }
}

const Namespace* SnapshotIndex::findNamespace(std::string_view name) const {
  auto it = namespaces_.find(name);
  return it == namespaces_.end() ? nullptr : it->second;
}

const BillingGroup* SnapshotIndex::findBillingGroup(std::string_view ns,
                                                    std::string_view name) const {
  auto it = billingGroups_.find(NameKey{std::string(ns), std::string(name)});
  return it == billingGroups_.end() ? nullptr : it->second;
}

const Project* SnapshotIndex::findProject(std::string_view ns, std::string_view name) const {
  auto it = projects_.find(NameKey{std::string(ns), std::string(name)});
  return it == projects_.end() ? nullptr : it->second;
}

std::string SnapshotIndex::organizationOf(std::string_view ns) const {
  if (const Namespace* found = findNamespace(ns)) return domain::organizationOf(*found);
  return std::string(ns);
}

std::vector<const BillingGroup*> SnapshotIndex::groupsBoundTo(std::string_view ns,
                                                              std::string_view projectName) const {
  auto it = boundGroups_.find(NameKey{std::string(ns), std::string(projectName)});
  return it == boundGroups_.end() ? std::vector<const BillingGroup*>{} : it->second;
}

}  // namespace billing::domain
