// Runs the real billing-operator binary on the example folders and asserts what a user sees:
// exit codes, FILE:LINE locations, messages and the JSON report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/json.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct ProcessResult {
  int exitCode = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs billing-operator with `args` from the source tree, so paths in output are relative.
ProcessResult runOperator(const std::vector<std::string>& args) {
  static int counter = 0;
  auto errFile =
      std::filesystem::temp_directory_path() /
      ("check_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".err");
  std::string command = "cd " + quote(BILLING_SOURCE_DIR) + " && " + quote(BILLING_OPERATOR_BINARY);
  for (const auto& arg : args) command += " " + quote(arg);
  command += " 2>" + quote(errFile.string());
  ProcessResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.out.append(buffer.data(), n);
  int status = ::pclose(pipe);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream errIn(errFile);
  result.err.assign(std::istreambuf_iterator<char>(errIn), std::istreambuf_iterator<char>());
  std::filesystem::remove(errFile);
  return result;
}

constexpr const char* kNow = "--now=2026-11-27T00:00:00Z";

TEST(CheckCliTest, ExampleGitopsFolderIsClean) {
  auto result = runOperator({"check", kNow, "examples/gitops"});
  EXPECT_EQ(result.exitCode, 0) << result.out << result.err;
  EXPECT_EQ(result.out,
            "check: OK, 0 errors, 0 warnings in 7 files (5 namespaces, 4 billing groups, "
            "7 projects, 1 invoice; 1 other documents ignored)\n");
}

struct BrokenCase {
  const char* folder;
  int exitCode;
  const char* code;  // the code that must be reported
  int line;          // the line of manifest.yaml it must point at
  const char* phrase;
};

class BrokenExampleTest : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenExampleTest, ReportsTheBrokenRuleAtItsLine) {
  const BrokenCase& c = GetParam();
  std::string file = std::string("examples/broken/") + c.folder + "/manifest.yaml";
  auto result = runOperator({"check", kNow, std::string("examples/broken/") + c.folder});
  EXPECT_EQ(result.exitCode, c.exitCode) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr(file + ":" + std::to_string(c.line) + ": "));
  EXPECT_THAT(result.out, HasSubstr(c.code));
  EXPECT_THAT(result.out, HasSubstr(c.phrase));
  EXPECT_EQ(result.err, "");
}

INSTANTIATE_TEST_SUITE_P(
    Rules, BrokenExampleTest,
    ::testing::Values(
        BrokenCase{"r1-invalid-scope", 1, "R1 InvalidScope, spec.scope", 15,
                   "unsupported value \"Team\": supported values are \"Organization\", "
                   "\"Project\""},
        BrokenCase{"r2-cross-organization", 1,
                   "R2 CrossOrganization, spec.billingGroupRef.namespace", 32,
                   "Project acme-web/web (organization acme) references billing group "
                   "beta/shared (organization beta): a project may only use billing groups of "
                   "its own organization"},
        BrokenCase{"r2-credits-on-project-group", 1, "R2 CreditsOnProjectGroup, spec.credits", 19,
                   "credits exist only on organization billing groups"},
        BrokenCase{"r3-project-group-bound-to-other", 1,
                   "R3 ProjectGroupBoundToOther, spec.billingGroupRef.name", 34,
                   "a project billing group bound to acme-web/web"},
        BrokenCase{"r3-duplicate-project-group", 1,
                   "R3 DuplicateProjectGroup, spec.projectRef.name", 28,
                   "is a second project billing group for project acme-web/web"},
        BrokenCase{"r3-project-ref-missing", 1, "R3 ProjectRefMissing, spec.projectRef.name", 14,
                   "has scope Project but names no project"},
        BrokenCase{"r4-billing-group-not-found", 1,
                   "R4 BillingGroupNotFound, spec.billingGroupRef.name", 16,
                   "references billing group acme-web/does-not-exist, which does not exist"},
        BrokenCase{"r4-default-group-name-taken", 1,
                   "R4 DefaultGroupNameTaken, spec.billingGroupRef", 23,
                   "a billing group of that name already exists"},
        BrokenCase{"r5-owner-reference-on-organization-group", 0,
                   "R5 OwnerReferenceOnOrganizationGroup, metadata.ownerReferences", 15,
                   "warning: "},
        BrokenCase{"r7-duplicate-invoice", 1, "R7 DuplicateInvoice, spec.periodStart", 36,
                   "is a second invoice for billing group acme-web/shared"},
        BrokenCase{"r7-period-not-aligned", 1, "R7 PeriodNotAligned, spec.periodStart", 25,
                   "is not one Monthly period of billing group acme-web/shared"},
        BrokenCase{"r7-period-not-ended", 1, "R7 PeriodNotEnded, spec.finalize", 27,
                   "only ended periods can be closed"},
        BrokenCase{"r8-secret-in-spec", 1, "R8 SecretInSpec, spec.paymentMethod.cardNumber", 21,
                   "must live in a Kubernetes Secret"},
        BrokenCase{"r8-payment-secret-ref-missing", 1,
                   "R8 PaymentSecretRefMissing, spec.paymentMethod.secretRef", 16,
                   "pays by Card but names no Secret"},
        BrokenCase{"r8-invalid-currency", 1, "R8 InvalidCurrency, spec.currency", 15,
                   "\"EUX\" is not an active ISO 4217 code"},
        BrokenCase{"r10-organization-label-mismatch", 1,
                   "R10 OrganizationLabelMismatch, "
                   "metadata.labels[billing.operator.dev/organization]",
                   15, "the organization is decided by the label on Namespace acme-web"},
        BrokenCase{"schema-wrong-type", 1, "InvalidType, spec.billingEmails", 15,
                   "must be an array, got string"},
        BrokenCase{"schema-missing-required", 1, "Required, spec.currency", 13,
                   "field spec.currency is required"},
        BrokenCase{"schema-duplicate-object", 1, "DuplicateObject, metadata.name", 19,
                   "BillingGroup acme-web/shared is declared more than once"},
        BrokenCase{"schema-unknown-field", 1, "UnknownField, spec.colour", 15,
                   "is not a field of BillingGroup"}),
    [](const ::testing::TestParamInfo<BrokenCase>& param) {
      std::string name = param.param.folder;
      for (char& ch : name) {
        if (ch == '-') ch = '_';
      }
      return name;
    });

TEST(CheckCliTest, MalformedYamlIsUnusableInputWithFileAndLine) {
  auto result = runOperator({"check", "examples/broken/schema-malformed-yaml"});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.out, HasSubstr("examples/broken/schema-malformed-yaml/manifest.yaml:"));
  EXPECT_THAT(result.out, HasSubstr(": error: malformed YAML: "));
  EXPECT_THAT(result.out, HasSubstr("1 unusable input"));
}

TEST(CheckCliTest, MissingPathIsUnusableInput) {
  auto result = runOperator({"check", "examples/no-such-folder"});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.out, HasSubstr("examples/no-such-folder: error: no such file or directory"));
}

TEST(CheckCliTest, JsonReportCarriesEveryField) {
  auto result =
      runOperator({"check", kNow, "--output", "json", "examples/broken/r2-cross-organization"});
  EXPECT_EQ(result.exitCode, 1);
  auto report = billing::common::parseJson(result.out);
  ASSERT_TRUE(report.has_value()) << result.out;
  const auto& violations = report->at("violations").as_array();
  ASSERT_EQ(violations.size(), 1u);
  const auto& v = violations.at(0);
  EXPECT_EQ(v.at("code").as_string(), "CrossOrganization");
  EXPECT_EQ(v.at("rule").as_string(), "R2");
  EXPECT_EQ(v.at("severity").as_string(), "error");
  EXPECT_EQ(v.at("file").as_string(), "examples/broken/r2-cross-organization/manifest.yaml");
  EXPECT_EQ(v.at("line").as_integer(), 32);
  EXPECT_EQ(v.at("kind").as_string(), "Project");
  EXPECT_EQ(v.at("namespace").as_string(), "acme-web");
  EXPECT_EQ(v.at("name").as_string(), "web");
  EXPECT_EQ(v.at("field").as_string(), "spec.billingGroupRef.namespace");
  EXPECT_THAT(v.at("message").as_string(), HasSubstr("(organization beta)"));
  EXPECT_EQ(report->at("summary").at("errors").as_integer(), 1);
  EXPECT_EQ(report->at("summary").at("projects").as_integer(), 1);
}

TEST(CheckCliTest, JsonReportOfCleanFolderHasNoViolations) {
  auto result = runOperator({"check", kNow, "-o", "json", "examples/gitops"});
  EXPECT_EQ(result.exitCode, 0);
  auto report = billing::common::parseJson(result.out);
  ASSERT_TRUE(report.has_value()) << result.out;
  EXPECT_EQ(report->at("violations").as_array().size(), 0u);
  EXPECT_EQ(report->at("summary").at("billingGroups").as_integer(), 4);
}

TEST(CheckCliTest, SeveralPathsAndSingleFilesAreCombined) {
  // The project and the group it uses are in different files given separately.
  auto result = runOperator({"check", kNow, "examples/gitops/namespaces.yaml",
                             "examples/gitops/acme/billing-groups.yaml",
                             "examples/gitops/acme/projects.yaml"});
  EXPECT_EQ(result.exitCode, 0) << result.out;
  // Without the groups, the references dangle.
  result = runOperator(
      {"check", kNow, "examples/gitops/namespaces.yaml", "examples/gitops/acme/projects.yaml"});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.out, HasSubstr("examples/gitops/acme/projects.yaml:9: error: "));
  EXPECT_THAT(result.out, HasSubstr("BillingGroupNotFound"));
}

TEST(CheckCliTest, DefaultNamespaceFlagPlacesObjectsWithoutNamespace) {
  auto dir =
      std::filesystem::temp_directory_path() / ("check_cli_ns_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "objects.yaml") << R"(apiVersion: v1
kind: List
items:
  - apiVersion: billing.operator.dev/v1alpha1
    kind: Project
    metadata:
      name: web
    spec:
      billingGroupRef:
        name: shared
)";
  auto result = runOperator({"check", "-n", "team-a", dir.string()});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.out, HasSubstr("objects.yaml:10: error: Project team-a/web (organization "
                                    "team-a) references billing group team-a/shared"));
  std::filesystem::remove_all(dir);
}

TEST(CheckCliTest, HelpAndBadFlags) {
  auto help = runOperator({"check", "--help"});
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit codes: 0 no errors"));

  auto badFlag = runOperator({"check", "--colour", "examples/gitops"});
  EXPECT_EQ(badFlag.exitCode, 2);
  EXPECT_THAT(badFlag.err, HasSubstr("unknown flag --colour"));

  auto badNow = runOperator({"check", "--now", "yesterday", "examples/gitops"});
  EXPECT_EQ(badNow.exitCode, 2);
  EXPECT_THAT(badNow.err, HasSubstr("is not an RFC 3339 instant"));

  auto noPath = runOperator({"check"});
  EXPECT_EQ(noPath.exitCode, 2);
  EXPECT_THAT(noPath.err, HasSubstr("no PATH given"));

  auto badFormat = runOperator({"check", "-o", "xml", "examples/gitops"});
  EXPECT_EQ(badFormat.exitCode, 2);
  EXPECT_THAT(badFormat.err, HasSubstr("unsupported --output \"xml\""));
}

TEST(CheckCliTest, VersionAndUnknownCommand) {
  auto version = runOperator({"version"});
  EXPECT_EQ(version.exitCode, 0);
  EXPECT_THAT(version.out, HasSubstr("billing-operator 0."));
  auto unknown = runOperator({"frobnicate"});
  EXPECT_EQ(unknown.exitCode, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command \"frobnicate\""));
  EXPECT_THAT(unknown.out, Not(HasSubstr("frobnicate")));
}

}  // namespace
