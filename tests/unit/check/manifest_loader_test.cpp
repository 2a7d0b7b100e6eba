#include "operator/check/manifest_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace billing::check {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A scratch folder of manifests, removed at the end of each test.
class ManifestLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("manifest_loader_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string write(const std::string& relative, const std::string& text) {
    fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  LoadResult load(const std::vector<std::string>& paths) {
    return ManifestLoader(LoadOptions{}).load(paths);
  }

  fs::path root_;
};

constexpr const char* kGroup = R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: shared
  namespace: acme
spec:
  currency: EUR
)";

TEST_F(ManifestLoaderTest, ReadsFoldersRecursivelyInNameOrderAndSkipsHiddenEntries) {
  write("b/group.yaml", kGroup);
  write("a/ns.yml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n");
  write(".git/config.yaml", kGroup);  // hidden folder: not a manifest
  write("notes.txt", kGroup);         // not a manifest extension
  auto result = load({root_.string()});
  EXPECT_TRUE(result.inputErrors.empty());
  EXPECT_EQ(result.files, 2);
  EXPECT_THAT(result.snapshot.namespaces, SizeIs(1));
  EXPECT_THAT(result.snapshot.billingGroups, SizeIs(1));
}

TEST_F(ManifestLoaderTest, IgnoresOtherKindsAndNonObjects) {
  write("mixed.yaml", std::string(kGroup) +
                          "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n"
                          "---\nreplicas: 3\n---\n# only a comment\n");
  auto result = load({root_.string()});
  EXPECT_EQ(result.skippedDocuments, 2);
  EXPECT_THAT(result.snapshot.billingGroups, SizeIs(1));
  EXPECT_TRUE(result.decodeViolations.empty());
}

TEST_F(ManifestLoaderTest, DecodeViolationsPointAtTheFieldLine) {
  std::string file =
      write("group.yaml", std::string("# leading comment\n---\n") + kGroup + "  scope: Everyone\n");
  auto result = load({file});
  ASSERT_THAT(result.decodeViolations, SizeIs(1));
  EXPECT_EQ(result.decodeViolations[0].violation.code, domain::Code::InvalidScope);
  EXPECT_EQ(result.decodeViolations[0].location.file, file);
  EXPECT_EQ(result.decodeViolations[0].location.line, 10);
}

TEST_F(ManifestLoaderTest, LocatesRuleViolationsByObjectAndField) {
  std::string file = write("group.yaml", kGroup);
  auto result = load({file});
  domain::Violation violation{domain::Code::InvalidCurrency,
                              domain::Severity::Error,
                              {domain::Kind::BillingGroup, "acme", "shared"},
                              "spec.currency",
                              "message"};
  auto location = result.locate(violation);
  EXPECT_EQ(location.file, file);
  EXPECT_EQ(location.line, 7);
  // A field that is not in the document falls back to its nearest ancestor that is.
  violation.field = "spec.paymentMethod.secretRef";
  EXPECT_EQ(result.locate(violation).line, 6);
}

TEST_F(ManifestLoaderTest, DuplicatesAreLocatedAtEachDeclaration) {
  std::string file = write("twice.yaml", std::string(kGroup) + "---\n" + kGroup);
  auto result = load({file});
  domain::Violation violation{domain::Code::DuplicateObject,
                              domain::Severity::Error,
                              {domain::Kind::BillingGroup, "acme", "shared"},
                              "metadata.name",
                              "message"};
  EXPECT_EQ(result.locate(violation, 0).line, 4);
  EXPECT_EQ(result.locate(violation, 1).line, 12);
}

TEST_F(ManifestLoaderTest, ListItemsAreLoadedWithTheirOwnLines) {
  std::string file = write("list.yaml", R"(apiVersion: v1
kind: List
items:
  - apiVersion: billing.operator.dev/v1alpha1
    kind: Project
    metadata:
      name: web
      namespace: acme
    spec:
      billingGroupRef:
        name: 7
)");
  auto result = load({file});
  ASSERT_THAT(result.snapshot.projects, SizeIs(1));
  ASSERT_THAT(result.decodeViolations, SizeIs(1));
  EXPECT_EQ(result.decodeViolations[0].violation.field, "spec.billingGroupRef.name");
  EXPECT_EQ(result.decodeViolations[0].location.line, 11);
}

TEST_F(ManifestLoaderTest, ObjectsWithoutNamespaceGetTheDefault) {
  write("p.yaml",
        "apiVersion: billing.operator.dev/v1alpha1\nkind: Project\nmetadata:\n  name: web\n"
        "spec: {}\n");
  auto result = ManifestLoader(LoadOptions{.defaultNamespace = "team-a"}).load({root_.string()});
  ASSERT_THAT(result.snapshot.projects, SizeIs(1));
  EXPECT_EQ(result.snapshot.projects[0].metadata.ns, "team-a");
}

TEST_F(ManifestLoaderTest, UnservedVersionOfOurKindIsAViolation) {
  write("old.yaml",
        "apiVersion: billing.operator.dev/v1beta9\nkind: Project\nmetadata:\n  name: web\n"
        "  namespace: acme\nspec: {}\n");
  auto result = load({root_.string()});
  ASSERT_THAT(result.decodeViolations, SizeIs(1));
  const auto& v = result.decodeViolations[0];
  EXPECT_EQ(v.violation.code, domain::Code::UnsupportedValue);
  EXPECT_EQ(v.violation.object.kind, domain::Kind::Project);
  EXPECT_EQ(v.violation.object.name, "web");
  EXPECT_EQ(v.location.line, 1);
  EXPECT_THAT(v.violation.message, HasSubstr("billing.operator.dev/v1beta9 is not served"));
  EXPECT_TRUE(result.snapshot.projects.empty());
}

TEST_F(ManifestLoaderTest, MissingPathsAndMalformedYamlAreInputErrors) {
  std::string bad = write("bad.yaml", "metadata:\n  name: [unclosed\n");
  auto result = load({(root_ / "missing").string(), bad});
  ASSERT_THAT(result.inputErrors, SizeIs(2));
  EXPECT_THAT(result.inputErrors[0].message, HasSubstr("no such file or directory"));
  EXPECT_EQ(result.inputErrors[1].location.file, bad);
  EXPECT_GT(result.inputErrors[1].location.line, 0);
  EXPECT_THAT(result.inputErrors[1].message, HasSubstr("malformed YAML"));
}

}  // namespace
}  // namespace billing::check
