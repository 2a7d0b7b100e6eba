// A broken rule, reported the same way by the offline checker, the admission webhook and the
// reconcilers' conditions: a stable machine code, the object, the field path and a sentence.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/domain/model.h"

namespace billing::domain {

// Stable machine codes. Renaming one breaks users' pipelines: add, never rename.
enum class Code {
  // Schema: the object itself is malformed (what a CRD schema would reject).
  InvalidType,
  Required,
  UnsupportedValue,
  UnknownField,
  InvalidValue,
  InvalidName,
  DuplicateObject,
  // R1 two scopes.
  InvalidScope,
  // R2 organization scoping.
  CrossOrganization,
  CreditsOnProjectGroup,
  InvalidCreditAmount,
  // R3 project billing groups.
  ProjectRefMissing,
  ProjectRefOnOrganizationGroup,
  ProjectNotFound,
  ProjectGroupBoundToOther,
  DuplicateProjectGroup,
  ProjectGroupUnused,
  // R4 single membership.
  BillingGroupNotFound,
  DefaultGroupNameTaken,
  // R5 deletion of a project.
  OwnerReferenceOnOrganizationGroup,
  // R6 deletion of a billing group.
  GroupHasProjects,
  // R7 consolidated invoice.
  InvalidPeriod,
  PeriodNotAligned,
  DuplicateInvoice,
  PeriodNotEnded,
  // R8 reuse of billing info; secrets stay in Secrets.
  InvalidCurrency,
  InvalidEmail,
  InvalidCountryCode,
  PaymentSecretRefMissing,
  SecretInSpec,
  // R10 tenancy.
  OrganizationLabelMismatch,
  InvalidOrganizationLabel,
};

std::string_view codeName(Code code);
// The rule of ../shared/DESIGN.md a code enforces ("R2"), or "" for schema codes.
std::string_view ruleOf(Code code);

enum class Severity { Error, Warning };
std::string_view severityName(Severity severity);

struct Violation {
  Code code = Code::InvalidValue;
  Severity severity = Severity::Error;
  ObjectKey object;
  std::string field;    // Kubernetes field path, e.g. "spec.billingGroupRef.name"; "" = object
  std::string message;  // a whole sentence naming the objects involved and how to fix it

  friend bool operator==(const Violation&, const Violation&) = default;
};

// "Project acme-web/web: <message>" is already part of message; this renders one line as the
// webhook and logs show it: "<message> (field spec.x, code CrossOrganization)".
std::string describe(const Violation& violation);

bool hasErrors(const std::vector<Violation>& violations);

}  // namespace billing::domain
