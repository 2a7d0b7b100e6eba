#include "ledger/service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "ledger/invoicing.h"
#include "reconcilers/domain/currency.h"
#include "reconcilers/domain/formats.h"
#include "reconcilers/domain/invoice_math.h"
#include "reconcilers/domain/money.h"

namespace billing::ledger {
namespace {

using domain::Currency;
using domain::InvoiceState;
using domain::Money;

constexpr std::size_t kMaxIdLength = 128;
constexpr std::size_t kMaxTextLength = 1024;
constexpr std::size_t kMaxIdempotencyKeyLength = 255;

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string describe(const Interval& interval) {
  const bool open = interval.end.time_since_epoch().count() >= kEndOfTimeSeconds;
  return "[" + domain::formatTimestamp(interval.start) + ", " +
         (open ? std::string("open end") : domain::formatTimestamp(interval.end)) + ")";
}

std::string describe(const Membership& m) {
  return "membership " + m.id + " of project " + quoted(m.project) + " in account " +
         quoted(m.accountId) + " during " + describe(m.interval());
}

std::string invoiceName(const Invoice& invoice) {
  return invoice.number ? formatInvoiceNumber(*invoice.number) + " (" + invoice.id + ")"
                        : "draft " + invoice.id;
}

bool isLive(const Invoice& invoice) { return invoice.state != InvoiceState::Void; }
bool isIssued(const Invoice& invoice) {
  return invoice.state == InvoiceState::Finalized || invoice.state == InvoiceState::Paid;
}

// ---- validation ----

Result<void> requireText(std::string_view value, std::string_view field, bool required,
                         std::size_t maxLength = kMaxTextLength) {
  if (required && value.empty()) {
    return invalid("missing-field", std::string(field) + " is required and must not be empty",
                   std::string(field));
  }
  if (value.size() > maxLength) {
    return invalid("invalid-value",
                   std::string(field) + " is " + std::to_string(value.size()) +
                       " bytes long; at most " + std::to_string(maxLength) + " are allowed",
                   std::string(field));
  }
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return invalid("invalid-value", std::string(field) + " contains a control character",
                     std::string(field));
    }
  }
  return {};
}

// Caller-chosen ids (accounts, credit grants) travel in URL paths: keep them URL-safe.
Result<void> requireId(std::string_view value, std::string_view field) {
  LEDGER_RETURN_IF_ERROR(requireText(value, field, true, kMaxIdLength));
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) {
      return invalid("invalid-value",
                     std::string(field) + " " + quoted(value) +
                         " may only contain letters, digits, '-', '_', '.' and ':'",
                     std::string(field));
    }
  }
  return {};
}

Result<Currency> requireCurrency(std::string_view code, std::string_view field) {
  if (code.empty()) {
    return invalid("missing-field", std::string(field) + " is required (an ISO 4217 code)",
                   std::string(field));
  }
  auto currency = domain::findCurrency(code);
  if (!currency) {
    return invalid("unknown-currency",
                   std::string(field) + " " + quoted(code) +
                       " is not an active ISO 4217 currency code with a minor unit; use an "
                       "upper-case code such as EUR, USD or JPY",
                   std::string(field));
  }
  return *currency;
}

// Digits after the decimal point once trailing zeros are dropped; -1 when the text is not a
// plain decimal (the domain's parser then says what is wrong).
int significantDecimals(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return 0;
  std::string_view fraction = text.substr(dot + 1);
  if (fraction.empty()) return -1;
  for (char c : fraction) {
    if (c < '0' || c > '9') return -1;
  }
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  return static_cast<int>(fraction.size());
}

Result<Money> requireMoney(std::string_view text, const Currency& currency,
                           std::string_view field) {
  if (text.empty()) {
    return invalid("missing-field",
                   std::string(field) + " is required: a decimal string such as \"12.34\"",
                   std::string(field));
  }
  auto money = domain::parseMoney(text, currency);
  if (money) return *money;
  const int decimals = significantDecimals(text);
  if (decimals > currency.exponent) {
    return invalid("amount-precision",
                   std::string(field) + " " + quoted(text) + " has " + std::to_string(decimals) +
                       " decimal places but " + std::string(currency.code) + " has " +
                       std::to_string(currency.exponent) +
                       "; send the amount in whole minor units of the currency (the ledger "
                       "never rounds what it is given)",
                   std::string(field));
  }
  return invalid("invalid-amount", std::string(field) + ": " + money.error(), std::string(field));
}

Result<void> requirePeriod(Timestamp start, Timestamp end, std::string_view startField,
                           std::string_view endField) {
  if (end <= start) {
    return invalid("invalid-period",
                   std::string(endField) + " " + domain::formatTimestamp(end) + " is not after " +
                       std::string(startField) + " " + domain::formatTimestamp(start) +
                       "; periods are half-open intervals [start, end) and must not be empty",
                   std::string(endField));
  }
  return {};
}

Result<void> requireInstant(Timestamp t, std::string_view field) {
  const auto s = t.time_since_epoch().count();
  if (s < 0 || s >= kEndOfTimeSeconds) {
    return invalid("invalid-timestamp",
                   std::string(field) + " " + domain::formatTimestamp(t) +
                       " is outside the supported range 1970-01-01T00:00:00Z to "
                       "9999-12-31T23:59:59Z",
                   std::string(field));
  }
  return {};
}

Result<domain::Scope> requireScope(std::string_view text) {
  if (text == "Organization") return domain::Scope::Organization;
  if (text == "Project") return domain::Scope::Project;
  return invalid("invalid-value",
                 "scope " + quoted(text) + " is not one of \"Organization\", \"Project\"", "scope");
}

Result<domain::PaymentMethodType> requirePaymentMethodType(std::string_view text) {
  for (auto type : {domain::PaymentMethodType::Card, domain::PaymentMethodType::SepaDebit,
                    domain::PaymentMethodType::AchDebit, domain::PaymentMethodType::BankTransfer}) {
    if (domain::paymentMethodTypeName(type) == text) return type;
  }
  return invalid("invalid-value",
                 "profile.paymentMethod.type " + quoted(text) +
                     " is not one of \"Card\", \"SepaDebit\", \"AchDebit\", \"BankTransfer\"",
                 "profile.paymentMethod.type");
}

Result<void> requireEmails(const std::vector<std::string>& emails, std::string_view field) {
  for (std::size_t i = 0; i < emails.size(); ++i) {
    const std::string path = std::string(field) + "[" + std::to_string(i) + "]";
    LEDGER_RETURN_IF_ERROR(requireText(emails[i], path, true, 254));
    if (!domain::isEmailAddress(emails[i])) {
      return invalid("invalid-value", path + " " + quoted(emails[i]) + " is not an e-mail address",
                     path);
    }
  }
  return {};
}

Result<AccountProfile> requireProfile(const AccountProfileInput& in) {
  AccountProfile profile;
  LEDGER_RETURN_IF_ERROR(requireText(in.company, "profile.company", false));
  LEDGER_RETURN_IF_ERROR(requireEmails(in.billingEmails, "profile.billingEmails"));
  LEDGER_RETURN_IF_ERROR(requireEmails(in.contactEmails, "profile.contactEmails"));
  LEDGER_RETURN_IF_ERROR(requireText(in.vatId, "profile.vatId", false, 64));
  LEDGER_RETURN_IF_ERROR(requireText(in.invoiceText, "profile.invoiceText", false, 4096));
  if (in.address) {
    for (std::size_t i = 0; i < in.address->lines.size(); ++i) {
      LEDGER_RETURN_IF_ERROR(requireText(
          in.address->lines[i], "profile.address.lines[" + std::to_string(i) + "]", false));
    }
    LEDGER_RETURN_IF_ERROR(requireText(in.address->city, "profile.address.city", false));
    LEDGER_RETURN_IF_ERROR(requireText(in.address->state, "profile.address.state", false));
    LEDGER_RETURN_IF_ERROR(requireText(in.address->zipCode, "profile.address.zipCode", false));
    if (!in.address->countryCode.empty() && !domain::isCountryCode(in.address->countryCode)) {
      return invalid("invalid-value",
                     "profile.address.countryCode " + quoted(in.address->countryCode) +
                         " is not an ISO 3166-1 alpha-2 code such as \"DE\" or \"US\"",
                     "profile.address.countryCode");
    }
    profile.address = in.address;
  }
  if (in.paymentMethod) {
    LEDGER_ASSIGN_OR_RETURN(auto type, requirePaymentMethodType(in.paymentMethod->type));
    const std::string& reference = in.paymentMethod->reference;
    LEDGER_RETURN_IF_ERROR(requireText(reference, "profile.paymentMethod.reference", false));
    if (domain::containsCardNumber(reference) || domain::containsIban(reference)) {
      return invalid("payment-secret",
                     "profile.paymentMethod.reference looks like a card number or an IBAN; the "
                     "ledger stores where the payment secret lives (a provider token id or "
                     "\"secret://namespace/name/key\"), never the secret itself",
                     "profile.paymentMethod.reference");
    }
    profile.paymentMethod = PaymentMethodReference{type, reference};
  }
  profile.company = in.company;
  profile.billingEmails = in.billingEmails;
  profile.contactEmails = in.contactEmails;
  profile.vatId = in.vatId;
  profile.invoiceText = in.invoiceText;
  return profile;
}

Result<void> requireQuantity(std::string_view quantity) {
  if (quantity.empty()) return {};
  // The domain decides what a quantity is: ask it to split one, which parses it first.
  if (auto split = domain::prorateQuantity(quantity, 1, 2); !split) {
    return invalid("invalid-value", "quantity: " + split.error(), "quantity");
  }
  return {};
}

Result<void> requireIdempotencyKey(const RequestIdentity& id) {
  if (id.key.size() > kMaxIdempotencyKeyLength) {
    return fail(ErrorKind::Malformed, "invalid-idempotency-key",
                "the Idempotency-Key header is " + std::to_string(id.key.size()) +
                    " characters long; at most 255 are allowed");
  }
  for (char c : id.key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7e) {
      return fail(ErrorKind::Malformed, "invalid-idempotency-key",
                  "the Idempotency-Key header may only contain visible ASCII characters");
    }
  }
  return {};
}

// ---- idempotency ----

// Runs `op` unless the request's idempotency key was seen before, in which case the resource
// that the first request produced is loaded and returned with its original status. The record
// is written in the same transaction as op's effect.
template <typename T, typename Op, typename Load, typename IdOf>
Result<Outcome<T>> idempotent(Transaction& tx, std::string_view operation,
                              const RequestIdentity& id, Timestamp now, Op&& op, Load&& load,
                              IdOf&& resourceIdOf) {
  if (!id.key.empty()) {
    LEDGER_ASSIGN_OR_RETURN(auto record, tx.findIdempotencyRecord(id.key));
    if (record) {
      if (record->fingerprint != id.fingerprint || record->operation != operation) {
        return invalid("idempotency-key-reused",
                       "Idempotency-Key " + quoted(id.key) + " was first used at " +
                           domain::formatTimestamp(record->createdAt) + " for another request (" +
                           record->operation +
                           "); repeat that request exactly, or use a new key for a new request");
      }
      LEDGER_ASSIGN_OR_RETURN(T value, load(tx, record->resourceId));
      return Outcome<T>{std::move(value), record->created, true};
    }
  }
  LEDGER_ASSIGN_OR_RETURN(Outcome<T> outcome, op(tx));
  if (!id.key.empty()) {
    LEDGER_RETURN_IF_ERROR(tx.insertIdempotencyRecord(
        IdempotencyRecord{id.key, id.fingerprint, std::string(operation),
                          resourceIdOf(outcome.value), outcome.created, now}));
  }
  return outcome;
}

// ---- reads shared by several operations ----

Result<Account> loadAccount(Transaction& tx, std::string_view accountId) {
  LEDGER_ASSIGN_OR_RETURN(auto account, tx.findAccount(accountId));
  if (!account) {
    return notFound("account-not-found", "account " + quoted(accountId) +
                                             " does not exist; create it with PUT /v1/accounts/" +
                                             std::string(accountId));
  }
  return std::move(*account);
}

Result<Invoice> loadInvoice(Transaction& tx, std::string_view invoiceId) {
  LEDGER_ASSIGN_OR_RETURN(auto invoice, tx.findInvoice(invoiceId));
  if (!invoice)
    return notFound("invoice-not-found", "invoice " + quoted(invoiceId) + " does not exist");
  return std::move(*invoice);
}

Result<Currency> currencyOf(const Account& account) {
  auto currency = domain::findCurrency(account.currency);
  if (!currency) {
    return internal("account " + account.id + " is stored with unknown currency " +
                    quoted(account.currency));
  }
  return *currency;
}

bool grantUsableAt(const CreditGrant& grant, Timestamp t) {
  return !grant.expiresAt || *grant.expiresAt > t;
}

Result<CreditsView> loadCredits(Transaction& tx, const Account& account, Timestamp now) {
  LEDGER_ASSIGN_OR_RETURN(auto grants, tx.creditGrantsOf(account.id));
  LEDGER_ASSIGN_OR_RETURN(auto consumed, tx.creditConsumedByGrant(account.id));
  CreditsView view;
  view.accountId = account.id;
  view.currency = account.currency;
  for (CreditGrant& grant : grants) {
    CreditGrantView g;
    g.consumedMinor = consumed[grant.id];
    g.remainingMinor = grant.amountMinor - g.consumedMinor;
    g.expired = !grantUsableAt(grant, now);
    if (!g.expired) view.balanceMinor += g.remainingMinor;
    g.grant = std::move(grant);
    view.grants.push_back(std::move(g));
  }
  return view;
}

Result<AccountView> loadAccountView(Transaction& tx, std::string_view accountId, Timestamp now) {
  LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(tx, accountId));
  LEDGER_ASSIGN_OR_RETURN(CreditsView credits, loadCredits(tx, account, now));
  return AccountView{std::move(account), credits.balanceMinor};
}

Result<CreditGrantView> loadGrantView(Transaction& tx, const Account& account,
                                      std::string_view grantId, Timestamp now) {
  LEDGER_ASSIGN_OR_RETURN(CreditsView credits, loadCredits(tx, account, now));
  for (CreditGrantView& grant : credits.grants) {
    if (grant.grant.id == grantId) return std::move(grant);
  }
  return notFound("not-found", "credit grant " + quoted(grantId) + " of account " +
                                   quoted(account.id) + " does not exist");
}

// Credits an invoice for `period` may use, in the order they are consumed: soonest expiry first,
// grants without expiry last, then oldest first. Project accounts have none (R2).
struct UsableGrant {
  std::string id;
  std::int64_t remainingMinor = 0;
};

Result<std::vector<UsableGrant>> usableGrants(Transaction& tx, const Account& account,
                                              const Interval& period) {
  std::vector<UsableGrant> usable;
  if (account.scope != domain::Scope::Organization) return usable;
  LEDGER_ASSIGN_OR_RETURN(auto grants, tx.creditGrantsOf(account.id));
  LEDGER_ASSIGN_OR_RETURN(auto consumed, tx.creditConsumedByGrant(account.id));
  std::stable_sort(grants.begin(), grants.end(), [](const CreditGrant& a, const CreditGrant& b) {
    const auto expiry = [](const CreditGrant& g) {
      return g.expiresAt.value_or(Timestamp{std::chrono::seconds{kEndOfTimeSeconds}});
    };
    return std::make_tuple(expiry(a), a.createdAt, std::cref(a.id)) <
           std::make_tuple(expiry(b), b.createdAt, std::cref(b.id));
  });
  for (const CreditGrant& grant : grants) {
    const std::int64_t remaining = grant.amountMinor - consumed[grant.id];
    if (remaining > 0 && grantUsableAt(grant, period.start)) {
      usable.push_back(UsableGrant{grant.id, remaining});
    }
  }
  return usable;
}

Result<Billing> billingFor(Transaction& tx, const Account& account, const Invoice& invoice,
                           std::int64_t creditsAvailable) {
  LEDGER_ASSIGN_OR_RETURN(Currency currency, currencyOf(account));
  BillingInput input;
  input.currency = currency;
  input.period = invoice.period;
  input.creditsAvailableMinor = creditsAvailable;
  LEDGER_ASSIGN_OR_RETURN(input.memberships, tx.membershipsOfAccount(account.id));
  const std::set<std::string> distinct = [&] {
    std::set<std::string> out;
    for (const Membership& membership : input.memberships) out.insert(membership.project);
    return out;
  }();
  const std::vector<std::string> projects(distinct.begin(), distinct.end());
  if (projects.empty()) return computeBilling(input);
  LEDGER_ASSIGN_OR_RETURN(input.current, tx.chargesOfProjects(projects, invoice.period));
  LEDGER_ASSIGN_OR_RETURN(input.unsettled,
                          tx.unsettledChargesOfProjects(projects, invoice.period.start));
  if (!input.unsettled.empty()) {
    std::vector<std::string> ids;
    for (const Charge& charge : input.unsettled) ids.push_back(charge.id);
    LEDGER_ASSIGN_OR_RETURN(input.billed, tx.billedShares(account.id, ids));
  }
  return computeBilling(input);
}

std::int64_t sumRemaining(const std::vector<UsableGrant>& grants) {
  std::int64_t sum = 0;
  for (const UsableGrant& grant : grants) sum += grant.remainingMinor;
  return sum;
}

std::vector<ProjectTotalRecord> totalsOf(const domain::InvoiceDraft& draft) {
  std::vector<ProjectTotalRecord> totals;
  totals.reserve(draft.projectTotals.size());
  for (const auto& total : draft.projectTotals) {
    totals.push_back(ProjectTotalRecord{total.project, total.amount.minorUnits});
  }
  return totals;
}

std::vector<InvoiceLineRecord> lineRecordsOf(const Invoice& invoice, const Billing& billing) {
  std::vector<InvoiceLineRecord> lines;
  lines.reserve(billing.draft.lines.size());
  for (std::size_t i = 0; i < billing.draft.lines.size(); ++i) {
    const domain::InvoiceLine& line = billing.draft.lines[i];
    lines.push_back(InvoiceLineRecord{
        invoice.id, static_cast<std::int64_t>(i + 1), line.chargeId, billing.origins[i].clientId,
        line.project, line.service, line.description, line.quantity, line.unit,
        line.amount.minorUnits, line.period, billing.origins[i].correction});
  }
  return lines;
}

// An invoice as a reader sees it: a draft's figures are computed now, an issued invoice's are
// the stored ones.
Result<InvoiceView> loadInvoiceView(Transaction& tx, std::string_view invoiceId, bool withLines) {
  LEDGER_ASSIGN_OR_RETURN(Invoice invoice, loadInvoice(tx, invoiceId));
  InvoiceView view;
  if (invoice.state == InvoiceState::Draft) {
    LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(tx, invoice.accountId));
    LEDGER_ASSIGN_OR_RETURN(auto grants, usableGrants(tx, account, invoice.period));
    LEDGER_ASSIGN_OR_RETURN(Billing billing,
                            billingFor(tx, account, invoice, sumRemaining(grants)));
    invoice.subtotalMinor = billing.draft.subtotal.minorUnits;
    invoice.creditsAppliedMinor = billing.draft.creditsApplied.minorUnits;
    invoice.totalMinor = billing.draft.total.minorUnits;
    view.projectTotals = totalsOf(billing.draft);
    if (withLines) view.lines = lineRecordsOf(invoice, billing);
  } else {
    LEDGER_ASSIGN_OR_RETURN(view.projectTotals, tx.projectTotals(invoice.id));
    if (withLines) {
      LEDGER_ASSIGN_OR_RETURN(view.lines, tx.invoiceLines(invoice.id));
    }
  }
  view.invoice = std::move(invoice);
  return view;
}

// Memberships must not shrink into time an account has already invoiced: those shares are on
// an issued invoice, and taking them away would bill them twice (once more to the next account).
Result<void> requireNotInvoiced(Transaction& tx, const Membership& membership, Timestamp at) {
  LEDGER_ASSIGN_OR_RETURN(auto invoices, tx.invoicesOf(membership.accountId));
  for (const Invoice& invoice : invoices) {
    if (isIssued(invoice) && invoice.period.end > at) {
      return conflict("invoiced-period",
                      "account " + quoted(membership.accountId) + " has issued invoice " +
                          invoiceName(invoice) + " for " + describe(invoice.period) +
                          ", which includes time after " + domain::formatTimestamp(at) +
                          "; take the change effect at or after " +
                          domain::formatTimestamp(invoice.period.end) +
                          ", or void that invoice first",
                      "at");
    }
  }
  return {};
}

// Charges of `project` during `range` must be in `account`'s currency.
Result<void> requireChargeCurrency(Transaction& tx, std::string_view project,
                                   const Account& account, const Interval& range) {
  LEDGER_ASSIGN_OR_RETURN(auto charges, tx.chargesOfProject(project, range));
  for (const Charge& charge : charges) {
    if (charge.currency != account.currency) {
      return conflict("currency-mismatch",
                      "project " + quoted(project) + " has charge " + quoted(charge.clientId) +
                          " in " + charge.currency + " during " + describe(charge.period) +
                          ", but account " + quoted(account.id) + " bills in " + account.currency +
                          "; a project can only move between accounts of "
                          "the same currency while it has charges");
    }
  }
  return {};
}

bool sameCharge(const Charge& c, const ChargeInput& in, std::int64_t amountMinor) {
  return c.project == in.project && c.service == in.service && c.description == in.description &&
         c.quantity == in.quantity && c.unit == in.unit && c.currency == in.currency &&
         c.amountMinor == amountMinor && c.period == Interval{in.periodStart, in.periodEnd};
}

struct ValidCharge {
  Currency currency;
  Money amount;
};

Result<ValidCharge> validateCharge(const ChargeInput& in) {
  LEDGER_RETURN_IF_ERROR(requireText(in.clientId, "clientId", true, 256));
  LEDGER_RETURN_IF_ERROR(requireText(in.project, "project", true, 320));
  LEDGER_RETURN_IF_ERROR(requireText(in.service, "service", true));
  LEDGER_RETURN_IF_ERROR(requireText(in.description, "description", false));
  LEDGER_RETURN_IF_ERROR(requireText(in.unit, "unit", false));
  LEDGER_RETURN_IF_ERROR(requireQuantity(in.quantity));
  LEDGER_ASSIGN_OR_RETURN(Currency currency, requireCurrency(in.currency, "currency"));
  LEDGER_ASSIGN_OR_RETURN(Money amount, requireMoney(in.amount, currency, "amount"));
  LEDGER_RETURN_IF_ERROR(requireInstant(in.periodStart, "periodStart"));
  LEDGER_RETURN_IF_ERROR(requireInstant(in.periodEnd, "periodEnd"));
  LEDGER_RETURN_IF_ERROR(requirePeriod(in.periodStart, in.periodEnd, "periodStart", "periodEnd"));
  return ValidCharge{currency, amount};
}

// Posts one validated charge inside `tx`; `accounts` caches account lookups across a batch.
Result<Outcome<Charge>> insertCharge(Transaction& tx, const ChargeInput& in,
                                     const ValidCharge& valid, Timestamp now,
                                     std::map<std::string, Account>& accounts) {
  LEDGER_ASSIGN_OR_RETURN(auto existing, tx.findChargeByClientId(in.clientId));
  if (existing) {
    if (!sameCharge(*existing, in, valid.amount.minorUnits)) {
      return conflict("charge-conflict",
                      "a charge with clientId " + quoted(in.clientId) + " already exists (" +
                          existing->id +
                          ") with other content; a clientId identifies one charge forever, so "
                          "post a correction under a new clientId",
                      "clientId");
    }
    return Outcome<Charge>{std::move(*existing), false, false};
  }
  const Interval period{in.periodStart, in.periodEnd};
  LEDGER_ASSIGN_OR_RETURN(auto memberships, tx.membershipsOfProject(in.project));
  if (auto gap = firstUncoveredStretch(memberships, period)) {
    return conflict("no-membership",
                    "project " + quoted(in.project) + " belongs to no account during " +
                        describe(*gap) + ", part of the charge period " + describe(period) +
                        "; add the project to an account (POST /v1/memberships) before posting "
                        "charges for that time",
                    "project");
  }
  for (const Membership& membership : memberships) {
    if (membership.empty() || domain::intersect(membership.interval(), period).empty()) continue;
    auto cached = accounts.find(membership.accountId);
    if (cached == accounts.end()) {
      LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(tx, membership.accountId));
      cached = accounts.emplace(account.id, std::move(account)).first;
    }
    if (cached->second.currency != in.currency) {
      return invalid("currency-mismatch",
                     "the charge is in " + in.currency + " but project " + quoted(in.project) +
                         " belongs to account " + quoted(cached->second.id) + ", which bills in " +
                         cached->second.currency + ", during " +
                         describe(domain::intersect(membership.interval(), period)) +
                         "; convert the charge to " + cached->second.currency,
                     "currency");
    }
  }
  Charge charge;
  charge.id = newResourceId("chg");
  charge.clientId = in.clientId;
  charge.project = in.project;
  charge.service = in.service;
  charge.description = in.description;
  charge.quantity = in.quantity;
  charge.unit = in.unit;
  charge.currency = in.currency;
  charge.amountMinor = valid.amount.minorUnits;
  charge.period = period;
  charge.receivedAt = now;
  LEDGER_RETURN_IF_ERROR(tx.insertCharge(charge));
  return Outcome<Charge>{std::move(charge), true, false};
}

std::string membershipId(const Membership& m) { return m.id; }
std::string chargeId(const Charge& c) { return c.id; }
std::string accountIdOf(const AccountView& a) { return a.account.id; }
std::string invoiceIdOf(const InvoiceView& v) { return v.invoice.id; }

}  // namespace

Timestamp systemNow() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string newResourceId(std::string_view prefix) {
  unsigned char bytes[10];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // The CSPRNG failing is not something to continue from quietly; ids would collide.
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  id += '_';
  for (unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 0xf];
  }
  return id;
}

LedgerService::LedgerService(Store& store, Clock clock) : store_(store), clock_(std::move(clock)) {}

// ---- accounts ----

Result<Outcome<AccountView>> LedgerService::putAccount(const AccountInput& in,
                                                       const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_RETURN_IF_ERROR(requireId(in.id, "id"));
  LEDGER_RETURN_IF_ERROR(requireText(in.name, "name", true, 256));
  LEDGER_RETURN_IF_ERROR(requireText(in.organization, "organization", true, 256));
  LEDGER_ASSIGN_OR_RETURN(domain::Scope scope, requireScope(in.scope));
  LEDGER_ASSIGN_OR_RETURN(Currency currency, requireCurrency(in.currency, "currency"));
  LEDGER_ASSIGN_OR_RETURN(AccountProfile profile, requireProfile(in.profile));
  const Timestamp now = this->now();

  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<AccountView>(
        tx, "putAccount", id, now,
        [&](Transaction& t) -> Result<Outcome<AccountView>> {
          LEDGER_ASSIGN_OR_RETURN(auto existing, t.findAccount(in.id));
          if (!existing) {
            Account account{
                in.id, in.name, in.organization, scope, std::string(currency.code), profile,
                now,   now,     std::nullopt};
            LEDGER_RETURN_IF_ERROR(t.insertAccount(account));
            return Outcome<AccountView>{AccountView{std::move(account), 0}, true, false};
          }
          Account account = std::move(*existing);
          if (account.currency != currency.code) {
            return conflict("immutable-field",
                            "account " + quoted(account.id) + " bills in " + account.currency +
                                " and its currency cannot change; create a new account for " +
                                std::string(currency.code),
                            "currency");
          }
          if (account.organization != in.organization) {
            return conflict("immutable-field",
                            "account " + quoted(account.id) + " belongs to organization " +
                                quoted(account.organization) +
                                " and cannot move to another organization (R10)",
                            "organization");
          }
          const bool unchanged =
              account.name == in.name && account.scope == scope && account.profile == profile;
          if (!unchanged) {
            if (account.closedAt) {
              return conflict("account-closed", "account " + quoted(account.id) +
                                                    " was closed at " +
                                                    domain::formatTimestamp(*account.closedAt) +
                                                    " and can no longer change");
            }
            if (account.scope == domain::Scope::Organization && scope == domain::Scope::Project) {
              LEDGER_ASSIGN_OR_RETURN(CreditsView credits, loadCredits(t, account, now));
              if (credits.balanceMinor > 0) {
                return conflict(
                    "credit-balance-remaining",
                    "account " + quoted(account.id) + " still has " +
                        domain::formatMoney(Money{credits.balanceMinor, currency}) + " " +
                        account.currency +
                        " of credits, which only organization accounts may hold (R2); use them "
                        "up or let them expire before changing the scope to Project",
                    "scope");
              }
            }
            account.name = in.name;
            account.scope = scope;
            account.profile = profile;
            account.updatedAt = now;
            LEDGER_RETURN_IF_ERROR(t.updateAccount(account));
          }
          LEDGER_ASSIGN_OR_RETURN(CreditsView credits, loadCredits(t, account, now));
          return Outcome<AccountView>{AccountView{std::move(account), credits.balanceMinor}, false,
                                      false};
        },
        [&](Transaction& t, const std::string& resource) {
          return loadAccountView(t, resource, now);
        },
        accountIdOf);
  });
}

Result<AccountView> LedgerService::getAccount(std::string_view accountId) {
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadOnly,
                         [&](Transaction& tx) { return loadAccountView(tx, accountId, now); });
}

Result<std::vector<AccountView>> LedgerService::listAccounts(
    std::optional<std::string> organization) {
  const Timestamp now = this->now();
  return store_.transact(
      TransactionMode::ReadOnly, [&](Transaction& tx) -> Result<std::vector<AccountView>> {
        LEDGER_ASSIGN_OR_RETURN(auto accounts, tx.listAccounts(organization));
        std::sort(accounts.begin(), accounts.end(),
                  [](const Account& a, const Account& b) { return a.id < b.id; });
        std::vector<AccountView> views;
        for (Account& account : accounts) {
          LEDGER_ASSIGN_OR_RETURN(CreditsView credits, loadCredits(tx, account, now));
          views.push_back(AccountView{std::move(account), credits.balanceMinor});
        }
        return views;
      });
}

Result<Outcome<AccountView>> LedgerService::closeAccount(std::string_view accountId,
                                                         std::optional<Timestamp> at,
                                                         const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  const Timestamp now = this->now();
  const Timestamp closeAt = at.value_or(now);
  LEDGER_RETURN_IF_ERROR(requireInstant(closeAt, "at"));
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<AccountView>(
        tx, "closeAccount", id, now,
        [&](Transaction& t) -> Result<Outcome<AccountView>> {
          LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(t, accountId));
          if (!account.closedAt) {
            LEDGER_ASSIGN_OR_RETURN(auto memberships, t.membershipsOfAccount(account.id));
            std::set<std::string> open;
            for (const Membership& m : memberships) {
              if (!m.empty() && (!m.effectiveTo || *m.effectiveTo > closeAt))
                open.insert(m.project);
            }
            if (!open.empty()) {
              std::string list;
              for (const std::string& project : open) {
                list += (list.empty() ? "" : ", ") + quoted(project);
              }
              return conflict("account-has-projects",
                              "account " + quoted(account.id) + " still has projects at " +
                                  domain::formatTimestamp(closeAt) + ": " + list +
                                  "; move or end their memberships first (R6)");
            }
            account.closedAt = closeAt;
            account.updatedAt = now;
            LEDGER_RETURN_IF_ERROR(t.updateAccount(account));
          }
          LEDGER_ASSIGN_OR_RETURN(CreditsView credits, loadCredits(t, account, now));
          return Outcome<AccountView>{AccountView{std::move(account), credits.balanceMinor}, false,
                                      false};
        },
        [&](Transaction& t, const std::string& resource) {
          return loadAccountView(t, resource, now);
        },
        accountIdOf);
  });
}

// ---- memberships ----

namespace {

// How a repeated idempotent membership call finds what the first one created.
Result<Membership> replayMembership(Transaction& t, const std::string& resource) {
  LEDGER_ASSIGN_OR_RETURN(auto m, t.findMembership(resource));
  if (!m) return internal("idempotency record points at missing membership " + resource);
  return std::move(*m);
}

}  // namespace

Result<Outcome<Membership>> LedgerService::addMembership(const MembershipInput& in,
                                                         const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_RETURN_IF_ERROR(requireText(in.project, "project", true, 320));
  LEDGER_RETURN_IF_ERROR(requireText(in.accountId, "accountId", true, kMaxIdLength));
  LEDGER_RETURN_IF_ERROR(requireInstant(in.effectiveFrom, "effectiveFrom"));
  if (in.effectiveTo) {
    LEDGER_RETURN_IF_ERROR(requireInstant(*in.effectiveTo, "effectiveTo"));
    LEDGER_RETURN_IF_ERROR(
        requirePeriod(in.effectiveFrom, *in.effectiveTo, "effectiveFrom", "effectiveTo"));
  }
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<Membership>(
        tx, "addMembership", id, now,
        [&](Transaction& t) -> Result<Outcome<Membership>> {
          LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(t, in.accountId));
          Membership membership{newResourceId("mem"), in.project,     in.accountId,
                                in.effectiveFrom,     in.effectiveTo, now};
          if (account.closedAt && membership.interval().end > *account.closedAt) {
            return conflict("account-closed",
                            "account " + quoted(account.id) + " was closed at " +
                                domain::formatTimestamp(*account.closedAt) +
                                "; a membership in it must end by then",
                            "accountId");
          }
          LEDGER_ASSIGN_OR_RETURN(auto existing, t.membershipsOfProject(in.project));
          for (const Membership& other : existing) {
            if (other.accountId == in.accountId && other.effectiveFrom == in.effectiveFrom &&
                other.effectiveTo == in.effectiveTo) {
              return Outcome<Membership>{other, false, false};
            }
          }
          for (const Membership& other : existing) {
            if (other.empty()) continue;
            if (!domain::intersect(other.interval(), membership.interval()).empty()) {
              return conflict("overlapping-membership",
                              "project " + quoted(in.project) + " already belongs to account " +
                                  quoted(other.accountId) + " during " +
                                  describe(other.interval()) + " (" + other.id +
                                  "), which overlaps " + describe(membership.interval()) +
                                  "; a project belongs to exactly one account at any instant, so "
                                  "move it (POST /v1/memberships/move) or end that membership "
                                  "first",
                              "effectiveFrom");
            }
          }
          LEDGER_RETURN_IF_ERROR(
              requireChargeCurrency(t, in.project, account, membership.interval()));
          LEDGER_RETURN_IF_ERROR(t.insertMembership(membership));
          return Outcome<Membership>{std::move(membership), true, false};
        },
        replayMembership, membershipId);
  });
}

Result<Outcome<Membership>> LedgerService::moveProject(const MoveInput& in,
                                                       const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_RETURN_IF_ERROR(requireText(in.project, "project", true, 320));
  LEDGER_RETURN_IF_ERROR(requireText(in.toAccountId, "toAccountId", true, kMaxIdLength));
  LEDGER_RETURN_IF_ERROR(requireInstant(in.at, "at"));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<Membership>(
        tx, "moveProject", id, now,
        [&](Transaction& t) -> Result<Outcome<Membership>> {
          LEDGER_ASSIGN_OR_RETURN(Account target, loadAccount(t, in.toAccountId));
          LEDGER_ASSIGN_OR_RETURN(auto memberships, t.membershipsOfProject(in.project));
          std::optional<Membership> current;
          for (const Membership& m : memberships) {
            if (m.empty()) continue;
            if (m.interval().contains(in.at)) current = m;
            if (m.effectiveFrom > in.at) {
              return conflict("membership-state",
                              "project " + quoted(in.project) + " has " + describe(m) +
                                  ", which starts after " + domain::formatTimestamp(in.at) +
                                  "; a move changes the account from `at` on and cannot jump "
                                  "over a planned membership",
                              "at");
            }
          }
          if (current && current->accountId == in.toAccountId) {
            return Outcome<Membership>{std::move(*current), false, false};
          }
          Membership next{newResourceId("mem"),
                          in.project,
                          in.toAccountId,
                          in.at,
                          current ? current->effectiveTo : std::nullopt,
                          now};
          if (target.closedAt && next.interval().end > *target.closedAt) {
            return conflict("account-closed",
                            "account " + quoted(target.id) + " was closed at " +
                                domain::formatTimestamp(*target.closedAt) +
                                "; projects cannot move into it",
                            "toAccountId");
          }
          if (current) {
            LEDGER_RETURN_IF_ERROR(requireNotInvoiced(t, *current, in.at));
            LEDGER_RETURN_IF_ERROR(t.setMembershipEnd(current->id, in.at));
          }
          LEDGER_RETURN_IF_ERROR(requireChargeCurrency(t, in.project, target, next.interval()));
          LEDGER_RETURN_IF_ERROR(t.insertMembership(next));
          return Outcome<Membership>{std::move(next), true, false};
        },
        replayMembership, membershipId);
  });
}

Result<Outcome<Membership>> LedgerService::endMembership(const EndMembershipInput& in,
                                                         const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_RETURN_IF_ERROR(requireText(in.project, "project", true, 320));
  LEDGER_RETURN_IF_ERROR(requireInstant(in.at, "at"));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<Membership>(
        tx, "endMembership", id, now,
        [&](Transaction& t) -> Result<Outcome<Membership>> {
          LEDGER_ASSIGN_OR_RETURN(auto memberships, t.membershipsOfProject(in.project));
          std::optional<Membership> current;
          for (const Membership& m : memberships) {
            if (!m.empty() && m.interval().contains(in.at)) current = m;
          }
          if (!current) {
            for (const Membership& m : memberships) {
              if (m.effectiveTo == in.at) return Outcome<Membership>{m, false, false};
            }
            return conflict("membership-state",
                            "project " + quoted(in.project) + " belongs to no account at " +
                                domain::formatTimestamp(in.at) + "; there is nothing to end",
                            "at");
          }
          LEDGER_RETURN_IF_ERROR(requireNotInvoiced(t, *current, in.at));
          LEDGER_ASSIGN_OR_RETURN(
              auto later, t.chargesOfProject(in.project, Interval{in.at, current->interval().end}));
          if (!later.empty()) {
            return conflict("charges-after-end",
                            "project " + quoted(in.project) + " has charge " +
                                quoted(later.front().clientId) + " for " +
                                describe(later.front().period) + ", after " +
                                domain::formatTimestamp(in.at) +
                                "; end the membership after its last charge, or move the project "
                                "to another account instead",
                            "at");
          }
          LEDGER_RETURN_IF_ERROR(t.setMembershipEnd(current->id, in.at));
          current->effectiveTo = in.at;
          return Outcome<Membership>{std::move(*current), false, false};
        },
        replayMembership, membershipId);
  });
}

Result<std::vector<Membership>> LedgerService::listMemberships(
    std::optional<std::string> project, std::optional<std::string> accountId) {
  if (!project && !accountId) {
    return invalid("missing-field", "give the query parameter project or accountId", "project");
  }
  return store_.transact(
      TransactionMode::ReadOnly, [&](Transaction& tx) -> Result<std::vector<Membership>> {
        std::vector<Membership> out;
        if (project) {
          LEDGER_ASSIGN_OR_RETURN(out, tx.membershipsOfProject(*project));
          if (accountId) {
            std::erase_if(out, [&](const Membership& m) { return m.accountId != *accountId; });
          }
        } else {
          LEDGER_ASSIGN_OR_RETURN(out, tx.membershipsOfAccount(*accountId));
        }
        std::sort(out.begin(), out.end(), [](const Membership& a, const Membership& b) {
          return std::tie(a.project, a.effectiveFrom, a.id) <
                 std::tie(b.project, b.effectiveFrom, b.id);
        });
        return out;
      });
}

// ---- charges ----

Result<Outcome<Charge>> LedgerService::postCharge(const ChargeInput& in,
                                                  const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_ASSIGN_OR_RETURN(ValidCharge valid, validateCharge(in));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<Charge>(
        tx, "postCharge", id, now,
        [&](Transaction& t) {
          std::map<std::string, Account> accounts;
          return insertCharge(t, in, valid, now, accounts);
        },
        [&](Transaction& t, const std::string& resource) -> Result<Charge> {
          LEDGER_ASSIGN_OR_RETURN(auto charge, t.findCharge(resource));
          if (!charge) return internal("idempotency record points at missing charge " + resource);
          return std::move(*charge);
        },
        chargeId);
  });
}

Result<Outcome<std::vector<Charge>>> LedgerService::postCharges(std::span<const ChargeInput> inputs,
                                                                const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  std::vector<ValidCharge> valid;
  valid.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto checked = validateCharge(inputs[i]);
    if (!checked) {
      Error error = std::move(checked).error();
      const std::string prefix = "charges[" + std::to_string(i) + "]";
      error.field = error.field.empty() ? prefix : prefix + "." + error.field;
      error.detail = prefix + ": " + error.detail;
      return std::unexpected(std::move(error));
    }
    valid.push_back(*checked);
  }
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<std::vector<Charge>>(
        tx, "postCharges", id, now,
        [&](Transaction& t) -> Result<Outcome<std::vector<Charge>>> {
          std::map<std::string, Account> accounts;
          Outcome<std::vector<Charge>> out;
          out.value.reserve(inputs.size());
          for (std::size_t i = 0; i < inputs.size(); ++i) {
            auto outcome = insertCharge(t, inputs[i], valid[i], now, accounts);
            if (!outcome) {
              Error error = std::move(outcome).error();
              const std::string prefix = "charges[" + std::to_string(i) + "]";
              error.field = error.field.empty() ? prefix : prefix + "." + error.field;
              error.detail = prefix + ": " + error.detail;
              return std::unexpected(std::move(error));
            }
            out.created = out.created || outcome->created;
            out.value.push_back(std::move(outcome->value));
          }
          return out;
        },
        [&](Transaction& t, const std::string& resource) -> Result<std::vector<Charge>> {
          std::vector<Charge> charges;
          std::size_t begin = 0;
          while (begin < resource.size()) {
            std::size_t end = resource.find(',', begin);
            if (end == std::string::npos) end = resource.size();
            LEDGER_ASSIGN_OR_RETURN(auto charge, t.findCharge(resource.substr(begin, end - begin)));
            if (!charge) return internal("idempotency record points at a missing charge");
            charges.push_back(std::move(*charge));
            begin = end + 1;
          }
          return charges;
        },
        [](const std::vector<Charge>& charges) {
          std::string ids;
          for (const Charge& charge : charges) ids += (ids.empty() ? "" : ",") + charge.id;
          return ids;
        });
  });
}

Result<Charge> LedgerService::getCharge(std::string_view chargeId) {
  return store_.transact(TransactionMode::ReadOnly, [&](Transaction& tx) -> Result<Charge> {
    LEDGER_ASSIGN_OR_RETURN(auto charge, tx.findCharge(chargeId));
    if (!charge)
      return notFound("charge-not-found", "charge " + quoted(chargeId) + " does not exist");
    return std::move(*charge);
  });
}

Result<std::vector<Charge>> LedgerService::listCharges(std::string_view project,
                                                       std::optional<Interval> overlapping) {
  if (project.empty())
    return invalid("missing-field", "give the query parameter project", "project");
  const Interval range = overlapping.value_or(
      Interval{Timestamp{}, Timestamp{std::chrono::seconds{kEndOfTimeSeconds}}});
  return store_.transact(TransactionMode::ReadOnly,
                         [&](Transaction& tx) { return tx.chargesOfProject(project, range); });
}

// ---- credits ----

Result<Outcome<CreditGrantView>> LedgerService::grantCredit(std::string_view accountId,
                                                            const CreditGrantInput& in,
                                                            const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_RETURN_IF_ERROR(requireId(in.id, "id"));
  LEDGER_RETURN_IF_ERROR(requireText(in.description, "description", false));
  if (in.expiresAt) LEDGER_RETURN_IF_ERROR(requireInstant(*in.expiresAt, "expiresAt"));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<CreditGrantView>(
        tx, "grantCredit", id, now,
        [&](Transaction& t) -> Result<Outcome<CreditGrantView>> {
          LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(t, accountId));
          if (account.scope != domain::Scope::Organization) {
            return conflict("credits-not-allowed",
                            "account " + quoted(account.id) +
                                " is a Project account; credits exist only on Organization "
                                "accounts (R2)");
          }
          if (account.closedAt) {
            return conflict("account-closed", "account " + quoted(account.id) + " was closed at " +
                                                  domain::formatTimestamp(*account.closedAt) +
                                                  " and takes no new credits");
          }
          LEDGER_ASSIGN_OR_RETURN(Currency currency, currencyOf(account));
          LEDGER_ASSIGN_OR_RETURN(Money amount, requireMoney(in.amount, currency, "amount"));
          if (amount.minorUnits <= 0) {
            return invalid("invalid-amount",
                           "amount " + quoted(in.amount) + " must be greater than zero", "amount");
          }
          LEDGER_ASSIGN_OR_RETURN(auto existing, t.findCreditGrant(account.id, in.id));
          if (existing) {
            if (existing->amountMinor != amount.minorUnits ||
                existing->description != in.description || existing->expiresAt != in.expiresAt) {
              return conflict("credit-conflict",
                              "credit grant " + quoted(in.id) + " of account " +
                                  quoted(account.id) +
                                  " already exists with other content; grants cannot change, "
                                  "grant another one under a new id",
                              "id");
            }
            LEDGER_ASSIGN_OR_RETURN(auto view, loadGrantView(t, account, in.id, now));
            return Outcome<CreditGrantView>{std::move(view), false, false};
          }
          LEDGER_RETURN_IF_ERROR(t.insertCreditGrant(CreditGrant{
              account.id, in.id, amount.minorUnits, in.description, in.expiresAt, now}));
          LEDGER_ASSIGN_OR_RETURN(auto view, loadGrantView(t, account, in.id, now));
          return Outcome<CreditGrantView>{std::move(view), true, false};
        },
        [&](Transaction& t, const std::string& resource) -> Result<CreditGrantView> {
          LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(t, accountId));
          return loadGrantView(t, account, resource, now);
        },
        [](const CreditGrantView& view) { return view.grant.id; });
  });
}

Result<CreditsView> LedgerService::getCredits(std::string_view accountId) {
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadOnly, [&](Transaction& tx) -> Result<CreditsView> {
    LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(tx, accountId));
    return loadCredits(tx, account, now);
  });
}

// ---- invoices ----

Result<Outcome<InvoiceView>> LedgerService::createInvoice(std::string_view accountId,
                                                          const Interval& period,
                                                          const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_RETURN_IF_ERROR(requireInstant(period.start, "periodStart"));
  LEDGER_RETURN_IF_ERROR(requireInstant(period.end, "periodEnd"));
  LEDGER_RETURN_IF_ERROR(requirePeriod(period.start, period.end, "periodStart", "periodEnd"));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<InvoiceView>(
        tx, "createInvoice", id, now,
        [&](Transaction& t) -> Result<Outcome<InvoiceView>> {
          LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(t, accountId));
          LEDGER_ASSIGN_OR_RETURN(auto live, t.findLiveInvoice(account.id, period));
          if (live) {
            LEDGER_ASSIGN_OR_RETURN(auto view, loadInvoiceView(t, live->id, false));
            return Outcome<InvoiceView>{std::move(view), false, false};
          }
          LEDGER_ASSIGN_OR_RETURN(auto invoices, t.invoicesOf(account.id));
          for (const Invoice& other : invoices) {
            if (!isLive(other)) continue;
            if (!domain::intersect(other.period, period).empty()) {
              return conflict("invoice-overlap",
                              "account " + quoted(account.id) + " already has invoice " +
                                  invoiceName(other) + " for " + describe(other.period) +
                                  ", which overlaps " + describe(period) +
                                  "; invoice periods of an account must not overlap",
                              "periodStart");
            }
            if (isIssued(other) && other.period.start >= period.end) {
              return conflict("invoice-order",
                              "account " + quoted(account.id) + " already has issued invoice " +
                                  invoiceName(other) + " for the later period " +
                                  describe(other.period) +
                                  "; charges of earlier periods go onto the next invoice as "
                                  "corrections instead",
                              "periodStart");
            }
          }
          Invoice invoice;
          invoice.id = newResourceId("inv");
          invoice.accountId = account.id;
          invoice.state = InvoiceState::Draft;
          invoice.currency = account.currency;
          invoice.period = period;
          invoice.createdAt = now;
          LEDGER_RETURN_IF_ERROR(t.insertInvoice(invoice));
          LEDGER_ASSIGN_OR_RETURN(auto view, loadInvoiceView(t, invoice.id, false));
          return Outcome<InvoiceView>{std::move(view), true, false};
        },
        [&](Transaction& t, const std::string& resource) {
          return loadInvoiceView(t, resource, false);
        },
        invoiceIdOf);
  });
}

Result<InvoiceView> LedgerService::getInvoice(std::string_view invoiceId, bool withLines) {
  return store_.transact(TransactionMode::ReadOnly, [&](Transaction& tx) {
    return loadInvoiceView(tx, invoiceId, withLines);
  });
}

Result<std::vector<InvoiceView>> LedgerService::listInvoices(std::string_view accountId) {
  return store_.transact(
      TransactionMode::ReadOnly, [&](Transaction& tx) -> Result<std::vector<InvoiceView>> {
        LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(tx, accountId));
        LEDGER_ASSIGN_OR_RETURN(auto invoices, tx.invoicesOf(account.id));
        std::vector<InvoiceView> views;
        for (const Invoice& invoice : invoices) {
          LEDGER_ASSIGN_OR_RETURN(auto view, loadInvoiceView(tx, invoice.id, false));
          views.push_back(std::move(view));
        }
        return views;
      });
}

Result<Outcome<InvoiceView>> LedgerService::finalizeInvoice(std::string_view invoiceId,
                                                            const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<InvoiceView>(
        tx, "finalizeInvoice", id, now,
        [&](Transaction& t) -> Result<Outcome<InvoiceView>> {
          LEDGER_ASSIGN_OR_RETURN(Invoice invoice, loadInvoice(t, invoiceId));
          if (isIssued(invoice)) {
            LEDGER_ASSIGN_OR_RETURN(auto view, loadInvoiceView(t, invoice.id, false));
            return Outcome<InvoiceView>{std::move(view), false, false};
          }
          if (invoice.state == InvoiceState::Void) {
            return conflict("invoice-state", "invoice " + invoiceName(invoice) +
                                                 " is void and cannot be finalized; create a new "
                                                 "invoice for the period");
          }
          LEDGER_ASSIGN_OR_RETURN(Account account, loadAccount(t, invoice.accountId));
          LEDGER_ASSIGN_OR_RETURN(auto invoices, t.invoicesOf(account.id));
          for (const Invoice& other : invoices) {
            if (other.id == invoice.id) continue;
            if (other.state == InvoiceState::Draft && other.period.end <= invoice.period.start) {
              return conflict("invoice-order",
                              "account " + quoted(account.id) + " has " + invoiceName(other) +
                                  " for the earlier period " + describe(other.period) +
                                  "; finalize (or void) it first: invoices are issued in period "
                                  "order");
            }
            if (isIssued(other) && other.period.start >= invoice.period.end) {
              return conflict("invoice-order",
                              "account " + quoted(account.id) + " already has issued invoice " +
                                  invoiceName(other) + " for the later period " +
                                  describe(other.period) + "; void this draft instead");
            }
          }
          LEDGER_ASSIGN_OR_RETURN(auto grants, usableGrants(t, account, invoice.period));
          LEDGER_ASSIGN_OR_RETURN(Billing billing,
                                  billingFor(t, account, invoice, sumRemaining(grants)));
          LEDGER_ASSIGN_OR_RETURN(invoice.number, t.nextInvoiceNumber());
          LEDGER_RETURN_IF_ERROR(t.insertInvoiceLines(lineRecordsOf(invoice, billing)));
          LEDGER_RETURN_IF_ERROR(t.insertProjectTotals(invoice.id, totalsOf(billing.draft)));
          LEDGER_RETURN_IF_ERROR(t.applyInvoiceToCharges(invoice.id, +1));
          std::vector<CreditConsumption> consumptions;
          std::int64_t toApply = billing.draft.creditsApplied.minorUnits;
          for (const UsableGrant& grant : grants) {
            if (toApply <= 0) break;
            const std::int64_t take = std::min(toApply, grant.remainingMinor);
            consumptions.push_back(CreditConsumption{invoice.id, grant.id, take});
            toApply -= take;
          }
          LEDGER_RETURN_IF_ERROR(t.insertCreditConsumptions(account.id, consumptions));
          invoice.state = InvoiceState::Finalized;
          invoice.subtotalMinor = billing.draft.subtotal.minorUnits;
          invoice.creditsAppliedMinor = billing.draft.creditsApplied.minorUnits;
          invoice.totalMinor = billing.draft.total.minorUnits;
          invoice.finalizedAt = now;
          LEDGER_RETURN_IF_ERROR(t.updateInvoice(invoice));
          InvoiceView view{std::move(invoice), totalsOf(billing.draft), {}};
          return Outcome<InvoiceView>{std::move(view), false, false};
        },
        [&](Transaction& t, const std::string& resource) {
          return loadInvoiceView(t, resource, false);
        },
        invoiceIdOf);
  });
}

Result<Outcome<InvoiceView>> LedgerService::payInvoice(std::string_view invoiceId,
                                                       const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<InvoiceView>(
        tx, "payInvoice", id, now,
        [&](Transaction& t) -> Result<Outcome<InvoiceView>> {
          LEDGER_ASSIGN_OR_RETURN(Invoice invoice, loadInvoice(t, invoiceId));
          if (invoice.state == InvoiceState::Draft || invoice.state == InvoiceState::Void) {
            return conflict("invoice-state",
                            "invoice " + invoiceName(invoice) + " is " +
                                std::string(domain::invoiceStateName(invoice.state)) +
                                "; only a Finalized invoice can be paid");
          }
          if (invoice.state == InvoiceState::Finalized) {
            invoice.state = InvoiceState::Paid;
            invoice.paidAt = now;
            LEDGER_RETURN_IF_ERROR(t.updateInvoice(invoice));
          }
          LEDGER_ASSIGN_OR_RETURN(auto view, loadInvoiceView(t, invoice.id, false));
          return Outcome<InvoiceView>{std::move(view), false, false};
        },
        [&](Transaction& t, const std::string& resource) {
          return loadInvoiceView(t, resource, false);
        },
        invoiceIdOf);
  });
}

Result<Outcome<InvoiceView>> LedgerService::voidInvoice(std::string_view invoiceId,
                                                        std::string reason,
                                                        const RequestIdentity& id) {
  LEDGER_RETURN_IF_ERROR(requireIdempotencyKey(id));
  LEDGER_RETURN_IF_ERROR(requireText(reason, "reason", false));
  const Timestamp now = this->now();
  return store_.transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return idempotent<InvoiceView>(
        tx, "voidInvoice", id, now,
        [&](Transaction& t) -> Result<Outcome<InvoiceView>> {
          LEDGER_ASSIGN_OR_RETURN(Invoice invoice, loadInvoice(t, invoiceId));
          if (invoice.state == InvoiceState::Paid) {
            return conflict("invoice-state",
                            "invoice " + invoiceName(invoice) +
                                " is paid and cannot be voided; refund with a credit grant or a "
                                "negative charge instead");
          }
          if (invoice.state == InvoiceState::Finalized) {
            // Its credits come back and its charge shares become unbilled again: they go onto
            // the account's next invoice as corrections, or onto a new invoice for the period.
            LEDGER_RETURN_IF_ERROR(t.deleteCreditConsumptions(invoice.id));
            LEDGER_RETURN_IF_ERROR(t.applyInvoiceToCharges(invoice.id, -1));
          }
          if (invoice.state != InvoiceState::Void) {
            invoice.state = InvoiceState::Void;
            invoice.voidedAt = now;
            invoice.voidReason = reason;
            LEDGER_RETURN_IF_ERROR(t.updateInvoice(invoice));
          }
          LEDGER_ASSIGN_OR_RETURN(auto view, loadInvoiceView(t, invoice.id, false));
          return Outcome<InvoiceView>{std::move(view), false, false};
        },
        [&](Transaction& t, const std::string& resource) {
          return loadInvoiceView(t, resource, false);
        },
        invoiceIdOf);
  });
}

}  // namespace billing::ledger
