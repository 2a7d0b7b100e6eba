#include "operator/runtime/store.h"

#include <algorithm>
#include <mutex>

namespace billing::runtime {

IndexFunc indexByNamespace() {
  return [](const web::json::value& object) -> std::vector<std::string> {
    std::string ns = objectNamespace(object);
    if (ns.empty()) return {};
    return {std::move(ns)};
  };
}

IndexFunc indexByOwnerUid() {
  return [](const web::json::value& object) {
    std::vector<std::string> uids;
    for (const auto& owner : ownerReferences(object)) {
      if (!owner.uid.empty()) uids.push_back(owner.uid);
    }
    return uids;
  };
}

IndexFunc indexByBillingGroupRef() {
  return [](const web::json::value& object) -> std::vector<std::string> {
    const std::string name = stringAt(object, {"spec", "billingGroupRef", "name"});
    if (name.empty()) return {};
    std::string ns = stringAt(object, {"spec", "billingGroupRef", "namespace"});
    if (ns.empty()) ns = objectNamespace(object);
    return {objectKey(ns, name)};
  };
}

IndexFunc indexByProjectRef() {
  return [](const web::json::value& object) -> std::vector<std::string> {
    const std::string name = stringAt(object, {"spec", "projectRef", "name"});
    if (name.empty()) return {};
    return {objectKey(objectNamespace(object), name)};
  };
}

Indexers defaultIndexers() {
  return {{std::string(kNamespaceIndex), indexByNamespace()},
          {std::string(kOwnerIndex), indexByOwnerUid()},
          {std::string(kBillingGroupRefIndex), indexByBillingGroupRef()},
          {std::string(kProjectRefIndex), indexByProjectRef()}};
}

Store::Store(Indexers indexers) {
  for (auto& [name, function] : indexers) indexes_[name].function = std::move(function);
}

void Store::addIndex(const std::string& name, IndexFunc function) {
  std::unique_lock lock(mutex_);
  auto& index = indexes_[name];
  index.function = std::move(function);
  index.keysByValue.clear();
  for (const auto& [key, object] : items_) {
    for (auto& value : index.function(*object)) index.keysByValue[value].insert(key);
  }
}

ObjectPtr Store::get(std::string_view key) const {
  std::shared_lock lock(mutex_);
  const auto found = items_.find(std::string(key));
  return found == items_.end() ? nullptr : found->second;
}

ObjectPtr Store::get(std::string_view ns, std::string_view name) const {
  return get(objectKey(ns, name));
}

std::vector<ObjectPtr> Store::list() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, ObjectPtr>> sorted(items_.begin(), items_.end());
  lock.unlock();
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& left, const auto& right) { return left.first < right.first; });
  std::vector<ObjectPtr> objects;
  objects.reserve(sorted.size());
  for (auto& entry : sorted) objects.push_back(std::move(entry.second));
  return objects;
}

std::vector<std::string> Store::keys() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> keys;
  keys.reserve(items_.size());
  for (const auto& entry : items_) keys.push_back(entry.first);
  lock.unlock();
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::size_t Store::size() const {
  std::shared_lock lock(mutex_);
  return items_.size();
}

std::vector<ObjectPtr> Store::byIndex(std::string_view index, std::string_view value) const {
  std::shared_lock lock(mutex_);
  std::vector<ObjectPtr> objects;
  const auto found = indexes_.find(index);
  if (found == indexes_.end()) return objects;
  const auto keys = found->second.keysByValue.find(std::string(value));
  if (keys == found->second.keysByValue.end()) return objects;
  for (const auto& key : keys->second) {
    const auto item = items_.find(key);
    if (item != items_.end()) objects.push_back(item->second);
  }
  return objects;
}

void Store::indexLocked(const std::string& key, const web::json::value& object) {
  for (auto& [name, index] : indexes_) {
    for (auto& value : index.function(object)) index.keysByValue[value].insert(key);
  }
}

void Store::unindexLocked(const std::string& key, const web::json::value& object) {
  for (auto& [name, index] : indexes_) {
    for (const auto& value : index.function(object)) {
      const auto found = index.keysByValue.find(value);
      if (found == index.keysByValue.end()) continue;
      found->second.erase(key);
      if (found->second.empty()) index.keysByValue.erase(found);
    }
  }
}

ObjectPtr Store::upsert(ObjectPtr object) {
  const std::string key = objectKey(*object);
  std::unique_lock lock(mutex_);
  auto& slot = items_[key];
  ObjectPtr previous = std::move(slot);
  if (previous) unindexLocked(key, *previous);
  slot = std::move(object);
  indexLocked(key, *slot);
  return previous;
}

ObjectPtr Store::erase(const std::string& key) {
  std::unique_lock lock(mutex_);
  const auto found = items_.find(key);
  if (found == items_.end()) return nullptr;
  ObjectPtr previous = std::move(found->second);
  items_.erase(found);
  unindexLocked(key, *previous);
  return previous;
}

}  // namespace billing::runtime
