// The REST representations of the ledger (see ledger/openapi.yaml) over cpprestsdk's web::json,
// the one JSON library of the codebase. Request bodies are read strictly: a field of the wrong
// type, an unknown field (usually a typo) or a malformed timestamp is an error naming the field.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "ledger/error.h"
#include "ledger/service.h"

namespace billing::ledger {

// ---- request bodies ----

Result<AccountInput> parseAccountInput(const web::json::value& body, std::string_view accountId);
Result<MembershipInput> parseMembershipInput(const web::json::value& body);
Result<MoveInput> parseMoveInput(const web::json::value& body);
Result<EndMembershipInput> parseEndMembershipInput(const web::json::value& body);
Result<ChargeInput> parseChargeInput(const web::json::value& body);
Result<std::vector<ChargeInput>> parseChargeBatch(const web::json::value& body);
Result<CreditGrantInput> parseCreditGrantInput(const web::json::value& body);
Result<Interval> parseInvoicePeriod(const web::json::value& body);
// {"at": "..."} or an empty body.
Result<std::optional<Timestamp>> parseCloseInput(const web::json::value& body);
// {"reason": "..."} or an empty body.
Result<std::string> parseVoidInput(const web::json::value& body);
// An empty body or {}.
Result<void> parseEmptyInput(const web::json::value& body);

// ---- representations ----

web::json::value accountJson(const AccountView& view);
web::json::value membershipJson(const Membership& membership);
web::json::value chargeJson(const Charge& charge);
web::json::value creditGrantJson(const CreditGrantView& grant, std::string_view currency);
web::json::value creditsJson(const CreditsView& credits);
web::json::value invoiceJson(const InvoiceView& view);
web::json::value invoiceLineJson(const InvoiceLineRecord& line, std::string_view currency);
// {"items": [...]}
web::json::value listJson(std::vector<web::json::value> items);

// A decimal string of minor units in a currency of the table ("12.30"); the bare integer for a
// code the table does not know, which the ledger never stores.
std::string formatMinor(std::int64_t minorUnits, std::string_view currency);

// ---- the profile as stored in the accounts table (a JSON object) ----

std::string encodeStoredProfile(const AccountProfile& profile);
std::expected<AccountProfile, std::string> decodeStoredProfile(std::string_view text);

}  // namespace billing::ledger
