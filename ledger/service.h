// The ledger's service logic: accounts, memberships, charges, credits and invoices over a Store.
// It validates every input (currency, precision, periods, overlaps), enforces the invariants
// that keep money exact and never lost, and makes every creating call idempotent. No HTTP here:
// http_api.h maps requests to these calls and results to the REST representations.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/error.h"
#include "ledger/records.h"
#include "ledger/store.h"

namespace billing::ledger {

// The idempotency of one request. An empty key means none was given: the call is then only as
// idempotent as its natural key (account id, charge client id, credit grant id, invoice period).
// A key seen before with the same fingerprint replays the first call's result; with another
// fingerprint it is an error (422 idempotency-key-reused).
struct RequestIdentity {
  std::string key;
  std::string fingerprint;  // e.g. a hash of method, path and canonical body
};

// The result of a creating call.
template <typename T>
struct Outcome {
  T value;
  bool created = false;   // a new resource (201) rather than an existing or updated one (200)
  bool replayed = false;  // answered from an idempotency record
};

// ---- inputs: what a caller sends, before semantic validation ----

struct PaymentMethodInput {
  std::string type;  // "Card" | "SepaDebit" | "AchDebit" | "BankTransfer"
  std::string reference;
};

struct AccountProfileInput {
  std::string company;
  std::vector<std::string> billingEmails;
  std::vector<std::string> contactEmails;
  std::optional<PostalAddress> address;
  std::string vatId;
  std::optional<PaymentMethodInput> paymentMethod;
  std::string invoiceText;
};

struct AccountInput {
  std::string id;
  std::string name;
  std::string organization;
  std::string scope;  // "Organization" | "Project"
  std::string currency;
  AccountProfileInput profile;
};

struct MembershipInput {
  std::string project;
  std::string accountId;
  Timestamp effectiveFrom;
  std::optional<Timestamp> effectiveTo;
};

struct MoveInput {
  std::string project;
  std::string toAccountId;
  Timestamp at;
};

struct EndMembershipInput {
  std::string project;
  Timestamp at;
};

struct ChargeInput {
  std::string clientId;
  std::string project;
  std::string service;
  std::string description;
  std::string quantity;
  std::string unit;
  std::string amount;  // decimal string in `currency`
  std::string currency;
  Timestamp periodStart;
  Timestamp periodEnd;
};

struct CreditGrantInput {
  std::string id;
  std::string amount;
  std::string description;
  std::optional<Timestamp> expiresAt;
};

// ---- views: what the service answers ----

struct AccountView {
  Account account;
  std::int64_t creditBalanceMinor = 0;  // unexpired, unconsumed credits
};

struct CreditGrantView {
  CreditGrant grant;
  std::int64_t consumedMinor = 0;
  std::int64_t remainingMinor = 0;
  bool expired = false;
};

struct CreditsView {
  std::string accountId;
  std::string currency;
  std::int64_t balanceMinor = 0;
  std::vector<CreditGrantView> grants;
};

// An invoice with its totals. For a draft the totals and lines are computed when read (an
// estimate that follows the charges); from finalization on they are the stored, frozen ones.
struct InvoiceView {
  Invoice invoice;
  std::vector<ProjectTotalRecord> projectTotals;
  std::vector<InvoiceLineRecord> lines;  // filled when asked for
};

using Clock = std::function<Timestamp()>;

// The system clock, truncated to seconds.
Timestamp systemNow();

class LedgerService {
 public:
  explicit LedgerService(Store& store, Clock clock = systemNow);

  Store& store() { return store_; }

  // Accounts. `putAccount` creates (201) or updates (200) the account with the caller's id.
  Result<Outcome<AccountView>> putAccount(const AccountInput& input, const RequestIdentity& id);
  Result<AccountView> getAccount(std::string_view accountId);
  Result<std::vector<AccountView>> listAccounts(std::optional<std::string> organization);
  // Closes the account at `at` (default: now). Refused while a membership is open at or after it.
  Result<Outcome<AccountView>> closeAccount(std::string_view accountId, std::optional<Timestamp> at,
                                            const RequestIdentity& id);

  // Memberships.
  Result<Outcome<Membership>> addMembership(const MembershipInput& input,
                                            const RequestIdentity& id);
  Result<Outcome<Membership>> moveProject(const MoveInput& input, const RequestIdentity& id);
  Result<Outcome<Membership>> endMembership(const EndMembershipInput& input,
                                            const RequestIdentity& id);
  Result<std::vector<Membership>> listMemberships(std::optional<std::string> project,
                                                  std::optional<std::string> accountId);

  // Charges. `postCharges` posts a batch in one transaction: all or none.
  Result<Outcome<Charge>> postCharge(const ChargeInput& input, const RequestIdentity& id);
  Result<Outcome<std::vector<Charge>>> postCharges(std::span<const ChargeInput> inputs,
                                                   const RequestIdentity& id = {});
  Result<Charge> getCharge(std::string_view chargeId);
  Result<std::vector<Charge>> listCharges(std::string_view project,
                                          std::optional<Interval> overlapping);

  // Credits (organization accounts only).
  Result<Outcome<CreditGrantView>> grantCredit(std::string_view accountId,
                                               const CreditGrantInput& input,
                                               const RequestIdentity& id);
  Result<CreditsView> getCredits(std::string_view accountId);

  // Invoices.
  Result<Outcome<InvoiceView>> createInvoice(std::string_view accountId, const Interval& period,
                                             const RequestIdentity& id);
  Result<InvoiceView> getInvoice(std::string_view invoiceId, bool withLines);
  Result<std::vector<InvoiceView>> listInvoices(std::string_view accountId);
  Result<Outcome<InvoiceView>> finalizeInvoice(std::string_view invoiceId,
                                               const RequestIdentity& id);
  Result<Outcome<InvoiceView>> payInvoice(std::string_view invoiceId, const RequestIdentity& id);
  Result<Outcome<InvoiceView>> voidInvoice(std::string_view invoiceId, std::string reason,
                                           const RequestIdentity& id);

 private:
  Timestamp now() const { return clock_(); }

  Store& store_;
  Clock clock_;
};

// The prefix and random part of a new resource id ("inv_3f9c0a..."), from a CSPRNG.
std::string newResourceId(std::string_view prefix);

}  // namespace billing::ledger
