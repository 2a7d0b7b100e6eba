// End-to-end tests of `billing-operator run` (issue #5): the real operator, test API server and
// billing ledger as processes, the admission webhook registered at the API server like a real
// install (ValidatingWebhookConfiguration, Service, caBundle), and the real kubectl applying
// examples/gitops and every examples/broken variant. Each test owns its processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "tests/e2e/process_harness.h"

namespace billing::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using web::json::value;

const std::string kSource = BILLING_SOURCE_DIR;
const std::string kGitops = kSource + "/examples/gitops";
const std::string kDenied =
    "admission webhook \"validate.billing.operator.dev\" denied the request: ";

// Starts the operator (webhook and ledger) and registers the webhook once it is ready.
#define START_OPERATOR(env, ...)                              \
  ASSERT_EQ((env).startupError(), "");                        \
  OperatorProcess& op = (env).addOperator(__VA_ARGS__);       \
  ASSERT_TRUE(op.waitReady()) << "the operator is not ready"; \
  ASSERT_EQ((env).kubectl({"apply", "-f", "-"}, (env).webhook()->configurationYaml()).exitCode, 0)

// Applies the example GitOps folder as examples/README and the README say: Namespaces first
// (cluster administrators own them), then the folder through its kustomization.
void applyGitops(Environment& env) {
  auto namespaces = env.kubectl({"apply", "-f", kGitops + "/namespaces.yaml"});
  ASSERT_EQ(namespaces.exitCode, 0) << namespaces;
  ASSERT_TRUE(webhookSeesNamespace(env, "globex-ml", "globex"));
  auto applied = env.kubectl({"apply", "-k", kGitops});
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.out, HasSubstr("billinggroup.billing.operator.dev/acme-main created"));
  EXPECT_THAT(applied.out, HasSubstr("project.billing.operator.dev/warehouse created"));
}

value getObject(Environment& env, const std::string& kind, const std::string& ns,
                const std::string& name) {
  auto result = env.kubectl({"get", kind, "-n", ns, name, "-o", "json"});
  if (result.exitCode != 0) return value::null();
  return common::parseJson(result.out).value_or(value::null());
}

std::string readyReason(const value& object) {
  const value ready = condition(object, "Ready");
  return ready.is_null() ? "<no Ready>" : at(ready, "status") + "/" + at(ready, "reason");
}

// Waits until every BillingGroup and Project is Ready=True for its current generation.
::testing::AssertionResult allReady(Environment& env, std::chrono::milliseconds timeout = 30s) {
  std::string notReady;
  const bool ready = eventually(
      [&] {
        notReady.clear();
        auto result = env.kubectl({"get", "billinggroups,projects", "-A", "-o", "json"});
        auto list = common::parseJson(result.out);
        if (result.exitCode != 0 || !list) {
          notReady = result.err;
          return false;
        }
        for (const value& item : list->at("items").as_array()) {
          const value readyCondition = condition(item, "Ready");
          if (readyCondition.is_null() || at(readyCondition, "status") != "True" ||
              at(item, "status.observedGeneration") != at(item, "metadata.generation")) {
            notReady += at(item, "kind") + " " + at(item, "metadata.namespace") + "/" +
                        at(item, "metadata.name") + ": " + readyReason(item) + "\n";
          }
        }
        return notReady.empty();
      },
      timeout);
  if (ready) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "not Ready:\n" << notReady;
}

// Events about one object, as the operator records them (events.k8s.io/v1), read through that API
// so that the fields are the operator's own (note, regarding). The test API server, like a
// cluster, serves the same objects as core v1 Events too (docs/test-apiserver.md, "Events").
std::vector<value> eventsFor(Environment& env, const std::string& ns, const std::string& name) {
  std::vector<value> found;
  auto result = env.kubectl({"get", "events.v1.events.k8s.io", "-n", ns, "-o", "json"});
  auto list = common::parseJson(result.out);
  if (result.exitCode != 0 || !list) return found;
  for (const value& item : list->at("items").as_array()) {
    if (at(item, "regarding.name") == name) found.push_back(item);
  }
  return found;
}

::testing::AssertionResult hasEvent(Environment& env, const std::string& ns,
                                    const std::string& name, const std::string& type,
                                    const std::string& reason, const std::string& messagePart) {
  std::string seen;
  const bool found = eventually(
      [&] {
        seen.clear();
        for (const value& event : eventsFor(env, ns, name)) {
          seen += at(event, "type") + " " + at(event, "reason") + ": " + at(event, "note") + "\n";
          if (at(event, "type") == type && at(event, "reason") == reason &&
              at(event, "note").find(messagePart) != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      15s);
  if (found) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "no " << type << " event " << reason << " containing \"" << messagePart << "\" for "
         << ns << "/" << name << "; events:\n"
         << seen;
}

// resourceVersion of every billing object and Event, by kind/namespace/name.
std::map<std::string, std::string> resourceVersions(Environment& env) {
  std::map<std::string, std::string> versions;
  for (const char* kinds : {"billinggroups,projects,invoices", "events.v1.events.k8s.io"}) {
    value list = env.getJson({kinds, "-A"});
    if (list.is_null()) continue;
    for (const value& item : list.at("items").as_array()) {
      versions[at(item, "kind") + " " + at(item, "metadata.namespace") + "/" +
               at(item, "metadata.name")] = at(item, "metadata.resourceVersion");
    }
  }
  return versions;
}

// ---- the example GitOps folder ----

TEST(OperatorE2eTest, GitopsFolderIsReconciledWithStatusesEventsAndLedgerMemberships) {
  Environment env;
  START_OPERATOR(env);
  applyGitops(env);
  ASSERT_TRUE(allReady(env));

  // R4: the project without a reference got its own project billing group, owned by it.
  value warehouse = getObject(env, "project", "acme-data", "warehouse");
  value defaultGroup = getObject(env, "billinggroup", "acme-data", "warehouse-billing");
  ASSERT_FALSE(defaultGroup.is_null());
  EXPECT_EQ(at(defaultGroup, "spec.scope"), "Project");
  EXPECT_EQ(at(defaultGroup, "spec.projectRef.name"), "warehouse");
  const value& owners = defaultGroup.at("metadata").at("ownerReferences");
  ASSERT_EQ(owners.size(), 1u);
  EXPECT_EQ(at(owners.at(0), "kind"), "Project");
  EXPECT_EQ(at(owners.at(0), "uid"), at(warehouse, "metadata.uid"));
  EXPECT_EQ(at(warehouse, "status.billingGroup.name"), "warehouse-billing");
  EXPECT_EQ(at(warehouse, "status.billingGroup.scope"), "Project");
  EXPECT_TRUE(hasEvent(env, "acme-data", "warehouse", "Normal", "BillingGroupCreated",
                       "warehouse-billing"));

  // Statuses: organization from the Namespace label, the group across namespaces, members.
  value web = getObject(env, "project", "acme-web", "web");
  EXPECT_EQ(at(web, "status.organization"), "acme");
  EXPECT_EQ(at(web, "status.billingGroup.name"), "acme-main");
  EXPECT_EQ(at(web, "status.billingGroup.namespace"), "acme-billing");
  EXPECT_EQ(readyReason(web), "True/BillingGroupAssigned");
  EXPECT_EQ(at(condition(web, "Ready"), "message"),
            "Billed to billing group acme-billing/acme-main (Organization scope, organization "
            "acme)");
  value acmeMain = getObject(env, "billinggroup", "acme-billing", "acme-main");
  EXPECT_EQ(at(acmeMain, "status.organization"), "acme");
  EXPECT_EQ(at(acmeMain, "status.projectCount"), "2");
  EXPECT_EQ(readyReason(acmeMain), "True/Reconciled");
  EXPECT_EQ(at(condition(acmeMain, "Ready"), "message"),
            "Organization billing group of organization acme billing 2 projects");
  EXPECT_TRUE(condition(acmeMain, "Invoicing").is_null()) << "a ledger is configured";
  value vision = getObject(env, "billinggroup", "globex-ml", "vision-billing");
  EXPECT_EQ(at(vision, "status.organization"), "globex");
  EXPECT_EQ(at(vision, "status.projectCount"), "2");
  EXPECT_TRUE(
      hasEvent(env, "acme-billing", "acme-main", "Normal", "BackendAccountCreated", "account"));
  // A first assignment is in the Ready condition, not an Event (a move is one).
  EXPECT_TRUE(eventsFor(env, "acme-web", "web").empty());

  // `kubectl get billing` shows the printer columns a user reads.
  auto table = env.kubectl({"get", "bg", "-n", "acme-billing"});
  EXPECT_EQ(table.exitCode, 0) << table;
  EXPECT_THAT(table.out, HasSubstr("acme-main"));
  EXPECT_THAT(table.out, HasSubstr("acme"));

  // The ledger: one open membership per project, in the account of its group (the group's UID).
  for (const auto& [project, group] : std::vector<std::pair<std::string, value>>{
           {"acme-web/web", acmeMain}, {"acme-data/warehouse", defaultGroup}}) {
    auto memberships = env.ledger()->memberships(project);
    ASSERT_TRUE(memberships.has_value()) << memberships.error();
    ASSERT_EQ(memberships->size(), 1u) << project;
    EXPECT_EQ(at(memberships->at(0), "accountId"), at(group, "metadata.uid")) << project;
    EXPECT_EQ(at(memberships->at(0), "effectiveTo"), "null") << project;
  }
  auto account = env.ledger()->get("/v1/accounts/" + at(acmeMain, "metadata.uid"));
  ASSERT_TRUE(account.has_value()) << account.error();
}

// ---- every broken variant, through the webhook and the CRD schemas ----

enum class Outcome {
  Webhook,      // refused by the admission webhook with the checker's violation (403)
  ApiServer,    // refused by the API server itself (CRD schema 422, strict decoding 400)
  Warning,      // admitted with a warning; the operator reports it on the object
  Client,       // kubectl cannot even read the file
  LastOneWins,  // kubectl applies both documents; the second updates the first
};

struct Variant {
  const char* folder;
  Outcome outcome;
  const char* code;      // the checker's code
  const char* expected;  // ApiServer/Client: the text kubectl prints
};

const Variant kVariants[] = {
    {"r1-invalid-scope", Outcome::ApiServer, "InvalidScope",
     "The BillingGroup \"team-billing\" is invalid: spec.scope: Unsupported value: \"Team\": "
     "supported values: \"Organization\", \"Project\""},
    {"r2-cross-organization", Outcome::Webhook, "CrossOrganization", ""},
    {"r2-credits-on-project-group", Outcome::Webhook, "CreditsOnProjectGroup", ""},
    {"r3-project-group-bound-to-other", Outcome::Webhook, "ProjectGroupBoundToOther", ""},
    {"r3-duplicate-project-group", Outcome::Webhook, "DuplicateProjectGroup", ""},
    {"r3-project-ref-missing", Outcome::Webhook, "ProjectRefMissing", ""},
    {"r4-billing-group-not-found", Outcome::Warning, "BillingGroupNotFound", ""},
    {"r4-default-group-name-taken", Outcome::Webhook, "DefaultGroupNameTaken", ""},
    {"r5-owner-reference-on-organization-group", Outcome::Warning,
     "OwnerReferenceOnOrganizationGroup", ""},
    {"r7-duplicate-invoice", Outcome::Webhook, "DuplicateInvoice", ""},
    {"r7-period-not-aligned", Outcome::Webhook, "PeriodNotAligned", ""},
    {"r7-period-not-ended", Outcome::Webhook, "PeriodNotEnded", ""},
    {"r8-secret-in-spec", Outcome::ApiServer, "SecretInSpec",
     "BillingGroup in version \"v1alpha1\" cannot be handled as a BillingGroup: strict decoding "
     "error: unknown field \"spec.paymentMethod.cardNumber\""},
    {"r8-payment-secret-ref-missing", Outcome::Webhook, "PaymentSecretRefMissing", ""},
    {"r8-invalid-currency", Outcome::Webhook, "InvalidCurrency", ""},
    {"r10-organization-label-mismatch", Outcome::Webhook, "OrganizationLabelMismatch", ""},
    {"schema-wrong-type", Outcome::ApiServer, "InvalidType",
     "The BillingGroup \"shared\" is invalid: spec.billingEmails: Invalid value: \"string\": "
     "spec.billingEmails in body must be of type array: \"string\""},
    {"schema-missing-required", Outcome::ApiServer, "Required",
     "The BillingGroup \"shared\" is invalid: spec.currency: Required value"},
    {"schema-duplicate-object", Outcome::LastOneWins, "DuplicateObject", ""},
    {"schema-unknown-field", Outcome::ApiServer, "UnknownField",
     "BillingGroup in version \"v1alpha1\" cannot be handled as a BillingGroup: strict decoding "
     "error: unknown field \"spec.colour\""},
    {"schema-malformed-yaml", Outcome::Client, "",
     "error converting YAML to JSON: yaml: line 10: found unexpected end of stream"},
};

// The variant with its namespaces renamed after the folder, so that all variants live side by
// side in one cluster without meeting (acme-web -> <folder>, beta -> <folder>-beta).
std::string isolated(const std::string& manifest, const std::string& folder) {
  std::string text = std::regex_replace(manifest, std::regex("acme-web"), folder);
  text =
      std::regex_replace(text, std::regex("(name|namespace): beta\\b"), "$1: " + folder + "-beta");
  return text;
}

// The Namespace documents of a manifest (cluster administrators apply them first).
std::string namespaceDocuments(const std::string& manifest) {
  std::string out;
  std::size_t start = 0;
  while (start < manifest.size()) {
    std::size_t end = manifest.find("\n---", start);
    if (end == std::string::npos) end = manifest.size();
    const std::string document = manifest.substr(start, end - start);
    if (document.find("\nkind: Namespace") != std::string::npos) out += document + "\n---\n";
    start = end + 4;
  }
  return out;
}

// "... ends after now (2026-11-27T06:48:20Z): ..." differs between two runs by the clock only.
std::string withoutNow(const std::string& text) {
  return std::regex_replace(text, std::regex(R"(now \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\))"),
                            "now (...)");
}

TEST(OperatorE2eTest, EveryBrokenVariantIsRefusedAtApplyTimeWithTheCheckersMessage) {
  Environment env;
  START_OPERATOR(env);
  for (const Variant& variant : kVariants) {
    SCOPED_TRACE(variant.folder);
    const std::string folder = variant.folder;
    const std::string manifest = isolated(
        apiserver::harness::readFile(kSource + "/examples/broken/" + folder + "/manifest.yaml"),
        folder);
    const fs::path file = env.dir() / folder / "manifest.yaml";
    apiserver::harness::writeFile(file, manifest);

    // What `billing-operator check` says of the same file, in a pipeline before the apply.
    std::vector<value> violations;
    if (variant.outcome != Outcome::Client) {
      violations = checkerViolations(file, env.dir());
      ASSERT_FALSE(violations.empty());
      EXPECT_EQ(at(violations.front(), "code"), variant.code);
    }
    const std::string namespaces = namespaceDocuments(manifest);
    if (!namespaces.empty()) {
      ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, namespaces).exitCode, 0);
      ASSERT_TRUE(webhookSeesNamespace(env, folder, "acme"));
    }

    CommandResult applied = env.kubectl({"apply", "-f", file.string()});
    switch (variant.outcome) {
      case Outcome::Webhook: {
        EXPECT_EQ(applied.exitCode, 1) << applied;
        const value& v = violations.front();
        const std::string expected = kDenied + at(v, "message") + " (field " + at(v, "field") +
                                     ", code " + at(v, "code") + ")";
        EXPECT_THAT(withoutNow(applied.err), HasSubstr(withoutNow(expected))) << applied;
        EXPECT_THAT(applied.err, HasSubstr("Error from server (Forbidden): error when creating"));
        // A server-side dry run shows the same refusal.
        CommandResult dryRun = env.kubectl({"apply", "--dry-run=server", "-f", file.string()});
        EXPECT_EQ(dryRun.exitCode, 1) << dryRun;
        EXPECT_THAT(withoutNow(dryRun.err), HasSubstr(withoutNow(expected))) << dryRun;
        break;
      }
      case Outcome::ApiServer: {
        EXPECT_EQ(applied.exitCode, 1) << applied;
        EXPECT_THAT(applied.err, HasSubstr(variant.expected));
        CommandResult dryRun = env.kubectl({"apply", "--dry-run=server", "-f", file.string()});
        EXPECT_EQ(dryRun.exitCode, 1) << dryRun;
        EXPECT_THAT(dryRun.err, HasSubstr(variant.expected));
        break;
      }
      case Outcome::Warning: {
        EXPECT_EQ(applied.exitCode, 0) << applied;
        const value& v = violations.front();
        EXPECT_THAT(applied.err, HasSubstr("Warning: " + at(v, "message") + " (field " +
                                           at(v, "field") + ", code " + at(v, "code") + ")"));
        break;
      }
      case Outcome::Client:
        EXPECT_EQ(applied.exitCode, 1) << applied;
        EXPECT_THAT(applied.err, HasSubstr(variant.expected));
        break;
      case Outcome::LastOneWins: {
        EXPECT_EQ(applied.exitCode, 0) << applied;
        EXPECT_THAT(applied.out, HasSubstr("billinggroup.billing.operator.dev/shared configured"));
        EXPECT_EQ(at(getObject(env, "billinggroup", folder, "shared"), "spec.currency"), "USD");
        break;
      }
    }
  }

  // What was admitted with a warning is reported by the operator on the objects.
  const std::string notFound = "r4-billing-group-not-found";
  value project;
  EXPECT_TRUE(eventually(
      [&] {
        project = getObject(env, "project", notFound, "web");
        return readyReason(project) == "False/BillingGroupNotFound";
      },
      15s))
      << common::toJson(project);
  EXPECT_THAT(
      at(condition(project, "Ready"), "message"),
      HasSubstr("references billing group " + notFound + "/does-not-exist, which does not exist"));
  EXPECT_TRUE(hasEvent(env, notFound, "web", "Warning", "BillingGroupNotFound", "does-not-exist"));

  const std::string owned = "r5-owner-reference-on-organization-group";
  value group;
  EXPECT_TRUE(eventually(
      [&] {
        group = getObject(env, "billinggroup", owned, "web-billing");
        return !group.is_null() && !group.at("metadata").has_field("ownerReferences");
      },
      15s))
      << "the owner reference was not released: " << common::toJson(group);
  EXPECT_TRUE(hasEvent(env, owned, "web-billing", "Normal", "OwnerReferenceReleased",
                       "released owner reference to Project web"));
}

// ---- lifecycles ----

const std::string kEtlProject = R"(apiVersion: billing.operator.dev/v1alpha1
kind: Project
metadata:
  name: etl
  namespace: acme-data
spec:
  displayName: Nightly ETL
)";

// R4/R5: a project's own group is created, deleted with the project (membership ended at the
// ledger), and survives it once assigned to the organization (owner reference released).
TEST(OperatorE2eTest, DefaultGroupGoesWithItsProjectUnlessAssignedToTheOrganization) {
  Environment env;
  START_OPERATOR(env);
  applyGitops(env);
  ASSERT_TRUE(allReady(env));

  // Deleting warehouse deletes warehouse-billing and ends the membership at the ledger.
  const value warehouseGroup = getObject(env, "billinggroup", "acme-data", "warehouse-billing");
  auto deleted = env.kubectl(
      {"delete", "project", "-n", "acme-data", "warehouse", "--wait=true", "--timeout=30s"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;
  EXPECT_TRUE(eventually(
      [&] {
        return env.kubectl({"get", "billinggroup", "-n", "acme-data", "warehouse-billing"})
                   .exitCode != 0;
      },
      20s))
      << "warehouse-billing survived its project";
  auto memberships = env.ledger()->memberships("acme-data/warehouse");
  ASSERT_TRUE(memberships.has_value()) << memberships.error();
  ASSERT_EQ(memberships->size(), 1u);
  EXPECT_NE(at(memberships->at(0), "effectiveTo"), "null") << "the membership was not ended";
  EXPECT_EQ(at(memberships->at(0), "accountId"), at(warehouseGroup, "metadata.uid"));
  EXPECT_TRUE(eventually(
      [&] {
        auto account = env.ledger()->get("/v1/accounts/" + at(warehouseGroup, "metadata.uid"));
        return account && at(*account, "closedAt") != "<missing>" &&
               at(*account, "closedAt") != "null";
      },
      20s))
      << "the deleted group's account was not closed";

  // A new project gets its own group, owned by it...
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kEtlProject).exitCode, 0);
  value etlGroup;
  ASSERT_TRUE(eventually(
      [&] {
        etlGroup = getObject(env, "billinggroup", "acme-data", "etl-billing");
        return readyReason(etlGroup) == "True/Reconciled";
      },
      20s));
  ASSERT_TRUE(etlGroup.at("metadata").has_field("ownerReferences"));
  // ... and once assigned to the organization, the group is released from it (R5).
  auto scoped =
      env.kubectl({"patch", "billinggroup", "-n", "acme-data", "etl-billing", "--type=merge", "-p",
                   R"({"spec":{"scope":"Organization","projectRef":null}})"});
  ASSERT_EQ(scoped.exitCode, 0) << scoped;
  EXPECT_TRUE(eventually(
      [&] {
        etlGroup = getObject(env, "billinggroup", "acme-data", "etl-billing");
        return !etlGroup.at("metadata").has_field("ownerReferences");
      },
      20s))
      << common::toJson(etlGroup);
  EXPECT_TRUE(hasEvent(env, "acme-data", "etl-billing", "Normal", "OwnerReferenceReleased",
                       "released owner reference to Project etl"));
  value etl = getObject(env, "project", "acme-data", "etl");
  ASSERT_TRUE(eventually(
      [&] {
        etl = getObject(env, "project", "acme-data", "etl");
        return at(etl, "status.billingGroup.scope") == "Organization";
      },
      20s))
      << common::toJson(etl);
  auto gone =
      env.kubectl({"delete", "project", "-n", "acme-data", "etl", "--wait=true", "--timeout=30s"});
  ASSERT_EQ(gone.exitCode, 0) << gone;
  EXPECT_TRUE(eventually(
      [&] {
        etlGroup = getObject(env, "billinggroup", "acme-data", "etl-billing");
        return at(etlGroup, "status.projectCount") == "0";
      },
      20s))
      << "etl-billing: " << common::toJson(etlGroup);
  EXPECT_EQ(readyReason(etlGroup), "True/Reconciled");
  EXPECT_EQ(at(etlGroup, "metadata.deletionTimestamp"), "<missing>");
}

// R6: the webhook refuses deleting a group that still bills projects (dry run too); past the
// webhook, the finalizer holds the deletion, says why on the group, and lets it go once the
// projects moved; the ledger records the moves.
TEST(OperatorE2eTest, DeletingAGroupWithProjectsIsRefusedThenHeldUntilTheyMove) {
  Environment env;
  START_OPERATOR(env);
  applyGitops(env);
  ASSERT_TRUE(allReady(env));
  const value acmeMain = getObject(env, "billinggroup", "acme-billing", "acme-main");

  const std::string refusal =
      kDenied +
      "BillingGroup acme-billing/acme-main (organization acme) still bills 2 projects "
      "(acme-web/api, acme-web/web): move them to another billing group first; deletion waits "
      "until then";
  for (const bool dryRun : {true, false}) {
    std::vector<std::string> args = {"delete", "billinggroup", "-n", "acme-billing", "acme-main"};
    if (dryRun) args.push_back("--dry-run=server");
    auto refused = env.kubectl(args);
    EXPECT_EQ(refused.exitCode, 1) << refused;
    EXPECT_THAT(refused.err, HasSubstr(refusal));
    EXPECT_THAT(refused.err, HasSubstr("code GroupHasProjects"));
  }

  // Without the webhook (uninstalled, or failurePolicy Ignore while it is down) the delete goes
  // through to the API server, and the finalizer holds it.
  ASSERT_EQ(env.kubectl({"delete", "validatingwebhookconfiguration", "billing-operator"}).exitCode,
            0);
  auto held =
      env.kubectl({"delete", "billinggroup", "-n", "acme-billing", "acme-main", "--wait=false"});
  ASSERT_EQ(held.exitCode, 0) << held;
  value group;
  EXPECT_TRUE(eventually(
      [&] {
        group = getObject(env, "billinggroup", "acme-billing", "acme-main");
        return readyReason(group) == "False/GroupHasProjects";
      },
      20s))
      << common::toJson(group);
  EXPECT_NE(at(group, "metadata.deletionTimestamp"), "<missing>");
  EXPECT_THAT(at(condition(group, "Ready"), "message"), HasSubstr("(acme-web/api, acme-web/web)"));
  EXPECT_TRUE(hasEvent(env, "acme-billing", "acme-main", "Warning", "GroupHasProjects",
                       "acme-web/api, acme-web/web"));
  value web;
  EXPECT_TRUE(eventually(
      [&] {
        web = getObject(env, "project", "acme-web", "web");
        return readyReason(web) == "False/BillingGroupDeleting";
      },
      20s))
      << common::toJson(web);

  // Move both projects to a new organization group: the deletion completes.
  const std::string newGroup = R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: acme-next
  namespace: acme-billing
spec:
  currency: EUR
)";
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, newGroup).exitCode, 0);
  for (const char* project : {"web", "api"}) {
    auto moved = env.kubectl({"patch", "project", "-n", "acme-web", project, "--type=merge", "-p",
                              R"({"spec":{"billingGroupRef":{"name":"acme-next"}}})"});
    ASSERT_EQ(moved.exitCode, 0) << moved;
  }
  EXPECT_TRUE(eventually(
      [&] {
        return env.kubectl({"get", "billinggroup", "-n", "acme-billing", "acme-main"}).exitCode !=
               0;
      },
      30s))
      << "acme-main is still held: "
      << common::toJson(getObject(env, "billinggroup", "acme-billing", "acme-main"));
  ASSERT_TRUE(allReady(env));
  const value acmeNext = getObject(env, "billinggroup", "acme-billing", "acme-next");
  EXPECT_EQ(at(acmeNext, "status.projectCount"), "2");
  EXPECT_TRUE(hasEvent(env, "acme-web", "web", "Normal", "BillingGroupAssigned", "acme-next"));

  // The ledger: web was in acme-main until the move, in acme-next since.
  auto memberships = env.ledger()->memberships("acme-web/web");
  ASSERT_TRUE(memberships.has_value()) << memberships.error();
  ASSERT_EQ(memberships->size(), 2u);
  EXPECT_EQ(at(memberships->at(0), "accountId"), at(acmeMain, "metadata.uid"));
  EXPECT_EQ(at(memberships->at(0), "effectiveTo"), at(memberships->at(1), "effectiveFrom"));
  EXPECT_EQ(at(memberships->at(1), "accountId"), at(acmeNext, "metadata.uid"));
  EXPECT_EQ(at(memberships->at(1), "effectiveTo"), "null");
  auto account = env.ledger()->get("/v1/accounts/" + at(acmeMain, "metadata.uid"));
  ASSERT_TRUE(account.has_value()) << account.error();
  EXPECT_NE(at(*account, "closedAt"), "<missing>") << common::toJson(*account);
}

// R10: cluster administrators move a Namespace to another organization; what that breaks is
// reported on the affected objects, and mended when the label comes back.
TEST(OperatorE2eTest, NamespaceRelabelledToAnotherOrganizationIsReportedOnTheObjects) {
  Environment env;
  START_OPERATOR(env);
  applyGitops(env);
  ASSERT_TRUE(allReady(env));

  auto relabel = [&](const std::string& organization) {
    return env.kubectl({"label", "namespace", "acme-web", "--overwrite",
                        "billing.operator.dev/organization=" + organization});
  };
  ASSERT_EQ(relabel("globex").exitCode, 0);
  for (const char* name : {"web", "api"}) {
    value project;
    EXPECT_TRUE(eventually(
        [&] {
          project = getObject(env, "project", "acme-web", name);
          return readyReason(project) == "False/CrossOrganization";
        },
        20s))
        << common::toJson(project);
    EXPECT_EQ(at(project, "status.organization"), "globex");
    EXPECT_THAT(at(condition(project, "Ready"), "message"),
                HasSubstr("Project acme-web/" + std::string(name) +
                          " (organization globex) references billing group "
                          "acme-billing/acme-main (organization acme)"));
    EXPECT_TRUE(hasEvent(env, "acme-web", name, "Warning", "CrossOrganization",
                         "a project may only use billing groups of its own organization"));
  }
  value acmeMain;
  EXPECT_TRUE(eventually(
      [&] {
        acmeMain = getObject(env, "billinggroup", "acme-billing", "acme-main");
        return at(acmeMain, "status.projectCount") == "0";
      },
      20s))
      << common::toJson(acmeMain);
  // The webhook now refuses an update that keeps the broken reference? No: it only refuses what
  // a change introduces, so unrelated edits of the broken project still go through.
  auto tagged = env.kubectl({"label", "project", "-n", "acme-web", "web", "team=storefront"});
  EXPECT_EQ(tagged.exitCode, 0) << tagged;

  ASSERT_EQ(relabel("acme").exitCode, 0);
  EXPECT_TRUE(allReady(env));
  EXPECT_EQ(at(getObject(env, "billinggroup", "acme-billing", "acme-main"), "status.projectCount"),
            "2");
}

// Two replicas with leader election: only the leader writes (the follower's own request counters
// show no write at all, and every Event names the leader); the follower serves the webhook from
// its caches; when the leader is killed, the other takes over and reconciles.
TEST(OperatorE2eTest, OnlyTheLeaderWritesAndTheOtherReplicaTakesOver) {
  Environment env;
  ASSERT_EQ(env.startupError(), "");
  // replica-a starts first and takes the Lease; replica-b serves the webhook Service.
  OperatorOptions first;
  first.identity = "replica-a";
  first.leaderElect = true;
  first.webhookPort = freePort();
  OperatorProcess& leader = env.addOperator(first);
  ASSERT_TRUE(leader.waitReady());
  auto holder = [&] {
    auto lease = env.kubectl({"get", "lease", "-n", "default", "billing-operator-leader", "-o",
                              "jsonpath={.spec.holderIdentity}"});
    return lease.exitCode == 0 ? lease.out : std::string();
  };
  ASSERT_TRUE(eventually([&] { return holder() == "replica-a"; }, 15s)) << holder();
  OperatorOptions second;
  second.identity = "replica-b";
  second.leaderElect = true;
  OperatorProcess& follower = env.addOperator(second);
  ASSERT_TRUE(follower.waitReady());
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, env.webhook()->configurationYaml()).exitCode, 0);

  applyGitops(env);
  ASSERT_TRUE(allReady(env));
  EXPECT_EQ(holder(), "replica-a");
  EXPECT_EQ(follower.writes(), 0) << "the follower wrote:\n" << follower.metrics();
  EXPECT_GT(follower.requests("GET"), 0) << "the follower does not even read the Lease";
  EXPECT_GT(leader.writes(), 10) << leader.metrics();
  EXPECT_EQ(metricValue(leader.metrics(),
                        "leader_election_master_status{name=\"billing-operator-leader\"}"),
            1);
  EXPECT_EQ(metricValue(follower.metrics(),
                        "leader_election_master_status{name=\"billing-operator-leader\"}"),
            0);
  value events = env.getJson({"events.v1.events.k8s.io", "-A"});
  ASSERT_FALSE(events.is_null());
  ASSERT_GT(events.at("items").size(), 0u);
  for (const value& event : events.at("items").as_array()) {
    EXPECT_EQ(at(event, "reportingInstance"), "replica-a") << common::toJson(event);
  }

  // kill -9 the leader: replica-b takes the Lease once it expires, then reconciles.
  leader.process().kill();
  ASSERT_TRUE(eventually([&] { return holder() == "replica-b"; }, 20s))
      << "no takeover; replica-b said:\n"
      << follower.process().logSinceStart();
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kEtlProject).exitCode, 0);
  EXPECT_TRUE(eventually(
      [&] {
        return readyReason(getObject(env, "project", "acme-data", "etl")) ==
               "True/BillingGroupAssigned";
      },
      20s));
  EXPECT_GT(follower.writes(), 0);
  EXPECT_TRUE(hasEvent(env, "acme-data", "etl", "Normal", "BillingGroupCreated", "etl-billing"));
  for (const value& event : eventsFor(env, "acme-data", "etl")) {
    EXPECT_EQ(at(event, "reportingInstance"), "replica-b") << common::toJson(event);
  }
}

// An operator restarted in the middle of all this changes nothing: after the new process has
// resynced every object, no resourceVersion moved and it made zero writes. Then it carries on.
TEST(OperatorE2eTest, RestartInTheMiddleChangesNothing) {
  Environment env;
  START_OPERATOR(env);
  applyGitops(env);
  ASSERT_TRUE(allReady(env));
  // Some history first: a default group deleted with its project, a project moved.
  ASSERT_EQ(env.kubectl({"delete", "project", "-n", "acme-data", "warehouse", "--wait=true",
                         "--timeout=30s"})
                .exitCode,
            0);
  ASSERT_EQ(env.kubectl({"patch", "project", "-n", "globex-ml", "speech", "--type=merge", "-p",
                         R"({"spec":{"billingGroupRef":{"name":"globex","namespace":"globex"}}})"})
                .exitCode,
            0);
  ASSERT_TRUE(allReady(env));
  ASSERT_TRUE(eventually(
      [&] {
        return env.kubectl({"get", "billinggroup", "-n", "acme-data", "warehouse-billing"})
                   .exitCode != 0;
      },
      20s));
  // Wait for the operator to be idle (queues empty) so that the snapshot is its final word.
  ASSERT_TRUE(eventually(
      [&] {
        const std::string metrics = op.metrics();
        return !metrics.empty() && metricSum(metrics, "workqueue_depth", {}) == 0;
      },
      10s));
  const auto before = resourceVersions(env);
  const auto membershipsBefore = env.ledger()->get("/v1/memberships?project=globex-ml%2Fspeech");
  ASSERT_TRUE(membershipsBefore.has_value());

  EXPECT_EQ(op.process().stop(), 0) << "SIGTERM did not end the operator cleanly";
  ASSERT_TRUE(op.process().start());
  ASSERT_TRUE(op.waitReady());
  // Resynced: every object went through its reconciler once (counted by the new process).
  value groups = env.getJson({"billinggroups", "-A"});
  value projects = env.getJson({"projects", "-A"});
  ASSERT_FALSE(groups.is_null());
  ASSERT_FALSE(projects.is_null());
  ASSERT_TRUE(eventually(
      [&] {
        const std::string metrics = op.metrics();
        return metricSum(metrics, "controller_runtime_reconcile_total",
                         {"controller=\"billinggroup\""}) >=
                   static_cast<double>(groups.at("items").size()) &&
               metricSum(metrics, "controller_runtime_reconcile_total",
                         {"controller=\"project\""}) >=
                   static_cast<double>(projects.at("items").size()) &&
               metricSum(metrics, "workqueue_depth", {}) == 0;
      },
      20s))
      << op.metrics();
  EXPECT_EQ(op.writes(), 0) << "the restarted operator wrote:\n" << op.metrics();
  EXPECT_EQ(resourceVersions(env), before);
  EXPECT_EQ(env.ledger()->get("/v1/memberships?project=globex-ml%2Fspeech").value_or(value()),
            *membershipsBefore);

  // It carries on: a new project after the restart gets its group and its membership.
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kEtlProject).exitCode, 0);
  EXPECT_TRUE(allReady(env));
  auto etl = env.ledger()->memberships("acme-data/etl");
  ASSERT_TRUE(etl.has_value()) << etl.error();
  EXPECT_EQ(etl->size(), 1u);
}

}  // namespace
}  // namespace billing::e2e
