// An invoice's lines as documents (R9): JSON, the plain CSV of the domain core
// (domain::toCsv), and FOCUS columns for FinOps tools.
//
// The FOCUS export carries what the ledger knows beyond the domain core's toFocusCsv: the
// InvoiceId column (FOCUS 1.2) and ChargeClass "Correction" on lines that correct an earlier,
// already invoiced period. It is written with the domain's CSV helpers (csvField, jsonObject)
// and money formatting; the columns are toFocusCsv's, alphabetical, with InvoiceId in its
// alphabetical place (see focusColumns()).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/json.h"
#include "ledger/error.h"
#include "ledger/service.h"

namespace billing::ledger {

enum class ExportFormat { Json, Csv, Focus };

// "json", "csv" or "focus"; an error naming the allowed values otherwise.
Result<ExportFormat> parseExportFormat(std::string_view text);

struct ExportDocument {
  std::string contentType;  // "application/json" or "text/csv; charset=utf-8"
  std::string body;
};

// `view` must carry its lines (LedgerService::getInvoice(id, true)). `issuer` names who issues
// the invoice (FOCUS InvoiceIssuerName, ProviderName, PublisherName).
ExportDocument exportInvoice(const InvoiceView& view, const Account& account, ExportFormat format,
                             std::string_view issuer);

// The JSON form: the invoice's identity and totals and its lines.
web::json::value invoiceLinesJson(const InvoiceView& view, const Account& account);

// The FOCUS header, in order.
std::span<const std::string_view> focusColumns();

}  // namespace billing::ledger
