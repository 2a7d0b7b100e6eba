#include "tests/apiserver/authorizer.h"

#include <algorithm>
#include <set>

#include "common/json.h"

namespace billing::apiserver {

using web::json::value;

namespace {

const char* const kRbacResources[] = {
    "roles.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io"};

std::vector<std::string> strings(const value& object, const char* field) {
  std::vector<std::string> out;
  if (!object.is_object() || !object.has_field(field) || !object.at(field).is_array()) return out;
  for (const value& item : object.at(field).as_array()) {
    if (item.is_string()) out.push_back(item.as_string());
  }
  return out;
}

std::string text(const value& object, const char* field) {
  if (!object.is_object() || !object.has_field(field) || !object.at(field).is_string()) return {};
  return object.at(field).as_string();
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool hasOrStar(const std::vector<std::string>& list, const std::string& item) {
  for (const std::string& entry : list) {
    if (entry == "*" || entry == item) return true;
  }
  return false;
}

// metadata.name pinned by a field selector (`metadata.name=x`, `metadata.name==x`, alone or
// among other terms), as fields.Selector.RequiresExactMatch finds it.
std::string nameFromFieldSelector(const std::string& selector) {
  std::size_t start = 0;
  while (start <= selector.size()) {
    std::size_t comma = selector.find(',', start);
    if (comma == std::string::npos) comma = selector.size();
    std::string term = selector.substr(start, comma - start);
    for (const char* prefix : {"metadata.name==", "metadata.name="}) {
      if (term.starts_with(prefix)) {
        std::string name = term.substr(std::string(prefix).size());
        // kube only takes a valid path segment name.
        if (!name.empty() && name != "." && name != ".." &&
            name.find_first_of("/%") == std::string::npos) {
          return name;
        }
        return {};
      }
    }
    start = comma + 1;
  }
  return {};
}

// The bootstrap ClusterRoles kube-apiserver reconciles at start and the bindings that give them
// to everyone (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy, v1.32).
void addBootstrapPolicy(std::unordered_map<std::string, std::vector<PolicyRule>>& clusterRoles,
                        std::unordered_map<std::string, std::vector<std::string>>& groupRoles) {
  clusterRoles["cluster-admin"] = {PolicyRule{{"*"}, {"*"}, {"*"}, {}, {}},
                                   PolicyRule{{"*"}, {}, {}, {}, {"*"}}};
  clusterRoles["system:discovery"] = {
      PolicyRule{{"get"},
                 {},
                 {},
                 {},
                 {"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                  "/openapi/*", "/readyz", "/version", "/version/"}}};
  clusterRoles["system:public-info-viewer"] = {
      PolicyRule{{"get"}, {}, {}, {}, {"/healthz", "/livez", "/readyz", "/version", "/version/"}}};
  clusterRoles["system:basic-user"] = {
      PolicyRule{{"create"},
                 {"authorization.k8s.io"},
                 {"selfsubjectaccessreviews", "selfsubjectrulesreviews"},
                 {},
                 {}},
      PolicyRule{{"create"}, {"authentication.k8s.io"}, {"selfsubjectreviews"}, {}, {}}};
  groupRoles["system:masters"] = {"cluster-admin"};
  groupRoles["system:authenticated"] = {"system:discovery", "system:public-info-viewer",
                                        "system:basic-user"};
}

}  // namespace

PolicyRule PolicyRule::fromJson(const value& rule) {
  return PolicyRule{strings(rule, "verbs"), strings(rule, "apiGroups"), strings(rule, "resources"),
                    strings(rule, "resourceNames"), strings(rule, "nonResourceURLs")};
}

bool ruleAllows(const AuthorizationAttributes& attributes, const PolicyRule& rule) {
  if (!hasOrStar(rule.verbs, attributes.verb)) return false;
  if (!attributes.resourceRequest) {
    for (const std::string& url : rule.nonResourceURLs) {
      if (url == "*" || url == attributes.path) return true;
      if (url.ends_with("*") && attributes.path.starts_with(url.substr(0, url.size() - 1))) {
        return true;
      }
    }
    return false;
  }
  if (!hasOrStar(rule.apiGroups, attributes.group)) return false;
  const std::string combined = attributes.subresource.empty()
                                   ? attributes.resource
                                   : attributes.resource + "/" + attributes.subresource;
  bool resourceMatches = false;
  for (const std::string& resource : rule.resources) {
    // `*` covers subresources too; `*/status` covers every resource's status.
    if (resource == "*" || resource == combined ||
        (!attributes.subresource.empty() && resource == "*/" + attributes.subresource)) {
      resourceMatches = true;
      break;
    }
  }
  if (!resourceMatches) return false;
  return rule.resourceNames.empty() || contains(rule.resourceNames, attributes.name);
}

AuthorizationAttributes authorizationAttributes(const common::HttpRequest& request,
                                                const RequestInfo& info, const UserInfo& user) {
  AuthorizationAttributes attributes;
  attributes.user = user;
  attributes.path = request.path;
  std::string method = request.method;
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (info.kind != RequestInfo::Kind::Resource) {
    attributes.verb = method;
    return attributes;
  }
  attributes.resourceRequest = true;
  attributes.group = info.group;
  attributes.version = info.version;
  attributes.resource = info.resource;
  attributes.subresource = info.subresource;
  attributes.ns = info.ns;
  attributes.name = info.name;
  // /api/v1/namespaces/x (and its status and finalize) is a request in namespace x.
  if (info.resource == "namespaces" && info.group.empty() && !info.name.empty()) {
    attributes.ns = info.name;
  }
  if (method == "get" || method == "head") {
    if (!info.name.empty()) {
      attributes.verb = "get";
    } else {
      auto watch = request.queryValue("watch");
      attributes.verb = watch && (*watch == "1" || *watch == "true") ? "watch" : "list";
      if (auto selector = request.queryValue("fieldSelector")) {
        attributes.name = nameFromFieldSelector(*selector);
      }
    }
  } else if (method == "post") {
    attributes.verb = "create";
  } else if (method == "put") {
    attributes.verb = "update";
  } else if (method == "patch") {
    attributes.verb = "patch";
  } else if (method == "delete") {
    attributes.verb = info.name.empty() ? "deletecollection" : "delete";
  } else {
    attributes.verb = method;
  }
  return attributes;
}

ApiError forbiddenError(const AuthorizationAttributes& attributes, const std::string& reason) {
  std::string message;
  if (!attributes.resourceRequest) {
    message = "User \"" + attributes.user.name + "\" cannot " + attributes.verb + " path \"" +
              attributes.path + "\"";
  } else {
    std::string resource = attributes.resource;
    if (!attributes.subresource.empty()) resource += "/" + attributes.subresource;
    message = "User \"" + attributes.user.name + "\" cannot " + attributes.verb + " resource \"" +
              resource + "\" in API group \"" + attributes.group + "\"" +
              (attributes.ns.empty() ? " at the cluster scope"
                                     : " in the namespace \"" + attributes.ns + "\"");
  }
  if (!reason.empty()) message += ": " + reason;
  // apierrors.NewForbidden over the group and resource (no subresource) and the name.
  value details = value::object(true);
  std::string qualified;
  if (attributes.resourceRequest) {
    qualified = attributes.resource;
    if (!attributes.group.empty()) qualified += "." + attributes.group;
    if (!attributes.name.empty()) details["name"] = value::string(attributes.name);
    if (!attributes.group.empty()) details["group"] = value::string(attributes.group);
    details["kind"] = value::string(attributes.resource);
  }
  std::string full;
  if (qualified.empty()) {
    full = "forbidden: " + message;
  } else if (attributes.name.empty()) {
    full = qualified + " is forbidden: " + message;
  } else {
    full = qualified + " \"" + attributes.name + "\" is forbidden: " + message;
  }
  return statusError(403, "Forbidden", full, details);
}

RbacAuthorizer::RbacAuthorizer(ObjectStore& store) : store_(store) {
  std::lock_guard lock(mutex_);
  rebuildLocked();
}

RbacAuthorizer::~RbacAuthorizer() {
  for (const auto& watcher : watchers_) watcher->stop();
}

std::uint64_t RbacAuthorizer::rebuilds() const {
  std::lock_guard lock(mutex_);
  return rebuilds_;
}

void RbacAuthorizer::refreshLocked() {
  bool changed = false;
  for (const auto& watcher : watchers_) {
    if (watcher->stopped()) changed = true;
    while (watcher->next(std::chrono::milliseconds(0))) changed = true;
  }
  if (changed) rebuildLocked();
}

void RbacAuthorizer::rebuildLocked() {
  // Watches first, then the lists: a change between the two shows in a watch and causes one more
  // (harmless) rebuild, never a missed one.
  for (const auto& watcher : watchers_) watcher->stop();
  watchers_.clear();
  for (const char* resource : kRbacResources) {
    WatchFilter filter;
    filter.resource = resource;
    filter.matches = [](const value&) { return true; };
    if (auto started = store_.watch(std::move(filter), std::nullopt)) {
      watchers_.push_back(started->watcher);
    }
  }
  auto index = std::make_shared<Index>();
  std::unordered_map<std::string, std::vector<std::string>> bootstrapGroups;
  addBootstrapPolicy(index->clusterRoles, bootstrapGroups);
  for (const auto& [group, roles] : bootstrapGroups) {
    for (const std::string& role : roles) index->byGroup[group].push_back({"", true, role});
  }
  auto rulesOf = [](const value& role) {
    std::vector<PolicyRule> rules;
    if (role.has_field("rules") && role.at("rules").is_array()) {
      for (const value& rule : role.at("rules").as_array()) {
        rules.push_back(PolicyRule::fromJson(rule));
      }
    }
    return rules;
  };
  for (const value& role :
       store_.list("clusterroles.rbac.authorization.k8s.io", std::nullopt).items) {
    // A stored ClusterRole replaces the built-in one of the same name, as kube's reconciliation
    // leaves a changed bootstrap role alone.
    index->clusterRoles[text(role.at("metadata"), "name")] = rulesOf(role);
  }
  for (const value& role : store_.list("roles.rbac.authorization.k8s.io", std::nullopt).items) {
    const value& metadata = role.at("metadata");
    index->roles[text(metadata, "namespace") + "/" + text(metadata, "name")] = rulesOf(role);
  }
  for (const value& binding :
       store_.list("clusterrolebindings.rbac.authorization.k8s.io", std::nullopt).items) {
    indexBinding(*index, binding, true);
  }
  for (const value& binding :
       store_.list("rolebindings.rbac.authorization.k8s.io", std::nullopt).items) {
    indexBinding(*index, binding, false);
  }
  index_ = std::move(index);
  ++rebuilds_;
}

void RbacAuthorizer::indexBinding(Index& index, const value& binding, bool clusterBinding) const {
  if (!binding.has_field("roleRef") || !binding.has_field("subjects") ||
      !binding.at("subjects").is_array()) {
    return;
  }
  const value& roleRef = binding.at("roleRef");
  BindingRef ref;
  ref.ns = clusterBinding ? "" : text(binding.at("metadata"), "namespace");
  const std::string kind = text(roleRef, "kind");
  if (kind == "ClusterRole") {
    ref.clusterRole = true;
  } else if (kind == "Role" && !clusterBinding) {
    ref.clusterRole = false;
  } else {
    return;  // validation refuses anything else
  }
  ref.roleName = text(roleRef, "name");
  for (const value& subject : binding.at("subjects").as_array()) {
    const std::string subjectKind = text(subject, "kind");
    const std::string name = text(subject, "name");
    if (subjectKind == "User") {
      index.byUser[name].push_back(ref);
    } else if (subjectKind == "Group") {
      index.byGroup[name].push_back(ref);
    } else if (subjectKind == "ServiceAccount") {
      // A RoleBinding's ServiceAccount without a namespace means the binding's namespace.
      std::string ns = text(subject, "namespace");
      if (ns.empty()) ns = ref.ns;
      if (ns.empty()) continue;
      index.byUser["system:serviceaccount:" + ns + ":" + name].push_back(ref);
    }
  }
}

AuthorizationDecision RbacAuthorizer::authorize(const AuthorizationAttributes& attributes) {
  std::shared_ptr<const Index> index;
  {
    std::lock_guard lock(mutex_);
    refreshLocked();
    index = index_;
  }
  const UserInfo& user = attributes.user;
  // kube's privileged-group authorizer runs before RBAC.
  if (contains(user.groups, "system:masters")) return {true, {}};

  std::vector<const BindingRef*> bindings;
  auto collect = [&](const std::unordered_map<std::string, std::vector<BindingRef>>& map,
                     const std::string& key) {
    auto found = map.find(key);
    if (found == map.end()) return;
    for (const BindingRef& ref : found->second) bindings.push_back(&ref);
  };
  collect(index->byUser, user.name);
  std::set<std::string> groups(user.groups.begin(), user.groups.end());
  // Every user who got this far was authenticated, whatever its credential listed.
  groups.insert("system:authenticated");
  for (const std::string& group : groups) collect(index->byGroup, group);
  // ClusterRoleBindings first, then the RoleBindings of the request's namespace, as kube visits
  // them; the order only decides which missing roles are named in the reason.
  std::stable_partition(bindings.begin(), bindings.end(),
                        [](const BindingRef* ref) { return ref->ns.empty(); });

  std::vector<std::string> errors;
  for (const BindingRef* ref : bindings) {
    if (!ref->ns.empty() && ref->ns != attributes.ns) continue;
    const std::vector<PolicyRule>* rules = nullptr;
    if (ref->clusterRole) {
      auto found = index->clusterRoles.find(ref->roleName);
      if (found != index->clusterRoles.end()) rules = &found->second;
    } else {
      auto found = index->roles.find(ref->ns + "/" + ref->roleName);
      if (found != index->roles.end()) rules = &found->second;
    }
    if (!rules) {
      std::string error = std::string(ref->clusterRole ? "clusterrole" : "role") +
                          ".rbac.authorization.k8s.io \"" + ref->roleName + "\" not found";
      if (!contains(errors, error)) errors.push_back(error);
      continue;
    }
    for (const PolicyRule& rule : *rules) {
      if (ruleAllows(attributes, rule)) return {true, {}};
    }
  }
  AuthorizationDecision decision;
  if (errors.size() == 1) {
    decision.reason = "RBAC: " + errors[0];
  } else if (!errors.empty()) {
    // utilerrors.Aggregate prints several errors as [a, b].
    decision.reason = "RBAC: [";
    for (std::size_t i = 0; i < errors.size(); ++i) {
      decision.reason += (i ? ", " : "") + errors[i];
    }
    decision.reason += "]";
  }
  return decision;
}

std::expected<value, ApiError> selfSubjectAccessReview(RbacAuthorizer* authorizer,
                                                       const UserInfo& user,
                                                       const std::string& body) {
  auto parsed = common::parseJson(body);
  if (!parsed || !parsed->is_object()) {
    return std::unexpected(
        badRequest("the body of a SelfSubjectAccessReview must be a JSON object"));
  }
  value review = *parsed;
  if (review.has_field("kind") && review.at("kind").is_string() &&
      review.at("kind").as_string() != "SelfSubjectAccessReview") {
    return std::unexpected(
        badRequest("expected a SelfSubjectAccessReview (authorization.k8s.io/v1), got " +
                   review.at("kind").as_string()));
  }
  const value spec = review.has_field("spec") && review.at("spec").is_object() ? review.at("spec")
                                                                               : value::object();
  const bool resource =
      spec.has_field("resourceAttributes") && spec.at("resourceAttributes").is_object();
  const bool nonResource =
      spec.has_field("nonResourceAttributes") && spec.at("nonResourceAttributes").is_object();
  if (resource == nonResource) {
    const std::string detail =
        "exactly one of nonResourceAttributes or resourceAttributes must be specified";
    value cause = value::object(true);
    cause["reason"] = value::string("FieldValueInvalid");
    cause["message"] = value::string("Invalid value: \"null\": " + detail);
    cause["field"] = value::string("spec.resourceAttributes");
    ResourceType type;
    type.group = "authorization.k8s.io";
    type.version = "v1";
    type.kind = "SelfSubjectAccessReview";
    type.plural = "selfsubjectaccessreviews";
    return std::unexpected(invalid(type, "", value::array({cause}),
                                   "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: "
                                   "spec.resourceAttributes: Invalid value: \"null\": " +
                                       detail));
  }
  AuthorizationAttributes attributes;
  attributes.user = user;
  if (resource) {
    const value& asked = spec.at("resourceAttributes");
    attributes.resourceRequest = true;
    attributes.ns = text(asked, "namespace");
    attributes.verb = text(asked, "verb");
    attributes.group = text(asked, "group");
    attributes.version = text(asked, "version");
    attributes.resource = text(asked, "resource");
    attributes.subresource = text(asked, "subresource");
    attributes.name = text(asked, "name");
  } else {
    const value& asked = spec.at("nonResourceAttributes");
    attributes.path = text(asked, "path");
    attributes.verb = text(asked, "verb");
  }
  AuthorizationDecision decision =
      authorizer ? authorizer->authorize(attributes) : AuthorizationDecision{true, {}};
  value answer = value::object(true);
  answer["kind"] = value::string("SelfSubjectAccessReview");
  answer["apiVersion"] = value::string("authorization.k8s.io/v1");
  answer["metadata"] = value::object(true);
  answer["metadata"]["creationTimestamp"] = value::null();
  answer["spec"] = spec;
  answer["status"] = value::object(true);
  answer["status"]["allowed"] = value::boolean(decision.allowed);
  if (!decision.reason.empty()) answer["status"]["reason"] = value::string(decision.reason);
  return answer;
}

}  // namespace billing::apiserver
