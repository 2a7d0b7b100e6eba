// Exec credential plugins: the ExecCredential format, running processes, and the cache that
// re-runs the plugin when the credential expires or the server says 401.
#include "operator/kube/exec_credential.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "operator/kube/auth.h"
#include "tests/unit/kube/mocks.h"
#include "tests/unit/kube/test_support.h"

namespace billing::kube {
namespace {

using ::testing::_;
using testing::FakeClock;
using ::testing::HasSubstr;
using testing::MockCommandRunner;
using ::testing::Not;
using testing::readFile;
using ::testing::Return;
using testing::TempDir;
using testing::testdata;
using namespace std::chrono_literals;

constexpr const char* kV1 = "client.authentication.k8s.io/v1";

std::chrono::system_clock::time_point utc(int year, unsigned month, unsigned day, int hour,
                                          int minute, int second) {
  return std::chrono::sys_days(std::chrono::year(year) / month / day) + std::chrono::hours(hour) +
         std::chrono::minutes(minute) + std::chrono::seconds(second);
}

TEST(Rfc3339Test, ReadsUtcOffsetsAndFractions) {
  EXPECT_EQ(parseRfc3339("2024-05-01T10:00:00Z").value(), utc(2024, 5, 1, 10, 0, 0));
  EXPECT_EQ(parseRfc3339("2024-05-01T12:00:00+02:00").value(), utc(2024, 5, 1, 10, 0, 0));
  EXPECT_EQ(parseRfc3339("2024-05-01T09:30:00-00:30").value(), utc(2024, 5, 1, 10, 0, 0));
  EXPECT_EQ(parseRfc3339("2024-05-01T10:00:00.25Z").value(), utc(2024, 5, 1, 10, 0, 0) + 250ms);
  EXPECT_FALSE(parseRfc3339("2024-05-01 10:00:00").has_value());
  EXPECT_FALSE(parseRfc3339("2024-02-30T10:00:00Z").has_value());
  EXPECT_FALSE(parseRfc3339("2024-05-01T10:00:00").has_value());
  EXPECT_FALSE(parseRfc3339("2024-05-01T10:00:00Zjunk").has_value());
}

TEST(ExecCredentialTest, ReadsATokenWithExpiry) {
  auto credential = parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
          "status":{"token":"abc","expirationTimestamp":"2030-01-01T00:00:00Z"}})",
      kV1);
  ASSERT_TRUE(credential.has_value()) << credential.error();
  EXPECT_EQ(credential->token, "abc");
  EXPECT_EQ(credential->expiration, utc(2030, 1, 1, 0, 0, 0));
}

TEST(ExecCredentialTest, ReadsAClientCertificate) {
  auto credential = parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
          "status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}})",
      kV1);
  ASSERT_TRUE(credential.has_value()) << credential.error();
  EXPECT_EQ(credential->clientCertificatePem, "CERT");
  EXPECT_EQ(credential->clientKeyPem, "KEY");
  EXPECT_FALSE(credential->expiration.has_value());
}

TEST(ExecCredentialTest, RejectsWhatIsNotACredentialWithoutQuotingIt) {
  auto wrongVersion = parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",
          "status":{"token":"s3cr3t"}})",
      kV1);
  ASSERT_FALSE(wrongVersion.has_value());
  EXPECT_THAT(wrongVersion.error(), HasSubstr("configured for client.authentication.k8s.io/v1 "
                                              "but returned client.authentication.k8s.io/v1beta1"));
  EXPECT_THAT(wrongVersion.error(), Not(HasSubstr("s3cr3t")));

  auto noStatus = parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"})", kV1);
  ASSERT_FALSE(noStatus.has_value());
  EXPECT_THAT(noStatus.error(), HasSubstr("no status"));

  auto halfCert = parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
          "status":{"clientCertificateData":"CERT"}})",
      kV1);
  ASSERT_FALSE(halfCert.has_value());

  auto notJson = parseExecCredential("token: s3cr3t", kV1);
  ASSERT_FALSE(notJson.has_value());
  EXPECT_THAT(notJson.error(), Not(HasSubstr("s3cr3t")));
}

TEST(ProcessRunnerTest, CapturesOutputExitCodeAndEnvironment) {
  ProcessCommandRunner runner;
  auto ran = runner.run("/bin/sh", "sh", {"-c", "echo out-$GREETING; echo err >&2; exit 3"},
                        {{"GREETING", "hello"}}, false, 10s);
  ASSERT_TRUE(ran.has_value()) << ran.error();
  EXPECT_EQ(ran->exitCode, 3);
  EXPECT_EQ(ran->standardOutput, "out-hello\n");
  EXPECT_EQ(ran->standardError, "err\n");
}

TEST(ProcessRunnerTest, KillsAPluginThatHangs) {
  ProcessCommandRunner runner;
  auto started = std::chrono::steady_clock::now();
  auto ran = runner.run("/bin/sh", "sh", {"-c", "sleep 30"}, {}, false, 300ms);
  ASSERT_FALSE(ran.has_value());
  EXPECT_THAT(ran.error(), HasSubstr("killed"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(ProcessRunnerTest, FindsExecutablesInTheGivenPath) {
  EXPECT_EQ(findExecutable("aws", {{"PATH", "/nonexistent:" + testdata("bin").string()}}),
            testdata("bin") / "aws");
  EXPECT_FALSE(findExecutable("aws", {{"PATH", "/nonexistent"}}).has_value());
  EXPECT_EQ(findExecutable(testdata("bin/aws").string(), {}), testdata("bin/aws"));
  EXPECT_FALSE(findExecutable(testdata("README.md").string(), {}).has_value());  // not executable
}

ExecConfig rotatingPlugin() {
  ExecConfig config;
  config.apiVersion = kV1;
  config.command = testdata("bin/rotating-token").string();
  config.interactiveMode = "Never";
  return config;
}

TEST(ExecProviderTest, CachesUntilExpiryThenRunsThePluginAgain) {
  TempDir dir;
  auto counter = dir.path() / "runs";
  auto clock = std::make_shared<FakeClock>();
  clock->setWall(utc(2030, 1, 1, 0, 0, 0));
  Environment environment{{"PATH", "/usr/bin:/bin"},
                          {"FAKE_EXEC_COUNTER", counter.string()},
                          {"FAKE_EXPIRY", "2030-01-01T00:05:00Z"}};
  ExecCredentialProvider provider(rotatingPlugin(), "oidc", environment,
                                  std::make_shared<ProcessCommandRunner>(), clock);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer token-1");
  clock->advance(4min);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer token-1");
  EXPECT_EQ(provider.runs(), 1);
  // Past the expiry (and its 10 s margin): the plugin runs again.
  clock->advance(1min);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer token-2");
  EXPECT_EQ(provider.runs(), 2);
}

TEST(ExecProviderTest, A401RunsThePluginAgain) {
  TempDir dir;
  auto clock = std::make_shared<FakeClock>();
  clock->setWall(utc(2030, 1, 1, 0, 0, 0));
  Environment environment{{"FAKE_EXEC_COUNTER", (dir.path() / "runs").string()},
                          {"FAKE_EXPIRY", "2031-01-01T00:00:00Z"}};
  ExecCredentialProvider provider(rotatingPlugin(), "oidc", environment,
                                  std::make_shared<ProcessCommandRunner>(), clock);
  auto first = provider.credentials();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(provider.refreshAfterUnauthorized(*first));
  EXPECT_EQ(provider.credentials()->authorization, "Bearer token-2");
  // A 401 for a credential that was already replaced does not throw the new one away.
  EXPECT_TRUE(provider.refreshAfterUnauthorized(*first));
  EXPECT_EQ(provider.credentials()->authorization, "Bearer token-2");
  EXPECT_EQ(provider.runs(), 2);
}

TEST(ExecProviderTest, PassesArgumentsEnvironmentAndExecInfo) {
  auto runner = std::make_shared<MockCommandRunner>();
  ExecConfig config;
  config.apiVersion = kV1;
  config.command = "/opt/plugins/kubelogin";
  config.args = {"get-token", "--oidc-issuer-url=https://issuer.example"};
  config.env = {{"PLUGIN_MODE", "ci"}, {"HOME", "/plugin-home"}};
  config.interactiveMode = "Never";
  std::filesystem::path program;
  std::vector<std::string> args;
  Environment seen;
  bool passedStdin = true;
  EXPECT_CALL(*runner, run(_, _, _, _, _, _))
      .WillOnce([&](const std::filesystem::path& path, const std::string&,
                    const std::vector<std::string>& arguments, const Environment& environment,
                    bool stdinPassed, std::chrono::milliseconds) {
        program = path;
        args = arguments;
        seen = environment;
        passedStdin = stdinPassed;
        return CommandResult{0,
                             R"({"apiVersion":"client.authentication.k8s.io/v1",)"
                             R"("kind":"ExecCredential","status":{"token":"t"}})",
                             ""};
      });
  // findExecutable needs a real file for a path command: point at one.
  config.command = testdata("bin/aws").string();
  ExecCredentialProvider provider(config, "oidc", {{"HOME", "/home/op"}, {"PATH", "/usr/bin"}},
                                  runner, std::make_shared<FakeClock>());
  ASSERT_TRUE(provider.credentials().has_value());
  EXPECT_EQ(program, testdata("bin/aws"));
  EXPECT_EQ(args, config.args);
  EXPECT_EQ(seen.at("PLUGIN_MODE"), "ci");
  EXPECT_EQ(seen.at("HOME"), "/plugin-home");  // the kubeconfig's env wins
  EXPECT_EQ(seen.at("PATH"), "/usr/bin");
  EXPECT_EQ(seen.at("KUBERNETES_EXEC_INFO"),
            R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
            R"("spec":{"interactive":false}})");
  EXPECT_FALSE(passedStdin);
}

TEST(ExecProviderTest, AlwaysInteractiveCannotRunUnattended) {
  if (::isatty(0) == 1) GTEST_SKIP() << "standard input is a terminal";
  ExecConfig config = rotatingPlugin();
  config.interactiveMode = "Always";
  auto runner = std::make_shared<MockCommandRunner>();
  EXPECT_CALL(*runner, run(_, _, _, _, _, _)).Times(0);
  ExecCredentialProvider provider(config, "oidc", {}, runner, std::make_shared<FakeClock>());
  auto credentials = provider.credentials();
  ASSERT_FALSE(credentials.has_value());
  EXPECT_THAT(credentials.error().message, HasSubstr("not a terminal"));
}

TEST(ExecProviderTest, ABadCredentialIsAConfigErrorWithoutTheOutput) {
  auto runner = std::make_shared<MockCommandRunner>();
  EXPECT_CALL(*runner, run(_, _, _, _, _, _))
      .WillOnce(Return(CommandResult{0, R"({"kind":"Secret","data":{"token":"s3cr3t"}})", ""}));
  ExecCredentialProvider provider(rotatingPlugin(), "oidc", {}, runner,
                                  std::make_shared<FakeClock>());
  auto credentials = provider.credentials();
  ASSERT_FALSE(credentials.has_value());
  EXPECT_EQ(credentials.error().kind, ErrorKind::Config);
  EXPECT_THAT(credentials.error().message, HasSubstr("not ExecCredential"));
  EXPECT_THAT(credentials.error().message, Not(HasSubstr("s3cr3t")));
}

}  // namespace
}  // namespace billing::kube
