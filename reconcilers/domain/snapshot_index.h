// Lookups over a Snapshot: objects by key, organizations by namespace, project groups by the
// project they are bound to. Holds pointers into the snapshot, which must outlive the index.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/domain/model.h"

namespace billing::domain {

class SnapshotIndex {
 public:
  explicit SnapshotIndex(const Snapshot& snapshot);

  const Snapshot& snapshot() const { return snapshot_; }

  // The first object with this namespace and name (duplicates are the rules' business).
  const Namespace* findNamespace(std::string_view name) const;
  const BillingGroup* findBillingGroup(std::string_view ns, std::string_view name) const;
  const Project* findProject(std::string_view ns, std::string_view name) const;

  // R10: the namespace's label, or the namespace's own name when it has none or is unknown.
  std::string organizationOf(std::string_view ns) const;

  // Project-scope groups whose spec.projectRef names this project, sorted by name.
  std::vector<const BillingGroup*> groupsBoundTo(std::string_view ns,
                                                 std::string_view projectName) const;

 private:
  using NameKey = std::pair<std::string, std::string>;
  const Snapshot& snapshot_;
  std::map<std::string, const Namespace*, std::less<>> namespaces_;
  std::map<NameKey, const BillingGroup*> billingGroups_;
  std::map<NameKey, const Project*> projects_;
  std::map<NameKey, std::vector<const BillingGroup*>> boundGroups_;
};

}  // namespace billing::domain
