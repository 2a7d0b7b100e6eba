#include "ledger/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "ledger_test_support.h"

namespace billing::ledger {
namespace {

using ::testing::HasSubstr;

std::expected<LedgerOptions, std::string> parse(std::vector<std::string_view> args) {
  return parseLedgerOptions(args);
}

TEST(LedgerOptionsTest, ParsesAFullCommandLine) {
  auto options = parse({"--listen", "127.0.0.1:8443", "--database=postgres://ledger@db:5432/ledger",
                        "--token-file", "/etc/ledger/tokens", "--tls-cert-file", "c.pem",
                        "--tls-key-file=k.pem", "--log-format", "text", "--pool-size", "8",
                        "--postgres-schema", "billing"});
  ASSERT_TRUE(options) << options.error();
  EXPECT_EQ(options->listenUrl, "https://127.0.0.1:8443");
  EXPECT_EQ(options->databaseKind, DatabaseKind::Postgres);
  EXPECT_EQ(options->databaseTarget, "postgres://ledger@db:5432/ledger");
  EXPECT_EQ(options->postgresSchema, "billing");
  EXPECT_EQ(options->tokenFile, "/etc/ledger/tokens");
  EXPECT_EQ(options->tlsKeyFile, "k.pem");
  EXPECT_EQ(options->logFormat, LogFormat::Text);
  EXPECT_EQ(options->poolSize, 8);
}

TEST(LedgerOptionsTest, DefaultsToAnSqliteFileAndPlainHttp) {
  auto options = parse({"--listen", ":8080", "--no-auth"});
  ASSERT_TRUE(options) << options.error();
  EXPECT_EQ(options->listenUrl, "http://0.0.0.0:8080");
  EXPECT_EQ(options->databaseKind, DatabaseKind::Sqlite);
  EXPECT_EQ(options->databaseTarget, "billing-ledger.db");
  EXPECT_TRUE(options->noAuth);
  auto keyValue = parse({"--listen", "[::1]:9000", "--no-auth", "--database",
                         "postgres:host=/tmp port=5432 dbname=x"});
  ASSERT_TRUE(keyValue) << keyValue.error();
  EXPECT_EQ(keyValue->listenUrl, "http://[::1]:9000");
  EXPECT_EQ(keyValue->databaseTarget, "host=/tmp port=5432 dbname=x");
}

TEST(LedgerOptionsTest, ExplainsWhatIsWrong) {
  EXPECT_THAT(parse({"--no-auth"}).error(), HasSubstr("--listen is required"));
  EXPECT_THAT(parse({"--listen", "8080", "--no-auth"}).error(), HasSubstr("HOST:PORT"));
  EXPECT_THAT(parse({"--listen", "127.0.0.1:0", "--no-auth"}).error(), HasSubstr("port 0"));
  EXPECT_THAT(parse({"--listen", "127.0.0.1:99999", "--no-auth"}).error(), HasSubstr("1 to 65535"));
  EXPECT_THAT(parse({"--listen", "127.0.0.1:80"}).error(), HasSubstr("--token-file PATH"));
  EXPECT_THAT(parse({"--listen", "127.0.0.1:80", "--no-auth", "--token-file", "t"}).error(),
              HasSubstr("contradict"));
  EXPECT_THAT(parse({"--listen", "127.0.0.1:80", "--no-auth", "--database", "mysql://x"}).error(),
              HasSubstr("neither sqlite:PATH nor postgres://"));
  EXPECT_THAT(parse({"--listen", "127.0.0.1:80", "--no-auth", "--tls-cert-file", "c"}).error(),
              HasSubstr("both --tls-cert-file and --tls-key-file"));
  EXPECT_THAT(parse({"--listen"}).error(), HasSubstr("--listen needs a value"));
  EXPECT_THAT(parse({"--frobnicate"}).error(), HasSubstr("unknown argument \"--frobnicate\""));
  EXPECT_THAT(parse({"--listen", "127.0.0.1:80", "--no-auth", "--log-format", "xml"}).error(),
              HasSubstr("json or text"));
  EXPECT_TRUE(parse({"--help"})->help);
}

TEST(LedgerOptionsTest, ReadsOneTokenPerLine) {
  testing::TempDir dir;
  const auto file = dir.path() / "tokens";
  std::ofstream(file) << "  first-token  \n\nsecond-token\r\n";
  auto tokens = readTokenFile(file.string());
  ASSERT_TRUE(tokens) << tokens.error();
  EXPECT_THAT(*tokens, ::testing::ElementsAre("first-token", "second-token"));
  std::ofstream(dir.path() / "empty") << "\n  \n";
  EXPECT_THAT(readTokenFile((dir.path() / "empty").string()).error(), HasSubstr("holds no token"));
  EXPECT_THAT(readTokenFile((dir.path() / "missing").string()).error(),
              HasSubstr("cannot read token file"));
}

}  // namespace
}  // namespace billing::ledger
