// The billing backend as the reconcilers see it: accounts (one per billing group), memberships
// (which project belongs to which account since when), credits and invoices. The backend owns
// money; the operator owns intent. This header is the whole contract on the operator's side:
// plain values, no HTTP types, and every error a caller branches on is a value (BackendError),
// never an exception. The REST form of the contract is ledger/openapi.yaml; the HTTP client that
// implements this interface is operator/ledger_client.
//
// Every call that creates or changes something takes an idempotency key. Derive it from stable
// facts (the BillingGroup's UID, the period, the object's generation), so that a retry after a
// crash or a timeout repeats the same call instead of doing it twice. Amounts are decimal strings
// with the currency's ISO 4217 exponent ("12.30", "1500" for JPY); instants are UTC seconds.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/time.h"

namespace billing::backend {

// What a reconciler does about an error:
//  - Unavailable: the backend could not be reached or is overloaded, even after the client's own
//    retries. Requeue with backoff; nothing was done, or the idempotency key makes redoing safe.
//  - Conflict: the request clashes with the backend's state (overlapping membership, account
//    still has projects, invoice already void). Retrying the same call will not help; report it
//    in a condition and wait for the state to change.
//  - Invalid: the backend rejected the input (unknown currency, too many decimals, period end not
//    after start). A spec problem: report it in a condition, do not retry.
//  - NotFound: the account, invoice or charge does not exist.
//  - Unauthorized: the token is missing or wrong (401/403). A configuration problem.
//  - Internal: the backend failed (a 5xx after retries that is not 503) or answered with
//    something that is not the contract. Requeue with backoff and alert.
enum class BackendErrorKind { Unavailable, Conflict, Invalid, NotFound, Unauthorized, Internal };

std::string_view backendErrorKindName(BackendErrorKind kind);

struct BackendError {
  BackendErrorKind kind = BackendErrorKind::Internal;
  int httpStatus = 0;       // 0 when no HTTP response arrived (connection refused, timeout)
  std::string problemType;  // the problem's short type, e.g. "overlapping-membership"
  std::string detail;       // human-readable: what is wrong and how to fix it
  std::string field;        // the request field at fault, e.g. "currency"; may be empty

  // True for the kinds worth requeueing with backoff (Unavailable, Internal).
  bool retryable() const;
  // One line for a condition message or a log: "Conflict (409 overlapping-membership): ...".
  std::string message() const;
};

template <typename T>
using BackendResult = std::expected<T, BackendError>;

// ---- Accounts ----

struct PostalAddress {
  std::vector<std::string> lines;
  std::string city;
  std::string state;
  std::string zipCode;
  std::string countryCode;  // ISO 3166-1 alpha-2
  friend bool operator==(const PostalAddress&, const PostalAddress&) = default;
};

// How the account pays. `reference` points at the secret material (a payment provider's token id
// or "secret://namespace/name/key"); it is never the card number or IBAN itself (R8).
struct PaymentMethodReference {
  domain::PaymentMethodType type = domain::PaymentMethodType::BankTransfer;
  std::string reference;
  friend bool operator==(const PaymentMethodReference&, const PaymentMethodReference&) = default;
};

struct AccountProfile {
  std::string company;
  std::vector<std::string> billingEmails;
  std::vector<std::string> contactEmails;
  std::optional<PostalAddress> address;
  std::string vatId;
  std::optional<PaymentMethodReference> paymentMethod;
  std::string invoiceText;
  friend bool operator==(const AccountProfile&, const AccountProfile&) = default;
};

// What the operator declares about one billing group. `id` is chosen by the caller and stable
// (the BillingGroup's UID), so creating an account twice is harmless.
struct AccountSpec {
  std::string id;
  std::string name;
  std::string organization;
  domain::Scope scope = domain::Scope::Organization;
  std::string currency;  // ISO 4217; cannot change once the account exists
  AccountProfile profile;
  friend bool operator==(const AccountSpec&, const AccountSpec&) = default;
};

struct Account {
  AccountSpec spec;
  std::string creditBalance;  // remaining, unexpired credits; "0.00" for project accounts
  domain::Timestamp createdAt;
  domain::Timestamp updatedAt;
  std::optional<domain::Timestamp> closedAt;
  friend bool operator==(const Account&, const Account&) = default;
};

// ---- Memberships ----

// `project` belongs to `accountId` during [effectiveFrom, effectiveTo); no effectiveTo means
// until further notice. A project belongs to at most one account at any instant.
struct Membership {
  std::string id;
  std::string project;  // "namespace/name"
  std::string accountId;
  domain::Timestamp effectiveFrom;
  std::optional<domain::Timestamp> effectiveTo;
  friend bool operator==(const Membership&, const Membership&) = default;
};

// Exactly one of the two is set.
struct MembershipFilter {
  std::string project;
  std::string accountId;
};

// ---- Charges (posted by metering; the operator rarely posts them itself) ----

struct ChargeSpec {
  std::string clientId;  // the metering system's id: posting the same charge twice is harmless
  std::string project;
  std::string service;
  std::string description;
  std::string quantity;  // decimal string, may be empty
  std::string unit;
  std::string amount;  // decimal string in `currency`
  std::string currency;
  domain::Timestamp periodStart;
  domain::Timestamp periodEnd;  // after periodStart
  friend bool operator==(const ChargeSpec&, const ChargeSpec&) = default;
};

struct Charge {
  std::string id;
  ChargeSpec spec;
  domain::Timestamp receivedAt;
  friend bool operator==(const Charge&, const Charge&) = default;
};

// ---- Credits (organization accounts only, R2) ----

struct CreditGrantSpec {
  std::string id;  // stable (the CreditGrant's id in the BillingGroup spec)
  std::string amount;
  std::string description;
  std::optional<domain::Timestamp> expiresAt;
  friend bool operator==(const CreditGrantSpec&, const CreditGrantSpec&) = default;
};

struct CreditGrant {
  CreditGrantSpec spec;
  std::string consumed;   // applied to finalized invoices so far
  std::string remaining;  // amount - consumed
  domain::Timestamp createdAt;
  friend bool operator==(const CreditGrant&, const CreditGrant&) = default;
};

struct Credits {
  std::string accountId;
  std::string currency;
  std::string balance;  // sum of the remaining amounts of unexpired grants
  std::vector<CreditGrant> grants;
  friend bool operator==(const Credits&, const Credits&) = default;
};

// ---- Invoices ----

struct InvoiceLine {
  std::string chargeId;
  std::string clientId;
  std::string project;
  std::string service;
  std::string description;
  std::string quantity;
  std::string unit;
  std::string amount;
  domain::Timestamp periodStart;  // the billed part of the charge period
  domain::Timestamp periodEnd;
  bool correction = false;  // a late charge of an earlier, already invoiced period
  friend bool operator==(const InvoiceLine&, const InvoiceLine&) = default;
};

struct Invoice {
  std::string id;
  std::string accountId;
  std::string number;  // empty until finalized; sequential and gapless across the ledger
  domain::InvoiceState state = domain::InvoiceState::Draft;
  std::string currency;
  domain::Timestamp periodStart;
  domain::Timestamp periodEnd;
  // For a draft these are a live estimate; from finalization on they are frozen.
  std::string subtotal;
  std::string creditsApplied;
  std::string total;
  std::vector<domain::ProjectTotal> projectTotals;
  domain::Timestamp createdAt;
  std::optional<domain::Timestamp> finalizedAt;
  std::optional<domain::Timestamp> paidAt;
  std::optional<domain::Timestamp> voidedAt;
  std::string voidReason;
  friend bool operator==(const Invoice&, const Invoice&) = default;
};

enum class ExportFormat { Json, Csv, Focus };
std::string_view exportFormatName(ExportFormat format);  // "json", "csv", "focus"

// The backend. Implementations are safe to call from several threads at once.
class BillingBackend {
 public:
  virtual ~BillingBackend() = default;

  // Creates the account, or updates its name, scope and profile. 409 Conflict when the currency
  // or organization would change, or when the scope would become Project while credits remain.
  virtual BackendResult<Account> upsertAccount(const AccountSpec& spec,
                                               std::string_view idempotencyKey) = 0;
  virtual BackendResult<Account> getAccount(std::string_view accountId) = 0;
  // Closes the account at `at`. Conflict while a membership is open at or after `at` (R6).
  virtual BackendResult<Account> closeAccount(std::string_view accountId, domain::Timestamp at,
                                              std::string_view idempotencyKey) = 0;

  // Starts a membership; Conflict when it overlaps one of the project's memberships.
  virtual BackendResult<Membership> addMembership(std::string_view project,
                                                  std::string_view accountId,
                                                  domain::Timestamp effectiveFrom,
                                                  std::optional<domain::Timestamp> effectiveTo,
                                                  std::string_view idempotencyKey) = 0;
  // Ends the project's membership at `at` and starts one in `toAccountId`; returns the new one.
  virtual BackendResult<Membership> moveProject(std::string_view project,
                                                std::string_view toAccountId, domain::Timestamp at,
                                                std::string_view idempotencyKey) = 0;
  // Ends the project's membership at `at` (the project was deleted); returns the ended one.
  virtual BackendResult<Membership> endMembership(std::string_view project, domain::Timestamp at,
                                                  std::string_view idempotencyKey) = 0;
  virtual BackendResult<std::vector<Membership>> listMemberships(
      const MembershipFilter& filter) = 0;

  virtual BackendResult<Charge> postCharge(const ChargeSpec& spec,
                                           std::string_view idempotencyKey) = 0;

  // Conflict for a project-scoped account (credits exist only on organization accounts, R2).
  virtual BackendResult<CreditGrant> grantCredit(std::string_view accountId,
                                                 const CreditGrantSpec& spec,
                                                 std::string_view idempotencyKey) = 0;
  virtual BackendResult<Credits> getCredits(std::string_view accountId) = 0;

  // Returns the account's invoice for exactly this period, creating a draft if there is none:
  // concurrent or repeated calls give one invoice.
  virtual BackendResult<Invoice> createInvoice(std::string_view accountId,
                                               const domain::Interval& period,
                                               std::string_view idempotencyKey) = 0;
  virtual BackendResult<Invoice> getInvoice(std::string_view invoiceId) = 0;
  virtual BackendResult<std::vector<Invoice>> listInvoices(std::string_view accountId) = 0;
  // Freezes the lines, applies credits and assigns the number. Finalizing twice is harmless.
  virtual BackendResult<Invoice> finalizeInvoice(std::string_view invoiceId,
                                                 std::string_view idempotencyKey) = 0;
  virtual BackendResult<Invoice> markInvoicePaid(std::string_view invoiceId,
                                                 std::string_view idempotencyKey) = 0;
  virtual BackendResult<Invoice> voidInvoice(std::string_view invoiceId, std::string_view reason,
                                             std::string_view idempotencyKey) = 0;

  virtual BackendResult<std::vector<InvoiceLine>> invoiceLines(std::string_view invoiceId) = 0;
  // The lines as a document: JSON, plain CSV, or FOCUS CSV (see docs/ledger.md).
  virtual BackendResult<std::string> exportInvoice(std::string_view invoiceId,
                                                   ExportFormat format) = 0;
};

}  // namespace billing::backend
