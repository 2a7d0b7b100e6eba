#include "reconcilers/domain/violation.h"

#include <algorithm>

namespace billing::domain {

std::string_view codeName(Code code) {
  switch (code) {
    case Code::InvalidType:
      return "InvalidType";
    case Code::Required:
      return "Required";
    case Code::UnsupportedValue:
      return "UnsupportedValue";
    case Code::UnknownField:
      return "UnknownField";
    case Code::InvalidValue:
      return "InvalidValue";
    case Code::InvalidName:
      return "InvalidName";
    case Code::DuplicateObject:
      return "DuplicateObject";
    case Code::InvalidScope:
      return "InvalidScope";
    case Code::CrossOrganization:
      return "CrossOrganization";
    case Code::CreditsOnProjectGroup:
      return "CreditsOnProjectGroup";
    case Code::InvalidCreditAmount:
      return "InvalidCreditAmount";
    case Code::ProjectRefMissing:
      return "ProjectRefMissing";
    case Code::ProjectRefOnOrganizationGroup:
      return "ProjectRefOnOrganizationGroup";
    case Code::ProjectNotFound:
      return "ProjectNotFound";
    case Code::ProjectGroupBoundToOther:
      return "ProjectGroupBoundToOther";
    case Code::DuplicateProjectGroup:
      return "DuplicateProjectGroup";
    case Code::ProjectGroupUnused:
      return "ProjectGroupUnused";
    case Code::BillingGroupNotFound:
      return "BillingGroupNotFound";
    case Code::DefaultGroupNameTaken:
      return "DefaultGroupNameTaken";
    case Code::OwnerReferenceOnOrganizationGroup:
      return "OwnerReferenceOnOrganizationGroup";
    case Code::GroupHasProjects:
      return "GroupHasProjects";
    case Code::InvalidPeriod:
      return "InvalidPeriod";
    case Code::PeriodNotAligned:
      return "PeriodNotAligned";
    case Code::DuplicateInvoice:
      return "DuplicateInvoice";
    case Code::PeriodNotEnded:
      return "PeriodNotEnded";
    case Code::InvalidCurrency:
      return "InvalidCurrency";
    case Code::InvalidEmail:
      return "InvalidEmail";
    case Code::InvalidCountryCode:
      return "InvalidCountryCode";
    case Code::PaymentSecretRefMissing:
      return "PaymentSecretRefMissing";
    case Code::SecretInSpec:
      return "SecretInSpec";
    case Code::OrganizationLabelMismatch:
      return "OrganizationLabelMismatch";
    case Code::InvalidOrganizationLabel:
      return "InvalidOrganizationLabel";
  }
  return "Unknown";
}

std::string_view ruleOf(Code code) {
  switch (code) {
    case Code::InvalidScope:
      return "R1";
    case Code::CrossOrganization:
    case Code::CreditsOnProjectGroup:
    case Code::InvalidCreditAmount:
      return "R2";
    case Code::ProjectRefMissing:
    case Code::ProjectRefOnOrganizationGroup:
    case Code::ProjectNotFound:
    case Code::ProjectGroupBoundToOther:
    case Code::DuplicateProjectGroup:
    case Code::ProjectGroupUnused:
      return "R3";
    case Code::BillingGroupNotFound:
    case Code::DefaultGroupNameTaken:
      return "R4";
    case Code::OwnerReferenceOnOrganizationGroup:
      return "R5";
    case Code::GroupHasProjects:
      return "R6";
    case Code::InvalidPeriod:
    case Code::PeriodNotAligned:
    case Code::DuplicateInvoice:
    case Code::PeriodNotEnded:
      return "R7";
    case Code::InvalidCurrency:
    case Code::InvalidEmail:
    case Code::InvalidCountryCode:
    case Code::PaymentSecretRefMissing:
    case Code::SecretInSpec:
      return "R8";
    case Code::OrganizationLabelMismatch:
    case Code::InvalidOrganizationLabel:
      return "R10";
    case Code::InvalidType:
    case Code::Required:
    case Code::UnsupportedValue:
    case Code::UnknownField:
    case Code::InvalidValue:
    case Code::InvalidName:
    case Code::DuplicateObject:
      return "";
  }
  return "";
}

std::string_view severityName(Severity severity) {
  return severity == Severity::Error ? "error" : "warning";
}

std::string describe(const Violation& violation) {
  std::string line = violation.message;
  line += " (";
  if (!violation.field.empty()) line += "field " + violation.field + ", ";
  line += "code ";
  line += codeName(violation.code);
  line += ")";
  return line;
}

bool hasErrors(const std::vector<Violation>& violations) {
  return std::any_of(violations.begin(), violations.end(),
                     [](const Violation& v) { return v.severity == Severity::Error; });
}

}  // namespace billing::domain
