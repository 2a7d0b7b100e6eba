// The CRD schema machinery against kube-apiserver 1.32's behaviour and wording: the repository's
// real CRDs, invalid custom objects with the exact messages kubectl prints, defaulting, pruning
// and the unknown-field reports behind ?fieldValidation, and invalid CRDs.
#include "tests/apiserver/crd_schema.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/yaml.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/apiserver/crd_field_errors.h"
#include "tests/apiserver/crd_pruning.h"
#include "tests/apiserver/crd_validation.h"
#include "tests/apiserver/go_text.h"

namespace billing::apiserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using JsonValue = web::json::value;

JsonValue json(const std::string& text) {
  auto parsed = common::parseJson(text);
  EXPECT_TRUE(parsed.has_value()) << parsed.error() << "\n" << text;
  return parsed ? *parsed : JsonValue::null();
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

JsonValue loadCrd(const std::string& file) {
  const auto path = std::filesystem::path(BILLING_SOURCE_DIR) / "crds" / file;
  auto documents = common::parseYamlDocuments(readFile(path));
  EXPECT_TRUE(documents.has_value()) << path;
  if (!documents || documents->empty()) return JsonValue::null();
  return documents->front().value;
}

CrdDescription parsed(const std::string& file) {
  auto description = parseCrd(loadCrd(file));
  EXPECT_TRUE(description.has_value());
  return description ? *description : CrdDescription{};
}

const JsonValue& billingGroupSchema() {
  static const JsonValue schema =
      parsed("billing.operator.dev_billinggroups.yaml").versions.at(0).schema;
  return schema;
}

const JsonValue& projectSchema() {
  static const JsonValue schema =
      parsed("billing.operator.dev_projects.yaml").versions.at(0).schema;
  return schema;
}

std::vector<std::string> messages(const FieldErrors& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors) out.push_back(error.message());
  return out;
}

// ---- the repository's CRDs ----

TEST(CrdSchemaRepositoryCrds, EveryCrdParsesAndPassesStructuralValidation) {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(BILLING_SOURCE_DIR) / "crds")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().filename().string());
  }
  ASSERT_EQ(files.size(), 3u);
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    auto crd = loadCrd(file);
    auto defaulted = crd;
    defaultCrd(defaulted);
    EXPECT_THAT(messages(validateCrd(defaulted)), ::testing::IsEmpty());
    auto description = parseCrd(crd);
    ASSERT_TRUE(description.has_value());
    EXPECT_EQ(description->group, "billing.operator.dev");
    EXPECT_EQ(description->name, description->names.plural + ".billing.operator.dev");
    EXPECT_TRUE(description->namespaced());
    ASSERT_NE(description->storageVersion(), nullptr);
    EXPECT_EQ(description->storageVersion()->name, "v1alpha1");
    EXPECT_TRUE(description->storageVersion()->statusSubresource);
    EXPECT_TRUE(description->storageVersion()->schema.is_object());
    EXPECT_FALSE(description->storageVersion()->printerColumns.empty());
  }
}

TEST(CrdSchemaRepositoryCrds, BillingGroupDescriptionCarriesNamesAndColumns) {
  auto description = parsed("billing.operator.dev_billinggroups.yaml");
  EXPECT_EQ(description.names.kind, "BillingGroup");
  EXPECT_EQ(description.names.listKind, "BillingGroupList");
  EXPECT_EQ(description.names.singular, "billinggroup");
  EXPECT_THAT(description.names.shortNames, ElementsAre("bg"));
  EXPECT_THAT(description.names.categories, ElementsAre("billing"));
  const auto* version = description.findVersion("v1alpha1");
  ASSERT_NE(version, nullptr);
  EXPECT_TRUE(version->served);
  ASSERT_EQ(version->printerColumns.size(), 7u);
  EXPECT_EQ(version->printerColumns[3].name, "Currency");
  EXPECT_EQ(version->printerColumns[3].priority, 1);
  EXPECT_EQ(version->printerColumns[5].jsonPath, ".status.conditions[?(@.type==\"Ready\")].status");
  EXPECT_EQ(description.findVersion("v1"), nullptr);
}

TEST(CrdSchemaRepositoryCrds, DefaultingFillsSingularAndListKind) {
  auto crd = loadCrd("billing.operator.dev_projects.yaml");
  crd["spec"]["names"].erase("singular");
  crd["spec"]["names"].erase("listKind");
  defaultCrd(crd);
  EXPECT_EQ(crd["spec"]["names"]["singular"].as_string(), "project");
  EXPECT_EQ(crd["spec"]["names"]["listKind"].as_string(), "ProjectList");
  EXPECT_EQ(crd["spec"]["conversion"]["strategy"].as_string(), "None");
}

// ---- invalid custom objects: the messages kubectl shows ----

struct InvalidObjectCase {
  std::string name;
  std::string spec;  // the BillingGroup's spec, as JSON
  std::string status = "null";
  std::vector<std::string> expected;
  std::string reason;  // of the first cause
};

JsonValue billingGroup(const std::string& spec, const std::string& status = "null") {
  auto object = json(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",
                         "metadata":{"name":"shared","namespace":"acme"}})");
  object["spec"] = json(spec);
  if (status != "null") object["status"] = json(status);
  return object;
}

const ObjectTarget kBillingGroupTarget{"billing.operator.dev", "v1alpha1", "BillingGroup", true};

std::string emails(int count) {
  std::string out = "[";
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ",";
    out += "\"billing" + std::to_string(i) + "@example.com\"";
  }
  return out + "]";
}

class CrdSchemaInvalidObject : public ::testing::TestWithParam<InvalidObjectCase> {};

TEST_P(CrdSchemaInvalidObject, ReportsKubernetesMessage) {
  const auto& param = GetParam();
  auto errors = validateCustomObject(billingGroup(param.spec, param.status), billingGroupSchema(),
                                     kBillingGroupTarget);
  EXPECT_EQ(messages(errors), param.expected);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.front().reason(), param.reason);
}

INSTANTIATE_TEST_SUITE_P(
    CrdSchemaMessages, CrdSchemaInvalidObject,
    ::testing::Values(
        InvalidObjectCase{
            "EnumValue",
            R"({"currency":"EUR","scope":"Team"})",
            "null",
            {R"(spec.scope: Unsupported value: "Team": supported values: "Organization", "Project")"},
            "FieldValueNotSupported"},
        InvalidObjectCase{
            "Pattern",
            R"({"currency":"eur"})",
            "null",
            {R"(spec.currency: Invalid value: "eur": spec.currency in body should match '^[A-Z]{3}$')"},
            "FieldValueInvalid"},
        InvalidObjectCase{"RequiredField",
                          R"({"displayName":"ACME"})",
                          "null",
                          {"spec.currency: Required value"},
                          "FieldValueRequired"},
        InvalidObjectCase{
            "WrongType",
            R"({"currency":"EUR","billingEmails":"ops@example.com"})",
            "null",
            {R"(spec.billingEmails: Invalid value: "string": spec.billingEmails in body must be of type array: "string")"},
            "FieldValueTypeInvalid"},
        InvalidObjectCase{
            "ObjectGivenAString",
            R"("EUR")",
            "null",
            {R"(spec: Invalid value: "string": spec in body must be of type object: "string")"},
            "FieldValueTypeInvalid"},
        InvalidObjectCase{"TooLong",
                          R"({"currency":"EUR","displayName":")" + std::string(257, 'x') + R"("})",
                          "null",
                          {"spec.displayName: Too long: may not be more than 256 bytes"},
                          "FieldValueTooLong"},
        InvalidObjectCase{"TooManyItems",
                          R"({"currency":"EUR","billingEmails":)" + emails(21) + "}",
                          "null",
                          {"spec.billingEmails: Too many: 21: must have at most 20 items"},
                          "FieldValueTooMany"},
        InvalidObjectCase{
            "SetDuplicate",
            R"({"currency":"EUR","billingEmails":["a@example.com","b@example.com","a@example.com"]})",
            "null",
            {R"(spec.billingEmails[2]: Duplicate value: "a@example.com")"},
            "FieldValueDuplicate"},
        InvalidObjectCase{
            "MapListDuplicateKey",
            R"({"currency":"EUR","credits":[{"id":"promo","amount":"1"},{"id":"promo","amount":"2"}]})",
            "null",
            {R"(spec.credits[1]: Duplicate value: map[string]interface {}{"id":"promo"})"},
            "FieldValueDuplicate"},
        InvalidObjectCase{
            "MapListDuplicateOfTwoKeys",
            R"({"currency":"EUR"})",
            R"({"projects":[{"namespace":"acme","name":"web"},{"namespace":"acme","name":"web"}]})",
            {R"(status.projects[1]: Duplicate value: map[string]interface {}{"name":"web", "namespace":"acme"})"},
            "FieldValueDuplicate"},
        InvalidObjectCase{
            "NullArrayItem",
            R"({"currency":"EUR","billingEmails":[null]})",
            "null",
            {R"(spec.billingEmails[0]: Invalid value: "null": spec.billingEmails[0] in body must be of type string: "null")"},
            "FieldValueTypeInvalid"},
        InvalidObjectCase{
            "EmailFormat",
            R"({"currency":"EUR","billingEmails":["not-an-email"]})",
            "null",
            {R"(spec.billingEmails[0]: Invalid value: "not-an-email": spec.billingEmails[0] in body must be of type email: "not-an-email")"},
            "FieldValueTypeInvalid"},
        InvalidObjectCase{
            "DateTimeFormat",
            R"({"currency":"EUR","credits":[{"id":"promo","amount":"5","expiresAt":"tomorrow"}]})",
            "null",
            {R"(spec.credits[0].expiresAt: Invalid value: "tomorrow": spec.credits[0].expiresAt in body must be of type date-time: "tomorrow")"},
            "FieldValueTypeInvalid"},
        InvalidObjectCase{"RequiredInsideArrayItem",
                          R"({"currency":"EUR","credits":[{"id":"promo"}]})",
                          "null",
                          {"spec.credits[0].amount: Required value"},
                          "FieldValueRequired"},
        InvalidObjectCase{
            "MinLength",
            R"({"currency":"EUR","projectRef":{"name":""}})",
            "null",
            {R"(spec.projectRef.name: Invalid value: "": spec.projectRef.name in body should be at least 1 chars long)"},
            "FieldValueInvalid"},
        InvalidObjectCase{
            "NestedEnum",
            R"({"currency":"EUR","paymentMethod":{"type":"Cash"}})",
            "null",
            {R"(spec.paymentMethod.type: Unsupported value: "Cash": supported values: "Card", "SepaDebit", "AchDebit", "BankTransfer")"},
            "FieldValueNotSupported"},
        InvalidObjectCase{"Minimum",
                          R"({"currency":"EUR"})",
                          R"({"projectCount":-1})",
                          {"status.projectCount: Invalid value: -1: status.projectCount in body "
                           "should be greater than or equal to 0"},
                          "FieldValueInvalid"},
        InvalidObjectCase{
            "FractionIsNotAnInteger",
            R"({"currency":"EUR"})",
            R"({"projectCount":1.5})",
            {R"(status.projectCount: Invalid value: "number": status.projectCount in body must be of type integer: "number")"},
            "FieldValueTypeInvalid"},
        InvalidObjectCase{
            "SeveralErrorsInKubeOrder",
            R"({"scope":"Team","currency":"eur","invoicing":{"period":"Yearly"}})",
            "null",
            {R"(spec.currency: Invalid value: "eur": spec.currency in body should match '^[A-Z]{3}$')",
             R"(spec.invoicing.period: Unsupported value: "Yearly": supported values: "Monthly", "Weekly", "Daily")",
             R"(spec.scope: Unsupported value: "Team": supported values: "Organization", "Project")"},
            "FieldValueInvalid"}),
    [](const ::testing::TestParamInfo<InvalidObjectCase>& testCase) {
      return testCase.param.name;
    });

TEST(CrdSchemaValidation, ValidObjectsPass) {
  EXPECT_THAT(
      messages(validateCustomObject(
          billingGroup(
              R"({"currency":"EUR","scope":"Project","projectRef":{"name":"web"},
                                   "billingEmails":["Accounts <ap@example.com>","ops@example.com"],
                                   "credits":[{"id":"promo-2024","amount":"125.50",
                                               "expiresAt":"2025-01-01T00:00:00Z"}]})",
              R"({"projectCount":2.0,"currentPeriod":{"start":"2024-03-01T00:00:00+01:00"}})"),
          billingGroupSchema(), kBillingGroupTarget)),
      ::testing::IsEmpty());
}

TEST(CrdSchemaValidation, MaxLengthCountsCharactersNotBytes) {
  std::string twoByteCharacters;
  for (int i = 0; i < 256; ++i) twoByteCharacters += "\xC3\xA9";  // é
  auto errors = validateCustomObject(
      billingGroup(R"({"currency":"EUR","displayName":")" + twoByteCharacters + R"("})"),
      billingGroupSchema(), kBillingGroupTarget);
  EXPECT_THAT(messages(errors), ::testing::IsEmpty());
}

TEST(CrdSchemaValidation, MapValuesAndMapSizeOfProjectTags) {
  const ObjectTarget project{"billing.operator.dev", "v1alpha1", "Project", true};
  auto object = json(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
                         "metadata":{"name":"web","namespace":"acme"},"spec":{"tags":{}}})");
  object["spec"]["tags"]["cost-center"] = JsonValue::string(std::string(257, 'x'));
  EXPECT_THAT(messages(validateCustomObject(object, projectSchema(), project)),
              ElementsAre("spec.tags.cost-center: Too long: may not be more than 256 bytes"));
  for (int i = 0; i < 65; ++i) {
    object["spec"]["tags"]["t" + std::to_string(i)] = JsonValue::string("v");
  }
  EXPECT_THAT(messages(validateCustomObject(object, projectSchema(), project)),
              ElementsAre("spec.tags: Too many: 66: must have at most 64 items"));
}

TEST(CrdSchemaValidation, TypeMetaMustMatchTheResource) {
  auto object = billingGroup(R"({"currency":"EUR"})");
  object["kind"] = JsonValue::string("Project");
  EXPECT_THAT(messages(validateCustomObject(object, billingGroupSchema(), kBillingGroupTarget)),
              ElementsAre(R"(kind: Invalid value: "Project": must be BillingGroup)"));
}

TEST(CrdSchemaValidation, MetadataRules) {
  auto object = billingGroup(R"({"currency":"EUR"})");
  object["metadata"]["name"] = JsonValue::string("Shared_Group");
  object["metadata"]["labels"] =
      json(R"({"billing.operator.dev/organization":"-acme","ok":"yes"})");
  EXPECT_THAT(
      messages(validateCustomObject(object, billingGroupSchema(), kBillingGroupTarget)),
      ElementsAre(
          R"(metadata.name: Invalid value: "Shared_Group": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'))",
          R"(metadata.labels: Invalid value: "-acme": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'))"));

  object["metadata"] = json(R"({"namespace":"acme"})");
  EXPECT_THAT(messages(validateCustomObject(object, billingGroupSchema(), kBillingGroupTarget)),
              ElementsAre("metadata.name: Required value: name or generateName is required"));

  object["metadata"] = json(R"({"name":"shared","namespace":"acme","annotations":{}})");
  object["metadata"]["annotations"]["big"] = JsonValue::string(std::string(256 * 1024, 'a'));
  EXPECT_THAT(messages(validateCustomObject(object, billingGroupSchema(), kBillingGroupTarget)),
              ElementsAre("metadata.annotations: Too long: may not be more than 262144 bytes"));

  object["metadata"] = json(R"({"name":"shared","annotations":{"a/b/c":"x"}})");
  EXPECT_THAT(
      messages(validateCustomObject(object, billingGroupSchema(), kBillingGroupTarget)),
      ElementsAre(
          "metadata.namespace: Required value",
          R"(metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'))"));
}

TEST(CrdSchemaValidation, IntOrStringNullableAndPreserveUnknownFields) {
  auto schema = json(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "port":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string"}]},
      "note":{"type":"string","nullable":true},
      "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}})");
  const ObjectTarget target{"example.com", "v1", "Thing", false};
  auto object = json(R"({"apiVersion":"example.com/v1","kind":"Thing","metadata":{"name":"a"},
                         "spec":{"port":"http","note":null,"free":{"anything":[1,2]}}})");
  EXPECT_THAT(messages(validateCustomObject(object, schema, target)), ::testing::IsEmpty());
  object["spec"]["port"] = JsonValue::number(8080);
  EXPECT_THAT(messages(validateCustomObject(object, schema, target)), ::testing::IsEmpty());
  object["spec"]["port"] = JsonValue::boolean(true);
  auto errors = messages(validateCustomObject(object, schema, target));
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(
      errors.front(),
      R"(spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean")");
}

TEST(CrdSchemaValidation, NumericAndCountBounds) {
  auto schema = json(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "ratio":{"type":"number","exclusiveMinimum":true,"minimum":0,"maximum":1.5},
      "step":{"type":"integer","multipleOf":5,"exclusiveMaximum":true,"maximum":100},
      "hosts":{"type":"array","minItems":1,"items":{"type":"string"}},
      "labels":{"type":"object","minProperties":1,"additionalProperties":{"type":"string"}}}}}})");
  const ObjectTarget target{"example.com", "v1", "Thing", false};
  auto object = json(R"({"apiVersion":"example.com/v1","kind":"Thing","metadata":{"name":"a"},
                         "spec":{"ratio":0,"step":100,"hosts":[],"labels":{}}})");
  EXPECT_THAT(
      messages(validateCustomObject(object, schema, target)),
      ElementsAre("spec.hosts: Invalid value: 0: spec.hosts in body should have at least 1 items",
                  "spec.labels: Invalid value: 0: spec.labels in body should have at least 1 "
                  "properties",
                  "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
                  "spec.step: Invalid value: 100: spec.step in body should be less than 100"));
  object["spec"] = json(R"({"ratio":1.75,"step":7})");
  EXPECT_THAT(
      messages(validateCustomObject(object, schema, target)),
      ElementsAre("spec.ratio: Invalid value: 1.75: spec.ratio in body should be less than or "
                  "equal to 1.5",
                  "spec.step: Invalid value: 7: spec.step in body should be a multiple of 5"));
}

TEST(CrdSchemaValidation, EmbeddedResourceNeedsApiVersionAndKind) {
  auto schema = json(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "template":{"type":"object","x-kubernetes-embedded-resource":true,
                  "x-kubernetes-preserve-unknown-fields":true}}}}})");
  const ObjectTarget target{"example.com", "v1", "Thing", false};
  auto object = json(R"({"apiVersion":"example.com/v1","kind":"Thing","metadata":{"name":"a"},
                         "spec":{"template":{"metadata":{"name":"Bad/Name"}}}})");
  EXPECT_THAT(
      messages(validateCustomObject(object, schema, target)),
      ElementsAre(
          "spec.template.apiVersion: Required value: must not be empty",
          "spec.template.kind: Required value: must not be empty",
          R"(spec.template.metadata.name: Invalid value: "Bad/Name": may not contain '/')"));
}

TEST(CrdSchemaValidation, PatternsFollowGoSemantics) {
  EXPECT_TRUE(goRegexMatch("^[A-Z]{3}$", "EUR"));
  EXPECT_FALSE(goRegexMatch("^[A-Z]{3}$", "EURO"));
  EXPECT_TRUE(goRegexMatch("[0-9]", "abc1"));  // unanchored, as Go's MatchString
  EXPECT_TRUE(goRegexMatch("(?i)^eur$", "EUR"));
  EXPECT_TRUE(goRegexMatch("\\Aab\\z", "ab"));
  EXPECT_EQ(goRegexError("^(?=a)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?=`");
  EXPECT_EQ(goRegexError("(a)\\1"), "error parsing regexp: invalid escape sequence: `\\1`");
  EXPECT_EQ(goRegexError("^[a-z]+$"), std::nullopt);
}

TEST(CrdSchemaValidation, FormatsKubeValidatesAndIgnores) {
  EXPECT_EQ(checkFormat("date-time", "2024-02-29T23:59:59.5Z"), true);
  EXPECT_EQ(checkFormat("date-time", "2023-02-29T00:00:00Z"), false);
  EXPECT_EQ(checkFormat("date-time", "2024-01-01 00:00:00"), false);
  EXPECT_EQ(checkFormat("email", "Name <a.b+c@example.com>"), true);
  EXPECT_EQ(checkFormat("email", "a@@example.com"), false);
  EXPECT_EQ(checkFormat("uuid", "123E4567-E89B-12D3-A456-426614174000"), true);
  EXPECT_EQ(checkFormat("ipv4", "10.0.0.256"), false);
  EXPECT_EQ(checkFormat("ipv6", "fe80::1"), true);
  EXPECT_EQ(checkFormat("cidr", "10.0.0.0/8"), true);
  EXPECT_EQ(checkFormat("byte", "aGVsbG8="), true);
  EXPECT_EQ(checkFormat("duration", "1h30m"), true);
  EXPECT_EQ(checkFormat("int64", "anything"), std::nullopt);
  EXPECT_EQ(checkFormat("k8s-short-name", "anything"), std::nullopt);
}

// ---- the 422 Status ----

TEST(CrdSchemaStatus, InvalidStatusHasKubeShape) {
  auto errors = validateCustomObject(billingGroup(R"({"scope":"Team"})"), billingGroupSchema(),
                                     kBillingGroupTarget);
  auto status = invalidStatus("billing.operator.dev", "BillingGroup", "shared", errors);
  EXPECT_EQ(
      common::toJson(status),
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"BillingGroup.billing.operator.dev \"shared\" is invalid: [spec.scope: Unsupported value: \"Team\": supported values: \"Organization\", \"Project\", spec.currency: Required value]","reason":"Invalid","details":{"name":"shared","group":"billing.operator.dev","kind":"BillingGroup","causes":[{"reason":"FieldValueNotSupported","message":"Unsupported value: \"Team\": supported values: \"Organization\", \"Project\"","field":"spec.scope"},{"reason":"FieldValueRequired","message":"Required value","field":"spec.currency"}]},"code":422})");
}

TEST(CrdSchemaStatus, SingleCauseHasNoBracketsAndDuplicatesCollapse) {
  FieldErrors one = {requiredError("spec.currency")};
  EXPECT_EQ(
      invalidMessage("billing.operator.dev", "BillingGroup", "shared", one),
      R"(BillingGroup.billing.operator.dev "shared" is invalid: spec.currency: Required value)");
  FieldErrors twice = {requiredError("spec.currency"), requiredError("spec.currency")};
  EXPECT_EQ(aggregateMessage(twice), "spec.currency: Required value");
  EXPECT_EQ(invalidMessage("", "Namespace", "x", {}), R"(Namespace "x" is invalid)");
  auto core = invalidStatus("", "Namespace", "x", one);
  EXPECT_FALSE(core["details"].has_field("group"));
}

TEST(CrdSchemaStatus, GoValuePrinting) {
  EXPECT_EQ(gotext::formatFloat(1.5), "1.5");
  EXPECT_EQ(gotext::formatFloat(2), "2");
  EXPECT_EQ(gotext::formatFloat(123456), "123456");
  EXPECT_EQ(gotext::formatFloat(1e6), "1e+06");
  EXPECT_EQ(gotext::formatFloat(0.0001), "0.0001");
  EXPECT_EQ(gotext::formatFloat(0.00001), "1e-05");
  EXPECT_EQ(gotext::quote("a\"b\\c\n\x01"), R"("a\"b\\c\n\x01")");
  EXPECT_EQ(gotext::quote("\xC3\xA9t\xC3\xA9"), "\"\xC3\xA9t\xC3\xA9\"");
  EXPECT_EQ(gotext::quote("\xFF"), R"("\xff")");
  EXPECT_EQ(goErrorValue(json(R"({"b":[1,"x",null],"a":true})")),
            R"(map[string]interface {}{"a":true, "b":[]interface {}{1, "x", interface {}(nil)}})");
  EXPECT_EQ(goErrorValue(JsonValue::null()), "\"null\"");
}

// ---- defaulting ----

TEST(CrdSchemaDefaulting, ScopeAndInvoicingPeriodAreDefaulted) {
  auto decoded = decodeCustomResource(billingGroup(R"({"currency":"EUR"})"), billingGroupSchema());
  ASSERT_TRUE(decoded.has_value()) << decoded.error();
  EXPECT_EQ(decoded->object["spec"]["scope"].as_string(), "Organization");
  EXPECT_TRUE(
      common::jsonEqual(decoded->object["spec"]["invoicing"], json(R"({"period":"Monthly"})")));
  EXPECT_FALSE(decoded->object["spec"].has_field("projectRef"));
  EXPECT_TRUE(decoded->unknownFields.empty());
}

TEST(CrdSchemaDefaulting, EmptyInvoicingGetsPeriodAndExplicitValuesStay) {
  auto decoded = decodeCustomResource(
      billingGroup(R"({"currency":"EUR","scope":"Project","invoicing":{}})"), billingGroupSchema());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->object["spec"]["scope"].as_string(), "Project");
  EXPECT_EQ(decoded->object["spec"]["invoicing"]["period"].as_string(), "Monthly");
  decoded = decodeCustomResource(
      billingGroup(R"({"currency":"EUR","invoicing":{"period":"Weekly"}})"), billingGroupSchema());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->object["spec"]["invoicing"]["period"].as_string(), "Weekly");
}

TEST(CrdSchemaDefaulting, NestedDefaultsNeedTheirParentAndReachItemsAndMaps) {
  auto schema = json(R"({"type":"object","properties":{"spec":{"type":"object","properties":{
      "absent":{"type":"object","properties":{"inner":{"type":"string","default":"x"}}},
      "items":{"type":"array","items":{"type":"object","properties":{
          "weight":{"type":"integer","default":1}}}},
      "limits":{"type":"object","additionalProperties":{"type":"object","properties":{
          "max":{"type":"integer","default":10}}}},
      "mode":{"type":"string","default":"auto"},
      "dropped":{"type":"string"}}}}})");
  auto object = json(R"({"spec":{"items":[{},{"weight":5}],"limits":{"cpu":{}},
                                 "mode":null,"dropped":null}})");
  pruneNonNullableNulls(object, schema);
  applyDefaults(object, schema);
  EXPECT_TRUE(common::jsonEqual(
      object, json(R"({"spec":{"items":[{"weight":1},{"weight":5}],"limits":{"cpu":{"max":10}},
                               "mode":"auto"}})")))
      << common::toJson(object);
}

// ---- pruning and unknown fields ----

TEST(CrdSchemaPruning, UnknownFieldsArePrunedAndReported) {
  auto body = billingGroup(R"({"currency":"EUR","colour":"blue",
                               "credits":[{"id":"a","amount":"1","note":"x"}]})");
  body["metadata"]["foo"] = JsonValue::string("bar");
  body["extra"] = JsonValue::number(1);
  auto decoded = decodeCustomResource(body, billingGroupSchema());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_THAT(decoded->unknownFields,
              ElementsAre("metadata.foo", "extra", "spec.colour", "spec.credits[0].note"));
  EXPECT_FALSE(decoded->object.has_field("extra"));
  EXPECT_FALSE(decoded->object["spec"].has_field("colour"));
  EXPECT_FALSE(decoded->object["spec"]["credits"][0].has_field("note"));
  EXPECT_FALSE(decoded->object["metadata"].has_field("foo"));
  EXPECT_EQ(decoded->object["apiVersion"].as_string(), "billing.operator.dev/v1alpha1");
  EXPECT_EQ(decoded->object["kind"].as_string(), "BillingGroup");
  EXPECT_EQ(decoded->object["metadata"]["name"].as_string(), "shared");
  EXPECT_TRUE(decoded->object["metadata"]["creationTimestamp"].is_null());

  EXPECT_EQ(
      strictDecodingMessage("BillingGroup", "v1alpha1", {"spec.colour", "spec.size"}),
      R"(BillingGroup in version "v1alpha1" cannot be handled as a BillingGroup: strict decoding error: unknown field "spec.colour", unknown field "spec.size")");
  EXPECT_THAT(unknownFieldWarnings({"spec.colour"}), ElementsAre(R"(unknown field "spec.colour")"));
}

TEST(CrdSchemaPruning, PreserveUnknownFieldsKeepsButStillPrunesKnownChildren) {
  auto schema = json(R"({"type":"object","properties":{"spec":{"type":"object",
      "x-kubernetes-preserve-unknown-fields":true,"properties":{
          "strict":{"type":"object","properties":{"a":{"type":"string"}}}}}}})");
  auto object = json(R"({"apiVersion":"example.com/v1","kind":"Thing","metadata":{"name":"a"},
                         "spec":{"free":{"x":1},"strict":{"a":"1","b":"2"}}})");
  auto pruned = pruneUnknownFields(object, schema);
  EXPECT_THAT(pruned, ElementsAre("spec.strict.b"));
  EXPECT_TRUE(common::jsonEqual(object["spec"], json(R"({"free":{"x":1},"strict":{"a":"1"}})")));

  auto everything = json(R"({"type":"object","x-kubernetes-preserve-unknown-fields":true})");
  auto kept = json(R"({"apiVersion":"v1","kind":"K","anything":{"deep":[1]}})");
  EXPECT_TRUE(pruneUnknownFields(kept, everything).empty());
  EXPECT_TRUE(kept.has_field("anything"));
}

TEST(CrdSchemaPruning, MetadataIsNormalizedAndBadTypesAreDecodeErrors) {
  auto body = billingGroup(R"({"currency":"EUR"})");
  body["metadata"] = json(R"({"name":"shared","namespace":"acme","labels":{},"generation":0,
                              "creationTimestamp":"2024-03-01T01:30:00+01:00","Name":"x"})");
  auto decoded = decodeCustomResource(body, billingGroupSchema());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(
      common::jsonEqual(decoded->object["metadata"], json(R"({"name":"shared","namespace":"acme",
                                         "creationTimestamp":"2024-03-01T00:30:00Z"})")))
      << common::toJson(decoded->object["metadata"]);
  EXPECT_THAT(decoded->unknownFields, ElementsAre("metadata.Name"));

  body["metadata"] = json(R"({"name":"shared","labels":"team=a"})");
  auto failed = decodeCustomResource(body, billingGroupSchema());
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error(),
            "json: cannot unmarshal string into Go struct field ObjectMeta.labels of type "
            "map[string]string");
  EXPECT_EQ(decodeErrorMessage("BillingGroup", "v1alpha1", failed.error()),
            "BillingGroup in version \"v1alpha1\" cannot be handled as a BillingGroup: json: "
            "cannot unmarshal string into Go struct field ObjectMeta.labels of type "
            "map[string]string");
}

// ---- invalid CRDs ----

JsonValue minimalCrd(const std::string& specSchema) {
  auto crd = json(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
      "metadata":{"name":"widgets.example.com"},
      "spec":{"group":"example.com","scope":"Namespaced",
              "names":{"plural":"widgets","kind":"Widget"},
              "versions":[{"name":"v1","served":true,"storage":true,
                           "schema":{"openAPIV3Schema":{"type":"object","properties":{}}}}]}})");
  crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = json(specSchema);
  return crd;
}

std::vector<std::string> crdErrors(const JsonValue& crd) {
  auto result = parseCrd(crd);
  if (result) return {};
  return result.error().kind == CrdRejection::Kind::Invalid
             ? messages(result.error().errors)
             : std::vector<std::string>{result.error().message};
}

TEST(CrdSchemaInvalidCrd, PropertyWithoutTypeIsRejectedAtItsPath) {
  auto crd = minimalCrd(R"({"type":"object","properties":{"x":{"description":"no type"}}})");
  auto result = parseCrd(crd);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), 422);
  EXPECT_THAT(messages(result.error().errors),
              ElementsAre("spec.validation.openAPIV3Schema.properties[spec].properties[x].type: "
                          "Required value: must not be empty for specified object fields"));
  auto status = result.error().status("widgets.example.com");
  EXPECT_EQ(status["message"].as_string(),
            "CustomResourceDefinition.apiextensions.k8s.io \"widgets.example.com\" is invalid: "
            "spec.validation.openAPIV3Schema.properties[spec].properties[x].type: Required value: "
            "must not be empty for specified object fields");
  EXPECT_EQ(status["details"]["causes"][0]["field"].as_string(),
            "spec.validation.openAPIV3Schema.properties[spec].properties[x].type");
}

TEST(CrdSchemaInvalidCrd, DifferentSchemasPerVersionAreCheckedPerVersion) {
  auto crd = minimalCrd(R"({"type":"object"})");
  auto second = crd["spec"]["versions"][0];
  second["name"] = JsonValue::string("v2");
  second["storage"] = JsonValue::boolean(false);
  second["schema"]["openAPIV3Schema"]["properties"]["spec"] =
      json(R"({"type":"object","properties":{"x":{}}})");
  crd["spec"]["versions"][1] = second;
  EXPECT_THAT(crdErrors(crd),
              ElementsAre("spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[x]."
                          "type: Required value: must not be empty for specified object fields"));
}

TEST(CrdSchemaInvalidCrd, NamesStorageAndSchemaRules) {
  auto crd = minimalCrd(R"({"type":"object"})");
  crd["metadata"]["name"] = JsonValue::string("gadgets.example.com");
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre(
          R"(metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group)"));

  crd = minimalCrd(R"({"type":"object"})");
  crd["spec"]["versions"][0]["storage"] = JsonValue::boolean(false);
  auto errors = crdErrors(crd);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0],
              HasSubstr("spec.versions: Invalid value: "
                        "[]apiextensions.CustomResourceDefinitionVersion{apiextensions."
                        "CustomResourceDefinitionVersion{Name:\"v1\", Served:true, Storage:false"));
  EXPECT_THAT(errors[0],
              ::testing::EndsWith(": must have exactly one version marked as storage version"));

  crd = minimalCrd(R"({"type":"object","properties":{"a":{"type":"string"}},
                       "additionalProperties":{"type":"string"}})");
  EXPECT_THAT(crdErrors(crd),
              ElementsAre("spec.validation.openAPIV3Schema.properties[spec].additionalProperties: "
                          "Forbidden: additionalProperties and properties are mutual exclusive"));

  crd = minimalCrd(R"({"type":"array","uniqueItems":true,"items":{"type":"string"}})");
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre(
          "spec.validation.openAPIV3Schema.properties[spec].uniqueItems: Forbidden: uniqueItems "
          "cannot be set to true since the runtime complexity becomes quadratic"));

  crd = minimalCrd(R"({"type":"strng"})");
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre(
          R"(spec.validation.openAPIV3Schema.properties[spec].type: Unsupported value: "strng": supported values: "array", "boolean", "integer", "number", "object", "string")"));

  crd = minimalCrd(R"({"type":"object"})");
  crd["spec"]["scope"] = JsonValue::string("Global");
  crd["spec"]["names"]["kind"] = JsonValue::string("Widget_Thing");
  // singular and listKind are defaulted from the kind, so they are reported too, as by kube.
  const std::string dns1035 =
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
      "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
      "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre(
          R"(spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced")",
          R"(spec.names.singular: Invalid value: "widget_thing": )" + dns1035,
          R"(spec.names.kind: Invalid value: "Widget_Thing": may have mixed case, but should otherwise match: )" +
              dns1035,
          R"(spec.names.listKind: Invalid value: "Widget_ThingList": may have mixed case, but should otherwise match: )" +
              dns1035));
}

TEST(CrdSchemaInvalidCrd, DefaultsMustValidateAndBePruned) {
  auto crd = minimalCrd(R"({"type":"object","properties":{
      "scope":{"type":"string","enum":["Organization","Project"],"default":"Team"},
      "invoicing":{"type":"object","default":{"period":"Monthly","extra":1},
                   "properties":{"period":{"type":"string"}}}}})");
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre(
          R"(spec.validation.openAPIV3Schema.properties[spec].properties[invoicing].default: Invalid value: map[string]interface {}{"extra":1, "period":"Monthly"}: must not have unknown fields)",
          R"(spec.validation.openAPIV3Schema.properties[spec].properties[scope].default: Unsupported value: "Team": supported values: "Organization", "Project")"));
}

TEST(CrdSchemaInvalidCrd, ListMapKeysAndMetadataRestrictions) {
  auto crd = minimalCrd(R"({"type":"array","x-kubernetes-list-type":"map",
      "x-kubernetes-list-map-keys":["id"],
      "items":{"type":"object","properties":{"id":{"type":"string"}}}})");
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre("spec.validation.openAPIV3Schema.properties[spec].items.properties[id].default: "
                  "Required value: this property is in x-kubernetes-list-map-keys, so it must have "
                  "a default or be a required property"));

  crd = minimalCrd(R"({"type":"object"})");
  crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] =
      json(R"({"type":"object","properties":{"labels":{"type":"object"}}})");
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre(
          "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify "
          "anything other than name and generateName, but metadata is implicitly specified"));

  crd = minimalCrd(R"({"type":"object"})");
  crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] =
      json(R"({"type":"object","properties":{"name":{"type":"string","maxLength":20}}})");
  EXPECT_THAT(crdErrors(crd), ::testing::IsEmpty());
}

TEST(CrdSchemaInvalidCrd, ProtectedGroupsAndPreserveUnknownFields) {
  auto crd = minimalCrd(R"({"type":"object"})");
  crd["metadata"]["name"] = JsonValue::string("widgets.example.k8s.io");
  crd["spec"]["group"] = JsonValue::string("example.k8s.io");
  EXPECT_THAT(crdErrors(crd),
              ElementsAre("metadata.annotations[api-approved.kubernetes.io]: Required value: "
                          "protected groups must have approval annotation "
                          "\"api-approved.kubernetes.io\", see "
                          "https://github.com/kubernetes/enhancements/pull/1111"));
  crd["metadata"]["annotations"] = json(R"({"api-approved.kubernetes.io":"unapproved, testing"})");
  EXPECT_THAT(crdErrors(crd), ::testing::IsEmpty());

  crd = minimalCrd(R"({"type":"object"})");
  crd["spec"]["preserveUnknownFields"] = JsonValue::boolean(true);
  EXPECT_THAT(
      crdErrors(crd),
      ElementsAre("spec.preserveUnknownFields: Invalid value: true: cannot set to true, set "
                  "x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema "
                  "instead"));
}

TEST(CrdSchemaInvalidCrd, UnknownFieldsOfTheCrdAreDroppedAndReported) {
  auto crd = minimalCrd(R"({"type":"object","tpye":"object","properties":{
                            "size":{"type":"integer","minimun":1}}})");
  crd["spec"]["versions"][0]["servd"] = JsonValue::boolean(true);
  crd["metadata"]["labls"] = json("{}");
  auto unknown = pruneCrdUnknownFields(crd);
  EXPECT_THAT(unknown,
              ElementsAre("metadata.labls", "spec.versions[0].servd",
                          "spec.versions[0].schema.openAPIV3Schema.properties.spec.tpye",
                          "spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size."
                          "minimun"));
  EXPECT_FALSE(crd["spec"]["versions"][0].has_field("servd"));
  EXPECT_TRUE(parseCrd(crd).has_value());
  auto clean = loadCrd("billing.operator.dev_billinggroups.yaml");
  EXPECT_THAT(pruneCrdUnknownFields(clean), ::testing::IsEmpty());
}

TEST(CrdSchemaInvalidCrd, WrongJsonTypesAreBadRequests) {
  auto crd = minimalCrd(R"({"type":"object"})");
  crd["spec"]["versions"][0]["served"] = JsonValue::string("yes");
  auto result = parseCrd(crd);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), 400);
  EXPECT_EQ(result.error().message,
            "CustomResourceDefinition in version \"v1\" cannot be handled as a "
            "CustomResourceDefinition: json: cannot unmarshal string into Go struct field "
            "CustomResourceDefinitionVersion.spec.versions.served of type bool");
  EXPECT_EQ(result.error().status("widgets.example.com")["reason"].as_string(), "BadRequest");
}

}  // namespace
}  // namespace billing::apiserver
