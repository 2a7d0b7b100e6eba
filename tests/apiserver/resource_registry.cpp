#include "tests/apiserver/resource_registry.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

namespace billing::apiserver {
namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

struct Builtin {
  const char* group;
  const char* version;
  const char* kind;
  const char* plural;
  bool namespaced;
  bool status;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories = {};
  std::vector<std::string> verbs = {};  // empty: all eight
};

// The built-in kinds an operator install and the operator itself touch. They are stored and
// served generically (no controllers run): enough for `kubectl apply` of a whole install folder.
const std::vector<Builtin>& builtins() {
  static const std::vector<Builtin> kBuiltins = {
      {"", "v1", "Namespace", "namespaces", false, true, {"ns"}},
      {"", "v1", "Secret", "secrets", true, false, {}},
      {"", "v1", "ConfigMap", "configmaps", true, false, {"cm"}},
      {"", "v1", "ServiceAccount", "serviceaccounts", true, false, {"sa"}},
      {"", "v1", "Service", "services", true, true, {"svc"}, {"all"}},
      {"", "v1", "Event", "events", true, false, {"ev"}},
      {"", "v1", "Pod", "pods", true, true, {"po"}, {"all"}},
      {"", "v1", "Endpoints", "endpoints", true, false, {"ep"}},
      {"apps", "v1", "Deployment", "deployments", true, true, {"deploy"}, {"all"}},
      {"apps", "v1", "StatefulSet", "statefulsets", true, true, {"sts"}, {"all"}},
      {"apps", "v1", "DaemonSet", "daemonsets", true, true, {"ds"}, {"all"}},
      {"", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, true, {"pvc"}},
      {"", "v1", "ResourceQuota", "resourcequotas", true, true, {"quota"}},
      {"", "v1", "LimitRange", "limitranges", true, false, {"limits"}},
      {"apps", "v1", "ReplicaSet", "replicasets", true, true, {"rs"}, {"all"}},
      {"batch", "v1", "Job", "jobs", true, true, {}, {"all"}},
      {"batch", "v1", "CronJob", "cronjobs", true, true, {"cj"}, {"all"}},
      {"autoscaling",
       "v2",
       "HorizontalPodAutoscaler",
       "horizontalpodautoscalers",
       true,
       true,
       {"hpa"},
       {"all"}},
      {"scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, false, {"pc"}},
      {"storage.k8s.io", "v1", "StorageClass", "storageclasses", false, false, {"sc"}},
      {"networking.k8s.io", "v1", "Ingress", "ingresses", true, true, {"ing"}},
      {"networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, false, {}},
      {"coordination.k8s.io", "v1", "Lease", "leases", true, false, {}},
      {"events.k8s.io", "v1", "Event", "events", true, false, {"ev"}},
      {"rbac.authorization.k8s.io", "v1", "Role", "roles", true, false, {}},
      {"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, false, {}},
      {"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, false, {}},
      {"rbac.authorization.k8s.io",
       "v1",
       "ClusterRoleBinding",
       "clusterrolebindings",
       false,
       false,
       {}},
      {"policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, true, {"pdb"}},
      {"networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, false, {"netpol"}},
      {"admissionregistration.k8s.io",
       "v1",
       "ValidatingWebhookConfiguration",
       "validatingwebhookconfigurations",
       false,
       false,
       {}},
      {"admissionregistration.k8s.io",
       "v1",
       "MutatingWebhookConfiguration",
       "mutatingwebhookconfigurations",
       false,
       false,
       {}},
      // Served by TestApiServer (kubectl auth can-i), never stored.
      {"authorization.k8s.io",
       "v1",
       "SelfSubjectAccessReview",
       "selfsubjectaccessreviews",
       false,
       false,
       {},
       {},
       {"create"}},
      {"apiextensions.k8s.io",
       "v1",
       "CustomResourceDefinition",
       "customresourcedefinitions",
       false,
       true,
       {"crd", "crds"}},
  };
  return kBuiltins;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Kubernetes orders versions: GA before beta before alpha, higher numbers first.
int versionRank(const std::string& version, int& number, int& minor) {
  number = 0;
  minor = 0;
  std::size_t i = 1;
  while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i]))) {
    number = number * 10 + (version[i++] - '0');
  }
  std::string rest = version.substr(i);
  int stage = 3;  // GA
  if (rest.starts_with("beta")) {
    stage = 2;
    rest = rest.substr(4);
  } else if (rest.starts_with("alpha")) {
    stage = 1;
    rest = rest.substr(5);
  } else if (!rest.empty()) {
    stage = 0;  // not a Kubernetes-style version: sorted last
  }
  for (char c : rest) {
    if (std::isdigit(static_cast<unsigned char>(c))) minor = minor * 10 + (c - '0');
  }
  return stage;
}

bool versionBefore(const std::string& a, const std::string& b) {
  int aNumber, aMinor, bNumber, bMinor;
  int aStage = versionRank(a, aNumber, aMinor);
  int bStage = versionRank(b, bNumber, bMinor);
  if (aStage != bStage) return aStage > bStage;
  if (aNumber != bNumber) return aNumber > bNumber;
  if (aMinor != bMinor) return aMinor > bMinor;
  return a < b;
}

}  // namespace

std::string ResourceType::groupVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceType::groupResource() const {
  return group.empty() ? plural : plural + "." + group;
}

std::shared_ptr<ResourceRegistry> ResourceRegistry::withBuiltins() {
  auto registry = std::make_shared<ResourceRegistry>();
  for (const Builtin& b : builtins()) {
    ResourceType type;
    type.group = b.group;
    type.version = b.version;
    type.kind = b.kind;
    type.listKind = std::string(b.kind) + "List";
    type.plural = b.plural;
    type.singular = lower(b.kind);
    type.shortNames = b.shortNames;
    type.categories = b.categories;
    type.verbs = b.verbs.empty() ? kAllVerbs : b.verbs;
    type.namespaced = b.namespaced;
    type.statusSubresource = b.status;
    registry->add(std::move(type));
  }
  return registry;
}

void ResourceRegistry::add(ResourceType type) {
  std::lock_guard lock(mutex_);
  Key key{type.group, type.version, type.plural};
  types_[key] = std::move(type);
}

void ResourceRegistry::removeResource(const std::string& group, const std::string& plural) {
  std::lock_guard lock(mutex_);
  std::erase_if(types_, [&](const auto& entry) {
    return std::get<0>(entry.first) == group && std::get<2>(entry.first) == plural;
  });
}

std::optional<ResourceType> ResourceRegistry::find(const std::string& group,
                                                   const std::string& version,
                                                   const std::string& plural) const {
  std::lock_guard lock(mutex_);
  auto it = types_.find(Key{group, version, plural});
  if (it == types_.end()) return std::nullopt;
  return it->second;
}

std::optional<ResourceType> ResourceRegistry::findByKind(const std::string& group,
                                                         const std::string& version,
                                                         const std::string& kind) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, type] : types_) {
    if (type.group == group && type.version == version && type.kind == kind) return type;
  }
  return std::nullopt;
}

std::optional<ResourceType> ResourceRegistry::storageVersionOf(const std::string& group,
                                                               const std::string& plural) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, type] : types_) {
    if (type.group == group && type.plural == plural && type.storageVersion) return type;
  }
  return std::nullopt;
}

std::vector<ResourceType> ResourceRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<ResourceType> out;
  out.reserve(types_.size());
  for (const auto& [key, type] : types_) out.push_back(type);
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> ResourceRegistry::groups() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::set<std::string>> versions;
  for (const auto& [key, type] : types_) {
    if (!type.group.empty()) versions[type.group].insert(type.version);
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (auto& [group, set] : versions) {
    std::vector<std::string> ordered(set.begin(), set.end());
    std::sort(ordered.begin(), ordered.end(), versionBefore);
    out.emplace_back(group, std::move(ordered));
  }
  return out;
}

}  // namespace billing::apiserver
