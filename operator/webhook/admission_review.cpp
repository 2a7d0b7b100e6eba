#include "operator/webhook/admission_review.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "common/json.h"
#include "common/tls.h"
#include "reconcilers/codec/objects.h"
#include "reconcilers/domain/rules.h"
#include "reconcilers/domain/snapshot_index.h"

namespace billing::webhook {
namespace {

using domain::Code;
using domain::Severity;
using domain::Violation;
using web::json::value;

const value* member(const value& object, const char* key) {
  if (!object.is_object() || !object.has_field(key)) return nullptr;
  return &object.at(key);
}

// A string member; nullopt when absent, null or not a string.
std::optional<std::string> stringMember(const value& object, const char* key) {
  const value* node = member(object, key);
  if (node == nullptr || !node->is_string()) return std::nullopt;
  return node->as_string();
}

ReviewError badRequest(std::string message) { return ReviewError{400, std::move(message)}; }

// Dangling references are normal while GitOps tools converge (a Project applied before its
// group); the reconcilers report them in status, so admission only warns.
bool isPendingReference(const Violation& violation) {
  return violation.code == Code::BillingGroupNotFound || violation.code == Code::ProjectNotFound;
}

bool refuses(const Violation& violation) {
  return violation.severity == Severity::Error && !isPendingReference(violation);
}

std::string joinDescriptions(const std::vector<Violation>& violations) {
  std::string out;
  for (const Violation& violation : violations) {
    if (!out.empty()) out += "\n";
    out += domain::describe(violation);
  }
  return out;
}

AdmissionResponse allow(const AdmissionRequest& request) {
  AdmissionResponse response;
  response.uid = request.uid;
  return response;
}

AdmissionResponse deny(const AdmissionRequest& request, int code, std::string reason,
                       std::vector<Violation> violations) {
  AdmissionResponse response;
  response.uid = request.uid;
  response.allowed = false;
  response.code = code;
  response.reason = std::move(reason);
  response.message = joinDescriptions(violations);
  response.violations = std::move(violations);
  return response;
}

// Puts `object` in place of the one with its namespace and name, or adds it.
template <typename Object>
void put(std::vector<Object>& objects, Object object) {
  for (Object& existing : objects) {
    if (existing.metadata.ns == object.metadata.ns &&
        existing.metadata.name == object.metadata.name) {
      existing = std::move(object);
      return;
    }
  }
  objects.push_back(std::move(object));
}

// One billing object decoded from the request, ready to be put into a snapshot.
struct DecodedObject {
  std::vector<Violation> errors;
  std::function<void(domain::Snapshot&)> putInto;
  domain::ObjectKey key;
  // What the object names (SnapshotSource::snapshotFor reads these as well).
  std::vector<domain::ObjectKey> references;
};

DecodedObject decodeObject(domain::Kind kind, const value& object, const std::string& ns) {
  codec::DecodeOptions options;
  options.status = false;  // the main resource's writes ignore status; it is not ours to check
  options.defaultNamespace = ns;
  DecodedObject out;
  switch (kind) {
    case domain::Kind::BillingGroup: {
      auto decoded = codec::decodeBillingGroup(object, options);
      out.errors = std::move(decoded.errors);
      out.key = decoded.value.key();
      if (const auto& ref = decoded.value.spec.projectRef; ref && !ref->name.empty()) {
        out.references.push_back({domain::Kind::Project, out.key.ns, ref->name});
      }
      out.putInto = [group = std::move(decoded.value)](domain::Snapshot& snapshot) {
        put(snapshot.billingGroups, group);
      };
      break;
    }
    case domain::Kind::Project: {
      auto decoded = codec::decodeProject(object, options);
      out.errors = std::move(decoded.errors);
      out.key = decoded.value.key();
      if (const auto& ref = decoded.value.spec.billingGroupRef) {
        out.references.push_back(
            {domain::Kind::BillingGroup, ref->ns.empty() ? out.key.ns : ref->ns, ref->name});
      }
      out.putInto = [project = std::move(decoded.value)](domain::Snapshot& snapshot) {
        put(snapshot.projects, project);
      };
      break;
    }
    case domain::Kind::Invoice: {
      auto decoded = codec::decodeInvoice(object, options);
      out.errors = std::move(decoded.errors);
      out.key = decoded.value.key();
      if (const auto& ref = decoded.value.spec.billingGroupRef; !ref.name.empty()) {
        out.references.push_back({domain::Kind::BillingGroup, out.key.ns, ref.name});
      }
      out.putInto = [invoice = std::move(decoded.value)](domain::Snapshot& snapshot) {
        put(snapshot.invoices, invoice);
      };
      break;
    }
    case domain::Kind::Namespace:
      break;  // not reviewed: cluster administrators own Namespaces
  }
  return out;
}

std::optional<domain::Kind> billingKind(const AdmissionRequest& request) {
  if (request.group != domain::kGroup || request.version != domain::kVersion) return std::nullopt;
  if (request.kind == "BillingGroup") return domain::Kind::BillingGroup;
  if (request.kind == "Project") return domain::Kind::Project;
  if (request.kind == "Invoice") return domain::Kind::Invoice;
  return std::nullopt;
}

// The namespaces whose organization labels decide the written object: its own, and for a Project
// the namespace of the group it references.
std::vector<std::string> namespacesDeciding(const domain::Snapshot& after,
                                            const domain::ObjectKey& key) {
  std::vector<std::string> names{key.ns};
  if (key.kind != domain::Kind::Project) return names;
  for (const domain::Project& project : after.projects) {
    if (project.key() == key && project.spec.billingGroupRef &&
        !project.spec.billingGroupRef->ns.empty()) {
      names.push_back(project.spec.billingGroupRef->ns);
    }
  }
  return names;
}

// Adds to both snapshots the deciding Namespaces the source's copy lacks, read live (see
// SnapshotSource::lookupNamespace): otherwise a Namespace applied together with its objects would
// count as unlabelled, its own organization, until the cache catches up.
std::expected<void, std::string> addMissingNamespaces(const SnapshotSource& source,
                                                      const domain::ObjectKey& key,
                                                      domain::Snapshot& before,
                                                      domain::Snapshot& after) {
  for (const std::string& name : namespacesDeciding(after, key)) {
    const bool known = std::ranges::any_of(
        before.namespaces, [&](const domain::Namespace& ns) { return ns.metadata.name == name; });
    if (known || name.empty()) continue;
    auto found = source.lookupNamespace(name);
    if (!found) return std::unexpected(found.error());
    if (!*found) continue;
    before.namespaces.push_back(**found);
    after.namespaces.push_back(**found);
  }
  return {};
}

std::expected<AdmissionResponse, ReviewError> reviewWrite(const AdmissionRequest& request,
                                                          domain::Kind kind,
                                                          const SnapshotSource& source,
                                                          domain::Timestamp now) {
  DecodedObject written = decodeObject(kind, request.object, request.ns);
  if (!written.errors.empty()) {
    return deny(request, 422, "Invalid", std::move(written.errors));
  }
  std::optional<DecodedObject> old;
  if (request.operation == "UPDATE" && !request.oldObject.is_null()) {
    old = decodeObject(kind, request.oldObject, request.ns);
  }
  // Both versions' references: the groups a Project leaves and joins, for instance.
  ReviewScope scope{written.key, written.references};
  if (old)
    scope.references.insert(scope.references.end(), old->references.begin(), old->references.end());
  auto current = source.snapshotFor(scope);
  if (!current) {
    return std::unexpected(
        ReviewError{500, "cannot read the cluster's billing objects: " + current.error()});
  }
  domain::Snapshot before = std::move(*current);
  // The old object as the API server has it, rather than the source's copy, which may lag (an
  // informer cache): before and after then differ in the reviewed object only.
  if (old) old->putInto(before);
  domain::Snapshot after = before;
  written.putInto(after);
  if (auto added = addMissingNamespaces(source, written.key, before, after); !added) {
    return std::unexpected(
        ReviewError{500, "cannot read the cluster's billing objects: " + added.error()});
  }

  domain::RuleOptions ruleOptions;
  ruleOptions.now = now;
  const std::vector<Violation> beforeViolations = domain::validate(before, ruleOptions);
  const std::vector<Violation> afterViolations = domain::validate(after, ruleOptions);
  std::vector<Violation> introduced =
      domain::introducedViolations(beforeViolations, afterViolations);

  std::vector<Violation> refused;
  std::vector<std::string> warnings;
  auto warn = [&](const Violation& violation) {
    std::string text = domain::describe(violation);
    if (std::find(warnings.begin(), warnings.end(), text) == warnings.end()) {
      warnings.push_back(std::move(text));
    }
  };
  for (const Violation& violation : introduced) {
    if (refuses(violation)) {
      refused.push_back(violation);
    } else {
      warn(violation);
    }
  }
  // The written object's own warnings are repeated on every write, even when they are not new,
  // so that `kubectl apply` keeps saying what is still pending.
  for (const Violation& violation : afterViolations) {
    if (violation.object == written.key && !refuses(violation)) warn(violation);
  }
  if (!refused.empty()) return deny(request, 403, "Forbidden", std::move(refused));
  AdmissionResponse response = allow(request);
  response.warnings = std::move(warnings);
  return response;
}

std::expected<AdmissionResponse, ReviewError> reviewGroupDeletion(const AdmissionRequest& request,
                                                                  const SnapshotSource& source) {
  codec::DecodeOptions decodeOptions;
  decodeOptions.status = false;
  decodeOptions.defaultNamespace = request.ns;
  std::optional<domain::BillingGroup> old;
  ReviewScope scope{{domain::Kind::BillingGroup, request.ns, request.name}, {}};
  if (!request.oldObject.is_null()) {
    old = codec::decodeBillingGroup(request.oldObject, decodeOptions).value;
    scope.object = old->key();
    if (old->spec.projectRef && !old->spec.projectRef->name.empty()) {
      scope.references.push_back(
          {domain::Kind::Project, old->metadata.ns, old->spec.projectRef->name});
    }
  }
  auto snapshot = source.snapshotFor(scope);
  if (!snapshot) {
    return std::unexpected(
        ReviewError{500, "cannot read the cluster's billing objects: " + snapshot.error()});
  }
  domain::BillingGroup group;
  if (old) {
    group = *old;
    put(snapshot->billingGroups, group);
  } else {
    // kube sends the old object with every DELETE; without one, judge the stored group.
    group.metadata.ns = request.ns;
    group.metadata.name = request.name;
    for (const domain::BillingGroup& stored : snapshot->billingGroups) {
      if (stored.key() == group.key()) group = stored;
    }
  }
  // Projects being deleted themselves do not hold the group: a GitOps prune of a whole folder
  // deletes both, and the finalizers then bill them to the end (R6).
  std::erase_if(snapshot->projects, [](const domain::Project& project) {
    return project.metadata.deletionTimestamp.has_value();
  });
  domain::SnapshotIndex index(*snapshot);
  std::optional<Violation> held = domain::checkGroupDeletion(index, group);
  if (!held) return allow(request);
  return deny(request, 403, "Forbidden", {*held});
}

value causesOf(const std::vector<Violation>& violations) {
  value causes = value::array(violations.size());
  for (std::size_t i = 0; i < violations.size(); ++i) {
    value cause = value::object(true);
    cause["reason"] = value::string(std::string(domain::codeName(violations[i].code)));
    cause["message"] = value::string(violations[i].message);
    if (!violations[i].field.empty()) cause["field"] = value::string(violations[i].field);
    causes[i] = std::move(cause);
  }
  return causes;
}

}  // namespace

std::expected<AdmissionRequest, ReviewError> parseAdmissionReview(const value& review) {
  if (!review.is_object()) return std::unexpected(badRequest("the body is not a JSON object"));
  auto apiVersion = stringMember(review, "apiVersion");
  if (!apiVersion ||
      (*apiVersion != "admission.k8s.io/v1" && *apiVersion != "admission.k8s.io/v1beta1")) {
    return std::unexpected(
        badRequest("expected apiVersion admission.k8s.io/v1 (or v1beta1), got \"" +
                   apiVersion.value_or("") + "\""));
  }
  if (stringMember(review, "kind") != "AdmissionReview") {
    return std::unexpected(badRequest("expected kind AdmissionReview, got \"" +
                                      stringMember(review, "kind").value_or("") + "\""));
  }
  const value* request = member(review, "request");
  if (request == nullptr || !request->is_object()) {
    return std::unexpected(badRequest("the AdmissionReview has no request"));
  }
  AdmissionRequest out;
  out.apiVersion = *apiVersion;
  auto uid = stringMember(*request, "uid");
  if (!uid || uid->empty()) return std::unexpected(badRequest("request.uid is missing"));
  out.uid = *uid;
  auto operation = stringMember(*request, "operation");
  if (!operation || operation->empty()) {
    return std::unexpected(badRequest("request.operation is missing"));
  }
  out.operation = *operation;
  const value* kind = member(*request, "kind");
  if (kind == nullptr || !kind->is_object() || !stringMember(*kind, "kind")) {
    return std::unexpected(badRequest("request.kind is missing"));
  }
  out.group = stringMember(*kind, "group").value_or("");
  out.version = stringMember(*kind, "version").value_or("");
  out.kind = *stringMember(*kind, "kind");
  out.ns = stringMember(*request, "namespace").value_or("");
  out.name = stringMember(*request, "name").value_or("");
  const value* object = member(*request, "object");
  out.object = object != nullptr ? *object : value::null();
  const value* oldObject = member(*request, "oldObject");
  out.oldObject = oldObject != nullptr ? *oldObject : value::null();
  const value* dryRun = member(*request, "dryRun");
  out.dryRun = dryRun != nullptr && dryRun->is_boolean() && dryRun->as_bool();
  if ((out.operation == "CREATE" || out.operation == "UPDATE") && !out.object.is_object()) {
    return std::unexpected(badRequest("request.object is missing for " + out.operation));
  }
  return out;
}

std::expected<AdmissionResponse, ReviewError> decide(const AdmissionRequest& request,
                                                     const SnapshotSource& source,
                                                     domain::Timestamp now) {
  // Dry runs get the same decision: the review has no side effects (sideEffects: None).
  std::optional<domain::Kind> kind = billingKind(request);
  if (!kind) return allow(request);
  if (request.operation == "CREATE" || request.operation == "UPDATE") {
    return reviewWrite(request, *kind, source, now);
  }
  if (request.operation == "DELETE" && *kind == domain::Kind::BillingGroup) {
    return reviewGroupDeletion(request, source);
  }
  return allow(request);
}

value encodeAdmissionReview(const AdmissionResponse& response, std::string_view apiVersion) {
  value out = value::object(true);
  out["apiVersion"] = value::string(std::string(apiVersion));
  out["kind"] = value::string("AdmissionReview");
  value body = value::object(true);
  body["uid"] = value::string(response.uid);
  body["allowed"] = value::boolean(response.allowed);
  if (!response.allowed) {
    value status = value::object(true);
    status["status"] = value::string("Failure");
    status["code"] = value::number(response.code);
    status["reason"] = value::string(response.reason);
    status["message"] = value::string(response.message);
    if (!response.violations.empty()) {
      status["details"]["causes"] = causesOf(response.violations);
    }
    body["status"] = std::move(status);
  }
  if (!response.warnings.empty()) {
    value warnings = value::array(response.warnings.size());
    for (std::size_t i = 0; i < response.warnings.size(); ++i) {
      warnings[i] = value::string(response.warnings[i]);
    }
    body["warnings"] = std::move(warnings);
  }
  if (response.allowed && response.patch) {
    body["patchType"] = value::string("JSONPatch");
    body["patch"] = value::string(common::base64Encode(common::toJson(*response.patch)));
  }
  out["response"] = std::move(body);
  return out;
}

std::expected<value, ReviewError> review(const value& admissionReview, const SnapshotSource& source,
                                         domain::Timestamp now) {
  auto request = parseAdmissionReview(admissionReview);
  if (!request) return std::unexpected(request.error());
  auto response = decide(*request, source, now);
  if (!response) return std::unexpected(response.error());
  return encodeAdmissionReview(*response, request->apiVersion);
}

}  // namespace billing::webhook
