// tools/chart-render's template engine against what Go's text/template, Sprig and Helm print for
// the same input (expected outputs as `helm template` gives them), and its refusals: anything
// outside the subset is an error with file and line, never a different result.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "common/json.h"
#include "tools/chart-render/chart.h"
#include "tools/chart-render/schema.h"
#include "tools/chart-render/template.h"

namespace billing::chart {
namespace {

using ::testing::HasSubstr;

Value values(const std::string& yaml) { return fromYaml(YAML::Load(yaml), "test"); }

std::string render(const std::string& text, const Value& dot = Value(Map{})) {
  TemplateSet set;
  set.parse("t.yaml", text);
  return set.render("t.yaml", dot);
}

std::string renderError(const std::string& text, const Value& dot = Value(Map{})) {
  try {
    render(text, dot);
  } catch (const TemplateError& error) {
    return error.what();
  }
  return "no error";
}

TEST(ChartRenderTest, TrimMarkersEatWhitespaceOnTheirSide) {
  EXPECT_EQ(render("a  {{- \"b\" -}}  \n c"), "abc");
  EXPECT_EQ(render("a\n{{- if true }}\nb\n{{- end }}\nc"), "a\nb\nc");
  EXPECT_EQ(render("x {{/* a comment */}} y"), "x  y");
  EXPECT_EQ(render("x {{- /* trimmed */ -}} y"), "xy");
}

TEST(ChartRenderTest, ConditionalsFollowGoTruth) {
  const Value dot = Value(Map{{"Values", values("{zero: 0, empty: '', list: [], map: {}, "
                                                "one: 1, text: x, flag: false}")}});
  EXPECT_EQ(render("{{ if .Values.zero }}t{{ else }}f{{ end }}", dot), "f");
  EXPECT_EQ(render("{{ if .Values.empty }}t{{ else }}f{{ end }}", dot), "f");
  EXPECT_EQ(render("{{ if .Values.list }}t{{ else }}f{{ end }}", dot), "f");
  EXPECT_EQ(render("{{ if .Values.missing.deeper }}t{{ else }}f{{ end }}", dot), "f");
  EXPECT_EQ(render("{{ if .Values.flag }}a{{ else if .Values.one }}b{{ else }}c{{ end }}", dot),
            "b");
  EXPECT_EQ(render("{{ with .Values.text }}[{{ . }}]{{ end }}", dot), "[x]");
  EXPECT_EQ(render("{{ and .Values.one .Values.text }}|{{ or .Values.zero .Values.text }}", dot),
            "x|x");
  EXPECT_EQ(render("{{ not .Values.flag }} {{ eq .Values.text \"x\" \"y\" }} {{ ne 1 2 }}", dot),
            "true true true");
}

TEST(ChartRenderTest, RangeOverListsAndSortedMaps) {
  const Value dot = Value(Map{{"Values", values("{l: [a, b], m: {z: 1, a: 2}}")}});
  EXPECT_EQ(render("{{ range .Values.l }}<{{ . }}>{{ end }}", dot), "<a><b>");
  EXPECT_EQ(render("{{ range $i, $v := .Values.l }}{{ $i }}={{ $v }};{{ end }}", dot), "0=a;1=b;");
  EXPECT_EQ(render("{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}", dot), "a=2;z=1;");
  EXPECT_EQ(render("{{ range .Values.none }}x{{ else }}empty{{ end }}", dot), "empty");
  EXPECT_EQ(render("{{ range .Values.l }}{{ $.Values.m.z }}{{ end }}", dot), "11");
}

TEST(ChartRenderTest, DefinesIncludesAndIndentation) {
  const std::string text =
      "{{- define \"labels\" -}}\na: {{ .name }}\nb: \"2\"\n{{- end }}\n"
      "metadata:\n  labels:\n    {{- include \"labels\" .Values | nindent 4 }}\n";
  const Value dot = Value(Map{{"Values", values("{name: web}")}});
  // The newline after {{- end }} is output, as Go prints it.
  EXPECT_EQ(render(text, dot), "\nmetadata:\n  labels:\n    a: web\n    b: \"2\"\n");
  EXPECT_EQ(render("{{ template \"x\" . }}{{ define \"x\" }}[{{ .a }}]{{ end }}",
                   Value(Map{{"a", Value("v")}})),
            "[v]");
}

TEST(ChartRenderTest, ToYamlWritesWhatHelmWrites) {
  const Value value = values(R"(
requests: {memory: 64Mi, cpu: 50m}
tolerations:
  - key: dedicated
    operator: Equal
    value: "true"
  - operator: Exists
empty: {}
none: []
port: 8080
ratio: 0.5
text: "8080"
colon: "a: b"
multi: "line1\nline2"
)");
  EXPECT_EQ(toYaml(value),
            "colon: 'a: b'\n"
            "empty: {}\n"
            "multi: |-\n  line1\n  line2\n"
            "none: []\n"
            "port: 8080\n"
            "ratio: 0.5\n"
            "requests:\n  cpu: 50m\n  memory: 64Mi\n"
            "text: \"8080\"\n"
            "tolerations:\n- key: dedicated\n  operator: Equal\n  value: \"true\"\n"
            "- operator: Exists");
}

TEST(ChartRenderTest, SprigStringFunctions) {
  EXPECT_EQ(render("{{ \"abcdef-\" | trunc 7 | trimSuffix \"-\" }}"), "abcdef");
  EXPECT_EQ(render("{{ printf \"%s-%s\" \"a\" \"b\" | replace \"-\" \"+\" }}"), "a+b");
  EXPECT_EQ(render("{{ quote \"a\\\"b\" }} {{ \"x\" | b64enc }}"), "\"a\\\"b\" eA==");
  EXPECT_EQ(
      render("{{ default \"d\" \"\" }} {{ default \"d\" \"v\" }} {{ contains \"b\" \"abc\" }}"),
      "d v true");
  EXPECT_EQ(render("{{ \"a\\nb\" | indent 2 }}"), "  a\n  b");
  EXPECT_EQ(render("{{ gt (int \"3\") 1 }}"), "true");
}

TEST(ChartRenderTest, RequiredFailsWithItsMessage) {
  const Value dot = Value(Map{{"Values", values("{set: x}")}});
  EXPECT_EQ(render("{{ required \"need it\" .Values.set }}", dot), "x");
  EXPECT_THAT(renderError("line1\n{{ required \"secretName is required\" .Values.unset }}", dot),
              HasSubstr("t.yaml:2: secretName is required"));
}

TEST(ChartRenderTest, WhatIsOutsideTheSubsetIsAnErrorWithItsLine) {
  EXPECT_THAT(renderError("a\nb\n{{ lookup \"v1\" \"Secret\" \"ns\" \"n\" }}"),
              HasSubstr("t.yaml:3: function \"lookup\" is outside the supported subset"));
  EXPECT_THAT(renderError("{{ if true }}x"), HasSubstr("without {{end}}"));
  EXPECT_THAT(renderError("{{ block \"x\" . }}{{ end }}"),
              HasSubstr("outside the supported subset"));
  EXPECT_THAT(renderError("{{ eq 1 \"1\" }}"), HasSubstr("incompatible types for comparison"));
  EXPECT_THAT(renderError("{{ include \"nope\" . }}"), HasSubstr("no template \"nope\""));
}

TEST(ChartRenderTest, ValuesLoadAsHelmLoadsThem) {
  const Value loaded = values("{a: true, b: 'true', c: 8080, d: '8080', e: 0.1.0, f: ~, g: 1.5}");
  EXPECT_TRUE(loaded.field("a").isBool());
  EXPECT_TRUE(loaded.field("b").isString());
  EXPECT_TRUE(loaded.field("c").isInt());
  EXPECT_TRUE(loaded.field("d").isString());
  EXPECT_EQ(loaded.field("e").print(), "0.1.0");
  EXPECT_TRUE(loaded.field("f").isNil());
  EXPECT_TRUE(loaded.field("g").isFloat());
  // --set and -f merge over values.yaml; null deletes.
  const Value merged =
      mergeValues(values("{a: {b: 1, c: 2}, d: 3}"), values("{a: {c: 5}, d: null}"));
  EXPECT_EQ(toYaml(merged), "a:\n  b: 1\n  c: 5");
  auto set = parseSet("webhook.certificates.mode=cert-manager");
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(toYaml(*set), "webhook:\n  certificates:\n    mode: cert-manager");
  EXPECT_FALSE(parseSet("tolerations[0].key=x").has_value());
}

TEST(ChartRenderTest, SchemaKeywordsOutsideTheCheckerAreRefused) {
  auto schema = common::parseJson(R"({"type": "object", "patternProperties": {}})");
  ASSERT_TRUE(schema.has_value());
  EXPECT_THROW(validateValues(Value(Map{}), *schema), std::runtime_error);
  auto nested = common::parseJson(
      R"({"type": "object", "properties": {"n": {"type": "integer", "maximum": 3}},
          "required": ["n"]})");
  ASSERT_TRUE(nested.has_value());
  EXPECT_THAT(validateValues(values("{n: 4}"), *nested),
              ::testing::ElementsAre("n: must be at most 3"));
  EXPECT_THAT(validateValues(values("{}"), *nested),
              ::testing::ElementsAre("(root): n is required"));
  EXPECT_TRUE(validateValues(values("{n: 3}"), *nested).empty());
}

}  // namespace
}  // namespace billing::chart
