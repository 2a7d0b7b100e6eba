#include "common/yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/json.h"

namespace billing::common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using web::json::value;
using namespace std::string_literals;

// The single document in `text`; fails the test otherwise.
YamlDocument parseOne(std::string_view text) {
  auto documents = parseYamlDocuments(text);
  if (!documents) {
    ADD_FAILURE() << "line " << documents.error().line << ": " << documents.error().message;
    return {};
  }
  if (documents->size() != 1) {
    ADD_FAILURE() << "expected one document, got " << documents->size();
    return {};
  }
  return std::move(documents->front());
}

// The error for `text`; fails the test if it parses.
YamlError parseError(std::string_view text) {
  auto documents = parseYamlDocuments(text);
  if (documents) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return {};
  }
  return documents.error();
}

std::vector<std::string> keysOf(const value& object) {
  std::vector<std::string> keys;
  for (const auto& [key, member] : object.as_object()) keys.push_back(key);
  return keys;
}

// ---------------------------------------------------------------------------------------------
// Documents and lines

constexpr std::string_view kTwoObjects =
    "# billing groups\n"                                  // 1
    "---\n"                                               // 2
    "apiVersion: billing.operator.dev/v1alpha1\n"         // 3
    "kind: BillingGroup\n"                                // 4
    "metadata:\n"                                         // 5
    "  name: acme\n"                                      // 6
    "  labels:\n"                                         // 7
    "    billing.operator.dev/organization: acme-corp\n"  // 8
    "spec:\n"                                             // 9
    "  billingEmails:\n"                                  // 10
    "  - finance@acme.example\n"                          // 11
    "  # the second one\n"                                // 12
    "  - ops@acme.example\n"                              // 13
    "---\n"                                               // 14
    "\n"                                                  // 15
    "apiVersion: billing.operator.dev/v1alpha1\n"         // 16
    "kind: Project\n"                                     // 17
    "metadata: {name: web, namespace: team-a}\n"          // 18
    "spec:\n"                                             // 19
    "  billingGroupRef:\n"                                // 20
    "    name: acme\n";                                   // 21

TEST(ParseYamlDocuments, ReadsEveryDocumentWithItsLine) {
  auto documents = parseYamlDocuments(kTwoObjects);
  ASSERT_TRUE(documents.has_value()) << documents.error().message;
  ASSERT_EQ(documents->size(), 2u);
  const YamlDocument& group = documents->at(0);
  const YamlDocument& project = documents->at(1);
  EXPECT_EQ(group.line, 3);
  EXPECT_EQ(project.line, 16);
  EXPECT_EQ(group.value.at("kind").as_string(), "BillingGroup");
  EXPECT_EQ(group.value.at("spec").at("billingEmails").at(1).as_string(), "ops@acme.example");
  EXPECT_EQ(project.value.at("spec").at("billingGroupRef").at("name").as_string(), "acme");
}

TEST(ParseYamlDocuments, RecordsTheLineOfEveryNode) {
  auto documents = parseYamlDocuments(kTwoObjects);
  ASSERT_TRUE(documents.has_value()) << documents.error().message;
  const auto& group = documents->at(0).lines;
  const auto& project = documents->at(1).lines;
  EXPECT_EQ(group.at(""), 3);
  EXPECT_EQ(group.at("kind"), 4);
  EXPECT_EQ(group.at("metadata"), 5);
  EXPECT_EQ(group.at("metadata.name"), 6);
  EXPECT_EQ(group.at("metadata.labels[billing.operator.dev/organization]"), 8);
  EXPECT_EQ(group.at("spec.billingEmails"), 10);
  EXPECT_EQ(group.at("spec.billingEmails[0]"), 11);
  EXPECT_EQ(group.at("spec.billingEmails[1]"), 13);
  EXPECT_EQ(project.at("metadata.namespace"), 18);
  EXPECT_EQ(project.at("spec.billingGroupRef"), 20);
  EXPECT_EQ(project.at("spec.billingGroupRef.name"), 21);
  EXPECT_EQ(group.size(), 11u);  // every node: root, 3 + 4 under metadata, 3 under spec
}

TEST(ParseYamlDocuments, ListItemsAreIndexed) {
  YamlDocument list = parseOne(
      "apiVersion: v1\n"
      "kind: List\n"
      "items:\n"
      "- metadata:\n"
      "    name: a\n"
      "- metadata:\n"
      "    name: b\n"
      "  spec:\n"
      "    ports: [80, 443]\n");
  EXPECT_EQ(list.lines.at("items[0]"), 4);
  EXPECT_EQ(list.lines.at("items[1]"), 6);
  EXPECT_EQ(list.lines.at("items[1].metadata.name"), 7);
  EXPECT_EQ(list.lines.at("items[1].spec.ports[1]"), 9);
  EXPECT_EQ(list.value.at("items").at(1).at("metadata").at("name").as_string(), "b");
}

TEST(ParseYamlDocuments, EmptyEntriesInAListAreLinedAtTheirDash) {
  YamlDocument document = parseOne(
      "list:\n"
      "- a\n"
      "-\n"
      "- c\n");
  EXPECT_TRUE(document.value.at("list").at(1).is_null());
  EXPECT_EQ(document.lines.at("list[1]"), 3);
  EXPECT_EQ(document.lines.at("list[2]"), 4);
}

TEST(ParseYamlDocuments, KeepsTheDocumentKeyOrder) {
  YamlDocument document = parseOne("zeta: 1\nalpha: 2\nmid:\n  x: 1\n  b: 2\n");
  EXPECT_EQ(keysOf(document.value), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(keysOf(document.value.at("mid")), (std::vector<std::string>{"x", "b"}));
}

TEST(ParseYamlDocuments, SkipsEmptyAndNullDocuments) {
  auto documents = parseYamlDocuments(
      "---\n"
      "---\n"
      "# only a comment\n"
      "---\n"
      "null\n"
      "--- ~\n"
      "...\n"
      "---\n"
      "kind: Project\n"
      "...\n"
      "---\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message;
  ASSERT_EQ(documents->size(), 1u);
  EXPECT_EQ(documents->at(0).line, 9);
  EXPECT_EQ(documents->at(0).value.at("kind").as_string(), "Project");
}

TEST(ParseYamlDocuments, NothingToReadGivesNoDocuments) {
  for (std::string_view text : {"", "\n\n", "# comment\n", "---\n", "   \n# a\n# b\n"}) {
    auto documents = parseYamlDocuments(text);
    ASSERT_TRUE(documents.has_value()) << documents.error().message;
    EXPECT_TRUE(documents->empty()) << text;
  }
}

TEST(ParseYamlDocuments, ReturnsBareScalarsAndListsAsDocuments) {
  auto documents = parseYamlDocuments("--- hello\n--- 42\n---\n- a\n- b\n");
  ASSERT_TRUE(documents.has_value()) << documents.error().message;
  ASSERT_EQ(documents->size(), 3u);
  EXPECT_EQ(documents->at(0).value, value::string("hello"));
  EXPECT_EQ(documents->at(1).value, value::number(42));
  EXPECT_EQ(documents->at(2).value.size(), 2u);
  EXPECT_EQ(documents->at(2).line, 4);
  EXPECT_EQ(documents->at(2).lines.at("[1]"), 5);
}

TEST(ParseYamlDocuments, ReadsJson) {
  YamlDocument document = parseOne(
      "{\n"
      "\t\"kind\": \"Invoice\",\n"
      "\t\"spec\": {\"lines\": [\n"
      "\t\t{\"amount\": 12.5, \"note\": null, \"paid\": false}\n"
      "\t]}\n"
      "}\n");
  EXPECT_EQ(document.value.at("kind").as_string(), "Invoice");
  EXPECT_DOUBLE_EQ(document.value.at("spec").at("lines").at(0).at("amount").as_double(), 12.5);
  EXPECT_EQ(document.lines.at("spec.lines[0].paid"), 4);
}

TEST(ParseYamlDocuments, HandlesWindowsLineEndingsAndByteOrderMark) {
  YamlDocument document = parseOne("\xEF\xBB\xBFkind: Project\r\nspec:\r\n  note: \"x\"\r\n");
  EXPECT_EQ(document.value.at("kind").as_string(), "Project");
  EXPECT_EQ(document.value.at("spec").at("note").as_string(), "x");
  EXPECT_EQ(document.lines.at("spec.note"), 3);
}

TEST(LineOf, FindsRecordedPaths) {
  auto documents = parseYamlDocuments(kTwoObjects);
  ASSERT_TRUE(documents.has_value()) << documents.error().message;
  EXPECT_EQ(lineOf(documents->at(0), "spec.billingEmails[1]"), 13);
  EXPECT_EQ(lineOf(documents->at(0), "metadata.labels[billing.operator.dev/organization]"), 8);
  EXPECT_EQ(lineOf(documents->at(1), ""), 16);
}

TEST(LineOf, FallsBackToTheNearestRecordedAncestor) {
  auto documents = parseYamlDocuments(kTwoObjects);
  ASSERT_TRUE(documents.has_value()) << documents.error().message;
  const YamlDocument& group = documents->at(0);
  EXPECT_EQ(lineOf(group, "spec.billingEmails[7]"), 10);
  EXPECT_EQ(lineOf(group, "spec.missing.deeper[3].name"), 9);
  EXPECT_EQ(lineOf(group, "metadata.labels[example.com/absent]"), 7);
  EXPECT_EQ(lineOf(group, "metadata.labels[billing.operator.dev/organization].x"), 8);
  EXPECT_EQ(lineOf(group, "status.phase"), 3);
  EXPECT_EQ(lineOf(group, "items[0]."), 3);
}

TEST(LineOf, UsesTheDocumentLineWhenNothingIsRecorded) {
  YamlDocument document;
  document.line = 42;
  EXPECT_EQ(lineOf(document, "spec.name"), 42);
  EXPECT_EQ(lineOf(document, ""), 42);
}

// ---------------------------------------------------------------------------------------------
// Scalar resolution, as go-yaml v2 (kubectl) does it

enum class Kind { kNull, kBool, kInt, kDouble, kString };

Kind kindOf(const value& v) {
  if (v.is_null()) return Kind::kNull;
  if (v.is_boolean()) return Kind::kBool;
  if (v.is_integer()) return Kind::kInt;
  if (v.is_double()) return Kind::kDouble;
  return Kind::kString;
}

struct ScalarCase {
  std::string yaml;  // the text after "v: "
  std::string json;  // toJson of the resolved value
  Kind kind;
};

void PrintTo(const ScalarCase& c, std::ostream* out) { *out << "v: " << c.yaml; }

class ScalarResolution : public ::testing::TestWithParam<ScalarCase> {};

TEST_P(ScalarResolution, MatchesKubectl) {
  const ScalarCase& c = GetParam();
  YamlDocument document = parseOne("v: " + c.yaml + "\n");
  ASSERT_TRUE(document.value.is_object());
  const value& resolved = document.value.at("v");
  EXPECT_EQ(toJson(resolved), c.json);
  EXPECT_EQ(kindOf(resolved), c.kind) << toJson(resolved);
}

INSTANTIATE_TEST_SUITE_P(
    Booleans, ScalarResolution,
    ::testing::Values(
        ScalarCase{"y", "true", Kind::kBool}, ScalarCase{"Y", "true", Kind::kBool},
        ScalarCase{"yes", "true", Kind::kBool}, ScalarCase{"Yes", "true", Kind::kBool},
        ScalarCase{"YES", "true", Kind::kBool}, ScalarCase{"on", "true", Kind::kBool},
        ScalarCase{"On", "true", Kind::kBool}, ScalarCase{"ON", "true", Kind::kBool},
        ScalarCase{"true", "true", Kind::kBool}, ScalarCase{"True", "true", Kind::kBool},
        ScalarCase{"TRUE", "true", Kind::kBool}, ScalarCase{"n", "false", Kind::kBool},
        ScalarCase{"N", "false", Kind::kBool}, ScalarCase{"no", "false", Kind::kBool},
        ScalarCase{"No", "false", Kind::kBool}, ScalarCase{"NO", "false", Kind::kBool},
        ScalarCase{"off", "false", Kind::kBool}, ScalarCase{"Off", "false", Kind::kBool},
        ScalarCase{"OFF", "false", Kind::kBool}, ScalarCase{"false", "false", Kind::kBool},
        ScalarCase{"False", "false", Kind::kBool}, ScalarCase{"FALSE", "false", Kind::kBool},
        ScalarCase{"yEs", "\"yEs\"", Kind::kString}, ScalarCase{"tRUE", "\"tRUE\"", Kind::kString},
        ScalarCase{"oN", "\"oN\"", Kind::kString}, ScalarCase{"nO", "\"nO\"", Kind::kString},
        ScalarCase{"t", "\"t\"", Kind::kString},
        ScalarCase{"yes please", "\"yes please\"", Kind::kString}));

INSTANTIATE_TEST_SUITE_P(Nulls, ScalarResolution,
                         ::testing::Values(ScalarCase{"", "null", Kind::kNull},
                                           ScalarCase{"~", "null", Kind::kNull},
                                           ScalarCase{"null", "null", Kind::kNull},
                                           ScalarCase{"Null", "null", Kind::kNull},
                                           ScalarCase{"NULL", "null", Kind::kNull},
                                           ScalarCase{"nULL", "\"nULL\"", Kind::kString},
                                           ScalarCase{"none", "\"none\"", Kind::kString},
                                           ScalarCase{"~x", "\"~x\"", Kind::kString}));

INSTANTIATE_TEST_SUITE_P(
    Integers, ScalarResolution,
    ::testing::Values(
        ScalarCase{"0", "0", Kind::kInt}, ScalarCase{"42", "42", Kind::kInt},
        ScalarCase{"-17", "-17", Kind::kInt}, ScalarCase{"+5", "5", Kind::kInt},
        ScalarCase{"1_000", "1000", Kind::kInt}, ScalarCase{"1__0", "10", Kind::kInt},
        ScalarCase{"0x1F", "31", Kind::kInt}, ScalarCase{"0X1f", "31", Kind::kInt},
        ScalarCase{"-0x1F", "-31", Kind::kInt}, ScalarCase{"0x_1F", "31", Kind::kInt},
        ScalarCase{"010", "8", Kind::kInt}, ScalarCase{"-010", "-8", Kind::kInt},
        ScalarCase{"0o17", "15", Kind::kInt}, ScalarCase{"0O17", "15", Kind::kInt},
        ScalarCase{"0b101", "5", Kind::kInt}, ScalarCase{"-0b11", "-3", Kind::kInt},
        // Not octal: go-yaml falls back to its float syntax, and kubectl sends 8 and 9.
        ScalarCase{"08", "8", Kind::kInt}, ScalarCase{"09", "9", Kind::kInt},
        ScalarCase{"9223372036854775807", "9223372036854775807", Kind::kInt},
        ScalarCase{"-9223372036854775808", "-9223372036854775808", Kind::kInt},
        ScalarCase{"18446744073709551615", "18446744073709551615", Kind::kInt},
        ScalarCase{"18446744073709551616", "18446744073709551616", Kind::kDouble},
        ScalarCase{"0x", "\"0x\"", Kind::kString}, ScalarCase{"0xG", "\"0xG\"", Kind::kString},
        ScalarCase{"0b102", "\"0b102\"", Kind::kString},
        ScalarCase{"0x1FFFFFFFFFFFFFFFF", "\"0x1FFFFFFFFFFFFFFFF\"", Kind::kString},
        ScalarCase{"_1", "\"_1\"", Kind::kString}, ScalarCase{"+-1", "\"+-1\"", Kind::kString}));

INSTANTIATE_TEST_SUITE_P(
    Floats, ScalarResolution,
    ::testing::Values(
        ScalarCase{"1.5", "1.5", Kind::kDouble}, ScalarCase{"-0.25", "-0.25", Kind::kDouble},
        ScalarCase{".5", "0.5", Kind::kDouble}, ScalarCase{"+.5", "0.5", Kind::kDouble},
        ScalarCase{"-.5", "-0.5", Kind::kDouble}, ScalarCase{"1.5e-3", "0.0015", Kind::kDouble},
        ScalarCase{"6.02E23", "6.02e+23", Kind::kDouble},
        ScalarCase{"1_000.5", "1000.5", Kind::kDouble}, ScalarCase{".5e1", "5", Kind::kInt},
        // Integral floats reach the API server as JSON integers.
        ScalarCase{"1e3", "1000", Kind::kInt}, ScalarCase{"1.0", "1", Kind::kInt},
        ScalarCase{"1.", "1", Kind::kInt}, ScalarCase{"-2E2", "-200", Kind::kInt},
        // Too large for a double: go-yaml keeps the text.
        ScalarCase{"1e400", "\"1e400\"", Kind::kString}, ScalarCase{"1e", "\"1e\"", Kind::kString},
        ScalarCase{".", "\".\"", Kind::kString}, ScalarCase{".e3", "\".e3\"", Kind::kString},
        ScalarCase{"1.2.3", "\"1.2.3\"", Kind::kString},
        ScalarCase{".infinity", "\".infinity\"", Kind::kString}));

INSTANTIATE_TEST_SUITE_P(
    Strings, ScalarResolution,
    ::testing::Values(
        ScalarCase{"\"yes\"", "\"yes\"", Kind::kString},
        ScalarCase{"'true'", "\"true\"", Kind::kString},
        ScalarCase{"\"0x1F\"", "\"0x1F\"", Kind::kString},
        ScalarCase{"'010'", "\"010\"", Kind::kString}, ScalarCase{"\"~\"", "\"~\"", Kind::kString},
        ScalarCase{"'null'", "\"null\"", Kind::kString}, ScalarCase{"\"\"", "\"\"", Kind::kString},
        ScalarCase{"\"1e3\"", "\"1e3\"", Kind::kString},
        ScalarCase{"\".inf\"", "\".inf\"", Kind::kString},
        ScalarCase{"'it''s'", "\"it's\"", Kind::kString},
        ScalarCase{"\"tab\\tnewline\\n\"", "\"tab\\tnewline\\n\"", Kind::kString},
        ScalarCase{"|\n  yes\n", "\"yes\\n\"", Kind::kString},
        ScalarCase{"|-\n  42\n", "\"42\"", Kind::kString},
        ScalarCase{">-\n  folded\n  text\n", "\"folded text\"", Kind::kString},
        ScalarCase{"123abc", "\"123abc\"", Kind::kString},
        ScalarCase{"2024-01-31", "\"2024-01-31\"", Kind::kString},
        ScalarCase{"2001-12-14t21:59:43.10-05:00", "\"2001-12-14t21:59:43.10-05:00\"",
                   Kind::kString},
        ScalarCase{"12:30", "\"12:30\"", Kind::kString},
        ScalarCase{"v1.2.3", "\"v1.2.3\"", Kind::kString},
        ScalarCase{"http://example.com/a#b", "\"http://example.com/a#b\"", Kind::kString},
        ScalarCase{"<<", "\"<<\"", Kind::kString},
        ScalarCase{"plain text  with  spaces", "\"plain text  with  spaces\"", Kind::kString}));

INSTANTIATE_TEST_SUITE_P(
    Tags, ScalarResolution,
    ::testing::Values(
        ScalarCase{"!!str 123", "\"123\"", Kind::kString},
        ScalarCase{"!!str true", "\"true\"", Kind::kString},
        ScalarCase{"!!str ~", "\"~\"", Kind::kString}, ScalarCase{"!!str", "\"\"", Kind::kString},
        ScalarCase{"!<tag:yaml.org,2002:str> 1", "\"1\"", Kind::kString},
        ScalarCase{"!!int \"42\"", "42", Kind::kInt}, ScalarCase{"!!int 0x10", "16", Kind::kInt},
        ScalarCase{"!!int 18446744073709551615", "18446744073709551615", Kind::kInt},
        ScalarCase{"!!bool \"yes\"", "true", Kind::kBool},
        ScalarCase{"!!bool n", "false", Kind::kBool},
        ScalarCase{"!!float 1.5", "1.5", Kind::kDouble},
        ScalarCase{"!!float \"2.5\"", "2.5", Kind::kDouble},
        ScalarCase{"!!float 2", "2", Kind::kInt}, ScalarCase{"!!null \"\"", "null", Kind::kNull},
        ScalarCase{"!!null ~", "null", Kind::kNull},
        ScalarCase{"!!timestamp 2001-12-14", "\"2001-12-14\"", Kind::kString},
        ScalarCase{"!custom 12", "\"12\"", Kind::kString},
        ScalarCase{"! 12", "\"12\"", Kind::kString}));

TEST(ScalarResolution, RejectsTagsThatDoNotFitTheValue) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"!!int abc", "cannot decode !!str `abc` as a !!int"},
           {"!!int 1.5", "cannot decode !!float `1.5` as a !!int"},
           {"!!bool 1", "cannot decode !!int `1` as a !!bool"},
           {"!!null x", "cannot decode !!str `x` as a !!null"},
           {"!!float yes", "cannot decode !!bool `yes` as a !!float"},
           {"!!binary aGk=", "!!binary"},
       }) {
    YamlError error = parseError("kind: Project\nspec:\n  v: " + c.yaml + "\n");
    EXPECT_EQ(error.line, 3) << c.yaml;
    EXPECT_EQ(error.column, 6) << c.yaml;
    EXPECT_THAT(error.message, HasSubstr(c.message));
  }
}

TEST(ScalarResolution, InfinityAndNanCannotBeJson) {
  for (std::string_view text : {".inf", "-.Inf", "+.INF", ".nan", ".NaN", ".NAN"}) {
    YamlError error = parseError("spec:\n  limits:\n  - 1\n  - " + std::string(text) + "\n");
    EXPECT_EQ(error.line, 4) << text;
    EXPECT_THAT(error.message, HasSubstr(std::string(text)));
    EXPECT_THAT(error.message, HasSubstr("JSON"));
  }
}

TEST(ScalarResolution, KeysBecomeTheStringsKubectlMakes) {
  YamlDocument document = parseOne(
      "yes: a\n"
      "n: b\n"
      "1: c\n"
      "-1: d\n"
      "1.5: e\n"
      "1e7: f\n"
      "0x10: g\n"
      "'quoted': h\n"
      ".inf: i\n"
      "0.0001: j\n"
      "1e-5: k\n");
  EXPECT_EQ(keysOf(document.value),
            (std::vector<std::string>{"true", "false", "1", "-1", "1.5", "1e+07", "16", "quoted",
                                      ".inf", "0.0001", "1e-05"}));
  EXPECT_EQ(document.lines.at("[1.5]"), 5);
  EXPECT_EQ(document.lines.at("true"), 1);
}

TEST(ScalarResolution, KeysThatJsonCannotHoldAreErrors) {
  YamlError null = parseError("kind: x\n~: 1\n");
  EXPECT_EQ(null.line, 2);
  EXPECT_THAT(null.message, HasSubstr("null"));

  YamlError empty = parseError("kind: x\n: 1\n");
  EXPECT_EQ(empty.line, 2);

  YamlError sequence = parseError("kind: x\n[a, b]: 1\n");
  EXPECT_EQ(sequence.line, 2);
  EXPECT_THAT(sequence.message, HasSubstr("must be scalars"));

  YamlError mapping = parseError("kind: x\nspec:\n  ? {a: 1}\n  : 2\n");
  EXPECT_EQ(mapping.line, 3);
  EXPECT_THAT(mapping.message, HasSubstr("must be scalars"));

  YamlError huge = parseError("18446744073709551615: x\n");
  EXPECT_EQ(huge.line, 1);
  EXPECT_THAT(huge.message, HasSubstr("18446744073709551615"));
}

// ---------------------------------------------------------------------------------------------
// Duplicates, anchors, merges

TEST(DuplicateKeys, AreAnErrorAtTheDuplicate) {
  YamlError error = parseError(
      "metadata:\n"
      "  name: a\n"
      "  namespace: b\n"
      "  name: c\n");
  EXPECT_EQ(error.line, 4);
  EXPECT_EQ(error.column, 3);
  EXPECT_EQ(error.message, "duplicate key \"name\"");
}

TEST(DuplicateKeys, AreFoundInFlowMappingsAndLaterDocuments) {
  YamlError flow = parseError("a: 1\nb: {x: 1, z: 2, x: 3}\n");
  EXPECT_EQ(flow.line, 2);
  EXPECT_EQ(flow.column, 17);
  EXPECT_EQ(flow.message, "duplicate key \"x\"");

  YamlError later = parseError("a: 1\n---\nb: 1\nc: 2\nb: 3\n");
  EXPECT_EQ(later.line, 5);
}

TEST(DuplicateKeys, AreComparedAsJsonKeys) {
  YamlError error = parseError("1: a\n'1': b\n");
  EXPECT_EQ(error.line, 2);
  EXPECT_EQ(error.message, "duplicate key \"1\"");
  YamlError booleans = parseError("on: a\n\"true\": b\n");
  EXPECT_EQ(booleans.line, 2);
}

TEST(DuplicateKeys, TheSameKeyInDifferentMappingsIsFine) {
  YamlDocument document = parseOne("a:\n  name: p\nb:\n  name: q\nlist:\n- name: 1\n- name: 2\n");
  EXPECT_EQ(document.value.at("b").at("name").as_string(), "q");
  EXPECT_EQ(document.value.at("list").at(1).at("name").as_integer(), 2);
}

TEST(Anchors, AliasesCopyTheAnchoredValue) {
  YamlDocument document = parseOne(
      "defaults: &defaults\n"  // 1
      "  currency: EUR\n"      // 2
      "  limits: [1, 2]\n"     // 3
      "name: &name acme\n"     // 4
      "copy: *defaults\n"      // 5
      "again: *name\n");       // 6
  EXPECT_EQ(document.value.at("copy"), document.value.at("defaults"));
  EXPECT_EQ(document.value.at("again").as_string(), "acme");
  EXPECT_EQ(document.lines.at("copy"), 5);
  EXPECT_EQ(document.lines.at("copy.currency"), 2);  // where the value was written
  EXPECT_EQ(document.lines.at("copy.limits[1]"), 3);
  EXPECT_EQ(document.lines.at("again"), 6);
}

TEST(Anchors, UndefinedAliasIsAnError) {
  YamlError error = parseError("a: 1\nb: *missing\n");
  EXPECT_EQ(error.line, 2);
  EXPECT_THAT(error.message, HasSubstr("anchor"));
}

TEST(Anchors, RecursiveAliasIsAnError) {
  YamlError error = parseError("a: 1\nb: &loop\n  - x\n  - *loop\n");
  EXPECT_EQ(error.line, 4);
  EXPECT_THAT(error.message, HasSubstr("contains it"));
}

TEST(Anchors, ExponentialExpansionIsRefused) {
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string previous = "*l" + std::to_string(level - 1);
    text += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += (i == 0 ? "" : ", ") + previous;
    text += "]\n";
  }
  YamlError error = parseError(text);
  EXPECT_THAT(error.message, HasSubstr("too many nodes"));
}

TEST(Anchors, NestingThroughAliasesIsLimited) {
  // Each anchored value nests 300 levels; through the aliases the last one nests 1200.
  std::string text;
  for (int level = 0; level < 4; ++level) {
    const std::string inner = level == 0 ? "x" : "*l" + std::to_string(level - 1);
    text += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " " +
            std::string(300, '[') + inner + std::string(300, ']') + "\n";
  }
  YamlError error = parseError(text);
  EXPECT_THAT(error.message, HasSubstr("deeper than 1000"));
}

TEST(MalformedYaml, DeepNestingIsAnErrorNotACrash) {
  auto documents = parseYamlDocuments("a: " + std::string(5000, '[') + std::string(5000, ']'));
  EXPECT_FALSE(documents.has_value());
}

TEST(MergeKeys, MergeAnchoredMappings) {
  YamlDocument document = parseOne(
      "base: &base\n"          // 1
      "  currency: EUR\n"      // 2
      "  interval: monthly\n"  // 3
      "group:\n"               // 4
      "  <<: *base\n"          // 5
      "  interval: yearly\n"   // 6
      "  name: acme\n");       // 7
  const value& group = document.value.at("group");
  EXPECT_EQ(keysOf(group), (std::vector<std::string>{"currency", "interval", "name"}));
  EXPECT_EQ(group.at("currency").as_string(), "EUR");
  EXPECT_EQ(group.at("interval").as_string(), "yearly");
  EXPECT_EQ(document.lines.at("group.currency"), 2);
  EXPECT_EQ(document.lines.at("group.interval"), 6);
}

TEST(MergeKeys, FollowGoYamlV2Precedence) {
  // go-yaml v2 applies a merge where it stands: it overrides keys written before it.
  YamlDocument before = parseOne("base: &b {x: 1}\nm:\n  x: 2\n  <<: *b\n");
  EXPECT_EQ(before.value.at("m").at("x").as_integer(), 1);
  // In a merged list the earlier mappings win.
  YamlDocument list = parseOne("m:\n  <<: [{a: 1, b: 1}, {a: 2, c: 2}]\n");
  EXPECT_EQ(toJson(list.value.at("m")), R"({"a":1,"c":2,"b":1})");
}

TEST(MergeKeys, MergedKeysAreNotDuplicates) {
  YamlDocument document = parseOne("b: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n");
  EXPECT_EQ(document.value.at("m").at("x").as_integer(), 2);
}

TEST(MergeKeys, MergingAScalarIsAnError) {
  YamlError error = parseError("a: 1\nm:\n  <<: 5\n");
  EXPECT_EQ(error.line, 3);
  EXPECT_THAT(error.message, HasSubstr("map merge requires map"));
  YamlError list = parseError("m:\n  <<: [{a: 1}, 2]\n");
  EXPECT_EQ(list.line, 2);
}

TEST(MergeKeys, QuotedLessLessIsAnOrdinaryKey) {
  YamlDocument document = parseOne("\"<<\": {a: 1}\n");
  EXPECT_EQ(keysOf(document.value), (std::vector<std::string>{"<<"}));
}

// ---------------------------------------------------------------------------------------------
// Malformed input

TEST(MalformedYaml, BadIndentationNamesItsLine) {
  YamlError error = parseError("metadata:\n  name: a\n  labels:\n    x: 1\n      y: 2\n");
  EXPECT_EQ(error.line, 5);
  EXPECT_FALSE(error.message.empty());
  EXPECT_THAT(error.message, Not(HasSubstr("yaml-cpp")));
  EXPECT_THAT(error.message, Not(HasSubstr("line")));

  YamlError outdented = parseError("metadata:\n  name: x\n labels: {}\n");
  EXPECT_EQ(outdented.line, 3);
}

TEST(MalformedYaml, UnclosedDoubleQuoteNamesTheOpeningQuote) {
  YamlError error = parseError("spec:\n  image: \"nginx:1.25\n  replicas: 2\n");
  EXPECT_EQ(error.line, 2);
  EXPECT_EQ(error.column, 10);
  EXPECT_THAT(error.message, HasSubstr("unterminated"));
}

TEST(MalformedYaml, UnclosedQuotesAreFoundAfterMultiByteTextAndTags) {
  YamlError escaped = parseError("a: \"ends with an escaped quote \\\"\n");
  EXPECT_EQ(escaped.line, 1);
  YamlError single = parseError("é: ü\nb: 'it''s\n");
  EXPECT_EQ(single.line, 2);
  EXPECT_EQ(single.column, 4);
  YamlError tagged = parseError("x: 1\nz: !!str &a \"open\n");
  EXPECT_EQ(tagged.line, 2);
  EXPECT_EQ(tagged.column, 13);
  YamlError key = parseError("ok: 1\n\"key: 2\n");
  EXPECT_EQ(key.line, 2);
}

// Found by tests/fuzz (corpus/check/invalid-utf8-key.yaml): such bytes reached the JSON report
// of `billing-operator check -o json`, which then did not parse.
TEST(MalformedYaml, InvalidUtf8IsAnErrorAtItsByte) {
  YamlError key = parseError("kind: Project\nspec:\n  cu\xff\xffrrency: EUR\n");
  EXPECT_EQ(key.line, 3);
  EXPECT_EQ(key.column, 5);
  EXPECT_THAT(key.message, HasSubstr("UTF-8"));
  EXPECT_THAT(key.message, HasSubstr("0xFF"));
  EXPECT_EQ(parseError("a: \"\xc3\"\n").line, 1);        // a truncated sequence
  EXPECT_EQ(parseError("a: \xed\xa0\x80\n").column, 4);  // an encoded surrogate
  EXPECT_EQ(parseOne("name: caf\xc3\xa9\n").value.at("name").as_string(), "caf\xc3\xa9");
}

// Found by tests/fuzz (corpus/yaml/control-characters-read-as-utf32.yaml): yaml-cpp guesses
// UTF-16 or UTF-32 from NUL bytes at the start, read this text as UTF-32 and handed back
// "characters" beyond U+10FFFF, which toYaml wrote as bytes that are not UTF-8. go-yaml, and so
// kubectl, refuses control characters anywhere in the text.
TEST(MalformedYaml, ControlCharactersAreAnErrorAtTheirCharacter) {
  YamlError fuzzed = parseError(
      "\x01\0\0\0\0\0\0\x1ew\x07"
      "e* ]\n"s);
  EXPECT_EQ(fuzzed.line, 1);
  EXPECT_EQ(fuzzed.column, 1);
  EXPECT_THAT(fuzzed.message, HasSubstr("control character U+0001"));
  EXPECT_THAT(fuzzed.message, HasSubstr("\\x01"));  // how to write it instead

  YamlError nul = parseError("kind: Project\nspec:\n  name: a\0b\n"s);
  EXPECT_EQ(nul.line, 3);
  EXPECT_EQ(nul.column, 10);
  EXPECT_THAT(nul.message, HasSubstr("U+0000"));
  EXPECT_EQ(parseError("a: \"bell\a\"\n").column, 9);     // quoted: still raw text
  EXPECT_EQ(parseError("# del \x7f\na: 1\n").column, 7);  // in a comment too
  EXPECT_EQ(parseError("a: \xc2\x80\n").column, 4);       // C1 control U+0080
  EXPECT_EQ(parseError("a: \xef\xbf\xbe\n").column, 4);   // U+FFFE, a noncharacter
  EXPECT_THAT(parseError("a: x\xc2\x9f\n").message, HasSubstr("U+009F"));

  // What YAML allows unescaped stays allowed, and escapes of controls still read as them.
  EXPECT_EQ(parseOne("a: \"x\ty\"\r\nb: 1\n").value.at("a").as_string(), "x\ty");
  EXPECT_EQ(parseOne("a: x\xc2\x85y\n").value.at("a").as_string(), "x\xc2\x85y");  // NEL
  EXPECT_EQ(parseOne("a: \"\\x01\\0\\x7f\"\n").value.at("a").as_string(), "\x01\0\x7f"s);
}

// The fuzz target's property over every input of one to four control bytes (the fuzzed input
// started with four: yaml-cpp's encoding guess looks at that many), alone and before a little
// YAML: either an error that says why, or documents that toYaml writes as text that reads back
// as the same JSON.
TEST(MalformedYaml, ShortControlInputsAreRefusedOrRoundTrip) {
  constexpr std::string_view kControls("\0\x01\x07\t\n\r\x1e\x7f", 8);
  const std::vector<std::string> suffixes{"", "w: e* ]\n", "a: \"b\"\n"};
  std::vector<std::string> prefixes{""};
  for (std::size_t length = 1; length <= 4; ++length) {
    std::vector<std::string> longer;
    for (const std::string& prefix : prefixes) {
      if (prefix.size() != length - 1) continue;
      for (char c : kControls) longer.push_back(prefix + c);
    }
    prefixes.insert(prefixes.end(), longer.begin(), longer.end());
  }
  int refused = 0;
  int accepted = 0;
  for (const std::string& prefix : prefixes) {
    for (const std::string& suffix : suffixes) {
      const std::string text = prefix + suffix;
      auto documents = parseYamlDocuments(text);
      if (!documents) {
        ++refused;
        EXPECT_FALSE(documents.error().message.empty());
        continue;
      }
      ++accepted;
      for (const YamlDocument& document : *documents) {
        const std::string written = toYaml(document.value);
        auto reread = parseYamlDocuments(written);
        ASSERT_TRUE(reread.has_value()) << reread.error().message << " for:\n" << written;
        const value back = reread->empty() ? value::null() : reread->front().value;
        EXPECT_EQ(toJson(back), toJson(document.value)) << written;
      }
    }
  }
  // Tab, line feed and carriage return alone are fine; the others are refused.
  EXPECT_GT(refused, 0);
  EXPECT_GT(accepted, 0);
}

TEST(MalformedYaml, ClosedQuotesAcrossLinesAreFine) {
  YamlDocument document = parseOne("a: \"one\n  two\"\nb: 'x''y\n  z'\n");
  EXPECT_EQ(document.value.at("a").as_string(), "one two");
  EXPECT_EQ(document.value.at("b").as_string(), "x'y z");
}

TEST(MalformedYaml, TabIndentationNamesItsLine) {
  YamlError first = parseError("spec:\n\tname: a\n");
  EXPECT_EQ(first.line, 2);
  YamlError later = parseError("spec:\n  name: a\n\tkind: b\n");
  EXPECT_EQ(later.line, 3);
  EXPECT_THAT(later.message, HasSubstr("tab"));
}

TEST(MalformedYaml, OtherSyntaxErrors) {
  EXPECT_EQ(parseError("a: 1\nb: [1, 2\nc: 3\n").line, 3);
  EXPECT_EQ(parseError("a: 1\nb: @x\n").line, 2);
  EXPECT_EQ(parseError("a: b: c\n").line, 1);
  EXPECT_EQ(parseError("a: 1\n- b\n").line, 2);
  YamlError second = parseError("kind: a\n---\nkind: b\n  name: x\n");
  EXPECT_EQ(second.line, 4);
  EXPECT_GE(second.column, 1);
}

TEST(MalformedYaml, StrayCommaOutsideAFlowCollectionIsAnError) {
  // yaml-cpp alone would report empty documents here forever.
  YamlError bare = parseError("a: 1\n---\n,\n");
  EXPECT_EQ(bare.line, 3);
  EXPECT_THAT(bare.message, HasSubstr("','"));
  YamlError after = parseError("{a: 1},\n");
  EXPECT_EQ(after.line, 1);
  EXPECT_EQ(after.column, 7);
}

TEST(MalformedYaml, NoExceptionEscapesForAnyPrefixOfADocument) {
  const std::string text =
      "base: &b {a: \"x\", 'b': [1, 2]}\n"
      "m:\n  <<: *b\n  c: !!int \"3\"\n"
      "list:\n- |\n  literal\n- >-\n  folded\n- ? complex\n  : key\n"
      "---\n"
      "q: \"esc \\u00e9 \\x41\"\nr: .inf\n";
  for (std::size_t length = 0; length <= text.size(); ++length) {
    EXPECT_NO_THROW(parseYamlDocuments(std::string_view(text).substr(0, length))) << length;
  }
}

TEST(MalformedYaml, NoExceptionEscapesForGarbage) {
  std::uint32_t state = 12345;
  const std::string alphabet = "ab:- \n\t\"'[]{},&*!|>#%@`?~.0x1\\\xc3\xa9";
  for (int round = 0; round < 500; ++round) {
    std::string text;
    for (int i = 0; i < 60; ++i) {
      state = state * 1103515245u + 12345u;
      text.push_back(alphabet[(state >> 16) % alphabet.size()]);
    }
    EXPECT_NO_THROW(parseYamlDocuments(text)) << text;
  }
}

// ---------------------------------------------------------------------------------------------
// toYaml

value roundTrip(const value& original) {
  const std::string yaml = toYaml(original);
  auto documents = parseYamlDocuments(yaml);
  if (!documents) {
    ADD_FAILURE() << documents.error().line << ": " << documents.error().message << " in\n" << yaml;
    return {};
  }
  if (documents->size() != 1) {
    ADD_FAILURE() << "expected one document in\n" << yaml;
    return {};
  }
  return documents->front().value;
}

const std::vector<std::string>& trickyStrings() {
  static const std::vector<std::string> strings{"true",
                                                "True",
                                                "yes",
                                                "Y",
                                                "n",
                                                "off",
                                                "ON",
                                                "null",
                                                "Null",
                                                "~",
                                                "",
                                                " ",
                                                "1.0",
                                                "1e3",
                                                "0x1F",
                                                "010",
                                                "0o17",
                                                "0b11",
                                                "1_000",
                                                "+1",
                                                "-1",
                                                ".5",
                                                ".inf",
                                                "-.Inf",
                                                ".NaN",
                                                "123",
                                                "12:30",
                                                "2024-01-31",
                                                "a: b",
                                                "a:b",
                                                "key:",
                                                "-x",
                                                "- x",
                                                "-",
                                                "--- x",
                                                "---",
                                                "...",
                                                "... x",
                                                "#comment",
                                                "a #b",
                                                "a# b",
                                                "[x]",
                                                "{x}",
                                                "a,b",
                                                "a[0]",
                                                "*ref",
                                                "&anchor",
                                                "!tag",
                                                "%YAML",
                                                "@at",
                                                "`tick",
                                                "'single'",
                                                "\"double\"",
                                                "?",
                                                "? x",
                                                "|",
                                                ">",
                                                "<<",
                                                "trailing ",
                                                " leading",
                                                "tab\there",
                                                "back\\slash",
                                                "é ü 日本",
                                                "line\nbreak",
                                                "multi\nline\ntext\n",
                                                "  indented\nlines",
                                                "ends with blank lines\n\n",
                                                "windows\r\nline",
                                                "nul" + std::string(1, '\0') + "byte",
                                                "bell\a",
                                                "del\x7f",
                                                "nel\xc2\x85",
                                                "ls\xe2\x80\xa8",
                                                "bom\xef\xbb\xbf",
                                                "http://example.com/a?b=c#d",
                                                "billing.operator.dev/organization",
                                                "=",
                                                "plain words here",
                                                "x\n  \ny",
                                                "first\n second\n\n  third\n"};
  return strings;
}

TEST(ToYaml, TrickyStringsRoundTripEverywhere) {
  for (const std::string& text : trickyStrings()) {
    value asRoot = value::string(text);
    EXPECT_EQ(roundTrip(asRoot), asRoot) << toYaml(asRoot);

    value object = value::object(true);
    object[text] = value::string(text);
    object["list"] = value::array({value::string(text), value::string(text)});
    object["nested"] = value::object(true);
    object["nested"]["k"] = value::string(text);
    EXPECT_EQ(roundTrip(object), object) << toYaml(object);
  }
}

TEST(ToYaml, QuotesWhatWouldReadBackAsSomethingElse) {
  EXPECT_EQ(toYaml(value::string("true")), "\"true\"\n");
  EXPECT_EQ(toYaml(value::string("yes")), "\"yes\"\n");
  EXPECT_EQ(toYaml(value::string("1.0")), "\"1.0\"\n");
  EXPECT_EQ(toYaml(value::string("")), "\"\"\n");
  EXPECT_EQ(toYaml(value::string("a: b")), "\"a: b\"\n");
  EXPECT_EQ(toYaml(value::string("-x")), "\"-x\"\n");
  EXPECT_EQ(toYaml(value::string("~")), "\"~\"\n");
  EXPECT_EQ(toYaml(value::string("\"hi\" she said\\")), "\"\\\"hi\\\" she said\\\\\"\n");
  EXPECT_EQ(toYaml(value::string("say \"hi\"")), "say \"hi\"\n");  // plain: quotes inside are text
  EXPECT_EQ(toYaml(value::string("tab\tx")), "\"tab\\tx\"\n");
  EXPECT_EQ(toYaml(value::string("plain")), "plain\n");
  EXPECT_EQ(toYaml(value::string("finance@acme.example")), "finance@acme.example\n");
}

// toYaml never writes text that is not UTF-8 (parseYamlDocuments would refuse it): a string
// that is not UTF-8, which only code can build (both readers replace such bytes), gets U+FFFD
// for each such byte, as toJson writes it.
TEST(ToYaml, WritesBytesThatAreNotUtf8AsReplacementCharacters) {
  EXPECT_EQ(toYaml(value::string("a\xff")), "\"a\\uFFFD\"\n");
  value object = value::object(true);
  object["k\xed\xa0\x80"] = value::string("\xf0\x80\x80\x80 x");  // a surrogate, an overlong form
  const std::string written = toYaml(object);
  auto documents = parseYamlDocuments(written);
  ASSERT_TRUE(documents.has_value()) << documents.error().message << " in\n" << written;
  const std::string fffd = "\xef\xbf\xbd";
  const value& back = documents->front().value;
  ASSERT_TRUE(back.has_field("k" + fffd + fffd + fffd)) << written;
  EXPECT_EQ(back.at("k" + fffd + fffd + fffd).as_string(), fffd + fffd + fffd + fffd + " x");
}

// Found by tests/fuzz (corpus/yaml/long-explicit-key.yaml): an implicit key ("key: value") may
// be at most 1024 characters long, so a longer key read from "? key" was written back as text
// that did not parse ("illegal map value").
TEST(ToYaml, KeysTooLongForAnImplicitKeyUseTheExplicitForm) {
  const std::string longest(1024, 'k');
  value shortKey = value::object(true);
  shortKey[longest] = value::number(1);
  EXPECT_EQ(toYaml(shortKey), longest + ": 1\n");

  const std::string tooLong(1025, 'k');
  value longKey = value::object(true);
  longKey[tooLong] = value::number(1);
  EXPECT_EQ(toYaml(longKey), "? " + tooLong + "\n: 1\n");

  // Every kind of member, at the top, nested and in a list; keys plain, quoted, multi-byte.
  std::string accents;
  for (int i = 0; i < 600; ++i) accents += "\xc3\xa9";  // 1200 bytes, 600 characters
  const std::vector<std::string> keys{tooLong, std::string(2000, 'q') + " ", accents, "short"};
  value members = value::object(true);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    value member = value::object(true);
    member[keys[i]] = value::string("scalar");
    member[keys[(i + 1) % keys.size()]] = value::array({value::number(1), value::string("two")});
    member[keys[(i + 2) % keys.size()]] = value::object(true);
    member[keys[(i + 2) % keys.size()]]["inner"] = value::string("multi\nline\n");
    member[keys[(i + 3) % keys.size()]] = value::object(true);  // empty: on the key's line
    members[keys[i]] = member;
  }
  value document = value::object(true);
  document["members"] = members;
  document["list"] = value::array({members, value::array({members})});
  EXPECT_EQ(roundTrip(document), document) << toYaml(document);
}

TEST(ToYaml, MultiLineStringsUseLiteralBlocks) {
  value object = value::object(true);
  object["script"] = value::string("echo hi\n  indented\nexit 0\n");
  object["note"] = value::string("no trailing\nnewline");
  object["list"] = value::array({value::string("a\nb")});
  EXPECT_EQ(toYaml(object),
            "script: |\n"
            "  echo hi\n"
            "    indented\n"
            "  exit 0\n"
            "note: |-\n"
            "  no trailing\n"
            "  newline\n"
            "list:\n"
            "- |-\n"
            "  a\n"
            "  b\n");
  EXPECT_EQ(roundTrip(object), object);
}

TEST(ToYaml, WritesKubectlLayout) {
  value object = value::object(true);
  object["apiVersion"] = value::string("billing.operator.dev/v1alpha1");
  object["kind"] = value::string("Project");
  object["metadata"] = value::object(true);
  object["metadata"]["name"] = value::string("web");
  object["metadata"]["labels"] = value::object(true);
  object["metadata"]["labels"]["billing.operator.dev/organization"] = value::string("acme");
  object["spec"] = value::object(true);
  object["spec"]["emails"] = value::array({value::string("a@b")});
  value item = value::object(true);
  item["name"] = value::string("cpu");
  item["quantity"] = value::number(2);
  item["tags"] = value::array({value::array({value::number(1), value::number(2)}), value::array()});
  object["spec"]["items"] = value::array({item, value::object()});
  object["spec"]["enabled"] = value::boolean(false);
  object["spec"]["note"] = value::null();
  object["spec"]["price"] = value::number(12.5);
  EXPECT_EQ(toYaml(object),
            "apiVersion: billing.operator.dev/v1alpha1\n"
            "kind: Project\n"
            "metadata:\n"
            "  name: web\n"
            "  labels:\n"
            "    billing.operator.dev/organization: acme\n"
            "spec:\n"
            "  emails:\n"
            "  - a@b\n"
            "  items:\n"
            "  - name: cpu\n"
            "    quantity: 2\n"
            "    tags:\n"
            "    - - 1\n"
            "      - 2\n"
            "    - []\n"
            "  - {}\n"
            "  enabled: false\n"
            "  note: null\n"
            "  price: 12.5\n");
  EXPECT_EQ(roundTrip(object), object);
}

TEST(ToYaml, NestedKubernetesObjectRoundTrips) {
  auto parsed = parseJson(R"({
    "apiVersion": "billing.operator.dev/v1alpha1", "kind": "BillingGroup",
    "metadata": {"name": "acme", "namespace": "team-a",
                 "labels": {"billing.operator.dev/organization": "true", "tier": "1.0"},
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"a\": 1}\n",
                                 "empty": "", "colon": "a: b", "dash": "-x", "hash": "# not a comment"}},
    "spec": {"billingEmails": ["finance@acme.example", "yes", "0x1F"],
             "limits": {"cpu": 4, "memory": 1.5, "huge": 18446744073709551615, "min": -9223372036854775808},
             "notes": "first line\nsecond line\n", "flags": [true, false, null],
             "matrix": [[1, [2, {"deep": ["x"]}]], [], {}], "description": " padded "}
  })");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  value again = roundTrip(*parsed);
  EXPECT_TRUE(jsonEqual(again, *parsed)) << toYaml(*parsed);
  EXPECT_EQ(again, *parsed);  // same key order as well
}

TEST(ToYaml, NumbersRoundTrip) {
  value list = value::array({
      value::number(0),
      value::number(std::numeric_limits<std::int64_t>::max()),
      value::number(std::numeric_limits<std::int64_t>::min()),
      value::number(std::numeric_limits<std::uint64_t>::max()),
      value::number(0.1),
      value::number(-2.5e-10),
      value::number(1e300),
      value::number(123.456),
      value::number(5e-324),
  });
  value again = roundTrip(list);
  EXPECT_EQ(again, list) << toYaml(list);
  // An integral double comes back as the integer JSON makes of it.
  value integral = value::array({value::number(3.0), value::number(1e15)});
  EXPECT_TRUE(jsonEqual(roundTrip(integral), integral)) << toYaml(integral);
}

TEST(ToYaml, ScalarsAndEmptyContainersAtTheRoot) {
  EXPECT_EQ(toYaml(value::object()), "{}\n");
  EXPECT_EQ(toYaml(value::array()), "[]\n");
  EXPECT_EQ(toYaml(value::null()), "null\n");
  EXPECT_EQ(toYaml(value::boolean(true)), "true\n");
  EXPECT_EQ(toYaml(value::number(-3)), "-3\n");
  EXPECT_EQ(toYaml(value::number(std::numeric_limits<double>::infinity())), ".inf\n");
  EXPECT_EQ(roundTrip(value::object()), value::object());
  EXPECT_EQ(roundTrip(value::array()), value::array());
}

TEST(ToYaml, ParsedManifestRoundTripsToTheSameJson) {
  auto documents = parseYamlDocuments(kTwoObjects);
  ASSERT_TRUE(documents.has_value()) << documents.error().message;
  for (const YamlDocument& document : *documents) {
    EXPECT_EQ(roundTrip(document.value), document.value) << toYaml(document.value);
  }
}

}  // namespace
}  // namespace billing::common
