// The ledger's service logic without HTTP, on each store: the rules that keep money exact and
// never lost across moves, late charges, voids and credits.
#include "ledger/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "ledger_test_support.h"
#include "reconcilers/domain/currency.h"
#include "reconcilers/domain/money.h"

namespace billing::ledger {
namespace {

using testing::at;
using ::testing::HasSubstr;
using testing::StoreKind;

const Interval kNov{at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")};
const Interval kDec{at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z")};
const Interval kJan{at("2027-01-01T00:00:00Z"), at("2027-02-01T00:00:00Z")};

class LedgerServiceTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    BILLING_LEDGER_TEST_STORE(store_, GetParam());
    clock_.set(at("2026-11-01T00:00:00Z"));
    service_ = std::make_unique<LedgerService>(store_->store(), [this] { return clock_.now(); });
  }

  void account(const std::string& id, const std::string& currency = "EUR",
               const std::string& scope = "Organization") {
    auto r =
        service_->putAccount(AccountInput{id, "Account " + id, "acme", scope, currency, {}}, {});
    ASSERT_TRUE(r) << r.error().detail;
  }

  void member(const std::string& project, const std::string& accountId, const char* from) {
    auto r =
        service_->addMembership(MembershipInput{project, accountId, at(from), std::nullopt}, {});
    ASSERT_TRUE(r) << r.error().detail;
  }

  Result<Outcome<Charge>> charge(const std::string& clientId, const std::string& project,
                                 const std::string& amount, Interval period,
                                 const std::string& currency = "EUR") {
    return service_->postCharge(ChargeInput{clientId, project, "compute", "usage", "10", "hours",
                                            amount, currency, period.start, period.end},
                                {});
  }

  InvoiceView issue(const std::string& accountId, const Interval& period) {
    auto created = service_->createInvoice(accountId, period, {});
    EXPECT_TRUE(created) << created.error().detail;
    if (!created) return {};
    auto issued = service_->finalizeInvoice(created->value.invoice.id, {});
    EXPECT_TRUE(issued) << issued.error().detail;
    return issued ? issued->value : InvoiceView{};
  }

  std::vector<InvoiceLineRecord> linesOf(const std::string& invoiceId) {
    auto view = service_->getInvoice(invoiceId, true);
    EXPECT_TRUE(view) << view.error().detail;
    return view ? view->lines : std::vector<InvoiceLineRecord>{};
  }

  testing::TestClock clock_;
  std::unique_ptr<testing::TestStore> store_;
  std::unique_ptr<LedgerService> service_;
};

TEST_P(LedgerServiceTest, AProjectMovedTwiceInAMonthSplitsAChargeIntoThreeExactShares) {
  account("a");
  account("b");
  account("c");
  member("acme/web", "a", "2026-11-01T00:00:00Z");
  ASSERT_TRUE(service_->moveProject(MoveInput{"acme/web", "b", at("2026-11-11T00:00:00Z")}, {}));
  ASSERT_TRUE(service_->moveProject(MoveInput{"acme/web", "c", at("2026-11-21T00:00:00Z")}, {}));
  ASSERT_TRUE(charge("c1", "acme/web", "1.00", kNov));
  clock_.set(at("2026-12-01T00:00:00Z"));
  // 1.00 in thirds: 0.33, 0.34, 0.33 (cumulative rounding), never 0.99 or 1.01.
  EXPECT_EQ(issue("a", kNov).invoice.totalMinor, 33);
  EXPECT_EQ(issue("b", kNov).invoice.totalMinor, 34);
  EXPECT_EQ(issue("c", kNov).invoice.totalMinor, 33);
}

TEST_P(LedgerServiceTest, MovingBackAndForthIsOneMembershipPerStretch) {
  account("a");
  account("b");
  member("p", "a", "2026-11-01T00:00:00Z");
  auto same = service_->moveProject(MoveInput{"p", "a", at("2026-11-05T00:00:00Z")}, {});
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->created) << "already in the account: nothing to do";
  ASSERT_TRUE(service_->moveProject(MoveInput{"p", "b", at("2026-11-10T00:00:00Z")}, {}));
  ASSERT_TRUE(service_->moveProject(MoveInput{"p", "a", at("2026-11-20T00:00:00Z")}, {}));
  auto history = service_->listMemberships(std::string("p"), std::nullopt);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].interval(),
            (Interval{at("2026-11-01T00:00:00Z"), at("2026-11-10T00:00:00Z")}));
  EXPECT_EQ((*history)[1].accountId, "b");
  EXPECT_FALSE((*history)[2].effectiveTo);
}

TEST_P(LedgerServiceTest, AMoveCannotJumpOverAPlannedMembership) {
  account("a");
  account("b");
  ASSERT_TRUE(service_->addMembership(
      MembershipInput{"p", "a", at("2026-12-01T00:00:00Z"), std::nullopt}, {}));
  auto move = service_->moveProject(MoveInput{"p", "b", at("2026-11-01T00:00:00Z")}, {});
  ASSERT_FALSE(move);
  EXPECT_EQ(move.error().type, "membership-state");
  EXPECT_THAT(move.error().detail, HasSubstr("starts after 2026-11-01T00:00:00Z"));
}

TEST_P(LedgerServiceTest, AProjectWithChargesOnlyMovesToAnAccountOfTheSameCurrency) {
  account("eur");
  account("usd", "USD");
  member("p", "eur", "2026-11-01T00:00:00Z");
  ASSERT_TRUE(
      charge("c1", "p", "5.00", Interval{at("2026-11-20T00:00:00Z"), at("2026-11-25T00:00:00Z")}));
  auto move = service_->moveProject(MoveInput{"p", "usd", at("2026-11-10T00:00:00Z")}, {});
  ASSERT_FALSE(move);
  EXPECT_EQ(move.error().type, "currency-mismatch");
  EXPECT_EQ(move.error().kind, ErrorKind::Conflict);
  // After the last charge it may move; later charges must then be in USD.
  ASSERT_TRUE(service_->moveProject(MoveInput{"p", "usd", at("2026-11-25T00:00:00Z")}, {}));
  EXPECT_TRUE(charge("c2", "p", "1.00",
                     Interval{at("2026-11-26T00:00:00Z"), at("2026-11-27T00:00:00Z")}, "USD"));
}

TEST_P(LedgerServiceTest, EndingAMembershipKeepsEveryChargeBillable) {
  account("a");
  member("p", "a", "2026-11-01T00:00:00Z");
  ASSERT_TRUE(
      charge("c1", "p", "5.00", Interval{at("2026-11-01T00:00:00Z"), at("2026-11-20T00:00:00Z")}));
  auto early = service_->endMembership(EndMembershipInput{"p", at("2026-11-10T00:00:00Z")}, {});
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().type, "charges-after-end");
  EXPECT_THAT(early.error().detail, HasSubstr("\"c1\""));
  auto ended = service_->endMembership(EndMembershipInput{"p", at("2026-11-20T00:00:00Z")}, {});
  ASSERT_TRUE(ended) << ended.error().detail;
  EXPECT_EQ(ended->value.effectiveTo, at("2026-11-20T00:00:00Z"));
  auto again = service_->endMembership(EndMembershipInput{"p", at("2026-11-20T00:00:00Z")}, {});
  ASSERT_TRUE(again) << "ending at the same instant again is harmless";
  EXPECT_EQ(again->value.id, ended->value.id);
  auto after =
      charge("c2", "p", "1.00", Interval{at("2026-11-21T00:00:00Z"), at("2026-11-22T00:00:00Z")});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().type, "no-membership");
}

TEST_P(LedgerServiceTest, AnIssuedInvoiceCannotLoseUsageToAMove) {
  account("a");
  account("b");
  member("p", "a", "2026-11-01T00:00:00Z");
  ASSERT_TRUE(charge("c1", "p", "30.00", kNov));
  clock_.set(at("2026-12-01T00:00:00Z"));
  const InvoiceView nov = issue("a", kNov);
  auto end = service_->endMembership(EndMembershipInput{"p", at("2026-11-15T00:00:00Z")}, {});
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().type, "invoiced-period");
  // Once the invoice is void, the move is possible and the usage is billed where it belongs.
  ASSERT_TRUE(service_->voidInvoice(nov.invoice.id, "moved retroactively", {}));
  ASSERT_TRUE(service_->moveProject(MoveInput{"p", "b", at("2026-11-16T00:00:00Z")}, {}));
  EXPECT_EQ(issue("a", kNov).invoice.totalMinor, 1500);
  EXPECT_EQ(issue("b", kNov).invoice.totalMinor, 1500);
}

TEST_P(LedgerServiceTest, VoidingAnEarlierInvoiceBillsItsUsageOnTheNextOneAsCorrections) {
  account("a");
  member("p", "a", "2026-11-01T00:00:00Z");
  ASSERT_TRUE(charge("nov", "p", "10.00", kNov));
  ASSERT_TRUE(charge("dec", "p", "20.00", kDec));
  clock_.set(at("2027-01-01T00:00:00Z"));
  const InvoiceView nov = issue("a", kNov);
  const InvoiceView dec = issue("a", kDec);
  EXPECT_EQ(nov.invoice.totalMinor, 1000);
  EXPECT_EQ(dec.invoice.totalMinor, 2000);
  ASSERT_TRUE(service_->voidInvoice(nov.invoice.id, "duplicate address", {}));
  // November cannot be invoiced again behind December's back ...
  auto again = service_->createInvoice("a", kNov, {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().type, "invoice-order");
  // ... so its usage is on January's invoice, as a correction.
  const InvoiceView jan = issue("a", kJan);
  EXPECT_EQ(jan.invoice.totalMinor, 1000);
  const auto lines = linesOf(jan.invoice.id);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].correction);
  EXPECT_EQ(lines[0].clientId, "nov");
  EXPECT_EQ(lines[0].billed, kNov);
}

TEST_P(LedgerServiceTest, CreditsAreConsumedSoonestExpiryFirstAndExpire) {
  account("a");
  ASSERT_TRUE(service_->grantCredit(
      "a", CreditGrantInput{"forever", "10.00", "prepaid", std::nullopt}, {}));
  ASSERT_TRUE(service_->grantCredit(
      "a", CreditGrantInput{"promo", "5.00", "promotion", at("2026-12-01T00:00:00Z")}, {}));
  member("p", "a", "2026-11-01T00:00:00Z");
  ASSERT_TRUE(charge("c1", "p", "3.00", kNov));
  ASSERT_TRUE(charge("c2", "p", "4.00", kDec));
  clock_.set(at("2026-12-01T00:00:00Z"));
  const InvoiceView nov = issue("a", kNov);
  EXPECT_EQ(nov.invoice.creditsAppliedMinor, 300);
  auto credits = service_->getCredits("a");
  ASSERT_TRUE(credits);
  // promo (expiring) went first: 2.00 of it is left, but it has expired by now.
  EXPECT_EQ(credits->balanceMinor, 1000);
  for (const CreditGrantView& grant : credits->grants) {
    if (grant.grant.id == "promo") {
      EXPECT_EQ(grant.remainingMinor, 200);
      EXPECT_TRUE(grant.expired);
    } else {
      EXPECT_EQ(grant.consumedMinor, 0);
    }
  }
  clock_.set(at("2027-01-01T00:00:00Z"));
  const InvoiceView dec = issue("a", kDec);
  EXPECT_EQ(dec.invoice.creditsAppliedMinor, 400) << "the expired promo is not used";
  EXPECT_EQ(service_->getCredits("a")->balanceMinor, 600);
}

TEST_P(LedgerServiceTest, AnAccountKeepsItsOrganizationScopeWhileItHoldsCredits) {
  account("a");
  ASSERT_TRUE(service_->grantCredit("a", CreditGrantInput{"g", "1.00", "", std::nullopt}, {}));
  auto scope =
      service_->putAccount(AccountInput{"a", "Account a", "acme", "Project", "EUR", {}}, {});
  ASSERT_FALSE(scope);
  EXPECT_EQ(scope.error().type, "credit-balance-remaining");
  EXPECT_EQ(scope.error().field, "scope");
}

TEST_P(LedgerServiceTest, DraftsFollowTheChargesUntilFinalized) {
  account("a");
  member("p", "a", "2026-11-01T00:00:00Z");
  auto draft = service_->createInvoice("a", kNov, {});
  ASSERT_TRUE(draft);
  EXPECT_EQ(draft->value.invoice.totalMinor, 0);
  ASSERT_TRUE(charge("c1", "p", "2.50", kNov));
  EXPECT_EQ(service_->getInvoice(draft->value.invoice.id, false)->invoice.totalMinor, 250);
  ASSERT_TRUE(service_->finalizeInvoice(draft->value.invoice.id, {}));
  ASSERT_TRUE(charge("c2", "p", "1.00", kNov));
  EXPECT_EQ(service_->getInvoice(draft->value.invoice.id, false)->invoice.totalMinor, 250)
      << "issued invoices are frozen";
}

TEST_P(LedgerServiceTest, ReplaysReturnTheFirstResourceEvenAfterItChanged) {
  account("a");
  member("p", "a", "2026-11-01T00:00:00Z");
  const RequestIdentity key{"invoice-a-2026-11", "fingerprint-1"};
  auto first = service_->createInvoice("a", kNov, key);
  ASSERT_TRUE(first);
  ASSERT_TRUE(service_->finalizeInvoice(first->value.invoice.id, {}));
  auto replay = service_->createInvoice("a", kNov, key);
  ASSERT_TRUE(replay);
  EXPECT_TRUE(replay->replayed);
  EXPECT_TRUE(replay->created) << "the first call created it";
  EXPECT_EQ(replay->value.invoice.id, first->value.invoice.id);
  auto mismatch = service_->createInvoice("a", kNov, RequestIdentity{key.key, "fingerprint-2"});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().type, "idempotency-key-reused");
  auto badKey = service_->createInvoice("a", kNov, RequestIdentity{"has space", "f"});
  ASSERT_FALSE(badKey);
  EXPECT_EQ(badKey.error().type, "invalid-idempotency-key");
}

TEST_P(LedgerServiceTest, ABatchIsOneTransaction) {
  account("a");
  member("p", "a", "2026-11-01T00:00:00Z");
  std::vector<ChargeInput> batch;
  for (int i = 0; i < 50; ++i) {
    batch.push_back(ChargeInput{"batch-" + std::to_string(i), "p", "compute", "", "", "", "0.01",
                                "EUR", at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z")});
  }
  batch.push_back(batch.front());  // a duplicate within the batch is the same charge
  auto posted = service_->postCharges(batch);
  ASSERT_TRUE(posted) << posted.error().detail;
  EXPECT_EQ(posted->value.size(), 51u);
  EXPECT_EQ(posted->value.front().id, posted->value.back().id);
  batch.back().project = "unknown/project";
  batch.back().clientId = "batch-new";
  auto refused = service_->postCharges(batch);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "charges[50].project");
  EXPECT_EQ(service_->listCharges("p", std::nullopt)->size(), 50u);
}

// The ledger's central promise, over random histories: moves, charges arriving on time and
// late, voided invoices. Once every period is invoiced, each charge is on issued invoices exactly
// once, split to the cent, whoever billed which part.
TEST_P(LedgerServiceTest, RandomHistoriesBillEveryChargeExactlyOnce) {
  const std::vector<std::string> accounts{"a", "b", "c"};
  const std::vector<std::string> projects{"p/1", "p/2", "p/3", "p/4"};
  const std::vector<Interval> months{
      kNov, kDec, kJan, Interval{at("2027-02-01T00:00:00Z"), at("2027-03-01T00:00:00Z")}};
  for (const std::string& id : accounts) account(id);
  std::mt19937_64 random(GetParam() == StoreKind::Sqlite ? 11 : 12);
  const auto pick = [&](const auto& items) {
    return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(random)];
  };
  const auto seconds = [](Timestamp t) { return t.time_since_epoch().count(); };
  const auto instant = [&](std::int64_t from, std::int64_t to) {
    return Timestamp{
        std::chrono::seconds{std::uniform_int_distribution<std::int64_t>(from, to)(random)}};
  };
  std::map<std::string, Timestamp> lastMove;
  for (const std::string& project : projects) {
    member(project, pick(accounts), "2026-11-01T00:00:00Z");
    lastMove[project] = months[0].start;
  }
  std::map<std::string, std::int64_t> amounts;  // client id -> minor units
  int counter = 0;
  const auto post = [&](const std::string& project, Timestamp start, Timestamp end) {
    const std::int64_t cents = std::uniform_int_distribution<std::int64_t>(1, 1000000)(random);
    const std::string clientId = "charge-" + std::to_string(counter++);
    auto posted =
        charge(clientId, project,
               domain::formatMoney(domain::Money{cents, domain::findCurrency("EUR").value()}),
               Interval{start, end});
    ASSERT_TRUE(posted) << posted.error().detail;
    amounts[clientId] = cents;
  };
  std::vector<std::string> issued;
  for (std::size_t m = 0; m + 1 < months.size(); ++m) {
    const Interval month = months[m];
    clock_.set(month.start);
    for (const std::string& project : projects) {
      for (int i = 0; i < 3; ++i) {
        const Timestamp start = instant(seconds(month.start), seconds(month.end) - 3600);
        // Some charges run into the next month.
        const Timestamp end = instant(seconds(start) + 1, seconds(month.end) + 5 * 86400);
        post(project, start, end);
      }
      if (std::uniform_int_distribution<int>(0, 2)(random) == 0) {
        const Timestamp at = instant(seconds(lastMove[project]) + 1, seconds(month.end) - 1);
        ASSERT_TRUE(service_->moveProject(MoveInput{project, pick(accounts), at}, {}));
        lastMove[project] = at;
      }
    }
    clock_.set(month.end);
    for (const std::string& id : accounts) issued.push_back(issue(id, month).invoice.id);
    // Late charges for the month just invoiced.
    for (int i = 0; i < 4; ++i) {
      const Timestamp start = instant(seconds(month.start), seconds(month.end) - 7200);
      post(pick(projects), start, instant(seconds(start) + 1, seconds(month.end)));
    }
    if (std::uniform_int_distribution<int>(0, 1)(random) == 0) {
      ASSERT_TRUE(service_->voidInvoice(pick(issued), "random void", {}));
    }
  }
  clock_.set(months.back().end);
  for (const std::string& id : accounts) issued.push_back(issue(id, months.back()).invoice.id);

  std::map<std::string, std::int64_t> billed;
  int corrections = 0;
  for (const std::string& id : accounts) {
    auto invoices = service_->listInvoices(id);
    ASSERT_TRUE(invoices);
    for (const InvoiceView& invoice : *invoices) {
      if (invoice.invoice.state == domain::InvoiceState::Void) continue;
      ASSERT_EQ(invoice.invoice.state, domain::InvoiceState::Finalized);
      std::int64_t sum = 0;
      for (const InvoiceLineRecord& line : linesOf(invoice.invoice.id)) {
        billed[line.clientId] += line.amountMinor;
        sum += line.amountMinor;
        corrections += line.correction ? 1 : 0;
      }
      EXPECT_EQ(sum, invoice.invoice.subtotalMinor) << "lines add up to the subtotal";
      EXPECT_EQ(invoice.invoice.totalMinor,
                invoice.invoice.subtotalMinor - invoice.invoice.creditsAppliedMinor);
    }
  }
  EXPECT_EQ(billed, amounts);
  EXPECT_GT(corrections, 0) << "the history had late charges; they must show as corrections";
}

INSTANTIATE_TEST_SUITE_P(Stores, LedgerServiceTest,
                         ::testing::Values(StoreKind::Sqlite, StoreKind::Postgres),
                         [](const ::testing::TestParamInfo<StoreKind>& param) {
                           return testing::storeKindName(param.param);
                         });

}  // namespace
}  // namespace billing::ledger
