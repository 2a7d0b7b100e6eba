// What the reconcilers' unit tests share: the in-memory Kubernetes API of the runtime's tests
// with a thin layer that gives deletion the API server's finalizer semantics, informer-like
// caches filled from it on demand, a settable clock, recorded events and the fake backend.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "operator/runtime/store.h"
#include "reconcilers/billing_group_reconciler.h"
#include "reconcilers/codec/objects.h"
#include "reconcilers/project_reconciler.h"
#include "reconcilers/resources.h"
#include "tests/unit/reconcilers/fake_backend.h"
#include "tests/unit/runtime/fake_client.h"

namespace billing::reconcilers::testing {

using Json = web::json::value;

// Deleting an object with finalizers sets deletionTimestamp; the object goes once a write
// leaves it without finalizers. Everything else is the runtime tests' FakeApi.
class FinalizingApi final : public kube::Client {
 public:
  explicit FinalizingApi(runtime::testing::FakeApi& api) : api_(api) {}

  domain::Timestamp deletionTime{std::chrono::seconds{1798000000}};

  kube::Result<Json> get(const kube::ResourceRef& r, const std::string& ns,
                         const std::string& name) override {
    return api_.get(r, ns, name);
  }
  kube::Result<kube::ListResult> list(const kube::ResourceRef& r, const std::string& ns,
                                      const kube::ListOptions& o) override {
    return api_.list(r, ns, o);
  }
  kube::Result<Json> create(const kube::ResourceRef& r, const std::string& ns, const Json& object,
                            const kube::WriteOptions& o = {}) override {
    ++creates;
    return api_.create(r, ns, object, o);
  }
  kube::Result<Json> update(const kube::ResourceRef& r, const std::string& ns, const Json& object,
                            const kube::WriteOptions& o = {}) override {
    return settle(r, api_.update(r, ns, object, o));
  }
  kube::Result<Json> updateStatus(const kube::ResourceRef& r, const std::string& ns,
                                  const Json& object, const kube::WriteOptions& o = {}) override {
    ++statusWrites;
    return settle(r, api_.updateStatus(r, ns, object, o));
  }
  kube::Result<Json> patch(const kube::ResourceRef& r, const std::string& ns,
                           const std::string& name, kube::PatchType type, const Json& patch,
                           bool status = false, const kube::WriteOptions& o = {}) override {
    if (patch.has_field("metadata") && patch.at("metadata").has_field("resourceVersion")) {
      auto current = api_.get(r, ns, name);
      if (current && runtime::objectResourceVersion(*current) !=
                         patch.at("metadata").at("resourceVersion").as_string()) {
        return std::unexpected(runtime::testing::makeError(kube::ErrorKind::Conflict, 409,
                                                           "stale resourceVersion", "Conflict"));
      }
    }
    return settle(r, api_.patch(r, ns, name, type, patch, status, o));
  }
  kube::Result<std::optional<Json>> remove(const kube::ResourceRef& r, const std::string& ns,
                                           const std::string& name,
                                           const kube::DeleteOptions& o = {}) override {
    auto current = api_.get(r, ns, name);
    if (!current) return std::unexpected(current.error());
    const Json& meta = current->at("metadata");
    if (meta.has_field("finalizers") && meta.at("finalizers").size() > 0) {
      Json marked = *current;
      if (!meta.has_field("deletionTimestamp")) {
        marked["metadata"]["deletionTimestamp"] =
            Json::string(domain::formatTimestamp(deletionTime));
      }
      return std::optional<Json>(api_.put(r, marked));
    }
    return api_.remove(r, ns, name, o);
  }
  kube::Result<void> watch(const kube::ResourceRef& r, const std::string& ns,
                           const kube::WatchOptions& o,
                           const std::function<bool(const kube::WatchEvent&)>& onEvent,
                           std::stop_token stop) override {
    return api_.watch(r, ns, o, onEvent, std::move(stop));
  }

  int creates = 0;
  int statusWrites = 0;

 private:
  kube::Result<Json> settle(const kube::ResourceRef& r, kube::Result<Json> written) {
    if (!written) return written;
    const Json& meta = written->at("metadata");
    const bool deleting = meta.has_field("deletionTimestamp");
    const bool finalized = !meta.has_field("finalizers") || meta.at("finalizers").size() == 0;
    if (deleting && finalized) {
      api_.erase(r, runtime::objectNamespace(*written), runtime::objectName(*written));
    }
    return written;
  }

  runtime::testing::FakeApi& api_;
};

struct RecordedEvent {
  std::string object;  // "namespace/name"
  runtime::EventType type;
  std::string reason;
  std::string note;
};

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest() : kube_(api_) { backend_.setNow(now_); }

  // ---- the cluster ----

  Json namespaceObject(const std::string& name, const std::string& organization) {
    Json ns = runtime::testing::makeObject("v1", "Namespace", "", name);
    ns.erase("spec");
    if (!organization.empty()) {
      ns["metadata"]["labels"] = Json::object();
      ns["metadata"]["labels"][std::string(domain::kOrganizationLabel)] =
          Json::string(organization);
    }
    return ns;
  }
  void addNamespace(const std::string& name, const std::string& organization) {
    api_.put(namespacesResource(), namespaceObject(name, organization));
  }
  Json addGroup(const std::string& yamlLikeJson) {
    return api_.put(billingGroupsResource(), withCreation(runtime::testing::parse(yamlLikeJson)));
  }
  Json addProject(const std::string& json) {
    return api_.put(projectsResource(), withCreation(runtime::testing::parse(json)));
  }
  Json withCreation(Json object) {
    object["metadata"]["creationTimestamp"] = Json::string(domain::formatTimestamp(created_));
    return object;
  }
  std::optional<Json> stored(const kube::ResourceRef& r, const std::string& ns,
                             const std::string& name) {
    return api_.stored(r, ns, name);
  }
  // Marks an object deleted as the API server does.
  void remove(const kube::ResourceRef& r, const std::string& ns, const std::string& name) {
    ASSERT_TRUE(kube_.remove(r, ns, name).has_value());
  }

  // ---- caches, as the informers would hold them after syncing ----

  void sync() {
    syncStore(namespacesStore_, namespacesResource());
    syncStore(groupsStore_, billingGroupsResource());
    syncStore(projectsStore_, projectsResource());
    syncStore(invoicesStore_, invoicesResource());
  }
  Caches caches() {
    return Caches{&namespacesStore_, &groupsStore_, &projectsStore_, &invoicesStore_};
  }

  // ---- reconcilers ----

  ReconcilerDeps deps() {
    return ReconcilerDeps{
        kube_,
        &backend_,
        caches(),
        [this](const Json& regarding, runtime::EventType type, std::string_view reason,
               std::string_view note) {
          events_.push_back(RecordedEvent{runtime::objectKey(regarding), type, std::string(reason),
                                          std::string(note)});
        },
        [this] { return now_; },
        runtime::Logger::discard()};
  }
  runtime::ReconcileOutcome reconcileProject(const std::string& ns, const std::string& name) {
    sync();
    return projects_->reconcile({ns, name});
  }
  runtime::ReconcileOutcome reconcileGroup(const std::string& ns, const std::string& name) {
    sync();
    return groups_->reconcile({ns, name});
  }
  void advance(std::chrono::seconds by) {
    now_ += by;
    backend_.setNow(now_);
  }

  void SetUp() override {
    projects_ = std::make_unique<ProjectReconciler>(deps(), options_);
    groups_ = std::make_unique<BillingGroupReconciler>(deps(), options_);
  }

  // ---- reading results ----

  domain::Project project(const std::string& ns, const std::string& name) {
    auto object = stored(projectsResource(), ns, name);
    EXPECT_TRUE(object.has_value()) << ns << "/" << name;
    return object ? codec::decodeProject(*object).value : domain::Project{};
  }
  domain::BillingGroup group(const std::string& ns, const std::string& name) {
    auto object = stored(billingGroupsResource(), ns, name);
    EXPECT_TRUE(object.has_value()) << ns << "/" << name;
    return object ? codec::decodeBillingGroup(*object).value : domain::BillingGroup{};
  }
  static domain::Condition ready(const std::vector<domain::Condition>& conditions) {
    for (const auto& c : conditions) {
      if (c.type == "Ready") return c;
    }
    return {};
  }
  std::vector<RecordedEvent> eventsWith(const std::string& reason) const {
    std::vector<RecordedEvent> out;
    for (const auto& e : events_) {
      if (e.reason == reason) out.push_back(e);
    }
    return out;
  }

  runtime::testing::FakeApi api_;
  FinalizingApi kube_;
  FakeBackend backend_;
  ReconcilerOptions options_;
  std::vector<RecordedEvent> events_;
  domain::Timestamp created_{std::chrono::seconds{1796083200}};  // 2026-12-01T00:00:00Z
  domain::Timestamp now_{std::chrono::seconds{1797292800}};      // 2026-12-15T00:00:00Z
  std::unique_ptr<ProjectReconciler> projects_;
  std::unique_ptr<BillingGroupReconciler> groups_;

 private:
  void syncStore(runtime::Store& store, const kube::ResourceRef& resource) {
    std::vector<Json> all = api_.storedAll(resource);
    std::set<std::string> keys;
    for (Json& object : all) {
      keys.insert(runtime::objectKey(object));
      store.upsert(std::make_shared<const Json>(std::move(object)));
    }
    for (const std::string& key : store.keys()) {
      if (!keys.contains(key)) store.erase(key);
    }
  }

  runtime::Store namespacesStore_{runtime::defaultIndexers()};
  runtime::Store groupsStore_{runtime::defaultIndexers()};
  runtime::Store projectsStore_{runtime::defaultIndexers()};
  runtime::Store invoicesStore_{runtime::defaultIndexers()};
};

}  // namespace billing::reconcilers::testing
