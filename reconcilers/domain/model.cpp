#include "reconcilers/domain/model.h"

namespace billing::domain {

std::string_view kindName(Kind kind) {
  switch (kind) {
    case Kind::Namespace:
      return "Namespace";
    case Kind::BillingGroup:
      return "BillingGroup";
    case Kind::Project:
      return "Project";
    case Kind::Invoice:
      return "Invoice";
  }
  return "Unknown";
}

std::string ObjectKey::display() const { return ns.empty() ? name : ns + "/" + name; }

std::string_view conditionStatusName(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::True:
      return "True";
    case ConditionStatus::False:
      return "False";
    case ConditionStatus::Unknown:
      return "Unknown";
  }
  return "Unknown";
}

std::string organizationOf(const Namespace& ns) {
  auto label = ns.metadata.labels.find(std::string(kOrganizationLabel));
  if (label != ns.metadata.labels.end() && !label->second.empty()) return label->second;
  return ns.metadata.name;
}

std::string_view scopeName(Scope scope) {
  switch (scope) {
    case Scope::Organization:
      return "Organization";
    case Scope::Project:
      return "Project";
  }
  return "Organization";
}

std::string_view invoicingPeriodName(InvoicingPeriod period) {
  switch (period) {
    case InvoicingPeriod::Monthly:
      return "Monthly";
    case InvoicingPeriod::Weekly:
      return "Weekly";
    case InvoicingPeriod::Daily:
      return "Daily";
  }
  return "Monthly";
}

std::string_view paymentMethodTypeName(PaymentMethodType type) {
  switch (type) {
    case PaymentMethodType::Card:
      return "Card";
    case PaymentMethodType::SepaDebit:
      return "SepaDebit";
    case PaymentMethodType::AchDebit:
      return "AchDebit";
    case PaymentMethodType::BankTransfer:
      return "BankTransfer";
  }
  return "BankTransfer";
}

bool paymentMethodNeedsSecret(PaymentMethodType type) {
  // A bank transfer is paid by the customer against the invoice; everything else is charged by
  // us and needs a token or mandate, which lives in a Secret (R8).
  return type != PaymentMethodType::BankTransfer;
}

std::string_view invoiceStateName(InvoiceState state) {
  switch (state) {
    case InvoiceState::Draft:
      return "Draft";
    case InvoiceState::Finalized:
      return "Finalized";
    case InvoiceState::Paid:
      return "Paid";
    case InvoiceState::Void:
      return "Void";
  }
  return "Draft";
}

}  // namespace billing::domain
