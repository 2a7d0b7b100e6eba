#include "reconcilers/domain/rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reconcilers/domain/formats.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/domain/snapshot_index.h"
#include "reconcilers/domain/time.h"
#include "reconcilers/domain/violation.h"

namespace billing::domain {

// Readable failure output; gtest finds these by argument-dependent lookup.
static void PrintTo(const ObjectKey& key, std::ostream* os) {
  *os << kindName(key.kind) << " " << key.display();
}

static void PrintTo(const Violation& violation, std::ostream* os) {
  *os << "{" << codeName(violation.code) << ", " << severityName(violation.severity) << ", ";
  PrintTo(violation.object, os);
  *os << ", field \"" << violation.field << "\", \"" << violation.message << "\"}";
}

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::Eq;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Matcher;
using ::testing::StartsWith;

const std::string kOrgLabel(kOrganizationLabel);
const std::string kOrgLabelField = "metadata.labels[" + kOrgLabel + "]";

// ---- Builders ----

// A Namespace; with an organization, it carries billing.operator.dev/organization=<organization>.
Namespace ns(std::string name, std::optional<std::string> organization = std::nullopt) {
  Namespace result;
  result.metadata.name = std::move(name);
  if (organization) result.metadata.labels[kOrgLabel] = *organization;
  return result;
}

// An Organization-scope billing group with a complete, valid billing profile.
BillingGroup orgGroup(std::string namespaceName, std::string name) {
  BillingGroup group;
  group.metadata.ns = std::move(namespaceName);
  group.metadata.name = std::move(name);
  group.metadata.uid = "uid-group-" + group.metadata.ns + "-" + group.metadata.name;
  group.spec.displayName = "Acme billing";
  group.spec.scope = Scope::Organization;
  group.spec.currency = "EUR";
  group.spec.billingEmails = {"billing@acme.example"};
  group.spec.company = "Acme GmbH";
  group.spec.address = Address{{"Hauptstrasse 1"}, "Berlin", "", "10115", "DE"};
  group.spec.vatId = "DE123456789";
  group.spec.paymentMethod = PaymentMethod{PaymentMethodType::BankTransfer, std::nullopt};
  return group;
}

// A Project-scope billing group bound to `projectName` (same namespace).
BillingGroup projectGroup(std::string namespaceName, std::string name, std::string projectName) {
  BillingGroup group = orgGroup(std::move(namespaceName), std::move(name));
  group.spec.scope = Scope::Project;
  group.spec.projectRef = LocalObjectReference{std::move(projectName)};
  return group;
}

// spec.billingGroupRef; an empty namespace means the project's own.
BillingGroupReference ref(std::string name, std::string namespaceName = "") {
  return BillingGroupReference{std::move(name), std::move(namespaceName)};
}

Project project(std::string namespaceName, std::string name,
                std::optional<BillingGroupReference> groupRef = std::nullopt) {
  Project result;
  result.metadata.ns = std::move(namespaceName);
  result.metadata.name = std::move(name);
  result.metadata.uid = "uid-project-" + result.metadata.ns + "-" + result.metadata.name;
  result.spec.displayName = result.metadata.name;
  result.spec.billingGroupRef = std::move(groupRef);
  return result;
}

Timestamp at(std::string_view rfc3339) {
  auto parsed = parseTimestamp(rfc3339);
  EXPECT_TRUE(parsed.has_value()) << rfc3339;
  return parsed.value_or(Timestamp{});
}

Invoice invoice(std::string namespaceName, std::string name, std::string groupName,
                std::string_view periodStart, std::string_view periodEnd) {
  Invoice result;
  result.metadata.ns = std::move(namespaceName);
  result.metadata.name = std::move(name);
  result.spec.billingGroupRef = LocalObjectReference{std::move(groupName)};
  result.spec.periodStart = at(periodStart);
  result.spec.periodEnd = at(periodEnd);
  return result;
}

// The owner reference the operator puts on a project billing group it creates for `owner`.
OwnerReference ownedBy(const Project& owner) {
  return OwnerReference{std::string(kApiVersion), "Project", owner.metadata.name,
                        owner.metadata.uid,       true,      true};
}

CreditGrant credit(std::string id, std::string amount) {
  return CreditGrant{std::move(id), std::move(amount), "", std::nullopt};
}

ObjectKey namespaceKey(std::string name) { return {Kind::Namespace, "", std::move(name)}; }
ObjectKey groupKey(std::string namespaceName, std::string name) {
  return {Kind::BillingGroup, std::move(namespaceName), std::move(name)};
}
ObjectKey projectKey(std::string namespaceName, std::string name) {
  return {Kind::Project, std::move(namespaceName), std::move(name)};
}
ObjectKey invoiceKey(std::string namespaceName, std::string name) {
  return {Kind::Invoice, std::move(namespaceName), std::move(name)};
}

// Organization acme owns namespaces acme-web and acme-billing; beta has no label, so it is its
// own organization "beta". Each billing namespace holds a shared Organization group.
Snapshot acme() {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme-web", "acme"), ns("acme-billing", "acme"), ns("beta")};
  snapshot.billingGroups = {orgGroup("acme-billing", "shared"), orgGroup("beta", "shared")};
  return snapshot;
}

// ---- Matchers ----

Matcher<const Violation&> isViolation(Code code, Severity severity, const ObjectKey& object,
                                      const std::string& field,
                                      Matcher<const std::string&> message) {
  return AllOf(Field("code", &Violation::code, Eq(code)),
               Field("severity", &Violation::severity, Eq(severity)),
               Field("object", &Violation::object, Eq(object)),
               Field("field", &Violation::field, Eq(field)),
               Field("message", &Violation::message, message));
}

Matcher<const Violation&> isError(Code code, const ObjectKey& object, const std::string& field,
                                  Matcher<const std::string&> message) {
  return isViolation(code, Severity::Error, object, field, std::move(message));
}

Matcher<const Violation&> isWarning(Code code, const ObjectKey& object, const std::string& field,
                                    Matcher<const std::string&> message) {
  return isViolation(code, Severity::Warning, object, field, std::move(message));
}

// The violations of one code, in validate()'s order.
std::vector<Violation> withCode(const std::vector<Violation>& violations, Code code) {
  std::vector<Violation> out;
  std::copy_if(violations.begin(), violations.end(), std::back_inserter(out),
               [&](const Violation& v) { return v.code == code; });
  return out;
}

// ---- R1 two scopes ----

TEST(RulesR1Test, OrganizationAndProjectScopedGroupsBothValidate) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web"),
                       project("acme-web", "api", ref("shared", "acme-billing"))};

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR1Test, ScopeDefaultsToOrganizationWhichManyProjectsMayShare) {
  EXPECT_EQ(BillingGroupSpec{}.scope, Scope::Organization);
  Snapshot snapshot = acme();
  BillingGroup group = orgGroup("acme-web", "team");
  group.spec = BillingGroupSpec{};
  group.spec.currency = "EUR";
  snapshot.billingGroups.push_back(group);
  snapshot.projects = {project("acme-web", "web", ref("team")),
                       project("acme-web", "api", ref("team"))};

  EXPECT_THAT(validate(snapshot), IsEmpty());
  SnapshotIndex index(snapshot);
  EXPECT_EQ(membersOf(index, snapshot.billingGroups.back()).size(), 2u);
}

// ---- R2 organization scoping ----

TEST(RulesR2Test, NamespaceWithoutLabelIsItsOwnOrganization) {
  Snapshot snapshot = acme();
  SnapshotIndex index(snapshot);

  EXPECT_EQ(index.organizationOf("acme-web"), "acme");
  EXPECT_EQ(index.organizationOf("acme-billing"), "acme");
  EXPECT_EQ(index.organizationOf("beta"), "beta");
  EXPECT_EQ(organizationOf(ns("beta")), "beta");
}

TEST(RulesR2Test, ProjectMayUseGroupInAnotherNamespaceOfItsOrganization) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing"))};

  EXPECT_THAT(validate(snapshot), IsEmpty());
  SnapshotIndex index(snapshot);
  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_TRUE(membership.has_value()) << membership.error().message;
  EXPECT_EQ(membership->source, Membership::Source::Reference);
  EXPECT_EQ(membership->group, groupKey("acme-billing", "shared"));
  EXPECT_EQ(membership->found, &snapshot.billingGroups[0]);
}

TEST(RulesR2Test, ProjectMayNotUseGroupOfAnotherOrganization) {
  EXPECT_EQ(ruleOf(Code::CrossOrganization), "R2");
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("shared", "beta"))};

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(isError(
          Code::CrossOrganization, projectKey("acme-web", "web"), "spec.billingGroupRef.namespace",
          "Project acme-web/web (organization acme) references billing group beta/shared "
          "(organization beta): a project may only use billing groups of its own "
          "organization")));
  SnapshotIndex index(snapshot);
  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_FALSE(membership.has_value());
  EXPECT_EQ(membership.error().code, Code::CrossOrganization);
}

TEST(RulesR2Test, CrossOrganizationIsReportedEvenWhenTheGroupDoesNotExist) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("missing", "beta"))};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::CrossOrganization, projectKey("acme-web", "web"),
                                  "spec.billingGroupRef.namespace",
                                  HasSubstr("references billing group beta/missing "
                                            "(organization beta)"))));
}

TEST(RulesR2Test, UndeclaredNamespaceCountsAsItsOwnOrganization) {
  // gamma is only known by name (an offline check of a folder that does not declare it).
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(orgGroup("gamma", "shared"));
  snapshot.projects = {project("acme-web", "web", ref("shared", "gamma"))};
  const auto expected = isError(
      Code::CrossOrganization, projectKey("acme-web", "web"), "spec.billingGroupRef.namespace",
      "Project acme-web/web (organization acme) references billing group gamma/shared "
      "(organization gamma): a project may only use billing groups of its own "
      "organization");

  EXPECT_THAT(validate(snapshot), ElementsAre(expected));

  Namespace gamma = ns("gamma");
  gamma.declared = false;
  snapshot.namespaces.push_back(gamma);
  EXPECT_THAT(validate(snapshot), ElementsAre(expected));
}

TEST(RulesR2Test, ProjectInUndeclaredNamespaceMayUseGroupsOfThatNamespace) {
  Snapshot snapshot;
  snapshot.billingGroups = {orgGroup("solo", "shared")};
  snapshot.projects = {project("solo", "web", ref("shared")),
                       project("solo", "api", ref("shared", "solo"))};

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR2Test, CreditsOnOrganizationGroupAreValid) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.credits = {credit("promo-2026", "100.00"),
                                            credit("prepaid-q1", "2500")};

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR2Test, CreditsOnProjectGroupAreRefused) {
  EXPECT_EQ(ruleOf(Code::CreditsOnProjectGroup), "R2");
  Snapshot snapshot = acme();
  BillingGroup group = projectGroup("acme-web", "web-billing", "web");
  group.spec.credits = {credit("promo-2026", "100.00")};
  snapshot.billingGroups.push_back(group);
  snapshot.projects = {project("acme-web", "web")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(
                  Code::CreditsOnProjectGroup, groupKey("acme-web", "web-billing"), "spec.credits",
                  AllOf(StartsWith("BillingGroup acme-web/web-billing (organization acme) has "
                                   "scope Project but grants credits"),
                        HasSubstr("credits exist only on organization billing groups")))));
}

TEST(RulesR2Test, CreditAmountsMustBeValidPositiveAmountsInTheGroupCurrency) {
  EXPECT_EQ(ruleOf(Code::InvalidCreditAmount), "R2");
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.credits = {credit("sub-cent", "12.345"), credit("negative", "-5"),
                                            credit("text", "abc"), credit("fine", "12.34"),
                                            credit("zero", "0")};
  const ObjectKey key = groupKey("acme-billing", "shared");

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(
          isError(Code::InvalidCreditAmount, key, "spec.credits[0].amount",
                  StartsWith("BillingGroup acme-billing/shared credit \"sub-cent\" amount "
                             "\"12.345\" is not a valid EUR amount: ")),
          isError(Code::InvalidCreditAmount, key, "spec.credits[1].amount",
                  "BillingGroup acme-billing/shared credit \"negative\" amount must be positive, "
                  "got \"-5\""),
          isError(Code::InvalidCreditAmount, key, "spec.credits[2].amount",
                  StartsWith("BillingGroup acme-billing/shared credit \"text\" amount \"abc\" is "
                             "not a valid EUR amount: ")),
          isError(Code::InvalidCreditAmount, key, "spec.credits[4].amount",
                  HasSubstr("amount must be positive, got \"0\""))));
}

TEST(RulesR2Test, CreditAmountFollowsTheCurrencyExponent) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.currency = "JPY";
  snapshot.billingGroups[0].spec.credits = {credit("yen", "1000"), credit("half-yen", "0.5")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::InvalidCreditAmount, groupKey("acme-billing", "shared"),
                                  "spec.credits[1].amount",
                                  HasSubstr("\"0.5\" is not a valid JPY amount"))));
}

TEST(RulesR2Test, CreditIdsMustBeUniqueWithinAGroup) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.credits = {credit("promo", "10"), credit("other", "5"),
                                            credit("promo", "20")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::InvalidValue, groupKey("acme-billing", "shared"),
                                  "spec.credits[2].id",
                                  "BillingGroup acme-billing/shared grants credit \"promo\" twice: "
                                  "credit ids must be unique within a group")));
}

// ---- R3 project billing groups ----

TEST(RulesR3Test, ProjectMayUseItsOwnProjectGroupByReferenceOrByBinding) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.billingGroups.push_back(projectGroup("acme-web", "api-billing", "api"));
  snapshot.projects = {project("acme-web", "web", ref("web-billing")), project("acme-web", "api")};

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR3Test, ProjectGroupWithoutProjectRefIsRefused) {
  EXPECT_EQ(ruleOf(Code::ProjectRefMissing), "R3");
  Snapshot snapshot = acme();
  BillingGroup missing = projectGroup("acme-web", "orphan", "");
  missing.spec.projectRef.reset();
  snapshot.billingGroups.push_back(missing);
  snapshot.billingGroups.push_back(projectGroup("acme-web", "unnamed", ""));

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::ProjectRefMissing, groupKey("acme-web", "orphan"),
                                  "spec.projectRef.name",
                                  "BillingGroup acme-web/orphan (organization acme) has scope "
                                  "Project but names no project: set spec.projectRef.name to the "
                                  "project it bills"),
                          isError(Code::ProjectRefMissing, groupKey("acme-web", "unnamed"),
                                  "spec.projectRef.name", HasSubstr("names no project"))));
}

TEST(RulesR3Test, OrganizationGroupMayNotNameAProject) {
  EXPECT_EQ(ruleOf(Code::ProjectRefOnOrganizationGroup), "R3");
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.projectRef = LocalObjectReference{"web"};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(
                  Code::ProjectRefOnOrganizationGroup, groupKey("acme-billing", "shared"),
                  "spec.projectRef",
                  AllOf(StartsWith("BillingGroup acme-billing/shared (organization acme) has scope "
                                   "Organization but names project web in spec.projectRef"),
                        HasSubstr("remove spec.projectRef or set spec.scope to Project")))));
}

TEST(RulesR3Test, ProjectGroupBoundToMissingProjectIsRefused) {
  EXPECT_EQ(ruleOf(Code::ProjectNotFound), "R3");
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "ghost-billing", "ghost"));

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::ProjectNotFound, groupKey("acme-web", "ghost-billing"),
                                  "spec.projectRef.name",
                                  AllOf(StartsWith("BillingGroup acme-web/ghost-billing "
                                                   "(organization acme) is bound to project "
                                                   "acme-web/ghost, which does not exist"),
                                        HasSubstr("create the Project or fix "
                                                  "spec.projectRef.name")))));
}

TEST(RulesR3Test, ProjectGroupBindsOnlyAProjectOfItsOwnNamespace) {
  // A project of the same name elsewhere does not satisfy the binding.
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-billing", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing"))};

  EXPECT_THAT(withCode(validate(snapshot), Code::ProjectNotFound),
              ElementsAre(isError(Code::ProjectNotFound, groupKey("acme-billing", "web-billing"),
                                  "spec.projectRef.name",
                                  HasSubstr("project acme-billing/web, which does not exist"))));
}

TEST(RulesR3Test, ProjectGroupOfAnotherProjectMayNotBeUsed) {
  EXPECT_EQ(ruleOf(Code::ProjectGroupBoundToOther), "R3");
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web"), project("acme-web", "api", ref("web-billing"))};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(
                  Code::ProjectGroupBoundToOther, projectKey("acme-web", "api"),
                  "spec.billingGroupRef.name",
                  "Project acme-web/api (organization acme) references billing group "
                  "acme-web/web-billing (organization acme), a project billing group bound to "
                  "acme-web/web: a project billing group can only be used by its own project; use "
                  "an Organization group to share billing")));
}

TEST(RulesR3Test, ProjectGroupMayNotBeUsedByNamesakeInAnotherNamespace) {
  Snapshot snapshot = acme();
  snapshot.namespaces.push_back(ns("acme-ops", "acme"));
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web"),
                       project("acme-ops", "web", ref("web-billing", "acme-web"))};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::ProjectGroupBoundToOther, projectKey("acme-ops", "web"),
                                  "spec.billingGroupRef.name",
                                  HasSubstr("a project billing group bound to acme-web/web: "))));
}

TEST(RulesR3Test, SecondProjectGroupForTheSameProjectIsRefused) {
  EXPECT_EQ(ruleOf(Code::DuplicateProjectGroup), "R3");
  Snapshot snapshot = acme();
  // Declared out of name order: the first group by name is the one that serves the project.
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-extra", "web"));
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::DuplicateProjectGroup, groupKey("acme-web", "web-extra"),
                                  "spec.projectRef.name",
                                  "BillingGroup acme-web/web-extra (organization acme) is a second "
                                  "project billing group for project acme-web/web (already served "
                                  "by web-billing): a project has at most one project billing "
                                  "group")));
  SnapshotIndex index(snapshot);
  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_TRUE(membership.has_value());
  EXPECT_EQ(membership->group, groupKey("acme-web", "web-billing"));
}

TEST(RulesR3Test, ProjectGroupOfAProjectThatUsesAnotherGroupIsAWarning) {
  EXPECT_EQ(ruleOf(Code::ProjectGroupUnused), "R3");
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing"))};

  auto violations = validate(snapshot);
  EXPECT_THAT(
      violations,
      ElementsAre(isWarning(
          Code::ProjectGroupUnused, groupKey("acme-web", "web-billing"), "spec.projectRef.name",
          AllOf(StartsWith("BillingGroup acme-web/web-billing (organization acme) is "
                           "bound to project acme-web/web, but that project uses billing "
                           "group acme-billing/shared"),
                HasSubstr("the group bills nothing")))));
  EXPECT_FALSE(hasErrors(violations));
}

// ---- R4 single membership ----

TEST(RulesR4Test, ReferenceDecidesMembership) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web", ref("web-billing"))};
  SnapshotIndex index(snapshot);

  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_TRUE(membership.has_value()) << membership.error().message;
  EXPECT_EQ(membership->source, Membership::Source::Reference);
  EXPECT_EQ(membership->group, groupKey("acme-web", "web-billing"));
  EXPECT_EQ(membership->found, &snapshot.billingGroups[2]);
}

TEST(RulesR4Test, ProjectWithoutReferenceBelongsToItsBoundGroup) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "custom", "web"));
  snapshot.projects = {project("acme-web", "web")};
  SnapshotIndex index(snapshot);

  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_TRUE(membership.has_value()) << membership.error().message;
  EXPECT_EQ(membership->source, Membership::Source::BoundGroup);
  EXPECT_EQ(membership->group, groupKey("acme-web", "custom"));
  EXPECT_EQ(membership->found, &snapshot.billingGroups[2]);
  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR4Test, ProjectWithoutReferenceOrBoundGroupGetsADefaultGroup) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web")};
  SnapshotIndex index(snapshot);

  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_TRUE(membership.has_value()) << membership.error().message;
  EXPECT_EQ(membership->source, Membership::Source::DefaultGroup);
  EXPECT_EQ(membership->group, groupKey("acme-web", "web-billing"));
  EXPECT_EQ(membership->found, nullptr);
  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR4Test, DefaultGroupNameAppendsBilling) {
  EXPECT_EQ(defaultGroupName("web"), "web-billing");
  EXPECT_EQ(defaultGroupName("acme.web-2"), "acme.web-2-billing");
  // 245 + "-billing" is exactly 253 characters: still the plain form.
  const std::string longest(245, 'a');
  EXPECT_EQ(defaultGroupName(longest), longest + "-billing");
}

TEST(RulesR4Test, DefaultGroupNameOfLongProjectIsShortenedToAValidUniqueName) {
  const std::string name = std::string(240, 'a') + "-web-1234";
  ASSERT_EQ(name.size(), 249u);
  const std::string other = std::string(240, 'a') + "-web-1235";
  const std::string longest = std::string(250, 'b');

  const std::string shortened = defaultGroupName(name);
  EXPECT_LE(shortened.size(), 253u);
  EXPECT_TRUE(isDnsSubdomain(shortened)) << shortened;
  EXPECT_THAT(shortened, StartsWith(std::string(200, 'a')));
  EXPECT_THAT(shortened, EndsWith("-billing"));
  EXPECT_NE(shortened, defaultGroupName(other));
  EXPECT_EQ(shortened, defaultGroupName(name)) << "the name must be stable across calls";

  const std::string fromLongest = defaultGroupName(longest);
  EXPECT_LE(fromLongest.size(), 253u);
  EXPECT_TRUE(isDnsSubdomain(fromLongest)) << fromLongest;
  EXPECT_NE(fromLongest, defaultGroupName(std::string(249, 'b') + "c"));
}

TEST(RulesR4Test, ShortenedDefaultGroupNameNeverHasADashOrDotBeforeTheHash) {
  // The cut falls right after a '-' or a '.': it is dropped so the name stays valid.
  for (char separator : {'-', '.'}) {
    const std::string name = std::string(235, 'a') + separator + std::string(14, 'b');
    ASSERT_EQ(name.size(), 250u);
    ASSERT_TRUE(isDnsSubdomain(name));

    const std::string shortened = defaultGroupName(name);
    EXPECT_TRUE(isDnsSubdomain(shortened)) << shortened;
    EXPECT_THAT(shortened, StartsWith(std::string(235, 'a') + "-"));
    EXPECT_THAT(shortened, EndsWith("-billing"));
    EXPECT_EQ(shortened.size(), 235u + 1 + 8 + 8) << shortened;
  }
}

TEST(RulesR4Test, ReferenceToMissingGroupIsRefused) {
  EXPECT_EQ(ruleOf(Code::BillingGroupNotFound), "R4");
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("missing"))};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::BillingGroupNotFound, projectKey("acme-web", "web"),
                                  "spec.billingGroupRef.name",
                                  "Project acme-web/web (organization acme) references billing "
                                  "group acme-web/missing, which does not exist: create it or fix "
                                  "spec.billingGroupRef")));
}

TEST(RulesR4Test, ReferenceToMissingGroupInAnotherNamespaceNamesThatNamespace) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("missing", "acme-billing"))};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::BillingGroupNotFound, projectKey("acme-web", "web"),
                                  "spec.billingGroupRef.name",
                                  HasSubstr("billing group acme-billing/missing, which does not "
                                            "exist"))));
}

TEST(RulesR4Test, InvoiceForMissingGroupIsRefused) {
  Snapshot snapshot = acme();
  snapshot.invoices = {
      invoice("acme-billing", "nov", "gone", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
      invoice("acme-billing", "oct", "shared", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")};

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(isError(Code::BillingGroupNotFound, invoiceKey("acme-billing", "nov"),
                          "spec.billingGroupRef.name",
                          "Invoice acme-billing/nov is for billing group acme-billing/gone, "
                          "which does not exist: an invoice belongs to a billing group of "
                          "its own namespace")));
}

TEST(RulesR4Test, DefaultGroupNameTakenByAnotherGroupIsRefused) {
  EXPECT_EQ(ruleOf(Code::DefaultGroupNameTaken), "R4");
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(orgGroup("acme-web", "web-billing"));
  snapshot.projects = {project("acme-web", "web")};

  const auto expected =
      isError(Code::DefaultGroupNameTaken, projectKey("acme-web", "web"), "spec.billingGroupRef",
              AllOf(StartsWith("Project acme-web/web (organization acme) names no billing group, "
                               "so the operator would create its project billing group "
                               "acme-web/web-billing, but a billing group of that name already "
                               "exists and is not bound to this project"),
                    HasSubstr("spec.projectRef.name web")));
  EXPECT_THAT(validate(snapshot), ElementsAre(expected));
  SnapshotIndex index(snapshot);
  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_FALSE(membership.has_value());
  EXPECT_THAT(membership.error(), expected);
}

TEST(RulesR4Test, DefaultGroupNameTakenByAGroupBoundToAnotherProjectIsRefused) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "api"));
  snapshot.projects = {project("acme-web", "web"), project("acme-web", "api")};

  EXPECT_THAT(withCode(validate(snapshot), Code::DefaultGroupNameTaken),
              ElementsAre(isError(Code::DefaultGroupNameTaken, projectKey("acme-web", "web"),
                                  "spec.billingGroupRef", HasSubstr("acme-web/web-billing"))));
}

TEST(RulesR4Test, ProjectKeepsItsDefaultGroupAfterItMovedToTheOrganization) {
  Snapshot snapshot = acme();
  BillingGroup promoted = orgGroup("acme-web", "web-billing");
  promoted.metadata.annotations[std::string(kDefaultGroupOfAnnotation)] = "web";
  snapshot.billingGroups.push_back(promoted);
  snapshot.projects = {project("acme-web", "web"), project("acme-web", "api")};

  EXPECT_THAT(withCode(validate(snapshot), Code::DefaultGroupNameTaken), IsEmpty());
  SnapshotIndex index(snapshot);
  auto membership = resolveMembership(index, snapshot.projects[0]);
  ASSERT_TRUE(membership.has_value());
  EXPECT_EQ(membership->source, Membership::Source::DefaultGroup);
  EXPECT_EQ(membership->group, groupKey("acme-web", "web-billing"));
  EXPECT_EQ(membership->found, &index.snapshot().billingGroups.back());
  // The annotation names the project it was made for; it does not adopt other projects.
  auto other = resolveMembership(index, snapshot.projects[1]);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->found, nullptr);
  EXPECT_EQ(other->group, groupKey("acme-web", "api-billing"));
}

// ---- R5 deleting a project ----

TEST(RulesR5Test, ProjectGroupOwnedByItsProjectIsValid) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web")};
  BillingGroup group = projectGroup("acme-web", "web-billing", "web");
  group.metadata.ownerReferences = {ownedBy(snapshot.projects[0])};
  snapshot.billingGroups.push_back(group);

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR5Test, OrganizationGroupStillOwnedByAProjectIsAWarning) {
  EXPECT_EQ(ruleOf(Code::OwnerReferenceOnOrganizationGroup), "R5");
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("web-billing"))};
  BillingGroup promoted = orgGroup("acme-web", "web-billing");
  promoted.metadata.ownerReferences = {ownedBy(snapshot.projects[0])};
  snapshot.billingGroups.push_back(promoted);

  auto violations = validate(snapshot);
  EXPECT_THAT(violations,
              ElementsAre(isWarning(
                  Code::OwnerReferenceOnOrganizationGroup, groupKey("acme-web", "web-billing"),
                  "metadata.ownerReferences",
                  "BillingGroup acme-web/web-billing (organization acme) has scope Organization "
                  "but is still owned by Project web: the operator releases this owner reference "
                  "so the group survives the project")));
  EXPECT_FALSE(hasErrors(violations));
}

// ---- R6 deleting a billing group ----

TEST(RulesR6Test, GroupWithoutProjectsMayBeDeleted) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web")};  // default group, not "shared"
  SnapshotIndex index(snapshot);

  EXPECT_EQ(checkGroupDeletion(index, snapshot.billingGroups[0]), std::nullopt);
}

TEST(RulesR6Test, GroupWithProjectsIsHeldAndNamesEveryMember) {
  EXPECT_EQ(ruleOf(Code::GroupHasProjects), "R6");
  Snapshot snapshot = acme();
  snapshot.namespaces.push_back(ns("acme-ops", "acme"));
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing")),
                       project("acme-ops", "batch", ref("shared", "acme-billing")),
                       project("acme-web", "api", ref("shared", "acme-billing")),
                       project("acme-web", "docs")};
  SnapshotIndex index(snapshot);

  auto violation = checkGroupDeletion(index, snapshot.billingGroups[0]);
  ASSERT_TRUE(violation.has_value());
  EXPECT_THAT(*violation,
              isError(Code::GroupHasProjects, groupKey("acme-billing", "shared"), "",
                      "BillingGroup acme-billing/shared (organization acme) still bills 3 "
                      "projects (acme-ops/batch, acme-web/api, acme-web/web): move them to "
                      "another billing group first; deletion waits until then"));
}

TEST(RulesR6Test, GroupWithOneProjectSaysProjectInTheSingular) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {project("acme-web", "web")};
  SnapshotIndex index(snapshot);

  auto violation = checkGroupDeletion(index, snapshot.billingGroups[2]);
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->message,
            "BillingGroup acme-web/web-billing (organization acme) still bills 1 project "
            "(acme-web/web): move them to another billing group first; deletion waits until "
            "then");
}

TEST(RulesR6Test, DeletionCheckRecognisesTheGroupByKeyNotByAddress) {
  // The webhook checks the object of a DELETE request, a copy of the one in its caches.
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing"))};
  SnapshotIndex index(snapshot);
  const BillingGroup requested = snapshot.billingGroups[0];

  auto violation = checkGroupDeletion(index, requested);
  ASSERT_TRUE(violation.has_value());
  EXPECT_EQ(violation->code, Code::GroupHasProjects);
  EXPECT_THAT(violation->message, HasSubstr("still bills 1 project (acme-web/web)"));
  EXPECT_EQ(membersOf(index, requested).size(), 1u);
}

// ---- R7 consolidated invoice ----

TEST(RulesR7Test, InvoicesCoveringOneWholePeriodAreValid) {
  Snapshot snapshot = acme();
  BillingGroup weekly = orgGroup("acme-billing", "weekly");
  weekly.spec.invoicing.period = InvoicingPeriod::Weekly;
  BillingGroup daily = orgGroup("acme-billing", "daily");
  daily.spec.invoicing.period = InvoicingPeriod::Daily;
  snapshot.billingGroups.push_back(weekly);
  snapshot.billingGroups.push_back(daily);
  snapshot.invoices = {invoice("acme-billing", "monthly-nov", "shared", "2026-11-01T00:00:00Z",
                               "2026-12-01T00:00:00Z"),
                       invoice("acme-billing", "monthly-dec", "shared", "2026-12-01T00:00:00Z",
                               "2027-01-01T00:00:00Z"),
                       // 2026-11-02 is a Monday.
                       invoice("acme-billing", "weekly-45", "weekly", "2026-11-02T00:00:00Z",
                               "2026-11-09T00:00:00Z"),
                       invoice("acme-billing", "daily-1103", "daily", "2026-11-03T00:00:00Z",
                               "2026-11-04T00:00:00Z")};

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR7Test, MonthlyInvoiceNotCoveringACalendarMonthIsRefused) {
  EXPECT_EQ(ruleOf(Code::PeriodNotAligned), "R7");
  Snapshot snapshot = acme();
  snapshot.invoices = {
      invoice("acme-billing", "nov", "shared", "2026-11-15T00:00:00Z", "2026-12-15T00:00:00Z")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::PeriodNotAligned, invoiceKey("acme-billing", "nov"),
                                  "spec.periodStart",
                                  "Invoice acme-billing/nov period [2026-11-15T00:00:00Z, "
                                  "2026-12-15T00:00:00Z) is not one Monthly period of billing "
                                  "group acme-billing/shared: the period containing "
                                  "spec.periodStart is [2026-11-01T00:00:00Z, "
                                  "2026-12-01T00:00:00Z)")));
}

TEST(RulesR7Test, MonthlyInvoiceEndingMidMonthIsRefused) {
  Snapshot snapshot = acme();
  snapshot.invoices = {
      invoice("acme-billing", "nov", "shared", "2026-11-01T00:00:00Z", "2026-11-16T00:00:00Z")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::PeriodNotAligned, invoiceKey("acme-billing", "nov"),
                                  "spec.periodStart",
                                  HasSubstr("is [2026-11-01T00:00:00Z, 2026-12-01T00:00:00Z)"))));
}

TEST(RulesR7Test, WeeklyInvoiceMustCoverAnIsoWeek) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.invoicing.period = InvoicingPeriod::Weekly;
  // A Sunday-to-Sunday week.
  snapshot.invoices = {
      invoice("acme-billing", "w45", "shared", "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z")};

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(isError(
          Code::PeriodNotAligned, invoiceKey("acme-billing", "w45"), "spec.periodStart",
          AllOf(HasSubstr("is not one Weekly period"), EndsWith("is [2026-10-26T00:00:00Z, "
                                                                "2026-11-02T00:00:00Z)")))));
}

TEST(RulesR7Test, DailyInvoiceMustCoverAUtcDay) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.invoicing.period = InvoicingPeriod::Daily;
  snapshot.invoices = {
      invoice("acme-billing", "d3", "shared", "2026-11-03T12:00:00Z", "2026-11-04T12:00:00Z")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(
                  Code::PeriodNotAligned, invoiceKey("acme-billing", "d3"), "spec.periodStart",
                  AllOf(HasSubstr("is not one Daily period"), EndsWith("is [2026-11-03T00:00:00Z, "
                                                                       "2026-11-04T00:00:00Z)")))));
}

// R6: a group being deleted gets a final invoice for [start of its last period, close). The
// operator records that period as the group's status.currentPeriod before creating the Invoice;
// exactly that period is accepted, and only while the group is being deleted.
Snapshot deletingGroupWithFinalPeriod(std::string_view closeAt) {
  Snapshot snapshot = acme();
  BillingGroup& group = snapshot.billingGroups[0];
  group.metadata.deletionTimestamp = at("2026-11-27T07:00:00Z");
  group.status.currentPeriod = CurrentPeriod{at("2026-11-01T00:00:00Z"), at(closeAt), "12.00"};
  return snapshot;
}

TEST(RulesR7Test, TheFinalPartialPeriodRecordedByADeletedGroupIsAccepted) {
  Snapshot snapshot = deletingGroupWithFinalPeriod("2026-11-27T07:12:30Z");
  Invoice final = invoice("acme-billing", "shared-2026-11-01", "shared", "2026-11-01T00:00:00Z",
                          "2026-11-27T07:12:30Z");
  final.spec.finalize = true;
  snapshot.invoices = {final};

  EXPECT_THAT(validate(snapshot), IsEmpty());
  EXPECT_THAT(validate(snapshot, RuleOptions{at("2026-11-27T07:13:00Z")}), IsEmpty());
}

TEST(RulesR7Test, OtherCutsOfADeletedGroupsLastPeriodAreRefused) {
  Snapshot snapshot = deletingGroupWithFinalPeriod("2026-11-27T07:12:30Z");
  snapshot.invoices = {
      // Ends before or after the recorded close.
      invoice("acme-billing", "early", "shared", "2026-11-01T00:00:00Z", "2026-11-27T07:12:29Z"),
      invoice("acme-billing", "late", "shared", "2026-11-01T00:00:00Z", "2026-11-28T00:00:00Z"),
      // Ends at the close but does not start at the period's start.
      invoice("acme-billing", "mid", "shared", "2026-11-02T00:00:00Z", "2026-11-27T07:12:30Z")};

  const auto violations = validate(snapshot);
  ASSERT_EQ(violations.size(), 3u);
  for (const Violation& violation : violations) {
    EXPECT_EQ(violation.code, Code::PeriodNotAligned) << violation.message;
  }
  EXPECT_THAT(violations[0].message, HasSubstr("Invoice acme-billing/early period"));
}

TEST(RulesR7Test, APartialPeriodIsRefusedUnlessTheGroupIsDeletingAndRecordedIt) {
  const char* closeAt = "2026-11-27T07:12:30Z";
  const Invoice final =
      invoice("acme-billing", "shared-2026-11-01", "shared", "2026-11-01T00:00:00Z", closeAt);

  // A live group: its currentPeriod is the running period; a user cannot cut it short.
  Snapshot live = acme();
  live.billingGroups[0].status.currentPeriod =
      CurrentPeriod{at("2026-11-01T00:00:00Z"), at(closeAt), ""};
  live.invoices = {final};
  EXPECT_THAT(withCode(validate(live), Code::PeriodNotAligned), ::testing::SizeIs(1));

  // Deleting, but the close is not decided yet (currentPeriod is the whole running period).
  Snapshot undecided = deletingGroupWithFinalPeriod("2026-12-01T00:00:00Z");
  undecided.invoices = {final};
  EXPECT_THAT(withCode(validate(undecided), Code::PeriodNotAligned), ::testing::SizeIs(1));

  // A recorded "close" before the deletion is not one the operator makes.
  Snapshot beforeDeletion = deletingGroupWithFinalPeriod("2026-11-20T00:00:00Z");
  beforeDeletion.invoices = {invoice("acme-billing", "shared-2026-11-01", "shared",
                                     "2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z")};
  EXPECT_THAT(withCode(validate(beforeDeletion), Code::PeriodNotAligned), ::testing::SizeIs(1));

  // The offline checker reads no status (GitOps files have none): refused there too.
  Snapshot noStatus = deletingGroupWithFinalPeriod(closeAt);
  noStatus.billingGroups[0].status = BillingGroupStatus{};
  noStatus.invoices = {final};
  EXPECT_THAT(withCode(validate(noStatus), Code::PeriodNotAligned), ::testing::SizeIs(1));

  // Whole periods stay accepted for a deleting group.
  Snapshot whole = deletingGroupWithFinalPeriod(closeAt);
  whole.invoices = {
      invoice("acme-billing", "oct", "shared", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")};
  EXPECT_THAT(validate(whole), IsEmpty());
}

TEST(RulesR7Test, EmptyOrReversedPeriodIsInvalid) {
  EXPECT_EQ(ruleOf(Code::InvalidPeriod), "R7");
  Snapshot snapshot = acme();
  snapshot.invoices = {
      invoice("acme-billing", "empty", "shared", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"),
      invoice("acme-billing", "reversed", "shared", "2026-12-01T00:00:00Z",
              "2026-11-01T00:00:00Z")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::InvalidPeriod, invoiceKey("acme-billing", "empty"),
                                  "spec.periodEnd",
                                  "Invoice acme-billing/empty period [2026-11-01T00:00:00Z, "
                                  "2026-11-01T00:00:00Z) is empty: spec.periodEnd must be after "
                                  "spec.periodStart"),
                          isError(Code::InvalidPeriod, invoiceKey("acme-billing", "reversed"),
                                  "spec.periodEnd", HasSubstr("is empty"))));
}

TEST(RulesR7Test, SecondInvoiceForTheSameGroupAndPeriodIsRefused) {
  EXPECT_EQ(ruleOf(Code::DuplicateInvoice), "R7");
  Snapshot snapshot = acme();
  // Declared out of name order: the second one by name is the duplicate.
  snapshot.invoices = {
      invoice("acme-billing", "nov-b", "shared", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
      invoice("acme-billing", "nov-a", "shared", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::DuplicateInvoice, invoiceKey("acme-billing", "nov-b"),
                                  "spec.periodStart",
                                  AllOf(StartsWith("Invoice acme-billing/nov-b is a second invoice "
                                                   "for billing group acme-billing/shared and "
                                                   "period [2026-11-01T00:00:00Z, "
                                                   "2026-12-01T00:00:00Z) after Invoice nov-a"),
                                        HasSubstr("one invoice per group and period")))));
}

TEST(RulesR7Test, InvoicesForOtherGroupsOrPeriodsAreNotDuplicates) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(orgGroup("acme-billing", "other"));
  snapshot.invoices = {
      invoice("acme-billing", "nov", "shared", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
      invoice("acme-billing", "dec", "shared", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
      invoice("acme-billing", "other-nov", "other", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
      invoice("beta", "nov", "shared", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")};

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR7Test, FinalizingAPeriodThatHasNotEndedIsRefusedOnlyWhenNowIsKnown) {
  EXPECT_EQ(ruleOf(Code::PeriodNotEnded), "R7");
  Snapshot snapshot = acme();
  Invoice early =
      invoice("acme-billing", "nov", "shared", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
  early.spec.finalize = true;
  snapshot.invoices = {early};

  EXPECT_THAT(validate(snapshot), IsEmpty()) << "offline checks do not depend on the clock";
  EXPECT_THAT(
      validate(snapshot, RuleOptions{at("2026-11-20T08:30:00Z")}),
      ElementsAre(isError(Code::PeriodNotEnded, invoiceKey("acme-billing", "nov"), "spec.finalize",
                          AllOf(StartsWith("Invoice acme-billing/nov asks to finalize period "
                                           "[2026-11-01T00:00:00Z, 2026-12-01T00:00:00Z), which "
                                           "ends after now (2026-11-20T08:30:00Z)"),
                                HasSubstr("remove spec.finalize to get an estimate")))));
  // Periods are half-open: at their end instant they are over.
  EXPECT_THAT(validate(snapshot, RuleOptions{at("2026-12-01T00:00:00Z")}), IsEmpty());
  EXPECT_THAT(validate(snapshot, RuleOptions{at("2026-12-03T00:00:00Z")}), IsEmpty());
}

TEST(RulesR7Test, EstimateOfARunningPeriodIsValid) {
  Snapshot snapshot = acme();
  snapshot.invoices = {
      invoice("acme-billing", "nov", "shared", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")};

  EXPECT_THAT(validate(snapshot, RuleOptions{at("2026-11-20T08:30:00Z")}), IsEmpty());
}

// ---- R8 reuse of billing info; secrets stay in Secrets ----

TEST(RulesR8Test, CompleteBillingProfileIsValid) {
  Snapshot snapshot = acme();
  BillingGroup& group = snapshot.billingGroups[0];
  group.spec.billingContactEmails = {"finops+acme@acme.example", "cfo@mail.acme.example"};
  group.spec.paymentMethod =
      PaymentMethod{PaymentMethodType::Card, SecretKeySelector{"acme-card", "token"}};
  group.spec.invoiceText = "Purchase order 4711, cost centre 1234-5678";

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR8Test, CardNumberInInvoiceTextIsRefused) {
  EXPECT_EQ(ruleOf(Code::SecretInSpec), "R8");
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.invoiceText = "Charge card 4111 1111 1111 1111 monthly";

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::SecretInSpec, groupKey("acme-billing", "shared"),
                                  "spec.invoiceText",
                                  "BillingGroup acme-billing/shared field spec.invoiceText appears "
                                  "to contain a payment card number: payment secrets must live in "
                                  "a Kubernetes Secret referenced by spec.paymentMethod.secretRef, "
                                  "never in a custom resource")));
}

TEST(RulesR8Test, IbanInAnAddressLineIsRefused) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.address->lines = {"Hauptstrasse 1", "DE89 3704 0044 0532 0130 00"};

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::SecretInSpec, groupKey("acme-billing", "shared"),
                                  "spec.address.lines[1]",
                                  HasSubstr("field spec.address.lines[1] appears to contain an "
                                            "IBAN"))));
}

TEST(RulesR8Test, SecretsInProjectsAreRefusedToo) {
  Snapshot snapshot = acme();
  Project web = project("acme-web", "web", ref("shared", "acme-billing"));
  web.spec.tags = {{"cost-centre", "4711"}, {"payment", "4111-1111-1111-1111"}};
  snapshot.projects = {web};

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(isError(Code::SecretInSpec, projectKey("acme-web", "web"), "spec.tags[payment]",
                          StartsWith("Project acme-web/web field spec.tags[payment] "
                                     "appears to contain a payment card number"))));
}

TEST(RulesR8Test, ChargedPaymentMethodsNeedASecretRef) {
  EXPECT_EQ(ruleOf(Code::PaymentSecretRefMissing), "R8");
  for (PaymentMethodType type :
       {PaymentMethodType::Card, PaymentMethodType::SepaDebit, PaymentMethodType::AchDebit}) {
    SCOPED_TRACE(paymentMethodTypeName(type));
    Snapshot snapshot = acme();
    snapshot.billingGroups[0].spec.paymentMethod = PaymentMethod{type, std::nullopt};

    EXPECT_THAT(
        validate(snapshot),
        ElementsAre(isError(Code::PaymentSecretRefMissing, groupKey("acme-billing", "shared"),
                            "spec.paymentMethod.secretRef",
                            "BillingGroup acme-billing/shared pays by " +
                                std::string(paymentMethodTypeName(type)) +
                                " but names no Secret: set "
                                "spec.paymentMethod.secretRef{name,key} to the Secret "
                                "holding the payment token")));

    snapshot.billingGroups[0].spec.paymentMethod->secretRef = SecretKeySelector{"pay", "token"};
    EXPECT_THAT(validate(snapshot), IsEmpty());
  }
}

TEST(RulesR8Test, BankTransferNeedsNoSecretRef) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.paymentMethod =
      PaymentMethod{PaymentMethodType::BankTransfer, std::nullopt};
  snapshot.billingGroups[1].spec.paymentMethod.reset();

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR8Test, CurrencyMustBeAnActiveIsoCode) {
  EXPECT_EQ(ruleOf(Code::InvalidCurrency), "R8");
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.currency = "eur";
  snapshot.billingGroups[1].spec.currency = "XXX";

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(
          isError(Code::InvalidCurrency, groupKey("acme-billing", "shared"), "spec.currency",
                  "BillingGroup acme-billing/shared currency \"eur\" is not an active ISO "
                  "4217 code: use a code such as \"EUR\", \"USD\" or \"JPY\""),
          isError(Code::InvalidCurrency, groupKey("beta", "shared"), "spec.currency",
                  HasSubstr("currency \"XXX\" is not an active ISO 4217 code"))));

  snapshot.billingGroups[0].spec.currency = "JPY";
  snapshot.billingGroups[1].spec.currency = "KWD";
  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR8Test, InvalidEmailIsReportedWithItsIndex) {
  EXPECT_EQ(ruleOf(Code::InvalidEmail), "R8");
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.billingEmails = {"billing@acme.example", "not-an-email"};
  snapshot.billingGroups[0].spec.billingContactEmails = {"Jane <jane@acme.example>"};
  const ObjectKey key = groupKey("acme-billing", "shared");

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::InvalidEmail, key, "spec.billingContactEmails[0]",
                                  HasSubstr("spec.billingContactEmails[0] \"Jane "
                                            "<jane@acme.example>\" is not an e-mail address")),
                          isError(Code::InvalidEmail, key, "spec.billingEmails[1]",
                                  "BillingGroup acme-billing/shared spec.billingEmails[1] "
                                  "\"not-an-email\" is not an e-mail address: write it as "
                                  "name@example.com")));
}

TEST(RulesR8Test, CountryCodeMustBeIso3166Alpha2) {
  EXPECT_EQ(ruleOf(Code::InvalidCountryCode), "R8");
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].spec.address->countryCode = "XX";
  snapshot.billingGroups[1].spec.address->countryCode = "de";

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(isError(Code::InvalidCountryCode, groupKey("acme-billing", "shared"),
                          "spec.address.countryCode",
                          "BillingGroup acme-billing/shared country code \"XX\" is not an ISO "
                          "3166-1 alpha-2 code: use two capital letters such as \"DE\" or \"US\""),
                  isError(Code::InvalidCountryCode, groupKey("beta", "shared"),
                          "spec.address.countryCode", HasSubstr("country code \"de\""))));

  snapshot.billingGroups[0].spec.address->countryCode = "US";
  snapshot.billingGroups[1].spec.address->countryCode = "";  // optional
  EXPECT_THAT(validate(snapshot), IsEmpty());
}

// ---- R10 tenancy ----

TEST(RulesR10Test, LabelEqualToTheNamespaceOrganizationIsAccepted) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].metadata.labels[kOrgLabel] = "acme";
  snapshot.billingGroups[1].metadata.labels[kOrgLabel] = "beta";
  Project web = project("acme-web", "web", ref("shared", "acme-billing"));
  web.metadata.labels[kOrgLabel] = "acme";
  snapshot.projects = {web};

  EXPECT_THAT(validate(snapshot), IsEmpty());
}

TEST(RulesR10Test, GroupLabelledWithAnotherOrganizationIsRefused) {
  EXPECT_EQ(ruleOf(Code::OrganizationLabelMismatch), "R10");
  Snapshot snapshot = acme();
  snapshot.billingGroups[0].metadata.labels[kOrgLabel] = "beta";

  EXPECT_THAT(validate(snapshot),
              ElementsAre(isError(Code::OrganizationLabelMismatch,
                                  groupKey("acme-billing", "shared"), kOrgLabelField,
                                  "BillingGroup acme-billing/shared (organization acme) carries "
                                  "label billing.operator.dev/organization=beta: the organization "
                                  "is decided by the label on Namespace acme-billing, which "
                                  "cluster administrators own; remove the label from the "
                                  "object")));
}

TEST(RulesR10Test, ProjectLabelledWithAnotherOrganizationIsRefusedAndGainsNothing) {
  Snapshot snapshot = acme();
  Project web = project("acme-web", "web", ref("shared", "beta"));
  web.metadata.labels[kOrgLabel] = "beta";
  snapshot.projects = {web};

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(
          isError(Code::OrganizationLabelMismatch, projectKey("acme-web", "web"), kOrgLabelField,
                  "Project acme-web/web (organization acme) carries label "
                  "billing.operator.dev/organization=beta: the organization is decided "
                  "by the label on Namespace acme-web, which cluster administrators own; "
                  "remove the label from the object"),
          isError(Code::CrossOrganization, projectKey("acme-web", "web"),
                  "spec.billingGroupRef.namespace",
                  HasSubstr("Project acme-web/web (organization acme) references"))));
}

TEST(RulesR10Test, InvalidNamespaceLabelIsAnError) {
  EXPECT_EQ(ruleOf(Code::InvalidOrganizationLabel), "R10");
  Snapshot snapshot = acme();
  snapshot.namespaces.push_back(ns("acme-ops", "acme corp"));

  auto violations = validate(snapshot);
  EXPECT_THAT(
      violations,
      ElementsAre(isError(Code::InvalidOrganizationLabel, namespaceKey("acme-ops"), kOrgLabelField,
                          AllOf(StartsWith("Namespace acme-ops label "
                                           "billing.operator.dev/organization=\"acme "
                                           "corp\" is not a valid label value"),
                                HasSubstr("at most 63 letters")))));
  EXPECT_TRUE(hasErrors(violations));
}

TEST(RulesR10Test, EmptyNamespaceLabelIsAWarningAndTheNamespaceIsItsOwnOrganization) {
  Snapshot snapshot = acme();
  snapshot.namespaces.push_back(ns("acme-ops", ""));
  snapshot.projects = {project("acme-ops", "web", ref("shared", "acme-billing"))};

  auto violations = validate(snapshot);
  EXPECT_THAT(
      violations,
      ElementsAre(
          isWarning(Code::InvalidOrganizationLabel, namespaceKey("acme-ops"), kOrgLabelField,
                    "Namespace acme-ops has an empty billing.operator.dev/organization label, so "
                    "it counts as its own organization \"acme-ops\"; set the organization's name "
                    "or remove the label"),
          isError(Code::CrossOrganization, projectKey("acme-ops", "web"),
                  "spec.billingGroupRef.namespace",
                  HasSubstr("Project acme-ops/web (organization acme-ops)"))));
}

// ---- Schema checks done by the rules: names, duplicates ----

TEST(RulesSchemaTest, ObjectNamesMustBeKubernetesNames) {
  EXPECT_EQ(ruleOf(Code::InvalidName), "");
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(orgGroup("acme-billing", "Shared"));
  snapshot.projects = {project("acme-web", "web_1", ref("shared", "acme-billing"))};

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(isError(Code::InvalidName, groupKey("acme-billing", "Shared"), "metadata.name",
                          "BillingGroup name \"Shared\" is not a valid Kubernetes name: "
                          "use at most 253 lowercase letters, digits, '-' and '.', "
                          "starting and ending with a letter or digit"),
                  isError(Code::InvalidName, projectKey("acme-web", "web_1"), "metadata.name",
                          StartsWith("Project name \"web_1\" is not"))));
}

TEST(RulesSchemaTest, ObjectsDeclaredTwiceAreReportedOnce) {
  EXPECT_EQ(ruleOf(Code::DuplicateObject), "");
  Snapshot snapshot = acme();
  snapshot.namespaces.push_back(ns("acme-web", "acme"));
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing")),
                       project("acme-web", "web", ref("shared", "acme-billing"))};

  EXPECT_THAT(
      validate(snapshot),
      ElementsAre(isError(Code::DuplicateObject, namespaceKey("acme-web"), "metadata.name",
                          "Namespace acme-web is declared more than once: keep one "
                          "declaration"),
                  isError(Code::DuplicateObject, projectKey("acme-web", "web"), "metadata.name",
                          "Project acme-web/web is declared more than once: keep one "
                          "declaration")));
}

// ---- validate(): order and uniqueness ----

TEST(RulesValidateTest, OrderIsByObjectThenFieldThenCodeAndIndependentOfInputOrder) {
  Snapshot snapshot = acme();
  snapshot.billingGroups[1].spec.currency = "XXX";
  snapshot.billingGroups[1].spec.billingEmails = {"nobody"};
  snapshot.billingGroups.push_back(orgGroup("acme-billing", "Bad"));
  snapshot.billingGroups.push_back(orgGroup("acme-billing", "Bad"));
  snapshot.projects = {project("beta", "web", ref("shared", "acme-billing")),
                       project("acme-web", "web", ref("missing"))};
  snapshot.namespaces.push_back(ns("acme-ops", "acme corp"));

  Snapshot reversed = snapshot;
  std::reverse(reversed.namespaces.begin(), reversed.namespaces.end());
  std::reverse(reversed.billingGroups.begin(), reversed.billingGroups.end());
  std::reverse(reversed.projects.begin(), reversed.projects.end());

  auto violations = validate(snapshot);
  auto summary = [](const Violation& v) {
    return std::string(codeName(v.code)) + " " + v.object.display() + " " + v.field;
  };
  std::vector<std::string> summaries;
  std::transform(violations.begin(), violations.end(), std::back_inserter(summaries), summary);
  EXPECT_THAT(summaries, ElementsAre("InvalidOrganizationLabel acme-ops " + kOrgLabelField,
                                     "InvalidName acme-billing/Bad metadata.name",
                                     "DuplicateObject acme-billing/Bad metadata.name",
                                     "InvalidEmail beta/shared spec.billingEmails[0]",
                                     "InvalidCurrency beta/shared spec.currency",
                                     "BillingGroupNotFound acme-web/web spec.billingGroupRef.name",
                                     "CrossOrganization beta/web spec.billingGroupRef.namespace"));
  EXPECT_EQ(validate(reversed), violations);
}

TEST(RulesValidateTest, ObjectDeclaredTwiceDoesNotDoubleItsViolations) {
  Snapshot snapshot = acme();
  Project web = project("acme-web", "web", ref("promoted"));
  Project api = project("acme-web", "api", ref("promoted"));
  BillingGroup promoted = orgGroup("acme-web", "promoted");
  promoted.metadata.ownerReferences = {ownedBy(web), ownedBy(api)};
  snapshot.billingGroups.push_back(promoted);
  snapshot.billingGroups.push_back(promoted);
  snapshot.projects = {web, api};

  auto violations = validate(snapshot);
  EXPECT_THAT(
      violations,
      ElementsAre(
          isError(Code::DuplicateObject, groupKey("acme-web", "promoted"), "metadata.name",
                  HasSubstr("is declared more than once")),
          isWarning(Code::OwnerReferenceOnOrganizationGroup, groupKey("acme-web", "promoted"),
                    "metadata.ownerReferences", HasSubstr("still owned by Project api")),
          isWarning(Code::OwnerReferenceOnOrganizationGroup, groupKey("acme-web", "promoted"),
                    "metadata.ownerReferences", HasSubstr("still owned by Project web"))));
}

// ---- Membership ----

TEST(MembershipTest, MembersAreSortedByNamespaceAndName) {
  Snapshot snapshot = acme();
  snapshot.namespaces.push_back(ns("acme-ops", "acme"));
  snapshot.billingGroups.push_back(projectGroup("acme-web", "solo-billing", "solo"));
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing")),
                       project("acme-web", "solo"),
                       project("acme-ops", "batch", ref("shared", "acme-billing")),
                       project("acme-web", "api", ref("shared", "acme-billing"))};
  SnapshotIndex index(snapshot);

  auto members = membersOf(index, snapshot.billingGroups[0]);
  std::vector<std::string> names;
  for (const Project* member : members) names.push_back(member->key().display());
  EXPECT_THAT(names, ElementsAre("acme-ops/batch", "acme-web/api", "acme-web/web"));

  EXPECT_THAT(membersOf(index, snapshot.billingGroups[2]), ElementsAre(&snapshot.projects[1]));
  EXPECT_THAT(membersOf(index, snapshot.billingGroups[1]), IsEmpty());
}

TEST(MembershipTest, ProjectsWithBrokenReferencesAreNoMembers) {
  Snapshot snapshot = acme();
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.projects = {
      project("acme-web", "web"),
      // Uses another project's group: ProjectGroupBoundToOther.
      project("acme-web", "api", ref("web-billing")),
      // Another organization's project pointing at acme's group: CrossOrganization.
      project("beta", "intruder", ref("shared", "acme-billing")),
      project("acme-web", "docs", ref("shared", "acme-billing"))};
  SnapshotIndex index(snapshot);

  EXPECT_THAT(membersOf(index, snapshot.billingGroups[2]), ElementsAre(&snapshot.projects[0]));
  EXPECT_THAT(membersOf(index, snapshot.billingGroups[0]), ElementsAre(&snapshot.projects[3]));
}

// ---- Deletion of a project (R5) ----

TEST(DeletionTest, ProjectGroupsBoundToOrOwnedByTheProjectAreDeleted) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web")};
  const Project& web = snapshot.projects[0];
  BillingGroup owned = projectGroup("acme-web", "old-web-billing", "gone");
  owned.metadata.ownerReferences = {ownedBy(web)};
  BillingGroup promoted = orgGroup("acme-web", "web-team");
  promoted.metadata.ownerReferences = {ownedBy(web)};
  snapshot.billingGroups.push_back(projectGroup("acme-web", "web-billing", "web"));
  snapshot.billingGroups.push_back(owned);
  snapshot.billingGroups.push_back(promoted);
  snapshot.billingGroups.push_back(orgGroup("acme-web", "unrelated"));
  snapshot.billingGroups.push_back(projectGroup("acme-billing", "web-billing", "web"));
  SnapshotIndex index(snapshot);

  ProjectDeletionPlan plan = planProjectDeletion(index, web);
  EXPECT_THAT(plan.groupsToDelete, ElementsAre(groupKey("acme-web", "web-billing"),
                                               groupKey("acme-web", "old-web-billing")));
  EXPECT_THAT(plan.groupsSurviving, ElementsAre(groupKey("acme-web", "web-team")));
}

TEST(DeletionTest, OrganizationGroupOwnedByTheProjectSurvives) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("web-billing"))};
  BillingGroup promoted = orgGroup("acme-web", "web-billing");
  promoted.metadata.ownerReferences = {ownedBy(snapshot.projects[0])};
  snapshot.billingGroups.push_back(promoted);
  SnapshotIndex index(snapshot);

  ProjectDeletionPlan plan = planProjectDeletion(index, snapshot.projects[0]);
  EXPECT_THAT(plan.groupsToDelete, IsEmpty());
  EXPECT_THAT(plan.groupsSurviving, ElementsAre(groupKey("acme-web", "web-billing")));
}

TEST(DeletionTest, OwnershipByAnEarlierProjectOfTheSameNameDoesNotCount) {
  Snapshot snapshot = acme();
  snapshot.projects = {project("acme-web", "web", ref("shared", "acme-billing"))};
  Project earlier = project("acme-web", "web");
  earlier.metadata.uid = "uid-of-a-deleted-project";
  BillingGroup stale = orgGroup("acme-web", "stale");
  stale.metadata.ownerReferences = {ownedBy(earlier)};
  snapshot.billingGroups.push_back(stale);
  SnapshotIndex index(snapshot);

  ProjectDeletionPlan plan = planProjectDeletion(index, snapshot.projects[0]);
  EXPECT_THAT(plan.groupsToDelete, IsEmpty());
  EXPECT_THAT(plan.groupsSurviving, IsEmpty());
}

TEST(DeletionTest, OwnerReferencesOfProjectsAreReleasedFromOrganizationGroupsOnly) {
  const Project web = project("acme-web", "web");
  OwnerReference foreign{"example.com/v1", "Project", "web", "uid-foreign", false, false};
  OwnerReference deployment{"apps/v1", "Deployment", "web", "uid-deploy", false, false};

  BillingGroup promoted = orgGroup("acme-web", "web-billing");
  promoted.metadata.ownerReferences = {deployment, ownedBy(web), foreign};
  EXPECT_THAT(ownerReferencesToRelease(promoted), ElementsAre(ownedBy(web)));

  BillingGroup bound = projectGroup("acme-web", "web-billing", "web");
  bound.metadata.ownerReferences = {ownedBy(web)};
  EXPECT_THAT(ownerReferencesToRelease(bound), IsEmpty());

  EXPECT_THAT(ownerReferencesToRelease(orgGroup("acme-web", "plain")), IsEmpty());
}

// ---- introducedViolations: what the webhook refuses ----

TEST(IntroducedViolationsTest, ChangeReportsOnlyTheViolationsItAdds) {
  Snapshot before = acme();
  // Already broken, and unrelated to the change below.
  before.projects = {project("beta", "legacy", ref("gone"))};
  Snapshot after = before;
  after.projects.push_back(project("acme-web", "web", ref("shared", "beta")));

  auto beforeViolations = validate(before);
  ASSERT_THAT(beforeViolations,
              ElementsAre(isError(Code::BillingGroupNotFound, projectKey("beta", "legacy"),
                                  "spec.billingGroupRef.name", HasSubstr("beta/gone"))));
  EXPECT_THAT(introducedViolations(beforeViolations, validate(after)),
              ElementsAre(isError(Code::CrossOrganization, projectKey("acme-web", "web"),
                                  "spec.billingGroupRef.namespace",
                                  HasSubstr("references billing group beta/shared"))));
}

TEST(IntroducedViolationsTest, ChangeThatBreaksNothingNewReportsNothing) {
  Snapshot before = acme();
  before.projects = {project("beta", "legacy", ref("gone"))};
  Snapshot after = before;
  after.projects.push_back(project("acme-web", "web", ref("shared", "acme-billing")));

  EXPECT_THAT(introducedViolations(validate(before), validate(after)), IsEmpty());
}

TEST(IntroducedViolationsTest, FixingAViolationIntroducesNothing) {
  Snapshot before = acme();
  before.projects = {project("acme-web", "web", ref("shared", "beta"))};
  Snapshot after = before;
  after.projects[0].spec.billingGroupRef = ref("shared", "acme-billing");

  ASSERT_THAT(validate(before), ElementsAre(Field(&Violation::code, Code::CrossOrganization)));
  EXPECT_THAT(introducedViolations(validate(before), validate(after)), IsEmpty());
}

TEST(IntroducedViolationsTest, ChangeThatBreaksAnotherObjectIsReportedOnThatObject) {
  // Re-scoping a shared group to Project breaks the projects that use it.
  Snapshot before = acme();
  before.projects = {project("acme-web", "web", ref("shared", "acme-billing")),
                     project("acme-web", "api", ref("shared", "acme-billing"))};
  Snapshot after = before;
  after.billingGroups[0].spec.scope = Scope::Project;
  after.billingGroups[0].spec.projectRef = LocalObjectReference{"web"};

  EXPECT_THAT(
      introducedViolations(validate(before), validate(after)),
      ElementsAre(isError(Code::ProjectNotFound, groupKey("acme-billing", "shared"),
                          "spec.projectRef.name", HasSubstr("acme-billing/web")),
                  isError(Code::ProjectGroupBoundToOther, projectKey("acme-web", "api"),
                          "spec.billingGroupRef.name", HasSubstr("bound to acme-billing/web")),
                  isError(Code::ProjectGroupBoundToOther, projectKey("acme-web", "web"),
                          "spec.billingGroupRef.name", HasSubstr("bound to acme-billing/web"))));
}

}  // namespace
}  // namespace billing::domain
