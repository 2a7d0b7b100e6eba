// The PATCH request bodies kube-apiserver accepts, as pure functions over web::json::value:
// JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch. kube-apiserver
// applies the first two with evanphx/json-patch v4 and the third with
// k8s.io/apimachinery/pkg/util/strategicpatch; where those libraries depart from the RFCs the
// functions here follow the libraries, because clients (kubectl, the operator) see their
// behaviour, and each departure is named where it is implemented. Failures are values carrying
// the HTTP code, reason and message kube-apiserver answers with.
//
// Server-side apply (application/apply-patch+yaml) is not implemented here.
#pragma once

#include <array>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace billing::apiserver {

enum class PatchType {
  kJsonPatch,            // application/json-patch+json
  kMergePatch,           // application/merge-patch+json
  kStrategicMergePatch,  // application/strategic-merge-patch+json
  kApplyPatch,           // application/apply-patch+yaml
};

// The Content-Type header's media type, "; charset=..." and other parameters ignored.
std::optional<PatchType> patchTypeFromContentType(std::string_view contentType);
std::string_view mediaType(PatchType type);

// What a resource accepts, in the order kube-apiserver lists them in its 415 message.
inline constexpr std::array<PatchType, 3> kCustomResourcePatchTypes{
    PatchType::kJsonPatch, PatchType::kMergePatch, PatchType::kApplyPatch};
inline constexpr std::array<PatchType, 4> kBuiltinPatchTypes{
    PatchType::kJsonPatch, PatchType::kMergePatch, PatchType::kStrategicMergePatch,
    PatchType::kApplyPatch};

// A failed PATCH as kube-apiserver reports it (a metav1.Status).
struct PatchError {
  int code = 0;         // 400, 413, 415, 422 or 500
  std::string reason;   // BadRequest, RequestEntityTooLarge, UnsupportedMediaType, Invalid, or ""
  std::string message;  // Status.message, verbatim
  // For a JSON patch that cannot be applied kube-apiserver answers only "the server rejected our
  // request due to an error in our request"; `cause` keeps evanphx's own words ("testing value
  // /spec/x failed: test failed") for logs and tests. Empty otherwise.
  std::string cause;
  bool emptyDetails = false;  // the Status carries "details": {} (kube's 422 for JSON patch)

  // The metav1.Status object to send: kind, apiVersion, metadata, status "Failure", message,
  // reason (omitted when empty), details (when emptyDetails), code.
  web::json::value status() const;
};

// 415 UnsupportedMediaType: "the body of the request was in an unknown format - accepted media
// types include: application/json-patch+json, application/merge-patch+json,
// application/apply-patch+yaml" for kCustomResourcePatchTypes (kubectl turns it into
// "application/strategic-merge-patch+json is not supported by <gvk>: ...").
PatchError unsupportedMediaType(std::span<const PatchType> accepted);

// ---- JSON merge patch (RFC 7386) -------------------------------------------------------------

// MergePatch(target, patch) of RFC 7386: null members delete, objects merge recursively,
// everything else (arrays included) replaces; a patch that is not an object replaces the target.
// One departure, evanphx's: wherever a patch value is taken whole, nulls are also pruned from the
// objects nested inside its arrays ({"a":[{"b":null}]} stores {"a":[{}]}); except that, as in
// evanphx, a non-object value replacing an object is taken verbatim.
web::json::value mergePatch(const web::json::value& target, const web::json::value& patch);

// A merge patch PATCH request on a stored object, as kube-apiserver (with its default
// fieldValidation=Warn) decodes it: a body that is not an object is 400 "error decoding patch:
// json: cannot unmarshal array into Go value of type map[string]interface {}"; null is 400
// "Invalid JSON Patch".
std::expected<web::json::value, PatchError> applyMergePatch(const web::json::value& object,
                                                            const web::json::value& patch);

// ---- JSON patch (RFC 6902) -------------------------------------------------------------------

// Applies the operations in order; the document is unchanged unless all succeed. Decoding errors
// are 400 worded as kube's strict decoder words them ("error decoding patch: json: cannot
// unmarshal object into Go value of type []handlers.jsonPatchOp"), more than 10000 operations are
// 413, and an operation that cannot be applied is 422 "the server rejected our request due to an
// error in our request" with evanphx's text in `cause`: "testing value /a failed: test failed",
// `remove operation does not apply: doc is missing path: "/a/b": missing value`, "error in remove
// for path: '/a/5': Unable to access invalid index: 5: invalid index referenced", ...
// Departures from RFC 6902 that kube-apiserver has (evanphx v4) and this keeps:
//  - "replace" of a missing member of an existing object adds it;
//  - "copy" from a missing member of an existing object copies null;
//  - array indices may be negative (from the end) and may carry a sign or leading zeros;
//  - "test" treats a missing member and a null member alike;
//  - "replace" at "" with a value that is not an object or array silently does nothing.
// "test" compares numbers by value (1 equals 1.0), where evanphx compares their text.
std::expected<web::json::value, PatchError> applyJsonPatch(const web::json::value& document,
                                                           const web::json::value& patch);

// ---- Strategic merge patch -------------------------------------------------------------------

// A list that merges instead of being replaced: patchStrategy "merge" in the Go types. `path` is
// the dotted field path with list positions left out ("metadata.finalizers",
// "spec.template.spec.containers.env"); a leading "**." matches any prefix ("**.containers.env").
// mergeKey is the patchMergeKey ("name", "containerPort", ...); empty for lists of scalars.
struct StrategicListRule {
  std::string path;
  std::string mergeKey;
};

// Which lists merge, and by which key. Stands in for the Go struct tags kube-apiserver reads:
// rules are by path, not by type, so one table serves every built-in kind.
class StrategicMergeSchema {
 public:
  explicit StrategicMergeSchema(std::vector<StrategicListRule> rules);

  // The built-in kinds the test server stores: ObjectMeta (finalizers, ownerReferences by uid),
  // pod specs wherever they are nested (containers/initContainers/ephemeralContainers by name,
  // their env by name, ports by containerPort, volumeMounts by mountPath, volumeDevices by
  // devicePath; volumes, imagePullSecrets, schedulingGates, resourceClaims by name, hostAliases
  // by ip, topologySpreadConstraints by topologyKey), Service spec.ports by port, status
  // conditions by type, Node status.addresses by type and spec.podCIDRs, pod status.podIPs and
  // hostIPs by ip, ServiceAccount secrets by name, webhook configurations' webhooks by name.
  // Every other list is replaced, as kubernetes does for lists without a patch strategy.
  static const StrategicMergeSchema& builtin();

  const StrategicListRule* find(std::span<const std::string> path) const;

 private:
  std::vector<StrategicListRule> rules_;
};

// Applies a strategic merge patch as kube-apiserver does for built-in kinds: objects merge like a
// merge patch; lists named by the schema merge, maps by their merge key and scalars as a set;
// every other list is replaced. Directives: "$patch": "replace"/"delete" on a map, "$patch":
// "delete"/"replace" elements of a merging list, "$retainKeys", "$deleteFromPrimitiveList/<list>"
// and "$setElementOrder/<list>" (the order kubectl apply asks for). Merged lists are ordered as
// kubernetes orders them: the patch's items in the patch's order, items only on the server where
// they were relative to them, new items ahead of server-only ones. Approximations: the schema is
// by path (see StrategicMergeSchema); "$setElementOrder" lists are not validated against the
// patch; "$"-keys that are not directives, and nulls inside values the patch adds, are dropped
// (the typed decode in kube-apiserver drops them too); error messages that print Go values print
// them as Go would, from the JSON.
// A body that is not an object is 400 ("json: cannot unmarshal array into Go value of type
// map[string]interface {}"); null changes nothing.
std::expected<web::json::value, PatchError> applyStrategicMergePatch(
    const web::json::value& original, const web::json::value& patch,
    const StrategicMergeSchema& schema = StrategicMergeSchema::builtin());

}  // namespace billing::apiserver
