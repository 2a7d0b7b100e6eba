// kubeconfig files as real tools write them, broken ones, and KUBECONFIG merging, checked against
// what /usr/bin/kubectl makes of the same files.
#include "operator/kube/kubeconfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/json.h"
#include "operator/kube/auth.h"
#include "operator/kube/config.h"
#include "operator/kube/exec_credential.h"
#include "tests/unit/kube/test_support.h"

namespace billing::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::readFile;
using testing::TempDir;
using testing::testdata;

Kubeconfig load(const std::string& relative) {
  auto loaded = loadKubeconfigFile(testdata(relative));
  EXPECT_TRUE(loaded.has_value()) << loaded.error();
  return loaded.value_or(Kubeconfig{});
}

RestConfig resolve(const Kubeconfig& kubeconfig, const std::string& context = "") {
  auto config = restConfigFromKubeconfig(kubeconfig, context);
  EXPECT_TRUE(config.has_value()) << config.error().message;
  return config.value_or(RestConfig{});
}

std::string resolveError(const std::string& relative, const std::string& context = "") {
  auto config = restConfigFromKubeconfig(load(relative), context);
  EXPECT_FALSE(config.has_value());
  if (config) return "";
  EXPECT_EQ(config.error().kind, ErrorKind::Config);
  return config.error().describe();
}

std::string parseError(const std::string& relative) {
  auto loaded = loadKubeconfigFile(testdata(relative));
  EXPECT_FALSE(loaded.has_value());
  return loaded ? "" : loaded.error();
}

Environment pathTo(const std::filesystem::path& dir) {
  return Environment{{"PATH", dir.string() + ":/usr/bin:/bin"}, {"HOME", "/nonexistent"}};
}

Credentials runPlugin(const RestConfig& config, const Environment& environment) {
  ExecCredentialProvider provider(*config.exec, config.userName, environment,
                                  std::make_shared<ProcessCommandRunner>(), common::systemClock());
  auto credentials = provider.credentials();
  EXPECT_TRUE(credentials.has_value()) << credentials.error().message;
  return credentials.value_or(Credentials{});
}

TEST(KubeconfigTest, ReadsWhatKindWrites) {
  Kubeconfig kubeconfig = load("kind.yaml");
  EXPECT_EQ(kubeconfig.currentContext, "kind-billing");
  RestConfig config = resolve(kubeconfig);
  EXPECT_EQ(config.server, "https://127.0.0.1:41625");
  EXPECT_EQ(config.caPem, readFile(testdata("minikube/ca.crt")));
  EXPECT_EQ(config.clientCertPem, readFile(testdata("minikube/profiles/minikube/client.crt")));
  EXPECT_EQ(config.clientKeyPem, readFile(testdata("minikube/profiles/minikube/client.key")));
  EXPECT_FALSE(config.insecureSkipTlsVerify);
  EXPECT_EQ(config.defaultNamespace, "default");
  EXPECT_THAT(config.source, HasSubstr("context \"kind-billing\" of kubeconfig"));
}

TEST(KubeconfigTest, ResolvesMinikubesRelativePathsAgainstTheFilesDirectory) {
  Kubeconfig kubeconfig = load("minikube/config");
  const auto& cluster = kubeconfig.clusters.at("minikube");
  EXPECT_EQ(cluster.certificateAuthority, testdata("minikube/ca.crt").lexically_normal().string());
  EXPECT_EQ(kubeconfig.users.at("minikube").clientKey,
            testdata("minikube/profiles/minikube/client.key").lexically_normal().string());
  RestConfig config = resolve(kubeconfig);
  EXPECT_EQ(config.server, "https://192.168.49.2:8443");
  EXPECT_EQ(config.defaultNamespace, "billing");
  EXPECT_EQ(config.caPem, readFile(testdata("minikube/ca.crt")));
}

TEST(KubeconfigTest, RelativePathsFollowTheFileNotTheWorkingDirectory) {
  TempDir dir;
  std::filesystem::copy(testdata("minikube"), dir.path() / "copy",
                        std::filesystem::copy_options::recursive);
  auto loaded = loadKubeconfigFile(dir.path() / "copy" / "config");
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ(loaded->users.at("minikube").clientCertificate,
            (dir.path() / "copy/profiles/minikube/client.crt").string());
  std::filesystem::remove(dir.path() / "copy/profiles/minikube/client.crt");
  auto config = restConfigFromKubeconfig(*loaded);
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr("client-certificate"));
  EXPECT_THAT(config.error().message, HasSubstr("copy/profiles/minikube/client.crt"));
}

TEST(KubeconfigTest, ReadsTheEksExecPluginAndRunsIt) {
  Kubeconfig kubeconfig = load("eks.yaml");
  const auto& user = kubeconfig.users.at("arn:aws:eks:eu-west-1:123456789012:cluster/billing-prod");
  ASSERT_TRUE(user.exec.has_value());
  EXPECT_EQ(user.exec->command, "aws");  // looked up in PATH, not resolved as a path
  EXPECT_EQ(user.exec->apiVersion, "client.authentication.k8s.io/v1beta1");
  EXPECT_THAT(user.exec->args, ElementsAre("--region", "eu-west-1", "eks", "get-token",
                                           "--cluster-name", "billing-prod", "--output", "json"));
  ASSERT_EQ(user.exec->env.size(), 1u);
  EXPECT_EQ(user.exec->env[0], std::make_pair(std::string("AWS_PROFILE"), std::string("finops")));
  RestConfig config = resolve(kubeconfig);
  EXPECT_EQ(config.exec->interactiveMode, "IfAvailable");  // v1beta1's default
  EXPECT_EQ(config.server,
            "https://5E1D0CEXAMPLEA591B746AFC5AB30262.gr7.eu-west-1.eks.amazonaws.com");

  Credentials credentials = runPlugin(config, pathTo(testdata("bin")));
  EXPECT_EQ(credentials.authorization, "Bearer k8s-aws-v1.fake-billing-prod-eu-west-1-finops");
}

TEST(KubeconfigTest, ReadsTheGkePluginAndGivesItTheClusterInformation) {
  RestConfig config = resolve(load("gke.yaml"));
  ASSERT_TRUE(config.exec.has_value());
  EXPECT_TRUE(config.exec->provideClusterInfo);
  EXPECT_THAT(config.exec->installHint, HasSubstr("https://cloud.google.com/kubernetes-engine"));
  ASSERT_TRUE(config.exec->clusterInfo.has_value());
  EXPECT_EQ(config.exec->clusterInfo->at("server").as_string(), "https://34.76.12.201");
  EXPECT_TRUE(config.exec->clusterInfo->has_field("certificate-authority-data"));
  // The fake plugin fails without spec.cluster in KUBERNETES_EXEC_INFO.
  Credentials credentials = runPlugin(config, pathTo(testdata("bin")));
  EXPECT_EQ(credentials.authorization, "Bearer ya29.fake-gke-token");
}

TEST(KubeconfigTest, AMissingPluginSaysSoWithTheInstallHint) {
  RestConfig config = resolve(load("gke.yaml"));
  TempDir empty;  // the only PATH entry: this machine may have the real plugin in /usr/bin
  ExecCredentialProvider provider(*config.exec, config.userName, {{"PATH", empty.path().string()}},
                                  std::make_shared<ProcessCommandRunner>(), common::systemClock());
  auto credentials = provider.credentials();
  ASSERT_FALSE(credentials.has_value());
  EXPECT_EQ(credentials.error().kind, ErrorKind::Config);
  EXPECT_THAT(credentials.error().message, HasSubstr("gke-gcloud-auth-plugin"));
  EXPECT_THAT(credentials.error().message, HasSubstr("not found in PATH"));
  EXPECT_THAT(credentials.error().message, HasSubstr("Install gke-gcloud-auth-plugin"));
}

TEST(KubeconfigTest, AFailingPluginReportsItsStandardError) {
  RestConfig config = resolve(load("broken/failing-exec.yaml"));
  ExecCredentialProvider provider(*config.exec, config.userName, pathTo(testdata("bin")),
                                  std::make_shared<ProcessCommandRunner>(), common::systemClock());
  auto credentials = provider.credentials();
  ASSERT_FALSE(credentials.has_value());
  const std::string message = credentials.error().describe();
  EXPECT_THAT(message, HasSubstr("exec plugin \"aws\" of user \"eks\""));
  EXPECT_THAT(message, HasSubstr("exit code 255"));
  EXPECT_THAT(message, HasSubstr("ExpiredToken"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(KubeconfigTest, AYamlSyntaxErrorNamesTheFileAndLine) {
  // Line 7 is the mis-indented key. (kubectl says "line 6: did not find expected key": go-yaml
  // reports where the mapping began, yaml-cpp where it stopped making sense.)
  std::string error = parseError("broken/syntax.yaml");
  EXPECT_THAT(error, HasSubstr("broken/syntax.yaml:7: invalid YAML"));
}

TEST(KubeconfigTest, NoCurrentContextListsTheContexts) {
  std::string error = resolveError("broken/no-current-context.yaml");
  EXPECT_THAT(error, HasSubstr("no-current-context.yaml: current-context is not set"));
  EXPECT_THAT(error, HasSubstr("(contexts: alpha, beta)"));
  RestConfig config = resolve(load("broken/no-current-context.yaml"), "beta");
  EXPECT_EQ(config.server, "https://a.example");
}

TEST(KubeconfigTest, AContextOverrideMustExist) {
  std::string error = resolveError("kind.yaml", "kind-other");
  EXPECT_THAT(error, HasSubstr("context \"kind-other\" is not defined (contexts: kind-billing)"));
}

TEST(KubeconfigTest, AContextNamingAMissingClusterOrUserIsAnError) {
  EXPECT_THAT(resolveError("broken/missing-cluster.yaml"),
              HasSubstr("context \"billing\" names cluster \"billing-prod\", which is not "
                        "defined (clusters: billing-staging)"));
  EXPECT_THAT(resolveError("broken/missing-user.yaml"),
              HasSubstr("context \"billing\" names user \"admin\", which is not defined "
                        "(users: root)"));
}

TEST(KubeconfigTest, AnUnreadableCertificateFileIsNamed) {
  std::string error = resolveError("broken/unreadable-cert.yaml");
  EXPECT_THAT(error, HasSubstr("cluster \"billing\": certificate-authority"));
  EXPECT_THAT(error,
              HasSubstr(testdata("broken/certs/missing-ca.crt").lexically_normal().string()));
}

TEST(KubeconfigTest, ADirectoryWhereACertificateShouldBeIsAnError) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "ca.crt");
  dir.write("config",
            "current-context: c\nclusters:\n- name: c\n  cluster:\n    server: "
            "https://x.example\n    certificate-authority: ca.crt\ncontexts:\n- name: "
            "c\n  context: {cluster: c}\n");
  auto loaded = loadKubeconfigFile(dir.path() / "config");
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  auto config = restConfigFromKubeconfig(*loaded);
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr((dir.path() / "ca.crt").string()));
}

TEST(KubeconfigTest, TypeAndEncodingMistakesPointAtTheLine) {
  EXPECT_THAT(parseError("broken/wrong-type.yaml"),
              HasSubstr("wrong-type.yaml:8: clusters[0].cluster.insecure-skip-tls-verify: "
                        "expected true or false, got the string \"yes please\""));
  EXPECT_THAT(parseError("broken/bad-base64.yaml"),
              HasSubstr("bad-base64.yaml:8: clusters[0].cluster.certificate-authority-data: not "
                        "valid base64"));
  EXPECT_THAT(parseError("broken/duplicate-name.yaml"),
              HasSubstr("duplicate-name.yaml:6: clusters[1]: duplicate name \"billing\""));
}

TEST(KubeconfigTest, RejectsInsecureTogetherWithACertificateAuthority) {
  EXPECT_THAT(
      resolveError("broken/insecure-with-ca.yaml"),
      HasSubstr("insecure-skip-tls-verify cannot be combined with a certificate authority"));
}

TEST(KubeconfigTest, ChecksExecPluginsWhenAContextUsesThem) {
  EXPECT_TRUE(loadKubeconfigFile(testdata("broken/exec-v1-without-interactive-mode.yaml")));
  EXPECT_THAT(resolveError("broken/exec-v1-without-interactive-mode.yaml"),
              HasSubstr("interactiveMode must be set for client.authentication.k8s.io/v1"));
}

TEST(KubeconfigTest, RefusesLegacyAuthProviders) {
  EXPECT_THAT(resolveError("broken/auth-provider.yaml"),
              HasSubstr("auth-provider \"gcp\" is not supported"));
}

TEST(KubeconfigTest, AServerWithoutASchemeIsHttps) {
  auto parsed = parseKubeconfig(
      "current-context: c\nclusters:\n- name: c\n  cluster: {server: '10.0.0.1:6443', "
      "insecure-skip-tls-verify: true}\ncontexts:\n- name: c\n  context: {cluster: c}\n",
      "");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(resolve(*parsed).server, "https://10.0.0.1:6443");
}

TEST(KubeconfigTest, AMissingFileIsAnError) {
  auto loaded = loadKubeconfigFile(testdata("does-not-exist.yaml"));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_THAT(loaded.error(), HasSubstr("does-not-exist.yaml: no such file"));
}

TEST(KubeconfigTest, AnEmptyFileIsAnEmptyConfiguration) {
  auto parsed = parseKubeconfig("", "/tmp/empty");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_TRUE(parsed->clusters.empty());
  auto config = restConfigFromKubeconfig(*parsed);
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr("no contexts are defined"));
}

TEST(KubeconfigTest, SomethingElseIsNotAKubeconfig) {
  auto parsed = parseKubeconfig("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "pod.yaml");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_THAT(parsed.error(), HasSubstr("pod.yaml:2: kind: not a kubeconfig (kind Pod)"));
}

TEST(KubeconfigTest, SplitsKubeconfigListsLikeClientGo) {
  EXPECT_THAT(splitKubeconfigList("a:b::a:c:"),
              ElementsAre(std::filesystem::path("a"), std::filesystem::path("b"),
                          std::filesystem::path("c")));
}

Kubeconfig mergeOf(const std::vector<std::string>& relatives) {
  std::vector<Kubeconfig> configs;
  for (const auto& relative : relatives) configs.push_back(load(relative));
  return mergeKubeconfigs(configs);
}

TEST(KubeconfigMergeTest, TheFirstFileToDefineANameWinsItWhole) {
  Kubeconfig merged = mergeOf({"merge/first.yaml", "merge/second/second.yaml", "merge/third.yaml"});
  // current-context: second.yaml is the first to set one; third.yaml's "dev" is ignored.
  EXPECT_EQ(merged.currentContext, "prod");
  const auto& shared = merged.clusters.at("shared");
  EXPECT_EQ(shared.server, "https://first.example:6443");
  EXPECT_FALSE(shared.insecureSkipTlsVerify);  // second.yaml's fields are not mixed in
  EXPECT_EQ(merged.contexts.at("dev").cluster, "shared");
  EXPECT_EQ(merged.users.at("dev-user").token, "first-file-token");
  EXPECT_TRUE(merged.clusters.contains("third-only"));

  RestConfig prod = resolve(merged);
  EXPECT_EQ(prod.server, "https://prod.example:6443");
  EXPECT_EQ(prod.tlsServerName, "kubernetes.prod.internal");
  EXPECT_EQ(prod.defaultNamespace, "billing");
  // tokenFile is relative to second.yaml's directory, where it was written.
  EXPECT_EQ(prod.bearerTokenFile, testdata("merge/second/prod-token").lexically_normal());
  EXPECT_EQ(prod.bearerToken, "prod-file-token");
  EXPECT_EQ(prod.caPem, readFile(testdata("merge/second/ca.crt")));

  RestConfig dev = resolve(merged, "dev");
  EXPECT_EQ(dev.server, "https://first.example:6443");
  EXPECT_EQ(dev.caPem, readFile(testdata("merge/certs/first-ca.crt")));
  EXPECT_EQ(dev.bearerToken, "first-file-token");
}

TEST(KubeconfigMergeTest, ReversingTheOrderChangesTheWinners) {
  Kubeconfig merged = mergeOf({"merge/third.yaml", "merge/second/second.yaml", "merge/first.yaml"});
  EXPECT_EQ(merged.currentContext, "dev");
  EXPECT_EQ(merged.contexts.at("dev").cluster, "prod-cluster");
  EXPECT_EQ(merged.clusters.at("shared").server, "https://second.example:6443");
  EXPECT_EQ(merged.users.at("dev-user").token, "second-file-token");
  RestConfig dev = resolve(merged);
  EXPECT_EQ(dev.server, "https://prod.example:6443");
  EXPECT_EQ(dev.bearerToken, "prod-file-token");
}

// --- Cross-checks with the real kubectl ------------------------------------------------------

constexpr const char* kKubectl = "/usr/bin/kubectl";

std::optional<web::json::value> kubectlView(const std::string& kubeconfigList) {
  TempDir home;
  Environment environment{
      {"KUBECONFIG", kubeconfigList}, {"HOME", home.path().string()}, {"PATH", "/usr/bin:/bin"}};
  ProcessCommandRunner runner;
  auto ran = runner.run(kKubectl, "kubectl", {"config", "view", "--raw", "-o", "json"}, environment,
                        false, std::chrono::seconds(60));
  if (!ran || ran->exitCode != 0) return std::nullopt;
  auto parsed = common::parseJson(ran->standardOutput);
  if (!parsed) return std::nullopt;
  return *parsed;
}

std::string field(const web::json::value& object, const char* name) {
  return object.has_field(name) && object.at(name).is_string() ? object.at(name).as_string() : "";
}

void expectSameAsKubectl(const std::vector<std::string>& relatives) {
  std::string list;
  for (const auto& relative : relatives)
    list += (list.empty() ? "" : ":") + testdata(relative).string();
  auto view = kubectlView(list);
  ASSERT_TRUE(view.has_value()) << "kubectl config view failed for " << list;
  Kubeconfig ours = mergeOf(relatives);
  EXPECT_EQ(field(*view, "current-context"), ours.currentContext);

  const auto& clusters = view->at("clusters").as_array();
  ASSERT_EQ(clusters.size(), ours.clusters.size());
  for (const auto& entry : clusters) {
    const std::string name = field(entry, "name");
    ASSERT_TRUE(ours.clusters.contains(name)) << name;
    const auto& mine = ours.clusters.at(name);
    const auto& theirs = entry.at("cluster");
    EXPECT_EQ(field(theirs, "server"), mine.server) << name;
    EXPECT_EQ(field(theirs, "tls-server-name"), mine.tlsServerName) << name;
    EXPECT_EQ(theirs.has_field("insecure-skip-tls-verify") &&
                  theirs.at("insecure-skip-tls-verify").as_bool(),
              mine.insecureSkipTlsVerify)
        << name;
    // kubectl shows paths as written; ours are resolved against the defining file.
    if (!field(theirs, "certificate-authority").empty()) {
      EXPECT_EQ((mine.origin.parent_path() / field(theirs, "certificate-authority"))
                    .lexically_normal()
                    .string(),
                mine.certificateAuthority)
          << name;
    }
  }
  const auto& contexts = view->at("contexts").as_array();
  ASSERT_EQ(contexts.size(), ours.contexts.size());
  for (const auto& entry : contexts) {
    const std::string name = field(entry, "name");
    ASSERT_TRUE(ours.contexts.contains(name)) << name;
    EXPECT_EQ(field(entry.at("context"), "cluster"), ours.contexts.at(name).cluster) << name;
    EXPECT_EQ(field(entry.at("context"), "user"), ours.contexts.at(name).user) << name;
    EXPECT_EQ(field(entry.at("context"), "namespace"), ours.contexts.at(name).ns) << name;
  }
  const auto& users = view->at("users").as_array();
  ASSERT_EQ(users.size(), ours.users.size());
  for (const auto& entry : users) {
    const std::string name = field(entry, "name");
    ASSERT_TRUE(ours.users.contains(name)) << name;
    EXPECT_EQ(field(entry.at("user"), "token"), ours.users.at(name).token) << name;
  }
}

class KubectlCrossCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << "no " << kKubectl;
  }
};

TEST_F(KubectlCrossCheckTest, MergesLikeKubectl) {
  expectSameAsKubectl({"merge/first.yaml", "merge/second/second.yaml", "merge/third.yaml"});
  expectSameAsKubectl({"merge/third.yaml", "merge/second/second.yaml", "merge/first.yaml"});
  expectSameAsKubectl({"merge/second/second.yaml", "kind.yaml", "merge/first.yaml"});
}

TEST_F(KubectlCrossCheckTest, ReadsTheRealWorldShapesLikeKubectl) {
  expectSameAsKubectl({"kind.yaml"});
  expectSameAsKubectl({"minikube/config"});
  expectSameAsKubectl({"eks.yaml"});
  expectSameAsKubectl({"gke.yaml"});
}

TEST_F(KubectlCrossCheckTest, AcceptsAndRejectsTheSameFilesAsKubectl) {
  std::vector<std::filesystem::path> files = {testdata("kind.yaml"), testdata("minikube/config"),
                                              testdata("eks.yaml"), testdata("gke.yaml")};
  for (const auto& entry : std::filesystem::directory_iterator(testdata("broken"))) {
    files.push_back(entry.path());
  }
  int rejected = 0;
  for (const auto& file : files) {
    bool kubectlAccepts = kubectlView(file.string()).has_value();
    bool weAccept = loadKubeconfigFile(file).has_value();
    EXPECT_EQ(weAccept, kubectlAccepts) << file;
    if (!kubectlAccepts) ++rejected;
  }
  EXPECT_EQ(rejected, 4);  // syntax, wrong type, bad base64, duplicate name
}

}  // namespace
}  // namespace billing::kube
