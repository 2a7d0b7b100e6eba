// Plain value types for the billing.operator.dev/v1alpha1 resources and the organization facts of
// Namespaces. No I/O and no JSON here: reconcilers/codec converts these from and to Kubernetes
// objects, so the rules in rules.h can be unit-tested over plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/domain/time.h"

namespace billing::domain {

inline constexpr std::string_view kGroup = "billing.operator.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "billing.operator.dev/v1alpha1";

// R10: the organization of everything in a Namespace is this label's value on the Namespace.
inline constexpr std::string_view kOrganizationLabel = "billing.operator.dev/organization";

// Set by the operator on the project billing group it creates for a project without a
// billingGroupRef (R4). It stays when the group is moved to Organization scope (R5), so the
// project keeps using its former own group without having to name it.
inline constexpr std::string_view kDefaultGroupOfAnnotation =
    "billing.operator.dev/default-group-of";

enum class Kind { Namespace, BillingGroup, Project, Invoice };
std::string_view kindName(Kind kind);

// Identifies one object. `ns` is empty for cluster-scoped kinds (Namespace).
struct ObjectKey {
  Kind kind = Kind::BillingGroup;
  std::string ns;
  std::string name;

  // "acme-web/web", or "acme-web" for a Namespace.
  std::string display() const;
  friend auto operator<=>(const ObjectKey&, const ObjectKey&) = default;
};

struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  bool blockOwnerDeletion = false;
  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};

// The subset of metav1.ObjectMeta the domain reasons about.
struct ObjectMeta {
  std::string name;
  std::string ns;
  std::string uid;
  std::string resourceVersion;
  std::int64_t generation = 0;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<OwnerReference> ownerReferences;
  std::vector<std::string> finalizers;
  std::optional<Timestamp> creationTimestamp;
  std::optional<Timestamp> deletionTimestamp;
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

enum class ConditionStatus { True, False, Unknown };
std::string_view conditionStatusName(ConditionStatus status);

// A condition as the Kubernetes API conventions define it (metav1.Condition).
struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::Unknown;
  std::string reason;
  std::string message;
  std::int64_t observedGeneration = 0;
  std::optional<Timestamp> lastTransitionTime;
  friend bool operator==(const Condition&, const Condition&) = default;
};

struct Namespace {
  ObjectMeta metadata;
  // False when the namespace is only known by name (offline checks of a folder that does not
  // declare it): it then counts as unlabelled, its own organization.
  bool declared = true;
  friend bool operator==(const Namespace&, const Namespace&) = default;
};

// R10: the organization named by a namespace; a namespace without the label is its own.
std::string organizationOf(const Namespace& ns);

// ---- BillingGroup ----

enum class Scope { Organization, Project };
std::string_view scopeName(Scope scope);

enum class InvoicingPeriod { Monthly, Weekly, Daily };
std::string_view invoicingPeriodName(InvoicingPeriod period);

// Payment method kinds. Card and direct debits need a Secret holding the token or mandate (R8).
enum class PaymentMethodType { Card, SepaDebit, AchDebit, BankTransfer };
std::string_view paymentMethodTypeName(PaymentMethodType type);
bool paymentMethodNeedsSecret(PaymentMethodType type);

struct LocalObjectReference {
  std::string name;
  friend bool operator==(const LocalObjectReference&, const LocalObjectReference&) = default;
};

struct SecretKeySelector {
  std::string name;
  std::string key;
  friend bool operator==(const SecretKeySelector&, const SecretKeySelector&) = default;
};

struct PaymentMethod {
  PaymentMethodType type = PaymentMethodType::BankTransfer;
  std::optional<SecretKeySelector> secretRef;
  friend bool operator==(const PaymentMethod&, const PaymentMethod&) = default;
};

struct Address {
  std::vector<std::string> lines;
  std::string city;
  std::string state;
  std::string zipCode;
  std::string countryCode;
  friend bool operator==(const Address&, const Address&) = default;
};

// A prepaid or promotional credit granted to an organization group (R2). The id makes the
// grant idempotent at the backend; the amount is a decimal string in the group's currency.
struct CreditGrant {
  std::string id;
  std::string amount;
  std::string description;
  std::optional<Timestamp> expiresAt;
  friend bool operator==(const CreditGrant&, const CreditGrant&) = default;
};

struct Invoicing {
  InvoicingPeriod period = InvoicingPeriod::Monthly;
  friend bool operator==(const Invoicing&, const Invoicing&) = default;
};

struct BillingGroupSpec {
  std::string displayName;
  Scope scope = Scope::Organization;
  std::optional<LocalObjectReference> projectRef;
  std::string currency;
  std::vector<std::string> billingEmails;
  std::vector<std::string> billingContactEmails;
  std::string company;
  std::optional<Address> address;
  std::string vatId;
  std::optional<PaymentMethod> paymentMethod;
  std::string invoiceText;
  Invoicing invoicing;
  std::vector<CreditGrant> credits;
  friend bool operator==(const BillingGroupSpec&, const BillingGroupSpec&) = default;
};

struct NamespacedName {
  std::string ns;
  std::string name;
  friend auto operator<=>(const NamespacedName&, const NamespacedName&) = default;
};

struct InvoiceSummary {
  std::string name;
  std::string number;
  std::string periodStart;
  std::string periodEnd;
  std::string total;
  std::string state;
  friend bool operator==(const InvoiceSummary&, const InvoiceSummary&) = default;
};

struct CurrentPeriod {
  std::optional<Timestamp> start;
  std::optional<Timestamp> end;
  std::string estimatedTotal;
  friend bool operator==(const CurrentPeriod&, const CurrentPeriod&) = default;
};

struct BillingGroupStatus {
  std::string organization;
  std::int64_t projectCount = 0;
  std::vector<NamespacedName> projects;
  std::string credits;  // remaining balance, decimal string; organization groups only
  std::optional<CurrentPeriod> currentPeriod;
  std::optional<InvoiceSummary> lastInvoice;
  std::vector<Condition> conditions;
  std::int64_t observedGeneration = 0;
  friend bool operator==(const BillingGroupStatus&, const BillingGroupStatus&) = default;
};

struct BillingGroup {
  ObjectMeta metadata;
  BillingGroupSpec spec;
  BillingGroupStatus status;
  ObjectKey key() const { return {Kind::BillingGroup, metadata.ns, metadata.name}; }
  friend bool operator==(const BillingGroup&, const BillingGroup&) = default;
};

// ---- Project ----

struct BillingGroupReference {
  std::string name;
  std::string ns;  // empty: the project's own namespace
  friend bool operator==(const BillingGroupReference&, const BillingGroupReference&) = default;
};

struct ProjectSpec {
  std::string displayName;
  std::optional<BillingGroupReference> billingGroupRef;
  std::map<std::string, std::string> tags;
  friend bool operator==(const ProjectSpec&, const ProjectSpec&) = default;
};

struct ProjectBillingGroupStatus {
  std::string name;
  std::string ns;
  std::optional<Scope> scope;
  friend bool operator==(const ProjectBillingGroupStatus&,
                         const ProjectBillingGroupStatus&) = default;
};

struct ProjectStatus {
  std::string organization;
  std::optional<ProjectBillingGroupStatus> billingGroup;
  std::vector<Condition> conditions;
  std::int64_t observedGeneration = 0;
  friend bool operator==(const ProjectStatus&, const ProjectStatus&) = default;
};

struct Project {
  ObjectMeta metadata;
  ProjectSpec spec;
  ProjectStatus status;
  ObjectKey key() const { return {Kind::Project, metadata.ns, metadata.name}; }
  friend bool operator==(const Project&, const Project&) = default;
};

// ---- Invoice ----

enum class InvoiceState { Draft, Finalized, Paid, Void };
std::string_view invoiceStateName(InvoiceState state);

struct InvoiceSpec {
  LocalObjectReference billingGroupRef;
  std::optional<Timestamp> periodStart;
  std::optional<Timestamp> periodEnd;
  bool finalize = false;
  friend bool operator==(const InvoiceSpec&, const InvoiceSpec&) = default;
};

struct ProjectTotal {
  std::string project;  // "namespace/name"
  std::string amount;   // decimal string in the invoice currency
  friend bool operator==(const ProjectTotal&, const ProjectTotal&) = default;
};

struct InvoiceStatus {
  std::string number;
  std::optional<InvoiceState> state;
  std::string currency;
  std::string subtotal;
  std::string creditsApplied;
  std::string total;
  std::vector<ProjectTotal> projectTotals;
  std::optional<Timestamp> periodStart;
  std::optional<Timestamp> periodEnd;
  std::string backendInvoiceId;
  std::vector<Condition> conditions;
  std::int64_t observedGeneration = 0;
  friend bool operator==(const InvoiceStatus&, const InvoiceStatus&) = default;
};

struct Invoice {
  ObjectMeta metadata;
  InvoiceSpec spec;
  InvoiceStatus status;
  ObjectKey key() const { return {Kind::Invoice, metadata.ns, metadata.name}; }
  friend bool operator==(const Invoice&, const Invoice&) = default;
};

// Everything the rules look at, as seen at one instant: a cluster's informer caches, or the
// objects of a GitOps folder. Order does not matter; duplicates are reported, not assumed away.
struct Snapshot {
  std::vector<Namespace> namespaces;
  std::vector<BillingGroup> billingGroups;
  std::vector<Project> projects;
  std::vector<Invoice> invoices;
};

}  // namespace billing::domain
