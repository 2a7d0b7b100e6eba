// The mutating admission webhook end to end: the real operator serving /mutate, registered at the
// test API server like a real install (process_harness's configurationYaml), and the real kubectl.
// Objects come back from `kubectl apply` already carrying the operator's finalizer, so their
// reconcilers make no finalizer PATCH (docs/benchmarks.md: writes per object), while an object
// created without the webhook still gets its finalizer from its reconciler.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "tests/e2e/process_harness.h"

namespace billing::e2e {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using web::json::value;

const std::string kProjectFinalizer = "billing.operator.dev/membership";
const std::string kGroupFinalizer = "billing.operator.dev/finalizer";

const std::string kManifest = R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: shared
  namespace: acme
spec:
  displayName: Acme shared
  currency: EUR
---
apiVersion: billing.operator.dev/v1alpha1
kind: Project
metadata:
  name: web
  namespace: acme
  finalizers: ["example.com/keep-for-audit"]
spec:
  displayName: Web
  billingGroupRef:
    name: shared
)";

// metadata.finalizers of each object in `kubectl ... -o yaml` output (one object or a List), by
// "Kind/name".
std::map<std::string, std::vector<std::string>> finalizersIn(const std::string& yaml) {
  std::map<std::string, std::vector<std::string>> out;
  YAML::Node root = YAML::Load(yaml);
  std::vector<YAML::Node> objects;
  if (root["kind"].as<std::string>("") == "List") {
    for (const auto& item : root["items"]) objects.push_back(item);
  } else {
    objects.push_back(root);
  }
  for (const auto& object : objects) {
    std::vector<std::string>& finalizers =
        out[object["kind"].as<std::string>() + "/" + object["metadata"]["name"].as<std::string>()];
    for (const auto& finalizer : object["metadata"]["finalizers"]) {
      finalizers.push_back(finalizer.as<std::string>());
    }
  }
  return out;
}

// PATCHes of the main resource (not status) of `resource` the API server received, by anyone:
// kubectl's client-side apply creates new objects with POST, so these are the operator's.
std::uint64_t patchesOf(Environment& env, const std::string& resource) {
  CommandResult got = env.kubectl({"get", "--raw", "/_test/requests"});
  value counts = common::parseJson(got.out).value_or(value::null());
  std::uint64_t total = 0;
  if (!counts.is_object() || !counts.has_field("requests")) {
    ADD_FAILURE() << "GET /_test/requests: " << got;
    return 0;
  }
  for (const value& item : counts.at("requests").as_array()) {
    if (at(item, "verb") == "patch" && at(item, "resource") == resource &&
        at(item, "subresource") == "") {
      total += static_cast<std::uint64_t>(item.at("count").as_number().to_int64());
    }
  }
  return total;
}

bool ready(Environment& env, const std::string& kind, const std::string& ns,
           const std::string& name) {
  value object = env.getJson({kind, "-n", ns, name});
  value condition = e2e::condition(object, "Ready");
  return !condition.is_null() && at(condition, "status") == "True" &&
         at(condition, "observedGeneration") == at(object, "metadata.generation");
}

TEST(MutatingWebhookE2eTest, ObjectsArriveWithTheFinalizerAndTheOperatorPatchesNone) {
  Environment env;
  ASSERT_EQ(env.startupError(), "");
  OperatorProcess& op = env.addOperator();
  ASSERT_TRUE(op.waitReady()) << "the operator is not ready";
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, env.webhook()->configurationYaml()).exitCode, 0);
  ASSERT_EQ(env.kubectl({"create", "namespace", "acme"}).exitCode, 0);

  // The object the create returned already has the finalizer: the API server applied the
  // webhook's patch before storing it. A finalizer of somebody else's is kept.
  CommandResult applied = env.kubectl({"apply", "-o", "yaml", "-f", "-"}, kManifest);
  ASSERT_EQ(applied.exitCode, 0) << applied;
  auto finalizers = finalizersIn(applied.out);
  EXPECT_EQ(finalizers["BillingGroup/shared"], std::vector<std::string>{kGroupFinalizer});
  EXPECT_EQ(finalizers["Project/web"],
            (std::vector<std::string>{"example.com/keep-for-audit", kProjectFinalizer}));

  ASSERT_TRUE(eventually(
      [&] {
        return ready(env, "billinggroup", "acme", "shared") && ready(env, "project", "acme", "web");
      },
      30s))
      << env.kubectl({"get", "bg,bproj", "-A", "-o", "yaml"}).out;
  EXPECT_EQ(patchesOf(env, "projects.billing.operator.dev"), 0u);
  EXPECT_EQ(patchesOf(env, "billinggroups.billing.operator.dev"), 0u);
  const std::string metrics = op.metrics();
  EXPECT_EQ(
      metricValue(metrics,
                  R"(controller_runtime_webhook_requests_total{code="200",webhook="/mutate"})"),
      2)
      << metrics;

  // A server-side dry run shows the object as the create would store it.
  CommandResult dryRun = env.kubectl(
      {"create", "--dry-run=server", "-o", "yaml", "-f", "-"},
      "apiVersion: billing.operator.dev/v1alpha1\nkind: Project\nmetadata:\n  name: preview\n"
      "  namespace: acme\nspec:\n  billingGroupRef:\n    name: shared\n");
  ASSERT_EQ(dryRun.exitCode, 0) << dryRun;
  EXPECT_EQ(finalizersIn(dryRun.out)["Project/preview"],
            std::vector<std::string>{kProjectFinalizer});

  // Without the MutatingWebhookConfiguration (an install that predates it) a new object arrives
  // bare and its reconciler adds the finalizer: one PATCH.
  ASSERT_EQ(env.kubectl({"delete", "mutatingwebhookconfiguration", "billing-operator"}).exitCode,
            0);
  CommandResult bare = env.kubectl(
      {"apply", "-o", "yaml", "-f", "-"},
      "apiVersion: billing.operator.dev/v1alpha1\nkind: Project\nmetadata:\n  name: legacy\n"
      "  namespace: acme\nspec:\n  billingGroupRef:\n    name: shared\n");
  ASSERT_EQ(bare.exitCode, 0) << bare;
  EXPECT_THAT(finalizersIn(bare.out)["Project/legacy"], IsEmpty());
  value legacy;
  ASSERT_TRUE(eventually(
      [&] {
        legacy = env.getJson({"project", "-n", "acme", "legacy"});
        return ready(env, "project", "acme", "legacy");
      },
      30s))
      << common::toJson(legacy);
  EXPECT_THAT(at(legacy, "metadata.finalizers"), ::testing::HasSubstr(kProjectFinalizer));
  EXPECT_EQ(patchesOf(env, "projects.billing.operator.dev"), 1u);
}

}  // namespace
}  // namespace billing::e2e
