// deploy/ as users apply it, with the real kubectl (/usr/bin/kubectl): `kubectl kustomize` builds
// it, `kubectl apply -k deploy/` creates every object on the test API server, and
// `kubectl apply -f deploy/billing-operator.yaml` then finds the same objects unchanged (the two
// forms install the same thing). That deploy/ matches the chart is the generate-manifests check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "tests/apiserver/tests/server_harness.h"

namespace billing::chart {
namespace {

using apiserver::harness::CommandResult;
using apiserver::harness::Kubectl;
using apiserver::harness::TempDir;
using ::testing::HasSubstr;

const std::string kDeploy = std::string(BILLING_SOURCE_DIR) + "/deploy";

// kind/name of every document of a multi-document YAML text.
std::set<std::string> objectsIn(const std::string& text) {
  std::set<std::string> names;
  for (const auto& document : YAML::LoadAll(text)) {
    if (!document.IsMap()) continue;
    names.insert(document["kind"].as<std::string>() + "/" +
                 document["metadata"]["name"].as<std::string>());
  }
  return names;
}

class DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = apiserver::harness::startServer();
    ASSERT_NE(server_, nullptr);
    const auto kubeconfig = dir_.path() / "kubeconfig";
    auto written = server_->writeKubeconfig(kubeconfig, apiserver::KubeconfigAuth::Token);
    ASSERT_TRUE(written.has_value()) << written.error();
    kubectl_ = std::make_unique<Kubectl>(kubeconfig, dir_.path());
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  TempDir dir_;
  std::unique_ptr<apiserver::TestApiServer> server_;
  std::unique_ptr<Kubectl> kubectl_;
};

TEST_F(DeployTest, KustomizeAndTheSingleFileHoldTheSameObjects) {
  CommandResult built = kubectl_->run({"kustomize", kDeploy});
  ASSERT_EQ(built.exitCode, 0) << built;
  const std::set<std::string> kustomized = objectsIn(built.out);
  const std::set<std::string> single =
      objectsIn(apiserver::harness::readFile(kDeploy + "/billing-operator.yaml"));
  EXPECT_EQ(kustomized, single);
  for (const char* expected :
       {"Namespace/billing-system", "CustomResourceDefinition/billinggroups.billing.operator.dev",
        "Deployment/billing-operator", "ValidatingWebhookConfiguration/billing-operator",
        "MutatingWebhookConfiguration/billing-operator", "ServiceAccount/billing-operator",
        "PodDisruptionBudget/billing-operator"}) {
    EXPECT_TRUE(kustomized.count(expected)) << expected;
  }
}

TEST_F(DeployTest, ApplyKCreatesEverythingAndApplyFFindsItUnchanged) {
  CommandResult dryRun = kubectl_->run(
      {"apply", "--dry-run=server", "-f", kDeploy + "/billing.operator.dev_billinggroups.yaml"});
  ASSERT_EQ(dryRun.exitCode, 0) << dryRun;
  EXPECT_THAT(dryRun.out, HasSubstr("created (server dry run)"));

  CommandResult applied = kubectl_->run({"apply", "-k", kDeploy});
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.out, HasSubstr("namespace/billing-system created"));
  EXPECT_THAT(applied.out, HasSubstr("customresourcedefinition.apiextensions.k8s.io/"
                                     "billinggroups.billing.operator.dev created"));
  EXPECT_THAT(applied.out, HasSubstr("deployment.apps/billing-operator created"));
  EXPECT_THAT(applied.out, HasSubstr("validatingwebhookconfiguration.admissionregistration.k8s.io/"
                                     "billing-operator created"));
  EXPECT_THAT(applied.out, HasSubstr("mutatingwebhookconfiguration.admissionregistration.k8s.io/"
                                     "billing-operator created"));
  EXPECT_THAT(applied.out, HasSubstr("role.rbac.authorization.k8s.io/"
                                     "billing-operator-leader-election created"));

  CommandResult again = kubectl_->run({"apply", "-f", kDeploy + "/billing-operator.yaml"});
  ASSERT_EQ(again.exitCode, 0) << again;
  std::istringstream lines(again.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++count;
    EXPECT_THAT(line, ::testing::EndsWith(" unchanged"));
  }
  EXPECT_EQ(static_cast<std::size_t>(count),
            objectsIn(apiserver::harness::readFile(kDeploy + "/billing-operator.yaml")).size());

  CommandResult crd = kubectl_->run({"get", "crd", "billinggroups.billing.operator.dev", "-o",
                                     "jsonpath={.metadata.annotations.helm\\.sh/resource-policy}"});
  ASSERT_EQ(crd.exitCode, 0) << crd;
  EXPECT_EQ(crd.out, "keep");
}

}  // namespace
}  // namespace billing::chart
