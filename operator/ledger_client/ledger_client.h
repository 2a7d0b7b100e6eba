// The operator's client of the ledger's REST contract (ledger/openapi.yaml), behind the
// BillingBackend interface the reconcilers use.
//
// Retries: network errors (connection refused or reset, timeouts), 429 and 5xx are retried with
// capped exponential backoff and jitter, up to RetryPolicy::maxAttempts attempts in all; a 429's
// Retry-After (seconds or an HTTP date) is honoured instead of the backoff. Every attempt of one
// call carries the same Idempotency-Key, so a request that reached the ledger before the
// connection broke is not applied twice. Everything else, and the last failure once the attempts
// are spent, is a BackendError value that a reconciler can put into a condition.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "reconcilers/backend/billing_backend.h"

namespace billing::ledger_client {

struct RetryPolicy {
  int maxAttempts = 5;  // attempts in all, the first one included
  std::chrono::milliseconds initialBackoff{200};
  std::chrono::milliseconds maxBackoff{10000};
  std::chrono::milliseconds maxRetryAfter{60000};  // a longer Retry-After is cut to this
};

struct LedgerClientOptions {
  std::string baseUrl;  // "https://billing-ledger.billing.svc:8443"
  std::string token;    // the bearer token; empty sends none
  // When set, the token comes from this file (readTokenFile) and is read again whenever the file
  // changes (size or modification time), so that a rotated Secret takes effect without a
  // restart. A file that cannot be read for a moment (mid-rotation) keeps the last token.
  std::string tokenFile;
  std::string caFile;  // PEM bundle that signs the ledger's certificate; empty: system store
  std::chrono::milliseconds timeout{10000};  // per attempt
  RetryPolicy retry;
  // How to wait between attempts; tests record the delays instead of sleeping.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::uint64_t jitterSeed = 0;  // 0: seeded from std::random_device
};

// The delay before retry number `retry` (1 for the first retry): half of
// min(maxBackoff, initialBackoff * 2^(retry-1)) plus a uniformly random part of the other half.
std::chrono::milliseconds backoffDelay(const RetryPolicy& policy, int retry,
                                       std::mt19937_64& random);

// A Retry-After header value as a delay: delta-seconds ("120") or an HTTP date. nullopt when it
// is neither.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// The first non-empty line of a token file, trimmed.
std::expected<std::string, std::string> readTokenFile(const std::string& path);

class LedgerClient final : public backend::BillingBackend {
 public:
  // Checks options that come from users (an http(s) URL, a readable CA file, a one-line token)
  // and builds the client; the error says which option is wrong.
  static std::expected<std::unique_ptr<LedgerClient>, std::string> create(
      LedgerClientOptions options);
  // Trusts `options` (tests, or options already checked by create()).
  explicit LedgerClient(LedgerClientOptions options);
  ~LedgerClient() override;

  backend::BackendResult<backend::Account> upsertAccount(const backend::AccountSpec& spec,
                                                         std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Account> getAccount(std::string_view accountId) override;
  backend::BackendResult<backend::Account> closeAccount(std::string_view accountId,
                                                        domain::Timestamp at,
                                                        std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Membership> addMembership(
      std::string_view project, std::string_view accountId, domain::Timestamp effectiveFrom,
      std::optional<domain::Timestamp> effectiveTo, std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Membership> moveProject(std::string_view project,
                                                          std::string_view toAccountId,
                                                          domain::Timestamp at,
                                                          std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Membership> endMembership(
      std::string_view project, domain::Timestamp at, std::string_view idempotencyKey) override;
  backend::BackendResult<std::vector<backend::Membership>> listMemberships(
      const backend::MembershipFilter& filter) override;
  backend::BackendResult<backend::Charge> postCharge(const backend::ChargeSpec& spec,
                                                     std::string_view idempotencyKey) override;
  backend::BackendResult<backend::CreditGrant> grantCredit(
      std::string_view accountId, const backend::CreditGrantSpec& spec,
      std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Credits> getCredits(std::string_view accountId) override;
  backend::BackendResult<backend::Invoice> createInvoice(std::string_view accountId,
                                                         const domain::Interval& period,
                                                         std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Invoice> getInvoice(std::string_view invoiceId) override;
  backend::BackendResult<std::vector<backend::Invoice>> listInvoices(
      std::string_view accountId) override;
  backend::BackendResult<backend::Invoice> finalizeInvoice(
      std::string_view invoiceId, std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Invoice> markInvoicePaid(
      std::string_view invoiceId, std::string_view idempotencyKey) override;
  backend::BackendResult<backend::Invoice> voidInvoice(std::string_view invoiceId,
                                                       std::string_view reason,
                                                       std::string_view idempotencyKey) override;
  backend::BackendResult<std::vector<backend::InvoiceLine>> invoiceLines(
      std::string_view invoiceId) override;
  backend::BackendResult<std::string> exportInvoice(std::string_view invoiceId,
                                                    backend::ExportFormat format) override;

  // What one call did on the wire: a response (any status) after `attempts` attempts.
  struct Response {
    int status = 0;
    std::string body;
    int attempts = 0;
  };

  // Sends one request with the retry policy. Public for tests of the retry behaviour.
  backend::BackendResult<Response> send(std::string_view method, const std::string& pathAndQuery,
                                        const std::string& jsonBody,
                                        std::string_view idempotencyKey);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace billing::ledger_client
