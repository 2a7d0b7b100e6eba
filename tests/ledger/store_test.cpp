// The storage interface on each store: records round-trip, the schema's constraints hold, the
// invoice number counter is gapless under rollbacks and concurrency.
#include "ledger/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "ledger/postgres_store.h"
#include "ledger/sqlite_store.h"
#include "ledger_test_support.h"

namespace billing::ledger {
namespace {

using testing::at;
using testing::StoreKind;

class StoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override { BILLING_LEDGER_TEST_STORE(store_, GetParam()); }
  Store& store() { return store_->store(); }

  static Account sampleAccount(const std::string& id) {
    Account account;
    account.id = id;
    account.name = "Acme, \"the\" company";
    account.organization = "acme";
    account.scope = domain::Scope::Organization;
    account.currency = "EUR";
    account.profile.company = "Acme GmbH";
    account.profile.billingEmails = {"billing@acme.example", "ap@acme.example"};
    account.profile.address = PostalAddress{{"Main St 1", "Floor 2"}, "Berlin", "", "10115", "DE"};
    account.profile.vatId = "DE123";
    account.profile.paymentMethod =
        PaymentMethodReference{domain::PaymentMethodType::Card, "secret://acme/card/token"};
    account.profile.invoiceText = "Thank you.\nPayable in 30 days.";
    account.createdAt = at("2026-11-01T00:00:00Z");
    account.updatedAt = at("2026-11-02T00:00:00Z");
    return account;
  }

  std::unique_ptr<testing::TestStore> store_;
};

TEST_P(StoreTest, RecordsRoundTrip) {
  const Account account = sampleAccount("acme-1");
  Membership membership{"mem_1",      "acme/web",
                        "acme-1",     at("2026-11-01T00:00:00Z"),
                        std::nullopt, at("2026-11-01T00:00:00Z")};
  Charge charge;
  charge.id = "chg_1";
  charge.clientId = "meter-1";
  charge.project = "acme/web";
  charge.service = "compute";
  charge.description = "vCPU, \"burst\" ünïcode";
  charge.quantity = "1.5";
  charge.unit = "h";
  charge.currency = "EUR";
  charge.amountMinor = -9223372036854775807LL;  // int64 survives both drivers
  charge.period = Interval{at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z")};
  charge.receivedAt = at("2026-11-03T00:00:00Z");
  auto written = store().transact(TransactionMode::ReadWrite, [&](Transaction& tx) -> Result<void> {
    LEDGER_RETURN_IF_ERROR(tx.insertAccount(account));
    LEDGER_RETURN_IF_ERROR(tx.insertMembership(membership));
    return tx.insertCharge(charge);
  });
  ASSERT_TRUE(written) << written.error().detail;
  auto read = store().transact(TransactionMode::ReadOnly, [&](Transaction& tx) -> Result<void> {
    LEDGER_ASSIGN_OR_RETURN(auto a, tx.findAccount("acme-1"));
    EXPECT_EQ(a, account);
    LEDGER_ASSIGN_OR_RETURN(auto m, tx.membershipsOfProject("acme/web"));
    EXPECT_THAT(m, ::testing::ElementsAre(membership));
    LEDGER_ASSIGN_OR_RETURN(auto c, tx.findChargeByClientId("meter-1"));
    EXPECT_EQ(c, charge);
    LEDGER_ASSIGN_OR_RETURN(auto missing, tx.findAccount("nope"));
    EXPECT_FALSE(missing);
    return {};
  });
  ASSERT_TRUE(read) << read.error().detail;
}

TEST_P(StoreTest, ARolledBackNumberIsGivenOutAgain) {
  auto failed = store().transact(TransactionMode::ReadWrite, [](Transaction& tx) -> Result<void> {
    LEDGER_ASSIGN_OR_RETURN(auto number, tx.nextInvoiceNumber());
    EXPECT_EQ(number, 1);
    return internal("the finalization failed after taking a number");
  });
  ASSERT_FALSE(failed);
  for (std::int64_t expected : {1, 2}) {
    auto number = store().transact(TransactionMode::ReadWrite,
                                   [](Transaction& tx) { return tx.nextInvoiceNumber(); });
    ASSERT_TRUE(number) << number.error().detail;
    EXPECT_EQ(*number, expected);
  }
}

TEST_P(StoreTest, ConcurrentNumberAllocationsAreDistinctAndConsecutive) {
  constexpr int kThreads = 4;
  constexpr int kEach = 15;
  std::vector<std::vector<std::int64_t>> numbers(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto number = store().transact(TransactionMode::ReadWrite,
                                       [](Transaction& tx) { return tx.nextInvoiceNumber(); });
        ASSERT_TRUE(number) << number.error().detail;
        numbers[t].push_back(*number);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::int64_t> all;
  for (const auto& list : numbers) all.insert(list.begin(), list.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach)) << "no number twice";
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kEach) << "no gaps";
}

TEST_P(StoreTest, AnAccountHasOneLiveInvoicePerPeriod) {
  ASSERT_TRUE(store().transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return tx.insertAccount(sampleAccount("a"));
  }));
  Invoice invoice;
  invoice.id = "inv_1";
  invoice.accountId = "a";
  invoice.currency = "EUR";
  invoice.period = Interval{at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")};
  invoice.createdAt = at("2026-12-01T00:00:00Z");
  ASSERT_TRUE(store().transact(TransactionMode::ReadWrite,
                               [&](Transaction& tx) { return tx.insertInvoice(invoice); }));
  Invoice second = invoice;
  second.id = "inv_2";
  auto duplicate = store().transact(TransactionMode::ReadWrite,
                                    [&](Transaction& tx) { return tx.insertInvoice(second); });
  ASSERT_FALSE(duplicate) << "the unique index must refuse a second live invoice";
  // A void invoice frees the period.
  invoice.state = domain::InvoiceState::Void;
  ASSERT_TRUE(store().transact(TransactionMode::ReadWrite,
                               [&](Transaction& tx) { return tx.updateInvoice(invoice); }));
  ASSERT_TRUE(store().transact(TransactionMode::ReadWrite,
                               [&](Transaction& tx) { return tx.insertInvoice(second); }));
  auto live = store().transact(TransactionMode::ReadOnly, [&](Transaction& tx) {
    return tx.findLiveInvoice("a", invoice.period);
  });
  ASSERT_TRUE(live);
  ASSERT_TRUE(*live);
  EXPECT_EQ((*live)->id, "inv_2");
}

TEST_P(StoreTest, IssuedLinesSettleTheirChargesAndVoidingUnsettlesThem) {
  Charge charge;
  charge.id = "chg_1";
  charge.clientId = "m1";
  charge.project = "p";
  charge.service = "s";
  charge.currency = "EUR";
  charge.amountMinor = 100;
  charge.period = Interval{at("2026-11-25T00:00:00Z"), at("2026-12-05T00:00:00Z")};
  Invoice nov;
  nov.id = "inv_nov";
  nov.accountId = "a";
  nov.currency = "EUR";
  nov.period = Interval{at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")};
  nov.state = domain::InvoiceState::Finalized;
  nov.number = 1;
  nov.finalizedAt = at("2026-12-01T00:00:00Z");
  InvoiceLineRecord line{"inv_nov",
                         1,
                         "chg_1",
                         "m1",
                         "p",
                         "s",
                         "",
                         "",
                         "",
                         60,
                         Interval{at("2026-11-25T00:00:00Z"), at("2026-12-01T00:00:00Z")},
                         false};
  const auto unsettled = [&]() -> std::vector<Charge> {
    auto charges = store().transact(TransactionMode::ReadOnly, [](Transaction& tx) {
      const std::vector<std::string> projects{"p"};
      return tx.unsettledChargesOfProjects(projects, at("2027-01-01T00:00:00Z"));
    });
    EXPECT_TRUE(charges) << charges.error().detail;
    return charges.value_or(std::vector<Charge>{});
  };
  ASSERT_TRUE(store().transact(TransactionMode::ReadWrite, [&](Transaction& tx) -> Result<void> {
    LEDGER_RETURN_IF_ERROR(tx.insertAccount(sampleAccount("a")));
    LEDGER_RETURN_IF_ERROR(tx.insertMembership(Membership{
        "m", "p", "a", at("2026-11-01T00:00:00Z"), std::nullopt, at("2026-11-01T00:00:00Z")}));
    LEDGER_RETURN_IF_ERROR(tx.insertCharge(charge));
    LEDGER_RETURN_IF_ERROR(tx.insertInvoice(nov));
    LEDGER_RETURN_IF_ERROR(tx.insertInvoiceLines({line}));
    return tx.applyInvoiceToCharges("inv_nov", +1);
  }));
  auto partly = unsettled();
  ASSERT_EQ(partly.size(), 1u) << "six of ten days billed: not settled";
  EXPECT_EQ(partly[0].billedSeconds, 6 * 86400);
  auto shares = store().transact(TransactionMode::ReadOnly, [](Transaction& tx) {
    const std::vector<std::string> charges{"chg_1"};
    return tx.billedShares("a", charges);
  });
  ASSERT_TRUE(shares);
  ASSERT_EQ(shares->size(), 1u);
  EXPECT_EQ((*shares)[0].billed, line.billed);

  Invoice dec = nov;
  dec.id = "inv_dec";
  dec.number = 2;
  dec.period = Interval{at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z")};
  InvoiceLineRecord rest = line;
  rest.invoiceId = "inv_dec";
  rest.billed = Interval{at("2026-12-01T00:00:00Z"), at("2026-12-05T00:00:00Z")};
  ASSERT_TRUE(store().transact(TransactionMode::ReadWrite, [&](Transaction& tx) -> Result<void> {
    LEDGER_RETURN_IF_ERROR(tx.insertInvoice(dec));
    LEDGER_RETURN_IF_ERROR(tx.insertInvoiceLines({rest}));
    return tx.applyInvoiceToCharges("inv_dec", +1);
  }));
  EXPECT_TRUE(unsettled().empty()) << "fully billed: settled";
  ASSERT_TRUE(store().transact(TransactionMode::ReadWrite, [&](Transaction& tx) {
    return tx.applyInvoiceToCharges("inv_nov", -1);
  }));
  ASSERT_EQ(unsettled().size(), 1u) << "a voided invoice's share is unbilled again";
}

TEST_P(StoreTest, ManyLinesAreWrittenInBatches) {
  std::vector<InvoiceLineRecord> lines;
  Invoice invoice;
  invoice.id = "inv_big";
  invoice.accountId = "a";
  invoice.currency = "EUR";
  invoice.period = Interval{at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")};
  for (int i = 0; i < 450; ++i) {
    lines.push_back(InvoiceLineRecord{"inv_big", i + 1, "chg_" + std::to_string(i), "m", "p", "s",
                                      "", "", "", i, invoice.period, i % 2 == 0});
  }
  auto written = store().transact(TransactionMode::ReadWrite, [&](Transaction& tx) -> Result<void> {
    LEDGER_RETURN_IF_ERROR(tx.insertAccount(sampleAccount("a")));
    LEDGER_RETURN_IF_ERROR(tx.insertInvoice(invoice));
    for (int i = 0; i < 450; ++i) {
      Charge c;
      c.id = "chg_" + std::to_string(i);
      c.clientId = c.id;
      c.project = "p";
      c.service = "s";
      c.currency = "EUR";
      c.period = invoice.period;
      LEDGER_RETURN_IF_ERROR(tx.insertCharge(c));
    }
    return tx.insertInvoiceLines(lines);
  });
  ASSERT_TRUE(written) << written.error().detail;
  auto read = store().transact(TransactionMode::ReadOnly,
                               [](Transaction& tx) { return tx.invoiceLines("inv_big"); });
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, lines);
}

TEST(SqliteStoreTest, OpeningTwiceKeepsTheDataAndAnUnwritablePathIsAClearError) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "ledger.db").string();
  {
    auto store = SqliteStore::open(SqliteStoreOptions{path});
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->transact(TransactionMode::ReadWrite,
                                   [](Transaction& tx) { return tx.nextInvoiceNumber(); }));
  }
  auto reopened = SqliteStore::open(SqliteStoreOptions{path});
  ASSERT_TRUE(reopened) << reopened.error().detail;
  auto number = (*reopened)->transact(TransactionMode::ReadWrite,
                                      [](Transaction& tx) { return tx.nextInvoiceNumber(); });
  EXPECT_EQ(number.value_or(0), 2);

  auto bad = SqliteStore::open(SqliteStoreOptions{(dir.path() / "missing" / "ledger.db").string()});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::Unavailable);
  EXPECT_THAT(bad.error().detail, ::testing::HasSubstr("directory exists"));
}

TEST(PostgresStoreTest, PlaceholdersAreNumberedOutsideQuotes) {
  EXPECT_EQ(numberPlaceholders("SELECT a FROM t WHERE b = ? AND c = '?' AND \"d?\" = ?"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND \"d?\" = $2");
  EXPECT_EQ(quotePostgresIdentifier("we\"ird"), "\"we\"\"ird\"");
}

TEST(PostgresStoreTest, AnUnreachableServerIsAClearError) {
  auto store = PostgresStore::open(PostgresStoreOptions{
      "host=127.0.0.1 port=" + std::to_string(testing::freePort()) + " dbname=x connect_timeout=2",
      "", 1});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, ErrorKind::Unavailable);
  EXPECT_THAT(store.error().detail, ::testing::HasSubstr("cannot connect to PostgreSQL"));
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest,
                         ::testing::Values(StoreKind::Sqlite, StoreKind::Postgres),
                         [](const ::testing::TestParamInfo<StoreKind>& param) {
                           return testing::storeKindName(param.param);
                         });

}  // namespace
}  // namespace billing::ledger
