// The --webhook-cert-* flags of `billing-operator run`: off by default (cert-manager or a mounted
// Secret fills --webhook-cert-dir), the chart's invocation, and the mistakes worth one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operator/run/run_options.h"

namespace billing::run {
namespace {

using ::testing::HasSubstr;

std::expected<RunOptions, std::string> parse(std::vector<std::string> args) {
  return parseRunArguments(args);
}

TEST(WebhookCertFlagsTest, GenerationIsOffByDefaultWithTheChartsNames) {
  auto options = parse({});
  ASSERT_TRUE(options.has_value()) << options.error();
  EXPECT_FALSE(options->webhookCertGenerate);
  EXPECT_EQ(options->webhookServiceName, "billing-operator-webhook");
  EXPECT_EQ(options->webhookServiceNamespace, "");
  EXPECT_EQ(options->webhookCertSecretName, "billing-operator-webhook-cert");
  EXPECT_EQ(options->webhookConfigurationName, "billing-operator");
}

TEST(WebhookCertFlagsTest, TheChartsInvocationParses) {
  auto options = parse({"--webhook-cert-generate", "--webhook-service-name=bo-webhook",
                        "--webhook-service-namespace", "billing-system",
                        "--webhook-cert-secret-name=bo-webhook-cert",
                        "--webhook-configuration-name", "bo", "--webhook-cert-dir", "/certs"});
  ASSERT_TRUE(options.has_value()) << options.error();
  EXPECT_TRUE(options->webhookCertGenerate);
  EXPECT_EQ(options->webhookServiceName, "bo-webhook");
  EXPECT_EQ(options->webhookServiceNamespace, "billing-system");
  EXPECT_EQ(options->webhookCertSecretName, "bo-webhook-cert");
  EXPECT_EQ(options->webhookConfigurationName, "bo");
  EXPECT_EQ(options->webhookCertDir, "/certs");
}

TEST(WebhookCertFlagsTest, TheSwitchTakesAnExplicitBoolean) {
  auto off = parse({"--webhook-cert-generate=false"});
  ASSERT_TRUE(off.has_value()) << off.error();
  EXPECT_FALSE(off->webhookCertGenerate);
  auto on = parse({"--webhook-cert-generate=true", "--webhook-service-namespace=ns"});
  ASSERT_TRUE(on.has_value()) << on.error();
  EXPECT_TRUE(on->webhookCertGenerate);
  auto bad = parse({"--webhook-cert-generate=yes"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), "--webhook-cert-generate must be true or false");
}

TEST(WebhookCertFlagsTest, GeneratingNeedsTheServiceNamespace) {
  auto parsed = parse({"--webhook-cert-generate"});
  ASSERT_FALSE(parsed.has_value());
  EXPECT_THAT(parsed.error(),
              HasSubstr("--webhook-cert-generate needs --webhook-service-namespace"));
}

TEST(WebhookCertFlagsTest, NamesNeedValues) {
  for (const char* flag : {"--webhook-service-name", "--webhook-service-namespace",
                           "--webhook-cert-secret-name", "--webhook-configuration-name"}) {
    auto empty = parse({std::string(flag) + "="});
    ASSERT_FALSE(empty.has_value()) << flag;
    EXPECT_EQ(empty.error(), std::string(flag) + " needs a value");
    auto missing = parse({flag});
    ASSERT_FALSE(missing.has_value()) << flag;
    EXPECT_EQ(missing.error(), std::string(flag) + " needs a value");
  }
}

TEST(WebhookCertFlagsTest, HelpListsTheFlags) {
  const std::string usage = runUsage();
  for (const char* flag :
       {"--webhook-cert-generate", "--webhook-service-name", "--webhook-service-namespace",
        "--webhook-cert-secret-name", "--webhook-configuration-name"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace billing::run
