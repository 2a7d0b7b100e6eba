// ledger/openapi.yaml is the contract other billing systems implement: it must describe exactly
// the routes billing-ledger serves, and be internally consistent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/yaml.h"
#include "ledger/http_api.h"

namespace billing::ledger {
namespace {

using web::json::value;

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(BILLING_SOURCE_DIR) + "/ledger/openapi.yaml");
    ASSERT_TRUE(in) << "cannot read ledger/openapi.yaml";
    std::stringstream text;
    text << in.rdbuf();
    auto documents = common::parseYamlDocuments(text.str());
    ASSERT_TRUE(documents) << "openapi.yaml:" << documents.error().line << ": "
                           << documents.error().message;
    ASSERT_EQ(documents->size(), 1u);
    doc_ = documents->front().value;
    ASSERT_TRUE(doc_.is_object());
  }

  std::set<std::string> documentedRoutes() const {
    std::set<std::string> routes;
    for (const auto& [path, item] : doc_.at("paths").as_object()) {
      for (const auto& [method, operation] : item.as_object()) {
        if (method == "parameters") continue;
        std::string upper = method;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        routes.insert(upper + " " + path);
      }
    }
    return routes;
  }

  value doc_;
};

TEST_F(OpenApiTest, IsAnOpenApi3Document) {
  ASSERT_TRUE(doc_.has_field("openapi"));
  EXPECT_THAT(doc_.at("openapi").as_string(), ::testing::StartsWith("3.0."));
  EXPECT_TRUE(doc_.at("info").has_field("title"));
  EXPECT_TRUE(doc_.at("components").at("securitySchemes").has_field("bearerAuth"));
}

TEST_F(OpenApiTest, DescribesExactlyTheRoutesTheLedgerServes) {
  std::set<std::string> served;
  for (const RouteInfo& route : HttpApi::routes()) {
    served.insert(std::string(route.method) + " " + std::string(route.path));
  }
  const std::set<std::string> documented = documentedRoutes();
  for (const std::string& route : served) {
    EXPECT_TRUE(documented.contains(route)) << route << " is served but not in openapi.yaml";
  }
  for (const std::string& route : documented) {
    EXPECT_TRUE(served.contains(route)) << route << " is in openapi.yaml but not served";
  }
  EXPECT_EQ(served.size(), HttpApi::routes().size()) << "a route is registered twice";
}

TEST_F(OpenApiTest, OperationsHaveUniqueIdsResponsesAndDeclaredPathParameters) {
  std::set<std::string> ids;
  const value& parameters = doc_.at("components").at("parameters");
  const auto parameterName = [&](const value& parameter) {
    if (parameter.has_field("$ref")) {
      const std::string ref = parameter.at("$ref").as_string();
      return parameters.at(ref.substr(ref.rfind('/') + 1)).at("name").as_string();
    }
    return parameter.at("name").as_string();
  };
  for (const auto& [path, item] : doc_.at("paths").as_object()) {
    std::set<std::string> declared;
    if (item.has_field("parameters")) {
      for (const value& parameter : item.at("parameters").as_array()) {
        declared.insert(parameterName(parameter));
      }
    }
    for (const auto& [method, operation] : item.as_object()) {
      if (method == "parameters") continue;
      const std::string where = method + " " + path;
      ASSERT_TRUE(operation.has_field("operationId")) << where;
      EXPECT_TRUE(ids.insert(operation.at("operationId").as_string()).second)
          << "duplicate operationId in " << where;
      ASSERT_TRUE(operation.has_field("responses")) << where;
      EXPECT_GT(operation.at("responses").size(), 0u) << where;
      std::set<std::string> all = declared;
      if (operation.has_field("parameters")) {
        for (const value& parameter : operation.at("parameters").as_array()) {
          all.insert(parameterName(parameter));
        }
      }
      for (std::size_t open = path.find('{'); open != std::string::npos;
           open = path.find('{', open + 1)) {
        const std::string name = path.substr(open + 1, path.find('}', open) - open - 1);
        EXPECT_TRUE(all.contains(name)) << where << " does not declare path parameter " << name;
      }
    }
  }
}

void collectRefs(const value& node, std::vector<std::string>& refs) {
  if (node.is_object()) {
    for (const auto& [key, member] : node.as_object()) {
      if (key == "$ref" && member.is_string()) refs.push_back(member.as_string());
      collectRefs(member, refs);
    }
  } else if (node.is_array()) {
    for (const value& element : node.as_array()) collectRefs(element, refs);
  }
}

TEST_F(OpenApiTest, EveryReferenceResolves) {
  std::vector<std::string> refs;
  collectRefs(doc_, refs);
  ASSERT_FALSE(refs.empty());
  for (const std::string& ref : refs) {
    ASSERT_TRUE(ref.starts_with("#/")) << ref;
    const value* node = &doc_;
    std::size_t begin = 2;
    while (begin <= ref.size()) {
      std::size_t end = ref.find('/', begin);
      if (end == std::string::npos) end = ref.size();
      const std::string key = ref.substr(begin, end - begin);
      ASSERT_TRUE(node->is_object() && node->has_field(key)) << ref << " does not resolve";
      node = &node->at(key);
      begin = end + 1;
    }
  }
}

TEST_F(OpenApiTest, InputSchemasRejectUnknownFieldsAsTheLedgerDoes) {
  for (const auto& [name, schema] : doc_.at("components").at("schemas").as_object()) {
    if (!name.ends_with("Input")) continue;
    ASSERT_TRUE(schema.has_field("additionalProperties")) << name;
    EXPECT_FALSE(schema.at("additionalProperties").as_bool()) << name;
  }
}

}  // namespace
}  // namespace billing::ledger
