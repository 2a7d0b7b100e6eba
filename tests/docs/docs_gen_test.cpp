// The documentation generator (tools/docs-gen): what a reader of docs/ would notice when it is
// wrong — a field, flag or value missing, a wrong default or constraint, a broken table, prose
// around the markers lost.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tools/docs-gen/markdown.h"

namespace billing::docsgen {
namespace {

constexpr const char* kCrd = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.dev
spec:
  group: example.dev
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd], categories: [all]}
  versions:
    - name: v1
      served: true
      storage: true
      additionalPrinterColumns:
        - {name: Size, type: integer, jsonPath: .spec.size, description: How big.}
        - {name: Owner, type: string, jsonPath: .spec.owner, priority: 1, description: Who.}
      schema:
        openAPIV3Schema:
          type: object
          description: A widget.
          properties:
            apiVersion: {type: string, description: skipped}
            metadata: {type: object}
            spec:
              type: object
              description: Desired widget.
              required: [size]
              properties:
                size: {type: integer, format: int32, minimum: 1, maximum: 9, default: 3, description: "Size | in units."}
                mode: {type: string, enum: [Fast, Slow], description: "Mode,
                  folded."}
                emails:
                  type: array
                  maxItems: 5
                  description: Addresses.
                  items: {type: string, pattern: '^[^@]+@[^@]+$', description: One address.}
                refs:
                  type: array
                  description: References.
                  items:
                    type: object
                    description: A reference.
                    properties:
                      name: {type: string, description: Its name.}
                labels:
                  type: object
                  description: Labels.
                  additionalProperties: {type: string, description: A value.}
)";

TEST(CrdReference, ListsNamesColumnsAndEveryFieldWithTypeDefaultValidationAndDescription) {
  auto text = crdReference(kCrd);
  ASSERT_TRUE(text) << text.error();
  EXPECT_NE(text->find("| `Widget` | `widgets` | `widget` | `wd` | `all` | `Namespaced` | "
                       "`example.dev` |"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("| Size | integer | `.spec.size` | 0 | How big. |"), std::string::npos);
  EXPECT_NE(text->find("| Owner | string | `.spec.owner` | 1 | Who. |"), std::string::npos);
  EXPECT_NE(text->find("| `spec.size` | integer (int32) | `3` | required; min 1; max 9 | "
                       "Size \\| in units. |"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("| `spec.mode` | string |  | one of `Fast`, `Slow` | Mode, folded. |"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("| `spec.emails` | []string |  | max items 5 | Addresses. |"),
            std::string::npos);
  EXPECT_NE(text->find("| `spec.refs[].name` | string |"), std::string::npos);
  EXPECT_NE(text->find("| `spec.labels` | map[string]string |"), std::string::npos);
  EXPECT_NE(text->find("| `metadata` | object |"), std::string::npos);
  EXPECT_EQ(text->find("apiVersion"), std::string::npos) << "apiVersion is the same everywhere";
}

TEST(CrdReference, RefusesAFieldWithoutDescriptionNamingIt) {
  std::string crd = kCrd;
  crd.replace(crd.find(", description: Its name."), std::string(", description: Its name.").size(),
              "");
  auto text = crdReference(crd);
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().find("spec.refs[].name has no description"), std::string::npos)
      << text.error();
}

TEST(CrdReference, RefusesWhatIsNotACrd) {
  EXPECT_FALSE(crdReference("kind: ConfigMap\n"));
  EXPECT_FALSE(crdReference("a: [\n"));
}

constexpr const char* kValues = R"(# Header comment, not a description.

# -- How many. Two keep it
# available.
replicaCount: 2
image:
  repository: example/app
  tag: ""
empty: {}
mode: fast
)";

constexpr const char* kSchema = R"({
  "type": "object",
  "properties": {
    "replicaCount": {"type": "integer", "minimum": 1},
    "image": {"type": "object", "required": ["repository"], "properties": {
      "repository": {"type": "string", "description": "Image repository"},
      "tag": {"type": "string"}}},
    "empty": {"type": "object", "properties": {"name": {"type": "string"}}},
    "mode": {"enum": ["fast", "slow"]}
  }
})";

TEST(ValuesReference, TakesDescriptionsFromSchemaCommentsAndExtrasAndDefaultsFromValues) {
  auto text = valuesReference(
      kValues, kSchema,
      {{"image.tag", "Image tag."}, {"empty.name", "A name."}, {"mode", "The mode."}});
  ASSERT_TRUE(text) << text.error();
  EXPECT_NE(text->find("| `replicaCount` | integer | `2` | min 1 | How many. Two keep it "
                       "available. |"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("| `image.repository` | string | `\"example/app\"` | required | Image "
                       "repository |"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("| `image.tag` | string | `\"\"` |  | Image tag. |"), std::string::npos);
  EXPECT_NE(text->find("| `empty.name` | string | (unset) |  | A name. |"), std::string::npos)
      << *text;
  EXPECT_NE(text->find("| `mode` | string | `\"fast\"` | one of `fast`, `slow` | The mode. |"),
            std::string::npos)
      << *text;
  EXPECT_EQ(text->find("Header comment"), std::string::npos);
}

TEST(ValuesReference, RefusesAnUndocumentedValueAndAStaleExtraDescription) {
  auto undocumented = valuesReference(kValues, kSchema, {{"image.tag", "t"}, {"mode", "m"}});
  ASSERT_FALSE(undocumented);
  EXPECT_NE(undocumented.error().find("chart value empty.name has no description"),
            std::string::npos)
      << undocumented.error();

  auto stale = valuesReference(
      kValues, kSchema,
      {{"image.tag", "t"}, {"empty.name", "n"}, {"mode", "m"}, {"gone.value", "old"}});
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().find("gone.value, which is not a value of the chart"), std::string::npos)
      << stale.error();
}

TEST(FlagsReference, OneRowPerFlagGroupedBySectionWithContinuationLinesAndNotes) {
  constexpr const char* kHelp = R"(Usage: tool run [flags]

Intro text that is not a flag.

Access:
  --kubeconfig FILE        kubeconfig to use; otherwise
                           $KUBECONFIG
  --leader-elect           elect a leader (default false)

  -h, --help               show this help

D is a duration.

Exit codes:
  0  clean
)";
  auto text = flagsReference(kHelp);
  ASSERT_TRUE(text) << text.error();
  EXPECT_NE(text->find("**Access**"), std::string::npos) << *text;
  EXPECT_NE(text->find("| `--kubeconfig` | `FILE` | kubeconfig to use; otherwise $KUBECONFIG |"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("| `--leader-elect` |  | elect a leader (default false) |"),
            std::string::npos);
  EXPECT_NE(text->find("**General**"), std::string::npos);
  EXPECT_NE(text->find("| `-h`, `--help` |  | show this help |"), std::string::npos);
  EXPECT_NE(text->find("```\nD is a duration.\n\nExit codes:\n  0  clean\n```"), std::string::npos)
      << *text;
  EXPECT_EQ(text->find("Intro text"), std::string::npos);
}

TEST(FlagsReference, RefusesAHelpTextWithoutFlags) {
  EXPECT_FALSE(flagsReference("Usage: tool\n\nNo flags here.\n"));
}

TEST(SpliceGenerated, ReplacesOnlyBetweenTheMarkersAndKeepsTheProse) {
  const std::string doc =
      "# Title\nprose before\n<!-- BEGIN GENERATED: a -->\nold\nlines\n<!-- END GENERATED: a "
      "-->\nprose after\n<!-- BEGIN GENERATED: b -->\nkeep\n<!-- END GENERATED: b -->\n";
  auto out = spliceGenerated(doc, "a", "new");
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(*out,
            "# Title\nprose before\n<!-- BEGIN GENERATED: a -->\nnew\n<!-- END GENERATED: a "
            "-->\nprose after\n<!-- BEGIN GENERATED: b -->\nkeep\n<!-- END GENERATED: b -->\n");
  auto again = spliceGenerated(*out, "a", "new");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *out) << "splicing the same content twice changes nothing";
}

TEST(SpliceGenerated, RefusesMissingRepeatedOrReversedMarkers) {
  auto missing = spliceGenerated("text\n", "a", "x");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("<!-- BEGIN GENERATED: a --> is missing"), std::string::npos);
  EXPECT_FALSE(spliceGenerated(
      "<!-- BEGIN GENERATED: a -->\n<!-- BEGIN GENERATED: a -->\n<!-- END GENERATED: a -->\n", "a",
      "x"));
  EXPECT_FALSE(
      spliceGenerated("<!-- END GENERATED: a -->\n<!-- BEGIN GENERATED: a -->\n", "a", "x"));
  // A marker quoted inside a line is prose, not a marker.
  EXPECT_FALSE(
      spliceGenerated("see `<!-- BEGIN GENERATED: a -->`\n<!-- END GENERATED: a -->\n", "a", "x"));
}

TEST(Cell, FoldsWhitespaceAndEscapesPipes) {
  EXPECT_EQ(cell("  a\n  b | c  "), "a b \\| c");
  EXPECT_EQ(cell(""), "");
}

// The real sources generate without error: every CRD field and chart value is described.
std::string readSource(const std::string& relative) {
  std::ifstream in(std::string(BILLING_SOURCE_DIR) + "/" + relative);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(RealSources, EveryCrdGenerates) {
  for (const char* plural : {"billinggroups", "projects", "invoices"}) {
    auto text =
        crdReference(readSource(std::string("crds/billing.operator.dev_") + plural + ".yaml"));
    ASSERT_TRUE(text) << plural << ": " << text.error();
    EXPECT_NE(text->find("| `spec` | object |"), std::string::npos) << plural;
    EXPECT_NE(text->find("| `status.conditions` |"), std::string::npos) << plural;
  }
}

}  // namespace
}  // namespace billing::docsgen
