// The chart's permissions suffice, proven with the real processes: deploy/ applied with the real
// kubectl to the test-apiserver process (which evaluates RBAC), a token for the chart's
// ServiceAccount from `kubectl create token`, and the real `billing-operator run` using only that
// token, with leader election in the chart's namespace and the webhook certificate generated as
// deploy/deployment.yaml runs it. examples/gitops must become Ready with no 403 in the operator's
// log; with one permission taken out of the ClusterRole, the operator's log names the refused
// verb and resource.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <regex>

#include "tests/e2e/process_harness.h"

namespace billing::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using web::json::value;

const std::string kSource = BILLING_SOURCE_DIR;
const std::string kDeploy = kSource + "/deploy";
const std::string kGitops = kSource + "/examples/gitops";

// The operator's flags from deploy/deployment.yaml that concern the API server (the harness sets
// the ports); --kubeconfig and the lease namespace come last and win over the harness's.
std::vector<std::string> chartFlags(const fs::path& kubeconfig, const fs::path& certDir) {
  return {"--kubeconfig",
          kubeconfig.string(),
          "--leader-election-namespace",
          "billing-system",
          "--leader-election-id",
          "billing-operator-leader",
          "--webhook-cert-generate",
          "--webhook-service-name",
          "billing-operator-webhook",
          "--webhook-service-namespace",
          "billing-system",
          "--webhook-cert-secret-name",
          "billing-operator-webhook-cert",
          "--webhook-configuration-name",
          "billing-operator",
          "--webhook-cert-dir",
          certDir.string(),
          "--log-format",
          "json"};
}

// A kubeconfig for the same cluster as `admin` that authenticates with `token` only.
std::string tokenKubeconfig(const fs::path& admin, const std::string& token) {
  YAML::Node config = YAML::LoadFile(admin.string());
  YAML::Node cluster = config["clusters"][0]["cluster"];
  std::string out = "apiVersion: v1\nkind: Config\nclusters:\n- name: test-apiserver\n  cluster:\n";
  out += "    server: " + cluster["server"].as<std::string>() + "\n";
  out +=
      "    certificate-authority-data: " + cluster["certificate-authority-data"].as<std::string>() +
      "\n";
  out += "users:\n- name: billing-operator\n  user:\n    token: " + token + "\n";
  out +=
      "contexts:\n- name: sa\n  context:\n    cluster: test-apiserver\n    user: billing-operator\n"
      "    namespace: billing-system\ncurrent-context: sa\n";
  return out;
}

class OperatorRbacTest : public ::testing::Test {
 protected:
  // deploy/ applied (optionally edited first), a ServiceAccount token, its kubeconfig.
  void install(const std::function<std::string(std::string)>& editRbac) {
    ASSERT_EQ(env_.startupError(), "");
    std::string rbac = apiserver::harness::readFile(kDeploy + "/rbac.yaml");
    rbac = editRbac(rbac);
    CommandResult applied = env_.kubectl({"apply", "-k", kDeploy});
    ASSERT_EQ(applied.exitCode, 0) << applied;
    CommandResult edited = env_.kubectl({"apply", "-f", "-"}, rbac);
    ASSERT_EQ(edited.exitCode, 0) << edited;
    CommandResult token = env_.kubectl(
        {"create", "token", "billing-operator", "-n", "billing-system", "--duration", "2h"});
    ASSERT_EQ(token.exitCode, 0) << token;
    std::string text = token.out;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    ASSERT_FALSE(text.empty());
    kubeconfig_ = env_.dir() / "billing-operator.kubeconfig";
    apiserver::harness::writeFile(kubeconfig_,
                                  tokenKubeconfig(env_.apiServer().kubeconfig(), text));
    // The token is the ServiceAccount's, and it is not an admin.
    Kubectl operatorKubectl(kubeconfig_, env_.dir() / "sa-kubectl");
    CommandResult secrets = operatorKubectl.run({"get", "secrets", "-A"});
    ASSERT_NE(secrets.exitCode, 0) << secrets;
    ASSERT_THAT(secrets.err, HasSubstr("User \"system:serviceaccount:billing-system:"
                                       "billing-operator\" cannot list resource \"secrets\""));
  }

  OperatorProcess& startOperator() {
    OperatorOptions options;
    options.leaderElect = true;
    options.extraFlags = chartFlags(kubeconfig_, env_.dir() / "generated-certs");
    return env_.addOperator(options);
  }

  // Namespaces first (the webhook judges objects by their Namespace's label), then the folder.
  ::testing::AssertionResult applyGitops() {
    CommandResult namespaces = env_.kubectl({"apply", "-f", kGitops + "/namespaces.yaml"});
    if (namespaces.exitCode != 0) return ::testing::AssertionFailure() << namespaces;
    CommandResult applied;
    // The webhook answers from caches that see new Namespaces a moment later: retry while it
    // refuses for that reason only.
    const bool ok = eventually(
        [&] {
          applied = env_.kubectl({"apply", "-k", kGitops});
          return applied.exitCode == 0;
        },
        20s);
    if (!ok) return ::testing::AssertionFailure() << applied;
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult allReady(std::chrono::milliseconds timeout) {
    std::string notReady;
    const bool ready = eventually(
        [&] {
          notReady.clear();
          for (const char* kind : {"billinggroups", "projects"}) {
            CommandResult listed = env_.kubectl({"get", kind, "-A", "-o", "json"});
            auto parsed = common::parseJson(listed.out);
            if (listed.exitCode != 0 || !parsed) {
              notReady = listed.err;
              return false;
            }
            for (const value& item : parsed->at("items").as_array()) {
              const value readyCondition = condition(item, "Ready");
              if (readyCondition.is_null() || at(readyCondition, "status") != "True") {
                notReady += at(item, "kind") + " " + at(item, "metadata.namespace") + "/" +
                            at(item, "metadata.name") + "\n";
              }
            }
          }
          return notReady.empty();
        },
        timeout);
    if (ready) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "not Ready:\n" << notReady;
  }

  Environment env_;
  fs::path kubeconfig_;
};

TEST_F(OperatorRbacTest, TheChartsServiceAccountRunsTheOperatorWithoutA403) {
  install([](std::string rbac) { return rbac; });
  OperatorProcess& op = startOperator();
  ASSERT_TRUE(op.waitReady(30s)) << "the operator is not ready";
  // The operator provisioned its certificate and caBundle with its own permissions.
  ASSERT_TRUE(eventually(
      [&] {
        CommandResult bundle =
            env_.kubectl({"get", "validatingwebhookconfiguration", "billing-operator", "-o",
                          "jsonpath={.webhooks[0].clientConfig.caBundle}"});
        return bundle.exitCode == 0 && !bundle.out.empty();
      },
      20s));
  ASSERT_TRUE(applyGitops());
  EXPECT_TRUE(allReady(60s));
  // The lease is held in the chart's namespace.
  CommandResult lease = env_.kubectl({"get", "lease", "billing-operator-leader", "-n",
                                      "billing-system", "-o", "jsonpath={.spec.holderIdentity}"});
  EXPECT_EQ(lease.exitCode, 0) << lease;
  EXPECT_EQ(lease.out, op.options().identity);
  // A webhook refusal is still a webhook refusal, not a permission problem.
  CommandResult refused =
      env_.kubectl({"apply", "-f", "-"},
                   "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\nmetadata:\n"
                   "  name: bad\n  namespace: acme-web\nspec:\n  currency: euro\n");
  EXPECT_NE(refused.exitCode, 0);
  EXPECT_THAT(refused.err, Not(HasSubstr("forbidden: User")));
  const std::string log = op.process().log();
  // kube's 403 message, as the negative test below finds it in the log.
  EXPECT_THAT(log, Not(HasSubstr("is forbidden: User")));
}

TEST_F(OperatorRbacTest, APermissionTakenOutOfTheClusterRoleIsReportedByTheOperator) {
  const std::string statusRule =
      R"(resources: ["billinggroups/status", "projects/status", "invoices/status"])";
  install([&](std::string rbac) {
    const auto at = rbac.find(statusRule);
    EXPECT_NE(at, std::string::npos) << "deploy/rbac.yaml changed: update this test";
    if (at != std::string::npos) {
      rbac.replace(at, statusRule.size(), R"(resources: ["projects/status", "invoices/status"])");
    }
    return rbac;
  });
  OperatorProcess& op = startOperator();
  ASSERT_TRUE(op.waitReady(30s)) << "the operator is not ready";
  ASSERT_TRUE(applyGitops());
  const std::string expected =
      R"(is forbidden: User \"system:serviceaccount:billing-system:billing-operator\" cannot )"
      R"(update resource \"billinggroups/status\" in API group \"billing.operator.dev\")";
  EXPECT_TRUE(
      eventually([&] { return op.process().log().find(expected) != std::string::npos; }, 30s))
      << "the operator never reported the refused status update";
  // Projects, whose status the role still allows, are written.
  CommandResult project =
      env_.kubectl({"get", "project", "web", "-n", "acme-web", "-o",
                    "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"});
  EXPECT_EQ(project.exitCode, 0) << project;
}

}  // namespace
}  // namespace billing::e2e
