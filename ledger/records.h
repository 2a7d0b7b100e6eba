// The ledger's records as the store keeps them: money as int64 minor units of the record's
// currency, instants as UTC seconds. The REST representations live in json_codec.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/domain/model.h"
#include "reconcilers/domain/time.h"

namespace billing::ledger {

using domain::Interval;
using domain::Timestamp;

struct PostalAddress {
  std::vector<std::string> lines;
  std::string city;
  std::string state;
  std::string zipCode;
  std::string countryCode;
  friend bool operator==(const PostalAddress&, const PostalAddress&) = default;
};

struct PaymentMethodReference {
  domain::PaymentMethodType type = domain::PaymentMethodType::BankTransfer;
  std::string reference;  // where the secret lives, never the secret itself
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

struct Account {
  std::string id;
  std::string name;
  std::string organization;
  domain::Scope scope = domain::Scope::Organization;
  std::string currency;
  AccountProfile profile;
  Timestamp createdAt;
  Timestamp updatedAt;
  std::optional<Timestamp> closedAt;
  friend bool operator==(const Account&, const Account&) = default;
};

// [effectiveFrom, effectiveTo); effectiveTo empty: open-ended. A membership that was ended at its
// own start (effectiveTo == effectiveFrom) is kept as an inert record and covers nothing.
struct Membership {
  std::string id;
  std::string project;
  std::string accountId;
  Timestamp effectiveFrom;
  std::optional<Timestamp> effectiveTo;
  Timestamp createdAt;

  bool empty() const { return effectiveTo && *effectiveTo <= effectiveFrom; }
  // The membership as an interval; open-ended ones end at kEndOfTime.
  Interval interval() const;
  friend bool operator==(const Membership&, const Membership&) = default;
};

// Far enough in the future for "until further notice", small enough for any arithmetic.
inline constexpr std::int64_t kEndOfTimeSeconds = 253402300800;  // 10000-01-01T00:00:00Z

struct Charge {
  std::string id;
  std::string clientId;
  std::string project;
  std::string service;
  std::string description;
  std::string quantity;
  std::string unit;
  std::string currency;
  std::int64_t amountMinor = 0;
  Interval period;
  Timestamp receivedAt;
  // Seconds of the period already billed on finalized invoices (of any account); the charge is
  // settled when that is the whole period. Unsettled charges are the candidates for corrections.
  std::int64_t billedSeconds = 0;
  bool settled = false;
  friend bool operator==(const Charge&, const Charge&) = default;
};

struct CreditGrant {
  std::string accountId;
  std::string id;
  std::int64_t amountMinor = 0;
  std::string description;
  std::optional<Timestamp> expiresAt;
  Timestamp createdAt;
  friend bool operator==(const CreditGrant&, const CreditGrant&) = default;
};

struct CreditConsumption {
  std::string invoiceId;
  std::string grantId;
  std::int64_t amountMinor = 0;
};

struct Invoice {
  std::string id;
  std::string accountId;
  domain::InvoiceState state = domain::InvoiceState::Draft;
  std::optional<std::int64_t> number;  // assigned at finalization
  std::string currency;
  Interval period;
  // Frozen at finalization; zero while a draft (drafts are computed when read).
  std::int64_t subtotalMinor = 0;
  std::int64_t creditsAppliedMinor = 0;
  std::int64_t totalMinor = 0;
  Timestamp createdAt;
  std::optional<Timestamp> finalizedAt;
  std::optional<Timestamp> paidAt;
  std::optional<Timestamp> voidedAt;
  std::string voidReason;
  friend bool operator==(const Invoice&, const Invoice&) = default;
};

// One line of a finalized invoice: a share of one charge, copied so that the invoice stays the
// document it was when it was issued.
struct InvoiceLineRecord {
  std::string invoiceId;
  std::int64_t lineNo = 0;
  std::string chargeId;
  std::string clientId;
  std::string project;
  std::string service;
  std::string description;
  std::string quantity;
  std::string unit;
  std::int64_t amountMinor = 0;
  Interval billed;
  bool correction = false;
  friend bool operator==(const InvoiceLineRecord&, const InvoiceLineRecord&) = default;
};

struct ProjectTotalRecord {
  std::string project;
  std::int64_t amountMinor = 0;
  friend bool operator==(const ProjectTotalRecord&, const ProjectTotalRecord&) = default;
};

// What an idempotency key did: the operation, the request's fingerprint and the resource it
// produced. A replay returns that resource with the original status.
struct IdempotencyRecord {
  std::string key;
  std::string fingerprint;
  std::string operation;
  std::string resourceId;
  bool created = false;
  Timestamp createdAt;
};

// The part of a charge already billed to one account: the charge id and the billed interval.
struct BilledShare {
  std::string chargeId;
  Interval billed;
};

// The human form of an invoice number: "INV-000042".
std::string formatInvoiceNumber(std::int64_t number);

}  // namespace billing::ledger
