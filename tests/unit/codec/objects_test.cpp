#include "reconcilers/codec/objects.h"

#include <cpprest/json.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>

namespace billing::domain {

// Readable failure output. Declared in the types' namespace so that gtest finds them by ADL.
static void PrintTo(const Violation& violation, std::ostream* os) { *os << describe(violation); }
static void PrintTo(Code code, std::ostream* os) { *os << codeName(code); }
static void PrintTo(Severity severity, std::ostream* os) { *os << severityName(severity); }
static void PrintTo(const BillingGroup& group, std::ostream* os) {
  *os << codec::encode(group).serialize();
}
static void PrintTo(const Project& project, std::ostream* os) {
  *os << codec::encode(project).serialize();
}
static void PrintTo(const Invoice& invoice, std::ostream* os) {
  *os << codec::encode(invoice).serialize();
}

}  // namespace billing::domain

namespace billing::codec {
namespace {

using namespace std::chrono;
using domain::Code;
using domain::Kind;
using domain::ObjectKey;
using domain::Severity;
using domain::Timestamp;
using domain::Violation;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Matcher;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;
using web::json::value;

value json(const char* text) { return value::parse(text); }

Timestamp at(year_month_day date, int h = 0, int m = 0, int s = 0) {
  return sys_days{date} + hours{h} + minutes{m} + seconds{s};
}

DecodeOptions withoutStatus() {
  DecodeOptions options;
  options.status = false;
  return options;
}

DecodeOptions inNamespace(const std::string& ns) {
  DecodeOptions options;
  options.defaultNamespace = ns;
  return options;
}

Matcher<const Violation&> IsViolation(Code code, const std::string& field,
                                      const Matcher<const std::string&>& message) {
  return AllOf(Field("code", &Violation::code, code), Field("field", &Violation::field, field),
               Field("severity", &Violation::severity, Severity::Error),
               Field("message", &Violation::message, message));
}

// Objects of each kind with the given spec (JSON text), named acme/acme-web, acme/web and
// acme/acme-web-2026-11.
value billingGroupWithSpec(const char* spec) {
  value object = json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web", "namespace": "acme"}
  })");
  object["spec"] = json(spec);
  return object;
}

value projectWithSpec(const char* spec) {
  value object = json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "Project",
    "metadata": {"name": "web", "namespace": "acme"}
  })");
  object["spec"] = json(spec);
  return object;
}

value invoiceWithSpec(const char* spec) {
  value object = json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "Invoice",
    "metadata": {"name": "acme-web-2026-11", "namespace": "acme"}
  })");
  object["spec"] = json(spec);
  return object;
}

// ---------------------------------------------------------------------------------------------
// classify

TEST(ClassifyTest, RecognisesEachBillingKindAtTheServedVersion) {
  const std::pair<const char*, Kind> kinds[] = {
      {"BillingGroup", Kind::BillingGroup}, {"Project", Kind::Project}, {"Invoice", Kind::Invoice}};
  for (const auto& [name, kind] : kinds) {
    value object = value::object();
    object["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
    object["kind"] = value::string(name);
    ObjectType type = classify(object);
    EXPECT_EQ(type.category, ObjectType::Category::Billing) << name;
    EXPECT_EQ(type.kind, kind) << name;
    EXPECT_EQ(type.apiVersion, "billing.operator.dev/v1alpha1");
    EXPECT_EQ(type.kindName, name);
  }
}

TEST(ClassifyTest, RecognisesCoreNamespace) {
  ObjectType type = classify(json(R"({
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "acme", "labels": {"billing.operator.dev/organization": "acme"}}
  })"));
  EXPECT_EQ(type.category, ObjectType::Category::Namespace);
  EXPECT_EQ(type.kind, Kind::Namespace);
  EXPECT_EQ(type.kindName, "Namespace");
}

TEST(ClassifyTest, OurKindAtAnotherVersionIsUnsupported) {
  ObjectType type = classify(json(R"({
    "apiVersion": "billing.operator.dev/v1beta1",
    "kind": "Project",
    "metadata": {"name": "web", "namespace": "acme"}
  })"));
  EXPECT_EQ(type.category, ObjectType::Category::Unsupported);
  EXPECT_EQ(type.kind, Kind::Project);
  EXPECT_EQ(type.apiVersion, "billing.operator.dev/v1beta1");
}

TEST(ClassifyTest, UnknownKindInOurGroupIsUnsupported) {
  ObjectType type = classify(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "Budget",
    "metadata": {"name": "q4", "namespace": "acme"}
  })"));
  EXPECT_EQ(type.category, ObjectType::Category::Unsupported);
  EXPECT_EQ(type.kindName, "Budget");
}

TEST(ClassifyTest, OtherGroupsAndCoreKindsAreOther) {
  ObjectType deployment = classify(json(R"({
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "acme"},
    "spec": {"replicas": 2}
  })"));
  EXPECT_EQ(deployment.category, ObjectType::Category::Other);
  EXPECT_EQ(deployment.apiVersion, "apps/v1");
  EXPECT_EQ(deployment.kindName, "Deployment");

  ObjectType configMap = classify(json(R"({"apiVersion": "v1", "kind": "ConfigMap"})"));
  EXPECT_EQ(configMap.category, ObjectType::Category::Other);

  // A group whose name merely starts like ours is somebody else's.
  ObjectType lookalike =
      classify(json(R"({"apiVersion": "billing.operator.dev.example.com/v1", "kind": "Project"})"));
  EXPECT_EQ(lookalike.category, ObjectType::Category::Other);
}

TEST(ClassifyTest, ObjectsWithoutApiVersionOrKindAreInvalid) {
  EXPECT_EQ(classify(json(R"({"kind": "BillingGroup", "metadata": {"name": "a"}})")).category,
            ObjectType::Category::Invalid);
  EXPECT_EQ(classify(json(R"({"apiVersion": "billing.operator.dev/v1alpha1"})")).category,
            ObjectType::Category::Invalid);
  EXPECT_EQ(classify(json(R"({"apiVersion": 1, "kind": "BillingGroup"})")).category,
            ObjectType::Category::Invalid);
  EXPECT_EQ(classify(json(R"({"apiVersion": "v1", "kind": null})")).category,
            ObjectType::Category::Invalid);
  EXPECT_EQ(classify(json("{}")).category, ObjectType::Category::Invalid);
}

TEST(ClassifyTest, NonObjectsAreInvalid) {
  EXPECT_EQ(classify(json(R"(["apiVersion", "kind"])")).category, ObjectType::Category::Invalid);
  EXPECT_EQ(classify(json(R"("BillingGroup")")).category, ObjectType::Category::Invalid);
  EXPECT_EQ(classify(json("42")).category, ObjectType::Category::Invalid);
  EXPECT_EQ(classify(value::null()).category, ObjectType::Category::Invalid);
}

// ---------------------------------------------------------------------------------------------
// decodeBillingGroup

constexpr const char* kCompleteBillingGroup = R"({
  "apiVersion": "billing.operator.dev/v1alpha1",
  "kind": "BillingGroup",
  "metadata": {
    "name": "acme-web",
    "namespace": "acme",
    "uid": "6f1c0e4e-2a51-4b7c-9d0e-5b1f3c2a7e01",
    "resourceVersion": "48213",
    "generation": 3,
    "creationTimestamp": "2026-10-01T08:30:00Z",
    "deletionTimestamp": "2026-11-15T12:00:00Z",
    "labels": {"team": "web", "billing.operator.dev/tier": "gold"},
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
    "finalizers": ["billing.operator.dev/final-invoice"],
    "ownerReferences": [{
      "apiVersion": "billing.operator.dev/v1alpha1",
      "kind": "Project",
      "name": "web",
      "uid": "0b7d9a44-8f3e-4c21-a6b5-1e2f3a4b5c6d",
      "controller": true,
      "blockOwnerDeletion": true
    }],
    "managedFields": [{"manager": "kubectl", "operation": "Apply"}]
  },
  "spec": {
    "displayName": "ACME Web",
    "scope": "Project",
    "projectRef": {"name": "web"},
    "currency": "EUR",
    "billingEmails": ["billing@acme.example", "ap@acme.example"],
    "billingContactEmails": ["cfo@acme.example"],
    "company": "ACME GmbH",
    "address": {
      "lines": ["Hauptstrasse 1", "3. OG"],
      "city": "Berlin",
      "state": "BE",
      "zipCode": "10115",
      "countryCode": "DE"
    },
    "vatId": "DE123456789",
    "paymentMethod": {"type": "SepaDebit", "secretRef": {"name": "acme-sepa", "key": "mandate"}},
    "invoiceText": "PO 4711, cost centre 12",
    "invoicing": {"period": "Weekly"},
    "credits": [{
      "id": "promo-2026",
      "amount": "100.00",
      "description": "Launch promotion",
      "expiresAt": "2027-01-01T00:00:00Z"
    }]
  },
  "status": {
    "organization": "acme",
    "projectCount": 2,
    "projects": [{"namespace": "acme", "name": "web"}, {"namespace": "acme", "name": "api"}],
    "credits": "42.50",
    "currentPeriod": {
      "start": "2026-11-09T00:00:00Z",
      "end": "2026-11-16T00:00:00Z",
      "estimatedTotal": "310.20"
    },
    "lastInvoice": {
      "name": "acme-web-2026-11-02",
      "number": "INV-2026-0042",
      "periodStart": "2026-11-02T00:00:00Z",
      "periodEnd": "2026-11-09T00:00:00Z",
      "total": "288.00",
      "state": "Finalized"
    },
    "conditions": [
      {
        "type": "Ready",
        "status": "True",
        "reason": "Reconciled",
        "message": "2 projects are billed to this group",
        "observedGeneration": 3,
        "lastTransitionTime": "2026-11-09T00:00:05Z"
      },
      {
        "type": "BackendSynced",
        "status": "False",
        "reason": "BackendUnavailable",
        "message": "the ledger did not answer",
        "observedGeneration": 2
      }
    ],
    "observedGeneration": 3
  }
})";

TEST(DecodeBillingGroupTest, EveryFieldOfACompleteObjectLandsInTheValue) {
  auto decoded = decodeBillingGroup(json(kCompleteBillingGroup));
  EXPECT_THAT(decoded.errors, IsEmpty());
  const domain::BillingGroup& group = decoded.value;

  const domain::ObjectMeta& meta = group.metadata;
  EXPECT_EQ(meta.name, "acme-web");
  EXPECT_EQ(meta.ns, "acme");
  EXPECT_EQ(group.key(), (ObjectKey{Kind::BillingGroup, "acme", "acme-web"}));
  EXPECT_EQ(meta.uid, "6f1c0e4e-2a51-4b7c-9d0e-5b1f3c2a7e01");
  EXPECT_EQ(meta.resourceVersion, "48213");
  EXPECT_EQ(meta.generation, 3);
  EXPECT_EQ(meta.creationTimestamp, at(2026y / October / 1, 8, 30));
  EXPECT_EQ(meta.deletionTimestamp, at(2026y / November / 15, 12));
  EXPECT_THAT(meta.labels,
              ElementsAre(Pair("billing.operator.dev/tier", "gold"), Pair("team", "web")));
  EXPECT_THAT(meta.annotations,
              ElementsAre(Pair("kubectl.kubernetes.io/last-applied-configuration", "{}")));
  EXPECT_THAT(meta.finalizers, ElementsAre("billing.operator.dev/final-invoice"));
  EXPECT_THAT(meta.ownerReferences, ElementsAre(domain::OwnerReference{
                                        "billing.operator.dev/v1alpha1", "Project", "web",
                                        "0b7d9a44-8f3e-4c21-a6b5-1e2f3a4b5c6d", true, true}));

  const domain::BillingGroupSpec& spec = group.spec;
  EXPECT_EQ(spec.displayName, "ACME Web");
  EXPECT_EQ(spec.scope, domain::Scope::Project);
  EXPECT_EQ(spec.projectRef, domain::LocalObjectReference{"web"});
  EXPECT_EQ(spec.currency, "EUR");
  EXPECT_THAT(spec.billingEmails, ElementsAre("billing@acme.example", "ap@acme.example"));
  EXPECT_THAT(spec.billingContactEmails, ElementsAre("cfo@acme.example"));
  EXPECT_EQ(spec.company, "ACME GmbH");
  ASSERT_TRUE(spec.address.has_value());
  EXPECT_THAT(spec.address->lines, ElementsAre("Hauptstrasse 1", "3. OG"));
  EXPECT_EQ(spec.address->city, "Berlin");
  EXPECT_EQ(spec.address->state, "BE");
  EXPECT_EQ(spec.address->zipCode, "10115");
  EXPECT_EQ(spec.address->countryCode, "DE");
  EXPECT_EQ(spec.vatId, "DE123456789");
  ASSERT_TRUE(spec.paymentMethod.has_value());
  EXPECT_EQ(spec.paymentMethod->type, domain::PaymentMethodType::SepaDebit);
  EXPECT_EQ(spec.paymentMethod->secretRef, (domain::SecretKeySelector{"acme-sepa", "mandate"}));
  EXPECT_EQ(spec.invoiceText, "PO 4711, cost centre 12");
  EXPECT_EQ(spec.invoicing.period, domain::InvoicingPeriod::Weekly);
  // Credits on a project group break R2, but that is for the rules to say, not the codec.
  ASSERT_EQ(spec.credits.size(), 1u);
  EXPECT_EQ(spec.credits[0], (domain::CreditGrant{"promo-2026", "100.00", "Launch promotion",
                                                  at(2027y / January / 1)}));

  const domain::BillingGroupStatus& status = group.status;
  EXPECT_EQ(status.organization, "acme");
  EXPECT_EQ(status.projectCount, 2);
  EXPECT_THAT(status.projects, ElementsAre(domain::NamespacedName{"acme", "web"},
                                           domain::NamespacedName{"acme", "api"}));
  EXPECT_EQ(status.credits, "42.50");
  EXPECT_EQ(status.currentPeriod,
            (domain::CurrentPeriod{at(2026y / November / 9), at(2026y / November / 16), "310.20"}));
  EXPECT_EQ(status.lastInvoice,
            (domain::InvoiceSummary{"acme-web-2026-11-02", "INV-2026-0042", "2026-11-02T00:00:00Z",
                                    "2026-11-09T00:00:00Z", "288.00", "Finalized"}));
  ASSERT_EQ(status.conditions.size(), 2u);
  EXPECT_EQ(status.conditions[0],
            (domain::Condition{"Ready", domain::ConditionStatus::True, "Reconciled",
                               "2 projects are billed to this group", 3,
                               at(2026y / November / 9, 0, 0, 5)}));
  EXPECT_EQ(
      status.conditions[1],
      (domain::Condition{"BackendSynced", domain::ConditionStatus::False, "BackendUnavailable",
                         "the ledger did not answer", 2, std::nullopt}));
  EXPECT_EQ(status.observedGeneration, 3);
}

TEST(DecodeBillingGroupTest, MinimalObjectGetsTheDocumentedDefaults) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({"currency": "USD"})"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  const auto& spec = decoded.value.spec;
  EXPECT_EQ(spec.scope, domain::Scope::Organization);
  EXPECT_EQ(spec.invoicing.period, domain::InvoicingPeriod::Monthly);
  EXPECT_EQ(spec.currency, "USD");
  EXPECT_FALSE(spec.projectRef.has_value());
  EXPECT_FALSE(spec.address.has_value());
  EXPECT_FALSE(spec.paymentMethod.has_value());
  EXPECT_THAT(spec.billingEmails, IsEmpty());
  EXPECT_THAT(spec.credits, IsEmpty());
  EXPECT_EQ(decoded.value.status, domain::BillingGroupStatus{});
}

TEST(DecodeBillingGroupTest, InvoicingWithoutPeriodIsMonthly) {
  auto decoded =
      decodeBillingGroup(billingGroupWithSpec(R"({"currency": "USD", "invoicing": {}})"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value.spec.invoicing.period, domain::InvoicingPeriod::Monthly);
}

TEST(DecodeBillingGroupTest, CurrencyOfTheWrongTypeIsInvalidType) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({"currency": 5})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::InvalidType, "spec.currency",
                  "BillingGroup acme/acme-web field spec.currency must be a string, got integer")));
  EXPECT_EQ(decoded.errors[0].object, (ObjectKey{Kind::BillingGroup, "acme", "acme-web"}));
  EXPECT_EQ(decoded.value.spec.currency, "");
}

TEST(DecodeBillingGroupTest, EmailListThatIsAStringIsInvalidType) {
  auto decoded = decodeBillingGroup(
      billingGroupWithSpec(R"({"currency": "EUR", "billingEmails": "billing@acme.example"})"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(Code::InvalidType, "spec.billingEmails",
                                                      HasSubstr("must be an array, got string"))));
  EXPECT_THAT(decoded.value.spec.billingEmails, IsEmpty());
}

TEST(DecodeBillingGroupTest, NonStringEmailIsReportedAtItsIndexAndTheOthersKept) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(
      R"({"currency": "EUR", "billingEmails": ["a@acme.example", 3, "c@acme.example"]})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::InvalidType, "spec.billingEmails[1]",
                                      HasSubstr("field spec.billingEmails[1] must be a string, "
                                                "got integer"))));
  EXPECT_THAT(decoded.value.spec.billingEmails, ElementsAre("a@acme.example", "c@acme.example"));
}

TEST(DecodeBillingGroupTest, NonStringLabelValueIsInvalidTypeWithAQuotingHint) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web", "namespace": "acme", "labels": {"critical": true}},
    "spec": {"currency": "EUR"}
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::InvalidType, "metadata.labels[critical]",
                                      AllOf(HasSubstr("must be a string, got boolean"),
                                            HasSubstr(R"(quote values such as "true")")))));
}

TEST(DecodeBillingGroupTest, MissingCurrencyIsRequired) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({"displayName": "ACME"})"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(
                                  Code::Required, "spec.currency",
                                  "BillingGroup acme/acme-web field spec.currency is required")));
  EXPECT_EQ(decoded.value.spec.displayName, "ACME");
}

TEST(DecodeBillingGroupTest, EmptyCurrencyIsRequired) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({"currency": ""})"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(Code::Required, "spec.currency",
                                                      HasSubstr("must not be empty"))));
}

TEST(DecodeBillingGroupTest, MissingSpecIsRequired) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web", "namespace": "acme"}
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "spec",
                                      "BillingGroup acme/acme-web field spec is required")));
}

TEST(DecodeBillingGroupTest, SpecThatIsNotAnObjectIsInvalidType) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"(["EUR"])"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(Code::InvalidType, "spec",
                                                      HasSubstr("must be an object, got array"))));
}

TEST(DecodeBillingGroupTest, ProjectRefWithoutNameIsRequired) {
  auto decoded = decodeBillingGroup(
      billingGroupWithSpec(R"({"currency": "EUR", "scope": "Project", "projectRef": {}})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "spec.projectRef.name",
                                      HasSubstr("field spec.projectRef.name is required"))));
  EXPECT_EQ(decoded.value.spec.scope, domain::Scope::Project);
}

TEST(DecodeBillingGroupTest, PaymentMethodWithoutTypeIsRequired) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({
    "currency": "EUR",
    "paymentMethod": {"secretRef": {"name": "acme-card", "key": "token"}}
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "spec.paymentMethod.type",
                                      HasSubstr("field spec.paymentMethod.type is required"))));
  ASSERT_TRUE(decoded.value.spec.paymentMethod.has_value());
  EXPECT_EQ(decoded.value.spec.paymentMethod->secretRef,
            (domain::SecretKeySelector{"acme-card", "token"}));
}

TEST(DecodeBillingGroupTest, SecretRefWithoutKeyIsRequired) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({
    "currency": "EUR",
    "paymentMethod": {"type": "Card", "secretRef": {"name": "acme-card"}}
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "spec.paymentMethod.secretRef.key",
                                      HasSubstr("is required"))));
}

TEST(DecodeBillingGroupTest, UnsupportedInvoicingPeriodListsTheSupportedValues) {
  auto decoded = decodeBillingGroup(
      billingGroupWithSpec(R"({"currency": "EUR", "invoicing": {"period": "Yearly"}})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::UnsupportedValue, "spec.invoicing.period",
                  AllOf(HasSubstr("field spec.invoicing.period has unsupported value \"Yearly\""),
                        HasSubstr(R"(supported values are "Monthly", "Weekly", "Daily")")))));
  EXPECT_EQ(decoded.value.spec.invoicing.period, domain::InvoicingPeriod::Monthly);
}

TEST(DecodeBillingGroupTest, UnsupportedPaymentMethodTypeListsTheSupportedValues) {
  auto decoded = decodeBillingGroup(
      billingGroupWithSpec(R"({"currency": "EUR", "paymentMethod": {"type": "PayPal"}})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::UnsupportedValue, "spec.paymentMethod.type",
                  AllOf(HasSubstr("unsupported value \"PayPal\""),
                        HasSubstr(R"("Card", "SepaDebit", "AchDebit", "BankTransfer")")))));
}

TEST(DecodeBillingGroupTest, EnumValuesAreCaseSensitive) {
  auto decoded = decodeBillingGroup(
      billingGroupWithSpec(R"({"currency": "EUR", "invoicing": {"period": "monthly"}})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::UnsupportedValue, "spec.invoicing.period",
                                      HasSubstr("unsupported value \"monthly\""))));
}

TEST(DecodeBillingGroupTest, UnknownScopeIsInvalidScope) {
  auto decoded =
      decodeBillingGroup(billingGroupWithSpec(R"({"currency": "EUR", "scope": "Team"})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::InvalidScope, "spec.scope",
                  AllOf(HasSubstr("unsupported value \"Team\""),
                        HasSubstr(R"(supported values are "Organization", "Project")")))));
  EXPECT_EQ(domain::ruleOf(decoded.errors.at(0).code), "R1");
}

TEST(DecodeBillingGroupTest, UnknownFieldListsTheKnownFields) {
  auto decoded =
      decodeBillingGroup(billingGroupWithSpec(R"({"currency": "EUR", "colour": "blue"})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::UnknownField, "spec.colour",
                  AllOf(HasSubstr("field spec.colour is not a field of BillingGroup"),
                        HasSubstr("known fields here are displayName, scope, projectRef, "
                                  "currency, billingEmails, billingContactEmails, company, "
                                  "address, vatId, paymentMethod, invoiceText, invoicing, "
                                  "credits")))));
  EXPECT_EQ(decoded.value.spec.currency, "EUR");
}

TEST(DecodeBillingGroupTest, UnknownFieldWithADotIsNotMistakenForANestedField) {
  // A flattened key is a single unknown field, not the valid spec.invoicing.period.
  auto decoded = decodeBillingGroup(
      billingGroupWithSpec(R"({"currency": "EUR", "invoicing.period": "Weekly"})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::UnknownField, "spec[invoicing.period]",
                                      HasSubstr("field spec[invoicing.period] is not a field"))));
  EXPECT_EQ(decoded.value.spec.invoicing.period, domain::InvoicingPeriod::Monthly);
}

TEST(DecodeBillingGroupTest, UnknownTopLevelFieldIsUnknownField) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web", "namespace": "acme"},
    "data": {"currency": "EUR"},
    "spec": {"currency": "EUR"}
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::UnknownField, "data",
                                      HasSubstr("is not a field of BillingGroup"))));
}

TEST(DecodeBillingGroupTest, SecretLookingFieldIsSecretInSpec) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({
    "currency": "EUR",
    "paymentMethod": {"type": "Card", "cardNumber": "4111111111111111"}
  })"));
  ASSERT_THAT(
      decoded.errors,
      ElementsAre(IsViolation(
          Code::SecretInSpec, "spec.paymentMethod.cardNumber",
          AllOf(HasSubstr("looks like a payment secret"),
                HasSubstr("Kubernetes Secret referenced by spec.paymentMethod.secretRef")))));
  // R8: the secret itself must not be echoed back into logs or webhook answers.
  EXPECT_THAT(decoded.errors[0].message, ::testing::Not(HasSubstr("4111111111111111")));
}

TEST(DecodeBillingGroupTest, SecretLookingFieldDirectlyInSpecIsSecretInSpec) {
  auto decoded = decodeBillingGroup(
      billingGroupWithSpec(R"({"currency": "EUR", "iban": "DE89370400440532013000"})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::SecretInSpec, "spec.iban", HasSubstr("secret"))));
}

TEST(DecodeBillingGroupTest, MalformedTimestampIsInvalidValue) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({
    "currency": "EUR",
    "credits": [{"id": "promo", "amount": "10.00", "expiresAt": "2027-01-01 00:00"}]
  })"));
  EXPECT_THAT(
      decoded.errors,
      ElementsAre(IsViolation(Code::InvalidValue, "spec.credits[0].expiresAt",
                              AllOf(HasSubstr(R"("2027-01-01 00:00" is not an RFC 3339 date-time)"),
                                    HasSubstr("2026-11-01T00:00:00Z")))));
  ASSERT_EQ(decoded.value.spec.credits.size(), 1u);
  EXPECT_EQ(decoded.value.spec.credits[0].expiresAt, std::nullopt);
  EXPECT_EQ(decoded.value.spec.credits[0].amount, "10.00");
}

TEST(DecodeBillingGroupTest, ApiVersionMismatchIsUnsupportedValue) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1beta1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web", "namespace": "acme"},
    "spec": {"currency": "EUR"}
  })"));
  EXPECT_THAT(
      decoded.errors,
      ElementsAre(IsViolation(Code::UnsupportedValue, "apiVersion",
                              AllOf(HasSubstr(R"("billing.operator.dev/v1beta1" is not served)"),
                                    HasSubstr("use billing.operator.dev/v1alpha1")))));
  EXPECT_EQ(decoded.value.spec.currency, "EUR");
}

TEST(DecodeBillingGroupTest, KindMismatchIsInvalidValue) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "Project",
    "metadata": {"name": "acme-web", "namespace": "acme"},
    "spec": {"currency": "EUR"}
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::InvalidValue, "kind",
                                      HasSubstr("expected kind BillingGroup, got Project"))));
}

TEST(DecodeBillingGroupTest, MissingApiVersionAndNameAreRequired) {
  auto decoded = decodeBillingGroup(json(R"({
    "kind": "BillingGroup",
    "metadata": {"namespace": "acme"},
    "spec": {"currency": "EUR"}
  })"));
  EXPECT_THAT(decoded.errors,
              UnorderedElementsAre(
                  IsViolation(Code::Required, "apiVersion", HasSubstr("apiVersion is required")),
                  IsViolation(Code::Required, "metadata.name", HasSubstr("is required"))));
}

TEST(DecodeBillingGroupTest, ExplicitNullIsTreatedAsAbsent) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web", "namespace": "acme", "labels": null,
                 "creationTimestamp": null},
    "spec": {
      "displayName": null,
      "scope": null,
      "projectRef": null,
      "currency": "EUR",
      "billingEmails": null,
      "address": null,
      "vatId": null,
      "paymentMethod": null,
      "invoicing": {"period": null},
      "credits": null
    },
    "status": null
  })"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  const auto& spec = decoded.value.spec;
  EXPECT_EQ(spec.scope, domain::Scope::Organization);
  EXPECT_EQ(spec.invoicing.period, domain::InvoicingPeriod::Monthly);
  EXPECT_FALSE(spec.projectRef.has_value());
  EXPECT_FALSE(spec.address.has_value());
  EXPECT_FALSE(spec.paymentMethod.has_value());
  EXPECT_EQ(spec.vatId, "");
  EXPECT_THAT(decoded.value.metadata.labels, IsEmpty());
  EXPECT_EQ(decoded.value.metadata.creationTimestamp, std::nullopt);  // as kubectl writes it
}

TEST(DecodeBillingGroupTest, ExplicitNullOnARequiredFieldIsRequired) {
  auto decoded = decodeBillingGroup(billingGroupWithSpec(R"({"currency": null})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "spec.currency", HasSubstr("is required"))));
}

TEST(DecodeBillingGroupTest, ReportsEveryProblemAtOnceAndKeepsWhatWasFine) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web", "namespace": "acme"},
    "spec": {
      "displayName": "ACME Web",
      "scope": "Team",
      "currency": 978,
      "billingEmails": ["billing@acme.example"],
      "vatId": "DE123456789",
      "invoicing": {"period": "Yearly"}
    }
  })"));
  EXPECT_THAT(decoded.errors,
              UnorderedElementsAre(IsViolation(Code::InvalidScope, "spec.scope", HasSubstr("Team")),
                                   IsViolation(Code::InvalidType, "spec.currency",
                                               HasSubstr("must be a string, got integer")),
                                   IsViolation(Code::UnsupportedValue, "spec.invoicing.period",
                                               HasSubstr("Yearly"))));
  for (const Violation& violation : decoded.errors) {
    EXPECT_EQ(violation.object, (ObjectKey{Kind::BillingGroup, "acme", "acme-web"}));
  }
  const auto& group = decoded.value;
  EXPECT_EQ(group.metadata.name, "acme-web");
  EXPECT_EQ(group.metadata.ns, "acme");
  EXPECT_EQ(group.spec.displayName, "ACME Web");
  EXPECT_THAT(group.spec.billingEmails, ElementsAre("billing@acme.example"));
  EXPECT_EQ(group.spec.vatId, "DE123456789");
}

TEST(DecodeBillingGroupTest, MalformedStatusIsReportedByDefault) {
  value object = billingGroupWithSpec(R"({"currency": "EUR"})");
  object["status"] = json(R"({"projectCount": "two", "conditions": [{"status": "Maybe"}]})");
  auto decoded = decodeBillingGroup(object);
  EXPECT_THAT(
      decoded.errors,
      UnorderedElementsAre(
          IsViolation(Code::InvalidType, "status.projectCount",
                      HasSubstr("must be an integer, got string")),
          IsViolation(Code::Required, "status.conditions[0].type", HasSubstr("is required")),
          IsViolation(Code::UnsupportedValue, "status.conditions[0].status",
                      HasSubstr(R"(supported values are "True", "False", "Unknown")"))));
}

TEST(DecodeBillingGroupTest, StatusOptionFalseIgnoresEvenAMalformedStatus) {
  value object = json(kCompleteBillingGroup);
  object["status"] = json(R"({"projectCount": "two", "colour": "blue", "conditions": 7})");
  auto decoded = decodeBillingGroup(object, withoutStatus());
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value.status, domain::BillingGroupStatus{});

  // A well-formed status is ignored as well: GitOps manifests do not own it.
  auto wellFormed = decodeBillingGroup(json(kCompleteBillingGroup), withoutStatus());
  EXPECT_THAT(wellFormed.errors, IsEmpty());
  EXPECT_EQ(wellFormed.value.status, domain::BillingGroupStatus{});
  EXPECT_EQ(wellFormed.value.spec.currency, "EUR");
}

TEST(DecodeBillingGroupTest, DefaultNamespaceFillsAnEmptyNamespace) {
  value object = json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {"name": "acme-web"},
    "spec": {"currency": 5}
  })");
  auto decoded = decodeBillingGroup(object, inNamespace("team-a"));
  EXPECT_EQ(decoded.value.metadata.ns, "team-a");
  EXPECT_EQ(decoded.value.key(), (ObjectKey{Kind::BillingGroup, "team-a", "acme-web"}));
  ASSERT_EQ(decoded.errors.size(), 1u);
  EXPECT_EQ(decoded.errors[0].object, (ObjectKey{Kind::BillingGroup, "team-a", "acme-web"}));
  EXPECT_THAT(decoded.errors[0].message, HasSubstr("BillingGroup team-a/acme-web field"));

  // Without the option the namespace stays empty.
  EXPECT_EQ(decodeBillingGroup(object).value.metadata.ns, "");
}

TEST(DecodeBillingGroupTest, DefaultNamespaceDoesNotOverrideAnExplicitOne) {
  auto decoded =
      decodeBillingGroup(billingGroupWithSpec(R"({"currency": "EUR"})"), inNamespace("team-a"));
  EXPECT_EQ(decoded.value.metadata.ns, "acme");
}

TEST(DecodeBillingGroupTest, OwnerReferenceWithoutUidIsRequired) {
  auto decoded = decodeBillingGroup(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "BillingGroup",
    "metadata": {
      "name": "acme-web",
      "namespace": "acme",
      "ownerReferences": [{"apiVersion": "billing.operator.dev/v1alpha1", "kind": "Project",
                           "name": "web"}]
    },
    "spec": {"currency": "EUR"}
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "metadata.ownerReferences[0].uid",
                                      HasSubstr("is required"))));
}

// ---------------------------------------------------------------------------------------------
// decodeProject

TEST(DecodeProjectTest, EveryFieldOfACompleteObjectLandsInTheValue) {
  auto decoded = decodeProject(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "Project",
    "metadata": {
      "name": "web",
      "namespace": "acme-web",
      "uid": "0b7d9a44-8f3e-4c21-a6b5-1e2f3a4b5c6d",
      "resourceVersion": "1207",
      "generation": 2,
      "labels": {"app.kubernetes.io/part-of": "shop"}
    },
    "spec": {
      "displayName": "Web shop",
      "billingGroupRef": {"name": "acme", "namespace": "acme-billing"},
      "tags": {"team": "web", "cost-centre": "4711"}
    },
    "status": {
      "organization": "acme",
      "billingGroup": {"name": "acme", "namespace": "acme-billing", "scope": "Organization"},
      "conditions": [{
        "type": "Ready",
        "status": "True",
        "reason": "Assigned",
        "message": "billed to acme-billing/acme",
        "observedGeneration": 2,
        "lastTransitionTime": "2026-11-01T10:00:00Z"
      }],
      "observedGeneration": 2
    }
  })"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  const domain::Project& project = decoded.value;
  EXPECT_EQ(project.key(), (ObjectKey{Kind::Project, "acme-web", "web"}));
  EXPECT_EQ(project.metadata.uid, "0b7d9a44-8f3e-4c21-a6b5-1e2f3a4b5c6d");
  EXPECT_EQ(project.metadata.resourceVersion, "1207");
  EXPECT_EQ(project.metadata.generation, 2);
  EXPECT_THAT(project.metadata.labels, ElementsAre(Pair("app.kubernetes.io/part-of", "shop")));
  EXPECT_EQ(project.spec.displayName, "Web shop");
  EXPECT_EQ(project.spec.billingGroupRef, (domain::BillingGroupReference{"acme", "acme-billing"}));
  EXPECT_THAT(project.spec.tags, ElementsAre(Pair("cost-centre", "4711"), Pair("team", "web")));
  EXPECT_EQ(project.status.organization, "acme");
  EXPECT_EQ(project.status.billingGroup, (domain::ProjectBillingGroupStatus{
                                             "acme", "acme-billing", domain::Scope::Organization}));
  EXPECT_THAT(project.status.conditions,
              ElementsAre(domain::Condition{"Ready", domain::ConditionStatus::True, "Assigned",
                                            "billed to acme-billing/acme", 2,
                                            at(2026y / November / 1, 10)}));
  EXPECT_EQ(project.status.observedGeneration, 2);
}

TEST(DecodeProjectTest, BillingGroupRefWithoutNamespaceMeansTheProjectsOwn) {
  auto decoded = decodeProject(projectWithSpec(R"({"billingGroupRef": {"name": "acme"}})"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value.spec.billingGroupRef, (domain::BillingGroupReference{"acme", ""}));
}

TEST(DecodeProjectTest, EmptySpecHasNoBillingGroupRef) {
  // R4: a project without a reference gets its own project billing group, so this is valid.
  auto decoded = decodeProject(projectWithSpec("{}"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_FALSE(decoded.value.spec.billingGroupRef.has_value());
  EXPECT_THAT(decoded.value.spec.tags, IsEmpty());
}

TEST(DecodeProjectTest, BillingGroupRefWithoutNameIsRequired) {
  auto decoded =
      decodeProject(projectWithSpec(R"({"billingGroupRef": {"namespace": "acme-billing"}})"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(
                                  Code::Required, "spec.billingGroupRef.name",
                                  "Project acme/web field spec.billingGroupRef.name is required")));
}

TEST(DecodeProjectTest, NonStringTagIsInvalidTypeWithAQuotingHint) {
  auto decoded =
      decodeProject(projectWithSpec(R"({"tags": {"team": true, "cost-centre": "4711"}})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::InvalidType, "spec.tags[team]",
                  AllOf(HasSubstr("field spec.tags[team] must be a string, got boolean"),
                        HasSubstr(R"(quote values such as "true" or "1")")))));
  EXPECT_THAT(decoded.value.spec.tags, ElementsAre(Pair("cost-centre", "4711")));
}

TEST(DecodeProjectTest, TagsThatAreAListAreInvalidType) {
  auto decoded = decodeProject(projectWithSpec(R"({"tags": ["team=web"]})"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(Code::InvalidType, "spec.tags",
                                                      HasSubstr("must be an object, got array"))));
}

TEST(DecodeProjectTest, UnknownFieldListsTheKnownFields) {
  auto decoded = decodeProject(projectWithSpec(R"({"billingGroup": "acme"})"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::UnknownField, "spec.billingGroup",
                  AllOf(HasSubstr("is not a field of Project"),
                        HasSubstr("known fields here are displayName, billingGroupRef, tags")))));
}

TEST(DecodeProjectTest, UnsupportedStatusScopeIsReported) {
  value object = projectWithSpec("{}");
  object["status"] = json(R"({"billingGroup": {"name": "acme", "scope": "Team"}})");
  auto decoded = decodeProject(object);
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::UnsupportedValue, "status.billingGroup.scope",
                                      HasSubstr("unsupported value \"Team\""))));
  EXPECT_THAT(decodeProject(object, withoutStatus()).errors, IsEmpty());
}

TEST(DecodeProjectTest, MissingSpecIsRequiredAndDefaultNamespaceNamesTheObject) {
  auto decoded = decodeProject(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "Project",
    "metadata": {"name": "web", "namespace": ""}
  })"),
                               inNamespace("acme-web"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "spec",
                                      "Project acme-web/web field spec is required")));
  EXPECT_EQ(decoded.errors[0].object, (ObjectKey{Kind::Project, "acme-web", "web"}));
}

// ---------------------------------------------------------------------------------------------
// decodeInvoice

TEST(DecodeInvoiceTest, EveryFieldOfACompleteObjectLandsInTheValue) {
  auto decoded = decodeInvoice(json(R"({
    "apiVersion": "billing.operator.dev/v1alpha1",
    "kind": "Invoice",
    "metadata": {
      "name": "acme-2026-10",
      "namespace": "acme",
      "ownerReferences": [{
        "apiVersion": "billing.operator.dev/v1alpha1",
        "kind": "BillingGroup",
        "name": "acme",
        "uid": "6f1c0e4e-2a51-4b7c-9d0e-5b1f3c2a7e01",
        "controller": true
      }]
    },
    "spec": {
      "billingGroupRef": {"name": "acme"},
      "periodStart": "2026-10-01T00:00:00Z",
      "periodEnd": "2026-11-01T01:00:00+01:00",
      "finalize": true
    },
    "status": {
      "number": "INV-2026-0042",
      "state": "Finalized",
      "currency": "EUR",
      "subtotal": "1250.00",
      "creditsApplied": "100.00",
      "total": "1150.00",
      "projectTotals": [
        {"project": "acme-web/web", "amount": "1000.00"},
        {"project": "acme-api/api", "amount": "250.00"}
      ],
      "periodStart": "2026-10-01T00:00:00Z",
      "periodEnd": "2026-11-01T00:00:00Z",
      "backendInvoiceId": "inv_01HZX3",
      "conditions": [{
        "type": "Ready",
        "status": "True",
        "reason": "Finalized",
        "message": "invoice INV-2026-0042 finalized",
        "observedGeneration": 1,
        "lastTransitionTime": "2026-11-01T00:05:00Z"
      }],
      "observedGeneration": 1
    }
  })"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  const domain::Invoice& invoice = decoded.value;
  EXPECT_EQ(invoice.key(), (ObjectKey{Kind::Invoice, "acme", "acme-2026-10"}));
  EXPECT_THAT(
      invoice.metadata.ownerReferences,
      ElementsAre(domain::OwnerReference{"billing.operator.dev/v1alpha1", "BillingGroup", "acme",
                                         "6f1c0e4e-2a51-4b7c-9d0e-5b1f3c2a7e01", true, false}));
  EXPECT_EQ(invoice.spec.billingGroupRef.name, "acme");
  EXPECT_EQ(invoice.spec.periodStart, at(2026y / October / 1));
  EXPECT_EQ(invoice.spec.periodEnd, at(2026y / November / 1));  // the offset is applied
  EXPECT_TRUE(invoice.spec.finalize);
  const domain::InvoiceStatus& status = invoice.status;
  EXPECT_EQ(status.number, "INV-2026-0042");
  EXPECT_EQ(status.state, domain::InvoiceState::Finalized);
  EXPECT_EQ(status.currency, "EUR");
  EXPECT_EQ(status.subtotal, "1250.00");
  EXPECT_EQ(status.creditsApplied, "100.00");
  EXPECT_EQ(status.total, "1150.00");
  EXPECT_THAT(status.projectTotals, ElementsAre(domain::ProjectTotal{"acme-web/web", "1000.00"},
                                                domain::ProjectTotal{"acme-api/api", "250.00"}));
  EXPECT_EQ(status.periodStart, at(2026y / October / 1));
  EXPECT_EQ(status.periodEnd, at(2026y / November / 1));
  EXPECT_EQ(status.backendInvoiceId, "inv_01HZX3");
  EXPECT_THAT(status.conditions,
              ElementsAre(domain::Condition{"Ready", domain::ConditionStatus::True, "Finalized",
                                            "invoice INV-2026-0042 finalized", 1,
                                            at(2026y / November / 1, 0, 5)}));
  EXPECT_EQ(status.observedGeneration, 1);
}

TEST(DecodeInvoiceTest, FinalizeDefaultsToFalse) {
  auto decoded = decodeInvoice(invoiceWithSpec(R"({
    "billingGroupRef": {"name": "acme"},
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": "2026-12-01T00:00:00Z"
  })"));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_FALSE(decoded.value.spec.finalize);
  EXPECT_EQ(decoded.value.status.state, std::nullopt);
}

TEST(DecodeInvoiceTest, EveryStateIsAccepted) {
  const std::pair<const char*, domain::InvoiceState> states[] = {
      {"Draft", domain::InvoiceState::Draft},
      {"Finalized", domain::InvoiceState::Finalized},
      {"Paid", domain::InvoiceState::Paid},
      {"Void", domain::InvoiceState::Void}};
  for (const auto& [name, state] : states) {
    value object = invoiceWithSpec(R"({
      "billingGroupRef": {"name": "acme"},
      "periodStart": "2026-11-01T00:00:00Z",
      "periodEnd": "2026-12-01T00:00:00Z"
    })");
    object["status"] = value::object();
    object["status"]["state"] = value::string(name);
    auto decoded = decodeInvoice(object);
    EXPECT_THAT(decoded.errors, IsEmpty()) << name;
    EXPECT_EQ(decoded.value.status.state, state) << name;
  }
}

TEST(DecodeInvoiceTest, UnsupportedStateListsTheSupportedValues) {
  value object = invoiceWithSpec(R"({
    "billingGroupRef": {"name": "acme"},
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": "2026-12-01T00:00:00Z"
  })");
  object["status"] = json(R"({"state": "Open"})");
  auto decoded = decodeInvoice(object);
  EXPECT_THAT(
      decoded.errors,
      ElementsAre(IsViolation(
          Code::UnsupportedValue, "status.state",
          AllOf(HasSubstr("unsupported value \"Open\""),
                HasSubstr(R"(supported values are "Draft", "Finalized", "Paid", "Void")")))));
}

TEST(DecodeInvoiceTest, MissingPeriodStartIsRequired) {
  auto decoded = decodeInvoice(invoiceWithSpec(R"({
    "billingGroupRef": {"name": "acme"},
    "periodEnd": "2026-12-01T00:00:00Z"
  })"));
  EXPECT_THAT(
      decoded.errors,
      ElementsAre(IsViolation(Code::Required, "spec.periodStart",
                              "Invoice acme/acme-web-2026-11 field spec.periodStart is required")));
  EXPECT_EQ(decoded.value.spec.periodEnd, at(2026y / December / 1));
}

TEST(DecodeInvoiceTest, MissingBillingGroupRefIsRequired) {
  auto decoded = decodeInvoice(invoiceWithSpec(R"({
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": "2026-12-01T00:00:00Z"
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::Required, "spec.billingGroupRef",
                                      HasSubstr("field spec.billingGroupRef is required"))));
}

TEST(DecodeInvoiceTest, BillingGroupRefOfTheWrongTypeIsOnlyInvalidType) {
  auto decoded = decodeInvoice(invoiceWithSpec(R"({
    "billingGroupRef": "acme",
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": "2026-12-01T00:00:00Z"
  })"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(Code::InvalidType, "spec.billingGroupRef",
                                                      HasSubstr("must be an object, got string"))));
}

TEST(DecodeInvoiceTest, BillingGroupRefWithANamespaceIsUnknownField) {
  // Invoices only refer to a group in their own namespace.
  auto decoded = decodeInvoice(invoiceWithSpec(R"({
    "billingGroupRef": {"name": "acme", "namespace": "other"},
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": "2026-12-01T00:00:00Z"
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::UnknownField, "spec.billingGroupRef.namespace",
                                      HasSubstr("known fields here are name"))));
  EXPECT_EQ(decoded.value.spec.billingGroupRef.name, "acme");
}

TEST(DecodeInvoiceTest, DateWithoutTimeIsInvalidValue) {
  auto decoded = decodeInvoice(invoiceWithSpec(R"({
    "billingGroupRef": {"name": "acme"},
    "periodStart": "2026-11-01",
    "periodEnd": "2026-12-01T00:00:00Z"
  })"));
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(
                  Code::InvalidValue, "spec.periodStart",
                  AllOf(HasSubstr(R"(field spec.periodStart "2026-11-01" is not an RFC 3339)"),
                        HasSubstr("write it like 2026-11-01T00:00:00Z")))));
  EXPECT_EQ(decoded.value.spec.periodStart, std::nullopt);
}

TEST(DecodeInvoiceTest, FinalizeThatIsAStringIsInvalidType) {
  auto decoded = decodeInvoice(invoiceWithSpec(R"({
    "billingGroupRef": {"name": "acme"},
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": "2026-12-01T00:00:00Z",
    "finalize": "yes"
  })"));
  EXPECT_THAT(decoded.errors, ElementsAre(IsViolation(Code::InvalidType, "spec.finalize",
                                                      HasSubstr("must be a boolean, got string"))));
  EXPECT_FALSE(decoded.value.spec.finalize);
}

TEST(DecodeInvoiceTest, ProjectTotalWithUnknownFieldIsReportedAtItsIndex) {
  value object = invoiceWithSpec(R"({
    "billingGroupRef": {"name": "acme"},
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": "2026-12-01T00:00:00Z"
  })");
  object["status"] = json(R"({
    "projectTotals": [{"project": "acme/web", "amount": "1.00"},
                      {"project": "acme/api", "amount": "2.00", "quantity": 3}]
  })");
  auto decoded = decodeInvoice(object);
  EXPECT_THAT(decoded.errors,
              ElementsAre(IsViolation(Code::UnknownField, "status.projectTotals[1].quantity",
                                      HasSubstr("known fields here are project, amount"))));
  EXPECT_THAT(decoded.value.status.projectTotals,
              ElementsAre(domain::ProjectTotal{"acme/web", "1.00"},
                          domain::ProjectTotal{"acme/api", "2.00"}));
}

// ---------------------------------------------------------------------------------------------
// encode

domain::BillingGroup fullBillingGroup() {
  domain::BillingGroup group;
  group.metadata.name = "acme-web";
  group.metadata.ns = "acme";
  group.metadata.uid = "6f1c0e4e-2a51-4b7c-9d0e-5b1f3c2a7e01";
  group.metadata.resourceVersion = "48213";
  group.metadata.generation = 3;
  group.metadata.labels = {{"team", "web"}, {"billing.operator.dev/tier", "gold"}};
  group.metadata.annotations = {{"note", "migrated from v0"}};
  group.metadata.ownerReferences = {{"billing.operator.dev/v1alpha1", "Project", "web",
                                     "0b7d9a44-8f3e-4c21-a6b5-1e2f3a4b5c6d", true, true}};
  group.metadata.finalizers = {"billing.operator.dev/final-invoice"};
  group.metadata.creationTimestamp = at(2026y / October / 1, 8, 30);
  group.metadata.deletionTimestamp = at(2026y / November / 15, 12);
  auto& spec = group.spec;
  spec.displayName = "ACME Web";
  spec.scope = domain::Scope::Project;
  spec.projectRef = domain::LocalObjectReference{"web"};
  spec.currency = "EUR";
  spec.billingEmails = {"billing@acme.example", "ap@acme.example"};
  spec.billingContactEmails = {"cfo@acme.example"};
  spec.company = "ACME GmbH";
  spec.address = domain::Address{{"Hauptstrasse 1", "3. OG"}, "Berlin", "BE", "10115", "DE"};
  spec.vatId = "DE123456789";
  spec.paymentMethod = domain::PaymentMethod{domain::PaymentMethodType::AchDebit,
                                             domain::SecretKeySelector{"acme-ach", "mandate"}};
  spec.invoiceText = "PO 4711";
  spec.invoicing.period = domain::InvoicingPeriod::Daily;
  spec.credits = {{"promo-2026", "100.00", "Launch promotion", at(2027y / January / 1)},
                  {"goodwill", "5.00", "", std::nullopt}};
  auto& status = group.status;
  status.organization = "acme";
  status.projectCount = 2;
  status.projects = {{"acme", "web"}, {"acme-api", "api"}};
  status.credits = "42.50";
  status.currentPeriod =
      domain::CurrentPeriod{at(2026y / November / 9), at(2026y / November / 10), "31.20"};
  status.lastInvoice =
      domain::InvoiceSummary{"acme-web-2026-11-08",  "INV-2026-0042", "2026-11-08T00:00:00Z",
                             "2026-11-09T00:00:00Z", "28.80",         "Paid"};
  status.conditions = {
      {"Ready", domain::ConditionStatus::True, "Reconciled", "ok", 3,
       at(2026y / November / 9, 0, 0, 5)},
      {"BackendSynced", domain::ConditionStatus::Unknown, "Pending", "", 2, std::nullopt}};
  status.observedGeneration = 3;
  return group;
}

domain::Project fullProject() {
  domain::Project project;
  project.metadata.name = "web";
  project.metadata.ns = "acme-web";
  project.metadata.uid = "0b7d9a44-8f3e-4c21-a6b5-1e2f3a4b5c6d";
  project.metadata.generation = 2;
  project.metadata.finalizers = {"billing.operator.dev/project"};
  project.metadata.creationTimestamp = at(2026y / September / 30, 17);
  project.spec.displayName = "Web shop";
  project.spec.billingGroupRef = domain::BillingGroupReference{"acme", "acme-billing"};
  project.spec.tags = {{"team", "web"}, {"cost-centre", "4711"}};
  project.status.organization = "acme";
  project.status.billingGroup =
      domain::ProjectBillingGroupStatus{"acme", "acme-billing", domain::Scope::Organization};
  project.status.conditions = {{"Ready", domain::ConditionStatus::False, "BillingGroupNotFound",
                                "billing group acme-billing/acme does not exist", 2,
                                at(2026y / November / 1, 10)}};
  project.status.observedGeneration = 2;
  return project;
}

domain::Invoice fullInvoice() {
  domain::Invoice invoice;
  invoice.metadata.name = "acme-2026-10";
  invoice.metadata.ns = "acme";
  invoice.metadata.labels = {{"billing.operator.dev/billing-group", "acme"}};
  invoice.metadata.ownerReferences = {{"billing.operator.dev/v1alpha1", "BillingGroup", "acme",
                                       "6f1c0e4e-2a51-4b7c-9d0e-5b1f3c2a7e01", false, true}};
  invoice.spec.billingGroupRef.name = "acme";
  invoice.spec.periodStart = at(2026y / October / 1);
  invoice.spec.periodEnd = at(2026y / November / 1);
  invoice.spec.finalize = true;
  auto& status = invoice.status;
  status.number = "INV-2026-0042";
  status.state = domain::InvoiceState::Void;
  status.currency = "EUR";
  status.subtotal = "1250.00";
  status.creditsApplied = "100.00";
  status.total = "1150.00";
  status.projectTotals = {{"acme-web/web", "1000.00"}, {"acme-api/api", "250.00"}};
  status.periodStart = at(2026y / October / 1);
  status.periodEnd = at(2026y / November / 1);
  status.backendInvoiceId = "inv_01HZX3";
  status.conditions = {{"Ready", domain::ConditionStatus::True, "Finalized", "finalized", 1,
                        at(2026y / November / 1, 0, 5)}};
  status.observedGeneration = 1;
  return invoice;
}

// Serializing and parsing again makes sure the encoding survives the trip over the wire.
value overTheWire(const value& object) { return value::parse(object.serialize()); }

TEST(EncodeTest, BillingGroupRoundTrips) {
  const domain::BillingGroup group = fullBillingGroup();
  auto decoded = decodeBillingGroup(overTheWire(encode(group)));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value, group);
}

TEST(EncodeTest, ProjectRoundTrips) {
  const domain::Project project = fullProject();
  auto decoded = decodeProject(overTheWire(encode(project)));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value, project);
}

TEST(EncodeTest, InvoiceRoundTrips) {
  const domain::Invoice invoice = fullInvoice();
  auto decoded = decodeInvoice(overTheWire(encode(invoice)));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value, invoice);
}

TEST(EncodeTest, NamespaceRoundTrips) {
  domain::Namespace ns;
  ns.metadata.name = "acme-web";
  ns.metadata.labels = {{std::string(domain::kOrganizationLabel), "acme"}};
  ns.metadata.uid = "9d2e1f00-0000-4000-8000-000000000001";
  value encoded = encode(ns);
  EXPECT_EQ(encoded.at("apiVersion").as_string(), "v1");
  EXPECT_EQ(encoded.at("kind").as_string(), "Namespace");
  EXPECT_FALSE(encoded.at("metadata").has_field("namespace"));
  auto decoded = decodeNamespace(overTheWire(encoded));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value, ns);
  EXPECT_EQ(domain::organizationOf(decoded.value), "acme");
}

TEST(EncodeTest, MinimalValuesRoundTripWithTheirDefaults) {
  domain::BillingGroup group;
  group.metadata.name = "acme";
  group.metadata.ns = "acme";
  group.spec.currency = "JPY";
  auto decodedGroup = decodeBillingGroup(overTheWire(encode(group)));
  EXPECT_THAT(decodedGroup.errors, IsEmpty());
  EXPECT_EQ(decodedGroup.value, group);

  domain::Project project;
  project.metadata.name = "web";
  project.metadata.ns = "acme";
  auto decodedProject = decodeProject(overTheWire(encode(project)));
  EXPECT_THAT(decodedProject.errors, IsEmpty());
  EXPECT_EQ(decodedProject.value, project);
}

TEST(EncodeTest, SetsApiVersionAndKind) {
  const std::pair<value, const char*> objects[] = {{encode(fullBillingGroup()), "BillingGroup"},
                                                   {encode(fullProject()), "Project"},
                                                   {encode(fullInvoice()), "Invoice"}};
  for (const auto& [object, kind] : objects) {
    EXPECT_EQ(object.at("apiVersion").as_string(), "billing.operator.dev/v1alpha1") << kind;
    EXPECT_EQ(object.at("kind").as_string(), kind);
    ObjectType type = classify(object);
    EXPECT_EQ(type.category, ObjectType::Category::Billing) << kind;
    EXPECT_EQ(type.kindName, kind);
  }
}

TEST(EncodeTest, OmitsEmptyOptionalFields) {
  domain::BillingGroup group;
  group.metadata.name = "acme";
  group.metadata.ns = "acme";
  group.spec.currency = "EUR";
  value encoded = encode(group);
  const value& spec = encoded.at("spec");
  for (const char* field :
       {"displayName", "projectRef", "billingEmails", "billingContactEmails", "company", "address",
        "vatId", "paymentMethod", "invoiceText", "credits"}) {
    EXPECT_FALSE(spec.has_field(field)) << field << " in " << spec.serialize();
  }
  EXPECT_EQ(spec.at("currency").as_string(), "EUR");
  const value& meta = encoded.at("metadata");
  for (const char* field :
       {"uid", "resourceVersion", "generation", "labels", "annotations", "ownerReferences",
        "finalizers", "creationTimestamp", "deletionTimestamp"}) {
    EXPECT_FALSE(meta.has_field(field)) << field << " in " << meta.serialize();
  }
  EXPECT_EQ(meta.at("name").as_string(), "acme");
  EXPECT_EQ(meta.at("namespace").as_string(), "acme");
  for (const char* field : {"organization", "credits", "currentPeriod", "lastInvoice"}) {
    EXPECT_FALSE(encoded.at("status").has_field(field)) << field;
  }

  // Inside nested objects too: a secretRef-less method, an address with only a country.
  group.spec.paymentMethod = domain::PaymentMethod{domain::PaymentMethodType::BankTransfer, {}};
  group.spec.address = domain::Address{{}, "", "", "", "DE"};
  value nested = encode(group).at("spec");
  EXPECT_FALSE(nested.at("paymentMethod").has_field("secretRef"));
  EXPECT_EQ(nested.at("paymentMethod").at("type").as_string(), "BankTransfer");
  EXPECT_EQ(nested.at("address").serialize(), R"({"countryCode":"DE"})");

  domain::Project project;
  project.metadata.name = "web";
  project.spec.billingGroupRef = domain::BillingGroupReference{"acme", ""};
  value projectSpec = encode(project).at("spec");
  EXPECT_EQ(projectSpec.at("billingGroupRef").serialize(), R"({"name":"acme"})");
  EXPECT_FALSE(projectSpec.has_field("tags"));
  EXPECT_FALSE(projectSpec.has_field("displayName"));
}

TEST(EncodeTest, WritesEnumsAndTimestampsAsTheCrdsSpellThem) {
  value group = encode(fullBillingGroup());
  const value& spec = group.at("spec");
  EXPECT_EQ(spec.at("scope").as_string(), "Project");
  EXPECT_EQ(spec.at("invoicing").at("period").as_string(), "Daily");
  EXPECT_EQ(spec.at("paymentMethod").at("type").as_string(), "AchDebit");
  EXPECT_EQ(spec.at("paymentMethod").at("secretRef").at("key").as_string(), "mandate");
  EXPECT_EQ(spec.at("credits").at(0).at("expiresAt").as_string(), "2027-01-01T00:00:00Z");
  EXPECT_FALSE(spec.at("credits").at(1).has_field("expiresAt"));
  EXPECT_EQ(group.at("metadata").at("creationTimestamp").as_string(), "2026-10-01T08:30:00Z");
  EXPECT_EQ(group.at("metadata").at("generation").as_integer(), 3);
  const value& owner = group.at("metadata").at("ownerReferences").at(0);
  EXPECT_EQ(owner.at("uid").as_string(), "0b7d9a44-8f3e-4c21-a6b5-1e2f3a4b5c6d");
  EXPECT_TRUE(owner.at("controller").as_bool());
  EXPECT_TRUE(owner.at("blockOwnerDeletion").as_bool());

  value invoice = encode(fullInvoice());
  EXPECT_EQ(invoice.at("spec").at("periodStart").as_string(), "2026-10-01T00:00:00Z");
  EXPECT_EQ(invoice.at("spec").at("billingGroupRef").at("name").as_string(), "acme");
  EXPECT_TRUE(invoice.at("spec").at("finalize").as_bool());
}

TEST(EncodeTest, BillingGroupStatusUsesTheCrdFieldNames) {
  value status = encodeStatus(fullBillingGroup().status);
  EXPECT_EQ(status.at("organization").as_string(), "acme");
  EXPECT_EQ(status.at("projectCount").as_integer(), 2);
  ASSERT_EQ(status.at("projects").size(), 2u);
  EXPECT_EQ(status.at("projects").at(1).at("namespace").as_string(), "acme-api");
  EXPECT_EQ(status.at("projects").at(1).at("name").as_string(), "api");
  EXPECT_EQ(status.at("credits").as_string(), "42.50");
  EXPECT_EQ(status.at("currentPeriod").at("start").as_string(), "2026-11-09T00:00:00Z");
  EXPECT_EQ(status.at("currentPeriod").at("end").as_string(), "2026-11-10T00:00:00Z");
  EXPECT_EQ(status.at("currentPeriod").at("estimatedTotal").as_string(), "31.20");
  const value& last = status.at("lastInvoice");
  EXPECT_EQ(last.at("name").as_string(), "acme-web-2026-11-08");
  EXPECT_EQ(last.at("number").as_string(), "INV-2026-0042");
  EXPECT_EQ(last.at("periodStart").as_string(), "2026-11-08T00:00:00Z");
  EXPECT_EQ(last.at("periodEnd").as_string(), "2026-11-09T00:00:00Z");
  EXPECT_EQ(last.at("total").as_string(), "28.80");
  EXPECT_EQ(last.at("state").as_string(), "Paid");
  const value& ready = status.at("conditions").at(0);
  EXPECT_EQ(ready.at("type").as_string(), "Ready");
  EXPECT_EQ(ready.at("status").as_string(), "True");
  EXPECT_EQ(ready.at("reason").as_string(), "Reconciled");
  EXPECT_EQ(ready.at("message").as_string(), "ok");
  EXPECT_EQ(ready.at("observedGeneration").as_integer(), 3);
  EXPECT_EQ(ready.at("lastTransitionTime").as_string(), "2026-11-09T00:00:05Z");
  EXPECT_EQ(status.at("conditions").at(1).at("status").as_string(), "Unknown");
  EXPECT_EQ(status.at("observedGeneration").as_integer(), 3);
  // Counts and lists are written even when empty: a group whose last project left shows 0.
  value empty = encodeStatus(domain::BillingGroupStatus{});
  EXPECT_EQ(empty.at("projectCount").as_integer(), 0);
  EXPECT_EQ(empty.at("projects").size(), 0u);
}

TEST(EncodeTest, ProjectStatusUsesTheCrdFieldNames) {
  value status = encodeStatus(fullProject().status);
  EXPECT_EQ(status.at("organization").as_string(), "acme");
  EXPECT_EQ(status.at("billingGroup").at("name").as_string(), "acme");
  EXPECT_EQ(status.at("billingGroup").at("namespace").as_string(), "acme-billing");
  EXPECT_EQ(status.at("billingGroup").at("scope").as_string(), "Organization");
  EXPECT_EQ(status.at("conditions").at(0).at("reason").as_string(), "BillingGroupNotFound");
  EXPECT_EQ(status.at("conditions").at(0).at("status").as_string(), "False");
  EXPECT_EQ(status.at("observedGeneration").as_integer(), 2);

  domain::ProjectStatus unassigned;
  EXPECT_FALSE(encodeStatus(unassigned).has_field("billingGroup"));
}

TEST(EncodeTest, InvoiceStatusUsesTheCrdFieldNames) {
  value status = encodeStatus(fullInvoice().status);
  EXPECT_EQ(status.at("number").as_string(), "INV-2026-0042");
  EXPECT_EQ(status.at("state").as_string(), "Void");
  EXPECT_EQ(status.at("currency").as_string(), "EUR");
  EXPECT_EQ(status.at("subtotal").as_string(), "1250.00");
  EXPECT_EQ(status.at("creditsApplied").as_string(), "100.00");
  EXPECT_EQ(status.at("total").as_string(), "1150.00");
  ASSERT_EQ(status.at("projectTotals").size(), 2u);
  EXPECT_EQ(status.at("projectTotals").at(0).at("project").as_string(), "acme-web/web");
  EXPECT_EQ(status.at("projectTotals").at(0).at("amount").as_string(), "1000.00");
  EXPECT_EQ(status.at("projectTotals").at(1).at("amount").as_string(), "250.00");
  EXPECT_EQ(status.at("periodStart").as_string(), "2026-10-01T00:00:00Z");
  EXPECT_EQ(status.at("periodEnd").as_string(), "2026-11-01T00:00:00Z");
  EXPECT_EQ(status.at("backendInvoiceId").as_string(), "inv_01HZX3");
  EXPECT_EQ(status.at("observedGeneration").as_integer(), 1);

  value draft = encodeStatus(domain::InvoiceStatus{});
  for (const char* field : {"number", "state", "currency", "total", "projectTotals", "periodStart",
                            "backendInvoiceId"}) {
    EXPECT_FALSE(draft.has_field(field)) << field;
  }
}

TEST(EncodeTest, EncodedStatusDecodesBackToTheSameValue) {
  const domain::Invoice invoice = fullInvoice();
  value object = encode(invoice);
  object["status"] = encodeStatus(invoice.status);
  auto decoded = decodeInvoice(overTheWire(object));
  EXPECT_THAT(decoded.errors, IsEmpty());
  EXPECT_EQ(decoded.value.status, invoice.status);
}

}  // namespace
}  // namespace billing::codec
