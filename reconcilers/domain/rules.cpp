#include "reconcilers/domain/rules.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "reconcilers/domain/currency.h"
#include "reconcilers/domain/formats.h"
#include "reconcilers/domain/invoicing.h"
#include "reconcilers/domain/money.h"
#include "reconcilers/domain/period.h"

namespace billing::domain {
namespace {

constexpr std::string_view kDefaultGroupSuffix = "-billing";

Violation makeViolation(Code code, const ObjectKey& object, std::string field, std::string message,
                        Severity severity = Severity::Error) {
  return Violation{code, severity, object, std::move(field), std::move(message)};
}

// "Project acme-web/web (organization acme)": how every message names an object.
std::string named(const ObjectKey& key, const std::string& organization) {
  return std::string(kindName(key.kind)) + " " + key.display() + " (organization " + organization +
         ")";
}

std::string groupNamed(const SnapshotIndex& index, std::string_view ns, std::string_view name) {
  return "billing group " + std::string(ns) + "/" + std::string(name) + " (organization " +
         index.organizationOf(ns) + ")";
}

std::string joinKeys(const std::vector<const Project*>& projects) {
  std::string out;
  for (const Project* p : projects) {
    if (!out.empty()) out += ", ";
    out += p->metadata.ns + "/" + p->metadata.name;
  }
  return out;
}

// Shared by every kind: names and the tenancy label (R10).
void checkMetadata(const SnapshotIndex& index, const ObjectKey& key, const ObjectMeta& meta,
                   std::vector<Violation>& out) {
  if (!isDnsSubdomain(meta.name)) {
    out.push_back(makeViolation(
        Code::InvalidName, key, "metadata.name",
        std::string(kindName(key.kind)) + " name \"" + meta.name +
            "\" is not a valid Kubernetes name: use at most 253 lowercase letters, digits, '-' "
            "and '.', starting and ending with a letter or digit"));
  }
  auto label = meta.labels.find(std::string(kOrganizationLabel));
  if (label == meta.labels.end()) return;
  std::string organization = index.organizationOf(meta.ns);
  if (label->second != organization) {
    out.push_back(makeViolation(
        Code::OrganizationLabelMismatch, key,
        "metadata.labels[" + std::string(kOrganizationLabel) + "]",
        named(key, organization) + " carries label " + std::string(kOrganizationLabel) + "=" +
            label->second + ": the organization is decided by the label on Namespace " + meta.ns +
            ", which cluster administrators own; remove the label from the object"));
  }
}

void checkNamespace(const Namespace& ns, std::vector<Violation>& out) {
  ObjectKey key{Kind::Namespace, "", ns.metadata.name};
  auto label = ns.metadata.labels.find(std::string(kOrganizationLabel));
  if (label == ns.metadata.labels.end()) return;
  if (label->second.empty()) {
    out.push_back(makeViolation(
        Code::InvalidOrganizationLabel, key,
        "metadata.labels[" + std::string(kOrganizationLabel) + "]",
        "Namespace " + ns.metadata.name + " has an empty " + std::string(kOrganizationLabel) +
            " label, so it counts as its own organization \"" + ns.metadata.name +
            "\"; set the organization's name or remove the label",
        Severity::Warning));
  } else if (!isLabelValue(label->second)) {
    out.push_back(makeViolation(
        Code::InvalidOrganizationLabel, key,
        "metadata.labels[" + std::string(kOrganizationLabel) + "]",
        "Namespace " + ns.metadata.name + " label " + std::string(kOrganizationLabel) + "=\"" +
            label->second +
            "\" is not a valid label value: use at most 63 letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"));
  }
}

// R8: card numbers and IBANs have no place in a custom resource; they belong in a Secret.
void checkNoSecret(const ObjectKey& key, const std::string& field, const std::string& value,
                   std::vector<Violation>& out) {
  // IBANs first: their mod-97 check is far stricter than Luhn, which some digit run of an IBAN
  // often passes by chance.
  const char* what = containsIban(value)         ? "an IBAN"
                     : containsCardNumber(value) ? "a payment card number"
                                                 : nullptr;
  if (what == nullptr) return;
  out.push_back(
      makeViolation(Code::SecretInSpec, key, field,
                    std::string(kindName(key.kind)) + " " + key.display() + " field " + field +
                        " appears to contain " + what +
                        ": payment secrets must live in a Kubernetes Secret referenced by "
                        "spec.paymentMethod.secretRef, never in a custom resource"));
}

void checkBillingProfile(const BillingGroup& group, std::vector<Violation>& out) {
  const ObjectKey key = group.key();
  const BillingGroupSpec& spec = group.spec;
  const std::string who = "BillingGroup " + key.display();

  // An empty currency is the schema's Required error; do not report it twice.
  if (!spec.currency.empty() && !findCurrency(spec.currency)) {
    out.push_back(makeViolation(Code::InvalidCurrency, key, "spec.currency",
                                who + " currency \"" + spec.currency +
                                    "\" is not an active ISO 4217 code: use a code such as "
                                    "\"EUR\", \"USD\" or \"JPY\""));
  }
  auto checkEmails = [&](const std::vector<std::string>& emails, const std::string& field) {
    for (std::size_t i = 0; i < emails.size(); ++i) {
      if (isEmailAddress(emails[i])) continue;
      std::string path = field + "[" + std::to_string(i) + "]";
      out.push_back(makeViolation(Code::InvalidEmail, key, path,
                                  who + " " + path + " \"" + emails[i] +
                                      "\" is not an e-mail address: write it as name@example.com"));
    }
  };
  checkEmails(spec.billingEmails, "spec.billingEmails");
  checkEmails(spec.billingContactEmails, "spec.billingContactEmails");

  if (spec.address && !spec.address->countryCode.empty() &&
      !isCountryCode(spec.address->countryCode)) {
    out.push_back(makeViolation(Code::InvalidCountryCode, key, "spec.address.countryCode",
                                who + " country code \"" + spec.address->countryCode +
                                    "\" is not an ISO 3166-1 alpha-2 code: use two capital "
                                    "letters such as \"DE\" or \"US\""));
  }

  if (spec.paymentMethod && paymentMethodNeedsSecret(spec.paymentMethod->type) &&
      !spec.paymentMethod->secretRef) {
    out.push_back(makeViolation(
        Code::PaymentSecretRefMissing, key, "spec.paymentMethod.secretRef",
        who + " pays by " + std::string(paymentMethodTypeName(spec.paymentMethod->type)) +
            " but names no Secret: set spec.paymentMethod.secretRef{name,key} to the Secret "
            "holding the payment token"));
  }

  checkNoSecret(key, "spec.displayName", spec.displayName, out);
  checkNoSecret(key, "spec.company", spec.company, out);
  checkNoSecret(key, "spec.vatId", spec.vatId, out);
  checkNoSecret(key, "spec.invoiceText", spec.invoiceText, out);
  if (spec.address) {
    for (std::size_t i = 0; i < spec.address->lines.size(); ++i) {
      checkNoSecret(key, "spec.address.lines[" + std::to_string(i) + "]", spec.address->lines[i],
                    out);
    }
    checkNoSecret(key, "spec.address.city", spec.address->city, out);
    checkNoSecret(key, "spec.address.state", spec.address->state, out);
    checkNoSecret(key, "spec.address.zipCode", spec.address->zipCode, out);
  }
}

void checkCredits(const SnapshotIndex& index, const BillingGroup& group,
                  std::vector<Violation>& out) {
  const ObjectKey key = group.key();
  if (group.spec.credits.empty()) return;
  if (group.spec.scope == Scope::Project) {
    out.push_back(makeViolation(
        Code::CreditsOnProjectGroup, key, "spec.credits",
        named(key, index.organizationOf(key.ns)) +
            " has scope Project but grants credits: credits exist only on organization billing "
            "groups; move them to an Organization group or change this group's scope"));
  }
  auto currency = findCurrency(group.spec.currency);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < group.spec.credits.size(); ++i) {
    const CreditGrant& grant = group.spec.credits[i];
    std::string path = "spec.credits[" + std::to_string(i) + "]";
    if (!ids.insert(grant.id).second) {
      out.push_back(makeViolation(Code::InvalidValue, key, path + ".id",
                                  "BillingGroup " + key.display() + " grants credit \"" + grant.id +
                                      "\" twice: credit ids must be unique within a group"));
    }
    if (!currency) continue;  // already reported as InvalidCurrency
    auto amount = parseMoney(grant.amount, *currency);
    if (!amount) {
      out.push_back(makeViolation(Code::InvalidCreditAmount, key, path + ".amount",
                                  "BillingGroup " + key.display() + " credit \"" + grant.id +
                                      "\" amount \"" + grant.amount + "\" is not a valid " +
                                      std::string(currency->code) + " amount: " + amount.error()));
    } else if (amount->minorUnits <= 0) {
      out.push_back(makeViolation(Code::InvalidCreditAmount, key, path + ".amount",
                                  "BillingGroup " + key.display() + " credit \"" + grant.id +
                                      "\" amount must be positive, got \"" + grant.amount + "\""));
    }
  }
}

// R3 and R5 from the group's side.
void checkScope(const SnapshotIndex& index, const BillingGroup& group,
                std::vector<Violation>& out) {
  const ObjectKey key = group.key();
  const std::string organization = index.organizationOf(key.ns);
  if (group.spec.scope == Scope::Organization) {
    if (group.spec.projectRef) {
      out.push_back(makeViolation(
          Code::ProjectRefOnOrganizationGroup, key, "spec.projectRef",
          named(key, organization) + " has scope Organization but names project " +
              group.spec.projectRef->name +
              " in spec.projectRef: only Project-scope groups are bound to a project; remove "
              "spec.projectRef or set spec.scope to Project"));
    }
    for (const OwnerReference& owner : ownerReferencesToRelease(group)) {
      out.push_back(makeViolation(
          Code::OwnerReferenceOnOrganizationGroup, key, "metadata.ownerReferences",
          named(key, organization) + " has scope Organization but is still owned by Project " +
              owner.name +
              ": the operator releases this owner reference so the group survives the project",
          Severity::Warning));
    }
    return;
  }

  if (!group.spec.projectRef || group.spec.projectRef->name.empty()) {
    out.push_back(makeViolation(Code::ProjectRefMissing, key, "spec.projectRef.name",
                                named(key, organization) +
                                    " has scope Project but names no project: set "
                                    "spec.projectRef.name to the project it bills"));
    return;
  }
  const std::string& projectName = group.spec.projectRef->name;
  const Project* project = index.findProject(key.ns, projectName);
  if (project == nullptr) {
    out.push_back(makeViolation(
        Code::ProjectNotFound, key, "spec.projectRef.name",
        named(key, organization) + " is bound to project " + key.ns + "/" + projectName +
            ", which does not exist: a project billing group serves one project of its own "
            "namespace; create the Project or fix spec.projectRef.name"));
    return;
  }
  auto bound = index.groupsBoundTo(key.ns, projectName);
  if (bound.size() > 1 && bound.front() != &group) {
    out.push_back(makeViolation(
        Code::DuplicateProjectGroup, key, "spec.projectRef.name",
        named(key, organization) + " is a second project billing group for project " + key.ns +
            "/" + projectName + " (already served by " + bound.front()->metadata.name +
            "): a project has at most one project billing group"));
    return;
  }
  const auto& ref = project->spec.billingGroupRef;
  if (ref && (ref->name != group.metadata.name || (!ref->ns.empty() && ref->ns != key.ns))) {
    std::string refNs = ref->ns.empty() ? key.ns : ref->ns;
    out.push_back(makeViolation(
        Code::ProjectGroupUnused, key, "spec.projectRef.name",
        named(key, organization) + " is bound to project " + key.ns + "/" + projectName +
            ", but that project uses billing group " + refNs + "/" + ref->name +
            ": the group bills nothing; delete it or point the project at it",
        Severity::Warning));
  }
}

void checkBillingGroup(const SnapshotIndex& index, const BillingGroup& group,
                       std::vector<Violation>& out) {
  checkMetadata(index, group.key(), group.metadata, out);
  checkBillingProfile(group, out);
  checkCredits(index, group, out);
  checkScope(index, group, out);
}

void checkProject(const SnapshotIndex& index, const Project& project, std::vector<Violation>& out) {
  checkMetadata(index, project.key(), project.metadata, out);
  checkNoSecret(project.key(), "spec.displayName", project.spec.displayName, out);
  for (const auto& [tag, value] : project.spec.tags) {
    checkNoSecret(project.key(), "spec.tags[" + tag + "]", value, out);
  }
  auto membership = resolveMembership(index, project);
  if (!membership) out.push_back(membership.error());
}

void checkInvoice(const SnapshotIndex& index, const Invoice& invoice, const RuleOptions& options,
                  std::vector<Violation>& out) {
  const ObjectKey key = invoice.key();
  checkMetadata(index, key, invoice.metadata, out);
  const std::string who = "Invoice " + key.display();
  const auto& spec = invoice.spec;
  const BillingGroup* group = index.findBillingGroup(key.ns, spec.billingGroupRef.name);
  if (group == nullptr) {
    out.push_back(makeViolation(Code::BillingGroupNotFound, key, "spec.billingGroupRef.name",
                                who + " is for billing group " + key.ns + "/" +
                                    spec.billingGroupRef.name +
                                    ", which does not exist: an invoice belongs to a billing "
                                    "group of its own namespace"));
  }
  if (!spec.periodStart || !spec.periodEnd) return;  // the codec reports missing fields
  Interval period{*spec.periodStart, *spec.periodEnd};
  if (period.empty()) {
    out.push_back(makeViolation(Code::InvalidPeriod, key, "spec.periodEnd",
                                who + " period [" + formatTimestamp(period.start) + ", " +
                                    formatTimestamp(period.end) +
                                    ") is empty: spec.periodEnd must be after spec.periodStart"));
    return;
  }
  // The one exception to whole periods: the final partial period a group being deleted recorded
  // for its final invoice (R6), exactly that one, so a user cannot invent other cuts.
  if (group != nullptr && !isPeriodAligned(group->spec.invoicing.period, period) &&
      recordedFinalPeriod(*group) != period) {
    Interval expected = periodContaining(group->spec.invoicing.period, period.start);
    out.push_back(makeViolation(
        Code::PeriodNotAligned, key, "spec.periodStart",
        who + " period [" + formatTimestamp(period.start) + ", " + formatTimestamp(period.end) +
            ") is not one " + std::string(invoicingPeriodName(group->spec.invoicing.period)) +
            " period of billing group " + group->key().display() +
            ": the period containing spec.periodStart is [" + formatTimestamp(expected.start) +
            ", " + formatTimestamp(expected.end) + ")"));
  }
  if (spec.finalize && options.now && period.end > *options.now) {
    out.push_back(makeViolation(Code::PeriodNotEnded, key, "spec.finalize",
                                who + " asks to finalize period [" + formatTimestamp(period.start) +
                                    ", " + formatTimestamp(period.end) +
                                    "), which ends after now (" + formatTimestamp(*options.now) +
                                    "): only ended periods can be closed; remove spec.finalize to "
                                    "get an estimate"));
  }
}

// R7: one invoice per group and period; later duplicates are the violators.
void checkInvoiceUniqueness(const Snapshot& snapshot, std::vector<Violation>& out) {
  using PeriodKey = std::tuple<std::string, std::string, Timestamp, Timestamp>;
  std::map<PeriodKey, const Invoice*> first;
  std::vector<const Invoice*> ordered;
  for (const Invoice& invoice : snapshot.invoices) ordered.push_back(&invoice);
  std::stable_sort(ordered.begin(), ordered.end(), [](const Invoice* a, const Invoice* b) {
    return std::tie(a->metadata.ns, a->metadata.name) < std::tie(b->metadata.ns, b->metadata.name);
  });
  for (const Invoice* invoice : ordered) {
    if (!invoice->spec.periodStart || !invoice->spec.periodEnd) continue;
    PeriodKey periodKey{invoice->metadata.ns, invoice->spec.billingGroupRef.name,
                        *invoice->spec.periodStart, *invoice->spec.periodEnd};
    auto [it, inserted] = first.emplace(periodKey, invoice);
    if (inserted || it->second->metadata.name == invoice->metadata.name) continue;
    out.push_back(makeViolation(
        Code::DuplicateInvoice, invoice->key(), "spec.periodStart",
        "Invoice " + invoice->key().display() + " is a second invoice for billing group " +
            invoice->metadata.ns + "/" + invoice->spec.billingGroupRef.name + " and period [" +
            formatTimestamp(*invoice->spec.periodStart) + ", " +
            formatTimestamp(*invoice->spec.periodEnd) + ") after Invoice " +
            it->second->metadata.name + ": there is one invoice per group and period"));
  }
}

template <typename Object>
void checkDuplicates(const std::vector<Object>& objects, std::vector<Violation>& out) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const Object& object : objects) {
    if (seen.emplace(object.metadata.ns, object.metadata.name).second) continue;
    ObjectKey key = object.key();
    out.push_back(makeViolation(Code::DuplicateObject, key, "metadata.name",
                                std::string(kindName(key.kind)) + " " + key.display() +
                                    " is declared more than once: keep one declaration"));
  }
}

bool isDefaultGroupOf(const BillingGroup& group, std::string_view projectName) {
  auto it = group.metadata.annotations.find(std::string(kDefaultGroupOfAnnotation));
  return it != group.metadata.annotations.end() && it->second == projectName;
}

// An owner reference to one of our Projects (not to some other API's kind named Project).
bool isProjectOwner(const OwnerReference& owner) {
  return owner.kind == "Project" && owner.apiVersion.starts_with(std::string(kGroup) + "/");
}

std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace

std::vector<Violation> validate(const Snapshot& snapshot, const RuleOptions& options) {
  SnapshotIndex index(snapshot);
  std::vector<Violation> out;
  for (const Namespace& ns : snapshot.namespaces) checkNamespace(ns, out);
  std::set<std::string> namespaceNames;
  for (const Namespace& ns : snapshot.namespaces) {
    if (namespaceNames.insert(ns.metadata.name).second) continue;
    out.push_back(makeViolation(
        Code::DuplicateObject, {Kind::Namespace, "", ns.metadata.name}, "metadata.name",
        "Namespace " + ns.metadata.name + " is declared more than once: keep one declaration"));
  }
  checkDuplicates(snapshot.billingGroups, out);
  checkDuplicates(snapshot.projects, out);
  checkDuplicates(snapshot.invoices, out);
  for (const BillingGroup& group : snapshot.billingGroups) checkBillingGroup(index, group, out);
  for (const Project& project : snapshot.projects) checkProject(index, project, out);
  for (const Invoice& invoice : snapshot.invoices) checkInvoice(index, invoice, options, out);
  checkInvoiceUniqueness(snapshot, out);

  // Every member takes part, so the order does not depend on the input's order and equal
  // violations (from an object declared twice) end up adjacent for std::unique.
  std::sort(out.begin(), out.end(), [](const Violation& a, const Violation& b) {
    return std::tie(a.object, a.field, a.code, a.message, a.severity) <
           std::tie(b.object, b.field, b.code, b.message, b.severity);
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Violation> validateObject(const SnapshotIndex& index, const ObjectKey& key,
                                      const RuleOptions& options) {
  std::vector<Violation> out;
  switch (key.kind) {
    case Kind::Namespace:
      if (const Namespace* ns = index.findNamespace(key.name)) checkNamespace(*ns, out);
      break;
    case Kind::BillingGroup:
      if (const BillingGroup* group = index.findBillingGroup(key.ns, key.name)) {
        checkBillingGroup(index, *group, out);
      }
      break;
    case Kind::Project:
      if (const Project* project = index.findProject(key.ns, key.name)) {
        checkProject(index, *project, out);
      }
      break;
    case Kind::Invoice:
      for (const Invoice& invoice : index.snapshot().invoices) {
        if (invoice.key() == key) checkInvoice(index, invoice, options, out);
      }
      break;
  }
  std::erase_if(out, [&](const Violation& v) { return v.object != key; });
  return out;
}

std::vector<Violation> introducedViolations(const std::vector<Violation>& before,
                                            const std::vector<Violation>& after) {
  std::vector<Violation> introduced;
  for (const Violation& v : after) {
    if (std::find(before.begin(), before.end(), v) == before.end()) introduced.push_back(v);
  }
  return introduced;
}

std::string defaultGroupName(std::string_view projectName) {
  constexpr std::size_t kMaxName = 253;
  if (projectName.size() + kDefaultGroupSuffix.size() <= kMaxName) {
    return std::string(projectName) + std::string(kDefaultGroupSuffix);
  }
  // Keep names unique after shortening: a hash of the full name goes before the suffix.
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", fnv1a(projectName));
  std::string prefix(projectName.substr(0, kMaxName - kDefaultGroupSuffix.size() - 9));
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '.')) prefix.pop_back();
  return prefix + "-" + hash + std::string(kDefaultGroupSuffix);
}

std::expected<Membership, Violation> resolveMembership(const SnapshotIndex& index,
                                                       const Project& project) {
  const ObjectKey key = project.key();
  const std::string organization = index.organizationOf(key.ns);
  const auto& ref = project.spec.billingGroupRef;

  if (!ref) {
    auto bound = index.groupsBoundTo(key.ns, key.name);
    if (!bound.empty()) {
      return Membership{Membership::Source::BoundGroup, bound.front()->key(), bound.front()};
    }
    std::string name = defaultGroupName(key.name);
    const BillingGroup* existing = index.findBillingGroup(key.ns, name);
    if (existing != nullptr && existing->spec.scope == Scope::Organization &&
        isDefaultGroupOf(*existing, key.name)) {
      // The project's own group, since moved to the organization: it still bills the project.
      return Membership{Membership::Source::DefaultGroup, existing->key(), existing};
    }
    if (existing != nullptr) {
      return std::unexpected(makeViolation(
          Code::DefaultGroupNameTaken, key, "spec.billingGroupRef",
          named(key, organization) +
              " names no billing group, so the operator would create its "
              "project billing group " +
              key.ns + "/" + name +
              ", but a billing group of that name already exists and is not bound to this "
              "project: set spec.billingGroupRef, or bind that group with scope Project and "
              "spec.projectRef.name " +
              key.name));
    }
    return Membership{
        Membership::Source::DefaultGroup, {Kind::BillingGroup, key.ns, name}, nullptr};
  }

  const std::string groupNs = ref->ns.empty() ? key.ns : ref->ns;
  const std::string groupOrganization = index.organizationOf(groupNs);
  const std::string field =
      ref->ns.empty() ? "spec.billingGroupRef.name" : "spec.billingGroupRef.namespace";
  if (groupOrganization != organization) {
    return std::unexpected(makeViolation(
        Code::CrossOrganization, key, field,
        named(key, organization) + " references " + groupNamed(index, groupNs, ref->name) +
            ": a project may only use billing groups of its own organization"));
  }
  const BillingGroup* group = index.findBillingGroup(groupNs, ref->name);
  if (group == nullptr) {
    return std::unexpected(makeViolation(
        Code::BillingGroupNotFound, key, "spec.billingGroupRef.name",
        named(key, organization) + " references billing group " + groupNs + "/" + ref->name +
            ", which does not exist: create it or fix spec.billingGroupRef"));
  }
  if (group->spec.scope == Scope::Project) {
    bool boundHere =
        group->spec.projectRef && group->spec.projectRef->name == key.name && groupNs == key.ns;
    if (!boundHere) {
      std::string boundTo = group->spec.projectRef ? groupNs + "/" + group->spec.projectRef->name
                                                   : std::string("no project");
      return std::unexpected(makeViolation(
          Code::ProjectGroupBoundToOther, key, "spec.billingGroupRef.name",
          named(key, organization) + " references " + groupNamed(index, groupNs, ref->name) +
              ", a project billing group bound to " + boundTo +
              ": a project billing group can only be used by its own project; use an "
              "Organization group to share billing"));
    }
  }
  return Membership{Membership::Source::Reference, group->key(), group};
}

std::vector<const Project*> membersOf(const SnapshotIndex& index, const BillingGroup& group) {
  std::vector<const Project*> members;
  for (const Project& project : index.snapshot().projects) {
    auto membership = resolveMembership(index, project);
    // By key, not address: callers such as the webhook pass a copy of the group.
    if (membership && membership->found != nullptr && membership->group == group.key()) {
      members.push_back(&project);
    }
  }
  std::sort(members.begin(), members.end(), [](const Project* a, const Project* b) {
    return std::tie(a->metadata.ns, a->metadata.name) < std::tie(b->metadata.ns, b->metadata.name);
  });
  return members;
}

ProjectDeletionPlan planProjectDeletion(const SnapshotIndex& index, const Project& project) {
  ProjectDeletionPlan plan;
  for (const BillingGroup& group : index.snapshot().billingGroups) {
    if (group.metadata.ns != project.metadata.ns) continue;
    bool bound = group.spec.projectRef && group.spec.projectRef->name == project.metadata.name;
    bool owned = std::any_of(group.metadata.ownerReferences.begin(),
                             group.metadata.ownerReferences.end(), [&](const OwnerReference& o) {
                               return isProjectOwner(o) && (project.metadata.uid.empty()
                                                                ? o.name == project.metadata.name
                                                                : o.uid == project.metadata.uid);
                             });
    if (group.spec.scope == Scope::Project && (bound || owned)) {
      plan.groupsToDelete.push_back(group.key());
    } else if (group.spec.scope == Scope::Organization && owned) {
      plan.groupsSurviving.push_back(group.key());
    }
  }
  return plan;
}

std::vector<OwnerReference> ownerReferencesToRelease(const BillingGroup& group) {
  std::vector<OwnerReference> release;
  if (group.spec.scope != Scope::Organization) return release;
  for (const OwnerReference& owner : group.metadata.ownerReferences) {
    if (isProjectOwner(owner)) {
      release.push_back(owner);
    }
  }
  return release;
}

std::optional<Violation> checkGroupDeletion(const SnapshotIndex& index, const BillingGroup& group) {
  auto members = membersOf(index, group);
  if (members.empty()) return std::nullopt;
  return makeViolation(
      Code::GroupHasProjects, group.key(), "",
      named(group.key(), index.organizationOf(group.metadata.ns)) + " still bills " +
          std::to_string(members.size()) + (members.size() == 1 ? " project (" : " projects (") +
          joinKeys(members) +
          "): move them to another billing group first; deletion waits until then");
}

}  // namespace billing::domain
