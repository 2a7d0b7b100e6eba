// The part of the stores that SQLite and PostgreSQL share: the schema and every data statement,
// written in the SQL both accept ("?" placeholders, which the PostgreSQL session rewrites to $n;
// INSERT ... ON CONFLICT; partial unique indexes; RETURNING). Each store supplies a SqlSession
// (one connection inside one transaction) and its own transaction handling and locking.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/error.h"
#include "ledger/store.h"

namespace billing::ledger {

// A statement parameter: NULL (monostate), an integer or text.
using SqlParam = std::variant<std::monostate, std::int64_t, std::string>;

// One result row, every column as text or NULL (both drivers can give text; the schema's only
// other type is BIGINT, read back with integer()).
struct SqlRow {
  std::vector<std::optional<std::string>> columns;

  const std::string& text(std::size_t i) const;
  std::int64_t integer(std::size_t i) const;  // 0 for NULL or non-numeric text
  std::optional<std::int64_t> optionalInteger(std::size_t i) const;
};

// One connection, inside a transaction the store opened.
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual Result<std::vector<SqlRow>> query(std::string_view sql,
                                            const std::vector<SqlParam>& params) = 0;
  // Returns the number of rows changed.
  virtual Result<std::int64_t> execute(std::string_view sql,
                                       const std::vector<SqlParam>& params) = 0;
};

// The schema: portable DDL statements, each idempotent (IF NOT EXISTS), in order.
std::span<const std::string_view> schemaStatements();
inline constexpr std::int64_t kSchemaVersion = 1;

// Transaction over a SqlSession with the shared statements.
class SqlTransaction final : public Transaction {
 public:
  explicit SqlTransaction(SqlSession& session) : session_(session) {}

  Result<std::optional<Account>> findAccount(std::string_view id) override;
  Result<std::vector<Account>> listAccounts(std::optional<std::string> organization) override;
  Result<void> insertAccount(const Account& account) override;
  Result<void> updateAccount(const Account& account) override;

  Result<std::optional<Membership>> findMembership(std::string_view id) override;
  Result<std::vector<Membership>> membershipsOfProject(std::string_view project) override;
  Result<std::vector<Membership>> membershipsOfAccount(std::string_view accountId) override;
  Result<void> insertMembership(const Membership& membership) override;
  Result<void> setMembershipEnd(std::string_view id, std::optional<Timestamp> end) override;

  Result<std::optional<Charge>> findCharge(std::string_view id) override;
  Result<std::optional<Charge>> findChargeByClientId(std::string_view clientId) override;
  Result<void> insertCharge(const Charge& charge) override;
  Result<std::vector<Charge>> chargesOfProject(std::string_view project,
                                               const Interval& range) override;
  Result<std::vector<Charge>> chargesOfProjects(std::span<const std::string> projects,
                                                const Interval& range) override;
  Result<std::vector<Charge>> unsettledChargesOfProjects(std::span<const std::string> projects,
                                                         Timestamp before) override;
  Result<std::vector<BilledShare>> billedShares(std::string_view accountId,
                                                std::span<const std::string> chargeIds) override;
  Result<void> applyInvoiceToCharges(std::string_view invoiceId, int sign) override;

  Result<std::optional<CreditGrant>> findCreditGrant(std::string_view accountId,
                                                     std::string_view id) override;
  Result<std::vector<CreditGrant>> creditGrantsOf(std::string_view accountId) override;
  Result<void> insertCreditGrant(const CreditGrant& grant) override;
  Result<std::map<std::string, std::int64_t>> creditConsumedByGrant(
      std::string_view accountId) override;
  Result<void> insertCreditConsumptions(std::string_view accountId,
                                        const std::vector<CreditConsumption>& rows) override;
  Result<void> deleteCreditConsumptions(std::string_view invoiceId) override;

  Result<std::optional<Invoice>> findInvoice(std::string_view id) override;
  Result<std::optional<Invoice>> findLiveInvoice(std::string_view accountId,
                                                 const Interval& period) override;
  Result<std::vector<Invoice>> invoicesOf(std::string_view accountId) override;
  Result<void> insertInvoice(const Invoice& invoice) override;
  Result<void> updateInvoice(const Invoice& invoice) override;
  Result<void> insertInvoiceLines(const std::vector<InvoiceLineRecord>& lines) override;
  Result<std::vector<InvoiceLineRecord>> invoiceLines(std::string_view invoiceId) override;
  Result<void> insertProjectTotals(std::string_view invoiceId,
                                   const std::vector<ProjectTotalRecord>& totals) override;
  Result<std::vector<ProjectTotalRecord>> projectTotals(std::string_view invoiceId) override;
  Result<std::int64_t> nextInvoiceNumber() override;

  Result<std::optional<IdempotencyRecord>> findIdempotencyRecord(std::string_view key) override;
  Result<void> insertIdempotencyRecord(const IdempotencyRecord& record) override;

 private:
  SqlSession& session_;
};

}  // namespace billing::ledger
