// The test-apiserver binary as a user starts it: flags, the kubeconfigs it writes, SIGHUP
// restarts that keep state from --data-dir, and a clean exit on SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::CommandResult;
using harness::Kubectl;
using harness::Process;
using harness::TempDir;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

bool waitForFile(const std::filesystem::path& path, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(BinaryTest, ServesKubectlRestartsOnSighupAndStopsOnSigterm) {
  TempDir dir;
  Process server({TEST_APISERVER_BINARY, "--port", "0", "--kubeconfig",
                  (dir.path() / "admin").string(), "--token-kubeconfig",
                  (dir.path() / "token").string(), "--data-dir", (dir.path() / "data").string()},
                 dir.path(), "");
  ASSERT_TRUE(waitForFile(dir.path() / "token")) << server.errSoFar();
  EXPECT_THAT(server.errSoFar(), HasSubstr("test-apiserver: serving on https://127.0.0.1:"));
  Kubectl byCertificate(dir.path() / "admin", dir.path());
  Kubectl byToken(dir.path() / "token", dir.path());
  CommandResult created = byCertificate.run({"create", "configmap", "kept", "-n", "default"});
  EXPECT_EQ(created.exitCode, 0) << created;
  EXPECT_EQ(byToken.run({"get", "configmap", "kept", "-n", "default", "-o", "name"}).out,
            "configmap/kept\n");
  // The credentials were written to the data dir.
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / "pki" / "ca.crt"));

  server.signal(SIGHUP);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.errSoFar().find("restarted") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_THAT(server.errSoFar(), HasSubstr("test-apiserver: restarted"));
  EXPECT_EQ(byCertificate.run({"get", "configmap", "kept", "-n", "default", "-o", "name"}).out,
            "configmap/kept\n");

  server.signal(SIGTERM);
  CommandResult stopped = server.wait(10s);
  EXPECT_EQ(stopped.exitCode, 0) << stopped;
}

TEST(BinaryTest, RefusesUnknownFlagsAndExplainsItself) {
  TempDir dir;
  Process help({TEST_APISERVER_BINARY, "--help"}, dir.path(), "");
  CommandResult usage = help.wait(10s);
  EXPECT_EQ(usage.exitCode, 0);
  EXPECT_THAT(usage.out, HasSubstr("Usage: test-apiserver --port PORT --kubeconfig FILE"));
  EXPECT_THAT(usage.out, HasSubstr("POST /_test/faults"));
  Process unknown({TEST_APISERVER_BINARY, "--port", "0", "--kubeconfg", "x"}, dir.path(), "");
  CommandResult refused = unknown.wait(10s);
  EXPECT_EQ(refused.exitCode, 2);
  EXPECT_EQ(refused.err, "test-apiserver: unknown flag --kubeconfg (see --help)\n");
  Process noKubeconfig({TEST_APISERVER_BINARY, "--port", "0"}, dir.path(), "");
  CommandResult missing = noKubeconfig.wait(10s);
  EXPECT_EQ(missing.exitCode, 2);
  EXPECT_THAT(missing.err, HasSubstr("--kubeconfig FILE is required"));
}

}  // namespace
}  // namespace billing::apiserver
