#include "tests/apiserver/selectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace billing::apiserver {
namespace {

using web::json::value;

value json(const std::string& text) {
  auto parsed = common::parseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << parsed.error();
  return parsed.value_or(value::null());
}

// The tail every qualified-name regex message ends with, double spaces included.
const std::string kNameRegex =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const std::string kValueRegex =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const std::string kSubdomainRegex =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

struct ValidCase {
  std::string input;
  std::string canonical;  // toString() of the parsed selector
};

TEST(SelectorParse, AcceptsKubernetesSyntax) {
  const std::vector<ValidCase> cases = {
      {"", ""},
      {"   ", ""},
      {"a=b", "a=b"},
      {"a==b", "a==b"},
      {"a!=b", "a!=b"},
      {"a", "a"},
      {"!a", "!a"},
      {"a in (x,y)", "a in (x,y)"},
      {"a in (y,x,y)", "a in (x,y)"},
      {"a notin (x)", "a notin (x)"},
      {"a in (x , y)", "a in (x,y)"},
      {" a = b , c ", "a=b,c"},
      {"a=b\t,\nc\r", "a=b,c"},
      {"a=", "a="},
      {"a=,b", "a=,b"},
      {"x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"},
      {"a in (,b)", "a in (,b)"},
      {"a in (b,)", "a in (,b)"},
      {"b=2,a=1", "a=1,b=2"},
      {"in in (in),notin notin (notin)", "in in (in),notin notin (notin)"},
      {"a>5", "a>5"},
      {"a<5", "a<5"},
      {"example.com/app=web", "example.com/app=web"},
      {"app.kubernetes.io/name in (billing-operator)",
       "app.kubernetes.io/name in (billing-operator)"},
      {"a=b,a!=c", "a=b,a!=c"},
  };
  for (const auto& [input, canonical] : cases) {
    auto parsed = parseSelector(input);
    ASSERT_TRUE(parsed.has_value()) << "'" << input << "': " << parsed.error();
    EXPECT_EQ(toString(*parsed), canonical) << input;
  }
}

TEST(SelectorParse, KeepsOperatorsAndValuesApart) {
  auto parsed = parseSelector("tier notin (db,cache),!legacy,env==prod");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->requirements,
            (std::vector<LabelRequirement>{{"env", SelectorOperator::kDoubleEquals, {"prod"}},
                                           {"legacy", SelectorOperator::kDoesNotExist, {}},
                                           {"tier", SelectorOperator::kNotIn, {"cache", "db"}}}));
  EXPECT_FALSE(parsed->empty());
  EXPECT_TRUE(parseSelector("")->empty());
}

struct InvalidCase {
  std::string input;
  std::string message;
};

TEST(SelectorParse, RejectsWithKubernetesMessages) {
  const std::string longName(64, 'a');
  const std::vector<InvalidCase> cases = {
      {"a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"},
      {"a (b)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"},
      {"a=b c", "found 'c', expected: ',' or 'end of string'"},
      {"a=b=c", "found '=', expected: ',' or 'end of string'"},
      {"a=b,", "found '', expected: identifier after ','"},
      {"a,,b", "found ',', expected: identifier after ','"},
      {",a", "found ',', expected: !, identifier, or 'end of string'"},
      {"=a", "found '=', expected: !, identifier, or 'end of string'"},
      {"!a=b", "found '=', expected: ',' or 'end of string'"},
      {"a in b", "unable to parse requirement: found 'b' expected: '('"},
      {"a in (b", "unable to parse requirement: found '', expected: ',' or ')'"},
      {"a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"},
      {"a in (b,", "unable to parse requirement: found '', expected: ',', or identifier"},
      {"a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
      {"a notin", "unable to parse requirement: found '' expected: '('"},
      {"!", "unable to parse requirement: found '', expected: identifier"},
      {"!!a", "unable to parse requirement: found '!', expected: identifier"},
      {"a=(b)", "unable to parse requirement: found '(', expected: identifier"},
      {"a=!b", "unable to parse requirement: found '!', expected: identifier"},
      {"a/b/c=d",
       "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name " +
           kNameRegex +
           " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
      {"-a=b",
       "unable to parse requirement: <nil>: Invalid value: \"-a\": name part " + kNameRegex},
      {longName, "unable to parse requirement: <nil>: Invalid value: \"" + longName +
                     "\": name part must be no more than 63 characters"},
      {"Example.com/a",
       "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part " +
           kSubdomainRegex},
      {"/a",
       "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be "
       "non-empty"},
      {"a/",
       "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be "
       "non-empty; name part " +
           kNameRegex},
      {"a=-b", "unable to parse requirement: values[0][a]: Invalid value: \"-b\": " + kValueRegex},
      {"a in (x,-y)",
       "unable to parse requirement: values[0][a]: Invalid value: \"-y\": " + kValueRegex},
      {"a=" + longName, "unable to parse requirement: values[0][a]: Invalid value: \"" + longName +
                            "\": must be no more than 63 characters"},
      {"a>x",
       "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, "
       "the value must be an integer"},
      {"a<-1", "unable to parse requirement: values[0][a]: Invalid value: \"-1\": " + kValueRegex},
      {"a<+-1",
       "unable to parse requirement: [values[0]: Invalid value: \"+-1\": for 'Gt', 'Lt' "
       "operators, the value must be an integer, values[0][a]: Invalid value: \"+-1\": " +
           kValueRegex + "]"},
  };
  for (const auto& [input, message] : cases) {
    auto parsed = parseSelector(input);
    ASSERT_FALSE(parsed.has_value()) << "'" << input << "' parsed as " << toString(*parsed);
    EXPECT_EQ(parsed.error(), message) << input;
  }
}

struct MatchCase {
  std::string selector;
  std::map<std::string, std::string> labels;
  bool matches;
};

TEST(SelectorMatch, FollowsRequirementSemantics) {
  const std::map<std::string, std::string> web = {{"app", "web"}, {"tier", "front"}, {"n", "7"}};
  const std::vector<MatchCase> cases = {
      {"", {}, true},
      {"", web, true},
      {"app=web", web, true},
      {"app==web", web, true},
      {"app=db", web, false},
      {"app!=db", web, true},
      {"app!=web", web, false},
      {"missing!=x", web, true},
      {"missing=x", web, false},
      {"missing=", web, false},
      {"app in (db,web)", web, true},
      {"app in (db)", web, false},
      {"missing in (x)", web, false},
      {"app notin (db)", web, true},
      {"app notin (web)", web, false},
      {"missing notin (x)", web, true},
      {"app", web, true},
      {"missing", web, false},
      {"!missing", web, true},
      {"!app", web, false},
      {"app=web,tier=front", web, true},
      {"app=web,tier=back", web, false},
      {"n>5", web, true},
      {"n>7", web, false},
      {"n<8", web, true},
      {"app>1", web, false},
      {"missing<1", web, false},
      {"empty=", {{"empty", ""}}, true},
      {"empty in ()", {{"empty", ""}}, true},
  };
  for (const auto& [selector, labels, expected] : cases) {
    auto parsed = parseSelector(selector);
    ASSERT_TRUE(parsed.has_value()) << selector << ": " << parsed.error();
    EXPECT_EQ(matches(*parsed, labels), expected) << selector;
  }
  EXPECT_FALSE(matches(Selector::nothing(), {}));
  EXPECT_FALSE(matches(Selector::nothing(), web));
}

TEST(SelectorLabels, ReadsMetadataLabels) {
  auto object = json(R"({"metadata": {"name": "x", "labels": {"app": "web", "n": 1}}})");
  EXPECT_EQ(labelsOf(object), (std::map<std::string, std::string>{{"app", "web"}}));
  EXPECT_TRUE(labelsOf(json(R"({"metadata": {"name": "x"}})")).empty());
  EXPECT_TRUE(labelsOf(json(R"({"metadata": {"labels": null}})")).empty());
  EXPECT_TRUE(labelsOf(json("[]")).empty());
}

TEST(SelectorLabelSelector, NullMatchesNothingAndEmptyMatchesEverything) {
  auto null = selectorFromLabelSelector(value::null());
  ASSERT_TRUE(null.has_value());
  EXPECT_TRUE(null->matchesNothing);
  EXPECT_FALSE(matches(*null, {{"a", "b"}}));
  EXPECT_FALSE(matches(*null, {}));

  for (const char* empty : {"{}", R"({"matchLabels": {}})", R"({"matchExpressions": []})",
                            R"({"matchLabels": null, "matchExpressions": null})"}) {
    auto selector = selectorFromLabelSelector(json(empty));
    ASSERT_TRUE(selector.has_value()) << empty << ": " << selector.error();
    EXPECT_TRUE(selector->empty()) << empty;
    EXPECT_TRUE(matches(*selector, {})) << empty;
    EXPECT_TRUE(matches(*selector, {{"a", "b"}})) << empty;
  }
}

TEST(SelectorLabelSelector, CombinesMatchLabelsAndExpressions) {
  auto selector = selectorFromLabelSelector(json(R"({
      "matchLabels": {"billing.operator.dev/tenant": "acme"},
      "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "staging"]},
        {"key": "tier", "operator": "NotIn", "values": ["db"]},
        {"key": "team", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist", "values": []}
      ]})"));
  ASSERT_TRUE(selector.has_value()) << selector.error();
  EXPECT_EQ(toString(*selector),
            "billing.operator.dev/tenant=acme,env in (prod,staging),!legacy,team,tier notin (db)");
  const std::map<std::string, std::string> good = {
      {"billing.operator.dev/tenant", "acme"}, {"env", "prod"}, {"team", "x"}};
  EXPECT_TRUE(matches(*selector, good));
  auto wrongTenant = good;
  wrongTenant["billing.operator.dev/tenant"] = "other";
  EXPECT_FALSE(matches(*selector, wrongTenant));
  auto legacy = good;
  legacy["legacy"] = "";
  EXPECT_FALSE(matches(*selector, legacy));
  auto database = good;
  database["tier"] = "db";
  EXPECT_FALSE(matches(*selector, database));
  auto noTeam = good;
  noTeam.erase("team");
  EXPECT_FALSE(matches(*selector, noTeam));
}

TEST(SelectorLabelSelector, RejectsWithKubernetesMessages) {
  const std::vector<InvalidCase> cases = {
      {R"({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]})",
       "\"Equals\" is not a valid label selector operator"},
      {R"({"matchExpressions": [{"key": "a", "operator": "in", "values": ["x"]}]})",
       "\"in\" is not a valid label selector operator"},
      {R"({"matchExpressions": [{"key": "a", "operator": "In"}]})",
       "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"},
      {R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})",
       "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"},
      {R"({"matchExpressions": [{"key": "-k", "operator": "NotIn", "values": []}]})",
       "[key: Invalid value: \"-k\": name part " + kNameRegex +
           ", values: Invalid value: null: for 'in', 'notin' operators, values set can't be "
           "empty]"},
      {R"({"matchLabels": {"bad key": "x"}})",
       "key: Invalid value: \"bad key\": name part " + kNameRegex},
      {R"({"matchLabels": {"app": "-x"}})",
       "values[0][app]: Invalid value: \"-x\": " + kValueRegex},
      {R"({"matchExpressions": [{"key": "a", "operator": "In", "values": ["ok", "-no"]}]})",
       "values[1][a]: Invalid value: \"-no\": " + kValueRegex},
  };
  for (const auto& [input, message] : cases) {
    auto selector = selectorFromLabelSelector(json(input));
    ASSERT_FALSE(selector.has_value()) << input;
    EXPECT_EQ(selector.error(), message) << input;
  }
  EXPECT_FALSE(selectorFromLabelSelector(json(R"({"matchLabels": {"a": 1}})")).has_value());
  EXPECT_FALSE(selectorFromLabelSelector(json(R"({"matchExpressions": {}})")).has_value());
  EXPECT_FALSE(selectorFromLabelSelector(json(R"("app=web")")).has_value());
}

TEST(SelectorValidation, QualifiedNamesAndLabelValues) {
  EXPECT_TRUE(isQualifiedName("app").empty());
  EXPECT_TRUE(isQualifiedName("billing.operator.dev/Tenant_1").empty());
  EXPECT_EQ(isQualifiedName("a_"), std::vector<std::string>{"name part " + kNameRegex});
  EXPECT_EQ(isQualifiedName(std::string(254, 'a') + "/b"),
            (std::vector<std::string>{"prefix part must be no more than 253 characters"}));
  EXPECT_TRUE(isValidLabelValue("").empty());
  EXPECT_TRUE(isValidLabelValue("v1.2_beta-3").empty());
  EXPECT_EQ(isValidLabelValue("a b"), std::vector<std::string>{kValueRegex});
  EXPECT_EQ(isValidLabelValue(std::string(64, '-')),
            (std::vector<std::string>{"must be no more than 63 characters", kValueRegex}));
}

// ---- field selectors ---------------------------------------------------------------------------

TEST(FieldSelectorParse, ReadsTermsInKubernetesOrder) {
  auto parsed = parseFieldSelector("metadata.namespace!=default,metadata.name==web");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->requirements,
            (std::vector<FieldRequirement>{{"metadata.name", false, "web"},
                                           {"metadata.namespace", true, "default"}}));

  auto single = parseFieldSelector("metadata.name=web");
  ASSERT_TRUE(single.has_value());
  EXPECT_EQ(single->requirements, (std::vector<FieldRequirement>{{"metadata.name", false, "web"}}));

  for (const char* empty : {"", ",", ",,"}) {
    auto none = parseFieldSelector(empty);
    ASSERT_TRUE(none.has_value()) << empty;
    EXPECT_TRUE(none->empty()) << empty;
  }
}

TEST(FieldSelectorParse, UnescapesValuesAndKeepsWhitespace) {
  auto parsed = parseFieldSelector(R"(metadata.name=a\,b\=c\\d,type=)");
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->requirements, (std::vector<FieldRequirement>{
                                      {"metadata.name", false, "a,b=c\\d"}, {"type", false, ""}}));
  auto spaced = parseFieldSelector("metadata.name = web");
  ASSERT_TRUE(spaced.has_value());
  EXPECT_EQ(spaced->requirements,
            (std::vector<FieldRequirement>{{"metadata.name ", false, " web"}}));
}

TEST(FieldSelectorParse, RejectsWithKubernetesMessages) {
  const std::vector<InvalidCase> cases = {
      {"metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"},
      {"a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"},
      {"a=b=c", "invalid field selector: unescaped character in value: 61"},
      {R"(a=b\x)", R"(invalid field selector: invalid escape sequence: \x)"},
      {"a=b\\", R"(invalid field selector: invalid escape sequence: \)"},
      {"a=\xC3\xA9\\\xC3\xA9", "invalid field selector: invalid escape sequence: \\\xC3\xA9"},
  };
  for (const auto& [input, message] : cases) {
    auto parsed = parseFieldSelector(input);
    ASSERT_FALSE(parsed.has_value()) << input;
    EXPECT_EQ(parsed.error(), message) << input;
  }
}

TEST(FieldSelectorSupport, WordsUnsupportedFieldsPerKind) {
  auto selector = parseFieldSelector("spec.x=1,metadata.name=a");
  ASSERT_TRUE(selector.has_value());
  EXPECT_EQ(unsupportedField(*selector, FieldSelectorSupport::customResource(true)),
            "field label not supported: spec.x");
  EXPECT_EQ(unsupportedField(*selector, FieldSelectorSupport::metadataOnly("ConfigMap")),
            "field label \"spec.x\" not supported for \"ConfigMap\"");
  EXPECT_EQ(unsupportedField(*selector, FieldSelectorSupport::schemeDefault()),
            "\"spec.x\" is not a known field selector: only \"metadata.name\", "
            "\"metadata.namespace\"");

  auto namespaced = parseFieldSelector("metadata.namespace=billing,metadata.name=a");
  ASSERT_TRUE(namespaced.has_value());
  EXPECT_EQ(unsupportedField(*namespaced, FieldSelectorSupport::customResource(true)),
            std::nullopt);
  EXPECT_EQ(unsupportedField(*namespaced, FieldSelectorSupport::customResource(false)),
            "field label not supported: metadata.namespace");

  // The first unsupported term in kubernetes' (sorted) order is the one named.
  auto two = parseFieldSelector("z.a=1,b.c=2");
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(unsupportedField(*two, FieldSelectorSupport::customResource(true)),
            "field label not supported: b.c");
}

TEST(FieldSelectorSupport, ExtendsForEventsAndSecrets) {
  FieldSelectorSupport events = FieldSelectorSupport::customResource(true);
  events.fields.insert(events.fields.end(), {"involvedObject.name", "involvedObject.kind", "type"});
  auto selector = parseFieldSelector("involvedObject.name=acme,involvedObject.kind=BillingAccount");
  ASSERT_TRUE(selector.has_value());
  EXPECT_EQ(unsupportedField(*selector, events), std::nullopt);
  auto event = json(R"({"metadata": {"name": "e1", "namespace": "billing"},
                        "involvedObject": {"kind": "BillingAccount", "name": "acme"},
                        "type": "Normal"})");
  EXPECT_TRUE(matches(*selector, fieldsOf(event, events)));
  auto other = parseFieldSelector("involvedObject.name=other");
  EXPECT_FALSE(matches(*other, fieldsOf(event, events)));
}

TEST(FieldSelectorMatch, ComparesValuesAndTreatsAbsentAsEmpty) {
  const std::map<std::string, std::string> fields = {{"metadata.name", "web"},
                                                     {"metadata.namespace", "default"}};
  const std::vector<std::pair<std::string, bool>> cases = {
      {"", true},
      {"metadata.name=web", true},
      {"metadata.name==web", true},
      {"metadata.name=db", false},
      {"metadata.name!=db", true},
      {"metadata.name!=web", false},
      {"metadata.name=web,metadata.namespace=default", true},
      {"metadata.name=web,metadata.namespace!=default", false},
      {"status.phase=", true},
      {"status.phase!=", false},
  };
  for (const auto& [text, expected] : cases) {
    auto selector = parseFieldSelector(text);
    ASSERT_TRUE(selector.has_value()) << text;
    EXPECT_EQ(matches(*selector, fields), expected) << text;
  }
}

TEST(FieldSelectorMatch, ReadsFieldValuesFromObjects) {
  auto object = json(R"({"metadata": {"name": "s", "namespace": "ns"}, "type": "Opaque",
                         "spec": {"suspend": true, "replicas": 3, "ratio": 0.5, "list": []}})");
  EXPECT_EQ(fieldValue(object, "metadata.name"), "s");
  EXPECT_EQ(fieldValue(object, "type"), "Opaque");
  EXPECT_EQ(fieldValue(object, "spec.suspend"), "true");
  EXPECT_EQ(fieldValue(object, "spec.replicas"), "3");
  EXPECT_EQ(fieldValue(object, "spec.ratio"), "");
  EXPECT_EQ(fieldValue(object, "spec.list"), "");
  EXPECT_EQ(fieldValue(object, "spec.missing"), "");
  EXPECT_EQ(fieldValue(object, "type.deeper"), "");
  EXPECT_EQ(fieldsOf(object, FieldSelectorSupport::customResource(false)),
            (std::map<std::string, std::string>{{"metadata.name", "s"}}));
}

}  // namespace
}  // namespace billing::apiserver
