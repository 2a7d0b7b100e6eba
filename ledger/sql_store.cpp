#include "ledger/sql_store.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "ledger/json_codec.h"

namespace billing::ledger {
namespace {

constexpr std::array<std::string_view, 19> kSchema{
    // Counters: the invoice number sequence and the schema version.
    R"(CREATE TABLE IF NOT EXISTS ledger_counters (
         name TEXT PRIMARY KEY,
         value BIGINT NOT NULL))",
    R"(INSERT INTO ledger_counters (name, value) VALUES ('invoice_number', 0)
         ON CONFLICT (name) DO NOTHING)",
    R"(CREATE TABLE IF NOT EXISTS accounts (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         organization TEXT NOT NULL,
         scope TEXT NOT NULL CHECK (scope IN ('Organization', 'Project')),
         currency TEXT NOT NULL,
         profile TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         updated_at BIGINT NOT NULL,
         closed_at BIGINT))",
    R"(CREATE INDEX IF NOT EXISTS accounts_by_organization ON accounts (organization, id))",
    R"(CREATE TABLE IF NOT EXISTS memberships (
         id TEXT PRIMARY KEY,
         project TEXT NOT NULL,
         account_id TEXT NOT NULL REFERENCES accounts (id),
         effective_from BIGINT NOT NULL,
         effective_to BIGINT,
         created_at BIGINT NOT NULL,
         CHECK (effective_to IS NULL OR effective_to >= effective_from)))",
    R"(CREATE INDEX IF NOT EXISTS memberships_by_project
         ON memberships (project, effective_from))",
    R"(CREATE INDEX IF NOT EXISTS memberships_by_account ON memberships (account_id, project))",
    R"(CREATE TABLE IF NOT EXISTS charges (
         id TEXT PRIMARY KEY,
         client_id TEXT NOT NULL UNIQUE,
         project TEXT NOT NULL,
         service TEXT NOT NULL,
         description TEXT NOT NULL,
         quantity TEXT NOT NULL,
         unit TEXT NOT NULL,
         currency TEXT NOT NULL,
         amount_minor BIGINT NOT NULL,
         period_start BIGINT NOT NULL,
         period_end BIGINT NOT NULL,
         received_at BIGINT NOT NULL,
         billed_seconds BIGINT NOT NULL DEFAULT 0,
         settled BIGINT NOT NULL DEFAULT 0,
         CHECK (period_end > period_start)))",
    R"(CREATE INDEX IF NOT EXISTS charges_by_project ON charges (project, period_start))",
    R"(CREATE INDEX IF NOT EXISTS charges_unsettled
         ON charges (project, settled, period_start))",
    R"(CREATE TABLE IF NOT EXISTS credit_grants (
         account_id TEXT NOT NULL REFERENCES accounts (id),
         id TEXT NOT NULL,
         amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
         description TEXT NOT NULL,
         expires_at BIGINT,
         created_at BIGINT NOT NULL,
         PRIMARY KEY (account_id, id)))",
    R"(CREATE TABLE IF NOT EXISTS invoices (
         id TEXT PRIMARY KEY,
         account_id TEXT NOT NULL REFERENCES accounts (id),
         state TEXT NOT NULL CHECK (state IN ('Draft', 'Finalized', 'Paid', 'Void')),
         number BIGINT UNIQUE,
         currency TEXT NOT NULL,
         period_start BIGINT NOT NULL,
         period_end BIGINT NOT NULL,
         subtotal_minor BIGINT NOT NULL,
         credits_applied_minor BIGINT NOT NULL,
         total_minor BIGINT NOT NULL,
         created_at BIGINT NOT NULL,
         finalized_at BIGINT,
         paid_at BIGINT,
         voided_at BIGINT,
         void_reason TEXT NOT NULL,
         CHECK (period_end > period_start),
         CHECK ((number IS NULL) = (finalized_at IS NULL))))",
    // One invoice per account and period: concurrent invoice runs converge on one row.
    R"(CREATE UNIQUE INDEX IF NOT EXISTS invoices_one_per_period
         ON invoices (account_id, period_start, period_end) WHERE state <> 'Void')",
    R"(CREATE INDEX IF NOT EXISTS invoices_by_account ON invoices (account_id, period_start))",
    R"(CREATE TABLE IF NOT EXISTS invoice_lines (
         invoice_id TEXT NOT NULL REFERENCES invoices (id),
         line_no BIGINT NOT NULL,
         charge_id TEXT NOT NULL REFERENCES charges (id),
         client_id TEXT NOT NULL,
         project TEXT NOT NULL,
         service TEXT NOT NULL,
         description TEXT NOT NULL,
         quantity TEXT NOT NULL,
         unit TEXT NOT NULL,
         amount_minor BIGINT NOT NULL,
         billed_start BIGINT NOT NULL,
         billed_end BIGINT NOT NULL,
         correction BIGINT NOT NULL,
         PRIMARY KEY (invoice_id, line_no)))",
    R"(CREATE INDEX IF NOT EXISTS invoice_lines_by_charge ON invoice_lines (charge_id))",
    R"(CREATE TABLE IF NOT EXISTS invoice_project_totals (
         invoice_id TEXT NOT NULL REFERENCES invoices (id),
         project TEXT NOT NULL,
         amount_minor BIGINT NOT NULL,
         PRIMARY KEY (invoice_id, project)))",
    R"(CREATE TABLE IF NOT EXISTS credit_consumptions (
         invoice_id TEXT NOT NULL REFERENCES invoices (id),
         account_id TEXT NOT NULL,
         grant_id TEXT NOT NULL,
         amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
         PRIMARY KEY (invoice_id, grant_id),
         FOREIGN KEY (account_id, grant_id) REFERENCES credit_grants (account_id, id)))",
    // The effect of a request and its idempotency record commit in the same transaction.
    R"(CREATE TABLE IF NOT EXISTS idempotency_keys (
         idempotency_key TEXT PRIMARY KEY,
         fingerprint TEXT NOT NULL,
         operation TEXT NOT NULL,
         resource_id TEXT NOT NULL,
         created BIGINT NOT NULL,
         created_at BIGINT NOT NULL))",
};

std::int64_t seconds(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp timestamp(std::int64_t s) { return Timestamp{std::chrono::seconds{s}}; }

SqlParam optionalSeconds(const std::optional<Timestamp>& t) {
  if (!t) return std::monostate{};
  return seconds(*t);
}

std::optional<Timestamp> optionalTimestamp(const SqlRow& row, std::size_t i) {
  auto value = row.optionalInteger(i);
  if (!value) return std::nullopt;
  return timestamp(*value);
}

// ---- accounts ----

constexpr std::string_view kAccountColumns =
    "id, name, organization, scope, currency, profile, created_at, updated_at, closed_at";

Result<Account> readAccount(const SqlRow& row) {
  Account account;
  account.id = row.text(0);
  account.name = row.text(1);
  account.organization = row.text(2);
  account.scope = row.text(3) == "Project" ? domain::Scope::Project : domain::Scope::Organization;
  account.currency = row.text(4);
  auto profile = decodeStoredProfile(row.text(5));
  if (!profile) {
    return internal("account " + account.id +
                    " has an unreadable stored profile: " + profile.error());
  }
  account.profile = std::move(*profile);
  account.createdAt = timestamp(row.integer(6));
  account.updatedAt = timestamp(row.integer(7));
  account.closedAt = optionalTimestamp(row, 8);
  return account;
}

Result<std::vector<Account>> readAccounts(const std::vector<SqlRow>& rows) {
  std::vector<Account> accounts;
  accounts.reserve(rows.size());
  for (const SqlRow& row : rows) {
    LEDGER_ASSIGN_OR_RETURN(Account account, readAccount(row));
    accounts.push_back(std::move(account));
  }
  return accounts;
}

// ---- memberships ----

constexpr std::string_view kMembershipColumns =
    "id, project, account_id, effective_from, effective_to, created_at";

Membership readMembership(const SqlRow& row) {
  return Membership{row.text(0),
                    row.text(1),
                    row.text(2),
                    timestamp(row.integer(3)),
                    optionalTimestamp(row, 4),
                    timestamp(row.integer(5))};
}

std::vector<Membership> readMemberships(const std::vector<SqlRow>& rows) {
  std::vector<Membership> out;
  out.reserve(rows.size());
  for (const SqlRow& row : rows) out.push_back(readMembership(row));
  return out;
}

// ---- charges ----

constexpr std::string_view kChargeColumns =
    "id, client_id, project, service, description, quantity, unit, currency, amount_minor, "
    "period_start, period_end, received_at, billed_seconds, settled";

Charge readCharge(const SqlRow& row) {
  Charge charge;
  charge.id = row.text(0);
  charge.clientId = row.text(1);
  charge.project = row.text(2);
  charge.service = row.text(3);
  charge.description = row.text(4);
  charge.quantity = row.text(5);
  charge.unit = row.text(6);
  charge.currency = row.text(7);
  charge.amountMinor = row.integer(8);
  charge.period = Interval{timestamp(row.integer(9)), timestamp(row.integer(10))};
  charge.receivedAt = timestamp(row.integer(11));
  charge.billedSeconds = row.integer(12);
  charge.settled = row.integer(13) != 0;
  return charge;
}

std::vector<Charge> readCharges(const std::vector<SqlRow>& rows) {
  std::vector<Charge> out;
  out.reserve(rows.size());
  for (const SqlRow& row : rows) out.push_back(readCharge(row));
  return out;
}

// ---- credits ----

constexpr std::string_view kGrantColumns =
    "account_id, id, amount_minor, description, expires_at, created_at";

CreditGrant readGrant(const SqlRow& row) {
  return CreditGrant{row.text(0),
                     row.text(1),
                     row.integer(2),
                     row.text(3),
                     optionalTimestamp(row, 4),
                     timestamp(row.integer(5))};
}

// ---- invoices ----

constexpr std::string_view kInvoiceColumns =
    "id, account_id, state, number, currency, period_start, period_end, subtotal_minor, "
    "credits_applied_minor, total_minor, created_at, finalized_at, paid_at, voided_at, "
    "void_reason";

domain::InvoiceState parseState(std::string_view text) {
  if (text == "Finalized") return domain::InvoiceState::Finalized;
  if (text == "Paid") return domain::InvoiceState::Paid;
  if (text == "Void") return domain::InvoiceState::Void;
  return domain::InvoiceState::Draft;
}

Invoice readInvoice(const SqlRow& row) {
  Invoice invoice;
  invoice.id = row.text(0);
  invoice.accountId = row.text(1);
  invoice.state = parseState(row.text(2));
  invoice.number = row.optionalInteger(3);
  invoice.currency = row.text(4);
  invoice.period = Interval{timestamp(row.integer(5)), timestamp(row.integer(6))};
  invoice.subtotalMinor = row.integer(7);
  invoice.creditsAppliedMinor = row.integer(8);
  invoice.totalMinor = row.integer(9);
  invoice.createdAt = timestamp(row.integer(10));
  invoice.finalizedAt = optionalTimestamp(row, 11);
  invoice.paidAt = optionalTimestamp(row, 12);
  invoice.voidedAt = optionalTimestamp(row, 13);
  invoice.voidReason = row.text(14);
  return invoice;
}

std::vector<SqlParam> invoiceParams(const Invoice& invoice) {
  return {invoice.id,
          invoice.accountId,
          std::string(domain::invoiceStateName(invoice.state)),
          invoice.number ? SqlParam{*invoice.number} : SqlParam{std::monostate{}},
          invoice.currency,
          seconds(invoice.period.start),
          seconds(invoice.period.end),
          invoice.subtotalMinor,
          invoice.creditsAppliedMinor,
          invoice.totalMinor,
          seconds(invoice.createdAt),
          optionalSeconds(invoice.finalizedAt),
          optionalSeconds(invoice.paidAt),
          optionalSeconds(invoice.voidedAt),
          invoice.voidReason};
}

constexpr std::string_view kLineColumns =
    "invoice_id, line_no, charge_id, client_id, project, service, description, quantity, unit, "
    "amount_minor, billed_start, billed_end, correction";
constexpr std::size_t kLineColumnCount = 13;
// Lines are inserted many rows per statement: one round trip per batch, not per line.
constexpr std::size_t kLinesPerStatement = 200;

std::string valuesList(std::size_t rows, std::size_t columns) {
  std::string row = "(";
  for (std::size_t c = 0; c < columns; ++c) row += c == 0 ? "?" : ", ?";
  row += ")";
  std::string out;
  for (std::size_t r = 0; r < rows; ++r) {
    if (r != 0) out += ", ";
    out += row;
  }
  return out;
}

// Lookups by a list of keys use statements of one fixed shape, "IN (?, ..., ?)" with
// kKeysPerStatement placeholders, the last key repeated to fill a short chunk: one prepared
// statement whatever the list's length, and an index lookup per key on every database.
constexpr std::size_t kKeysPerStatement = 16;

std::string placeholders() {
  std::string out = "(";
  for (std::size_t i = 0; i < kKeysPerStatement; ++i) out += i == 0 ? "?" : ", ?";
  return out + ")";
}

std::vector<SqlParam> keyChunk(std::span<const std::string> keys, std::size_t begin) {
  std::vector<SqlParam> params;
  params.reserve(kKeysPerStatement);
  for (std::size_t i = 0; i < kKeysPerStatement; ++i) {
    params.emplace_back(keys[std::min(begin + i, keys.size() - 1)]);
  }
  return params;
}

template <typename T>
Result<std::optional<T>> first(Result<std::vector<T>> rows) {
  if (!rows) return std::unexpected(std::move(rows).error());
  if (rows->empty()) return std::optional<T>{};
  return std::optional<T>{std::move(rows->front())};
}

}  // namespace

// ---- SqlRow ----

const std::string& SqlRow::text(std::size_t i) const {
  static const std::string kEmpty;
  return i < columns.size() && columns[i] ? *columns[i] : kEmpty;
}

std::optional<std::int64_t> SqlRow::optionalInteger(std::size_t i) const {
  if (i >= columns.size() || !columns[i]) return std::nullopt;
  const std::string& text = *columns[i];
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{}) return std::nullopt;
  return value;
}

std::int64_t SqlRow::integer(std::size_t i) const { return optionalInteger(i).value_or(0); }

std::span<const std::string_view> schemaStatements() { return kSchema; }

// ---- accounts ----

Result<std::optional<Account>> SqlTransaction::findAccount(std::string_view id) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kAccountColumns) +
                                                        " FROM accounts WHERE id = ?",
                                                    {std::string(id)}));
  return first(readAccounts(rows));
}

Result<std::vector<Account>> SqlTransaction::listAccounts(std::optional<std::string> organization) {
  std::string sql = "SELECT " + std::string(kAccountColumns) + " FROM accounts";
  std::vector<SqlParam> params;
  if (organization) {
    sql += " WHERE organization = ?";
    params.emplace_back(*organization);
  }
  sql += " ORDER BY id";
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query(sql, params));
  return readAccounts(rows);
}

Result<void> SqlTransaction::insertAccount(const Account& a) {
  LEDGER_RETURN_IF_ERROR(
      session_.execute("INSERT INTO accounts (" + std::string(kAccountColumns) +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {a.id, a.name, a.organization, std::string(domain::scopeName(a.scope)),
                        a.currency, encodeStoredProfile(a.profile), seconds(a.createdAt),
                        seconds(a.updatedAt), optionalSeconds(a.closedAt)}));
  return {};
}

Result<void> SqlTransaction::updateAccount(const Account& a) {
  LEDGER_RETURN_IF_ERROR(session_.execute(
      "UPDATE accounts SET name = ?, organization = ?, scope = ?, currency = ?, profile = ?, "
      "updated_at = ?, closed_at = ? WHERE id = ?",
      {a.name, a.organization, std::string(domain::scopeName(a.scope)), a.currency,
       encodeStoredProfile(a.profile), seconds(a.updatedAt), optionalSeconds(a.closedAt), a.id}));
  return {};
}

// ---- memberships ----

Result<std::optional<Membership>> SqlTransaction::findMembership(std::string_view id) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kMembershipColumns) +
                                                        " FROM memberships WHERE id = ?",
                                                    {std::string(id)}));
  if (rows.empty()) return std::optional<Membership>{};
  return std::optional<Membership>{readMembership(rows.front())};
}

Result<std::vector<Membership>> SqlTransaction::membershipsOfProject(std::string_view project) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kMembershipColumns) +
                                                        " FROM memberships WHERE project = ? "
                                                        "ORDER BY effective_from, created_at, id",
                                                    {std::string(project)}));
  return readMemberships(rows);
}

Result<std::vector<Membership>> SqlTransaction::membershipsOfAccount(std::string_view accountId) {
  LEDGER_ASSIGN_OR_RETURN(auto rows,
                          session_.query("SELECT " + std::string(kMembershipColumns) +
                                             " FROM memberships WHERE account_id = ? "
                                             "ORDER BY project, effective_from, created_at, id",
                                         {std::string(accountId)}));
  return readMemberships(rows);
}

Result<void> SqlTransaction::insertMembership(const Membership& m) {
  LEDGER_RETURN_IF_ERROR(session_.execute(
      "INSERT INTO memberships (" + std::string(kMembershipColumns) + ") VALUES (?, ?, ?, ?, ?, ?)",
      {m.id, m.project, m.accountId, seconds(m.effectiveFrom), optionalSeconds(m.effectiveTo),
       seconds(m.createdAt)}));
  return {};
}

Result<void> SqlTransaction::setMembershipEnd(std::string_view id, std::optional<Timestamp> end) {
  LEDGER_RETURN_IF_ERROR(session_.execute("UPDATE memberships SET effective_to = ? WHERE id = ?",
                                          {optionalSeconds(end), std::string(id)}));
  return {};
}

// ---- charges ----

Result<std::optional<Charge>> SqlTransaction::findCharge(std::string_view id) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kChargeColumns) +
                                                        " FROM charges WHERE id = ?",
                                                    {std::string(id)}));
  if (rows.empty()) return std::optional<Charge>{};
  return std::optional<Charge>{readCharge(rows.front())};
}

Result<std::optional<Charge>> SqlTransaction::findChargeByClientId(std::string_view clientId) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kChargeColumns) +
                                                        " FROM charges WHERE client_id = ?",
                                                    {std::string(clientId)}));
  if (rows.empty()) return std::optional<Charge>{};
  return std::optional<Charge>{readCharge(rows.front())};
}

Result<void> SqlTransaction::insertCharge(const Charge& c) {
  LEDGER_RETURN_IF_ERROR(
      session_.execute("INSERT INTO charges (" + std::string(kChargeColumns) +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {c.id, c.clientId, c.project, c.service, c.description, c.quantity, c.unit,
                        c.currency, c.amountMinor, seconds(c.period.start), seconds(c.period.end),
                        seconds(c.receivedAt), c.billedSeconds, std::int64_t{c.settled ? 1 : 0}}));
  return {};
}

Result<std::vector<Charge>> SqlTransaction::chargesOfProject(std::string_view project,
                                                             const Interval& range) {
  LEDGER_ASSIGN_OR_RETURN(
      auto rows,
      session_.query("SELECT " + std::string(kChargeColumns) +
                         " FROM charges WHERE project = ? AND period_start < ? AND period_end > ? "
                         "ORDER BY period_start, id",
                     {std::string(project), seconds(range.end), seconds(range.start)}));
  return readCharges(rows);
}

Result<std::vector<Charge>> SqlTransaction::chargesOfProjects(std::span<const std::string> projects,
                                                              const Interval& range) {
  std::vector<Charge> charges;
  for (std::size_t begin = 0; begin < projects.size(); begin += kKeysPerStatement) {
    std::vector<SqlParam> params = keyChunk(projects, begin);
    params.insert(params.end(), {seconds(range.end), seconds(range.start)});
    LEDGER_ASSIGN_OR_RETURN(
        auto rows,
        session_.query("SELECT " + std::string(kChargeColumns) + " FROM charges WHERE project IN " +
                           placeholders() + " AND period_start < ? AND period_end > ?",
                       params));
    for (const SqlRow& row : rows) charges.push_back(readCharge(row));
  }
  std::sort(charges.begin(), charges.end(),
            [](const Charge& a, const Charge& b) { return a.id < b.id; });
  return charges;
}

Result<std::vector<Charge>> SqlTransaction::unsettledChargesOfProjects(
    std::span<const std::string> projects, Timestamp before) {
  std::vector<Charge> charges;
  for (std::size_t begin = 0; begin < projects.size(); begin += kKeysPerStatement) {
    std::vector<SqlParam> params = keyChunk(projects, begin);
    params.emplace_back(seconds(before));
    LEDGER_ASSIGN_OR_RETURN(
        auto rows,
        session_.query("SELECT " + std::string(kChargeColumns) + " FROM charges WHERE project IN " +
                           placeholders() + " AND settled = 0 AND period_start < ?",
                       params));
    for (const SqlRow& row : rows) charges.push_back(readCharge(row));
  }
  std::sort(charges.begin(), charges.end(),
            [](const Charge& a, const Charge& b) { return a.id < b.id; });
  return charges;
}

Result<std::vector<BilledShare>> SqlTransaction::billedShares(
    std::string_view accountId, std::span<const std::string> chargeIds) {
  std::vector<BilledShare> shares;
  for (std::size_t begin = 0; begin < chargeIds.size(); begin += kKeysPerStatement) {
    std::vector<SqlParam> params{std::string(accountId)};
    std::vector<SqlParam> keys = keyChunk(chargeIds, begin);
    params.insert(params.end(), keys.begin(), keys.end());
    LEDGER_ASSIGN_OR_RETURN(
        auto rows,
        session_.query("SELECT l.charge_id, l.billed_start, l.billed_end FROM invoice_lines l "
                       "JOIN invoices i ON i.id = l.invoice_id "
                       "WHERE i.account_id = ? AND i.state IN ('Finalized', 'Paid') "
                       "AND l.charge_id IN " +
                           placeholders(),
                       params));
    for (const SqlRow& row : rows) {
      shares.push_back(
          BilledShare{row.text(0), Interval{timestamp(row.integer(1)), timestamp(row.integer(2))}});
    }
  }
  return shares;
}

Result<void> SqlTransaction::applyInvoiceToCharges(std::string_view invoiceId, int sign) {
  const std::string id(invoiceId);
  LEDGER_RETURN_IF_ERROR(
      session_.execute("UPDATE charges SET billed_seconds = billed_seconds + ? * "
                       "(SELECT SUM(l.billed_end - l.billed_start) FROM invoice_lines l "
                       "WHERE l.invoice_id = ? AND l.charge_id = charges.id) "
                       "WHERE id IN (SELECT charge_id FROM invoice_lines WHERE invoice_id = ?)",
                       {std::int64_t{sign}, id, id}));
  LEDGER_RETURN_IF_ERROR(session_.execute(
      "UPDATE charges SET settled = CASE WHEN billed_seconds >= period_end - period_start "
      "THEN 1 ELSE 0 END WHERE id IN (SELECT charge_id FROM invoice_lines WHERE invoice_id = ?)",
      {id}));
  return {};
}

// ---- credits ----

Result<std::optional<CreditGrant>> SqlTransaction::findCreditGrant(std::string_view accountId,
                                                                   std::string_view id) {
  LEDGER_ASSIGN_OR_RETURN(auto rows,
                          session_.query("SELECT " + std::string(kGrantColumns) +
                                             " FROM credit_grants WHERE account_id = ? AND id = ?",
                                         {std::string(accountId), std::string(id)}));
  if (rows.empty()) return std::optional<CreditGrant>{};
  return std::optional<CreditGrant>{readGrant(rows.front())};
}

Result<std::vector<CreditGrant>> SqlTransaction::creditGrantsOf(std::string_view accountId) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kGrantColumns) +
                                                        " FROM credit_grants WHERE account_id = ? "
                                                        "ORDER BY created_at, id",
                                                    {std::string(accountId)}));
  std::vector<CreditGrant> grants;
  for (const SqlRow& row : rows) grants.push_back(readGrant(row));
  return grants;
}

Result<void> SqlTransaction::insertCreditGrant(const CreditGrant& g) {
  LEDGER_RETURN_IF_ERROR(session_.execute(
      "INSERT INTO credit_grants (" + std::string(kGrantColumns) + ") VALUES (?, ?, ?, ?, ?, ?)",
      {g.accountId, g.id, g.amountMinor, g.description, optionalSeconds(g.expiresAt),
       seconds(g.createdAt)}));
  return {};
}

Result<std::map<std::string, std::int64_t>> SqlTransaction::creditConsumedByGrant(
    std::string_view accountId) {
  LEDGER_ASSIGN_OR_RETURN(
      auto rows, session_.query("SELECT cc.grant_id, SUM(cc.amount_minor) "
                                "FROM credit_consumptions cc "
                                "JOIN invoices i ON i.id = cc.invoice_id "
                                "WHERE cc.account_id = ? AND i.state IN ('Finalized', 'Paid') "
                                "GROUP BY cc.grant_id",
                                {std::string(accountId)}));
  std::map<std::string, std::int64_t> consumed;
  for (const SqlRow& row : rows) consumed[row.text(0)] = row.integer(1);
  return consumed;
}

Result<void> SqlTransaction::insertCreditConsumptions(std::string_view accountId,
                                                      const std::vector<CreditConsumption>& rows) {
  for (const CreditConsumption& row : rows) {
    LEDGER_RETURN_IF_ERROR(session_.execute(
        "INSERT INTO credit_consumptions (invoice_id, account_id, grant_id, amount_minor) "
        "VALUES (?, ?, ?, ?)",
        {row.invoiceId, std::string(accountId), row.grantId, row.amountMinor}));
  }
  return {};
}

Result<void> SqlTransaction::deleteCreditConsumptions(std::string_view invoiceId) {
  LEDGER_RETURN_IF_ERROR(session_.execute("DELETE FROM credit_consumptions WHERE invoice_id = ?",
                                          {std::string(invoiceId)}));
  return {};
}

// ---- invoices ----

Result<std::optional<Invoice>> SqlTransaction::findInvoice(std::string_view id) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kInvoiceColumns) +
                                                        " FROM invoices WHERE id = ?",
                                                    {std::string(id)}));
  if (rows.empty()) return std::optional<Invoice>{};
  return std::optional<Invoice>{readInvoice(rows.front())};
}

Result<std::optional<Invoice>> SqlTransaction::findLiveInvoice(std::string_view accountId,
                                                               const Interval& period) {
  LEDGER_ASSIGN_OR_RETURN(
      auto rows,
      session_.query("SELECT " + std::string(kInvoiceColumns) +
                         " FROM invoices WHERE account_id = ? AND period_start = ? AND "
                         "period_end = ? AND state <> 'Void'",
                     {std::string(accountId), seconds(period.start), seconds(period.end)}));
  if (rows.empty()) return std::optional<Invoice>{};
  return std::optional<Invoice>{readInvoice(rows.front())};
}

Result<std::vector<Invoice>> SqlTransaction::invoicesOf(std::string_view accountId) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kInvoiceColumns) +
                                                        " FROM invoices WHERE account_id = ? "
                                                        "ORDER BY period_start, created_at, id",
                                                    {std::string(accountId)}));
  std::vector<Invoice> invoices;
  invoices.reserve(rows.size());
  for (const SqlRow& row : rows) invoices.push_back(readInvoice(row));
  return invoices;
}

Result<void> SqlTransaction::insertInvoice(const Invoice& invoice) {
  LEDGER_RETURN_IF_ERROR(
      session_.execute("INSERT INTO invoices (" + std::string(kInvoiceColumns) +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       invoiceParams(invoice)));
  return {};
}

Result<void> SqlTransaction::updateInvoice(const Invoice& invoice) {
  std::vector<SqlParam> params = invoiceParams(invoice);
  params.push_back(invoice.id);
  params.erase(params.begin());  // the id moves from the first column to the WHERE clause
  LEDGER_RETURN_IF_ERROR(session_.execute(
      "UPDATE invoices SET account_id = ?, state = ?, number = ?, currency = ?, "
      "period_start = ?, period_end = ?, subtotal_minor = ?, credits_applied_minor = ?, "
      "total_minor = ?, created_at = ?, finalized_at = ?, paid_at = ?, voided_at = ?, "
      "void_reason = ? WHERE id = ?",
      params));
  return {};
}

Result<void> SqlTransaction::insertInvoiceLines(const std::vector<InvoiceLineRecord>& lines) {
  for (std::size_t begin = 0; begin < lines.size(); begin += kLinesPerStatement) {
    const std::size_t end = std::min(lines.size(), begin + kLinesPerStatement);
    std::vector<SqlParam> params;
    params.reserve((end - begin) * kLineColumnCount);
    for (std::size_t i = begin; i < end; ++i) {
      const InvoiceLineRecord& l = lines[i];
      params.insert(params.end(),
                    {l.invoiceId, l.lineNo, l.chargeId, l.clientId, l.project, l.service,
                     l.description, l.quantity, l.unit, l.amountMinor, seconds(l.billed.start),
                     seconds(l.billed.end), std::int64_t{l.correction ? 1 : 0}});
    }
    LEDGER_RETURN_IF_ERROR(session_.execute("INSERT INTO invoice_lines (" +
                                                std::string(kLineColumns) + ") VALUES " +
                                                valuesList(end - begin, kLineColumnCount),
                                            params));
  }
  return {};
}

Result<std::vector<InvoiceLineRecord>> SqlTransaction::invoiceLines(std::string_view invoiceId) {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("SELECT " + std::string(kLineColumns) +
                                                        " FROM invoice_lines WHERE invoice_id = ? "
                                                        "ORDER BY line_no",
                                                    {std::string(invoiceId)}));
  std::vector<InvoiceLineRecord> lines;
  lines.reserve(rows.size());
  for (const SqlRow& row : rows) {
    lines.push_back(InvoiceLineRecord{
        row.text(0), row.integer(1), row.text(2), row.text(3), row.text(4), row.text(5),
        row.text(6), row.text(7), row.text(8), row.integer(9),
        Interval{timestamp(row.integer(10)), timestamp(row.integer(11))}, row.integer(12) != 0});
  }
  return lines;
}

Result<void> SqlTransaction::insertProjectTotals(std::string_view invoiceId,
                                                 const std::vector<ProjectTotalRecord>& totals) {
  for (std::size_t begin = 0; begin < totals.size(); begin += kLinesPerStatement) {
    const std::size_t end = std::min(totals.size(), begin + kLinesPerStatement);
    std::vector<SqlParam> params;
    for (std::size_t i = begin; i < end; ++i) {
      params.insert(params.end(),
                    {std::string(invoiceId), totals[i].project, totals[i].amountMinor});
    }
    LEDGER_RETURN_IF_ERROR(session_.execute(
        "INSERT INTO invoice_project_totals (invoice_id, project, amount_minor) VALUES " +
            valuesList(end - begin, 3),
        params));
  }
  return {};
}

Result<std::vector<ProjectTotalRecord>> SqlTransaction::projectTotals(std::string_view invoiceId) {
  LEDGER_ASSIGN_OR_RETURN(auto rows,
                          session_.query("SELECT project, amount_minor FROM invoice_project_totals "
                                         "WHERE invoice_id = ? ORDER BY project",
                                         {std::string(invoiceId)}));
  std::vector<ProjectTotalRecord> totals;
  for (const SqlRow& row : rows) totals.push_back(ProjectTotalRecord{row.text(0), row.integer(1)});
  return totals;
}

Result<std::int64_t> SqlTransaction::nextInvoiceNumber() {
  LEDGER_ASSIGN_OR_RETURN(auto rows, session_.query("UPDATE ledger_counters SET value = value + 1 "
                                                    "WHERE name = 'invoice_number' RETURNING value",
                                                    {}));
  if (rows.empty()) return internal("the invoice number counter is missing from ledger_counters");
  return rows.front().integer(0);
}

// ---- idempotency ----

Result<std::optional<IdempotencyRecord>> SqlTransaction::findIdempotencyRecord(
    std::string_view key) {
  LEDGER_ASSIGN_OR_RETURN(
      auto rows,
      session_.query("SELECT idempotency_key, fingerprint, operation, resource_id, created, "
                     "created_at FROM idempotency_keys WHERE idempotency_key = ?",
                     {std::string(key)}));
  if (rows.empty()) return std::optional<IdempotencyRecord>{};
  const SqlRow& row = rows.front();
  return std::optional<IdempotencyRecord>{IdempotencyRecord{row.text(0), row.text(1), row.text(2),
                                                            row.text(3), row.integer(4) != 0,
                                                            timestamp(row.integer(5))}};
}

Result<void> SqlTransaction::insertIdempotencyRecord(const IdempotencyRecord& r) {
  LEDGER_RETURN_IF_ERROR(session_.execute(
      "INSERT INTO idempotency_keys (idempotency_key, fingerprint, operation, resource_id, "
      "created, created_at) VALUES (?, ?, ?, ?, ?, ?)",
      {r.key, r.fingerprint, r.operation, r.resourceId, std::int64_t{r.created ? 1 : 0},
       seconds(r.createdAt)}));
  return {};
}

}  // namespace billing::ledger
