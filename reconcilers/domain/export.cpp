#include "reconcilers/domain/export.h"

#include <initializer_list>

namespace billing::domain {
namespace {

constexpr std::string_view kLineEnd = "\r\n";

void appendRow(std::string& out, std::initializer_list<std::string_view> fields) {
  bool first = true;
  for (std::string_view field : fields) {
    if (!first) out.push_back(',');
    first = false;
    out += csvField(field);
  }
  out += kLineEnd;
}

void appendJsonString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20) {  // other control characters; bytes >= 0x80 are UTF-8, kept as is
          out += "\\u00";
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0xF]);
        } else {
          out.push_back(c);
        }
      }
    }
  }
  out.push_back('"');
}

const ProjectExportInfo* findProject(const InvoiceHeader& header, const std::string& project) {
  const auto it = header.projects.find(project);
  return it == header.projects.end() ? nullptr : &it->second;
}

}  // namespace

std::string csvField(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('"');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string jsonObject(const std::map<std::string, std::string>& members) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : members) {
    if (!first) out.push_back(',');
    first = false;
    appendJsonString(out, key);
    out.push_back(':');
    appendJsonString(out, value);
  }
  out.push_back('}');
  return out;
}

std::string toCsv(const InvoiceHeader& header, const InvoiceDraft& draft) {
  std::string out;
  appendRow(out,
            {"invoice_number", "billing_group", "organization", "project", "service", "description",
             "quantity", "unit", "charge_period_start", "charge_period_end", "amount", "currency"});
  for (const InvoiceLine& line : draft.lines) {
    appendRow(out, {header.invoiceNumber, header.billingGroup, header.organization, line.project,
                    line.service, line.description, line.quantity, line.unit,
                    formatTimestamp(line.period.start), formatTimestamp(line.period.end),
                    formatMoney(line.amount), line.amount.currency.code});
  }
  return out;
}

std::string toFocusCsv(const InvoiceHeader& header, const InvoiceDraft& draft) {
  std::string out;
  appendRow(out, {"BilledCost",
                  "BillingAccountId",
                  "BillingAccountName",
                  "BillingCurrency",
                  "BillingPeriodStart",
                  "BillingPeriodEnd",
                  "ChargeCategory",
                  "ChargeClass",
                  "ChargeDescription",
                  "ChargeFrequency",
                  "ChargePeriodStart",
                  "ChargePeriodEnd",
                  "ConsumedQuantity",
                  "ConsumedUnit",
                  "EffectiveCost",
                  "InvoiceIssuerName",
                  "ListCost",
                  "PricingQuantity",
                  "PricingUnit",
                  "ProviderName",
                  "PublisherName",
                  "ServiceName",
                  "SubAccountId",
                  "SubAccountName",
                  "Tags",
                  "x_InvoiceNumber",
                  "x_BackendInvoiceId",
                  "x_Organization"});
  const std::string currency(draft.currency.code);
  const std::string periodStart = formatTimestamp(draft.period.start);
  const std::string periodEnd = formatTimestamp(draft.period.end);

  for (const InvoiceLine& line : draft.lines) {
    const ProjectExportInfo* project = findProject(header, line.project);
    const std::string cost = formatMoney(line.amount);
    const std::string_view subAccountName = project != nullptr && !project->displayName.empty()
                                                ? project->displayName
                                                : std::string_view(line.project);
    const std::string tags =
        jsonObject(project != nullptr ? project->tags : std::map<std::string, std::string>{});
    const bool instant = line.period.start == line.period.end;
    appendRow(out, {cost,
                    header.billingGroup,
                    header.displayName,
                    currency,
                    periodStart,
                    periodEnd,
                    "Usage",
                    "",
                    line.description,
                    instant ? "One-Time" : "Usage-Based",
                    formatTimestamp(line.period.start),
                    formatTimestamp(line.period.end),
                    line.quantity,
                    line.unit,
                    cost,
                    header.issuerName,
                    cost,
                    line.quantity,
                    line.unit,
                    header.issuerName,
                    header.issuerName,
                    line.service,
                    line.project,
                    subAccountName,
                    tags,
                    header.invoiceNumber,
                    header.backendInvoiceId,
                    header.organization});
  }

  if (draft.creditsApplied.minorUnits != 0) {
    const std::string credit =
        formatMoney(Money{-draft.creditsApplied.minorUnits, draft.creditsApplied.currency});
    appendRow(out, {credit,
                    header.billingGroup,
                    header.displayName,
                    currency,
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
                    header.issuerName,
                    credit,
                    "",
                    "",
                    header.issuerName,
                    header.issuerName,
                    "Credits",
                    "",
                    "",
                    "{}",
                    header.invoiceNumber,
                    header.backendInvoiceId,
                    header.organization});
  }
  return out;
}

}  // namespace billing::domain
