#include "operator/webhook/admission_review.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "reconcilers/codec/objects.h"

namespace billing::webhook {
namespace {

using domain::BillingGroup;
using domain::Invoice;
using domain::Namespace;
using domain::Project;
using domain::Scope;
using domain::Snapshot;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using web::json::value;

const domain::Timestamp kNow = *domain::parseTimestamp("2026-11-15T12:00:00Z");
const std::string kOrganizationLabel(domain::kOrganizationLabel);

Namespace ns(const std::string& name, const std::string& organization) {
  Namespace out;
  out.metadata.name = name;
  if (!organization.empty()) out.metadata.labels[kOrganizationLabel] = organization;
  return out;
}

BillingGroup organizationGroup(const std::string& nsName, const std::string& name) {
  BillingGroup group;
  group.metadata.ns = nsName;
  group.metadata.name = name;
  group.spec.currency = "EUR";
  return group;
}

BillingGroup projectGroup(const std::string& nsName, const std::string& name,
                          const std::string& project) {
  BillingGroup group = organizationGroup(nsName, name);
  group.spec.scope = Scope::Project;
  group.spec.projectRef = domain::LocalObjectReference{project};
  return group;
}

Project project(const std::string& nsName, const std::string& name, const std::string& groupName,
                const std::string& groupNs = "") {
  Project out;
  out.metadata.ns = nsName;
  out.metadata.name = name;
  if (!groupName.empty())
    out.spec.billingGroupRef = domain::BillingGroupReference{groupName, groupNs};
  return out;
}

Invoice invoice(const std::string& nsName, const std::string& name, const std::string& group,
                const std::string& start, const std::string& end, bool finalize) {
  Invoice out;
  out.metadata.ns = nsName;
  out.metadata.name = name;
  out.spec.billingGroupRef.name = group;
  out.spec.periodStart = domain::parseTimestamp(start);
  out.spec.periodEnd = domain::parseTimestamp(end);
  out.spec.finalize = finalize;
  return out;
}

// Two organizations: acme (acme-billing, acme-web) and beta (beta). acme-main bills acme-web/web.
Snapshot cluster() {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme-billing", "acme"), ns("acme-web", "acme"), ns("beta", "beta")};
  snapshot.billingGroups = {organizationGroup("acme-billing", "acme-main"),
                            organizationGroup("beta", "shared")};
  snapshot.projects = {project("acme-web", "web", "acme-main", "acme-billing")};
  return snapshot;
}

struct Kind {
  std::string group;
  std::string version;
  std::string kind;
};
const Kind kBillingGroupKind{"billing.operator.dev", "v1alpha1", "BillingGroup"};
const Kind kProjectKind{"billing.operator.dev", "v1alpha1", "Project"};
const Kind kInvoiceKind{"billing.operator.dev", "v1alpha1", "Invoice"};

value admissionReview(const std::string& operation, const Kind& kind, const std::string& nsName,
                      const std::string& name, const value& object, const value& oldObject,
                      bool dryRun = false, const std::string& uid = "705ab4f5-6393-11e8-b7cc") {
  value review = value::object(true);
  review["apiVersion"] = value::string("admission.k8s.io/v1");
  review["kind"] = value::string("AdmissionReview");
  value request = value::object(true);
  request["uid"] = value::string(uid);
  request["kind"]["group"] = value::string(kind.group);
  request["kind"]["version"] = value::string(kind.version);
  request["kind"]["kind"] = value::string(kind.kind);
  request["namespace"] = value::string(nsName);
  request["name"] = value::string(name);
  request["operation"] = value::string(operation);
  request["object"] = object;
  request["oldObject"] = oldObject;
  request["dryRun"] = value::boolean(dryRun);
  review["request"] = request;
  return review;
}

template <typename Object>
value create(const Object& object, bool dryRun = false) {
  const Kind& kind = std::is_same_v<Object, BillingGroup> ? kBillingGroupKind
                     : std::is_same_v<Object, Project>    ? kProjectKind
                                                          : kInvoiceKind;
  return admissionReview("CREATE", kind, object.metadata.ns, object.metadata.name,
                         codec::encode(object), value::null(), dryRun);
}

template <typename Object>
value update(const Object& before, const Object& after) {
  const Kind& kind = std::is_same_v<Object, BillingGroup> ? kBillingGroupKind
                     : std::is_same_v<Object, Project>    ? kProjectKind
                                                          : kInvoiceKind;
  return admissionReview("UPDATE", kind, after.metadata.ns, after.metadata.name,
                         codec::encode(after), codec::encode(before));
}

value deleteGroup(const BillingGroup& group) {
  return admissionReview("DELETE", kBillingGroupKind, group.metadata.ns, group.metadata.name,
                         value::null(), codec::encode(group));
}

// What a test looks at in an answer.
struct Answer {
  std::string apiVersion;
  std::string uid;
  bool allowed = false;
  int code = 0;
  std::string reason;
  std::string message;
  std::vector<std::string> warnings;
  std::vector<std::string> causeReasons;
  std::string error;  // ReviewError
  int errorStatus = 0;
};

Answer runWith(const value& request, const SnapshotSource& source, domain::Timestamp now = kNow) {
  auto answered = review(request, source, now);
  Answer answer;
  if (!answered) {
    answer.error = answered.error().message;
    answer.errorStatus = answered.error().httpStatus;
    return answer;
  }
  const value& out = *answered;
  answer.apiVersion = out.at("apiVersion").as_string();
  EXPECT_EQ(out.at("kind").as_string(), "AdmissionReview");
  const value& response = out.at("response");
  answer.uid = response.at("uid").as_string();
  answer.allowed = response.at("allowed").as_bool();
  if (response.has_field("status")) {
    const value& status = response.at("status");
    answer.code = status.at("code").as_integer();
    answer.reason = status.at("reason").as_string();
    answer.message = status.at("message").as_string();
    if (status.has_field("details")) {
      for (const value& cause : status.at("details").at("causes").as_array()) {
        answer.causeReasons.push_back(cause.at("reason").as_string());
      }
    }
  }
  if (response.has_field("warnings")) {
    for (const value& warning : response.at("warnings").as_array()) {
      answer.warnings.push_back(warning.as_string());
    }
  }
  return answer;
}

Answer run(const value& request, const Snapshot& snapshot, domain::Timestamp now = kNow) {
  return runWith(request, StaticSnapshotSource(snapshot), now);
}

// A cache that lags: its snapshot lacks Namespaces that exist live (created a moment ago).
class LaggingCacheSource final : public SnapshotSource {
 public:
  LaggingCacheSource(Snapshot cached, std::vector<Namespace> live)
      : cached_(std::move(cached)), live_(std::move(live)) {}
  std::expected<Snapshot, std::string> snapshot() const override { return cached_; }
  std::expected<std::optional<Namespace>, std::string> lookupNamespace(
      const std::string& name) const override {
    lookups.push_back(name);
    if (unreachable) return std::unexpected(std::string("connection refused"));
    for (const Namespace& live : live_) {
      if (live.metadata.name == name) return live;
    }
    return std::nullopt;
  }
  mutable std::vector<std::string> lookups;
  bool unreachable = false;

 private:
  Snapshot cached_;
  std::vector<Namespace> live_;
};

// A source that fails the test when it is read: requests that need no snapshot must not list.
class UnreadableSource final : public SnapshotSource {
 public:
  std::expected<Snapshot, std::string> snapshot() const override {
    ++reads;
    return std::unexpected(std::string("the API server is unreachable"));
  }
  mutable int reads = 0;
};

// ---- allowed ----

TEST(ReviewTest, ValidProjectIsAllowedWithoutStatusOrWarnings) {
  Answer answer = run(create(project("acme-web", "api", "acme-main", "acme-billing")), cluster());
  EXPECT_TRUE(answer.allowed);
  EXPECT_EQ(answer.code, 0);
  EXPECT_EQ(answer.message, "");
  EXPECT_THAT(answer.warnings, IsEmpty());
}

TEST(ReviewTest, EchoesTheUidAndTheReviewVersion) {
  value request = create(project("acme-web", "api", "acme-main", "acme-billing"));
  request["request"]["uid"] = value::string("e911857d-c318-11e8-bbad-025000000001");
  request["apiVersion"] = value::string("admission.k8s.io/v1beta1");
  Answer answer = run(request, cluster());
  EXPECT_EQ(answer.uid, "e911857d-c318-11e8-bbad-025000000001");
  EXPECT_EQ(answer.apiVersion, "admission.k8s.io/v1beta1");
}

TEST(ReviewTest, OtherKindsAreAllowedWithoutReadingTheCluster) {
  UnreadableSource source;
  value configMap = common::parseJson(
                        R"({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "x", "namespace": "acme-web"}})")
                        .value();
  for (const auto& [kind, operation] : std::vector<std::pair<Kind, std::string>>{
           {{"", "v1", "ConfigMap"}, "CREATE"},
           {{"", "v1", "Namespace"}, "UPDATE"},
           {{"billing.operator.dev", "v1beta9", "BillingGroup"}, "CREATE"},
           {kProjectKind, "DELETE"},
           {kInvoiceKind, "DELETE"},
           {kProjectKind, "CONNECT"}}) {
    auto answered = review(admissionReview(operation, kind, "acme-web", "x", configMap, configMap),
                           source, kNow);
    ASSERT_TRUE(answered.has_value()) << kind.kind << " " << operation;
    EXPECT_TRUE(answered->at("response").at("allowed").as_bool()) << kind.kind << " " << operation;
  }
  EXPECT_EQ(source.reads, 0);
}

// ---- R2, R10: organizations ----

TEST(ReviewTest, CrossOrganizationReferenceIsRefusedWithTheDomainMessage) {
  Answer answer = run(create(project("acme-web", "api", "shared", "beta")), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_EQ(answer.code, 403);
  EXPECT_EQ(answer.reason, "Forbidden");
  EXPECT_EQ(answer.message,
            "Project acme-web/api (organization acme) references billing group beta/shared "
            "(organization beta): a project may only use billing groups of its own organization "
            "(field spec.billingGroupRef.namespace, code CrossOrganization)");
  EXPECT_THAT(answer.causeReasons, ElementsAre("CrossOrganization"));
}

TEST(ReviewTest, AProjectCannotJoinAnotherOrganizationByLabellingItself) {
  // The author of acme-web/api claims organization beta: the Namespace's label decides (R10).
  Project claimed = project("acme-web", "api", "shared", "beta");
  claimed.metadata.labels[kOrganizationLabel] = "beta";
  Answer answer = run(create(claimed), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message, HasSubstr("code CrossOrganization"));
  EXPECT_THAT(answer.message, HasSubstr("code OrganizationLabelMismatch"));
  EXPECT_THAT(answer.causeReasons,
              testing::UnorderedElementsAre("CrossOrganization", "OrganizationLabelMismatch"));
}

TEST(ReviewTest, MovingAProjectToAnotherOrganizationsGroupIsRefused) {
  Project web = cluster().projects[0];
  Project moved = web;
  moved.spec.billingGroupRef = domain::BillingGroupReference{"shared", "beta"};
  Answer answer = run(update(web, moved), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message, HasSubstr("Project acme-web/web (organization acme) references "
                                        "billing group beta/shared (organization beta)"));
}

TEST(ReviewTest, AGroupCannotBeMovedIntoAnotherOrganization) {
  BillingGroup group = cluster().billingGroups[0];
  BillingGroup moved = group;
  moved.metadata.labels[kOrganizationLabel] = "beta";
  Answer answer = run(update(group, moved), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_EQ(answer.message,
            "BillingGroup acme-billing/acme-main (organization acme) carries label "
            "billing.operator.dev/organization=beta: the organization is decided by the label on "
            "Namespace acme-billing, which cluster administrators own; remove the label from the "
            "object (field metadata.labels[billing.operator.dev/organization], code "
            "OrganizationLabelMismatch)");
}

TEST(ReviewTest, AReferenceIntoAnUnknownNamespaceIsAnotherOrganization) {
  // A namespace that does not exist (yet) is its own organization: no way around R10 by naming
  // a namespace before an administrator labels it.
  Answer answer = run(create(project("acme-web", "api", "shared", "not-yet")), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message, HasSubstr("code CrossOrganization"));
}

TEST(ReviewTest, ANamespaceTheCacheHasNotSeenYetIsReadLive) {
  // `kubectl apply -f folder/` creates the labelled Namespace right before its Project; the
  // cache may not have it yet, and without its label the project would look cross-organization.
  const value request = create(project("acme-new", "api", "acme-main", "acme-billing"));
  EXPECT_FALSE(run(request, cluster()).allowed) << "without the live read, another organization";

  LaggingCacheSource source(cluster(), {ns("acme-new", "acme")});
  Answer answer = runWith(request, source);
  EXPECT_TRUE(answer.allowed) << answer.message;
  EXPECT_THAT(source.lookups, ElementsAre("acme-new")) << "only the namespace the cache lacks";
}

TEST(ReviewTest, AReferencedNamespaceTheCacheHasNotSeenYetIsReadLive) {
  Snapshot cached = cluster();
  std::erase_if(cached.namespaces,
                [](const Namespace& n) { return n.metadata.name == "acme-billing"; });
  LaggingCacheSource source(cached, {ns("acme-billing", "acme")});
  Answer answer = runWith(create(project("acme-web", "api", "acme-main", "acme-billing")), source);
  EXPECT_TRUE(answer.allowed) << answer.message;
  EXPECT_THAT(source.lookups, ElementsAre("acme-billing"));
}

TEST(ReviewTest, ANamespaceThatDoesNotExistLiveEitherStaysItsOwnOrganization) {
  LaggingCacheSource source(cluster(), {});
  Answer answer = runWith(create(project("acme-web", "api", "shared", "not-yet")), source);
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message, HasSubstr("code CrossOrganization"));
}

TEST(ReviewTest, AFailedLiveNamespaceReadLetsTheFailurePolicyDecide) {
  LaggingCacheSource source(cluster(), {});
  source.unreachable = true;
  Answer answer = runWith(create(project("acme-new", "api", "acme-main", "acme-billing")), source);
  EXPECT_EQ(answer.errorStatus, 500);
  EXPECT_THAT(answer.error, HasSubstr("connection refused"));
}

// ---- R2 credits, R3 project groups ----

TEST(ReviewTest, CreditsOnAProjectGroupAreRefused) {
  Snapshot snapshot = cluster();
  BillingGroup group = projectGroup("acme-web", "web-billing", "web");
  group.spec.credits.push_back(domain::CreditGrant{"promo", "100.00", "", std::nullopt});
  Answer answer = run(create(group), snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message,
              HasSubstr("BillingGroup acme-web/web-billing (organization acme) has scope Project "
                        "but grants credits: credits exist only on organization billing groups"));
  EXPECT_THAT(answer.causeReasons, testing::Contains("CreditsOnProjectGroup"));
}

TEST(ReviewTest, UsingAnotherProjectsProjectGroupIsRefused) {
  Snapshot snapshot = cluster();
  snapshot.projects.push_back(project("acme-web", "api", ""));
  snapshot.billingGroups.push_back(projectGroup("acme-web", "api-billing", "api"));
  Answer answer = run(create(project("acme-web", "shop", "api-billing")), snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_EQ(answer.message,
            "Project acme-web/shop (organization acme) references billing group "
            "acme-web/api-billing (organization acme), a project billing group bound to "
            "acme-web/api: a project billing group can only be used by its own project; use an "
            "Organization group to share billing (field spec.billingGroupRef.name, code "
            "ProjectGroupBoundToOther)");
}

TEST(ReviewTest, ASecondProjectGroupForAProjectIsRefused) {
  Snapshot snapshot = cluster();
  snapshot.projects.push_back(project("acme-web", "api", ""));
  snapshot.billingGroups.push_back(projectGroup("acme-web", "api-billing", "api"));
  Answer answer = run(create(projectGroup("acme-web", "api-billing-2", "api")), snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message,
              HasSubstr("BillingGroup acme-web/api-billing-2 (organization acme) is a second "
                        "project billing group for project acme-web/api (already served by "
                        "api-billing)"));
  EXPECT_THAT(answer.causeReasons, ElementsAre("DuplicateProjectGroup"));
}

TEST(ReviewTest, TurningASharedGroupIntoAProjectGroupIsRefusedForItsMembers) {
  // The change is to the group; the violations it introduces are on the projects using it.
  Snapshot snapshot = cluster();
  snapshot.projects.push_back(project("acme-billing", "ops", ""));
  BillingGroup group = snapshot.billingGroups[0];
  BillingGroup narrowed = projectGroup("acme-billing", "acme-main", "ops");
  Answer answer = run(update(group, narrowed), snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message, HasSubstr("Project acme-web/web (organization acme) references "
                                        "billing group acme-billing/acme-main"));
  EXPECT_THAT(answer.causeReasons, ElementsAre("ProjectGroupBoundToOther"));
}

// ---- only what a change introduces ----

TEST(ReviewTest, AnUnrelatedBrokenObjectDoesNotBlockAChange) {
  Snapshot snapshot = cluster();
  // Broken before this request: a project of organization beta uses acme's group (say, its
  // namespace was relabelled by an administrator).
  snapshot.namespaces.push_back(ns("beta-web", "beta"));
  snapshot.projects.push_back(project("beta-web", "legacy", "acme-main", "acme-billing"));
  BillingGroup group = snapshot.billingGroups[0];
  BillingGroup edited = group;
  edited.spec.displayName = "Acme Corporation";
  Answer answer = run(update(group, edited), snapshot);
  EXPECT_TRUE(answer.allowed) << answer.message;
  EXPECT_THAT(answer.warnings, IsEmpty());

  // ... while an update of the same group that breaks something new is still refused.
  BillingGroup broken = group;
  broken.spec.currency = "EURO";
  answer = run(update(group, broken), snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.causeReasons, ElementsAre("InvalidCurrency"));
}

TEST(ReviewTest, AnObjectAlreadyBrokenMayStillBeEditedElsewhere) {
  // acme-web was moved to organization beta by an administrator: web's reference is now
  // cross-organization. Editing web's tags does not make that worse and is allowed.
  Snapshot snapshot = cluster();
  snapshot.namespaces[1] = ns("acme-web", "beta");
  Project web = snapshot.projects[0];
  Project tagged = web;
  tagged.spec.tags["team"] = "storefront";
  EXPECT_TRUE(run(update(web, tagged), snapshot).allowed);
}

TEST(ReviewTest, TheOldObjectComesFromTheRequestNotFromALaggingSource) {
  // The source has not seen the project yet (an informer a moment behind): the old object of the
  // request stands in for it, so its pre-existing problem is not blamed on this update.
  Snapshot snapshot = cluster();
  snapshot.projects.clear();
  Project old = project("acme-web", "web", "shared", "beta");
  Project edited = old;
  edited.spec.displayName = "Storefront";
  EXPECT_TRUE(run(update(old, edited), snapshot).allowed);
}

// ---- references to objects that do not exist yet ----

TEST(ReviewTest, AMissingBillingGroupIsAWarningNotARefusal) {
  Answer answer = run(create(project("acme-web", "api", "later")), cluster());
  EXPECT_TRUE(answer.allowed);
  ASSERT_THAT(answer.warnings, testing::SizeIs(1));
  EXPECT_THAT(answer.warnings[0], HasSubstr("references billing group acme-web/later, which does "
                                            "not exist"));
  EXPECT_THAT(answer.warnings[0], HasSubstr("code BillingGroupNotFound"));
}

TEST(ReviewTest, AMissingProjectOfAProjectGroupIsAWarning) {
  Answer answer = run(create(projectGroup("acme-web", "api-billing", "api")), cluster());
  EXPECT_TRUE(answer.allowed);
  ASSERT_THAT(answer.warnings, testing::SizeIs(1));
  EXPECT_THAT(answer.warnings[0], HasSubstr("code ProjectNotFound"));
}

TEST(ReviewTest, PendingReferenceWarningsRepeatOnEveryWrite) {
  Snapshot snapshot = cluster();
  Project waiting = project("acme-web", "api", "later");
  snapshot.projects.push_back(waiting);
  Project edited = waiting;
  edited.spec.displayName = "API";
  Answer answer = run(update(waiting, edited), snapshot);
  EXPECT_TRUE(answer.allowed);
  ASSERT_THAT(answer.warnings, testing::SizeIs(1));
  EXPECT_THAT(answer.warnings[0], HasSubstr("code BillingGroupNotFound"));
}

TEST(ReviewTest, AnInvoiceForAMissingGroupIsAWarning) {
  Answer answer = run(create(invoice("acme-billing", "later-2026-10", "later",
                                     "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", false)),
                      cluster());
  EXPECT_TRUE(answer.allowed);
  EXPECT_THAT(answer.warnings, ElementsAre(HasSubstr("code BillingGroupNotFound")));
}

// ---- R7 and the clock ----

TEST(ReviewTest, FinalizingAPeriodThatHasNotEndedIsRefusedUntilItEnds) {
  Invoice november = invoice("acme-billing", "acme-main-2026-11", "acme-main",
                             "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", true);
  Answer early = run(create(november), cluster());
  EXPECT_FALSE(early.allowed);
  EXPECT_THAT(early.causeReasons, ElementsAre("PeriodNotEnded"));
  EXPECT_THAT(early.message, HasSubstr("which ends after now (2026-11-15T12:00:00Z)"));

  Answer later = run(create(november), cluster(), *domain::parseTimestamp("2026-12-01T00:00:00Z"));
  EXPECT_TRUE(later.allowed) << later.message;
}

TEST(ReviewTest, ASecondInvoiceForAPeriodIsRefused) {
  Snapshot snapshot = cluster();
  snapshot.invoices.push_back(invoice("acme-billing", "a-2026-10", "acme-main",
                                      "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", false));
  Answer answer = run(create(invoice("acme-billing", "b-2026-10", "acme-main",
                                     "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", false)),
                      snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.causeReasons, ElementsAre("DuplicateInvoice"));
}

// ---- decoding ----

TEST(ReviewTest, AnObjectThatDoesNotDecodeIsRefusedAsInvalidWithItsFields) {
  value object = codec::encode(organizationGroup("acme-web", "broken"));
  object["spec"]["billingEmails"] = value::string("a@b.c");
  object["spec"]["scope"] = value::string("Galaxy");
  Answer answer =
      run(admissionReview("CREATE", kBillingGroupKind, "acme-web", "broken", object, value::null()),
          cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_EQ(answer.code, 422);
  EXPECT_EQ(answer.reason, "Invalid");
  EXPECT_THAT(answer.message, HasSubstr("field spec.billingEmails, code InvalidType"));
  EXPECT_THAT(answer.message, HasSubstr("field spec.scope, code InvalidScope"));
  EXPECT_THAT(answer.causeReasons, testing::UnorderedElementsAre("InvalidType", "InvalidScope"));
}

TEST(ReviewTest, StatusIsNotChecked) {
  // Status written through the main resource is ignored by the API server; so is it here.
  value object = codec::encode(project("acme-web", "api", "acme-main", "acme-billing"));
  object["status"] = common::parseJson(R"({"whatever": [1, 2]})").value();
  Answer answer = run(
      admissionReview("CREATE", kProjectKind, "acme-web", "api", object, value::null()), cluster());
  EXPECT_TRUE(answer.allowed) << answer.message;
}

TEST(ReviewTest, TheRequestNamespaceFillsAnEmptyObjectNamespace) {
  value object = codec::encode(project("", "api", "shared", "beta"));
  Answer answer = run(
      admissionReview("CREATE", kProjectKind, "acme-web", "api", object, value::null()), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.message, HasSubstr("Project acme-web/api (organization acme)"));
}

// ---- R6: deleting a billing group ----

TEST(ReviewTest, DeletingAGroupWithProjectsIsRefusedNamingThem) {
  Snapshot snapshot = cluster();
  snapshot.projects.push_back(project("acme-billing", "ops", "acme-main"));
  BillingGroup group = snapshot.billingGroups[0];
  group.metadata.finalizers.push_back(std::string(reconcilers::kBillingGroupFinalizer));
  Answer answer = run(deleteGroup(group), snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_EQ(answer.code, 403);
  EXPECT_EQ(answer.reason, "Forbidden");
  EXPECT_THAT(answer.message,
              HasSubstr("BillingGroup acme-billing/acme-main (organization acme) still bills 2 "
                        "projects (acme-billing/ops, acme-web/web)"));
  EXPECT_THAT(answer.causeReasons, ElementsAre("GroupHasProjects"));
}

TEST(ReviewTest, DeletingAGroupWithProjectsIsRefusedWithTheDomainMessage) {
  Answer answer = run(deleteGroup(cluster().billingGroups[0]), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_EQ(answer.code, 403);
  EXPECT_EQ(answer.message,
            "BillingGroup acme-billing/acme-main (organization acme) still bills 1 project "
            "(acme-web/web): move them to another billing group first; deletion waits until "
            "then (code GroupHasProjects)");
  EXPECT_THAT(answer.warnings, IsEmpty());
}

TEST(ReviewTest, DeletingAGroupWhoseProjectsAreAllBeingDeletedIsAllowed) {
  // A GitOps prune of a whole folder: the projects go first (or together), with finalizers.
  Snapshot snapshot = cluster();
  snapshot.projects.push_back(project("acme-billing", "ops", "acme-main"));
  for (domain::Project& member : snapshot.projects) member.metadata.deletionTimestamp = kNow;
  Answer answer = run(deleteGroup(snapshot.billingGroups[0]), snapshot);
  EXPECT_TRUE(answer.allowed) << answer.message;
  EXPECT_THAT(answer.warnings, IsEmpty());
}

TEST(ReviewTest, DeletingAGroupIsRefusedForTheMembersThatAreNotBeingDeleted) {
  Snapshot snapshot = cluster();
  snapshot.projects.push_back(project("acme-billing", "ops", "acme-main"));
  for (domain::Project& member : snapshot.projects) {
    if (member.metadata.name == "web") member.metadata.deletionTimestamp = kNow;
  }
  Answer answer = run(deleteGroup(snapshot.billingGroups[0]), snapshot);
  EXPECT_FALSE(answer.allowed);
  EXPECT_EQ(answer.code, 403);
  EXPECT_THAT(answer.message, HasSubstr("still bills 1 project (acme-billing/ops)"));
}

TEST(ReviewTest, DeletingAnUnusedGroupIsAllowedSilently) {
  Answer answer = run(deleteGroup(cluster().billingGroups[1]), cluster());
  EXPECT_TRUE(answer.allowed);
  EXPECT_THAT(answer.warnings, IsEmpty());
}

// ---- dry run, errors ----

TEST(ReviewTest, DryRunGetsTheSameDecision) {
  Answer answer = run(create(project("acme-web", "api", "shared", "beta"), true), cluster());
  EXPECT_FALSE(answer.allowed);
  EXPECT_THAT(answer.causeReasons, ElementsAre("CrossOrganization"));
}

TEST(ReviewTest, AnUnreadableClusterIsAServerErrorSoTheFailurePolicyApplies) {
  UnreadableSource source;
  auto answered =
      review(create(project("acme-web", "api", "acme-main", "acme-billing")), source, kNow);
  ASSERT_FALSE(answered.has_value());
  EXPECT_EQ(answered.error().httpStatus, 500);
  EXPECT_THAT(answered.error().message, HasSubstr("the API server is unreachable"));
}

TEST(ReviewTest, RequestsThatAreNotAdmissionReviewsAreBadRequests) {
  value valid = create(project("acme-web", "api", "acme-main", "acme-billing"));
  auto mutated = [&](auto change) {
    value copy = valid;
    change(copy);
    return copy;
  };
  std::vector<std::pair<value, std::string>> cases = {
      {value::array(), "not a JSON object"},
      {mutated([](value& v) { v["apiVersion"] = value::string("v1"); }), "apiVersion"},
      {mutated([](value& v) { v["kind"] = value::string("Pod"); }), "kind AdmissionReview"},
      {mutated([](value& v) { v.erase("request"); }), "no request"},
      {mutated([](value& v) { v["request"].erase("uid"); }), "request.uid"},
      {mutated([](value& v) { v["request"].erase("operation"); }), "request.operation"},
      {mutated([](value& v) { v["request"].erase("kind"); }), "request.kind"},
      {mutated([](value& v) { v["request"]["object"] = value::null(); }), "request.object"},
  };
  for (const auto& [request, expected] : cases) {
    Answer answer = run(request, cluster());
    EXPECT_EQ(answer.errorStatus, 400) << expected;
    EXPECT_THAT(answer.error, HasSubstr(expected));
  }
}

TEST(ReviewTest, EncodedDenialCarriesAFailureStatusWithCauses) {
  StaticSnapshotSource source(cluster());
  auto answered = review(create(project("acme-web", "api", "shared", "beta")), source, kNow);
  ASSERT_TRUE(answered.has_value());
  const value& status = answered->at("response").at("status");
  EXPECT_EQ(status.at("status").as_string(), "Failure");
  const value& cause = status.at("details").at("causes").at(0);
  EXPECT_EQ(cause.at("field").as_string(), "spec.billingGroupRef.namespace");
  EXPECT_THAT(cause.at("message").as_string(), Not(HasSubstr("code CrossOrganization")));
  EXPECT_FALSE(answered->at("response").has_field("warnings"));
}

}  // namespace
}  // namespace billing::webhook
