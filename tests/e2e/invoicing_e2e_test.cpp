// End-to-end tests of invoicing (issue #7): the real test-apiserver, billing-ledger and
// `billing-operator run` as processes, the real kubectl, and the ledger's REST API for what a
// metering system and finance do (post charges, read invoices, credits and numbers).
//
// Billing runs on whole UTC days here (Daily groups). The API server runs with --clock-offset, so
// the objects it creates now look two or three days old: their projects were members for whole
// days that have ended, which the operator (on the real clock) closes. The operator's own clock
// cannot be moved from the outside, so what happens at a real instant (a move, a group deleted
// after its projects moved) lands in today's running period: those tests read the running
// period's invoices (drafts) or the deleted group's final partial invoice.
//
// Helpers compute days and amounts on their own (std::chrono, integer minor units) rather than
// with the operator's domain code, so that a shared misunderstanding cannot pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "common/json.h"
#include "tests/e2e/process_harness.h"

namespace billing::e2e {
namespace {

using ::testing::HasSubstr;
using web::json::value;
using Time = std::chrono::sys_seconds;
constexpr std::chrono::seconds kDay{24 * 3600};

// ---- time and money ----

Time realNow() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}
Time dayStart(Time t) { return std::chrono::floor<std::chrono::days>(t); }

std::string formatTime(Time t, const char* format) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}
std::string rfc3339(Time t) { return formatTime(t, "%Y-%m-%dT%H:%M:%SZ"); }
std::string date(Time t) { return formatTime(t, "%Y-%m-%d"); }

// "2026-03-04T05:06:07Z"; nullopt for anything else.
std::optional<Time> parseTime(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char z = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
      z != 'Z') {
    return std::nullopt;
  }
  const std::chrono::sys_days day = std::chrono::year_month_day(
      std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
      std::chrono::day(static_cast<unsigned>(d)));
  return Time(day) + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
}

// round-half-to-even of numerator / denominator (both positive).
long long roundHalfEven(long long numerator, long long denominator) {
  const long long quotient = numerator / denominator;
  const long long twice = 2 * (numerator % denominator);
  if (twice > denominator || (twice == denominator && quotient % 2 == 1)) return quotient + 1;
  return quotient;
}

// ---- manifests ----

std::string namespaceYaml(const std::string& ns) {
  return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n";
}

// An Organization billing group invoicing daily in EUR; `extraSpec` is indented spec YAML.
std::string groupYaml(const std::string& ns, const std::string& name,
                      const std::string& extraSpec = "") {
  return "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\nmetadata:\n  name: " +
         name + "\n  namespace: " + ns + "\nspec:\n  displayName: " + name +
         "\n  currency: EUR\n  invoicing:\n    period: Daily\n" + extraSpec;
}

std::string projectYaml(const std::string& ns, const std::string& name, const std::string& group) {
  return "apiVersion: billing.operator.dev/v1alpha1\nkind: Project\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns + "\nspec:\n  billingGroupRef:\n    name: " + group + "\n";
}

std::string invoiceYaml(const std::string& ns, const std::string& name, const std::string& group,
                        Time start, Time end, bool finalize) {
  return "apiVersion: billing.operator.dev/v1alpha1\nkind: Invoice\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns + "\nspec:\n  billingGroupRef:\n    name: " + group +
         "\n  periodStart: \"" + rfc3339(start) + "\"\n  periodEnd: \"" + rfc3339(end) +
         "\"\n  finalize: " + (finalize ? "true" : "false") + "\n";
}

std::string documents(const std::vector<std::string>& parts) {
  std::string text;
  for (const std::string& part : parts) text += (text.empty() ? "" : "---\n") + part;
  return text;
}

// ---- the processes ----

Environment::Options shiftedCluster(const std::string& clockOffset, bool webhook = true) {
  Environment::Options options;
  options.webhook = webhook;
  options.apiServerFlags = {"--clock-offset", clockOffset};
  return options;
}

// Starts an operator replica with `flags` and, once it is ready, registers its webhook (when the
// environment has one). nullptr (and a test failure) when it does not become ready.
// `webhookPort` 0: the replica serves the webhook Service's port (one replica per port).
OperatorProcess* startOperator(Environment& env, const std::string& identity,
                               std::vector<std::string> flags, bool leaderElect = false,
                               int webhookPort = 0) {
  OperatorOptions options;
  options.identity = identity;
  options.leaderElect = leaderElect;
  options.webhookPort = webhookPort;
  options.extraFlags = std::move(flags);
  OperatorProcess& op = env.addOperator(options);
  if (!op.waitReady()) {
    ADD_FAILURE() << "operator " << identity << " is not ready:\n" << op.process().logSinceStart();
    return nullptr;
  }
  if (env.webhook()) {
    CommandResult registered =
        env.kubectl({"apply", "-f", "-"}, env.webhook()->configurationYaml());
    if (registered.exitCode != 0) {
      ADD_FAILURE() << "registering the webhook failed:\n" << registered;
      return nullptr;
    }
  }
  return &op;
}

std::string jsonpath(Environment& env, const std::string& kind, const std::string& ns,
                     const std::string& name, const std::string& path) {
  CommandResult got = env.kubectl({"get", kind, name, "-n", ns, "-o", "jsonpath=" + path});
  return got.exitCode == 0 ? got.out : "<" + kind + " " + ns + "/" + name + " not found>";
}

std::string readyReason(Environment& env, const std::string& kind, const std::string& ns,
                        const std::string& name) {
  return jsonpath(env, kind, ns, name,
                  "{.status.conditions[?(@.type==\"Ready\")].status}/"
                  "{.status.conditions[?(@.type==\"Ready\")].reason}");
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 30s) {
  return eventually(condition, timeout);
}

// Events (events.k8s.io/v1, as the operator writes them) about one object: "TYPE REASON: note".
std::vector<std::string> eventsAbout(Environment& env, const std::string& ns,
                                     const std::string& name) {
  std::vector<std::string> found;
  CommandResult listed = env.kubectl({"get", "events.v1.events.k8s.io", "-n", ns, "-o", "json"});
  auto list = common::parseJson(listed.out);
  if (listed.exitCode != 0 || !list) return found;
  for (const value& item : list->at("items").as_array()) {
    if (at(item, "regarding.name") == name) {
      found.push_back(at(item, "type") + " " + at(item, "reason") + ": " + at(item, "note"));
    }
  }
  return found;
}

::testing::AssertionResult hasEvent(Environment& env, const std::string& ns,
                                    const std::string& name, const std::string& prefix) {
  std::vector<std::string> seen;
  if (waitFor([&] {
        seen = eventsAbout(env, ns, name);
        return std::ranges::any_of(seen,
                                   [&](const std::string& e) { return e.starts_with(prefix); });
      })) {
    return ::testing::AssertionSuccess();
  }
  std::string all;
  for (const std::string& event : seen) all += "  " + event + "\n";
  return ::testing::AssertionFailure()
         << "no event \"" << prefix << "...\" about " << ns << "/" << name << "; events:\n"
         << all;
}

// ---- the ledger, through its REST API ----

// A metering system's charge: `amount` EUR for [start, end) of project "namespace/name".
std::expected<value, std::string> postCharge(LedgerProcess& ledger, const std::string& clientId,
                                             const std::string& project, const std::string& amount,
                                             Time start, Time end) {
  value body = value::object();
  body["clientId"] = value::string(clientId);
  body["project"] = value::string(project);
  body["service"] = value::string("compute");
  body["description"] = value::string("e2e usage " + clientId);
  body["amount"] = value::string(amount);
  body["currency"] = value::string("EUR");
  body["periodStart"] = value::string(rfc3339(start));
  body["periodEnd"] = value::string(rfc3339(end));
  return ledger.post("/v1/charges", body, "charge-" + clientId);
}

// postCharge's error, "" when posted: for ASSERT_EQ(..., "") with the ledger's problem shown.
std::string chargeError(LedgerProcess& ledger, const std::string& clientId,
                        const std::string& project, const std::string& amount, Time start,
                        Time end) {
  auto posted = postCharge(ledger, clientId, project, amount, start, end);
  return posted ? std::string() : posted.error();
}

// The items of a list answer; none when the ledger did not answer (callers poll, or compare with
// what they expected and report the difference).
std::vector<value> items(const std::expected<value, std::string>& listed) {
  std::vector<value> out;
  if (!listed || !listed->has_field("items")) return out;
  for (const value& item : listed->at("items").as_array()) out.push_back(item);
  return out;
}

std::vector<value> ledgerInvoices(LedgerProcess& ledger, const std::string& accountId) {
  return items(ledger.get("/v1/accounts/" + accountId + "/invoices"));
}

// Every invoice of every account at the ledger.
std::vector<value> allLedgerInvoices(LedgerProcess& ledger) {
  std::vector<value> all;
  for (const value& account : items(ledger.get("/v1/accounts"))) {
    for (value& invoice : ledgerInvoices(ledger, at(account, "id"))) all.push_back(invoice);
  }
  return all;
}

bool issued(const value& invoice) {
  const std::string state = at(invoice, "state");
  return state == "Finalized" || state == "Paid";
}

std::size_t issuedCount(const std::vector<value>& invoices) {
  return static_cast<std::size_t>(std::ranges::count_if(invoices, issued));
}

// The live (non-void) invoices of an account for a period starting at `start`.
std::vector<value> liveFor(const std::vector<value>& invoices, Time start) {
  std::vector<value> found;
  for (const value& invoice : invoices) {
    if (at(invoice, "state") != "Void" && at(invoice, "periodStart") == rfc3339(start)) {
      found.push_back(invoice);
    }
  }
  return found;
}

// The ledger numbers invoices INV-000001, INV-000002, ... across all accounts, without a gap or a
// repeat, and voided invoices keep theirs: the numbers of every invoice that has one must be
// exactly 1..N.
::testing::AssertionResult numbersAreGapless(const std::vector<value>& invoices) {
  std::vector<long long> numbers;
  for (const value& invoice : invoices) {
    if (!invoice.has_field("number") || !invoice.at("number").is_string()) continue;
    const std::string number = invoice.at("number").as_string();
    const std::size_t dash = number.rfind('-');
    numbers.push_back(std::stoll(number.substr(dash == std::string::npos ? 0 : dash + 1)));
  }
  std::ranges::sort(numbers);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (numbers[i] != static_cast<long long>(i) + 1) {
      std::string list;
      for (long long n : numbers) list += " " + std::to_string(n);
      return ::testing::AssertionFailure()
             << "invoice numbers are not 1.." << numbers.size() << " without gaps:" << list;
    }
  }
  return ::testing::AssertionSuccess() << numbers.size() << " numbers";
}

bool hasMembership(LedgerProcess& ledger, const std::string& project) {
  auto listed = ledger.memberships(project);
  return listed && !listed->empty();
}

std::string uidOf(Environment& env, const std::string& kind, const std::string& ns,
                  const std::string& name) {
  return jsonpath(env, kind, ns, name, "{.metadata.uid}");
}

// ---- period close, credits ----

// Yesterday's day closes once the grace is over: one Invoice resource per day, owned by the group,
// showing the ledger's invoice (number, totals, per-project totals, credits applied soonest first).
TEST(InvoicingE2eTest, PeriodCloseInvoicesEachEndedDayOnceWithOrganizationCredits) {
  Environment env(shiftedCluster("-48h"));
  ASSERT_EQ(env.startupError(), "");
  // A grace of 72 h keeps every day open while the metering system posts its charges.
  OperatorProcess* before = startOperator(env, "grace-72h", {"--invoice-grace", "72h"});
  ASSERT_NE(before, nullptr);
  CommandResult applied =
      env.kubectl({"apply", "-f", "-"},
                  documents({namespaceYaml("acme"),
                             groupYaml("acme", "acme-main",
                                       "  credits:\n    - id: welcome\n      amount: \"5.00\"\n"
                                       "      description: Welcome credit\n"),
                             projectYaml("acme", "web", "acme-main"),
                             projectYaml("acme", "api", "acme-main")}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  LedgerProcess& ledger = *env.ledger();
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "acme/web"); }));
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "acme/api"); }));

  // The membership starts at the project's creation, two days ago on the shifted cluster.
  auto webMemberships = ledger.memberships("acme/web");
  ASSERT_TRUE(webMemberships && webMemberships->size() == 1);
  const std::string created =
      jsonpath(env, "project", "acme", "web", "{.metadata.creationTimestamp}");
  EXPECT_EQ(at(webMemberships->at(0), "effectiveFrom"), created);
  const std::optional<Time> joined = parseTime(created);
  ASSERT_TRUE(joined) << created;
  EXPECT_LT(*joined, realNow() - 47h);
  const Time firstDay = dayStart(*joined);
  const Time yesterday = dayStart(realNow()) - kDay;
  ASSERT_EQ(firstDay, yesterday - kDay) << "the test needs the day before yesterday to be whole";

  ASSERT_EQ(chargeError(ledger, "web-first", "acme/web", "1.25", *joined,
                        std::min(*joined + 60s, firstDay + kDay)),
            "");
  ASSERT_EQ(chargeError(ledger, "web-y", "acme/web", "12.00", yesterday, yesterday + 1h), "");
  ASSERT_EQ(chargeError(ledger, "api-y", "acme/api", "3.50", yesterday + 2h, yesterday + 3h), "");
  const std::string account = uidOf(env, "billinggroup", "acme", "acme-main");
  EXPECT_EQ(issuedCount(ledgerInvoices(ledger, account)), 0u) << "nothing closes within the grace";
  EXPECT_EQ(env.kubectl({"get", "invoices", "-n", "acme", "-o", "name"}).out, "");

  // The same operator with no grace: both ended days close at once.
  ASSERT_EQ(before->process().stop(), 0);
  ASSERT_NE(startOperator(env, "grace-0s", {"--invoice-grace", "0s"}), nullptr);
  const std::string first = "acme-main-" + date(firstDay);
  const std::string second = "acme-main-" + date(yesterday);
  ASSERT_TRUE(waitFor([&] {
    return jsonpath(env, "invoice", "acme", first, "{.status.state}") == "Finalized" &&
           jsonpath(env, "invoice", "acme", second, "{.status.state}") == "Finalized";
  })) << jsonpath(env, "invoice", "acme", second, "{.status}");

  // Credits on an organization group: consumed by the first invoice (1.25), the rest (3.75) by
  // the second.
  EXPECT_EQ(jsonpath(env, "invoice", "acme", first, "{.status.subtotal}"), "1.25");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", first, "{.status.creditsApplied}"), "1.25");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", first, "{.status.total}"), "0.00");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.subtotal}"), "15.50");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.creditsApplied}"), "3.75");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.total}"), "11.75");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.currency}"), "EUR");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second,
                     "{range .status.projectTotals[*]}{.project}={.amount} {end}"),
            "acme/api=3.50 acme/web=12.00 ");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.periodStart}"), rfc3339(yesterday));
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.periodEnd}"),
            rfc3339(yesterday + kDay));
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.metadata.ownerReferences[0].uid}"),
            account);
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.metadata.ownerReferences[0].controller}"),
            "true");
  EXPECT_EQ(readyReason(env, "invoice", "acme", second), "True/Finalized");

  // The ledger has exactly these two issued invoices, numbered 1 and 2 in period order, and
  // the resources show them.
  const std::vector<value> invoices = ledgerInvoices(ledger, account);
  EXPECT_EQ(issuedCount(invoices), 2u);
  const auto firstAtLedger = liveFor(invoices, firstDay);
  const auto secondAtLedger = liveFor(invoices, yesterday);
  ASSERT_EQ(firstAtLedger.size(), 1u);
  ASSERT_EQ(secondAtLedger.size(), 1u);
  EXPECT_EQ(at(firstAtLedger[0], "number"), "INV-000001");
  EXPECT_EQ(at(secondAtLedger[0], "number"), "INV-000002");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.number}"), "INV-000002");
  EXPECT_EQ(jsonpath(env, "invoice", "acme", second, "{.status.backendInvoiceId}"),
            at(secondAtLedger[0], "id"));
  auto credits = ledger.get("/v1/accounts/" + account + "/credits");
  ASSERT_TRUE(credits) << credits.error();
  EXPECT_EQ(at(*credits, "balance"), "0.00");

  // The group shows the last invoice and today's running period, and says what it closed.
  EXPECT_TRUE(waitFor([&] {
    return jsonpath(env, "billinggroup", "acme", "acme-main", "{.status.lastInvoice.name}") ==
           second;
  })) << jsonpath(env, "billinggroup", "acme", "acme-main", "{.status}");
  EXPECT_EQ(jsonpath(env, "billinggroup", "acme", "acme-main", "{.status.lastInvoice.number}"),
            "INV-000002");
  EXPECT_EQ(jsonpath(env, "billinggroup", "acme", "acme-main", "{.status.currentPeriod.start}"),
            rfc3339(yesterday + kDay));
  EXPECT_TRUE(hasEvent(env, "acme", "acme-main",
                       "Normal InvoiceFinalized: Closed the period " + rfc3339(yesterday)));
  CommandResult listed = env.kubectl({"get", "invoices", "-n", "acme", "-o", "name"});
  EXPECT_EQ(std::ranges::count(listed.out, '\n'), 2) << listed.out;
}

// ---- invoices users ask for ----

// An Invoice with finalize: false is the ledger's draft, following the charges; setting finalize
// on an ended day closes it at once (no grace), with the same backend invoice.
TEST(InvoicingE2eTest, EstimateFollowsChargesAndEarlyCloseFinalizesTheEndedDay) {
  Environment env(shiftedCluster("-48h"));
  ASSERT_EQ(env.startupError(), "");
  ASSERT_NE(startOperator(env, "grace-72h", {"--invoice-grace", "72h", "--invoice-resync", "1s"}),
            nullptr);
  CommandResult applied =
      env.kubectl({"apply", "-f", "-"}, documents({namespaceYaml("team"), groupYaml("team", "ops"),
                                                   projectYaml("team", "app", "ops")}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  LedgerProcess& ledger = *env.ledger();
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "team/app"); }));
  const Time today = dayStart(realNow());
  const Time yesterday = today - kDay;
  ASSERT_EQ(chargeError(ledger, "app-1", "team/app", "2.00", yesterday, yesterday + 1h), "");

  applied = env.kubectl({"apply", "-f", "-"},
                        invoiceYaml("team", "estimate", "ops", yesterday, today, false));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_TRUE(waitFor([&] {
    return jsonpath(env, "invoice", "team", "estimate", "{.status.total}") == "2.00";
  })) << jsonpath(env, "invoice", "team", "estimate", "{.status}");
  EXPECT_EQ(jsonpath(env, "invoice", "team", "estimate", "{.status.state}"), "Draft");
  EXPECT_EQ(readyReason(env, "invoice", "team", "estimate"), "True/Estimate");
  EXPECT_EQ(jsonpath(env, "invoice", "team", "estimate", "{.status.number}"), "");
  const std::string draftId =
      jsonpath(env, "invoice", "team", "estimate", "{.status.backendInvoiceId}");
  EXPECT_NE(draftId, "");

  // A late charge: the estimate follows (re-read every --invoice-resync).
  ASSERT_EQ(chargeError(ledger, "app-2", "team/app", "0.40", yesterday + 5h, yesterday + 6h), "");
  EXPECT_TRUE(waitFor([&] {
    return jsonpath(env, "invoice", "team", "estimate", "{.status.total}") == "2.40";
  })) << jsonpath(env, "invoice", "team", "estimate", "{.status}");

  // Today has not ended: finalizing it is refused at apply time.
  CommandResult early = env.kubectl(
      {"apply", "-f", "-"}, invoiceYaml("team", "too-early", "ops", today, today + kDay, true));
  EXPECT_NE(early.exitCode, 0) << early;
  EXPECT_THAT(early.err, HasSubstr("PeriodNotEnded"));

  // Early close of yesterday, a day the grace keeps open.
  CommandResult patched = env.kubectl({"patch", "invoice", "estimate", "-n", "team", "--type=merge",
                                       "-p", R"({"spec":{"finalize":true}})"});
  ASSERT_EQ(patched.exitCode, 0) << patched;
  EXPECT_TRUE(waitFor([&] {
    return jsonpath(env, "invoice", "team", "estimate", "{.status.state}") == "Finalized";
  })) << jsonpath(env, "invoice", "team", "estimate", "{.status}");
  EXPECT_EQ(readyReason(env, "invoice", "team", "estimate"), "True/Finalized");
  EXPECT_EQ(jsonpath(env, "invoice", "team", "estimate", "{.status.number}"), "INV-000001");
  EXPECT_EQ(jsonpath(env, "invoice", "team", "estimate", "{.status.total}"), "2.40");
  EXPECT_EQ(jsonpath(env, "invoice", "team", "estimate", "{.status.backendInvoiceId}"), draftId)
      << "the draft itself is issued, not a second invoice";
  const std::vector<value> invoices =
      ledgerInvoices(ledger, uidOf(env, "billinggroup", "team", "ops"));
  ASSERT_EQ(liveFor(invoices, yesterday).size(), 1u);
  EXPECT_EQ(at(liveFor(invoices, yesterday)[0], "state"), "Finalized");
  EXPECT_EQ(issuedCount(invoices), 1u) << "nothing else was closed early";
  // The operator's own close of yesterday waits for the grace.
  EXPECT_EQ(env.kubectl({"get", "invoice", "-n", "team", "ops-" + date(yesterday)}).exitCode, 1);
}

// ---- moves and deletions ----

// A project moved at a real instant: the charge spanning the move is split by seconds, and the
// running day's invoice of each group shows the project's share.
TEST(InvoicingE2eTest, ProjectMovedMidPeriodShowsItsShareOnBothGroupsInvoices) {
  Environment env(shiftedCluster("-48h"));
  ASSERT_EQ(env.startupError(), "");
  ASSERT_NE(startOperator(env, "grace-72h", {"--invoice-grace", "72h", "--invoice-resync", "1s"}),
            nullptr);
  CommandResult applied = env.kubectl(
      {"apply", "-f", "-"},
      documents({namespaceYaml("shop"), groupYaml("shop", "blue"), groupYaml("shop", "green"),
                 projectYaml("shop", "mover", "blue"), projectYaml("shop", "anchor", "green")}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  LedgerProcess& ledger = *env.ledger();
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "shop/mover"); }));
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "shop/anchor"); }));
  const Time today = dayStart(realNow());
  if (realNow() + 5min >= today + kDay) GTEST_SKIP() << "too close to midnight UTC for a move";

  // 10.00 EUR for two minutes around now; the move comes in between.
  const Time chargeStart = std::max(today, realNow() - 30s);
  const Time chargeEnd = chargeStart + 120s;
  ASSERT_EQ(chargeError(ledger, "mover-span", "shop/mover", "10.00", chargeStart, chargeEnd), "");
  ASSERT_EQ(chargeError(ledger, "anchor-1", "shop/anchor", "1.00", chargeStart, chargeStart + 1s),
            "");
  CommandResult moved = env.kubectl({"patch", "project", "mover", "-n", "shop", "--type=merge",
                                     "-p", R"({"spec":{"billingGroupRef":{"name":"green"}}})"});
  ASSERT_EQ(moved.exitCode, 0) << moved;
  const std::string blue = uidOf(env, "billinggroup", "shop", "blue");
  const std::string green = uidOf(env, "billinggroup", "shop", "green");
  std::vector<value> memberships;
  ASSERT_TRUE(waitFor([&] {
    auto listed = ledger.memberships("shop/mover");
    if (listed) memberships = *listed;
    return memberships.size() == 2;
  })) << "the move was not recorded at the ledger";
  EXPECT_EQ(at(memberships[0], "accountId"), blue);
  EXPECT_EQ(at(memberships[1], "accountId"), green);
  const std::optional<Time> movedAt = parseTime(at(memberships[1], "effectiveFrom"));
  ASSERT_TRUE(movedAt);
  EXPECT_EQ(at(memberships[0], "effectiveTo"), rfc3339(*movedAt));
  ASSERT_GT(*movedAt, chargeStart);
  ASSERT_LT(*movedAt, chargeEnd);
  EXPECT_TRUE(waitFor([&] {
    return jsonpath(env, "project", "shop", "mover", "{.status.billingGroup.name}") == "green";
  }));

  // Today's invoices, as estimates a user asks for; the shares add up to the charge, each one the
  // seconds before or after the move, rounded half to even.
  applied = env.kubectl(
      {"apply", "-f", "-"},
      documents({invoiceYaml("shop", "blue-today", "blue", today, today + kDay, false),
                 invoiceYaml("shop", "green-today", "green", today, today + kDay, false)}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  const long long blueShare = roundHalfEven(1000 * (*movedAt - chargeStart).count(), 120);
  const auto cents = [](long long minor) {
    return std::to_string(minor / 100) + "." + (minor % 100 < 10 ? "0" : "") +
           std::to_string(minor % 100);
  };
  EXPECT_TRUE(waitFor([&] {
    return jsonpath(env, "invoice", "shop", "blue-today",
                    "{range .status.projectTotals[*]}{.project}={.amount} {end}") ==
           "shop/mover=" + cents(blueShare) + " ";
  })) << jsonpath(env, "invoice", "shop", "blue-today", "{.status}");
  EXPECT_TRUE(waitFor([&] {
    return jsonpath(env, "invoice", "shop", "green-today",
                    "{range .status.projectTotals[*]}{.project}={.amount} {end}") ==
           "shop/anchor=1.00 shop/mover=" + cents(1000 - blueShare) + " ";
  })) << jsonpath(env, "invoice", "shop", "green-today", "{.status}");
  EXPECT_EQ(jsonpath(env, "invoice", "shop", "blue-today", "{.status.state}"), "Draft");
  EXPECT_GT(blueShare, 0);
  EXPECT_LT(blueShare, 1000);
  EXPECT_EQ(
      jsonpath(env, "project", "shop", "mover", "{.metadata.annotations}").find("pending-move"),
      std::string::npos)
      << "the pending move is cleared once recorded";
}

// A project deleted: its membership ends at its deletion, and its charges up to then are on its
// group's next invoice.
TEST(InvoicingE2eTest, DeletedProjectsChargesUpToItsDeletionAreOnItsGroupsNextInvoice) {
  Environment env(shiftedCluster("-48h"));
  ASSERT_EQ(env.startupError(), "");
  OperatorProcess* before = startOperator(env, "grace-72h", {"--invoice-grace", "72h"});
  ASSERT_NE(before, nullptr);
  CommandResult applied = env.kubectl(
      {"apply", "-f", "-"},
      documents({namespaceYaml("lab"), groupYaml("lab", "research"),
                 projectYaml("lab", "keep", "research"), projectYaml("lab", "gone", "research")}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  LedgerProcess& ledger = *env.ledger();
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "lab/gone"); }));
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "lab/keep"); }));
  const std::optional<Time> joined =
      parseTime(at(ledger.memberships("lab/gone")->at(0), "effectiveFrom"));
  ASSERT_TRUE(joined);
  const Time day = dayStart(*joined);
  ASSERT_EQ(chargeError(ledger, "gone-1", "lab/gone", "4.20", *joined, *joined + 1s), "");
  ASSERT_EQ(chargeError(ledger, "keep-1", "lab/keep", "1.00", *joined, *joined + 1s), "");
  // Deleted two seconds after its creation, on the shifted clock too.
  std::this_thread::sleep_for(2s);
  CommandResult deleted =
      env.kubectl({"delete", "project", "gone", "-n", "lab", "--wait=true", "--timeout=30s"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;
  auto ended = ledger.memberships("lab/gone");
  ASSERT_TRUE(ended && ended->size() == 1);
  const std::optional<Time> endedAt = parseTime(at(ended->at(0), "effectiveTo"));
  ASSERT_TRUE(endedAt) << common::toJson(ended->at(0));
  EXPECT_GE(*endedAt, *joined + 2s);
  EXPECT_LT(*endedAt, realNow() - 47h) << "ended at the (shifted) deletion time";
  // Nothing after the deletion can be billed to it.
  auto late = postCharge(ledger, "gone-late", "lab/gone", "9.99", *endedAt, *endedAt + 60s);
  EXPECT_FALSE(late);
  if (!late) {
    EXPECT_THAT(late.error(), HasSubstr("no-membership"));
  }

  ASSERT_EQ(before->process().stop(), 0);
  ASSERT_NE(startOperator(env, "grace-0s", {"--invoice-grace", "0s"}), nullptr);
  const std::string name = "research-" + date(day);
  ASSERT_TRUE(waitFor([&] {
    return jsonpath(env, "invoice", "lab", name, "{.status.state}") == "Finalized";
  })) << jsonpath(env, "invoice", "lab", name, "{.status}");
  EXPECT_EQ(jsonpath(env, "invoice", "lab", name,
                     "{range .status.projectTotals[*]}{.project}={.amount} {end}"),
            "lab/gone=4.20 lab/keep=1.00 ");
  EXPECT_EQ(jsonpath(env, "invoice", "lab", name, "{.status.total}"), "5.20");
}

// A billing group deleted once its project moved away: whole days are closed, then the final
// partial-day invoice [today 00:00, the move) is issued, the day's estimate voided, the account
// closed, and only then is the group gone.
TEST(InvoicingE2eTest, DeletedGroupGetsItsFinalPartialInvoiceBeforeItsFinalizerGoes) {
  Environment env(shiftedCluster("-48h"));
  ASSERT_EQ(env.startupError(), "");
  ASSERT_NE(startOperator(env, "grace-0s", {"--invoice-grace", "0s"}), nullptr);
  CommandResult applied = env.kubectl(
      {"apply", "-f", "-"}, documents({namespaceYaml("corp"), groupYaml("corp", "old"),
                                       groupYaml("corp", "new"), projectYaml("corp", "p", "old")}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  LedgerProcess& ledger = *env.ledger();
  ASSERT_TRUE(waitFor([&] { return hasMembership(ledger, "corp/p"); }));
  const Time today = dayStart(realNow());
  if (realNow() + 5min >= today + kDay) GTEST_SKIP() << "too close to midnight UTC";
  const std::string old = uidOf(env, "billinggroup", "corp", "old");
  // The ended days close at once (no grace).
  ASSERT_TRUE(waitFor([&] {
    return jsonpath(env, "billinggroup", "corp", "old", "{.status.lastInvoice.name}") ==
           "old-" + date(today - kDay);
  })) << jsonpath(env, "billinggroup", "corp", "old", "{.status}");
  // Today's usage so far, on today's running estimate.
  const Time usageStart = std::max(today, realNow() - 60s);
  ASSERT_EQ(chargeError(ledger, "p-today", "corp/p", "3.00", usageStart, usageStart + 1s), "");
  ASSERT_TRUE(waitFor([&] { return liveFor(ledgerInvoices(ledger, old), today).size() == 1; }));

  CommandResult moved = env.kubectl({"patch", "project", "p", "-n", "corp", "--type=merge", "-p",
                                     R"({"spec":{"billingGroupRef":{"name":"new"}}})"});
  ASSERT_EQ(moved.exitCode, 0) << moved;
  ASSERT_TRUE(waitFor([&] { return ledger.memberships("corp/p")->size() == 2; }));
  ASSERT_TRUE(waitFor([&] {
    return jsonpath(env, "billinggroup", "corp", "old", "{.status.projectCount}") == "0";
  }));
  CommandResult deleted =
      env.kubectl({"delete", "billinggroup", "old", "-n", "corp", "--wait=false"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;
  EXPECT_TRUE(waitFor([&] {
    return env.kubectl({"get", "billinggroup", "old", "-n", "corp"}).exitCode != 0;
  })) << readyReason(env, "billinggroup", "corp", "old")
      << "\n"
      << jsonpath(env, "billinggroup", "corp", "old", "{.status.conditions}");

  auto account = ledger.get("/v1/accounts/" + old);
  ASSERT_TRUE(account) << account.error();
  EXPECT_EQ(at(*account, "state"), "Closed");
  const std::optional<Time> closedAt = parseTime(at(*account, "closedAt"));
  ASSERT_TRUE(closedAt) << common::toJson(*account);
  const std::vector<value> invoices = ledgerInvoices(ledger, old);
  EXPECT_EQ(issuedCount(invoices), 3u) << "two whole days and the final partial day";
  const auto final = liveFor(invoices, today);
  ASSERT_EQ(final.size(), 1u);
  EXPECT_EQ(at(final[0], "state"), "Finalized");
  EXPECT_EQ(at(final[0], "periodEnd"), rfc3339(*closedAt));
  EXPECT_EQ(at(final[0], "total"), "3.00");
  for (const value& invoice : invoices) {
    if (at(invoice, "periodStart") == rfc3339(today) && at(invoice, "id") != at(final[0], "id")) {
      EXPECT_EQ(at(invoice, "state"), "Void") << "the day's estimate is replaced";
    }
  }
  EXPECT_TRUE(numbersAreGapless(allLedgerInvoices(ledger)));
  EXPECT_TRUE(
      hasEvent(env, "corp", "old", "Normal FinalInvoiceFinalized: Issued the final invoice"));
}

// ---- outage ----

// The ledger killed: the group reports BackendUnavailable (condition and Warning event) and
// nothing is invoiced; the ledger back: the operator catches up on every ended day.
TEST(InvoicingE2eTest, BackendOutageIsReportedAndCaughtUpWhenTheLedgerReturns) {
  Environment env(shiftedCluster("-48h"));
  ASSERT_EQ(env.startupError(), "");
  ASSERT_NE(startOperator(env, "grace-0s", {"--invoice-grace", "0s"}), nullptr);
  LedgerProcess& ledger = *env.ledger();
  ledger.process().kill();
  CommandResult applied =
      env.kubectl({"apply", "-f", "-"}, documents({namespaceYaml("ops"), groupYaml("ops", "infra"),
                                                   projectYaml("ops", "cluster", "infra")}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_TRUE(waitFor([&] {
    return readyReason(env, "billinggroup", "ops", "infra") == "False/BackendUnavailable";
  })) << readyReason(env, "billinggroup", "ops", "infra");
  EXPECT_TRUE(hasEvent(env, "ops", "infra", "Warning BackendUnavailable: "));
  EXPECT_EQ(env.kubectl({"get", "invoices", "-n", "ops", "-o", "name"}).out, "");

  ASSERT_TRUE(ledger.process().start());
  ASSERT_TRUE(ledger.waitReady());
  const Time yesterday = dayStart(realNow()) - kDay;
  for (Time day : {yesterday - kDay, yesterday}) {
    const std::string name = "infra-" + date(day);
    EXPECT_TRUE(waitFor(
        [&] { return jsonpath(env, "invoice", "ops", name, "{.status.state}") == "Finalized"; },
        60s))
        << name << ": " << readyReason(env, "billinggroup", "ops", "infra");
  }
  EXPECT_TRUE(waitFor([&] {
    return readyReason(env, "billinggroup", "ops", "infra") == "True/Reconciled";
  })) << readyReason(env, "billinggroup", "ops", "infra");
  const std::vector<value> invoices =
      ledgerInvoices(ledger, uidOf(env, "billinggroup", "ops", "infra"));
  EXPECT_EQ(issuedCount(invoices), 2u);
  EXPECT_TRUE(numbersAreGapless(invoices));
}

// ---- exactly once: replicas and crashes ----

// What must hold once the operator has caught up: for every group of `ns`, exactly one Finalized
// Invoice resource and one issued ledger invoice per ended day since its project's creation, the
// resource showing the ledger's number; nothing voided; ledger numbers 1..N.
::testing::AssertionResult exactlyOncePerGroupAndDay(Environment& env, const std::string& ns) {
  LedgerProcess& ledger = *env.ledger();
  auto groups =
      common::parseJson(env.kubectl({"get", "billinggroups", "-n", ns, "-o", "json"}).out);
  auto resources = common::parseJson(env.kubectl({"get", "invoices", "-n", ns, "-o", "json"}).out);
  auto projects = common::parseJson(env.kubectl({"get", "projects", "-n", ns, "-o", "json"}).out);
  if (!groups || !resources || !projects)
    return ::testing::AssertionFailure() << "kubectl get failed";
  const Time today = dayStart(realNow());
  std::map<std::string, Time> createdByGroup;
  for (const value& project : projects->at("items").as_array()) {
    createdByGroup[at(project, "spec.billingGroupRef.name")] =
        parseTime(at(project, "metadata.creationTimestamp")).value_or(today);
  }
  std::string problems;
  std::size_t expectedTotal = 0;
  for (const value& group : groups->at("items").as_array()) {
    const std::string name = at(group, "metadata.name");
    const std::vector<value> invoices = ledgerInvoices(ledger, at(group, "metadata.uid"));
    std::size_t expected = 0;
    for (Time day = dayStart(createdByGroup[name]); day < today; day += kDay, ++expected) {
      const auto live = liveFor(invoices, day);
      std::vector<value> shown;
      for (const value& resource : resources->at("items").as_array()) {
        if (at(resource, "spec.billingGroupRef.name") == name &&
            at(resource, "spec.periodStart") == rfc3339(day)) {
          shown.push_back(resource);
        }
      }
      if (live.size() != 1 || !issued(live[0])) {
        problems += name + " " + date(day) + ": " + std::to_string(live.size()) +
                    " live ledger invoices" + (live.empty() ? "" : ", " + at(live[0], "state")) +
                    "\n";
      } else if (shown.size() != 1) {
        problems +=
            name + " " + date(day) + ": " + std::to_string(shown.size()) + " Invoice resources\n";
      } else if (at(shown[0], "status.number") != at(live[0], "number") ||
                 at(shown[0], "status.state") != "Finalized") {
        problems += name + " " + date(day) + ": Invoice " + at(shown[0], "metadata.name") +
                    " shows " + at(shown[0], "status.state") + " " + at(shown[0], "status.number") +
                    ", the ledger " + at(live[0], "number") + "\n";
      }
    }
    expectedTotal += expected;
    if (issuedCount(invoices) != expected) {
      problems += name + ": " + std::to_string(issuedCount(invoices)) +
                  " issued ledger invoices, expected " + std::to_string(expected) + "\n";
    }
    for (const value& invoice : invoices) {
      if (at(invoice, "state") == "Void") problems += name + ": a void invoice\n";
    }
  }
  if (resources->at("items").size() != expectedTotal) {
    problems += std::to_string(resources->at("items").size()) + " Invoice resources, expected " +
                std::to_string(expectedTotal) + "\n";
  }
  const std::vector<value> all = allLedgerInvoices(ledger);
  if (issuedCount(all) != expectedTotal) {
    problems += std::to_string(issuedCount(all)) + " issued invoices at the ledger, expected " +
                std::to_string(expectedTotal) + "\n";
  }
  if (auto gapless = numbersAreGapless(all); !gapless)
    problems += std::string(gapless.message()) + "\n";
  if (problems.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << problems;
}

std::string groupsAndProjects(const std::string& ns, const std::string& prefix, int count) {
  std::vector<std::string> parts;
  for (int i = 0; i < count; ++i) {
    const std::string suffix = prefix + "-" + std::to_string(i);
    parts.push_back(groupYaml(ns, "g" + suffix));
    parts.push_back(projectYaml(ns, "p" + suffix, "g" + suffix));
  }
  return documents(parts);
}

std::string leaseHolder(Environment& env) {
  return env
      .kubectl({"get", "lease", "billing-operator-leader", "-n", "default", "-o",
                "jsonpath={.spec.holderIdentity}"})
      .out;
}

// The invoice numbers a replica logged closing. A close whose Invoice status write hit a 409 is
// retried and logged again with the same number (the backend calls are idempotent), so replicas
// are compared by the distinct invoices they closed, not by log lines.
std::set<std::string> closedNumbers(const OperatorProcess& replica) {
  std::set<std::string> numbers;
  for (const web::json::value& line : replica.logLines("Closed the period")) {
    numbers.insert(billing::common::stringAt(line, {"number"}));
  }
  return numbers;
}

// Two replicas with leader election: the leader closes every day once, the follower nothing; after
// the leader is killed the follower takes over and numbering carries on without a gap.
TEST(InvoicingE2eTest, TwoReplicasCloseEachPeriodOnceWithGaplessNumbers) {
  Environment env(shiftedCluster("-48h"));
  ASSERT_EQ(env.startupError(), "");
  // replica-a starts first and takes the Lease, on a webhook port of its own; replica-b serves
  // the webhook Service, so the webhook stays up when the leader is killed.
  OperatorProcess* leader =
      startOperator(env, "replica-a", {"--invoice-grace", "0s"}, true, freePort());
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(waitFor([&] { return leaseHolder(env) == "replica-a"; })) << leaseHolder(env);
  OperatorProcess* follower = startOperator(env, "replica-b", {"--invoice-grace", "0s"}, true);
  ASSERT_NE(follower, nullptr);
  CommandResult applied =
      env.kubectl({"apply", "-f", "-"},
                  documents({namespaceYaml("pair"), groupsAndProjects("pair", "first", 4)}));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  ASSERT_TRUE(waitFor([&] { return exactlyOncePerGroupAndDay(env, "pair"); }, 60s))
      << exactlyOncePerGroupAndDay(env, "pair").message();
  CommandResult listed = env.kubectl({"get", "invoices", "-n", "pair", "-o", "name"});
  EXPECT_EQ(std::ranges::count(listed.out, '\n'), 8) << "two ended days for each of four groups";
  EXPECT_EQ(leaseHolder(env), "replica-a");
  EXPECT_EQ(closedNumbers(*leader).size(), 8u);
  EXPECT_EQ(closedNumbers(*follower).size(), 0u);
  EXPECT_EQ(follower->writes(), 0) << "the follower writes nothing to the API server";

  // The leader crashes; the follower takes over and closes the next groups' days.
  leader->process().kill();
  applied = env.kubectl({"apply", "-f", "-"}, groupsAndProjects("pair", "second", 2));
  ASSERT_EQ(applied.exitCode, 0) << applied;
  ASSERT_TRUE(waitFor([&] { return leaseHolder(env) == "replica-b"; })) << leaseHolder(env);
  ASSERT_TRUE(waitFor([&] { return exactlyOncePerGroupAndDay(env, "pair"); }, 60s))
      << exactlyOncePerGroupAndDay(env, "pair").message();
  EXPECT_EQ(issuedCount(allLedgerInvoices(*env.ledger())), 12u);
  EXPECT_EQ(closedNumbers(*follower).size(), 4u);
}

// The seed of the SIGKILL loops: BILLING_E2E_SEED when set (to replay a failure), else random.
std::uint64_t loopSeed() {
  if (const char* text = std::getenv("BILLING_E2E_SEED"); text != nullptr && *text != '\0') {
    return std::stoull(text);
  }
  return std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32);
}

// Kills the operator with SIGKILL `rounds` times at a random instant after it starts, while new
// groups keep arriving (each with three ended days to close), then lets it finish and checks that
// every group and day was invoiced exactly once.
void sigkillLoop(Environment& env, int rounds, int groupsPerRound) {
  const std::uint64_t seed = loopSeed();
  std::cout << "SIGKILL loop seed " << seed << " (replay with BILLING_E2E_SEED=" << seed << ")"
            << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed) + " (BILLING_E2E_SEED)");
  std::mt19937_64 random(seed);
  // Start-up takes a few hundred milliseconds and a round's closes about as long again: most
  // kills land before, during or just after them.
  std::uniform_int_distribution<int> delayMs(0, 800);

  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, namespaceYaml("loop")).exitCode, 0);
  OperatorProcess* op = nullptr;
  int inFlight = 0;  // rounds killed after closing some, but not all, of the due days
  std::size_t issuedBefore = 0;
  for (int round = 0; round < rounds; ++round) {
    // The webhook is off here: groups arrive while the operator is down.
    CommandResult applied =
        env.kubectl({"apply", "-f", "-"},
                    groupsAndProjects("loop", "r" + std::to_string(round), groupsPerRound));
    ASSERT_EQ(applied.exitCode, 0) << applied;
    if (op == nullptr) {
      OperatorOptions options;
      options.identity = "crashing";
      options.extraFlags = {"--invoice-grace", "0s"};
      op = &env.addOperator(options);
    } else {
      ASSERT_TRUE(op->process().start());
    }
    const int delay = delayMs(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    ASSERT_TRUE(op->process().running())
        << "round " << round << ": the operator exited on its own:\n"
        << op->process().logSinceStart();
    op->process().kill();
    const std::size_t issuedNow = issuedCount(allLedgerInvoices(*env.ledger()));
    const std::size_t due = static_cast<std::size_t>(3 * groupsPerRound * (round + 1));
    if (issuedNow > issuedBefore && issuedNow < due) ++inFlight;
    std::cout << "round " << round << ": killed after " << delay << " ms, " << issuedNow << "/"
              << due << " days invoiced" << std::endl;
    issuedBefore = issuedNow;
  }
  std::cout << inFlight << " of " << rounds << " rounds killed with closes in flight" << std::endl;
  // With 20 rounds, none in flight means the timing no longer fits the loop (a few rounds may
  // all miss by chance, so shorter loops only report it).
  if (rounds >= 20) {
    EXPECT_GT(inFlight, 0) << "no round was killed in the middle of closing periods: the loop "
                              "tested nothing; shorten the delays";
  }

  ASSERT_TRUE(op->process().start());
  ASSERT_TRUE(op->waitReady());
  EXPECT_TRUE(waitFor([&] { return exactlyOncePerGroupAndDay(env, "loop"); }, 60s))
      << exactlyOncePerGroupAndDay(env, "loop").message();
}

TEST(InvoicingE2eTest, SigkillLoopDuringPeriodClosesLeavesExactlyOneInvoicePerGroupAndDay) {
  Environment env(shiftedCluster("-72h", /*webhook=*/false));
  ASSERT_EQ(env.startupError(), "");
  sigkillLoop(env, 20, 3);
}

// The same on the PostgreSQL ledger (scripts/with-postgres.sh sets BILLING_TEST_POSTGRES_DSN),
// fewer rounds: its transactions retry on serialization failures, which crashes must not turn
// into a second invoice or a gap.
TEST(InvoicingE2eTest, SigkillLoopOnPostgresLedgerLeavesExactlyOneInvoicePerGroupAndDay) {
  const char* dsn = std::getenv("BILLING_TEST_POSTGRES_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL() << "BILLING_TEST_POSTGRES_DSN is not set and CI=true: run ctest through "
                "scripts/with-postgres.sh";
    }
    GTEST_SKIP() << "BILLING_TEST_POSTGRES_DSN is not set; run through scripts/with-postgres.sh";
  }
  Environment::Options options = shiftedCluster("-72h", /*webhook=*/false);
  // A schema of its own, so that tests sharing the server never see each other's invoices.
  const std::string schema = "e2e_invoicing_" + std::to_string(::getpid()) + "_" +
                             std::to_string(std::random_device{}() % 1000000);
  options.ledgerDatabaseFlags = {"--database", std::string("postgres:") + dsn, "--postgres-schema",
                                 schema};
  Environment env(options);
  ASSERT_EQ(env.startupError(), "");
  sigkillLoop(env, 8, 3);
}

}  // namespace
}  // namespace billing::e2e
