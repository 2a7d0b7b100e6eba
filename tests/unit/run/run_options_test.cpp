// The flags of `billing-operator run`: defaults users expect from controller-runtime operators,
// every flag, and one clear line for every mistake.
#include "operator/run/run_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace billing::run {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::expected<RunOptions, std::string> parse(std::vector<std::string> args) {
  return parseRunArguments(args);
}

TEST(RunOptionsTest, DefaultsAreControllerRuntimes) {
  auto options = parse({});
  ASSERT_TRUE(options.has_value()) << options.error();
  EXPECT_FALSE(options->help);
  EXPECT_FALSE(options->kubeconfig.has_value());
  EXPECT_EQ(options->watchNamespace, "");
  EXPECT_FALSE(options->leaderElect);
  EXPECT_EQ(options->leaderElectionId, "billing-operator-leader");
  ASSERT_TRUE(options->metricsAddress.has_value());
  EXPECT_EQ(options->metricsAddress->host, "0.0.0.0");
  EXPECT_EQ(options->metricsAddress->port, 8080);
  ASSERT_TRUE(options->healthProbeAddress.has_value());
  EXPECT_EQ(options->healthProbeAddress->port, 8081);
  EXPECT_EQ(options->webhookPort, 9443);
  EXPECT_EQ(options->kubeApiQps, 1000);
  EXPECT_EQ(options->kubeApiBurst, 2000);
  EXPECT_EQ(options->workers, 1);
  EXPECT_EQ(options->leaseDuration, 15s);
  EXPECT_EQ(options->renewDeadline, 10s);
  EXPECT_EQ(options->retryPeriod, 2s);
  EXPECT_EQ(options->gracefulShutdownTimeout, 10s);
  EXPECT_EQ(options->logFormat, runtime::LogFormat::Json);
  EXPECT_EQ(options->logLevel, runtime::LogLevel::Info);
  EXPECT_EQ(options->invoiceGrace, 1h);
  EXPECT_EQ(options->invoiceRetention, 12);
  EXPECT_EQ(options->invoiceResync, 10min);
}

TEST(RunOptionsTest, ParsesEveryFlagInBothSpellings) {
  auto options = parse({"--kubeconfig",
                        "/tmp/kc",
                        "--context=kind-billing",
                        "--namespace",
                        "team-a",
                        "--leader-elect",
                        "--leader-election-namespace=billing-system",
                        "--leader-election-id",
                        "my-lock",
                        "--leader-election-identity",
                        "pod-1",
                        "--leader-election-lease-duration",
                        "4s",
                        "--leader-election-renew-deadline=3s",
                        "--leader-election-retry-period",
                        "500ms",
                        "--metrics-bind-address",
                        "127.0.0.1:9090",
                        "--health-probe-bind-address=:9091",
                        "--webhook-port",
                        "10443",
                        "--webhook-cert-dir",
                        "/certs",
                        "--kube-api-qps",
                        "50.5",
                        "--kube-api-burst=100",
                        "--kube-transport=cpprest",
                        "--workers",
                        "4",
                        "--graceful-shutdown-timeout",
                        "1m30s",
                        "--log-format",
                        "text",
                        "--log-level=debug",
                        "--ledger-url",
                        "https://ledger:8443",
                        "--ledger-token-file",
                        "/var/run/ledger/token",
                        "--ledger-ca-file",
                        "/var/run/ledger/ca.crt",
                        "--invoice-grace",
                        "30m",
                        "--invoice-retention=3",
                        "--invoice-resync",
                        "45s"});
  ASSERT_TRUE(options.has_value()) << options.error();
  EXPECT_EQ(options->kubeconfig, std::filesystem::path("/tmp/kc"));
  EXPECT_EQ(options->context, "kind-billing");
  EXPECT_EQ(options->watchNamespace, "team-a");
  EXPECT_TRUE(options->leaderElect);
  EXPECT_EQ(options->leaderElectionNamespace, "billing-system");
  EXPECT_EQ(options->leaderElectionId, "my-lock");
  EXPECT_EQ(options->leaderElectionIdentity, "pod-1");
  EXPECT_EQ(options->leaseDuration, 4s);
  EXPECT_EQ(options->renewDeadline, 3s);
  EXPECT_EQ(options->retryPeriod, 500ms);
  EXPECT_EQ(options->metricsAddress->host, "127.0.0.1");
  EXPECT_EQ(options->metricsAddress->port, 9090);
  EXPECT_EQ(options->healthProbeAddress->host, "0.0.0.0");
  EXPECT_EQ(options->healthProbeAddress->port, 9091);
  EXPECT_EQ(options->webhookPort, 10443);
  EXPECT_EQ(options->webhookCertDir, std::filesystem::path("/certs"));
  EXPECT_DOUBLE_EQ(options->kubeApiQps, 50.5);
  EXPECT_EQ(options->kubeApiBurst, 100);
  EXPECT_EQ(options->kubeTransport, kube::TransportKind::Cpprest);
  EXPECT_EQ(options->workers, 4);
  EXPECT_EQ(options->gracefulShutdownTimeout, 90s);
  EXPECT_EQ(options->logFormat, runtime::LogFormat::Text);
  EXPECT_EQ(options->logLevel, runtime::LogLevel::Debug);
  EXPECT_EQ(options->ledgerUrl, "https://ledger:8443");
  EXPECT_EQ(options->ledgerTokenFile, std::filesystem::path("/var/run/ledger/token"));
  EXPECT_EQ(options->ledgerCaFile, std::filesystem::path("/var/run/ledger/ca.crt"));
  EXPECT_EQ(options->invoiceGrace, 30min);
  EXPECT_EQ(options->invoiceRetention, 3);
  EXPECT_EQ(options->invoiceResync, 45s);
}

TEST(RunOptionsTest, ZeroDisablesTheServers) {
  auto options = parse({"--metrics-bind-address", "0", "--health-probe-bind-address=0"});
  ASSERT_TRUE(options.has_value()) << options.error();
  EXPECT_FALSE(options->metricsAddress.has_value());
  EXPECT_FALSE(options->healthProbeAddress.has_value());
}

TEST(RunOptionsTest, BindAddressForms) {
  auto ipv6 = parseBindAddress("[::1]:8443");
  ASSERT_TRUE(ipv6.has_value());
  EXPECT_EQ((*ipv6)->host, "::1");
  EXPECT_EQ((*ipv6)->port, 8443);
  auto ephemeral = parseBindAddress("127.0.0.1:0");
  ASSERT_TRUE(ephemeral.has_value());
  EXPECT_EQ((*ephemeral)->port, 0);
  EXPECT_FALSE(parseBindAddress("8080").has_value());
  EXPECT_FALSE(parseBindAddress(":70000").has_value());
  EXPECT_FALSE(parseBindAddress("host:http").has_value());
}

TEST(RunOptionsTest, LeaderElectAcceptsAnExplicitBoolean) {
  auto off = parse({"--leader-elect=false"});
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->leaderElect);
  auto on = parse({"--leader-elect=true"});
  ASSERT_TRUE(on.has_value());
  EXPECT_TRUE(on->leaderElect);
  EXPECT_FALSE(parse({"--leader-elect=maybe"}).has_value());
}

TEST(RunOptionsTest, HelpIsAFlagLikeAnyOther) {
  auto options = parse({"--namespace", "a", "--help"});
  ASSERT_TRUE(options.has_value());
  EXPECT_TRUE(options->help);
  auto shortForm = parse({"-h"});
  ASSERT_TRUE(shortForm.has_value());
  EXPECT_TRUE(shortForm->help);
}

TEST(RunOptionsTest, MistakesAreOneLineNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--workers", "0"}, "--workers needs a whole number from 1 to 1000, got \"0\""},
      {{"--workers", "two"}, "--workers needs a whole number"},
      {{"--kube-api-qps", "fast"}, "--kube-api-qps needs a number, got \"fast\""},
      {{"--kube-api-burst", "-1"}, "--kube-api-burst needs a whole number"},
      {{"--kube-transport", "curl"}, "--kube-transport needs native or cpprest, got \"curl\""},
      {{"--webhook-port", "0"}, "--webhook-port needs a whole number from 1 to 65535"},
      {{"--log-format", "yaml"}, "--log-format must be json or text, got \"yaml\""},
      {{"--log-level", "loud"}, "--log-level must be debug, info, warn or error"},
      {{"--metrics-bind-address", "8080"}, "--metrics-bind-address must be HOST:PORT"},
      {{"--leader-election-lease-duration", "15"}, "needs a positive duration"},
      {{"--leader-election-retry-period", "2 s"}, "needs a positive duration"},
      {{"--invoice-retention", "0"}, "--invoice-retention needs a whole number from 1 to 100000"},
      {{"--invoice-grace", "-1h"}, "--invoice-grace needs a positive duration"},
      {{"--invoice-resync", "soon"}, "--invoice-resync needs a positive duration"},
      {{"--kubeconfig"}, "--kubeconfig needs a value"},
      {{"--kubeconfig="}, "--kubeconfig needs a file"},
      {{"--frobnicate"}, "unknown flag --frobnicate"},
      {{"extra"}, "unexpected argument \"extra\""},
      {{"--leader-elect", "--leader-election-lease-duration=5s", "--leader-election-renew-deadline",
        "5s"},
       "--leader-election-renew-deadline must be shorter than --leader-election-lease-duration"},
      {{"--leader-elect", "--leader-election-retry-period=10s"},
       "--leader-election-retry-period must be shorter than --leader-election-renew-deadline"},
  };
  for (const auto& c : cases) {
    auto options = parse(c.args);
    ASSERT_FALSE(options.has_value()) << c.expected;
    EXPECT_THAT(options.error(), HasSubstr(c.expected));
    EXPECT_EQ(options.error().find('\n'), std::string::npos) << options.error();
  }
}

TEST(RunOptionsTest, UsageDocumentsEveryFlagAndTheExitCodes) {
  const std::string usage = runUsage();
  for (const char* flag : {"--kubeconfig",
                           "--context",
                           "--namespace",
                           "--leader-elect",
                           "--leader-election-namespace",
                           "--leader-election-id",
                           "--metrics-bind-address",
                           "--health-probe-bind-address",
                           "--webhook-port",
                           "--webhook-cert-dir",
                           "--kube-api-qps",
                           "--kube-api-burst",
                           "--kube-transport",
                           "--workers",
                           "--log-format",
                           "--log-level",
                           "--ledger-url",
                           "--ledger-token-file",
                           "--ledger-ca-file",
                           "--invoice-grace",
                           "--invoice-retention",
                           "--invoice-resync"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  EXPECT_THAT(usage, HasSubstr("Exit codes:"));
  for (int code : {kExitOk, kExitFailed, kExitUsage, kExitConfig, kExitUnavailable}) {
    EXPECT_THAT(usage, HasSubstr("\n  " + std::to_string(code) + "  "));
  }
}

}  // namespace
}  // namespace billing::run
