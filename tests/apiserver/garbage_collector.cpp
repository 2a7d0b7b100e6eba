#include "tests/apiserver/garbage_collector.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace billing::apiserver {
namespace {

using web::json::value;

struct Entry {
  const ResourceType* type;
  value object;
};

std::string text(const value& object, const char* name) {
  if (!object.is_object() || !object.has_field(name) || !object.at(name).is_string()) return {};
  return object.at(name).as_string();
}

const value& metadata(const value& object) { return object.at("metadata"); }

std::vector<std::string> finalizersOf(const value& object) {
  std::vector<std::string> out;
  const value& meta = metadata(object);
  if (!meta.has_field("finalizers") || !meta.at("finalizers").is_array()) return out;
  for (const auto& f : meta.at("finalizers").as_array()) {
    if (f.is_string()) out.push_back(f.as_string());
  }
  return out;
}

bool deleting(const value& object) { return metadata(object).has_field("deletionTimestamp"); }

bool hasFinalizer(const value& object, const std::string& name) {
  auto all = finalizersOf(object);
  return std::find(all.begin(), all.end(), name) != all.end();
}

std::vector<std::string> ownerUids(const value& object) {
  std::vector<std::string> uids;
  const value& meta = metadata(object);
  if (!meta.has_field("ownerReferences") || !meta.at("ownerReferences").is_array()) return uids;
  for (const auto& ref : meta.at("ownerReferences").as_array()) uids.push_back(text(ref, "uid"));
  return uids;
}

// One entry per stored resource (a resource served at several versions is stored once).
std::vector<ResourceType> storedResources(const ResourceRegistry& registry) {
  std::vector<ResourceType> out;
  std::set<std::string> seen;
  for (const ResourceType& type : registry.all()) {
    if (type.storageVersion && seen.insert(type.groupResource()).second) out.push_back(type);
  }
  return out;
}

// Removes `finalizer` from an object; an object being deleted with no finalizer left goes.
bool dropFinalizer(ObjectStore& store, const ResourceType& type, const value& object,
                   const std::string& finalizer) {
  auto result = store.mutate(type.groupResource(), text(metadata(object), "namespace"),
                             text(metadata(object), "name"),
                             [&](const std::optional<value>& current)
                                 -> std::expected<ObjectStore::Mutation, std::string> {
                               using Action = ObjectStore::Mutation::Action;
                               if (!current || !hasFinalizer(*current, finalizer)) {
                                 return ObjectStore::Mutation{Action::Keep, value::null()};
                               }
                               auto remaining = finalizersOf(*current);
                               std::erase(remaining, finalizer);
                               if (remaining.empty() && deleting(*current)) {
                                 return ObjectStore::Mutation{Action::Delete, value::null()};
                               }
                               value next = *current;
                               value list = value::array(remaining.size());
                               for (std::size_t i = 0; i < remaining.size(); ++i)
                                 list[i] = value::string(remaining[i]);
                               next["metadata"]["finalizers"] = list;
                               return ObjectStore::Mutation{Action::Put, next};
                             });
  return result && result->action != ObjectStore::Mutation::Action::Keep;
}

// Removes owner references whose uid is in `gone` (dangling, or to an orphaning owner).
bool dropOwnerReferences(ObjectStore& store, const ResourceType& type, const value& object,
                         const std::set<std::string>& gone) {
  auto result = store.mutate(
      type.groupResource(), text(metadata(object), "namespace"), text(metadata(object), "name"),
      [&](const std::optional<value>& current)
          -> std::expected<ObjectStore::Mutation, std::string> {
        using Action = ObjectStore::Mutation::Action;
        if (!current) return ObjectStore::Mutation{Action::Keep, value::null()};
        std::vector<value> kept;
        bool changed = false;
        for (const auto& ref : metadata(*current).at("ownerReferences").as_array()) {
          if (gone.count(text(ref, "uid"))) {
            changed = true;
          } else {
            kept.push_back(ref);
          }
        }
        if (!changed) return ObjectStore::Mutation{Action::Keep, value::null()};
        value next = *current;
        if (kept.empty()) {
          next["metadata"].erase("ownerReferences");
        } else {
          next["metadata"]["ownerReferences"] = value::array(kept);
        }
        return ObjectStore::Mutation{Action::Put, next};
      });
  return result && result->action != ObjectStore::Mutation::Action::Keep;
}

}  // namespace

bool hasDependentObjects(const ObjectStore& store, const ResourceRegistry& registry,
                         const value& owner) {
  const std::string uid = text(metadata(owner), "uid");
  for (const ResourceType& type : storedResources(registry)) {
    for (const value& object : store.list(type.groupResource(), std::nullopt).items) {
      auto owners = ownerUids(object);
      if (std::find(owners.begin(), owners.end(), uid) != owners.end()) return true;
    }
  }
  return false;
}

bool runGarbageCollection(ObjectStore& store, const ResourceRegistry& registry,
                          const DeleteFunction& deleteObject) {
  const std::vector<ResourceType> types = storedResources(registry);
  std::vector<Entry> all;
  for (const ResourceType& type : types) {
    for (value& object : store.list(type.groupResource(), std::nullopt).items) {
      all.push_back({&type, std::move(object)});
    }
  }
  std::map<std::string, const Entry*> byUid;
  for (const Entry& entry : all) byUid[text(metadata(entry.object), "uid")] = &entry;

  bool changed = false;
  value background = value::object();
  background["propagationPolicy"] = value::string("Background");
  value foreground = value::object();
  foreground["propagationPolicy"] = value::string("Foreground");

  // Dependents: of owners that are gone, of owners deleted in the foreground, of orphaning owners.
  std::set<std::string> ownersWithDependents;
  for (const Entry& entry : all) {
    auto owners = ownerUids(entry.object);
    if (owners.empty()) continue;
    std::set<std::string> dangling;
    std::set<std::string> orphaning;
    bool foregroundOwner = false;
    for (const std::string& uid : owners) {
      auto owner = byUid.find(uid);
      if (owner == byUid.end()) {
        dangling.insert(uid);
        continue;
      }
      ownersWithDependents.insert(uid);
      const value& ownerObject = owner->second->object;
      if (deleting(ownerObject) && hasFinalizer(ownerObject, "orphan")) orphaning.insert(uid);
      if (deleting(ownerObject) && hasFinalizer(ownerObject, "foregroundDeletion")) {
        foregroundOwner = true;
      }
    }
    const std::string ns = text(metadata(entry.object), "namespace");
    const std::string name = text(metadata(entry.object), "name");
    if (dangling.size() == owners.size()) {
      if (!deleting(entry.object)) changed |= deleteObject(*entry.type, ns, name, background);
    } else if (foregroundOwner && orphaning.empty()) {
      if (!deleting(entry.object)) changed |= deleteObject(*entry.type, ns, name, foreground);
    } else if (!dangling.empty() || !orphaning.empty()) {
      std::set<std::string> drop = dangling;
      drop.insert(orphaning.begin(), orphaning.end());
      changed |= dropOwnerReferences(store, *entry.type, entry.object, drop);
    }
  }

  // Owners waiting on their dependents.
  for (const Entry& entry : all) {
    if (!deleting(entry.object)) continue;
    const std::string uid = text(metadata(entry.object), "uid");
    for (const char* finalizer : {"orphan", "foregroundDeletion"}) {
      if (hasFinalizer(entry.object, finalizer) && !ownersWithDependents.count(uid)) {
        changed |= dropFinalizer(store, *entry.type, entry.object, finalizer);
      }
    }
  }

  // Terminating namespaces: delete their contents, then the namespace.
  for (const Entry& entry : all) {
    if (entry.type->plural != "namespaces" || !entry.type->group.empty() ||
        !deleting(entry.object)) {
      continue;
    }
    const std::string ns = text(metadata(entry.object), "name");
    bool empty = true;
    for (const Entry& inside : all) {
      if (!inside.type->namespaced || text(metadata(inside.object), "namespace") != ns) continue;
      empty = false;
      if (!deleting(inside.object)) {
        changed |=
            deleteObject(*inside.type, ns, text(metadata(inside.object), "name"), background);
      }
    }
    if (!empty) continue;
    auto result =
        store.mutate("namespaces", "", ns,
                     [](const std::optional<value>& current)
                         -> std::expected<ObjectStore::Mutation, std::string> {
                       using Action = ObjectStore::Mutation::Action;
                       if (!current || !deleting(*current))
                         return ObjectStore::Mutation{Action::Keep, value::null()};
                       if (finalizersOf(*current).empty())
                         return ObjectStore::Mutation{Action::Delete, value::null()};
                       // metadata finalizers still pending: drop only the namespace controller's
                       // own.
                       value next = *current;
                       if (next.has_field("spec") && next.at("spec").has_field("finalizers")) {
                         next["spec"]["finalizers"] = value::array();
                       }
                       return next == *current ? ObjectStore::Mutation{Action::Keep, value::null()}
                                               : ObjectStore::Mutation{Action::Put, next};
                     });
    changed |= result && result->action != ObjectStore::Mutation::Action::Keep;
  }
  return changed;
}

}  // namespace billing::apiserver
