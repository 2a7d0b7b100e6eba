// The OpenAPI documents: what kubectl 1.32 reads from /openapi/v3 for `explain` and for
// deciding whether the server validates fields itself, and the Swagger 2.0 fallback.
#include "tests/apiserver/openapi.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/yaml.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/apiserver/crd_schema.h"

namespace billing::apiserver {
namespace {

using ::testing::HasSubstr;
using JsonValue = web::json::value;

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

OpenApiResource fromCrd(const std::string& file) {
  const auto path = std::filesystem::path(BILLING_SOURCE_DIR) / "crds" / file;
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto documents = common::parseYamlDocuments(buffer.str());
  EXPECT_TRUE(documents.has_value());
  auto crd = parseCrd(documents->front().value);
  EXPECT_TRUE(crd.has_value());
  OpenApiResource resource;
  resource.group = crd->group;
  resource.version = crd->storageVersion()->name;
  resource.kind = crd->names.kind;
  resource.listKind = crd->names.listKind;
  resource.plural = crd->names.plural;
  resource.namespaced = crd->namespaced();
  resource.verbs = kAllVerbs;
  resource.statusSubresource = crd->storageVersion()->statusSubresource;
  resource.schema = crd->storageVersion()->schema;
  return resource;
}

std::vector<OpenApiResource> serverResources() {
  std::vector<OpenApiResource> resources = {fromCrd("billing.operator.dev_billinggroups.yaml"),
                                            fromCrd("billing.operator.dev_projects.yaml"),
                                            fromCrd("billing.operator.dev_invoices.yaml")};
  OpenApiResource namespaces;
  namespaces.version = "v1";
  namespaces.kind = "Namespace";
  namespaces.plural = "namespaces";
  namespaces.namespaced = false;
  namespaces.verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  namespaces.statusSubresource = true;
  resources.push_back(namespaces);
  OpenApiResource deployments;
  deployments.group = "apps";
  deployments.version = "v1";
  deployments.kind = "Deployment";
  deployments.plural = "deployments";
  deployments.verbs = kAllVerbs;
  resources.push_back(deployments);
  return resources;
}

const OpenApiDocuments& documents() {
  static const OpenApiDocuments built = buildOpenApiDocuments(serverResources());
  return built;
}

const JsonValue& billingDocument() {
  return documents().groupVersions.at("apis/billing.operator.dev/v1alpha1");
}

// Every "$ref" in `node`, with `prefix` stripped.
void collectRefs(const JsonValue& node, const std::string& prefix, std::vector<std::string>& out) {
  if (node.is_array()) {
    for (const auto& element : node.as_array()) collectRefs(element, prefix, out);
  } else if (node.is_object()) {
    for (const auto& [key, value] : node.as_object()) {
      if (key == "$ref" && value.is_string()) {
        const auto& target = value.as_string();
        out.push_back(target.starts_with(prefix) ? target.substr(prefix.size()) : "!" + target);
      } else {
        collectRefs(value, prefix, out);
      }
    }
  }
}

bool hasGvk(const JsonValue& extension, const std::string& group, const std::string& version,
            const std::string& kind) {
  auto matches = [&](const JsonValue& gvk) {
    return gvk.is_object() && gvk.has_field("group") && gvk.at("group").as_string() == group &&
           gvk.at("version").as_string() == version && gvk.at("kind").as_string() == kind;
  };
  if (extension.is_array()) {
    for (const auto& entry : extension.as_array()) {
      if (matches(entry)) return true;
    }
    return false;
  }
  return matches(extension);
}

// kubectl explain's lookup: the GVK of the resource's path operations, then the component
// schema carrying that GVK.
std::string explainSchemaName(const JsonValue& document, const std::string& pathPrefix,
                              const std::string& plural) {
  std::string kind;
  std::string group;
  std::string version;
  for (const auto& [path, item] : document.at("paths").as_object()) {
    if (!path.starts_with(pathPrefix) || !path.ends_with("/" + plural)) continue;
    for (const auto& [method, operation] : item.as_object()) {
      if (operation.is_object() && operation.has_field("x-kubernetes-group-version-kind")) {
        const auto& gvk = operation.at("x-kubernetes-group-version-kind");
        kind = gvk.at("kind").as_string();
        group = gvk.at("group").as_string();
        version = gvk.at("version").as_string();
      }
    }
  }
  for (const auto& [name, schema] : document.at("components").at("schemas").as_object()) {
    if (schema.has_field("x-kubernetes-group-version-kind") &&
        hasGvk(schema.at("x-kubernetes-group-version-kind"), group, version, kind)) {
      return name;
    }
  }
  return {};
}

// What kubectl's QueryParamVerifierV3 checks before sending ?fieldValidation=Strict.
bool supportsFieldValidation(const JsonValue& document, const std::string& group,
                             const std::string& version, const std::string& kind) {
  for (const auto& [path, item] : document.at("paths").as_object()) {
    if (!item.has_field("patch")) continue;
    const auto& patch = item.at("patch");
    if (!hasGvk(patch.at("x-kubernetes-group-version-kind"), group, version, kind)) continue;
    for (const auto& parameter : patch.at("parameters").as_array()) {
      if (parameter.at("name").as_string() == "fieldValidation" &&
          parameter.at("in").as_string() == "query") {
        return true;
      }
    }
    return false;
  }
  return false;
}

TEST(OpenApiDiscovery, ListsEveryGroupVersionWithAHashedUrl) {
  const auto& paths = documents().discovery.at("paths");
  ASSERT_TRUE(paths.has_field("apis/billing.operator.dev/v1alpha1"));
  ASSERT_TRUE(paths.has_field("api/v1"));
  ASSERT_TRUE(paths.has_field("apis/apps/v1"));
  const auto url =
      paths.at("apis/billing.operator.dev/v1alpha1").at("serverRelativeURL").as_string();
  const std::string prefix = "/openapi/v3/apis/billing.operator.dev/v1alpha1?hash=";
  ASSERT_TRUE(url.starts_with(prefix)) << url;
  const auto hash = url.substr(prefix.size());
  EXPECT_EQ(hash.size(), 128u);
  EXPECT_EQ(hash, documents().hashes.at("apis/billing.operator.dev/v1alpha1"));
  EXPECT_EQ(hash, sha512Hex(common::toJson(billingDocument())));
}

TEST(OpenApiDiscovery, HashChangesWithTheSchema) {
  auto resources = serverResources();
  auto before = buildOpenApiDocuments(resources).hashes.at("apis/billing.operator.dev/v1alpha1");
  (*resources[0].schema)["properties"]["spec"]["description"] = JsonValue::string("changed");
  auto after = buildOpenApiDocuments(resources).hashes.at("apis/billing.operator.dev/v1alpha1");
  EXPECT_NE(before, after);
  EXPECT_EQ(
      before,
      buildOpenApiDocuments(serverResources()).hashes.at("apis/billing.operator.dev/v1alpha1"));
}

TEST(OpenApiDiscovery, Sha512KnownAnswers) {
  EXPECT_EQ(sha512Hex("abc"),
            "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A2192992A274FC1A836BA"
            "3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F");
  EXPECT_EQ(sha512Hex(""),
            "CF83E1357EEFB8BDF1542850D66D8007D620E4050B5715DC83F4A921D36CE9CE47D0D13C5D85F2B0FF83"
            "18D2877EEC2F63B931BD47417A81A538327AF927DA3E");
  EXPECT_EQ(sha512Hex(std::string(1000, 'a')).substr(0, 16), "67BA5535A46E3F86");
}

TEST(OpenApiGroupVersion, KindsCarryTheirGroupVersionKind) {
  const auto& schemas = billingDocument().at("components").at("schemas");
  for (const auto& [kind, list] :
       std::vector<std::pair<std::string, std::string>>{{"BillingGroup", "BillingGroupList"},
                                                        {"Project", "ProjectList"},
                                                        {"Invoice", "InvoiceList"}}) {
    SCOPED_TRACE(kind);
    const auto name = "dev.operator.billing.v1alpha1." + kind;
    ASSERT_TRUE(schemas.has_field(name));
    EXPECT_TRUE(hasGvk(schemas.at(name).at("x-kubernetes-group-version-kind"),
                       "billing.operator.dev", "v1alpha1", kind));
    const auto listName = "dev.operator.billing.v1alpha1." + list;
    ASSERT_TRUE(schemas.has_field(listName));
    EXPECT_TRUE(hasGvk(schemas.at(listName).at("x-kubernetes-group-version-kind"),
                       "billing.operator.dev", "v1alpha1", list));
    EXPECT_EQ(schemas.at(listName).at("properties").at("items").at("items").at("$ref").as_string(),
              "#/components/schemas/" + name);
  }
  EXPECT_TRUE(schemas.has_field("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
  EXPECT_TRUE(schemas.has_field("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"));
}

TEST(OpenApiGroupVersion, EveryReferenceResolves) {
  for (const auto& [path, document] : documents().groupVersions) {
    SCOPED_TRACE(path);
    std::vector<std::string> refs;
    collectRefs(document, "#/components/schemas/", refs);
    EXPECT_FALSE(refs.empty());
    for (const auto& name : refs) {
      EXPECT_TRUE(document.at("components").at("schemas").has_field(name)) << name;
    }
  }
}

TEST(OpenApiGroupVersion, ExplainFindsTheKindAndItsFields) {
  const auto& document = billingDocument();
  const auto name =
      explainSchemaName(document, "/apis/billing.operator.dev/v1alpha1", "billinggroups");
  ASSERT_EQ(name, "dev.operator.billing.v1alpha1.BillingGroup");
  const auto& schema = document.at("components").at("schemas").at(name);
  EXPECT_THAT(schema.at("description").as_string(), HasSubstr("shared billing profile"));
  const auto& spec = schema.at("properties").at("spec");
  EXPECT_THAT(spec.at("properties").at("currency").at("description").as_string(),
              HasSubstr("ISO 4217"));
  EXPECT_EQ(spec.at("properties").at("scope").at("default").as_string(), "Organization");
  // metadata points to ObjectMeta the way kube publishes it in v3.
  const auto& metadata = schema.at("properties").at("metadata");
  EXPECT_EQ(metadata.at("allOf").at(0).at("$ref").as_string(),
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  EXPECT_THAT(metadata.at("description").as_string(), HasSubstr("Standard object's metadata"));
  EXPECT_EQ(schema.at("properties").at("kind").at("type").as_string(), "string");

  const auto& core = documents().groupVersions.at("api/v1");
  EXPECT_EQ(explainSchemaName(core, "/api/v1", "namespaces"), "io.k8s.api.core.v1.Namespace");
  const auto& apps = documents().groupVersions.at("apis/apps/v1");
  EXPECT_EQ(explainSchemaName(apps, "/apis/apps/v1", "deployments"),
            "io.k8s.api.apps.v1.Deployment");
}

TEST(OpenApiGroupVersion, BuiltinKindsWithoutSchemaArePermissive) {
  const auto& schema = documents()
                           .groupVersions.at("api/v1")
                           .at("components")
                           .at("schemas")
                           .at("io.k8s.api.core.v1.Namespace");
  EXPECT_EQ(schema.at("type").as_string(), "object");
  EXPECT_TRUE(schema.at("x-kubernetes-preserve-unknown-fields").as_bool());
  EXPECT_TRUE(schema.at("properties").has_field("metadata"));
  EXPECT_TRUE(hasGvk(schema.at("x-kubernetes-group-version-kind"), "", "v1", "Namespace"));
}

TEST(OpenApiGroupVersion, ResourcePathsAndOperations) {
  const auto& paths = billingDocument().at("paths");
  const std::string item =
      "/apis/billing.operator.dev/v1alpha1/namespaces/{namespace}/billinggroups/{name}";
  ASSERT_TRUE(paths.has_field(item));
  ASSERT_TRUE(paths.has_field("/apis/billing.operator.dev/v1alpha1/billinggroups"));
  ASSERT_TRUE(paths.has_field(item + "/status"));
  EXPECT_EQ(paths.at(item).at("get").at("x-kubernetes-action").as_string(), "get");
  EXPECT_EQ(paths.at(item)
                .at("get")
                .at("responses")
                .at("200")
                .at("content")
                .at("application/json")
                .at("schema")
                .at("$ref")
                .as_string(),
            "#/components/schemas/dev.operator.billing.v1alpha1.BillingGroup");
  EXPECT_EQ(paths.at("/apis/billing.operator.dev/v1alpha1/billinggroups")
                .at("get")
                .at("operationId")
                .as_string(),
            "listBillingOperatorDevV1alpha1BillingGroupForAllNamespaces");
  EXPECT_TRUE(supportsFieldValidation(billingDocument(), "billing.operator.dev", "v1alpha1",
                                      "BillingGroup"));
  EXPECT_TRUE(
      supportsFieldValidation(documents().groupVersions.at("api/v1"), "", "v1", "Namespace"));
  // Cluster-scoped kinds have no namespace segment.
  EXPECT_TRUE(
      documents().groupVersions.at("api/v1").at("paths").has_field("/api/v1/namespaces/{name}"));
}

TEST(OpenApiV2, SameDefinitionNamesWithPlainReferences) {
  const auto& v2 = documents().v2;
  EXPECT_EQ(v2.at("swagger").as_string(), "2.0");
  const auto& definitions = v2.at("definitions");
  ASSERT_TRUE(definitions.has_field("dev.operator.billing.v1alpha1.BillingGroup"));
  EXPECT_TRUE(hasGvk(definitions.at("dev.operator.billing.v1alpha1.BillingGroup")
                         .at("x-kubernetes-group-version-kind"),
                     "billing.operator.dev", "v1alpha1", "BillingGroup"));
  std::vector<std::string> refs;
  collectRefs(v2, "#/definitions/", refs);
  for (const auto& name : refs) EXPECT_TRUE(definitions.has_field(name)) << name;
  const auto text = common::toJson(v2);
  EXPECT_EQ(text.find("\"allOf\""), std::string::npos);
  // v2 drops value validations, as kube publishes CRDs in v2.
  const auto& currency = definitions.at("dev.operator.billing.v1alpha1.BillingGroup")
                             .at("properties")
                             .at("spec")
                             .at("properties")
                             .at("currency");
  EXPECT_FALSE(currency.has_field("pattern"));
  EXPECT_EQ(currency.at("type").as_string(), "string");
  EXPECT_TRUE(v2.at("paths").has_field(
      "/apis/billing.operator.dev/v1alpha1/namespaces/{namespace}/billinggroups"));
}

TEST(OpenApiNames, DefinitionNamesFollowKube) {
  EXPECT_EQ(openApiDefinitionName("", "v1", "ConfigMap"), "io.k8s.api.core.v1.ConfigMap");
  EXPECT_EQ(openApiDefinitionName("apps", "v1", "Deployment"), "io.k8s.api.apps.v1.Deployment");
  EXPECT_EQ(openApiDefinitionName("rbac.authorization.k8s.io", "v1", "Role"),
            "io.k8s.api.rbac.v1.Role");
  EXPECT_EQ(openApiDefinitionName("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition");
  EXPECT_EQ(openApiDefinitionName("billing.operator.dev", "v1alpha1", "BillingGroup"),
            "dev.operator.billing.v1alpha1.BillingGroup");
  EXPECT_EQ(openApiGroupVersionPath("", "v1"), "api/v1");
  EXPECT_EQ(openApiGroupVersionPath("apps", "v1"), "apis/apps/v1");
}

}  // namespace
}  // namespace billing::apiserver
