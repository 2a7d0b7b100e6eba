// Admission webhooks: kube-apiserver's MutatingAdmissionWebhook and ValidatingAdmissionWebhook
// plugins. For each Mutating- or ValidatingWebhookConfiguration stored in the server, each webhook
// whose rules, namespaceSelector and objectSelector match the request is called over HTTPS with an
// AdmissionReview, and a denial (or a failure under failurePolicy Fail) refuses the request with
// the webhook's message, worded as kube-apiserver words it; mutating webhooks' JSON patches change
// the object the request goes on with. See docs/test-apiserver.md, "Admission".
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/apiserver/object_store.h"
#include "tests/apiserver/resource_registry.h"
#include "tests/apiserver/status.h"
#include "tests/apiserver/user_info.h"

namespace billing::apiserver {

struct AdmissionAttributes {
  ResourceType type;        // the resource as requested (group, version, plural, kind)
  std::string subresource;  // "" or "status"
  std::string operation;    // CREATE, UPDATE, DELETE
  std::string ns;
  std::string name;
  web::json::value object;     // the new object (null for DELETE)
  web::json::value oldObject;  // the stored object (null for CREATE)
  UserInfo user;
  bool dryRun = false;
  // The operation's options as kube-apiserver hands them to webhooks: a CreateOptions,
  // UpdateOptions (also for patches) or DeleteOptions object. Null: {kind, apiVersion
  // meta.k8s.io/v1} for the operation, with dryRun ["All"] when dryRun is set.
  web::json::value options{};
};

// What admission decided, and what the webhooks asked to tell the client.
struct AdmissionResult {
  std::optional<ApiError> error;  // nullopt: admitted
  // response.warnings of every webhook that answered, in call order, denials included.
  // kube-apiserver sends each as a `Warning: 299 - "<text>"` response header, dropping empty and
  // repeated texts.
  std::vector<std::string> warnings;
};

// Re-decodes an object a mutating webhook patched, as kube-apiserver's object interfaces for the
// resource do (for a custom resource: pruning by its schema, without warnings, and defaulting).
// An error fails the request with 500 InternalError.
using ObjectNormalizer =
    std::function<std::expected<web::json::value, std::string>(web::json::value)>;

class AdmissionController {
 public:
  // `serviceEndpoints` maps "namespace/name:port" of a webhook's Service to a local port.
  AdmissionController(const ObjectStore& store,
                      std::map<std::string, std::uint16_t> serviceEndpoints);

  // The ValidatingAdmissionWebhook plugin.
  // Runs every matching webhook (one after another; kube-apiserver calls them in parallel) and
  // returns the first refusal in configuration-name and webhook order. Blocks for up to the sum of
  // the matching webhooks' timeoutSeconds.
  AdmissionResult review(const AdmissionAttributes& attributes) const;

  // The MutatingAdmissionWebhook plugin, which kube-apiserver runs after decoding the request
  // (pruning, defaulting) and before validating it: every matching mutating webhook, one after
  // another in configuration-name and webhook order, sees the object as the previous ones left
  // it; a JSON patch in its answer is applied to `attributes.object` and the result passed
  // through `normalize`. When a webhook changed the object, the webhooks before it with
  // reinvocationPolicy IfNeeded are called once more (kube's single reinvocation round). The
  // first refusal or failure stops the chain and is returned.
  AdmissionResult mutate(AdmissionAttributes& attributes, const ObjectNormalizer& normalize) const;

  // review() without the warnings: nullopt when every matching webhook allows the request.
  std::optional<ApiError> validate(const AdmissionAttributes& attributes) const;

 private:
  const ObjectStore& store_;
  std::map<std::string, std::uint16_t> serviceEndpoints_;
};

}  // namespace billing::apiserver
