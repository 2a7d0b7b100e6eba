// The real kubectl (/usr/bin/kubectl) against the in-process test API server: what a user types
// and what they see. One server is shared by the suite; every test works in its own namespace.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/http_server.h"
#include "common/tls.h"
#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using harness::CommandResult;
using harness::json;
using harness::Kubectl;
using harness::tableRows;
using harness::TempDir;
using web::json::value;
using namespace std::chrono_literals;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;

const std::string kSource = BILLING_SOURCE_DIR;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// One server, one kubeconfig (client certificate) and the CRDs, shared by the whole suite.
struct Cluster {
  TempDir dir;
  std::unique_ptr<TestApiServer> server;
  std::unique_ptr<Client> client;
  std::unique_ptr<Kubectl> kubectl;
  std::string setupError;

  explicit Cluster(TestApiServerOptions options = {}) {
    auto started = TestApiServer::start(std::move(options));
    if (!started) {
      setupError = "server: " + started.error();
      return;
    }
    server = std::move(*started);
    client = std::make_unique<Client>(*server);
    auto written =
        server->writeKubeconfig(dir.path() / "kubeconfig", KubeconfigAuth::ClientCertificate);
    if (!written) {
      setupError = written.error();
      return;
    }
    kubectl = std::make_unique<Kubectl>(dir.path() / "kubeconfig", dir.path());
    CommandResult crds = kubectl->run({"apply", "-f", kSource + "/crds/"});
    if (crds.exitCode != 0) setupError = "kubectl apply -f crds/: " + crds.err;
    // kubectl cached discovery from before the CRDs existed. It refreshes the cache when a kind
    // is missing, but expands short names (`bg`) from the stale copy first, so the first
    // `kubectl explain bg` after the apply fails on a real cluster too. Start the tests fresh.
    std::error_code ignored;
    std::filesystem::remove_all(dir.path() / "cache", ignored);
  }
};

class KubectlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new Cluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(cluster_->setupError, "");
    // A namespace named after the test: "t-" and the lower-cased test name, cut to 63.
    std::string name = "t-";
    for (char c : std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())) {
      name.push_back(std::isupper(static_cast<unsigned char>(c))
                         ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                         : c);
    }
    ns_ = name.substr(0, 63);
    auto created = cluster_->client->post(
        "/api/v1/namespaces",
        json(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ")" + ns_ +
             R"("}})"));
    ASSERT_EQ(created.status, 201) << created.body;
  }

  // kubectl ARGS -n <the test's namespace>
  CommandResult k(std::vector<std::string> args, const std::string& input = {}) {
    args.push_back("--namespace=" + ns_);
    return cluster_->kubectl->run(args, input);
  }
  std::unique_ptr<harness::Process> kBackground(std::vector<std::string> args) {
    args.push_back("--namespace=" + ns_);
    return cluster_->kubectl->start(args);
  }
  // kubectl get -o jsonpath=... : the text printed, or the error.
  std::string jsonpath(const std::string& object, const std::string& path) {
    CommandResult result = k({"get", object, "-o", "jsonpath=" + path});
    return result.exitCode == 0 ? result.out
                                : "exit " + std::to_string(result.exitCode) + ": " + result.err;
  }
  // Applies one BillingGroup named `name` with optional extra spec YAML lines.
  void applyGroup(const std::string& name, const std::string& extraSpec = "") {
    CommandResult result = k({"apply", "-f", "-"}, groupYaml(name, extraSpec));
    ASSERT_EQ(result.exitCode, 0) << result;
    ASSERT_EQ(result.out, "billinggroup.billing.operator.dev/" + name + " created\n");
  }
  static std::string groupYaml(const std::string& name, const std::string& extraSpec = "") {
    return "apiVersion: billing.operator.dev/v1alpha1\n"
           "kind: BillingGroup\n"
           "metadata:\n"
           "  name: " +
           name +
           "\n"
           "spec:\n"
           "  currency: EUR\n" +
           extraSpec;
  }

  static Cluster* cluster_;
  std::string ns_;
};

Cluster* KubectlTest::cluster_ = nullptr;

TEST_F(KubectlTest, GetPrintsYamlJsonWideNameAndJsonpath) {
  applyGroup("shared");
  CommandResult yaml = k({"get", "bg", "shared", "-o", "yaml"});
  ASSERT_EQ(yaml.exitCode, 0) << yaml;
  EXPECT_THAT(yaml.out,
              StartsWith("apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\n"));
  EXPECT_THAT(yaml.out, HasSubstr("  generation: 1\n"));
  EXPECT_THAT(yaml.out, HasSubstr("  namespace: " + ns_ + "\n"));
  // Defaults from the schema were applied by the server.
  EXPECT_THAT(yaml.out, HasSubstr("  scope: Organization\n"));

  CommandResult asJson = k({"get", "billinggroup", "shared", "-o", "json"});
  ASSERT_EQ(asJson.exitCode, 0) << asJson;
  value object = json(asJson.out);
  EXPECT_EQ(harness::field(object, {"kind"}), "BillingGroup");
  EXPECT_THAT(harness::field(object, {"metadata", "uid"}), MatchesRegex("[0-9a-f-]{36}"));
  EXPECT_EQ(harness::field(object, {"spec", "invoicing", "period"}), "Monthly");

  EXPECT_EQ(jsonpath("billinggroups.billing.operator.dev/shared",
                     "{.metadata.name} {.spec.currency} {.metadata.generation}"),
            "shared EUR 1");
  CommandResult name = k({"get", "bg", "-o", "name"});
  EXPECT_EQ(name.out, "billinggroup.billing.operator.dev/shared\n");

  // Printer columns from the CRD: the default ones, and the priority-1 ones with -o wide.
  CommandResult table = k({"get", "bg"});
  ASSERT_EQ(table.exitCode, 0) << table;
  auto rows = tableRows(table.out);
  ASSERT_EQ(rows.size(), 2u) << table.out;
  EXPECT_THAT(rows[0], ElementsAre("NAME", "ORGANIZATION", "SCOPE", "PROJECTS", "READY", "AGE"));
  EXPECT_EQ(rows[1][0], "shared");
  EXPECT_EQ(rows[1][1], "Organization");  // empty columns collapse in the word split
  CommandResult wide = k({"get", "bg", "-o", "wide"});
  auto wideRows = tableRows(wide.out);
  ASSERT_EQ(wideRows.size(), 2u) << wide.out;
  EXPECT_THAT(wideRows[0], ElementsAre("NAME", "ORGANIZATION", "SCOPE", "PROJECTS", "CURRENCY",
                                       "PERIOD", "READY", "AGE"));
  EXPECT_THAT(wideRows[1],
              ElementsAre("shared", "Organization", "EUR", "Monthly", MatchesRegex("[0-9]+s")));
  CommandResult columns =
      k({"get", "bg", "-o", "custom-columns=N:.metadata.name,C:.spec.currency"});
  EXPECT_EQ(columns.out, "N        C\nshared   EUR\n");
}

TEST_F(KubectlTest, ExplainShowsTheCrdSchema) {
  CommandResult scope = k({"explain", "bg.spec.scope"});
  ASSERT_EQ(scope.exitCode, 0) << scope;
  EXPECT_THAT(scope.out, HasSubstr("KIND:       BillingGroup\nVERSION:    v1alpha1\n"));
  EXPECT_THAT(scope.out,
              HasSubstr("FIELD: scope <string>\nENUM:\n    Organization\n    Project\n"));
  CommandResult spec = k({"explain", "billinggroups.spec"});
  ASSERT_EQ(spec.exitCode, 0) << spec;
  EXPECT_THAT(spec.out, HasSubstr("  currency\t<string> -required-\n"));
  EXPECT_THAT(spec.out, HasSubstr("  billingEmails\t<[]string>\n"));
  CommandResult meta = k({"explain", "bproj.metadata.labels"});
  EXPECT_THAT(meta.out, HasSubstr("FIELD: labels <map[string]string>"));
  CommandResult missing = k({"explain", "bg.spec.nothing"});
  EXPECT_NE(missing.exitCode, 0);
  EXPECT_THAT(missing.err, HasSubstr("field \"nothing\" does not exist"));
}

TEST_F(KubectlTest, ServerSideValidationDefaultingAndPruning) {
  // kubectl's default --validate=strict: unknown fields are refused by the server.
  CommandResult strict = k({"apply", "-f", "-"}, groupYaml("strict", "  colour: red\n"));
  EXPECT_EQ(strict.exitCode, 1);
  EXPECT_THAT(strict.err,
              HasSubstr("Error from server (BadRequest): error when creating \"STDIN\": "
                        "BillingGroup in version \"v1alpha1\" cannot be handled as a "
                        "BillingGroup: strict decoding error: unknown field \"spec.colour\""));
  // --validate=warn: a warning, and the field pruned.
  CommandResult warn =
      k({"apply", "--validate=warn", "-f", "-"}, groupYaml("warned", "  colour: red\n"));
  EXPECT_EQ(warn.exitCode, 0) << warn;
  EXPECT_THAT(warn.err, HasSubstr("Warning: unknown field \"spec.colour\""));
  EXPECT_EQ(jsonpath("bg/warned", "{.spec}"),
            R"({"currency":"EUR","invoicing":{"period":"Monthly"},"scope":"Organization"})");
  // Values checked against the schema: enum, pattern, type, required.
  CommandResult invalid = k({"apply", "-f", "-"},
                            "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\n"
                            "metadata:\n  name: bad\nspec:\n  scope: Team\n  currency: euro\n");
  EXPECT_EQ(invalid.exitCode, 1);
  EXPECT_EQ(invalid.err,
            "The BillingGroup \"bad\" is invalid: \n"
            "* spec.currency: Invalid value: \"euro\": spec.currency in body should match "
            "'^[A-Z]{3}$'\n"
            "* spec.scope: Unsupported value: \"Team\": supported values: \"Organization\", "
            "\"Project\"\n");
  CommandResult required = k({"apply", "-f", "-"},
                             "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\n"
                             "metadata:\n  name: bad\nspec:\n  displayName: x\n");
  EXPECT_EQ(required.err, "The BillingGroup \"bad\" is invalid: spec.currency: Required value\n");
  EXPECT_EQ(k({"get", "bg", "bad"}).exitCode, 1);
}

TEST_F(KubectlTest, PatchMergeJsonAndStrategic) {
  applyGroup("shared");
  CommandResult merge =
      k({"patch", "bg", "shared", "--type=merge", "-p", R"({"spec":{"displayName":"Shared"}})"});
  EXPECT_EQ(merge.out, "billinggroup.billing.operator.dev/shared patched\n") << merge;
  EXPECT_EQ(jsonpath("bg/shared", "{.spec.displayName} {.metadata.generation}"), "Shared 2");

  CommandResult jsonPatch = k({"patch", "bg", "shared", "--type=json", "-p",
                               R"([{"op":"test","path":"/spec/displayName","value":"Shared"},)"
                               R"({"op":"replace","path":"/spec/currency","value":"USD"}])"});
  EXPECT_EQ(jsonPatch.exitCode, 0) << jsonPatch;
  EXPECT_EQ(jsonpath("bg/shared", "{.spec.currency}"), "USD");

  CommandResult failedTest = k({"patch", "bg", "shared", "--type=json", "-p",
                                R"([{"op":"test","path":"/spec/displayName","value":"Other"}])"});
  EXPECT_EQ(failedTest.exitCode, 1);
  EXPECT_EQ(failedTest.err,
            "The request is invalid: the server rejected our request due to an error in our "
            "request\n");

  // kubectl patch defaults to a strategic merge patch, which custom resources do not take.
  CommandResult strategic = k({"patch", "bg", "shared", "-p", R"({"spec":{"displayName":"X"}})"});
  EXPECT_EQ(strategic.exitCode, 1);
  EXPECT_EQ(strategic.err,
            "error: application/strategic-merge-patch+json is not supported by "
            "billing.operator.dev/v1alpha1, Kind=BillingGroup: the body of the request was in an "
            "unknown format - accepted media types include: application/json-patch+json, "
            "application/merge-patch+json, application/apply-patch+yaml\n");
  // Built-in kinds take it.
  ASSERT_EQ(k({"apply", "-f", "-"},
              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n")
                .exitCode,
            0);
  CommandResult builtin = k({"patch", "configmap", "c", "-p", R"({"data":{"b":"2"}})"});
  EXPECT_EQ(builtin.out, "configmap/c patched\n") << builtin;
  EXPECT_EQ(jsonpath("cm/c", "{.data}"), R"({"a":"1","b":"2"})");
  // A patch that changes nothing says so.
  CommandResult same = k({"patch", "configmap", "c", "-p", R"({"data":{"b":"2"}})"});
  EXPECT_EQ(same.out, "configmap/c patched (no change)\n") << same;
}

TEST_F(KubectlTest, LabelAnnotateAndSelectors) {
  applyGroup("web");
  applyGroup("data");
  applyGroup("ml");
  EXPECT_EQ(k({"label", "bg", "web", "team=storefront", "tier=gold"}).out,
            "billinggroup.billing.operator.dev/web labeled\n");
  EXPECT_EQ(k({"label", "bg", "data", "team=analytics"}).exitCode, 0);
  CommandResult again = k({"label", "bg", "data", "team=other"});
  EXPECT_EQ(again.exitCode, 1);
  EXPECT_THAT(again.err, HasSubstr("'team' already has a value (analytics), and --overwrite is "
                                   "false"));
  EXPECT_EQ(k({"annotate", "bg", "web", "billing.operator.dev/note=vip"}).out,
            "billinggroup.billing.operator.dev/web annotated\n");
  EXPECT_EQ(jsonpath("bg/web", "{.metadata.annotations.billing\\.operator\\.dev/note}"), "vip");
  // Labels and annotations are metadata: the generation stays.
  EXPECT_EQ(jsonpath("bg/web", "{.metadata.generation}"), "1");

  auto names = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {"get", "bg", "-o", "name"};
    all.insert(all.end(), args.begin(), args.end());
    CommandResult result = k(all);
    EXPECT_EQ(result.exitCode, 0) << result;
    std::string out = result.out;
    std::string prefix = "billinggroup.billing.operator.dev/";
    for (auto at = out.find(prefix); at != std::string::npos; at = out.find(prefix)) {
      out.erase(at, prefix.size());
    }
    return lines(out);
  };
  EXPECT_THAT(names({"-l", "team=storefront"}), ElementsAre("web"));
  EXPECT_THAT(names({"-l", "team!=storefront"}), ElementsAre("data", "ml"));
  EXPECT_THAT(names({"-l", "team in (storefront,analytics)"}), ElementsAre("data", "web"));
  EXPECT_THAT(names({"-l", "team notin (storefront)"}), ElementsAre("data", "ml"));
  EXPECT_THAT(names({"-l", "team,tier"}), ElementsAre("web"));
  EXPECT_THAT(names({"-l", "!team"}), ElementsAre("ml"));
  EXPECT_THAT(names({"--field-selector", "metadata.name=ml"}), ElementsAre("ml"));
  EXPECT_THAT(names({"--field-selector", "metadata.name!=ml", "-l", "team"}),
              ElementsAre("data", "web"));
  CommandResult acrossNamespaces = cluster_->kubectl->run(
      {"get", "bg", "-A", "-o", "name", "--field-selector", "metadata.namespace=" + ns_});
  EXPECT_EQ(lines(acrossNamespaces.out).size(), 3u) << acrossNamespaces;

  EXPECT_EQ(k({"label", "bg", "web", "tier-"}).out,
            "billinggroup.billing.operator.dev/web unlabeled\n");
  EXPECT_THAT(names({"-l", "tier"}), IsEmpty());
}

TEST_F(KubectlTest, StatusSubresourceAndWaitForCondition) {
  applyGroup("shared");
  auto waiter = kBackground({"wait", "--for=condition=Ready", "bg/shared", "--timeout=30s"});
  std::this_thread::sleep_for(300ms);
  // Status written through /status; spec in the same patch is ignored there.
  CommandResult status =
      k({"patch", "bg", "shared", "--subresource=status", "--type=merge", "-p",
         R"({"spec":{"currency":"USD"},"status":{"projectCount":2,"conditions":[{"type":"Ready",)"
         R"("status":"True","reason":"Reconciled","message":"ok",)"
         R"("lastTransitionTime":"2026-01-01T00:00:00Z","observedGeneration":1}]}})"});
  EXPECT_EQ(status.exitCode, 0) << status;
  CommandResult waited = waiter->wait(30s);
  EXPECT_EQ(waited.exitCode, 0) << waited;
  EXPECT_EQ(waited.out, "billinggroup.billing.operator.dev/shared condition met\n");
  EXPECT_EQ(jsonpath("bg/shared", "{.spec.currency} {.status.projectCount} {.metadata.generation}"),
            "EUR 2 1");
  // The main resource ignores status.
  EXPECT_EQ(
      k({"patch", "bg", "shared", "--type=merge", "-p", R"({"status":{"projectCount":7}})"}).out,
      "billinggroup.billing.operator.dev/shared patched (no change)\n");
  // The printer columns read the status.
  auto rows = tableRows(k({"get", "bg", "shared"}).out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[1], ElementsAre("shared", "Organization", "2", "True", MatchesRegex("[0-9]+s")));
  CommandResult jsonpathWait =
      k({"wait", "--for=jsonpath={.status.projectCount}=2", "bg/shared", "--timeout=5s"});
  EXPECT_EQ(jsonpathWait.exitCode, 0) << jsonpathWait;
  CommandResult timeout = k({"wait", "--for=condition=Stalled", "bg/shared", "--timeout=1s"});
  EXPECT_EQ(timeout.exitCode, 1);
  EXPECT_THAT(timeout.err,
              HasSubstr("timed out waiting for the condition on billinggroups/shared"));
}

TEST_F(KubectlTest, DeleteWithAndWithoutWaitingForFinalizers) {
  applyGroup("held");
  ASSERT_EQ(k({"patch", "bg", "held", "--type=merge", "-p",
               R"({"metadata":{"finalizers":["billing.operator.dev/invoice"]}})"})
                .exitCode,
            0);
  // --wait=false returns at once; the object stays, marked for deletion.
  auto started = std::chrono::steady_clock::now();
  CommandResult noWait = k({"delete", "bg", "held", "--wait=false"});
  EXPECT_EQ(noWait.exitCode, 0) << noWait;
  EXPECT_EQ(noWait.out, "billinggroup.billing.operator.dev \"held\" deleted\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_THAT(jsonpath("bg/held", "{.metadata.deletionTimestamp}"),
              MatchesRegex("20[0-9][0-9]-.*Z"));
  // Waiting (the default) times out while the finalizer holds it.
  CommandResult timedOut = k({"delete", "bg", "held", "--timeout=1s"});
  EXPECT_EQ(timedOut.exitCode, 1);
  EXPECT_THAT(timedOut.err, HasSubstr("timed out waiting for the condition on billinggroups/held"));
  // No new finalizers once deleting.
  CommandResult added = k({"patch", "bg", "held", "--type=json", "-p",
                           R"([{"op":"add","path":"/metadata/finalizers/-","value":"x/y"}])"});
  EXPECT_EQ(added.exitCode, 1);
  EXPECT_EQ(added.err,
            "The BillingGroup \"held\" is invalid: metadata.finalizers: Forbidden: no new "
            "finalizers can be added if the object is being deleted, found new finalizers "
            "[]string{\"x/y\"}\n");
  // A waiting delete returns once the finalizer is removed.
  auto deleting = kBackground({"delete", "bg", "held", "--timeout=30s"});
  auto waiter = kBackground({"wait", "--for=delete", "bg/held", "--timeout=30s"});
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(k({"patch", "bg", "held", "--type=json", "-p",
               R"([{"op":"remove","path":"/metadata/finalizers"}])"})
                .exitCode,
            0);
  CommandResult deleted = deleting->wait(30s);
  EXPECT_EQ(deleted.exitCode, 0) << deleted;
  EXPECT_EQ(deleted.out, "billinggroup.billing.operator.dev \"held\" deleted\n");
  CommandResult waited = waiter->wait(30s);
  EXPECT_EQ(waited.exitCode, 0) << waited;
  CommandResult gone = k({"get", "bg", "held"});
  EXPECT_EQ(gone.err,
            "Error from server (NotFound): billinggroups.billing.operator.dev \"held\" not "
            "found\n");
  // Without finalizers, delete waits for nothing.
  applyGroup("plain");
  CommandResult plain = k({"delete", "bg", "plain"});
  EXPECT_EQ(plain.out, "billinggroup.billing.operator.dev \"plain\" deleted\n") << plain;
}

TEST_F(KubectlTest, ServerDryRunChangesNothing) {
  CommandResult created = k({"apply", "--dry-run=server", "-f", "-"}, groupYaml("ghost"));
  EXPECT_EQ(created.exitCode, 0) << created;
  EXPECT_EQ(created.out, "billinggroup.billing.operator.dev/ghost created (server dry run)\n");
  EXPECT_EQ(k({"get", "bg", "ghost"}).exitCode, 1);
  // Validation runs all the same.
  CommandResult invalid =
      k({"create", "--dry-run=server", "-f", "-"}, groupYaml("bad", "  scope: Team\n"));
  EXPECT_EQ(invalid.exitCode, 1);
  EXPECT_THAT(invalid.err, HasSubstr("spec.scope: Unsupported value: \"Team\""));

  applyGroup("real");
  const std::string before = jsonpath("bg/real", "{.metadata.resourceVersion}");
  CommandResult patched = k({"patch", "bg", "real", "--dry-run=server", "--type=merge", "-p",
                             R"({"spec":{"currency":"USD"}})", "-o", "jsonpath={.spec.currency}"});
  EXPECT_EQ(patched.out, "USD") << patched;
  CommandResult labelled = k({"label", "bg", "real", "--dry-run=server", "x=y"});
  EXPECT_EQ(labelled.out, "billinggroup.billing.operator.dev/real labeled (server dry run)\n");
  CommandResult deleted = k({"delete", "bg", "real", "--dry-run=server"});
  EXPECT_EQ(deleted.out, "billinggroup.billing.operator.dev \"real\" deleted (server dry run)\n");
  EXPECT_EQ(jsonpath("bg/real", "{.spec.currency} {.metadata.labels} {.metadata.resourceVersion}"),
            "EUR  " + before);
}

TEST_F(KubectlTest, GetWatchPrintsEachChange) {
  applyGroup("watched");
  auto watch = kBackground({"get", "bg", "--watch", "--output-watch-events"});
  ASSERT_TRUE(watch->waitForOutput("ADDED")) << watch->outSoFar() << watch->errSoFar();
  ASSERT_EQ(k({"label", "bg", "watched", "step=1"}).exitCode, 0);
  applyGroup("second");
  ASSERT_EQ(k({"delete", "bg", "watched"}).exitCode, 0);
  ASSERT_TRUE(watch->waitForOutput("DELETED")) << watch->outSoFar();
  CommandResult result = watch->interrupt();
  auto rows = tableRows(result.out);
  ASSERT_EQ(rows.size(), 5u) << result.out;
  EXPECT_THAT(rows[0],
              ElementsAre("EVENT", "NAME", "ORGANIZATION", "SCOPE", "PROJECTS", "READY", "AGE"));
  EXPECT_EQ(rows[1][0] + " " + rows[1][1], "ADDED watched");
  EXPECT_EQ(rows[2][0] + " " + rows[2][1], "MODIFIED watched");
  EXPECT_EQ(rows[3][0] + " " + rows[3][1], "ADDED second");
  EXPECT_EQ(rows[4][0] + " " + rows[4][1], "DELETED watched");

  // -o name prints one line per event.
  auto byName = kBackground({"get", "bg", "second", "--watch", "-o", "name"});
  ASSERT_TRUE(byName->waitForOutput("second"));
  ASSERT_EQ(k({"label", "bg", "second", "step=2"}).exitCode, 0);
  ASSERT_TRUE(byName->waitForOutput("second\nbilling"));
  EXPECT_EQ(byName->interrupt().out,
            "billinggroup.billing.operator.dev/second\nbillinggroup.billing.operator.dev/second\n");
}

TEST_F(KubectlTest, ErrorsReadAsOnARealCluster) {
  CommandResult missing = k({"get", "bg", "nope"});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_EQ(
      missing.err,
      "Error from server (NotFound): billinggroups.billing.operator.dev \"nope\" not found\n");
  applyGroup("twice");
  CommandResult exists = k({"create", "-f", "-"}, groupYaml("twice"));
  EXPECT_EQ(exists.exitCode, 1);
  EXPECT_EQ(exists.err,
            "Error from server (AlreadyExists): error when creating \"STDIN\": "
            "billinggroups.billing.operator.dev \"twice\" already exists\n");
  // kubectl replace with the resourceVersion of an older read conflicts.
  CommandResult read = k({"get", "bg", "twice", "-o", "yaml"});
  ASSERT_EQ(k({"label", "bg", "twice", "moved=yes"}).exitCode, 0);
  CommandResult stale = k({"replace", "-f", "-"}, read.out);
  EXPECT_EQ(stale.exitCode, 1);
  EXPECT_EQ(stale.err,
            "Error from server (Conflict): error when replacing \"STDIN\": Operation cannot be "
            "fulfilled on billinggroups.billing.operator.dev \"twice\": the object has been "
            "modified; please apply your changes to the latest version and try again\n");
  CommandResult noNamespace =
      cluster_->kubectl->run({"apply", "-n", "does-not-exist", "-f", "-"}, groupYaml("x"));
  EXPECT_EQ(noNamespace.exitCode, 1);
  EXPECT_THAT(noNamespace.err, HasSubstr("namespaces \"does-not-exist\" not found"));
  CommandResult unknownKind = k({"get", "widgets"});
  EXPECT_EQ(unknownKind.exitCode, 1);
  EXPECT_THAT(unknownKind.err,
              HasSubstr("error: the server doesn't have a resource type \"widgets\""));
}

TEST_F(KubectlTest, OwnerReferencesCascadeOnDelete) {
  auto ownedMap = [&](const std::string& name, const std::string& owner) {
    std::string uid = jsonpath("bg/" + owner, "{.metadata.uid}");
    return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name +
           "\n  ownerReferences:\n  - apiVersion: billing.operator.dev/v1alpha1\n"
           "    kind: BillingGroup\n    name: " +
           owner + "\n    uid: " + uid + "\n";
  };
  applyGroup("background");
  applyGroup("orphan");
  applyGroup("foreground");
  ASSERT_EQ(k({"apply", "-f", "-"}, ownedMap("of-background", "background")).exitCode, 0);
  ASSERT_EQ(k({"apply", "-f", "-"}, ownedMap("of-orphan", "orphan")).exitCode, 0);
  ASSERT_EQ(k({"apply", "-f", "-"}, ownedMap("of-foreground", "foreground")).exitCode, 0);

  EXPECT_EQ(k({"delete", "bg", "background"}).exitCode, 0);
  EXPECT_EQ(k({"wait", "--for=delete", "cm/of-background", "--timeout=10s"}).exitCode, 0);

  EXPECT_EQ(k({"delete", "bg", "orphan", "--cascade=orphan"}).exitCode, 0);
  EXPECT_EQ(k({"get", "bg", "orphan"}).exitCode, 1);
  EXPECT_EQ(jsonpath("cm/of-orphan", "{.metadata.name}:{.metadata.ownerReferences}"), "of-orphan:");

  // Foreground: kubectl waits until the owner is gone, which is after its dependents.
  CommandResult foreground = k({"delete", "bg", "foreground", "--cascade=foreground"});
  EXPECT_EQ(foreground.exitCode, 0) << foreground;
  EXPECT_EQ(k({"get", "cm", "of-foreground"}).exitCode, 1);
  EXPECT_EQ(k({"get", "bg", "foreground"}).exitCode, 1);
}

TEST_F(KubectlTest, DeletingANamespaceRemovesEverythingInIt) {
  applyGroup("inside");
  ASSERT_EQ(k({"create", "configmap", "settings", "--from-literal=a=b"}).exitCode, 0);
  CommandResult deleted = cluster_->kubectl->run({"delete", "namespace", ns_, "--timeout=20s"});
  EXPECT_EQ(deleted.exitCode, 0) << deleted;
  EXPECT_EQ(deleted.out, "namespace \"" + ns_ + "\" deleted\n");
  CommandResult after = cluster_->kubectl->run({"get", "bg,cm", "-A", "-o", "name"});
  EXPECT_EQ(after.out.find(ns_), std::string::npos) << after.out;
  EXPECT_THAT(cluster_->kubectl->run({"get", "ns", ns_}).err, HasSubstr("not found"));
}

TEST_F(KubectlTest, TypedCreateSubcommandsSendProtobuf) {
  CommandResult ns = cluster_->kubectl->run({"create", "namespace", ns_ + "-typed"});
  EXPECT_EQ(ns.out, "namespace/" + ns_ + "-typed created\n") << ns;
  EXPECT_EQ(cluster_->kubectl
                ->run({"get", "ns", ns_ + "-typed", "-o",
                       "jsonpath={.metadata.labels.kubernetes\\.io/metadata\\.name}"})
                .out,
            ns_ + "-typed");
  CommandResult secret = k({"create", "secret", "generic", "sepa", "--from-literal=mandate=DE-1",
                            "--from-literal=holder=Acme GmbH"});
  EXPECT_EQ(secret.out, "secret/sepa created\n") << secret;
  EXPECT_EQ(jsonpath("secret/sepa", "{.type} {.data.mandate}"),
            "Opaque " + common::base64Encode("DE-1"));
  CommandResult config = k({"create", "configmap", "settings", "--from-literal=period=Monthly",
                            "--from-literal=empty="});
  EXPECT_EQ(config.out, "configmap/settings created\n") << config;
  EXPECT_EQ(jsonpath("cm/settings", "{.data}"), R"({"empty":"","period":"Monthly"})");
  CommandResult labelled = k({"create", "secret", "generic", "tls-less", "--type=example.com/x",
                              "--from-literal=k=v", "-o", "jsonpath={.type}"});
  EXPECT_EQ(labelled.out, "example.com/x") << labelled;
}

TEST_F(KubectlTest, InstallFolderOfBuiltinKindsApplies) {
  TempDir folder;
  const std::string n = ns_;
  harness::writeFile(folder.path() / "00-rbac.yaml",
                     "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: billing-operator\n"
                     "  namespace: " +
                         n +
                         "\n---\n"
                         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
                         "  name: " +
                         n +
                         "-operator\nrules:\n- apiGroups: [billing.operator.dev]\n"
                         "  resources: ['*']\n  verbs: ['*']\n---\n"
                         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
                         "metadata:\n  name: " +
                         n +
                         "-operator\nroleRef:\n"
                         "  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: " +
                         n +
                         "-operator\nsubjects:\n- kind: ServiceAccount\n  name: billing-operator\n"
                         "  namespace: " +
                         n +
                         "\n---\n"
                         "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n"
                         "  name: leader-election\n  namespace: " +
                         n +
                         "\nrules:\n"
                         "- apiGroups: [coordination.k8s.io]\n  resources: [leases]\n"
                         "  verbs: [get, create, update]\n---\n"
                         "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n"
                         "  name: leader-election\n  namespace: " +
                         n +
                         "\nroleRef:\n"
                         "  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n"
                         "  name: leader-election\nsubjects:\n- kind: ServiceAccount\n"
                         "  name: billing-operator\n  namespace: " +
                         n + "\n");
  harness::writeFile(folder.path() / "10-operator.yaml",
                     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: billing-operator\n"
                     "  namespace: " +
                         n +
                         "\nspec:\n  replicas: 2\n  selector:\n"
                         "    matchLabels: {app: billing-operator}\n  template:\n    metadata:\n"
                         "      labels: {app: billing-operator}\n    spec:\n"
                         "      serviceAccountName: billing-operator\n      containers:\n"
                         "      - name: operator\n        image: billing-operator:dev\n"
                         "        ports: [{containerPort: 9443, name: webhook}]\n---\n"
                         "apiVersion: v1\nkind: Service\nmetadata:\n  name: billing-webhook\n"
                         "  namespace: " +
                         n +
                         "\nspec:\n  selector: {app: billing-operator}\n"
                         "  ports: [{port: 443, targetPort: 9443}]\n---\n"
                         "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n"
                         "  name: billing-operator\n  namespace: " +
                         n +
                         "\nspec:\n  minAvailable: 1\n"
                         "  selector:\n    matchLabels: {app: billing-operator}\n---\n"
                         "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                         "  name: billing-operator\n  namespace: " +
                         n +
                         "\nspec:\n  podSelector: {}\n"
                         "  policyTypes: [Ingress]\n---\n"
                         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ledger-credentials\n"
                         "  namespace: " +
                         n +
                         "\nstringData:\n  url: postgres://ledger\n---\n"
                         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: billing-operator\n"
                         "  namespace: " +
                         n +
                         "\ndata:\n  log-format: json\n---\n"
                         "apiVersion: admissionregistration.k8s.io/v1\n"
                         "kind: ValidatingWebhookConfiguration\nmetadata:\n  name: " +
                         n + "-billing\nwebhooks: []\n");
  CommandResult applied = cluster_->kubectl->run({"apply", "-f", folder.path().string()});
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_THAT(lines(applied.out),
              UnorderedElementsAreArray(std::vector<std::string>{
                  "serviceaccount/billing-operator created",
                  "clusterrole.rbac.authorization.k8s.io/" + n + "-operator created",
                  "clusterrolebinding.rbac.authorization.k8s.io/" + n + "-operator created",
                  std::string("role.rbac.authorization.k8s.io/leader-election created"),
                  std::string("rolebinding.rbac.authorization.k8s.io/leader-election created"),
                  std::string("deployment.apps/billing-operator created"),
                  std::string("service/billing-webhook created"),
                  std::string("poddisruptionbudget.policy/billing-operator created"),
                  std::string("networkpolicy.networking.k8s.io/billing-operator created"),
                  std::string("secret/ledger-credentials created"),
                  std::string("configmap/billing-operator created"),
                  "validatingwebhookconfiguration.admissionregistration.k8s.io/" + n +
                      "-billing created"}));
  CommandResult again = cluster_->kubectl->run({"apply", "-f", folder.path().string()});
  EXPECT_EQ(again.exitCode, 0) << again;
  for (const std::string& line : lines(again.out)) {
    // As on a real cluster: kubectl's three-way patch re-sends stringData, which the server
    // folds into data, so a Secret written with stringData always reads "configured".
    EXPECT_THAT(line, AnyOf(HasSubstr(" unchanged"), "secret/ledger-credentials configured"));
  }
  EXPECT_EQ(jsonpath("deploy/billing-operator", "{.spec.replicas}"), "2");
  EXPECT_EQ(jsonpath("secret/ledger-credentials", "{.data.url}"),
            common::base64Encode("postgres://ledger"));
  CommandResult scaled =
      k({"patch", "deploy", "billing-operator", "-p", R"({"spec":{"replicas":3}})"});
  EXPECT_EQ(scaled.exitCode, 0) << scaled;
  EXPECT_EQ(jsonpath("deploy/billing-operator", "{.spec.replicas} {.metadata.generation}"), "3 2");
  CommandResult removed = cluster_->kubectl->run({"delete", "-f", folder.path().string()});
  EXPECT_EQ(removed.exitCode, 0) << removed;
  EXPECT_EQ(lines(removed.out).size(), 12u) << removed.out;
}

TEST_F(KubectlTest, EventsAndLeases) {
  CommandResult applied = k({"apply", "-f", "-"},
                            "apiVersion: v1\nkind: Event\nmetadata:\n  name: shared.1\n"
                            "involvedObject:\n  apiVersion: billing.operator.dev/v1alpha1\n"
                            "  kind: BillingGroup\n  name: shared\n  namespace: " +
                                ns_ +
                                "\nreason: Reconciled\nmessage: billing group is ready\n"
                                "type: Normal\ncount: 1\n"
                                "firstTimestamp: \"2026-01-01T00:00:00Z\"\n"
                                "lastTimestamp: \"2026-01-01T00:00:00Z\"\n---\n"
                                "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata:\n"
                                "  name: shared.2\nregarding:\n  kind: BillingGroup\n"
                                "  name: shared\n  namespace: " +
                                ns_ +
                                "\nreason: InvoiceClosed\nnote: invoice INV-1 finalized\n"
                                "type: Normal\naction: Close\n"
                                "reportingController: billing.operator.dev/operator\n"
                                "reportingInstance: operator-0\n"
                                "eventTime: \"2026-01-01T00:00:00.000000Z\"\n---\n"
                                "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n"
                                "  name: billing-operator-leader\nspec:\n"
                                "  holderIdentity: operator-0\n  leaseDurationSeconds: 15\n");
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_THAT(lines(applied.out),
              ElementsAre("event/shared.1 created", "event.events.k8s.io/shared.2 created",
                          "lease.coordination.k8s.io/billing-operator-leader created"));
  // Both APIs serve both events (one storage, as on a cluster), selectable by their object.
  CommandResult core = k({"get", "events", "--field-selector", "involvedObject.name=shared", "-o",
                          "jsonpath={.items[*].reason}"});
  EXPECT_EQ(core.out, "Reconciled InvoiceClosed") << core;
  CommandResult modern = k({"get", "events.v1.events.k8s.io", "-o", "jsonpath={.items[*].note}"});
  EXPECT_EQ(modern.out, "billing group is ready invoice INV-1 finalized") << modern;
  EXPECT_EQ(jsonpath("lease/billing-operator-leader", "{.spec.holderIdentity}"), "operator-0");
}

TEST_F(KubectlTest, BuiltinKindsPrintKubesColumns) {
  ASSERT_EQ(
      k({"create", "secret", "generic", "s", "--from-literal=a=1", "--from-literal=b=2"}).exitCode,
      0);
  ASSERT_EQ(k({"create", "configmap", "c", "--from-literal=a=1"}).exitCode, 0);
  ASSERT_EQ(k({"apply", "-f", "-"},
              "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: leader\n"
              "spec:\n  holderIdentity: operator-0\n")
                .exitCode,
            0);
  auto table = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "get");
    return tableRows(k(args).out);
  };
  auto ns = tableRows(cluster_->kubectl->run({"get", "namespace", ns_}).out);
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_THAT(ns[0], ElementsAre("NAME", "STATUS", "AGE"));
  EXPECT_THAT(ns[1], ElementsAre(ns_, "Active", MatchesRegex("[0-9]+s")));
  EXPECT_THAT(table({"secrets"}),
              ElementsAre(ElementsAre("NAME", "TYPE", "DATA", "AGE"),
                          ElementsAre("s", "Opaque", "2", MatchesRegex("[0-9]+s"))));
  EXPECT_THAT(table({"configmaps"}), ElementsAre(ElementsAre("NAME", "DATA", "AGE"),
                                                 ElementsAre("c", "1", MatchesRegex("[0-9]+s"))));
  EXPECT_THAT(table({"leases"}),
              ElementsAre(ElementsAre("NAME", "HOLDER", "AGE"),
                          ElementsAre("leader", "operator-0", MatchesRegex("[0-9]+s"))));
  auto crds =
      tableRows(cluster_->kubectl->run({"get", "crd", "billinggroups.billing.operator.dev"}).out);
  ASSERT_EQ(crds.size(), 2u);
  EXPECT_THAT(crds[0], ElementsAre("NAME", "CREATED", "AT"));
  EXPECT_THAT(crds[1], ElementsAre("billinggroups.billing.operator.dev",
                                   MatchesRegex("20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T.*Z")));
}

TEST_F(KubectlTest, ChunkedListsPage) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(k({"create", "configmap", "c" + std::to_string(i), "--from-literal=a=b"}).exitCode,
              0);
  }
  CommandResult chunked = k({"get", "configmaps", "--chunk-size=2", "-o", "name", "-v=6"});
  ASSERT_EQ(chunked.exitCode, 0) << chunked;
  EXPECT_EQ(chunked.out, "configmap/c0\nconfigmap/c1\nconfigmap/c2\nconfigmap/c3\nconfigmap/c4\n");
  // Three requests: limit=2, then two with continue tokens.
  std::size_t requests = 0;
  for (const std::string& line : lines(chunked.err)) {
    if (line.find("/configmaps?") != std::string::npos &&
        line.find("limit=2") != std::string::npos) {
      ++requests;
    }
  }
  EXPECT_EQ(requests, 3u) << chunked.err;
  EXPECT_THAT(chunked.err, HasSubstr("?continue="));
}

TEST_F(KubectlTest, TokenAndCertificateKubeconfigsBothWork) {
  TempDir dir;
  ASSERT_TRUE(cluster_->server->writeKubeconfig(dir.path() / "token", KubeconfigAuth::Token));
  Kubectl byToken(dir.path() / "token", dir.path());
  CommandResult ok = byToken.run({"get", "ns", ns_, "-o", "name"});
  EXPECT_EQ(ok.out, "namespace/" + ns_ + "\n") << ok;
  std::string wrong = cluster_->server->kubeconfig(KubeconfigAuth::Token);
  wrong.replace(wrong.find(cluster_->server->adminToken()), cluster_->server->adminToken().size(),
                "not-the-token");
  harness::writeFile(dir.path() / "wrong", wrong);
  Kubectl byWrongToken(dir.path() / "wrong", dir.path());
  CommandResult refused = byWrongToken.run({"get", "ns"});
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_EQ(refused.err, "error: You must be logged in to the server (Unauthorized)\n");
}

TEST_F(KubectlTest, TheFaultEndpointThroughKubectl) {
  CommandResult on = cluster_->kubectl->run({"create", "--raw", "/_test/faults", "-f", "-"},
                                            R"({"errorRate": {"fraction": 1, "code": 500}})");
  ASSERT_EQ(on.exitCode, 0) << on;
  CommandResult failing = k({"get", "configmaps"});
  // Reset first, so that a failed expectation does not break the tests after this one.
  CommandResult off =
      cluster_->kubectl->run({"create", "--raw", "/_test/faults", "-f", "-"}, R"({"reset": true})");
  ASSERT_EQ(off.exitCode, 0) << off;
  EXPECT_EQ(failing.exitCode, 1);
  EXPECT_THAT(failing.err, HasSubstr("Error from server (InternalError)"));
  EXPECT_THAT(failing.err, HasSubstr("injected fault: 500"));
  EXPECT_EQ(k({"get", "configmaps"}).exitCode, 0);
}

// ---- the repository's example folders, each on a fresh server ----

class KubectlExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<Cluster>();
    ASSERT_EQ(cluster_->setupError, "");
  }
  CommandResult kubectl(const std::vector<std::string>& args) {
    return cluster_->kubectl->run(args);
  }
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(KubectlExamplesTest, GitopsFolderAppliesAndPrints) {
  CommandResult applied =
      kubectl({"apply", "-f", kSource + "/examples/gitops/namespaces.yaml", "-f",
               kSource + "/examples/gitops/acme/", "-f", kSource + "/examples/gitops/globex/"});
  ASSERT_EQ(applied.exitCode, 0) << applied;
  auto out = lines(applied.out);
  EXPECT_EQ(out.size(), 5u + 4u + 1u + 7u) << applied.out;
  for (const std::string& line : out) EXPECT_THAT(line, HasSubstr(" created"));
  CommandResult again =
      kubectl({"apply", "-f", kSource + "/examples/gitops/namespaces.yaml", "-f",
               kSource + "/examples/gitops/acme/", "-f", kSource + "/examples/gitops/globex/"});
  for (const std::string& line : lines(again.out)) EXPECT_THAT(line, HasSubstr(" unchanged"));

  CommandResult all = kubectl({"get", "bg", "-A"});
  auto rows = tableRows(all.out);
  ASSERT_EQ(rows.size(), 5u) << all.out;
  EXPECT_THAT(rows[0], ElementsAre("NAMESPACE", "NAME", "ORGANIZATION", "SCOPE", "PROJECTS",
                                   "READY", "AGE"));
  EXPECT_EQ(rows[1][0] + "/" + rows[1][1] + " " + rows[1][2],
            "acme-billing/acme-main Organization");
  // The "billing" category lists all three kinds.
  CommandResult category = kubectl({"get", "billing", "-A", "-o", "name"});
  std::vector<std::string> names = lines(category.out);
  EXPECT_EQ(names.size(), 4u + 1u + 7u) << category.out;
  EXPECT_EQ(std::count_if(names.begin(), names.end(),
                          [](const std::string& n) { return n.starts_with("invoice."); }),
            1);
  CommandResult projects = kubectl({"get", "bproj", "-n", "acme-web", "-o",
                                    "jsonpath={range .items[*]}{.metadata.name}={.spec."
                                    "billingGroupRef.name}{\"\\n\"}{end}"});
  EXPECT_EQ(projects.out, "api=acme-main\nweb=acme-main\n") << projects;
  CommandResult labels =
      kubectl({"get", "ns", "-l", "billing.operator.dev/organization=acme", "-o", "name"});
  EXPECT_EQ(labels.out, "namespace/acme-billing\nnamespace/acme-data\nnamespace/acme-web\n");
}

struct BrokenExample {
  const char* folder;
  const char* error;  // what kubectl prints for the refused object
};

class KubectlBrokenExampleTest : public KubectlExamplesTest,
                                 public ::testing::WithParamInterface<BrokenExample> {};

TEST_P(KubectlBrokenExampleTest, IsRefusedWithKubesMessage) {
  CommandResult result =
      kubectl({"apply", "-f", kSource + "/examples/broken/" + GetParam().folder + "/"});
  EXPECT_EQ(result.exitCode, 1) << result;
  EXPECT_THAT(result.err, HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    SchemaExamples, KubectlBrokenExampleTest,
    ::testing::Values(
        BrokenExample{"schema-wrong-type",
                      "The BillingGroup \"shared\" is invalid: spec.billingEmails: Invalid value: "
                      "\"string\": spec.billingEmails in body must be of type array: \"string\""},
        BrokenExample{"schema-missing-required",
                      "The BillingGroup \"shared\" is invalid: spec.currency: Required value"},
        BrokenExample{"schema-unknown-field",
                      "BillingGroup in version \"v1alpha1\" cannot be handled as a BillingGroup: "
                      "strict decoding error: unknown field \"spec.colour\""},
        BrokenExample{"r1-invalid-scope",
                      "The BillingGroup \"team-billing\" is invalid: spec.scope: Unsupported "
                      "value: \"Team\": supported values: \"Organization\", \"Project\""}),
    [](const ::testing::TestParamInfo<BrokenExample>& example) {
      std::string name;
      for (const char* c = example.param.folder; *c != '\0'; ++c)
        name.push_back(*c == '-' ? '_' : *c);
      return name;
    });

// ---- admission through a ValidatingWebhookConfiguration ----

// A webhook over TLS, reached through the Service billing-system/billing-webhook:443 (mapped to
// its local port), that refuses billing groups in currency XXX and records each review.
class KubectlAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = common::generateCertificateAuthority("webhook-ca", std::chrono::days(1));
    ASSERT_TRUE(ca) << ca.error();
    ca_ = *ca;
    common::CertificateRequest certificate;
    certificate.commonName = "billing-webhook.billing-system.svc";
    certificate.dnsNames = {"billing-webhook.billing-system.svc"};
    auto serving = common::issueCertificate(ca_, certificate);
    ASSERT_TRUE(serving) << serving.error();
    common::HttpServerOptions options;
    options.tls = common::TlsServerConfig{serving->certPem, serving->keyPem, std::nullopt};
    webhook_ = std::make_unique<common::HttpServer>(
        options, [this](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
          review(request, writer);
        });
    ASSERT_TRUE(webhook_->start());
    TestApiServerOptions serverOptions;
    serverOptions.serviceEndpoints["billing-system/billing-webhook:443"] = webhook_->port();
    cluster_ = std::make_unique<Cluster>(serverOptions);
    ASSERT_EQ(cluster_->setupError, "");
    CommandResult configured = kubectl(
        {"apply", "-f", "-"},
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n---\n"
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n"
        "metadata:\n  name: billing-operator\nwebhooks:\n"
        "- name: validate.billing.operator.dev\n  admissionReviewVersions: [v1]\n"
        "  sideEffects: None\n  failurePolicy: Fail\n  clientConfig:\n"
        "    caBundle: " +
            common::base64Encode(ca_.certPem) +
            "\n    service:\n      namespace: billing-system\n      name: billing-webhook\n"
            "      path: /validate\n      port: 443\n  rules:\n"
            "  - operations: [CREATE, UPDATE]\n    apiGroups: [billing.operator.dev]\n"
            "    apiVersions: [v1alpha1]\n    resources: [billinggroups]\n");
    ASSERT_EQ(configured.exitCode, 0) << configured;
  }
  void TearDown() override {
    if (webhook_) webhook_->stop();
  }

  void review(const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    auto parsed = common::parseJson(request.body);
    value body = parsed.value_or(value::object());
    value response = value::object(true);
    response["uid"] = body.at("request").at("uid");
    const value& object = body.at("request").at("object");
    bool refuse = harness::field(object, {"spec", "currency"}) == "XXX";
    response["allowed"] = value::boolean(!refuse);
    if (refuse) {
      response["status"]["code"] = value::number(403);
      response["status"]["reason"] = value::string("Forbidden");
      response["status"]["message"] = value::string("currency XXX is not accepted");
    }
    {
      std::lock_guard lock(mutex_);
      reviews_.push_back(body.at("request"));
    }
    value answer = value::object(true);
    answer["apiVersion"] = value::string("admission.k8s.io/v1");
    answer["kind"] = value::string("AdmissionReview");
    answer["response"] = response;
    writer.respond(200, {{"Content-Type", "application/json"}}, common::toJson(answer));
  }
  std::vector<value> reviews() {
    std::lock_guard lock(mutex_);
    return reviews_;
  }
  CommandResult kubectl(const std::vector<std::string>& args, const std::string& input = {}) {
    return cluster_->kubectl->run(args, input);
  }
  static std::string group(const std::string& name, const std::string& currency) {
    return "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\nmetadata:\n  name: " +
           name + "\n  namespace: acme\nspec:\n  currency: " + currency + "\n";
  }

  common::CertificateAuthority ca_;
  std::unique_ptr<common::HttpServer> webhook_;
  std::unique_ptr<Cluster> cluster_;
  std::mutex mutex_;
  std::vector<value> reviews_;
};

TEST_F(KubectlAdmissionTest, TheWebhookAdmitsAndRefusesApplies) {
  CommandResult allowed = kubectl({"apply", "-f", "-"}, group("eur", "EUR"));
  EXPECT_EQ(allowed.exitCode, 0) << allowed;
  CommandResult refused = kubectl({"apply", "-f", "-"}, group("xxx", "XXX"));
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_EQ(refused.err,
            "Error from server (Forbidden): error when creating \"STDIN\": admission webhook "
            "\"validate.billing.operator.dev\" denied the request: currency XXX is not accepted\n");
  EXPECT_EQ(kubectl({"get", "bg", "xxx", "-n", "acme"}).exitCode, 1);
  // Updates go through it too; the stored object stays as it was.
  CommandResult patched = kubectl(
      {"patch", "bg", "eur", "-n", "acme", "--type=merge", "-p", R"({"spec":{"currency":"XXX"}})"});
  EXPECT_EQ(patched.exitCode, 1);
  EXPECT_THAT(patched.err, HasSubstr("denied the request: currency XXX is not accepted"));
  EXPECT_EQ(kubectl({"get", "bg", "eur", "-n", "acme", "-o", "jsonpath={.spec.currency}"}).out,
            "EUR");
  auto seen = reviews();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(harness::field(seen[0], {"operation"}), "CREATE");
  EXPECT_EQ(harness::field(seen[0], {"userInfo", "username"}), "admin");
  EXPECT_EQ(harness::field(seen[2], {"operation"}), "UPDATE");
  EXPECT_EQ(harness::field(seen[2], {"oldObject", "spec", "currency"}), "EUR");
}

TEST_F(KubectlAdmissionTest, ServerDryRunsReachTheWebhookAsDryRuns) {
  CommandResult refused = kubectl({"apply", "--dry-run=server", "-f", "-"}, group("xxx", "XXX"));
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_THAT(refused.err, HasSubstr("denied the request: currency XXX is not accepted"));
  auto seen = reviews();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(harness::field(seen[0], {"dryRun"}), "true");
}

TEST_F(KubectlAdmissionTest, AWebhookThatIsDownFailsClosed) {
  webhook_->stop();
  CommandResult failed = kubectl({"apply", "-f", "-"}, group("eur", "EUR"));
  EXPECT_EQ(failed.exitCode, 1);
  EXPECT_THAT(failed.err,
              HasSubstr("Internal error occurred: failed calling webhook "
                        "\"validate.billing.operator.dev\": failed to call webhook: Post "
                        "\"https://billing-webhook.billing-system.svc:443/validate?timeout=10s\""));
  EXPECT_THAT(failed.err, HasSubstr("connect: connection refused"));
  // Other kinds are not matched by the rules.
  EXPECT_EQ(kubectl({"create", "configmap", "c", "-n", "acme"}).exitCode, 0);
}

}  // namespace
}  // namespace billing::apiserver
