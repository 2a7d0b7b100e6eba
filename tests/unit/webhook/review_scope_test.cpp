// A review over the scoped snapshot (reconcilers::snapshotForReview, what `billing-operator run`'s
// cache-backed source hands out) must decide exactly as over every cached object: for generated
// worlds with every membership source, binding quirk, invoice period and tenancy situation, every
// write of a set covering each reference a Project, BillingGroup or Invoice can take (CREATE,
// UPDATE, UPDATE with an oldObject the cache has not seen, CREATE over a stale cache entry) and
// every BillingGroup deletion is reviewed both ways, and the answers must be identical: allowed,
// code, message, causes and warnings.
#include <gtest/gtest.h>

#include <expected>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/json.h"
#include "operator/runtime/store.h"
#include "operator/webhook/admission_review.h"
#include "reconcilers/domain/rules.h"
#include "reconcilers/snapshot_from_cache.h"

namespace billing::webhook {
namespace {

using web::json::value;

const domain::Timestamp kNow = *domain::parseTimestamp("2024-05-15T12:00:00Z");
const std::string kOrganizationLabel(domain::kOrganizationLabel);

// web::json's erase throws for a missing key.
void eraseField(value& object, const std::string& field) {
  if (object.is_object() && object.has_field(field)) object.erase(field);
}

// A Namespace the caches have not seen but the API server has: the live fallback must find it
// the same way in both reviews.
const std::string kLateNamespace = "late";

struct World {
  runtime::Store namespaces{runtime::defaultIndexers()};
  runtime::Store groups{runtime::defaultIndexers()};
  runtime::Store projects{runtime::defaultIndexers()};
  runtime::Store invoices{runtime::defaultIndexers()};
  reconcilers::Caches caches() const {
    return reconcilers::Caches{&namespaces, &groups, &projects, &invoices};
  }
};

std::expected<std::optional<domain::Namespace>, std::string> lateNamespace(
    const std::string& name) {
  if (name != kLateNamespace) return std::nullopt;
  domain::Namespace ns;
  ns.metadata.name = name;
  ns.metadata.labels[kOrganizationLabel] = "org-a";
  return ns;
}

// Every cached object, as ClientSnapshotSource would list them: the reference answer.
class WholeCacheSource final : public SnapshotSource {
 public:
  explicit WholeCacheSource(const World& world) : world_(world) {}
  std::expected<domain::Snapshot, std::string> snapshot() const override {
    return reconcilers::snapshotFromCaches(world_.caches());
  }
  std::expected<std::optional<domain::Namespace>, std::string> lookupNamespace(
      const std::string& name) const override {
    return lateNamespace(name);
  }

 private:
  const World& world_;
};

// What CacheSnapshotSource (reconcilers/register.cpp) does once its caches have synced.
class ScopedCacheSource final : public SnapshotSource {
 public:
  explicit ScopedCacheSource(const World& world) : world_(world) {}
  std::expected<domain::Snapshot, std::string> snapshot() const override {
    ADD_FAILURE() << "a scoped review read the whole cache";
    return reconcilers::snapshotFromCaches(world_.caches());
  }
  std::expected<domain::Snapshot, std::string> snapshotFor(
      const ReviewScope& scope) const override {
    return reconcilers::snapshotForReview(world_.caches(), scope.object, scope.references);
  }
  std::expected<std::optional<domain::Namespace>, std::string> lookupNamespace(
      const std::string& name) const override {
    return lateNamespace(name);
  }

 private:
  const World& world_;
};

value meta(const std::string& ns, const std::string& name, int uid) {
  value m = value::object();
  if (!ns.empty()) m["namespace"] = value::string(ns);
  m["name"] = value::string(name);
  m["uid"] = value::string("uid-" + std::to_string(uid));
  m["generation"] = value::number(1);
  m["resourceVersion"] = value::string(std::to_string(uid));
  m["creationTimestamp"] = value::string("2024-05-01T10:00:00Z");
  return m;
}

// An object of `kind` with its metadata, as the API server stores and sends it.
value object(const std::string& kind, const std::string& ns, const std::string& name, int uid) {
  value out = value::object();
  out["apiVersion"] =
      value::string(std::string(domain::kGroup) + "/" + std::string(domain::kVersion));
  out["kind"] = value::string(kind);
  out["metadata"] = meta(ns, name, uid);
  return out;
}

// A project name too long for "<name>-billing": its default group name is shortened with a hash.
const std::string kLongProject = "long-" + std::string(250, 'x');

const std::vector<std::string> kNamespaces = {"a1", "a2", "b1", "loose", "empty"};

struct Generated {
  std::vector<std::string> projectNames;  // every name used, existing or not
  std::vector<std::string> groupNames;
};

// Organizations: a1 and a2 are org-a, b1 org-b, loose is unlabelled (its own organization),
// empty has an empty label (also its own). Plus references to "late" (live only) and "ghost"
// (nowhere).
Generated generate(World& world, std::uint32_t seed) {
  std::mt19937 random(seed);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  auto anyOf = [&](const std::vector<std::string>& names) { return names[pick(names.size())]; };
  const std::vector<std::string> organizations = {"org-a", "org-a", "org-b", "", "-"};
  int uid = 0;
  for (std::size_t i = 0; i < kNamespaces.size(); ++i) {
    value ns = value::object();
    ns["metadata"] = meta("", kNamespaces[i], ++uid);
    if (!organizations[i].empty()) {
      ns["metadata"]["labels"][kOrganizationLabel] =
          value::string(organizations[i] == "-" ? "" : organizations[i]);
    }
    world.namespaces.upsert(std::make_shared<const value>(ns));
  }
  Generated out;
  for (int p = 0; p < 16; ++p) out.projectNames.push_back("p" + std::to_string(p));
  out.projectNames.push_back(kLongProject);
  for (int g = 0; g < 12; ++g) out.groupNames.push_back("g" + std::to_string(g));
  out.groupNames.push_back(domain::defaultGroupName(anyOf(out.projectNames)));
  out.groupNames.push_back(domain::defaultGroupName(kLongProject));
  out.groupNames.push_back(domain::defaultGroupName(anyOf(out.projectNames)));
  auto groupNs = [&]() { return kNamespaces[pick(3)]; };  // mostly labelled namespaces

  for (const std::string& name : out.groupNames) {
    for (int copy = 0; copy < 2; ++copy) {  // the same name in two namespaces, sometimes
      if (copy == 1 && pick(3) != 0) break;
      const std::string ns = pick(6) == 0 ? kNamespaces[3 + pick(2)] : groupNs();
      value group = object("BillingGroup", ns, name, ++uid);
      group["spec"]["currency"] = value::string(pick(12) == 0 ? "EURO" : "EUR");
      const std::size_t shape = pick(8);
      group["spec"]["scope"] = value::string(shape < 3 ? "Organization" : "Project");
      if (shape >= 3 || pick(6) == 0) {
        group["spec"]["projectRef"]["name"] = value::string(anyOf(out.projectNames));
      }
      if (pick(5) == 0) {
        group["metadata"]["annotations"]["billing.operator.dev/default-group-of"] =
            value::string(anyOf(out.projectNames));
      }
      if (pick(4) == 0) group["spec"]["invoicing"]["period"] = value::string("Weekly");
      if (pick(6) == 0) {
        group["spec"]["credits"][0]["id"] = value::string("welcome");
        group["spec"]["credits"][0]["amount"] = value::string("10.00");
      }
      if (pick(5) == 0) {
        value owner = value::object();
        owner["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
        owner["kind"] = value::string("Project");
        owner["name"] = value::string(anyOf(out.projectNames));
        owner["uid"] = value::string("uid-" + std::to_string(1000 + pick(16)));
        group["metadata"]["ownerReferences"][0] = owner;
      }
      if (pick(8) == 0) {
        group["metadata"]["labels"][kOrganizationLabel] = value::string("org-b");
      }
      world.groups.upsert(std::make_shared<const value>(group));
    }
  }
  for (std::size_t p = 0; p < out.projectNames.size(); ++p) {
    if (pick(8) == 0) continue;  // some names are bound or defaulted to but do not exist
    // The long-named project always relies on its (hash-named) default group in a1, so that
    // writes of groups of that name meet it.
    const bool longName = out.projectNames[p] == kLongProject;
    const std::string ns = longName ? "a1" : kNamespaces[pick(kNamespaces.size())];
    value project = object("Project", ns, out.projectNames[p], 1000 + static_cast<int>(p));
    project["spec"]["displayName"] = value::string("Project " + std::to_string(p));
    const std::size_t shape = longName ? 0 : pick(5);
    if (shape > 0) {
      project["spec"]["billingGroupRef"]["name"] =
          value::string(shape == 4 ? "missing" : anyOf(out.groupNames));
      if (shape == 2) {
        project["spec"]["billingGroupRef"]["namespace"] = value::string(groupNs());
      }
    }
    if (pick(8) == 0) {
      project["metadata"]["deletionTimestamp"] = value::string("2024-06-01T00:00:00Z");
    }
    world.projects.upsert(std::make_shared<const value>(project));
  }
  const std::vector<std::pair<std::string, std::string>> periods = {
      {"2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z"},  // a month
      {"2024-04-01T00:00:00Z", "2024-05-01T00:00:00Z"},
      {"2024-05-06T00:00:00Z", "2024-05-13T00:00:00Z"},  // a week
      {"2024-05-03T00:00:00Z", "2024-05-09T00:00:00Z"},  // neither
  };
  for (int i = 0; i < 12; ++i) {
    value invoice = object("Invoice", groupNs(), "inv" + std::to_string(i), ++uid);
    invoice["spec"]["billingGroupRef"]["name"] = value::string(anyOf(out.groupNames));
    const auto& period = periods[pick(periods.size())];
    invoice["spec"]["periodStart"] = value::string(period.first);
    invoice["spec"]["periodEnd"] = value::string(period.second);
    if (pick(4) == 0) invoice["spec"]["finalize"] = value::boolean(true);
    world.invoices.upsert(std::make_shared<const value>(invoice));
  }
  return out;
}

// The spec variants a write of each kind can take.
std::vector<value> projectVariants(const Generated& names, const value& base) {
  std::vector<value> out;
  value none = base;
  eraseField(none["spec"], "billingGroupRef");
  out.push_back(none);
  for (const std::string& group : names.groupNames) {
    value local = base;
    local["spec"]["billingGroupRef"] = value::object();
    local["spec"]["billingGroupRef"]["name"] = value::string(group);
    out.push_back(local);
  }
  for (const char* ns : {"a1", "a2", "b1", "loose", "late", "ghost"}) {
    for (const std::string& group : {names.groupNames[0], names.groupNames[1]}) {
      value across = base;
      across["spec"]["billingGroupRef"] = value::object();
      across["spec"]["billingGroupRef"]["name"] = value::string(group);
      across["spec"]["billingGroupRef"]["namespace"] = value::string(ns);
      out.push_back(across);
    }
  }
  value secret = base;
  secret["spec"]["displayName"] = value::string("card 4111 1111 1111 1111");
  out.push_back(secret);
  return out;
}

std::vector<value> groupVariants(const Generated& names, const value& base) {
  std::vector<value> out;
  value organization = base;
  organization["spec"]["scope"] = value::string("Organization");
  eraseField(organization["spec"], "projectRef");
  out.push_back(organization);
  value unbound = base;
  unbound["spec"]["scope"] = value::string("Project");
  eraseField(unbound["spec"], "projectRef");
  out.push_back(unbound);
  for (const std::string& project : names.projectNames) {
    for (const char* scope : {"Project", "Organization"}) {
      value bound = base;
      bound["spec"]["scope"] = value::string(scope);
      bound["spec"]["projectRef"] = value::object();
      bound["spec"]["projectRef"]["name"] = value::string(project);
      out.push_back(bound);
    }
  }
  value weekly = base;
  weekly["spec"]["invoicing"]["period"] = value::string("Weekly");
  out.push_back(weekly);
  value daily = base;
  daily["spec"]["invoicing"]["period"] = value::string("Daily");
  out.push_back(daily);
  value credits = base;
  credits["spec"]["credits"][0]["id"] = value::string("c");
  credits["spec"]["credits"][0]["amount"] = value::string("-1");
  out.push_back(credits);
  return out;
}

std::vector<value> invoiceVariants(const Generated& names, const value& base) {
  std::vector<value> out;
  std::vector<std::string> groups = names.groupNames;
  groups.push_back("missing");
  for (const std::string& group : groups) {
    for (const auto& [start, end] : {std::pair{"2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z"},
                                     std::pair{"2024-05-06T00:00:00Z", "2024-05-13T00:00:00Z"},
                                     std::pair{"2024-05-03T00:00:00Z", "2024-05-09T00:00:00Z"}}) {
      value invoice = base;
      invoice["spec"]["billingGroupRef"]["name"] = value::string(group);
      invoice["spec"]["periodStart"] = value::string(start);
      invoice["spec"]["periodEnd"] = value::string(end);
      out.push_back(invoice);
    }
  }
  value finalize = base;
  finalize["spec"]["finalize"] = value::boolean(true);
  out.push_back(finalize);
  return out;
}

AdmissionRequest request(const std::string& kind, const std::string& operation, const value& object,
                         const value& oldObject) {
  const value& named = object.is_null() ? oldObject : object;
  AdmissionRequest out;
  out.apiVersion = "admission.k8s.io/v1";
  out.uid = "review";
  out.group = std::string(domain::kGroup);
  out.version = std::string(domain::kVersion);
  out.kind = kind;
  out.operation = operation;
  out.ns = named.at("metadata").at("namespace").as_string();
  out.name = named.at("metadata").at("name").as_string();
  out.object = object;
  out.oldObject = oldObject;
  return out;
}

std::string summary(const std::expected<AdmissionResponse, ReviewError>& response) {
  if (!response) {
    return "error " + std::to_string(response.error().httpStatus) + ": " + response.error().message;
  }
  std::string out = response->allowed ? "allowed" : "denied";
  out += " " + std::to_string(response->code) + " " + response->reason + "\n" + response->message;
  for (const domain::Violation& violation : response->violations) {
    out += "\ncause: " + domain::describe(violation);
  }
  for (const std::string& warning : response->warnings) out += "\nwarning: " + warning;
  return out;
}

value withName(value object, const std::string& ns, const std::string& name) {
  object["metadata"]["namespace"] = value::string(ns);
  object["metadata"]["name"] = value::string(name);
  eraseField(object["metadata"], "uid");
  return object;
}

struct Tally {
  int reviews = 0;
  int denied = 0;
  int warned = 0;
  int deletionsDenied = 0;
};

void compare(const World& world, const AdmissionRequest& review, const std::string& where,
             Tally& tally) {
  const WholeCacheSource whole(world);
  const ScopedCacheSource scoped(world);
  const auto expected = decide(review, whole, kNow);
  const auto actual = decide(review, scoped, kNow);
  ASSERT_TRUE(expected.has_value()) << where;
  EXPECT_EQ(summary(actual), summary(expected))
      << where << ": " << review.operation << " " << review.kind << " " << review.ns << "/"
      << review.name << "\n"
      << common::toJson(review.object);
  ++tally.reviews;
  if (!expected->allowed) {
    ++tally.denied;
    if (review.operation == "DELETE") ++tally.deletionsDenied;
  }
  if (!expected->warnings.empty()) ++tally.warned;
}

// Reviews every variant of `kind` written over `existing` (UPDATE, sometimes with an old object
// the cache has not seen, sometimes CREATE over the stale entry) and as new objects (CREATE).
void reviewWrites(const World& world, const std::string& kind, const runtime::Store& store,
                  const std::function<std::vector<value>(const value&)>& variants,
                  const std::vector<value>& newObjects, const std::string& where, Tally& tally) {
  std::size_t turn = 0;
  for (const runtime::ObjectPtr& stored : store.list()) {
    const std::vector<value> written = variants(*stored);
    for (std::size_t i = 0; i < written.size(); ++i, ++turn) {
      if (turn % 7 == 3) {
        compare(world, request(kind, "CREATE", written[i], value::null()), where, tally);
      } else if (turn % 5 == 2) {
        // The API server's old object differs from the cache's (the cache lags).
        const value& old = written[(i + written.size() / 2) % written.size()];
        compare(world, request(kind, "UPDATE", written[i], old), where, tally);
      } else {
        compare(world, request(kind, "UPDATE", written[i], *stored), where, tally);
      }
    }
  }
  for (const value& object : newObjects) {
    for (const value& variant : variants(object)) {
      compare(world, request(kind, "CREATE", variant, value::null()), where, tally);
    }
  }
}

TEST(ReviewScopeTest, ScopedReviewsDecideLikeReviewsOfTheWholeCache) {
  Tally tally;
  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    World world;
    const Generated names = generate(world, seed);
    const std::string where = "seed " + std::to_string(seed);
    std::vector<value> newProjects;
    std::vector<value> newGroups;
    for (const std::string ns : {"a1", "b1", "loose", "late"}) {
      // Names other objects already bind, default to or that are new.
      for (const std::string& name : {names.projectNames[3], kLongProject, std::string("fresh")}) {
        value project = object("Project", ns, name, 0);
        project["spec"]["displayName"] = value::string("new");
        newProjects.push_back(withName(project, ns, name));
      }
      for (const std::string& name :
           {names.groupNames[0], domain::defaultGroupName(names.projectNames[5]),
            domain::defaultGroupName(kLongProject), std::string("fresh-group")}) {
        value group = object("BillingGroup", ns, name, 0);
        group["spec"]["currency"] = value::string("EUR");
        newGroups.push_back(withName(group, ns, name));
      }
    }
    value newInvoice = object("Invoice", "a1", "inv-new", 0);
    newInvoice["spec"]["billingGroupRef"]["name"] = value::string(names.groupNames[0]);

    reviewWrites(
        world, "Project", world.projects,
        [&](const value& base) { return projectVariants(names, base); }, newProjects, where, tally);
    reviewWrites(
        world, "BillingGroup", world.groups,
        [&](const value& base) { return groupVariants(names, base); }, newGroups, where, tally);
    reviewWrites(
        world, "Invoice", world.invoices,
        [&](const value& base) { return invoiceVariants(names, base); }, {newInvoice}, where,
        tally);
    for (const runtime::ObjectPtr& group : world.groups.list()) {
      compare(world, request("BillingGroup", "DELETE", value::null(), *group), where, tally);
      AdmissionRequest noOldObject = request("BillingGroup", "DELETE", value::null(), *group);
      noOldObject.oldObject = value::null();
      compare(world, noOldObject, where, tally);
      // An old object bound elsewhere than the cached one.
      for (const value& old : groupVariants(names, *group)) {
        compare(world, request("BillingGroup", "DELETE", value::null(), old), where, tally);
      }
    }
  }
  // The worlds exercise every outcome, so equal answers mean something.
  EXPECT_GT(tally.reviews, 12 * 1000);
  EXPECT_GT(tally.denied, tally.reviews / 10);
  EXPECT_LT(tally.denied, tally.reviews * 9 / 10);
  EXPECT_GT(tally.warned, tally.reviews / 10);
  EXPECT_GT(tally.deletionsDenied, 12);
}

}  // namespace
}  // namespace billing::webhook
