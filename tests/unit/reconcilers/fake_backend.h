// An in-memory BillingBackend for the reconcilers' tests: accounts, memberships and credits with
// the ledger's rules that the reconcilers rely on (no overlapping memberships, moves end the
// current membership, closing refuses open memberships, credits only on organization accounts),
// idempotency keys checked like the ledger does (the same key with another request is refused),
// every request recorded, and outages on demand.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/backend/billing_backend.h"

namespace billing::reconcilers::testing {

class FakeBackend final : public backend::BillingBackend {
 public:
  struct Call {
    std::string method;
    std::string key;          // the idempotency key, "" for reads
    std::string fingerprint;  // the request as text
  };

  // ---- what tests control ----

  void setNow(domain::Timestamp now) {
    std::lock_guard lock(mutex_);
    now_ = now;
  }
  // While set, every call fails with this error before doing anything.
  void setOutage(std::optional<backend::BackendError> error) {
    std::lock_guard lock(mutex_);
    outage_ = std::move(error);
  }
  static backend::BackendError unavailable() {
    return backend::BackendError{backend::BackendErrorKind::Unavailable, 0, "",
                                 "connection refused", ""};
  }
  // The next `times` calls of `method` fail with `error` (after being recorded, before doing
  // anything), as when the request never reached the backend.
  void failMethod(std::string method, backend::BackendError error, int times = 1) {
    std::lock_guard lock(mutex_);
    methodFailures_[std::move(method)] = {std::move(error), times};
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<Call> writes() const {
    std::lock_guard lock(mutex_);
    std::vector<Call> out;
    for (const Call& call : calls_) {
      if (!call.key.empty()) out.push_back(call);
    }
    return out;
  }
  std::optional<backend::Account> account(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto found = accounts_.find(id);
    if (found == accounts_.end()) return std::nullopt;
    return found->second;
  }
  // Changes the account behind the operator's back (drift).
  void tamper(const std::string& id, const std::function<void(backend::AccountSpec&)>& change) {
    std::lock_guard lock(mutex_);
    change(accounts_.at(id).spec);
    accounts_.at(id).updatedAt = now_;
  }
  std::vector<backend::Membership> memberships() const {
    std::lock_guard lock(mutex_);
    return memberships_;
  }
  std::vector<backend::CreditGrant> grants(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto found = grants_.find(id);
    return found == grants_.end() ? std::vector<backend::CreditGrant>{} : found->second;
  }

  // ---- BillingBackend ----

  backend::BackendResult<backend::Account> upsertAccount(const backend::AccountSpec& spec,
                                                         std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto error = enter("upsertAccount", key, describe(spec))) return fail(*error);
    auto found = accounts_.find(spec.id);
    if (found != accounts_.end() && found->second.spec.currency != spec.currency) {
      return fail(error(backend::BackendErrorKind::Conflict, "currency-immutable",
                        "the currency of an account cannot change"));
    }
    backend::Account& account = accounts_[spec.id];
    if (found == accounts_.end()) {
      account.createdAt = now_;
      account.creditBalance = "0.00";
    }
    account.spec = spec;
    account.updatedAt = now_;
    return account;
  }
  backend::BackendResult<backend::Account> getAccount(std::string_view id) override {
    std::lock_guard lock(mutex_);
    if (auto error = enter("getAccount", "", std::string(id))) return fail(*error);
    auto found = accounts_.find(std::string(id));
    if (found == accounts_.end()) return fail(notFound("account " + std::string(id)));
    return found->second;
  }
  backend::BackendResult<backend::Account> closeAccount(std::string_view id, domain::Timestamp at,
                                                        std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto error = enter("closeAccount", key, std::string(id) + "@" + stamp(at))) {
      return fail(*error);
    }
    auto found = accounts_.find(std::string(id));
    if (found == accounts_.end()) return fail(notFound("account " + std::string(id)));
    for (const backend::Membership& m : memberships_) {
      if (m.accountId == id && (!m.effectiveTo || *m.effectiveTo > at)) {
        return fail(error(backend::BackendErrorKind::Conflict, "account-has-members",
                          "project " + m.project + " is a member"));
      }
    }
    found->second.closedAt = at;
    return found->second;
  }
  backend::BackendResult<backend::Membership> addMembership(std::string_view project,
                                                            std::string_view accountId,
                                                            domain::Timestamp from,
                                                            std::optional<domain::Timestamp> to,
                                                            std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto error =
            enter("addMembership", key,
                  std::string(project) + "->" + std::string(accountId) + "@" + stamp(from))) {
      return fail(*error);
    }
    if (!accounts_.contains(std::string(accountId))) {
      return fail(notFound("account " + std::string(accountId)));
    }
    for (const backend::Membership& m : memberships_) {
      if (m.project == project && (!m.effectiveTo || *m.effectiveTo > from) &&
          (!to || m.effectiveFrom < *to)) {
        return fail(error(backend::BackendErrorKind::Conflict, "overlapping-membership",
                          "overlaps " + m.id));
      }
    }
    backend::Membership membership{"mem-" + std::to_string(++ids_), std::string(project),
                                   std::string(accountId), from, to};
    memberships_.push_back(membership);
    return membership;
  }
  backend::BackendResult<backend::Membership> moveProject(std::string_view project,
                                                          std::string_view toAccountId,
                                                          domain::Timestamp at,
                                                          std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto error =
            enter("moveProject", key,
                  std::string(project) + "->" + std::string(toAccountId) + "@" + stamp(at))) {
      return fail(*error);
    }
    if (!accounts_.contains(std::string(toAccountId))) {
      return fail(notFound("account " + std::string(toAccountId)));
    }
    std::optional<domain::Timestamp> end;
    for (backend::Membership& m : memberships_) {
      if (m.project == project && m.effectiveFrom <= at &&
          (!m.effectiveTo || at < *m.effectiveTo)) {
        if (m.accountId == toAccountId) return m;
        end = m.effectiveTo;
        m.effectiveTo = at;
      }
    }
    backend::Membership next{"mem-" + std::to_string(++ids_), std::string(project),
                             std::string(toAccountId), at, end};
    memberships_.push_back(next);
    return next;
  }
  backend::BackendResult<backend::Membership> endMembership(std::string_view project,
                                                            domain::Timestamp at,
                                                            std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto error = enter("endMembership", key, std::string(project) + "@" + stamp(at))) {
      return fail(*error);
    }
    for (backend::Membership& m : memberships_) {
      if (m.project == project && m.effectiveFrom <= at &&
          (!m.effectiveTo || at < *m.effectiveTo)) {
        m.effectiveTo = at;
        return m;
      }
    }
    return fail(error(backend::BackendErrorKind::Conflict, "membership-state", "nothing to end"));
  }
  backend::BackendResult<std::vector<backend::Membership>> listMemberships(
      const backend::MembershipFilter& filter) override {
    std::lock_guard lock(mutex_);
    if (auto error = enter("listMemberships", "", filter.project + filter.accountId)) {
      return fail(*error);
    }
    std::vector<backend::Membership> out;
    for (const backend::Membership& m : memberships_) {
      if ((!filter.project.empty() && m.project == filter.project) ||
          (!filter.accountId.empty() && m.accountId == filter.accountId)) {
        out.push_back(m);
      }
    }
    return out;
  }
  backend::BackendResult<backend::Charge> postCharge(const backend::ChargeSpec&,
                                                     std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<backend::CreditGrant> grantCredit(std::string_view accountId,
                                                           const backend::CreditGrantSpec& spec,
                                                           std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (auto error =
            enter("grantCredit", key, std::string(accountId) + ":" + spec.id + "=" + spec.amount)) {
      return fail(*error);
    }
    auto found = accounts_.find(std::string(accountId));
    if (found == accounts_.end()) return fail(notFound("account " + std::string(accountId)));
    if (found->second.spec.scope != domain::Scope::Organization) {
      return fail(error(backend::BackendErrorKind::Conflict, "credits-on-project-account",
                        "credits exist only on organization accounts"));
    }
    auto& grants = grants_[std::string(accountId)];
    for (const backend::CreditGrant& grant : grants) {
      if (grant.spec.id == spec.id) return grant;
    }
    grants.push_back(backend::CreditGrant{spec, "0.00", spec.amount, now_});
    return grants.back();
  }
  backend::BackendResult<backend::Credits> getCredits(std::string_view accountId) override {
    std::lock_guard lock(mutex_);
    if (auto error = enter("getCredits", "", std::string(accountId))) return fail(*error);
    auto found = accounts_.find(std::string(accountId));
    if (found == accounts_.end()) return fail(notFound("account " + std::string(accountId)));
    backend::Credits credits;
    credits.accountId = std::string(accountId);
    credits.currency = found->second.spec.currency;
    long long cents = 0;
    for (const backend::CreditGrant& grant : grants_[std::string(accountId)]) {
      credits.grants.push_back(grant);
      cents += toCents(grant.remaining);
    }
    credits.balance = std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") +
                      std::to_string(cents % 100);
    return credits;
  }
  backend::BackendResult<backend::Invoice> createInvoice(std::string_view, const domain::Interval&,
                                                         std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<backend::Invoice> getInvoice(std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<std::vector<backend::Invoice>> listInvoices(std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<backend::Invoice> finalizeInvoice(std::string_view,
                                                           std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<backend::Invoice> markInvoicePaid(std::string_view,
                                                           std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<backend::Invoice> voidInvoice(std::string_view, std::string_view,
                                                       std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<std::vector<backend::InvoiceLine>> invoiceLines(
      std::string_view) override {
    return fail(unsupported());
  }
  backend::BackendResult<std::string> exportInvoice(std::string_view,
                                                    backend::ExportFormat) override {
    return fail(unsupported());
  }

 private:
  static backend::BackendError error(backend::BackendErrorKind kind, std::string type,
                                     std::string detail) {
    return backend::BackendError{kind, 0, std::move(type), std::move(detail), ""};
  }
  static backend::BackendError notFound(const std::string& what) {
    return error(backend::BackendErrorKind::NotFound, "not-found", what + " does not exist");
  }
  static backend::BackendError unsupported() {
    return error(backend::BackendErrorKind::Internal, "unsupported", "not in the fake");
  }
  static std::unexpected<backend::BackendError> fail(backend::BackendError e) {
    return std::unexpected(std::move(e));
  }
  static std::string stamp(domain::Timestamp t) { return domain::formatTimestamp(t); }
  static long long toCents(const std::string& amount) {
    std::string digits;
    for (char c : amount) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    if (amount.find('.') == std::string::npos) digits += "00";
    return digits.empty() ? 0 : std::stoll(digits);
  }
  static std::string describe(const backend::AccountSpec& spec) {
    std::string text = spec.id + "|" + spec.name + "|" + spec.organization + "|" +
                       std::string(domain::scopeName(spec.scope)) + "|" + spec.currency + "|" +
                       spec.profile.company + "|" + spec.profile.vatId + "|" +
                       spec.profile.invoiceText;
    if (spec.profile.paymentMethod) text += "|" + spec.profile.paymentMethod->reference;
    return text;
  }
  // Records the call; the outage or an idempotency-key reuse, when either applies.
  std::optional<backend::BackendError> enter(std::string method, std::string_view key,
                                             std::string fingerprint) {
    calls_.push_back(Call{method, std::string(key), fingerprint});
    if (outage_) return outage_;
    if (auto failure = methodFailures_.find(method);
        failure != methodFailures_.end() && failure->second.second > 0) {
      --failure->second.second;
      return failure->second.first;
    }
    if (key.empty()) return std::nullopt;
    auto [it, inserted] = keys_.try_emplace(std::string(key), method + " " + fingerprint);
    if (!inserted && it->second != method + " " + fingerprint) {
      return error(backend::BackendErrorKind::Invalid, "idempotency-key-reused",
                   "key " + std::string(key) + " was used for another request");
    }
    return std::nullopt;
  }

  mutable std::mutex mutex_;
  domain::Timestamp now_{};
  std::optional<backend::BackendError> outage_;
  std::vector<Call> calls_;
  std::map<std::string, std::pair<backend::BackendError, int>> methodFailures_;
  std::map<std::string, std::string> keys_;
  std::map<std::string, backend::Account> accounts_;
  std::vector<backend::Membership> memberships_;
  std::map<std::string, std::vector<backend::CreditGrant>> grants_;
  int ids_ = 0;
};

}  // namespace billing::reconcilers::testing
