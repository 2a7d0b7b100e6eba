// Where the configuration comes from (--kubeconfig, KUBECONFIG, in-cluster, ~/.kube/config) and
// the service account token that is re-read every minute.
#include "operator/kube/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "operator/kube/auth.h"
#include "tests/unit/kube/test_support.h"

namespace billing::kube {
namespace {

using testing::FakeClock;
using ::testing::HasSubstr;
using testing::readFile;
using testing::TempDir;
using testing::testdata;
using namespace std::chrono_literals;

// A fake pod filesystem: var/run/secrets/kubernetes.io/serviceaccount under a temp dir.
struct PodRoot {
  TempDir dir;
  PodRoot() {
    dir.write(std::string(kServiceAccountDir) + "/token", "sa-token-1\n");
    dir.write(std::string(kServiceAccountDir) + "/ca.crt", readFile(testdata("minikube/ca.crt")));
    dir.write(std::string(kServiceAccountDir) + "/namespace", "billing-system");
  }
  std::filesystem::path tokenPath() const { return dir.path() / kServiceAccountDir / "token"; }
};

Environment inClusterEnvironment() {
  return {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
}

ConfigLoadOptions optionsWith(Environment environment, const PodRoot* pod = nullptr) {
  ConfigLoadOptions options;
  options.environment = std::move(environment);
  options.inClusterRoot = pod ? pod->dir.path() : "/nonexistent-root";
  return options;
}

TEST(LoadConfigTest, KubeconfigFlagComesFirst) {
  PodRoot pod;
  Environment environment = inClusterEnvironment();
  environment["KUBECONFIG"] = testdata("eks.yaml").string();
  auto options = optionsWith(environment, &pod);
  options.kubeconfig = testdata("kind.yaml");
  auto config = loadRestConfig(options);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server, "https://127.0.0.1:41625");
}

TEST(LoadConfigTest, AMissingKubeconfigFlagIsAnErrorNotAFallback) {
  PodRoot pod;
  auto options = optionsWith(inClusterEnvironment(), &pod);
  options.kubeconfig = testdata("nope.yaml");
  auto config = loadRestConfig(options);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().kind, ErrorKind::Config);
  EXPECT_THAT(config.error().describe(), HasSubstr("nope.yaml: no such file"));
}

TEST(LoadConfigTest, KubeconfigVariableComesBeforeInCluster) {
  PodRoot pod;
  Environment environment = inClusterEnvironment();
  environment["KUBECONFIG"] =
      testdata("missing.yaml").string() + ":" + testdata("minikube/config").string();
  auto config = loadRestConfig(optionsWith(environment, &pod));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server, "https://192.168.49.2:8443");
}

TEST(LoadConfigTest, AKubeconfigListOfMissingFilesIsAnError) {
  auto config = loadRestConfig(optionsWith({{"KUBECONFIG", "/nope/a:/nope/b"}}));
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message,
              HasSubstr("KUBECONFIG names /nope/a, /nope/b; none of these files exists"));
}

TEST(LoadConfigTest, ABrokenFileInTheListIsAnError) {
  Environment environment{{"KUBECONFIG", testdata("kind.yaml").string() + ":" +
                                             testdata("broken/syntax.yaml").string()}};
  auto config = loadRestConfig(optionsWith(environment));
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr("syntax.yaml:7: invalid YAML"));
}

TEST(LoadConfigTest, ContextFlagSelectsAmongMergedFiles) {
  Environment environment{{"KUBECONFIG", testdata("merge/first.yaml").string() + ":" +
                                             testdata("merge/second/second.yaml").string()}};
  auto options = optionsWith(environment);
  options.context = "dev";
  auto config = loadRestConfig(options);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server, "https://first.example:6443");
  EXPECT_EQ(config->defaultNamespace, "dev");
}

TEST(LoadConfigTest, InClusterComesBeforeTheHomeFile) {
  PodRoot pod;
  TempDir home;
  home.write(".kube/config", readFile(testdata("kind.yaml")));
  Environment environment = inClusterEnvironment();
  environment["HOME"] = home.path().string();
  auto config = loadRestConfig(optionsWith(environment, &pod));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->source, "in-cluster service account");
}

TEST(LoadConfigTest, TheHomeFileIsTheLastResort) {
  TempDir home;
  home.write(".kube/config", readFile(testdata("kind.yaml")));
  auto config = loadRestConfig(optionsWith({{"HOME", home.path().string()}}));
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server, "https://127.0.0.1:41625");
  EXPECT_THAT(config->source, HasSubstr(home.path().string()));
}

TEST(LoadConfigTest, NothingFoundExplainsEverySource) {
  TempDir home;
  auto config = loadRestConfig(optionsWith({{"HOME", home.path().string()}}));
  ASSERT_FALSE(config.has_value());
  const std::string message = config.error().describe();
  EXPECT_THAT(message, HasSubstr("no Kubernetes configuration found"));
  EXPECT_THAT(message, HasSubstr("KUBECONFIG is not set"));
  EXPECT_THAT(message, HasSubstr("KUBERNETES_SERVICE_HOST"));
  EXPECT_THAT(message, HasSubstr((home.path() / ".kube/config").string()));
}

TEST(InClusterConfigTest, ReadsTheServiceAccount) {
  PodRoot pod;
  auto config = inClusterRestConfig(inClusterEnvironment(), pod.dir.path());
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->bearerToken, "sa-token-1");
  EXPECT_EQ(config->bearerTokenFile, pod.tokenPath());
  EXPECT_EQ(config->caPem, readFile(testdata("minikube/ca.crt")));
  EXPECT_EQ(config->defaultNamespace, "billing-system");
  EXPECT_FALSE(config->insecureSkipTlsVerify);
}

TEST(InClusterConfigTest, BracketsAnIpv6ServiceHost) {
  PodRoot pod;
  auto config = inClusterRestConfig(
      {{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
      pod.dir.path());
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->server, "https://[fd00:10:96::1]:443");
}

TEST(InClusterConfigTest, NeedsTheTokenAndTheCa) {
  PodRoot pod;
  std::filesystem::remove(pod.tokenPath());
  auto noToken = inClusterRestConfig(inClusterEnvironment(), pod.dir.path());
  ASSERT_FALSE(noToken.has_value());
  EXPECT_THAT(noToken.error().message, HasSubstr("service account token"));

  PodRoot other;
  std::filesystem::remove(other.dir.path() / kServiceAccountDir / "ca.crt");
  auto noCa = inClusterRestConfig(inClusterEnvironment(), other.dir.path());
  ASSERT_FALSE(noCa.has_value());
  EXPECT_THAT(noCa.error().message, HasSubstr("ca.crt"));
}

TEST(TokenFileTest, RereadsTheTokenAboutEveryMinute) {
  PodRoot pod;
  auto clock = std::make_shared<FakeClock>();
  TokenFileCredentialProvider provider(pod.tokenPath(), "", {}, clock);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer sa-token-1");
  pod.dir.write(std::string(kServiceAccountDir) + "/token", "sa-token-2");
  clock->advance(30s);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer sa-token-1");  // cached
  clock->advance(31s);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer sa-token-2");
}

TEST(TokenFileTest, KeepsTheLastTokenWhileTheFileIsUnreadable) {
  PodRoot pod;
  auto clock = std::make_shared<FakeClock>();
  TokenFileCredentialProvider provider(pod.tokenPath(), "", {}, clock);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer sa-token-1");
  pod.dir.write(std::string(kServiceAccountDir) + "/token", "");
  clock->advance(2min);
  EXPECT_EQ(provider.credentials()->authorization, "Bearer sa-token-1");
  std::filesystem::remove(pod.tokenPath());
  TokenFileCredentialProvider fresh(pod.tokenPath(), "", {}, clock);
  auto none = fresh.credentials();
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().kind, ErrorKind::Config);
  EXPECT_THAT(none.error().message, HasSubstr(pod.tokenPath().string()));
}

TEST(TokenFileTest, A401RereadsAtOnce) {
  PodRoot pod;
  auto clock = std::make_shared<FakeClock>();
  TokenFileCredentialProvider provider(pod.tokenPath(), "", {}, clock);
  auto first = provider.credentials();
  EXPECT_FALSE(provider.refreshAfterUnauthorized(*first));  // same token: no point retrying
  pod.dir.write(std::string(kServiceAccountDir) + "/token", "sa-token-2");
  EXPECT_TRUE(provider.refreshAfterUnauthorized(*first));
  EXPECT_EQ(provider.credentials()->authorization, "Bearer sa-token-2");
}

}  // namespace
}  // namespace billing::kube
