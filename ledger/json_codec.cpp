#include "ledger/json_codec.h"

#include <set>

#include "reconcilers/domain/currency.h"
#include "reconcilers/domain/money.h"

namespace billing::ledger {
namespace {

using web::json::value;

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string_view jsonTypeName(const value& v) {
  switch (v.type()) {
    case value::Null:
      return "null";
    case value::Boolean:
      return "a boolean";
    case value::Number:
      return "a number";
    case value::String:
      return "a string";
    case value::Array:
      return "an array";
    case value::Object:
      return "an object";
  }
  return "a value";
}

// Reads the members of one JSON object, remembering which keys it was asked for so that finish()
// can reject the others. The first problem wins; later reads are no-ops returning defaults.
class ObjectReader {
 public:
  ObjectReader(const value& object, std::string path, std::optional<Error>& error)
      : object_(object), path_(std::move(path)), error_(error) {
    if (!object_.is_object() && !error_) {
      error_ = Error{ErrorKind::Invalid, "wrong-type",
                     (path_.empty() ? std::string("the request body") : path_) +
                         " must be a JSON object, not " + std::string(jsonTypeName(object_)),
                     path_};
    }
  }

  // A string member; "" when absent or null (then an error if required).
  std::string string(std::string_view key, bool required, std::string_view hint = {}) {
    const value* member = find(key);
    if (member == nullptr) {
      if (required) missing(key, hint);
      return {};
    }
    if (!member->is_string()) {
      wrongType(key, "a string", *member, hint);
      return {};
    }
    return member->as_string();
  }

  std::optional<Timestamp> timestamp(std::string_view key, bool required) {
    const value* member = find(key);
    if (member == nullptr) {
      if (required) missing(key, "an RFC 3339 instant such as \"2026-11-01T00:00:00Z\"");
      return std::nullopt;
    }
    if (!member->is_string()) {
      wrongType(key, "a string", *member, "an RFC 3339 instant such as \"2026-11-01T00:00:00Z\"");
      return std::nullopt;
    }
    auto parsed = domain::parseTimestamp(member->as_string());
    if (!parsed) {
      fail(ErrorKind::Invalid, "invalid-timestamp",
           field(key) + " " + quoted(member->as_string()) +
               " is not an RFC 3339 instant; write it like \"2026-11-01T00:00:00Z\"",
           field(key));
      return std::nullopt;
    }
    return *parsed;
  }

  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const value* member = find(key);
    if (member == nullptr) return out;
    if (!member->is_array()) {
      wrongType(key, "an array of strings", *member, {});
      return out;
    }
    const auto& elements = member->as_array();
    for (std::size_t i = 0; i < elements.size(); ++i) {
      const value& element = elements.at(i);
      if (!element.is_string()) {
        const std::string path = common::indexFieldPath(field(key), i);
        fail(ErrorKind::Invalid, "wrong-type",
             path + " must be a string, not " + std::string(jsonTypeName(element)), path);
        return {};
      }
      out.push_back(element.as_string());
    }
    return out;
  }

  // A nested object member; nullopt when absent or null.
  const value* object(std::string_view key) {
    const value* member = find(key);
    if (member == nullptr) return nullptr;
    if (!member->is_object()) {
      wrongType(key, "an object", *member, {});
      return nullptr;
    }
    return member;
  }

  const value* array(std::string_view key, bool required) {
    const value* member = find(key);
    if (member == nullptr) {
      if (required) missing(key, {});
      return nullptr;
    }
    if (!member->is_array()) {
      wrongType(key, "an array", *member, {});
      return nullptr;
    }
    return member;
  }

  std::string field(std::string_view key) const { return common::joinFieldPath(path_, key); }

  // Rejects the members nobody asked for.
  void finish() {
    if (error_ || !object_.is_object()) return;
    for (const auto& [key, member] : object_.as_object()) {
      if (known_.count(key) == 0) {
        std::string allowed;
        for (const std::string& k : known_) allowed += (allowed.empty() ? "" : ", ") + k;
        fail(ErrorKind::Invalid, "unknown-field",
             "unknown field " + quoted(field(key)) + "; the fields here are: " + allowed,
             field(key));
        return;
      }
    }
  }

  bool failed() const { return error_.has_value(); }

 private:
  const value* find(std::string_view key) {
    known_.insert(std::string(key));
    if (error_ || !object_.is_object()) return nullptr;
    const auto& object = object_.as_object();
    auto it = object.find(std::string(key));
    if (it == object.end() || it->second.is_null()) return nullptr;
    return &it->second;
  }

  void missing(std::string_view key, std::string_view hint) {
    fail(ErrorKind::Invalid, "missing-field",
         "the field " + quoted(field(key)) + " is required" +
             (hint.empty() ? std::string() : ": " + std::string(hint)),
         field(key));
  }

  void wrongType(std::string_view key, std::string_view expected, const value& got,
                 std::string_view hint) {
    std::string detail = field(key) + " must be " + std::string(expected) + ", not " +
                         std::string(jsonTypeName(got));
    if (!hint.empty()) detail += " (" + std::string(hint) + ")";
    fail(ErrorKind::Invalid, "wrong-type", std::move(detail), field(key));
  }

  void fail(ErrorKind kind, std::string type, std::string detail, std::string fieldPath) {
    if (!error_) error_ = Error{kind, std::move(type), std::move(detail), std::move(fieldPath)};
  }

  const value& object_;
  std::string path_;
  std::optional<Error>& error_;
  std::set<std::string> known_;
};

constexpr std::string_view kAmountHint =
    "a decimal string such as \"12.34\"; JSON numbers are binary floating point and cannot carry "
    "money exactly";

// The body of a request whose body may be empty: cpprest reads an empty body as null.
bool emptyBody(const value& body) { return body.is_null(); }

template <typename T>
Result<T> finishWith(ObjectReader& reader, std::optional<Error>& error, T value) {
  reader.finish();
  if (error) return std::unexpected(std::move(*error));
  return value;
}

PostalAddress readAddress(const value& object, const std::string& path,
                          std::optional<Error>& error) {
  ObjectReader r(object, path, error);
  PostalAddress address;
  address.lines = r.strings("lines");
  address.city = r.string("city", false);
  address.state = r.string("state", false);
  address.zipCode = r.string("zipCode", false);
  address.countryCode = r.string("countryCode", false);
  r.finish();
  return address;
}

AccountProfileInput readProfile(const value& object, const std::string& path,
                                std::optional<Error>& error) {
  ObjectReader r(object, path, error);
  AccountProfileInput profile;
  profile.company = r.string("company", false);
  profile.billingEmails = r.strings("billingEmails");
  profile.contactEmails = r.strings("contactEmails");
  if (const value* address = r.object("address")) {
    profile.address = readAddress(*address, r.field("address"), error);
  }
  profile.vatId = r.string("vatId", false);
  if (const value* payment = r.object("paymentMethod")) {
    ObjectReader p(*payment, r.field("paymentMethod"), error);
    PaymentMethodInput method;
    method.type =
        p.string("type", true, "\"Card\", \"SepaDebit\", \"AchDebit\" or \"BankTransfer\"");
    method.reference = p.string("reference", false);
    p.finish();
    profile.paymentMethod = std::move(method);
  }
  profile.invoiceText = r.string("invoiceText", false);
  r.finish();
  return profile;
}

ChargeInput readCharge(ObjectReader& r) {
  ChargeInput in;
  in.clientId = r.string("clientId", true, "the metering system's unique id of the charge");
  in.project = r.string("project", true);
  in.service = r.string("service", true);
  in.description = r.string("description", false);
  in.quantity = r.string("quantity", false, "a decimal string such as \"744\" or \"1.5\"");
  in.unit = r.string("unit", false);
  in.amount = r.string("amount", true, kAmountHint);
  in.currency = r.string("currency", true, "an ISO 4217 code such as \"EUR\"");
  in.periodStart = r.timestamp("periodStart", true).value_or(Timestamp{});
  in.periodEnd = r.timestamp("periodEnd", true).value_or(Timestamp{});
  return in;
}

value str(std::string_view text) { return value::string(std::string(text)); }

value optionalTime(const std::optional<Timestamp>& t) {
  return t ? str(domain::formatTimestamp(*t)) : value::null();
}

value stringArray(const std::vector<std::string>& items) {
  std::vector<value> out;
  out.reserve(items.size());
  for (const std::string& item : items) out.push_back(str(item));
  return value::array(std::move(out));
}

value profileJson(const AccountProfile& profile) {
  value out = value::object(true);
  out["company"] = str(profile.company);
  out["billingEmails"] = stringArray(profile.billingEmails);
  out["contactEmails"] = stringArray(profile.contactEmails);
  if (profile.address) {
    value address = value::object(true);
    address["lines"] = stringArray(profile.address->lines);
    address["city"] = str(profile.address->city);
    address["state"] = str(profile.address->state);
    address["zipCode"] = str(profile.address->zipCode);
    address["countryCode"] = str(profile.address->countryCode);
    out["address"] = std::move(address);
  } else {
    out["address"] = value::null();
  }
  out["vatId"] = str(profile.vatId);
  if (profile.paymentMethod) {
    value payment = value::object(true);
    payment["type"] = str(domain::paymentMethodTypeName(profile.paymentMethod->type));
    payment["reference"] = str(profile.paymentMethod->reference);
    out["paymentMethod"] = std::move(payment);
  } else {
    out["paymentMethod"] = value::null();
  }
  out["invoiceText"] = str(profile.invoiceText);
  return out;
}

}  // namespace

std::string formatMinor(std::int64_t minorUnits, std::string_view currency) {
  auto found = domain::findCurrency(currency);
  if (!found) return std::to_string(minorUnits);
  return domain::formatMoney(domain::Money{minorUnits, *found});
}

// ---- request bodies ----

Result<AccountInput> parseAccountInput(const value& body, std::string_view accountId) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  AccountInput in;
  in.id = std::string(accountId);
  in.name = r.string("name", true);
  in.organization = r.string("organization", true);
  in.scope = r.string("scope", false);
  if (in.scope.empty()) in.scope = "Organization";
  in.currency = r.string("currency", true, "an ISO 4217 code such as \"EUR\"");
  if (const value* profile = r.object("profile")) {
    in.profile = readProfile(*profile, "profile", error);
  }
  return finishWith(r, error, std::move(in));
}

Result<MembershipInput> parseMembershipInput(const value& body) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  MembershipInput in;
  in.project = r.string("project", true);
  in.accountId = r.string("accountId", true);
  in.effectiveFrom = r.timestamp("effectiveFrom", true).value_or(Timestamp{});
  in.effectiveTo = r.timestamp("effectiveTo", false);
  return finishWith(r, error, std::move(in));
}

Result<MoveInput> parseMoveInput(const value& body) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  MoveInput in;
  in.project = r.string("project", true);
  in.toAccountId = r.string("toAccountId", true);
  in.at = r.timestamp("at", true).value_or(Timestamp{});
  return finishWith(r, error, std::move(in));
}

Result<EndMembershipInput> parseEndMembershipInput(const value& body) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  EndMembershipInput in;
  in.project = r.string("project", true);
  in.at = r.timestamp("at", true).value_or(Timestamp{});
  return finishWith(r, error, std::move(in));
}

Result<ChargeInput> parseChargeInput(const value& body) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  ChargeInput in = readCharge(r);
  return finishWith(r, error, std::move(in));
}

Result<std::vector<ChargeInput>> parseChargeBatch(const value& body) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  std::vector<ChargeInput> charges;
  if (const value* items = r.array("charges", true)) {
    const auto& elements = items->as_array();
    for (std::size_t i = 0; i < elements.size() && !error; ++i) {
      ObjectReader item(elements.at(i), common::indexFieldPath("charges", i), error);
      charges.push_back(readCharge(item));
      item.finish();
    }
  }
  return finishWith(r, error, std::move(charges));
}

Result<CreditGrantInput> parseCreditGrantInput(const value& body) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  CreditGrantInput in;
  in.id = r.string("id", true, "a stable id of the grant, e.g. \"welcome-2026\"");
  in.amount = r.string("amount", true, kAmountHint);
  in.description = r.string("description", false);
  in.expiresAt = r.timestamp("expiresAt", false);
  return finishWith(r, error, std::move(in));
}

Result<Interval> parseInvoicePeriod(const value& body) {
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  Interval period;
  period.start = r.timestamp("periodStart", true).value_or(Timestamp{});
  period.end = r.timestamp("periodEnd", true).value_or(Timestamp{});
  return finishWith(r, error, period);
}

Result<std::optional<Timestamp>> parseCloseInput(const value& body) {
  if (emptyBody(body)) return std::optional<Timestamp>{};
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  auto at = r.timestamp("at", false);
  return finishWith(r, error, at);
}

Result<std::string> parseVoidInput(const value& body) {
  if (emptyBody(body)) return std::string();
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  std::string reason = r.string("reason", false);
  return finishWith(r, error, std::move(reason));
}

Result<void> parseEmptyInput(const value& body) {
  if (emptyBody(body)) return {};
  std::optional<Error> error;
  ObjectReader r(body, "", error);
  r.finish();
  if (error) return std::unexpected(std::move(*error));
  return {};
}

// ---- representations ----

value accountJson(const AccountView& view) {
  const Account& a = view.account;
  value out = value::object(true);
  out["id"] = str(a.id);
  out["name"] = str(a.name);
  out["organization"] = str(a.organization);
  out["scope"] = str(domain::scopeName(a.scope));
  out["currency"] = str(a.currency);
  out["profile"] = profileJson(a.profile);
  out["state"] = str(a.closedAt ? "Closed" : "Open");
  out["creditBalance"] = str(formatMinor(view.creditBalanceMinor, a.currency));
  out["createdAt"] = str(domain::formatTimestamp(a.createdAt));
  out["updatedAt"] = str(domain::formatTimestamp(a.updatedAt));
  out["closedAt"] = optionalTime(a.closedAt);
  return out;
}

value membershipJson(const Membership& m) {
  value out = value::object(true);
  out["id"] = str(m.id);
  out["project"] = str(m.project);
  out["accountId"] = str(m.accountId);
  out["effectiveFrom"] = str(domain::formatTimestamp(m.effectiveFrom));
  out["effectiveTo"] = optionalTime(m.effectiveTo);
  out["createdAt"] = str(domain::formatTimestamp(m.createdAt));
  return out;
}

value chargeJson(const Charge& c) {
  value out = value::object(true);
  out["id"] = str(c.id);
  out["clientId"] = str(c.clientId);
  out["project"] = str(c.project);
  out["service"] = str(c.service);
  out["description"] = str(c.description);
  out["quantity"] = str(c.quantity);
  out["unit"] = str(c.unit);
  out["amount"] = str(formatMinor(c.amountMinor, c.currency));
  out["amountMinor"] = value::number(static_cast<int64_t>(c.amountMinor));
  out["currency"] = str(c.currency);
  out["periodStart"] = str(domain::formatTimestamp(c.period.start));
  out["periodEnd"] = str(domain::formatTimestamp(c.period.end));
  out["receivedAt"] = str(domain::formatTimestamp(c.receivedAt));
  out["settled"] = value::boolean(c.settled);
  return out;
}

value creditGrantJson(const CreditGrantView& view, std::string_view currency) {
  value out = value::object(true);
  out["id"] = str(view.grant.id);
  out["accountId"] = str(view.grant.accountId);
  out["amount"] = str(formatMinor(view.grant.amountMinor, currency));
  out["currency"] = str(currency);
  out["description"] = str(view.grant.description);
  out["expiresAt"] = optionalTime(view.grant.expiresAt);
  out["consumed"] = str(formatMinor(view.consumedMinor, currency));
  out["remaining"] = str(formatMinor(view.remainingMinor, currency));
  out["expired"] = value::boolean(view.expired);
  out["createdAt"] = str(domain::formatTimestamp(view.grant.createdAt));
  return out;
}

value creditsJson(const CreditsView& credits) {
  value out = value::object(true);
  out["accountId"] = str(credits.accountId);
  out["currency"] = str(credits.currency);
  out["balance"] = str(formatMinor(credits.balanceMinor, credits.currency));
  std::vector<value> grants;
  for (const CreditGrantView& grant : credits.grants) {
    grants.push_back(creditGrantJson(grant, credits.currency));
  }
  out["grants"] = value::array(std::move(grants));
  return out;
}

value invoiceJson(const InvoiceView& view) {
  const Invoice& i = view.invoice;
  value out = value::object(true);
  out["id"] = str(i.id);
  out["accountId"] = str(i.accountId);
  out["number"] = i.number ? str(formatInvoiceNumber(*i.number)) : value::null();
  out["state"] = str(domain::invoiceStateName(i.state));
  out["currency"] = str(i.currency);
  out["periodStart"] = str(domain::formatTimestamp(i.period.start));
  out["periodEnd"] = str(domain::formatTimestamp(i.period.end));
  out["subtotal"] = str(formatMinor(i.subtotalMinor, i.currency));
  out["creditsApplied"] = str(formatMinor(i.creditsAppliedMinor, i.currency));
  out["total"] = str(formatMinor(i.totalMinor, i.currency));
  std::vector<value> totals;
  for (const ProjectTotalRecord& total : view.projectTotals) {
    value t = value::object(true);
    t["project"] = str(total.project);
    t["amount"] = str(formatMinor(total.amountMinor, i.currency));
    totals.push_back(std::move(t));
  }
  out["projectTotals"] = value::array(std::move(totals));
  out["createdAt"] = str(domain::formatTimestamp(i.createdAt));
  out["finalizedAt"] = optionalTime(i.finalizedAt);
  out["paidAt"] = optionalTime(i.paidAt);
  out["voidedAt"] = optionalTime(i.voidedAt);
  out["voidReason"] = str(i.voidReason);
  return out;
}

value invoiceLineJson(const InvoiceLineRecord& line, std::string_view currency) {
  value out = value::object(true);
  out["lineNo"] = value::number(static_cast<int64_t>(line.lineNo));
  out["chargeId"] = str(line.chargeId);
  out["clientId"] = str(line.clientId);
  out["project"] = str(line.project);
  out["service"] = str(line.service);
  out["description"] = str(line.description);
  out["quantity"] = str(line.quantity);
  out["unit"] = str(line.unit);
  out["amount"] = str(formatMinor(line.amountMinor, currency));
  out["periodStart"] = str(domain::formatTimestamp(line.billed.start));
  out["periodEnd"] = str(domain::formatTimestamp(line.billed.end));
  out["correction"] = value::boolean(line.correction);
  return out;
}

value listJson(std::vector<value> items) {
  value out = value::object(true);
  out["items"] = value::array(std::move(items));
  return out;
}

// ---- stored profile ----

std::string encodeStoredProfile(const AccountProfile& profile) {
  return common::toJson(profileJson(profile));
}

std::expected<AccountProfile, std::string> decodeStoredProfile(std::string_view text) {
  auto parsed = common::parseJson(text);
  if (!parsed) return std::unexpected(parsed.error());
  std::optional<Error> error;
  AccountProfileInput in = readProfile(*parsed, "profile", error);
  if (error) return std::unexpected(error->detail);
  AccountProfile profile;
  profile.company = std::move(in.company);
  profile.billingEmails = std::move(in.billingEmails);
  profile.contactEmails = std::move(in.contactEmails);
  profile.address = std::move(in.address);
  profile.vatId = std::move(in.vatId);
  if (in.paymentMethod) {
    PaymentMethodReference method;
    for (auto type :
         {domain::PaymentMethodType::Card, domain::PaymentMethodType::SepaDebit,
          domain::PaymentMethodType::AchDebit, domain::PaymentMethodType::BankTransfer}) {
      if (domain::paymentMethodTypeName(type) == in.paymentMethod->type) method.type = type;
    }
    method.reference = std::move(in.paymentMethod->reference);
    profile.paymentMethod = std::move(method);
  }
  profile.invoiceText = std::move(in.invoiceText);
  return profile;
}

}  // namespace billing::ledger
