// Create requests whose body leaves out what kube fills in itself.
#include <gtest/gtest.h>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using harness::json;

// Regression: a body without apiVersion and kind crashed the server (a reference into the
// object dangled once the server added them).
TEST(CreateBodyTest, ApiVersionAndKindMayBeLeftOut) {
  auto server = harness::startServer();
  ASSERT_NE(server, nullptr);
  Client admin(*server);
  auto created = admin.post("/api/v1/namespaces", json(R"({"metadata": {"name": "team-a"}})"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json.at("apiVersion").as_string(), "v1");
  EXPECT_EQ(created.json.at("kind").as_string(), "Namespace");
  EXPECT_FALSE(created.json.at("metadata").at("uid").as_string().empty());
  auto map = admin.post("/api/v1/namespaces/team-a/configmaps",
                        json(R"({"metadata": {"name": "m"}, "data": {"k": "v"}})"));
  ASSERT_EQ(map.status, 201) << map.body;
  EXPECT_EQ(map.json.at("kind").as_string(), "ConfigMap");
  EXPECT_EQ(admin.get("/api/v1/namespaces/team-a/configmaps/m").status, 200);
}

}  // namespace
}  // namespace billing::apiserver
