// Conversion between Kubernetes JSON objects and the domain's plain values. Decoding is strict
// the way `kubectl apply` with server-side field validation is: wrong types, missing required
// fields, unsupported enum values and unknown fields are reported with their field paths, all of
// them at once, and the object is still returned as far as it could be read so that the rules
// can look at the rest.
#pragma once

#include <cpprest/json.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/violation.h"

namespace billing::codec {

template <typename T>
struct Decoded {
  T value;
  std::vector<domain::Violation> errors;
};

struct DecodeOptions {
  // GitOps manifests carry no status (and the API server ignores one sent to the main
  // endpoint), so the offline checker skips it; reconcilers read the status they wrote.
  bool status = true;
  // The namespace to assume when metadata.namespace is empty, as `kubectl apply -n` does.
  std::string defaultNamespace;
};

// What an object's apiVersion and kind make of it.
struct ObjectType {
  enum class Category {
    Billing,      // one of our kinds, at a version we serve
    Namespace,    // core v1 Namespace
    Unsupported,  // billing.operator.dev at a version we do not serve
    Other,        // any other Kubernetes object: not ours to check
    Invalid,      // not a Kubernetes object (no apiVersion or kind)
  };
  Category category = Category::Invalid;
  domain::Kind kind = domain::Kind::BillingGroup;
  std::string apiVersion;
  std::string kindName;
};
ObjectType classify(const web::json::value& object);

Decoded<domain::Namespace> decodeNamespace(const web::json::value& object);
Decoded<domain::BillingGroup> decodeBillingGroup(const web::json::value& object,
                                                 const DecodeOptions& options = {});
Decoded<domain::Project> decodeProject(const web::json::value& object,
                                       const DecodeOptions& options = {});
Decoded<domain::Invoice> decodeInvoice(const web::json::value& object,
                                       const DecodeOptions& options = {});

// Whole objects, with apiVersion and kind; empty optional fields are left out.
web::json::value encode(const domain::Namespace& ns);
web::json::value encode(const domain::BillingGroup& group);
web::json::value encode(const domain::Project& project);
web::json::value encode(const domain::Invoice& invoice);

// The parts reconcilers patch on their own.
web::json::value encodeMetadata(const domain::ObjectMeta& metadata);
web::json::value encodeStatus(const domain::BillingGroupStatus& status);
web::json::value encodeStatus(const domain::ProjectStatus& status);
web::json::value encodeStatus(const domain::InvoiceStatus& status);

}  // namespace billing::codec
