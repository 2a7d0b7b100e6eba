// --clock-offset / TestApiServerOptions::clockOffset: the times the server writes into objects are
// shifted, so a demo can run against a cluster whose objects look two days old, while ages in
// tables still count from the real clock (a fresh object created at -48h shows AGE 2d).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using harness::CommandResult;
using harness::Kubectl;
using harness::Process;
using harness::TempDir;
using web::json::value;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::chrono::sys_seconds parseTimestamp(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  EXPECT_TRUE(end != nullptr && *end == '\0') << "not an RFC 3339 UTC timestamp: " << text;
  return std::chrono::sys_seconds{std::chrono::seconds{timegm(&tm)}};
}

std::chrono::sys_seconds realNow() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

// Expects `stamp` to be the real time of the request plus `offset`, read between `before` and
// `after` (second resolution, so the window is widened by one second each side).
void expectShifted(const std::string& stamp, std::chrono::sys_seconds before,
                   std::chrono::sys_seconds after, std::chrono::seconds offset) {
  std::chrono::sys_seconds written = parseTimestamp(stamp);
  EXPECT_GE(written, before + offset - 1s) << stamp;
  EXPECT_LE(written, after + offset + 1s) << stamp;
}

value configMap(const std::string& name, bool held) {
  value object = value::object(true);
  object["apiVersion"] = value::string("v1");
  object["kind"] = value::string("ConfigMap");
  object["metadata"]["name"] = value::string(name);
  if (held) {
    value finalizers = value::array(1);
    finalizers[0] = value::string("example.com/hold");
    object["metadata"]["finalizers"] = finalizers;
  }
  return object;
}

const std::string kMaps = "/api/v1/namespaces/default/configmaps";

TEST(ClockOffsetTest, CreationAndDeletionTimestampsAreShiftedByTheOffset) {
  TestApiServerOptions options;
  options.clockOffset = -48h;
  auto server = harness::startServer(options);
  Client client(*server);

  auto before = realNow();
  auto created = client.post(kMaps, configMap("held", true));
  auto after = realNow();
  ASSERT_EQ(created.status, 201) << created.body;
  expectShifted(harness::field(created.json, {"metadata", "creationTimestamp"}), before, after,
                -48h);

  before = realNow();
  auto deleting = client.del(kMaps + "/held");
  after = realNow();
  ASSERT_EQ(deleting.status, 200) << deleting.body;
  expectShifted(harness::field(deleting.json, {"metadata", "deletionTimestamp"}), before, after,
                -48h);

  // The system namespaces exist from the start, so they were "created" on the shifted clock too.
  auto system = client.get("/api/v1/namespaces/kube-system");
  ASSERT_EQ(system.status, 200) << system.body;
  EXPECT_LE(parseTimestamp(harness::field(system.json, {"metadata", "creationTimestamp"})),
            realNow() - 48h + 1s);
}

TEST(ClockOffsetTest, WithoutAnOffsetTimestampsAreTheRealTime) {
  auto server = harness::startServer();
  Client client(*server);
  auto before = realNow();
  auto created = client.post(kMaps, configMap("plain", false));
  auto after = realNow();
  ASSERT_EQ(created.status, 201) << created.body;
  expectShifted(harness::field(created.json, {"metadata", "creationTimestamp"}), before, after, 0s);
}

TEST(ClockOffsetTest, KubectlShowsTheAgeOfAnObjectCreatedOnTheShiftedClock) {
  TempDir dir;
  TestApiServerOptions options;
  options.clockOffset = -50h;
  auto server = harness::startServer(options);
  ASSERT_TRUE(server->writeKubeconfig(dir.path() / "admin", KubeconfigAuth::ClientCertificate));
  Kubectl kubectl(dir.path() / "admin", dir.path());
  CommandResult created = kubectl.run({"create", "configmap", "old", "-n", "default"});
  ASSERT_EQ(created.exitCode, 0) << created;
  CommandResult listed = kubectl.run({"get", "configmap", "old", "-n", "default"});
  ASSERT_EQ(listed.exitCode, 0) << listed;
  auto rows = harness::tableRows(listed.out);
  ASSERT_EQ(rows.size(), 2u) << listed.out;
  EXPECT_EQ(rows[1].front(), "old");
  EXPECT_EQ(rows[1].back(), "2d2h") << listed.out;  // kube's HumanDuration of 50 h
}

TEST(ClockOffsetTest, TheBinaryTakesAGoDurationAndRefusesAnythingElse) {
  TempDir dir;
  Process server({TEST_APISERVER_BINARY, "--port", "0", "--kubeconfig",
                  (dir.path() / "admin").string(), "--clock-offset", "-36h30m"},
                 dir.path(), "");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!std::filesystem::exists(dir.path() / "admin") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(std::filesystem::exists(dir.path() / "admin")) << server.errSoFar();
  EXPECT_THAT(server.errSoFar(), HasSubstr("test-apiserver: clock offset -131400s"));
  Kubectl kubectl(dir.path() / "admin", dir.path());
  auto before = realNow();
  CommandResult created = kubectl.run({"create", "configmap", "c", "-n", "default", "-o",
                                       "jsonpath={.metadata.creationTimestamp}"});
  auto after = realNow();
  ASSERT_EQ(created.exitCode, 0) << created;
  expectShifted(created.out, before, after, -36h - 30min);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s).exitCode, 0);

  for (const char* bad : {"-48", "48x", "-", "h", "1h-2m", "2d"}) {
    Process refused({TEST_APISERVER_BINARY, "--port", "0", "--kubeconfig",
                     (dir.path() / "never").string(), "--clock-offset", bad},
                    dir.path(), "");
    CommandResult result = refused.wait(10s);
    EXPECT_EQ(result.exitCode, 2) << bad;
    EXPECT_EQ(result.err,
              "test-apiserver: --clock-offset needs a duration of hours, minutes and seconds such "
              "as -48h or -36h30m, got \"" +
                  std::string(bad) + "\"\n");
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "never"));
}

}  // namespace
}  // namespace billing::apiserver
