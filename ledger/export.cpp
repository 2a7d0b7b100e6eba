#include "ledger/export.h"

#include <array>
#include <initializer_list>
#include <map>

#include "ledger/json_codec.h"
#include "reconcilers/domain/currency.h"
#include "reconcilers/domain/export.h"

namespace billing::ledger {
namespace {

constexpr std::array<std::string_view, 28> kFocusColumns{"BilledCost",         "BillingAccountId",
                                                         "BillingAccountName", "BillingCurrency",
                                                         "BillingPeriodStart", "BillingPeriodEnd",
                                                         "ChargeCategory",     "ChargeClass",
                                                         "ChargeDescription",  "ChargeFrequency",
                                                         "ChargePeriodStart",  "ChargePeriodEnd",
                                                         "ConsumedQuantity",   "ConsumedUnit",
                                                         "EffectiveCost",      "InvoiceId",
                                                         "InvoiceIssuerName",  "ListCost",
                                                         "PricingQuantity",    "PricingUnit",
                                                         "ProviderName",       "PublisherName",
                                                         "ServiceName",        "SubAccountId",
                                                         "SubAccountName",     "Tags",
                                                         "x_InvoiceNumber",    "x_Organization"};

void appendRow(std::string& out, std::initializer_list<std::string_view> fields) {
  bool first = true;
  for (std::string_view field : fields) {
    if (!first) out.push_back(',');
    first = false;
    out += domain::csvField(field);
  }
  out += "\r\n";
}

std::string invoiceNumberOf(const Invoice& invoice) {
  return invoice.number ? formatInvoiceNumber(*invoice.number) : std::string();
}

std::string focusCsv(const InvoiceView& view, const Account& account, std::string_view issuer) {
  const Invoice& invoice = view.invoice;
  std::string out;
  bool first = true;
  for (std::string_view column : kFocusColumns) {
    if (!first) out.push_back(',');
    first = false;
    out += column;
  }
  out += "\r\n";
  const std::string periodStart = domain::formatTimestamp(invoice.period.start);
  const std::string periodEnd = domain::formatTimestamp(invoice.period.end);
  const std::string number = invoiceNumberOf(invoice);
  const std::string noTags = domain::jsonObject({});
  for (const InvoiceLineRecord& line : view.lines) {
    const std::string cost = formatMinor(line.amountMinor, invoice.currency);
    appendRow(out, {cost,
                    account.id,
                    account.name,
                    invoice.currency,
                    periodStart,
                    periodEnd,
                    "Usage",
                    line.correction ? "Correction" : "",
                    line.description,
                    "Usage-Based",
                    domain::formatTimestamp(line.billed.start),
                    domain::formatTimestamp(line.billed.end),
                    line.quantity,
                    line.unit,
                    cost,
                    invoice.id,
                    issuer,
                    cost,
                    line.quantity,
                    line.unit,
                    issuer,
                    issuer,
                    line.service,
                    line.project,
                    line.project,
                    noTags,
                    number,
                    account.organization});
  }
  if (invoice.creditsAppliedMinor != 0) {
    const std::string credit = formatMinor(-invoice.creditsAppliedMinor, invoice.currency);
    appendRow(out, {credit,
                    account.id,
                    account.name,
                    invoice.currency,
                    periodStart,
                    periodEnd,
                    "Credit",
                    "",
                    "Credits applied",
                    "One-Time",
                    periodStart,
                    periodEnd,
                    "",
                    "",
                    credit,
                    invoice.id,
                    issuer,
                    credit,
                    "",
                    "",
                    issuer,
                    issuer,
                    "Credits",
                    "",
                    "",
                    noTags,
                    number,
                    account.organization});
  }
  return out;
}

// The domain's CSV wants an InvoiceDraft; an issued invoice's stored lines and totals are one.
domain::InvoiceDraft draftOf(const InvoiceView& view) {
  const Invoice& invoice = view.invoice;
  const domain::Currency currency =
      domain::findCurrency(invoice.currency).value_or(domain::Currency{invoice.currency, 0});
  domain::InvoiceDraft draft;
  draft.currency = currency;
  draft.period = invoice.period;
  for (const InvoiceLineRecord& line : view.lines) {
    draft.lines.push_back(domain::InvoiceLine{
        line.chargeId, line.project, line.service, line.description, line.quantity, line.unit,
        domain::Money{line.amountMinor, currency}, line.billed});
  }
  for (const ProjectTotalRecord& total : view.projectTotals) {
    draft.projectTotals.push_back(
        domain::ProjectSubtotal{total.project, domain::Money{total.amountMinor, currency}});
  }
  draft.subtotal = domain::Money{invoice.subtotalMinor, currency};
  draft.creditsApplied = domain::Money{invoice.creditsAppliedMinor, currency};
  draft.total = domain::Money{invoice.totalMinor, currency};
  return draft;
}

}  // namespace

Result<ExportFormat> parseExportFormat(std::string_view text) {
  if (text.empty() || text == "json") return ExportFormat::Json;
  if (text == "csv") return ExportFormat::Csv;
  if (text == "focus") return ExportFormat::Focus;
  return invalid("invalid-export-format",
                 "format \"" + std::string(text) + "\" is not one of \"json\", \"csv\", \"focus\"",
                 "format");
}

std::span<const std::string_view> focusColumns() { return kFocusColumns; }

web::json::value invoiceLinesJson(const InvoiceView& view, const Account& account) {
  using web::json::value;
  const Invoice& invoice = view.invoice;
  value out = value::object(true);
  out["invoiceId"] = value::string(invoice.id);
  out["number"] =
      invoice.number ? value::string(formatInvoiceNumber(*invoice.number)) : value::null();
  out["state"] = value::string(std::string(domain::invoiceStateName(invoice.state)));
  out["accountId"] = value::string(account.id);
  out["accountName"] = value::string(account.name);
  out["organization"] = value::string(account.organization);
  out["currency"] = value::string(invoice.currency);
  out["periodStart"] = value::string(domain::formatTimestamp(invoice.period.start));
  out["periodEnd"] = value::string(domain::formatTimestamp(invoice.period.end));
  std::vector<value> lines;
  lines.reserve(view.lines.size());
  for (const InvoiceLineRecord& line : view.lines) {
    lines.push_back(invoiceLineJson(line, invoice.currency));
  }
  out["lines"] = value::array(std::move(lines));
  out["subtotal"] = value::string(formatMinor(invoice.subtotalMinor, invoice.currency));
  out["creditsApplied"] = value::string(formatMinor(invoice.creditsAppliedMinor, invoice.currency));
  out["total"] = value::string(formatMinor(invoice.totalMinor, invoice.currency));
  return out;
}

ExportDocument exportInvoice(const InvoiceView& view, const Account& account, ExportFormat format,
                             std::string_view issuer) {
  switch (format) {
    case ExportFormat::Csv: {
      domain::InvoiceHeader header;
      header.invoiceNumber = invoiceNumberOf(view.invoice);
      header.backendInvoiceId = view.invoice.id;
      header.billingGroup = account.id;
      header.displayName = account.name;
      header.organization = account.organization;
      header.issuerName = std::string(issuer);
      return ExportDocument{"text/csv; charset=utf-8", domain::toCsv(header, draftOf(view))};
    }
    case ExportFormat::Focus:
      return ExportDocument{"text/csv; charset=utf-8", focusCsv(view, account, issuer)};
    case ExportFormat::Json:
      break;
  }
  return ExportDocument{"application/json", common::toJson(invoiceLinesJson(view, account))};
}

}  // namespace billing::ledger
