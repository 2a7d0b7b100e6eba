// The reflector store: the informer's in-memory copy of one resource, keyed by "namespace/name",
// with secondary indexes. An index is a function object -> keys ("index values"); the store keeps
// value -> object keys up to date on every write. Thread-safe: many readers, one writer (the
// informer).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "operator/runtime/object.h"

namespace billing::runtime {

using IndexFunc = std::function<std::vector<std::string>(const web::json::value& object)>;
using Indexers = std::map<std::string, IndexFunc>;

// Index names and functions every informer can use.
inline constexpr std::string_view kNamespaceIndex = "namespace";
inline constexpr std::string_view kOwnerIndex = "owner";
inline constexpr std::string_view kBillingGroupRefIndex = "billingGroupRef";
inline constexpr std::string_view kProjectRefIndex = "projectRef";
// metadata.namespace (one value; cluster-scoped objects have none).
IndexFunc indexByNamespace();
// The uid of every owner reference.
IndexFunc indexByOwnerUid();
// "namespace/name" of spec.billingGroupRef, its namespace defaulting to the object's own.
IndexFunc indexByBillingGroupRef();
// "namespace/name" of spec.projectRef (a project billing group's project, same namespace).
IndexFunc indexByProjectRef();
// The four above under their names.
Indexers defaultIndexers();

class Store {
 public:
  explicit Store(Indexers indexers = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Adds (or replaces) an index and builds it over the current content.
  void addIndex(const std::string& name, IndexFunc function);

  // nullptr when absent.
  ObjectPtr get(std::string_view key) const;
  ObjectPtr get(std::string_view ns, std::string_view name) const;
  std::vector<ObjectPtr> list() const;
  std::vector<std::string> keys() const;
  std::size_t size() const;
  // Objects whose index `index` yields `value`, sorted by key; empty for an unknown index.
  std::vector<ObjectPtr> byIndex(std::string_view index, std::string_view value) const;

  // Writers. Both return the previous object under the key (nullptr if none).
  ObjectPtr upsert(ObjectPtr object);
  ObjectPtr erase(const std::string& key);

 private:
  struct Index {
    IndexFunc function;
    std::unordered_map<std::string, std::set<std::string>> keysByValue;
  };
  void indexLocked(const std::string& key, const web::json::value& object);
  void unindexLocked(const std::string& key, const web::json::value& object);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, ObjectPtr> items_;
  std::map<std::string, Index, std::less<>> indexes_;
};

}  // namespace billing::runtime
