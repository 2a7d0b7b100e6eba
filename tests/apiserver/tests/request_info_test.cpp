#include "tests/apiserver/request_info.h"

#include <gtest/gtest.h>

namespace billing::apiserver {
namespace {

TEST(RequestInfoTest, DiscoveryPaths) {
  EXPECT_EQ(parseRequestPath("/api")->kind, RequestInfo::Kind::CoreVersions);
  EXPECT_EQ(parseRequestPath("/apis")->kind, RequestInfo::Kind::Groups);
  auto group = parseRequestPath("/apis/billing.operator.dev");
  EXPECT_EQ(group->kind, RequestInfo::Kind::Group);
  EXPECT_EQ(group->group, "billing.operator.dev");
  auto core = parseRequestPath("/api/v1");
  EXPECT_EQ(core->kind, RequestInfo::Kind::GroupVersion);
  EXPECT_EQ(core->group, "");
  EXPECT_EQ(core->version, "v1");
  auto gv = parseRequestPath("/apis/apps/v1/");
  EXPECT_EQ(gv->kind, RequestInfo::Kind::GroupVersion);
  EXPECT_EQ(gv->group, "apps");
  EXPECT_EQ(parseRequestPath("/version")->kind, RequestInfo::Kind::Other);
  EXPECT_EQ(parseRequestPath("/openapi/v3")->kind, RequestInfo::Kind::Other);
}

TEST(RequestInfoTest, NamespacedObjectWithSubresource) {
  auto info = parseRequestPath(
      "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups/shared/status");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, RequestInfo::Kind::Resource);
  EXPECT_EQ(info->group, "billing.operator.dev");
  EXPECT_EQ(info->version, "v1alpha1");
  EXPECT_EQ(info->ns, "acme");
  EXPECT_TRUE(info->namespacedPath);
  EXPECT_EQ(info->resource, "billinggroups");
  EXPECT_EQ(info->name, "shared");
  EXPECT_EQ(info->subresource, "status");
}

TEST(RequestInfoTest, CollectionsAcrossNamespaces) {
  auto info = parseRequestPath("/api/v1/secrets");
  EXPECT_EQ(info->resource, "secrets");
  EXPECT_EQ(info->ns, "");
  EXPECT_FALSE(info->namespacedPath);
  EXPECT_EQ(info->name, "");
  auto inNs = parseRequestPath("/api/v1/namespaces/acme/secrets");
  EXPECT_EQ(inNs->ns, "acme");
  EXPECT_EQ(inNs->resource, "secrets");
  EXPECT_EQ(inNs->name, "");
}

TEST(RequestInfoTest, NamespaceObjectsThemselves) {
  auto list = parseRequestPath("/api/v1/namespaces");
  EXPECT_EQ(list->resource, "namespaces");
  EXPECT_EQ(list->name, "");
  auto one = parseRequestPath("/api/v1/namespaces/acme");
  EXPECT_EQ(one->resource, "namespaces");
  EXPECT_EQ(one->name, "acme");
  EXPECT_FALSE(one->namespacedPath);
  auto status = parseRequestPath("/api/v1/namespaces/acme/status");
  EXPECT_EQ(status->resource, "namespaces");
  EXPECT_EQ(status->name, "acme");
  EXPECT_EQ(status->subresource, "status");
  auto finalize = parseRequestPath("/api/v1/namespaces/acme/finalize");
  EXPECT_EQ(finalize->subresource, "finalize");
}

TEST(RequestInfoTest, TooManySegmentsIsMalformed) {
  EXPECT_FALSE(parseRequestPath("/api/v1/namespaces/a/secrets/s/status/extra"));
}

}  // namespace
}  // namespace billing::apiserver
