// The billing-ledger binary as a process: flags, /healthz, authentication, TLS, PostgreSQL, and a
// clean exit on SIGTERM.
#include <cpprest/http_client.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "ledger/postgres_store.h"
#include "ledger_test_support.h"
#include "operator/ledger_client/ledger_client.h"

extern char** environ;

namespace billing::ledger {
namespace {

using ::testing::HasSubstr;

class LedgerProcess {
 public:
  LedgerProcess(const std::vector<std::string>& args, const std::filesystem::path& stderrFile)
      : stderrFile_(stderrFile) {
    std::vector<std::string> argv{BILLING_LEDGER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (std::string& arg : argv) pointers.push_back(arg.data());
    pointers.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrFile.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, pointers[0], &actions, nullptr, pointers.data(), environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }

  ~LedgerProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The exit status, or -1 when it has not exited within `timeout`.
  int waitForExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  std::string stderrText() const {
    std::ifstream in(stderrFile_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::filesystem::path stderrFile_;
};

// GET url/healthz until it answers 200, for up to 10 s.
bool waitHealthy(const std::string& url, LedgerProcess& process, const std::string& caFile = {}) {
  ledger_client::LedgerClientOptions options;
  options.baseUrl = url;
  options.caFile = caFile;
  options.retry.maxAttempts = 1;
  options.timeout = std::chrono::milliseconds(1000);
  ledger_client::LedgerClient client(options);
  for (int i = 0; i < 200; ++i) {
    auto response = client.send("GET", "/healthz", "", "");
    if (response && response->status == 200) return true;
    if (process.waitForExit(std::chrono::milliseconds(50)) >= 0) return false;
  }
  return false;
}

class LedgerBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenFile_ = (dir_.path() / "tokens").string();
    std::ofstream(tokenFile_) << "binary-test-token\n";
    url_ = "127.0.0.1:" + std::to_string(testing::freePort());
  }

  testing::TempDir dir_;
  std::string tokenFile_;
  std::string url_;
};

TEST_F(LedgerBinaryTest, ServesAndStopsCleanlyOnSigterm) {
  LedgerProcess ledger({"--listen", url_, "--database", "sqlite:" + (dir_.path() / "l.db").string(),
                        "--token-file", tokenFile_},
                       dir_.path() / "stderr");
  ASSERT_GT(ledger.pid(), 0);
  ASSERT_TRUE(waitHealthy("http://" + url_, ledger)) << ledger.stderrText();
  auto denied = testing::httpCall("http://" + url_, "GET", "/v1/accounts");
  EXPECT_EQ(denied.status, 401);
  auto allowed = testing::httpCall("http://" + url_, "GET", "/v1/accounts", "",
                                   {{"Authorization", "Bearer binary-test-token"}});
  EXPECT_EQ(allowed.status, 200) << allowed.body;

  ASSERT_EQ(::kill(ledger.pid(), SIGTERM), 0);
  EXPECT_EQ(ledger.waitForExit(std::chrono::seconds(10)), 0) << ledger.stderrText();
  const std::string log = ledger.stderrText();
  EXPECT_THAT(log, HasSubstr(R"("msg":"listening")"));
  EXPECT_THAT(log,
              HasSubstr(R"("msg":"request","method":"GET","path":"/v1/accounts","status":401)"));
  EXPECT_THAT(log, HasSubstr(R"("msg":"shutting down","signal":"SIGTERM")"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("binary-test-token"))) << "tokens never reach logs";
}

TEST_F(LedgerBinaryTest, RefusesBadFlagsAndUnusableDatabasesWithAClearMessage) {
  LedgerProcess noListen({"--no-auth"}, dir_.path() / "stderr1");
  EXPECT_EQ(noListen.waitForExit(std::chrono::seconds(10)), 2);
  EXPECT_THAT(noListen.stderrText(), HasSubstr("--listen is required"));

  LedgerProcess badDatabase({"--listen", url_, "--no-auth", "--database",
                             "sqlite:" + (dir_.path() / "missing" / "l.db").string()},
                            dir_.path() / "stderr2");
  EXPECT_EQ(badDatabase.waitForExit(std::chrono::seconds(10)), 1);
  EXPECT_THAT(badDatabase.stderrText(), HasSubstr("cannot open the SQLite database"));

  LedgerProcess badToken({"--listen", url_, "--token-file", (dir_.path() / "nope").string()},
                         dir_.path() / "stderr3");
  EXPECT_EQ(badToken.waitForExit(std::chrono::seconds(10)), 1);
  EXPECT_THAT(badToken.stderrText(), HasSubstr("cannot read token file"));
}

TEST_F(LedgerBinaryTest, ServesHttpsWithTheGivenCertificate) {
  const testing::TlsFiles tls = testing::writeSelfSignedCertificate(dir_.path());
  LedgerProcess ledger(
      {"--listen", url_, "--database", "sqlite:" + (dir_.path() / "l.db").string(), "--token-file",
       tokenFile_, "--tls-cert-file", tls.certFile, "--tls-key-file", tls.keyFile},
      dir_.path() / "stderr");
  ASSERT_TRUE(waitHealthy("https://" + url_, ledger, tls.certFile)) << ledger.stderrText();

  ledger_client::LedgerClientOptions options;
  options.baseUrl = "https://" + url_;
  options.token = "binary-test-token";
  options.caFile = tls.certFile;
  options.retry.maxAttempts = 1;
  auto missing = ledger_client::LedgerClient(options).getAccount("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, backend::BackendErrorKind::NotFound) << missing.error().message();

  options.caFile.clear();  // the system store does not trust the test certificate
  auto untrusted = ledger_client::LedgerClient(options).getAccount("nope");
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().kind, backend::BackendErrorKind::Unavailable);
  EXPECT_EQ(untrusted.error().httpStatus, 0);

  ::kill(ledger.pid(), SIGTERM);
  EXPECT_EQ(ledger.waitForExit(std::chrono::seconds(10)), 0) << ledger.stderrText();
}

TEST_F(LedgerBinaryTest, RunsOnPostgres) {
  const std::string dsn = testing::TestStore::postgresDsn();
  if (dsn.empty()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL() << "BILLING_TEST_POSTGRES_DSN is not set but CI=true; run through "
                "scripts/with-postgres.sh";
    }
    GTEST_SKIP() << "BILLING_TEST_POSTGRES_DSN is not set; run through scripts/with-postgres.sh";
  }
  const std::string schema = "ledger_binary_" + std::to_string(::getpid());
  {
    LedgerProcess ledger({"--listen", url_, "--database", "postgres:" + dsn, "--postgres-schema",
                          schema, "--token-file", tokenFile_, "--log-format", "text"},
                         dir_.path() / "stderr");
    ASSERT_TRUE(waitHealthy("http://" + url_, ledger)) << ledger.stderrText();
    auto health = testing::httpCall("http://" + url_, "GET", "/healthz");
    EXPECT_EQ(health.str("store"), "postgres");
    auto put = testing::httpCall("http://" + url_, "PUT", "/v1/accounts/a",
                                 R"({"name":"A","organization":"o","currency":"EUR"})",
                                 {{"Authorization", "Bearer binary-test-token"}});
    EXPECT_EQ(put.status, 201) << put.body;
    ::kill(ledger.pid(), SIGTERM);
    EXPECT_EQ(ledger.waitForExit(std::chrono::seconds(10)), 0) << ledger.stderrText();
    EXPECT_THAT(ledger.stderrText(),
                HasSubstr("info listening url=http://" + url_ + " store=postgres"));
  }
  auto cleanup = PostgresStore::open(PostgresStoreOptions{dsn, schema, 1});
  ASSERT_TRUE(cleanup);
  EXPECT_TRUE((*cleanup)->dropSchema());
}

}  // namespace
}  // namespace billing::ledger
