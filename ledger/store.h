// The ledger's storage interface. One implementation per database (sqlite_store.h,
// postgres_store.h) over the same schema and SQL (sql_store.h); the service and the contract
// tests see only this. Everything happens inside a transaction: the service's checks, its writes
// and the idempotency record of a request commit together or not at all.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ledger/error.h"
#include "ledger/records.h"

namespace billing::ledger {

// Data access inside one transaction. Methods return errors as values; an error of kind Retry
// means the transaction lost a race (serialization failure, deadlock, a concurrent insert of the
// same key) and must be abandoned: Store::transact runs the whole function again.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // ---- accounts ----
  virtual Result<std::optional<Account>> findAccount(std::string_view id) = 0;
  virtual Result<std::vector<Account>> listAccounts(std::optional<std::string> organization) = 0;
  virtual Result<void> insertAccount(const Account& account) = 0;
  virtual Result<void> updateAccount(const Account& account) = 0;

  // ---- memberships ----
  virtual Result<std::optional<Membership>> findMembership(std::string_view id) = 0;
  virtual Result<std::vector<Membership>> membershipsOfProject(std::string_view project) = 0;
  virtual Result<std::vector<Membership>> membershipsOfAccount(std::string_view accountId) = 0;
  virtual Result<void> insertMembership(const Membership& membership) = 0;
  virtual Result<void> setMembershipEnd(std::string_view id, std::optional<Timestamp> end) = 0;

  // ---- charges ----
  virtual Result<std::optional<Charge>> findCharge(std::string_view id) = 0;
  virtual Result<std::optional<Charge>> findChargeByClientId(std::string_view clientId) = 0;
  virtual Result<void> insertCharge(const Charge& charge) = 0;
  // The project's charges whose period overlaps `range`, oldest first.
  virtual Result<std::vector<Charge>> chargesOfProject(std::string_view project,
                                                       const Interval& range) = 0;
  // Charges of these projects overlapping `range`. Looked up by project (an index lookup whatever
  // the database's statistics say), several projects per statement.
  virtual Result<std::vector<Charge>> chargesOfProjects(std::span<const std::string> projects,
                                                        const Interval& range) = 0;
  // Unsettled charges of these projects that start before `before`.
  virtual Result<std::vector<Charge>> unsettledChargesOfProjects(
      std::span<const std::string> projects, Timestamp before) = 0;
  // The shares of these charges already billed to the account on finalized or paid invoices.
  virtual Result<std::vector<BilledShare>> billedShares(std::string_view accountId,
                                                        std::span<const std::string> chargeIds) = 0;
  // Adds (sign +1) or removes (sign -1, when the invoice is voided) the billed seconds of the
  // invoice's lines to their charges and recomputes their settled flag.
  virtual Result<void> applyInvoiceToCharges(std::string_view invoiceId, int sign) = 0;

  // ---- credits ----
  virtual Result<std::optional<CreditGrant>> findCreditGrant(std::string_view accountId,
                                                             std::string_view id) = 0;
  virtual Result<std::vector<CreditGrant>> creditGrantsOf(std::string_view accountId) = 0;
  virtual Result<void> insertCreditGrant(const CreditGrant& grant) = 0;
  // Grant id -> minor units consumed by finalized or paid (not void) invoices.
  virtual Result<std::map<std::string, std::int64_t>> creditConsumedByGrant(
      std::string_view accountId) = 0;
  virtual Result<void> insertCreditConsumptions(std::string_view accountId,
                                                const std::vector<CreditConsumption>& rows) = 0;
  virtual Result<void> deleteCreditConsumptions(std::string_view invoiceId) = 0;

  // ---- invoices ----
  virtual Result<std::optional<Invoice>> findInvoice(std::string_view id) = 0;
  // The account's invoice that is not void for exactly this period, if any.
  virtual Result<std::optional<Invoice>> findLiveInvoice(std::string_view accountId,
                                                         const Interval& period) = 0;
  virtual Result<std::vector<Invoice>> invoicesOf(std::string_view accountId) = 0;
  virtual Result<void> insertInvoice(const Invoice& invoice) = 0;
  virtual Result<void> updateInvoice(const Invoice& invoice) = 0;
  virtual Result<void> insertInvoiceLines(const std::vector<InvoiceLineRecord>& lines) = 0;
  virtual Result<std::vector<InvoiceLineRecord>> invoiceLines(std::string_view invoiceId) = 0;
  virtual Result<void> insertProjectTotals(std::string_view invoiceId,
                                           const std::vector<ProjectTotalRecord>& totals) = 0;
  virtual Result<std::vector<ProjectTotalRecord>> projectTotals(std::string_view invoiceId) = 0;
  // Allocates the next invoice number of the ledger. Inside the finalization transaction, so a
  // rolled back finalization gives its number back: numbers are gapless.
  virtual Result<std::int64_t> nextInvoiceNumber() = 0;

  // ---- idempotency ----
  virtual Result<std::optional<IdempotencyRecord>> findIdempotencyRecord(std::string_view key) = 0;
  virtual Result<void> insertIdempotencyRecord(const IdempotencyRecord& record) = 0;
};

enum class TransactionMode { ReadOnly, ReadWrite };

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgres", for logs and benchmark output.
  virtual std::string_view kind() const = 0;

  // Checks that the database answers (for /healthz).
  virtual Result<void> ping() = 0;

  // Runs `body` in a transaction: commits when it returns a value, rolls back when it returns an
  // error. When the body or the commit fails with ErrorKind::Retry, runs it again (a bounded
  // number of times, with a short randomized pause); the body must therefore have no effects
  // outside the transaction.
  virtual Result<void> run(TransactionMode mode,
                           const std::function<Result<void>(Transaction&)>& body) = 0;

  template <typename F>
  auto transact(TransactionMode mode, F&& body) -> std::invoke_result_t<F&, Transaction&>;
};

template <typename F>
auto Store::transact(TransactionMode mode, F&& body) -> std::invoke_result_t<F&, Transaction&> {
  using R = std::invoke_result_t<F&, Transaction&>;
  using T = typename R::value_type;
  if constexpr (std::is_void_v<T>) {
    return run(mode, [&](Transaction& tx) -> Result<void> { return body(tx); });
  } else {
    std::optional<T> value;
    auto status = run(mode, [&](Transaction& tx) -> Result<void> {
      auto result = body(tx);
      if (!result) return std::unexpected(std::move(result).error());
      value = std::move(*result);
      return {};
    });
    if (!status) return std::unexpected(std::move(status).error());
    return std::move(*value);
  }
}

}  // namespace billing::ledger
