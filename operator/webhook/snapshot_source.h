// Where the admission webhook reads the cluster's billing objects from. A review compares the
// rules over the cluster as it is with the cluster as it would be after the change. Over every
// Namespace, BillingGroup, Project and Invoice that is correct but costs O(cluster) per review;
// a source that can find the objects a change can affect (snapshotFor) makes it O(change).
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "reconcilers/domain/model.h"

namespace billing::webhook {

// What one review is about: the written (or deleted) object and the objects the request's
// versions of it name: the BillingGroup a Project or Invoice references, the Project a
// BillingGroup's spec.projectRef binds.
struct ReviewScope {
  domain::ObjectKey object;
  std::vector<domain::ObjectKey> references;
};

class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // The objects as they are now, or why they could not be read (the webhook then answers 500 so
  // that the API server applies the webhook's failurePolicy).
  virtual std::expected<domain::Snapshot, std::string> snapshot() const = 0;
  // At least the objects a review of `scope` reads: every object whose violations the change can
  // alter, with everything their rules look up (reconcilers::snapshotForReview says which). The
  // review's decision must be the same as over snapshot(), which is what this default returns.
  virtual std::expected<domain::Snapshot, std::string> snapshotFor(
      const ReviewScope& /*scope*/) const {
    return snapshot();
  }
  // A Namespace the snapshot lacks, read live, or nullopt when it does not exist. A cache may not
  // have seen a Namespace created a moment ago (`kubectl apply` of a folder creates it right
  // before its objects); judging those objects without its organization label would be wrong.
  // Sources that read live anyway need not override this.
  virtual std::expected<std::optional<domain::Namespace>, std::string> lookupNamespace(
      const std::string& /*name*/) const {
    return std::nullopt;
  }
};

// Reads one Namespace with `client`: the live fallback of cache-backed sources.
std::expected<std::optional<domain::Namespace>, std::string> getNamespace(kube::Client& client,
                                                                          const std::string& name);

// A fixed snapshot: unit tests, and callers that already hold the objects.
class StaticSnapshotSource final : public SnapshotSource {
 public:
  explicit StaticSnapshotSource(domain::Snapshot snapshot) : snapshot_(std::move(snapshot)) {}
  std::expected<domain::Snapshot, std::string> snapshot() const override { return snapshot_; }

 private:
  domain::Snapshot snapshot_;
};

// Lists the four kinds through the Kubernetes client on every call: correct, but four list
// requests per admission review. `billing-operator run` passes its informer caches instead
// (CacheSnapshotSource in reconcilers/register.cpp).
// Objects are decoded without their status; decoding errors of stored objects are ignored (what
// could be read is kept), since they are not the reviewed change's doing.
class ClientSnapshotSource final : public SnapshotSource {
 public:
  explicit ClientSnapshotSource(kube::Client& client) : client_(client) {}
  std::expected<domain::Snapshot, std::string> snapshot() const override;

 private:
  kube::Client& client_;
};

}  // namespace billing::webhook
