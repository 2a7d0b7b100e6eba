#include "common/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace billing::common {
namespace {

using ::testing::HasSubstr;
using web::json::value;

value orderedObject(std::initializer_list<std::pair<std::string, value>> members) {
  value object = value::object(/*keep_order=*/true);
  for (const auto& [key, member] : members) object[key] = member;
  return object;
}

TEST(ParseJson, ReadsNestedDocument) {
  auto parsed = parseJson(R"({"metadata": {"name": "acme"}, "spec": {"emails": ["a@b", "c@d"],
                              "limit": 12.5, "count": 3, "active": true, "note": null}})");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->at("metadata").at("name").as_string(), "acme");
  EXPECT_EQ(parsed->at("spec").at("emails").at(1).as_string(), "c@d");
  EXPECT_DOUBLE_EQ(parsed->at("spec").at("limit").as_double(), 12.5);
  EXPECT_TRUE(parsed->at("spec").at("count").is_integer());
  EXPECT_EQ(parsed->at("spec").at("count").as_integer(), 3);
  EXPECT_TRUE(parsed->at("spec").at("active").as_bool());
  EXPECT_TRUE(parsed->at("spec").at("note").is_null());
}

TEST(ParseJson, SyntaxErrorNamesLineAndColumn) {
  auto parsed = parseJson("{\n  \"a\": 1,\n  \"b\": }\n");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_THAT(parsed.error(), HasSubstr("Line 3"));
  EXPECT_THAT(parsed.error(), HasSubstr("Column"));
  EXPECT_THAT(parsed.error(), ::testing::Not(HasSubstr("Syntax error")));
  EXPECT_FALSE(parsed.error().starts_with("*"));
}

TEST(ParseJson, RejectsMalformedInputWithoutThrowing) {
  for (const char* text : {"", "{", "[1, 2", "{\"a\" 1}", "tru", "1 2", "{\"a\": 1,}", "[1,]",
                           "\"unterminated", "nan", "{\"a\": 1}x"}) {
    EXPECT_NO_THROW({
      auto parsed = parseJson(text);
      EXPECT_FALSE(parsed.has_value()) << text;
    });
  }
}

TEST(ParseJson, RejectsDuplicateKeysWithTheirPath) {
  auto parsed = parseJson(R"({"spec": {"items": [{"name": "a", "name": "b"}]}})");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_THAT(parsed.error(), HasSubstr("duplicate key \"name\""));
  EXPECT_THAT(parsed.error(), HasSubstr("spec.items[0]"));

  auto topLevel = parseJson(R"({"a": 1, "a": 2})");
  ASSERT_FALSE(topLevel.has_value());
  EXPECT_THAT(topLevel.error(), HasSubstr("top level"));
}

TEST(ParseJson, RejectsNumbersBeyondTheDoubleRange) {
  auto parsed = parseJson(R"({"spec": {"amount": 1e400}})");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_THAT(parsed.error(), HasSubstr("spec.amount"));
}

TEST(ParseJson, KeepsLargeIntegersExact) {
  auto parsed = parseJson(R"([9223372036854775807, -9223372036854775808, 18446744073709551615])");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->at(0).as_number().to_int64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parsed->at(1).as_number().to_int64(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parsed->at(2).as_number().to_uint64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(toJson(*parsed), "[9223372036854775807,-9223372036854775808,18446744073709551615]");
}

TEST(ToJson, CompactInStoredOrder) {
  value object =
      orderedObject({{"kind", value::string("Project")},
                     {"b", value::array({value::number(1), value::number(2.5), value::string("x"),
                                         value::boolean(true), value::null()})},
                     {"a", value::object()}});
  EXPECT_EQ(toJson(object), R"({"kind":"Project","b":[1,2.5,"x",true,null],"a":{}})");
}

TEST(ToJson, EscapesStrings) {
  const std::string text = std::string("quote\" backslash\\ newline\n tab\t cr\r bell\a nul") +
                           std::string(1, '\0') + " slash/ unicode é";
  EXPECT_EQ(toJson(value::string(text)),
            "\"quote\\\" backslash\\\\ newline\\n tab\\t cr\\r bell\\u0007 nul\\u0000 slash/ "
            "unicode é\"");
  auto parsed = parseJson(toJson(value::string(text)));
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->as_string(), text);
}

// Found by tests/fuzz (corpus/ledger_request/invalid-utf8-method.txt): the ledger echoed a
// method that was not UTF-8 into a problem+json body that no JSON reader accepted.
TEST(ToJson, ReplacesBytesThatAreNotUtf8) {
  EXPECT_EQ(toJson(value::string("a\xff-b")), "\"a\\ufffd-b\"");
  EXPECT_EQ(toJson(value::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(toJson(value::string("\xc3")), "\"\\ufffd\"");                        // truncated
  EXPECT_EQ(toJson(value::string("\xc0\xaf")), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(toJson(value::string("\xed\xa0\x80")), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  std::string log;
  appendJsonString(log, "id \x80");
  EXPECT_EQ(log, "\"id \\ufffd\"");
  auto parsed = parseJson(toJson(value::string("x\xfe\xff")));
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->as_string(), "x\xef\xbf\xbd\xef\xbf\xbd");
}

// Found by tests/fuzz (corpus/json/invalid-utf8-key.json): a key that was not UTF-8 was read as
// its raw bytes and written back as U+FFFD, so a value written and read again was another value.
TEST(ParseJson, ReadsBytesThatAreNotUtf8AsReplacementCharacters) {
  auto parsed = parseJson("{\"amount\xea\":\"x\xff\xfey\",\"caf\xc3\xa9\":1}");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  ASSERT_TRUE(parsed->has_field("amount\xef\xbf\xbd")) << toJson(*parsed);
  EXPECT_EQ(parsed->at("amount\xef\xbf\xbd").as_string(), "x\xef\xbf\xbd\xef\xbf\xbdy");
  EXPECT_TRUE(parsed->has_field("caf\xc3\xa9"));  // well-formed UTF-8 is kept as it is
  auto again = parseJson(toJson(*parsed));
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_TRUE(jsonEqual(*parsed, *again)) << toJson(*again);
  // Outside a string such a byte is still no JSON.
  EXPECT_FALSE(parseJson("[1, \xff]").has_value());
}

// Found by tests/fuzz (corpus/json/lone-surrogate-escapes.json): cpprest turned a lone low
// surrogate escape into the bytes of an encoded surrogate, which toJson writes as three U+FFFD,
// and refused a lone high surrogate that Go (so kubectl and the API server) reads as U+FFFD.
TEST(ParseJson, ReadsLoneSurrogateEscapesAsOneReplacementCharacter) {
  const std::string fffd = "\xef\xbf\xbd";
  auto lowInValue = parseJson(R"({"a":"\ude00"})");
  ASSERT_TRUE(lowInValue.has_value()) << lowInValue.error();
  EXPECT_EQ(lowInValue->at("a").as_string(), fffd);

  auto highInKey = parseJson(R"({"\ud800x":1})");
  ASSERT_TRUE(highInKey.has_value()) << highInKey.error();
  EXPECT_TRUE(highInKey->has_field(fffd + "x")) << toJson(*highInKey);

  auto nested = parseJson(R"({"a":{"b":[{"c\uDC00":"x\uDBFFy"}]}})");
  ASSERT_TRUE(nested.has_value()) << nested.error();
  const auto& element = nested->at("a").at("b").at(0);
  ASSERT_TRUE(element.has_field("c" + fffd)) << toJson(*nested);
  EXPECT_EQ(element.at("c" + fffd).as_string(), "x" + fffd + "y");

  // As in Go, an escape after a lone high surrogate is read on its own, not swallowed.
  auto cases = parseJson(R"(["\ud800\u0041", "\ud800\ud800", "\udc00\ud800", "\ud800\\",
                             "\ud800\n", "\ud83d\ude00", "\uDBFF\uDFFF", "\\ud800", "\u00e9"])");
  ASSERT_TRUE(cases.has_value()) << cases.error();
  const std::vector<std::string> expected{fffd + "A",         fffd + fffd, fffd + fffd,
                                          fffd + "\\",        fffd + "\n", "\xf0\x9f\x98\x80",
                                          "\xf4\x8f\xbf\xbf", "\\ud800",   "\xc3\xa9"};
  ASSERT_EQ(cases->size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(cases->at(i).as_string(), expected[i]) << "element " << i;
  }
  auto again = parseJson(toJson(*cases));
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_TRUE(jsonEqual(*cases, *again)) << toJson(*again);

  // Two keys that both become U+FFFD are duplicates, as after any other decoding.
  EXPECT_THAT(parseJson(R"({"\ud800":1,"\udfff":2})").error(), HasSubstr("duplicate key"));
  // Still malformed: a broken escape, and a surrogate escape outside a string.
  EXPECT_FALSE(parseJson(R"(["\ud8"])").has_value());
  EXPECT_FALSE(parseJson(R"([\ud800])").has_value());
}

TEST(ToJson, WritesShortestDoubles) {
  EXPECT_EQ(toJson(value::number(0.1)), "0.1");
  EXPECT_EQ(toJson(value::number(-2.5e-10)), "-2.5e-10");
  EXPECT_EQ(toJson(value::number(1e21)), "1e+21");
  EXPECT_EQ(toJson(value::number(1.0 / 3)), "0.3333333333333333");
}

TEST(ToJson, WritesNonFiniteDoublesAsNull) {
  EXPECT_EQ(toJson(value::number(std::numeric_limits<double>::infinity())), "null");
  EXPECT_EQ(toJson(value::number(std::numeric_limits<double>::quiet_NaN())), "null");
}

TEST(ToJson, RoundTripsThroughParseJson) {
  auto original = parseJson(
      R"({"metadata": {"name": "acme", "labels": {"billing.operator.dev/organization": "x"}},
          "spec": {"emails": ["a@b"], "price": 0.1, "big": 18446744073709551615,
                   "nested": [[], {}, [1, [2]]], "text": "line\nnext \"quoted\""}})");
  ASSERT_TRUE(original.has_value()) << original.error();
  auto again = parseJson(toJson(*original));
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(*again, *original);
}

TEST(ToPrettyJson, IndentsByTwoSpaces) {
  value object = orderedObject(
      {{"apiVersion", value::string("billing.operator.dev/v1alpha1")},
       {"spec",
        orderedObject({{"emails", value::array({value::string("a@b"), value::string("c@d")})},
                       {"empty", value::object()},
                       {"none", value::array()}})}});
  EXPECT_EQ(toPrettyJson(object),
            "{\n"
            "  \"apiVersion\": \"billing.operator.dev/v1alpha1\",\n"
            "  \"spec\": {\n"
            "    \"emails\": [\n"
            "      \"a@b\",\n"
            "      \"c@d\"\n"
            "    ],\n"
            "    \"empty\": {},\n"
            "    \"none\": []\n"
            "  }\n"
            "}");
}

TEST(ToPrettyJson, ScalarsAndEmptyContainersStayOnOneLine) {
  EXPECT_EQ(toPrettyJson(value::object()), "{}");
  EXPECT_EQ(toPrettyJson(value::array()), "[]");
  EXPECT_EQ(toPrettyJson(value::string("x")), "\"x\"");
  EXPECT_EQ(toPrettyJson(value::number(-7)), "-7");
}

TEST(ToPrettyJson, ParsesBackToTheSameValue) {
  auto original = parseJson(R"({"a": [1, {"b": [true, null]}], "c": {"d": "e"}})");
  ASSERT_TRUE(original.has_value()) << original.error();
  auto again = parseJson(toPrettyJson(*original));
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(*again, *original);
}

TEST(JsonEqual, IgnoresMemberOrder) {
  value ab = orderedObject({{"a", value::number(1)}, {"b", value::number(2)}});
  value ba = orderedObject({{"b", value::number(2)}, {"a", value::number(1)}});
  EXPECT_TRUE(jsonEqual(ab, ba));
  EXPECT_TRUE(jsonEqual(value::array({ab}), value::array({ba})));
}

TEST(JsonEqual, ComparesNumbersByValue) {
  EXPECT_TRUE(jsonEqual(value::number(1), value::number(1.0)));
  EXPECT_TRUE(jsonEqual(value::number(std::int64_t{5}), value::number(std::uint64_t{5})));
  EXPECT_FALSE(jsonEqual(value::number(1), value::number(1.5)));
  EXPECT_FALSE(
      jsonEqual(value::number(-1), value::number(std::numeric_limits<std::uint64_t>::max())));
}

TEST(JsonEqual, DetectsDifferences) {
  value base = orderedObject({{"a", value::array({value::number(1), value::string("x")})}});
  EXPECT_FALSE(jsonEqual(base, orderedObject({{"a", value::array({value::number(1)})}})));
  EXPECT_FALSE(jsonEqual(
      base, orderedObject({{"a", value::array({value::number(1), value::string("y")})}})));
  EXPECT_FALSE(jsonEqual(
      base, orderedObject({{"b", value::array({value::number(1), value::string("x")})}})));
  EXPECT_FALSE(jsonEqual(value::string("1"), value::number(1)));
  EXPECT_FALSE(jsonEqual(value::null(), value::boolean(false)));
  EXPECT_FALSE(jsonEqual(value::object(), value::array()));
}

TEST(FieldPath, PlainKeysAreJoinedWithDots) {
  EXPECT_EQ(joinFieldPath("", "spec"), "spec");
  EXPECT_EQ(joinFieldPath("spec", "billingGroupRef"), "spec.billingGroupRef");
  EXPECT_EQ(joinFieldPath("spec.billingGroupRef", "name"), "spec.billingGroupRef.name");
  EXPECT_EQ(joinFieldPath("items[2]", "x-kubernetes_field"), "items[2].x-kubernetes_field");
}

TEST(FieldPath, KeysWithDotsOrSlashesAreBracketed) {
  EXPECT_EQ(escapeFieldPathKey("name"), "name");
  EXPECT_EQ(escapeFieldPathKey("billing.operator.dev/organization"),
            "[billing.operator.dev/organization]");
  EXPECT_EQ(escapeFieldPathKey("a/b"), "[a/b]");
  EXPECT_EQ(escapeFieldPathKey("has space"), "[has space]");
  EXPECT_EQ(escapeFieldPathKey(""), "[]");
  EXPECT_EQ(joinFieldPath("metadata.labels", "billing.operator.dev/organization"),
            "metadata.labels[billing.operator.dev/organization]");
  EXPECT_EQ(joinFieldPath("", "example.com/key"), "[example.com/key]");
}

TEST(FieldPath, ArrayElementsAreIndexed) {
  EXPECT_EQ(indexFieldPath("spec.billingEmails", 0), "spec.billingEmails[0]");
  EXPECT_EQ(indexFieldPath("items", 12), "items[12]");
  EXPECT_EQ(indexFieldPath("", 3), "[3]");
  EXPECT_EQ(joinFieldPath(indexFieldPath("items", 2), "metadata"), "items[2].metadata");
}

TEST(FieldPath, ParentGoesUpOneLevel) {
  EXPECT_EQ(parentFieldPath("spec.billingGroupRef.name"), "spec.billingGroupRef");
  EXPECT_EQ(parentFieldPath("spec.billingEmails[0]"), "spec.billingEmails");
  EXPECT_EQ(parentFieldPath("items[2].metadata"), "items[2]");
  EXPECT_EQ(parentFieldPath("metadata.labels[billing.operator.dev/organization]"),
            "metadata.labels");
  EXPECT_EQ(parentFieldPath("metadata.labels[a.b].c"), "metadata.labels[a.b]");
  EXPECT_EQ(parentFieldPath("spec"), "");
  EXPECT_EQ(parentFieldPath("[0]"), "");
  EXPECT_EQ(parentFieldPath(""), "");
}

TEST(FindMember, FollowsObjectKeysAndStopsAtAnythingElse) {
  auto parsed = parseJson(R"({"metadata":{"name":"web","labels":["x"]},"spec":null})");
  ASSERT_TRUE(parsed);
  const web::json::value* name = findMember(*parsed, {"metadata", "name"});
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->as_string(), "web");
  EXPECT_EQ(findMember(*parsed, {}), &*parsed) << "the empty path is the object itself";
  EXPECT_EQ(findMember(*parsed, {"metadata", "missing"}), nullptr);
  EXPECT_EQ(findMember(*parsed, {"spec", "x"}), nullptr) << "null is not an object";
  EXPECT_EQ(findMember(*parsed, {"metadata", "labels", "0"}), nullptr) << "arrays have no keys";
}

TEST(StringAt, GivesTheStringOrEmpty) {
  auto parsed = parseJson(R"({"metadata":{"name":"web","generation":3}})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(stringAt(*parsed, {"metadata", "name"}), "web");
  EXPECT_EQ(stringAt(*parsed, {"metadata", "generation"}), "") << "not a string";
  EXPECT_EQ(stringAt(*parsed, {"status", "phase"}), "");
}

}  // namespace
}  // namespace billing::common
