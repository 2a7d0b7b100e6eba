#include "operator/webhook/mutation.h"

#include <string>
#include <utility>

#include "common/json.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/resources.h"

namespace billing::webhook {
namespace {

using web::json::value;

value jsonPatchOperation(std::string path, value operand) {
  value operation = value::object(true);
  operation["op"] = value::string("add");
  operation["path"] = value::string(std::move(path));
  operation["value"] = std::move(operand);
  return operation;
}

AdmissionResponse invalidFinalizers(const AdmissionRequest& request, std::string message) {
  AdmissionResponse response;
  response.uid = request.uid;
  response.allowed = false;
  response.code = 422;
  response.reason = "Invalid";
  response.message = std::move(message);
  return response;
}

}  // namespace

std::optional<std::string_view> finalizerFor(const AdmissionRequest& request) {
  if (request.group != domain::kGroup || request.version != domain::kVersion) return std::nullopt;
  if (request.kind == "Project") return reconcilers::kProjectFinalizer;
  if (request.kind == "BillingGroup") return reconcilers::kBillingGroupFinalizer;
  // Invoices carry no finalizer: the operator keeps nothing that outlives them.
  return std::nullopt;
}

AdmissionResponse mutate(const AdmissionRequest& request) {
  AdmissionResponse response;
  response.uid = request.uid;
  // Only CREATE: an UPDATE that drops the finalizer is the operator's own (or an administrator
  // forcing a deletion through), and must not be undone here.
  if (request.operation != "CREATE") return response;
  const std::optional<std::string_view> finalizer = finalizerFor(request);
  if (!finalizer) return response;

  const value* metadata = common::findMember(request.object, {"metadata"});
  const value* finalizers =
      metadata != nullptr ? common::findMember(*metadata, {"finalizers"}) : nullptr;
  const value wanted = value::string(std::string(*finalizer));
  if (metadata == nullptr || !metadata->is_object()) {
    // The API server always sends metadata (it has checked the name); an object without it is
    // not one the operator can reconcile, so say so rather than invent a metadata block.
    return invalidFinalizers(request, request.kind + " " + request.ns + "/" + request.name +
                                          ": request.object.metadata is missing or not an object");
  }
  if (finalizers == nullptr || finalizers->is_null()) {
    value array = value::array(1);
    array[0] = wanted;
    value operations = value::array(1);
    operations[0] = jsonPatchOperation("/metadata/finalizers", std::move(array));
    response.patch = std::move(operations);
    return response;
  }
  if (!finalizers->is_array()) {
    return invalidFinalizers(request, request.kind + " " + request.ns + "/" + request.name +
                                          ": metadata.finalizers must be a list of strings");
  }
  for (const value& existing : finalizers->as_array()) {
    if (!existing.is_string()) {
      return invalidFinalizers(request, request.kind + " " + request.ns + "/" + request.name +
                                            ": metadata.finalizers must be a list of strings");
    }
    if (existing.as_string() == *finalizer) return response;
  }
  value operations = value::array(1);
  operations[0] = jsonPatchOperation("/metadata/finalizers/-", wanted);
  response.patch = std::move(operations);
  return response;
}

std::expected<value, ReviewError> mutateReview(const value& admissionReview) {
  auto request = parseAdmissionReview(admissionReview);
  if (!request) return std::unexpected(request.error());
  return encodeAdmissionReview(mutate(*request), request->apiVersion);
}

}  // namespace billing::webhook
