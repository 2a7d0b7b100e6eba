// Owner references and namespace deletion, as kube-controller-manager's garbage collector and
// namespace controller carry them out:
//   - an object whose owners are all gone is deleted (background propagation);
//   - an owner deleted with propagationPolicy=Foreground keeps a "foregroundDeletion" finalizer
//     until its dependents are gone; with Orphan, an "orphan" finalizer until its dependents no
//     longer reference it;
//   - a terminating Namespace has its objects deleted, then goes itself.
#pragma once

#include <cpprest/json.h>

#include <functional>
#include <string>

#include "tests/apiserver/object_store.h"
#include "tests/apiserver/resource_registry.h"

namespace billing::apiserver {

// Deletes one object as a DELETE request with these DeleteOptions would; true when it did.
using DeleteFunction =
    std::function<bool(const ResourceType& type, const std::string& ns, const std::string& name,
                       const web::json::value& deleteOptions)>;

// True when some object names `owner` (by uid) in its ownerReferences.
bool hasDependentObjects(const ObjectStore& store, const ResourceRegistry& registry,
                         const web::json::value& owner);

// One garbage-collection pass over every stored object. Returns true when it changed anything,
// so the caller runs another pass (a deleted dependent may own dependents of its own).
bool runGarbageCollection(ObjectStore& store, const ResourceRegistry& registry,
                          const DeleteFunction& deleteObject);

}  // namespace billing::apiserver
