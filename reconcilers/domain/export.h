// R9: an invoice's lines as files for spreadsheets and BI tools. Two shapes: a plain CSV with one
// row per line, and the FinOps Open Cost and Usage Specification (FOCUS 1.0) columns, which
// FinOps tools import next to their cloud providers' FOCUS exports.
//
// Both are RFC 4180 CSV with CRLF line ends (the RFC's, and what spreadsheet tools expect), a
// header row, and a field quoted (with inner quotes doubled) exactly when it contains a comma, a
// double quote, CR or LF. Money is the exact decimal string of formatMoney ("12.30"), instants
// are RFC 3339 UTC ("2026-11-01T00:00:00Z"). Text is written as given (UTF-8).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "reconcilers/domain/invoice_math.h"

namespace billing::domain {

// What a project contributes to an export beyond its "namespace/name".
struct ProjectExportInfo {
  std::string displayName;
  std::map<std::string, std::string> tags;
};

// Who and what the invoice is about. Currency and period come from the InvoiceDraft, so the
// header cannot contradict the amounts.
struct InvoiceHeader {
  std::string invoiceNumber;
  std::string backendInvoiceId;
  std::string billingGroup;  // "namespace/name": the FOCUS BillingAccountId
  std::string displayName;   // the group's spec.displayName: BillingAccountName
  std::string organization;
  std::string issuerName;  // who issues the invoice: InvoiceIssuerName, ProviderName, PublisherName
  std::map<std::string, ProjectExportInfo> projects;  // by "namespace/name"; may be incomplete
};

// Columns: invoice_number, billing_group, organization, project, service, description, quantity,
// unit, charge_period_start, charge_period_end, amount, currency. One row per invoice line and
// nothing else, so the amount column sums to the draft's subtotal; credits and total are on the
// invoice itself (and in the FOCUS export).
std::string toCsv(const InvoiceHeader& header, const InvoiceDraft& draft);

// The FOCUS 1.0 columns below, in this order, then three custom columns (FOCUS requires the
// "x_" prefix): x_InvoiceNumber, x_BackendInvoiceId, x_Organization.
//   BilledCost, BillingAccountId, BillingAccountName, BillingCurrency, BillingPeriodStart,
//   BillingPeriodEnd, ChargeCategory, ChargeClass, ChargeDescription, ChargeFrequency,
//   ChargePeriodStart, ChargePeriodEnd, ConsumedQuantity, ConsumedUnit, EffectiveCost,
//   InvoiceIssuerName, ListCost, PricingQuantity, PricingUnit, ProviderName, PublisherName,
//   ServiceName, SubAccountId, SubAccountName, Tags
// Each line is a "Usage" row (ChargeFrequency "Usage-Based", or "One-Time" for an instant
// charge); the project is the sub-account, its tags the Tags JSON object. Without list or
// negotiated prices, ListCost and EffectiveCost equal BilledCost. Applied credits, when non-zero,
// are one more row with ChargeCategory "Credit", ChargeFrequency "One-Time", the invoice period
// as charge period, negative BilledCost, and null quantities and sub-account. So SUM(BilledCost)
// is the invoice total. ChargeClass is null: these rows are never corrections.
std::string toFocusCsv(const InvoiceHeader& header, const InvoiceDraft& draft);

// One CSV field, quoted when RFC 4180 requires it.
std::string csvField(std::string_view value);

// A JSON object of string members, keys in map order: {"team":"web"}; "{}" when empty.
std::string jsonObject(const std::map<std::string, std::string>& members);

}  // namespace billing::domain
