#include "operator/runtime/health.h"

#include <gtest/gtest.h>

#include "common/http_client.h"
#include "fake_client.h"
#include "operator/runtime/informer.h"
#include "test_support.h"

namespace billing::runtime {
namespace {

using testing::FakeApi;
using testing::kWait;

struct Response {
  int status = 0;
  std::string contentType;
  std::string body;
};

Response fetch(std::uint16_t port, const std::string& path, const std::string& method = "GET") {
  common::HttpClient client;
  auto response = client.request(method, "http://127.0.0.1:" + std::to_string(port) + path);
  EXPECT_TRUE(response.has_value()) << (response ? "" : response.error());
  if (!response) return {};
  return Response{response->status, response->headers.get("Content-Type").value_or(""),
                  response->body};
}

TEST(HealthChecksTest, ReportsEveryFailingCheckAndWhy) {
  HealthChecks checks("readyz");
  bool synced = false;
  checks.add("ping", [] { return std::nullopt; });
  checks.add("informers", [&]() -> std::optional<std::string> {
    if (synced) return std::nullopt;
    return "cache for projects has not synced";
  });
  auto report = checks.evaluate();
  EXPECT_FALSE(report.healthy);
  EXPECT_EQ(report.text,
            "[+]ping ok\n[-]informers failed: cache for projects has not synced\nreadyz check "
            "failed\n");
  synced = true;
  EXPECT_EQ(checks.evaluate().text, "ok");
  EXPECT_EQ(checks.evaluate({}, true).text, "[+]ping ok\n[+]informers ok\nreadyz check passed\n");
  EXPECT_TRUE(checks.evaluate("ping").healthy);
  EXPECT_FALSE(checks.evaluate("nope").found);
}

TEST(MonitoringServerTest, ReadyzIs503UntilTheInformerHasSyncedThen200) {
  FakeApi api;
  api.put(testing::projectsResource(),
          testing::makeObject("billing.operator.dev/v1alpha1", "Project", "t", "p"));
  api.holdLists(true);
  Informer informer(api, testing::projectsResource(), "", testing::quickInformerOptions());
  auto registry = std::make_shared<Registry>();
  RuntimeMetrics metrics(registry);
  metrics.workqueueAdds.withLabels({"projects"}).inc();
  auto healthz = std::make_shared<HealthChecks>("healthz");
  healthz->add("ping", [] { return std::nullopt; });
  auto readyz = std::make_shared<HealthChecks>("readyz");
  readyz->add("informers", [&]() -> std::optional<std::string> {
    if (informer.hasSynced()) return std::nullopt;
    return "projects not synced";
  });
  MonitoringServerOptions options;
  options.metrics = registry;
  options.healthz = healthz;
  options.readyz = readyz;
  options.logger = Logger::discard();
  MonitoringServer server(options);
  ASSERT_TRUE(server.start().has_value());
  ASSERT_NE(server.port(), 0);

  informer.start();
  ASSERT_TRUE(api.waitForListCalls(1, kWait));  // the list is in flight, held
  auto before = fetch(server.port(), "/readyz");
  EXPECT_EQ(before.status, 503);
  EXPECT_NE(before.body.find("[-]informers failed: projects not synced"), std::string::npos);
  EXPECT_EQ(fetch(server.port(), "/healthz").status, 200);

  api.holdLists(false);
  ASSERT_TRUE(informer.waitForSync(kWait));
  auto after = fetch(server.port(), "/readyz");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "ok");
  EXPECT_EQ(fetch(server.port(), "/readyz/informers").status, 200);
  EXPECT_EQ(fetch(server.port(), "/readyz/nope").status, 404);
  EXPECT_EQ(fetch(server.port(), "/readyz?verbose").body, "[+]informers ok\nreadyz check passed\n");

  auto scraped = fetch(server.port(), "/metrics");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_EQ(scraped.contentType, kMetricsContentType);
  EXPECT_NE(scraped.body.find("workqueue_adds_total{name=\"projects\"} 1\n"), std::string::npos);
  EXPECT_EQ(fetch(server.port(), "/metrics", "POST").status, 405);
  EXPECT_EQ(fetch(server.port(), "/other").status, 404);
  informer.stop();
  server.stop();
}

}  // namespace
}  // namespace billing::runtime
