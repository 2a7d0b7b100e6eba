// Bad input end to end (issue #10): the real test-apiserver, billing-ledger and
// `billing-operator run` as processes and the real kubectl, fed what users and neighbours get
// wrong. Every case checks the error a user sees (what, where, how to fix) and that every process
// still serves afterwards (/healthz, or a following good request).
//
// Covered elsewhere and not repeated here:
//   - every examples/broken variant refused by the webhook or the CRD schema with the checker's
//     sentence: operator_e2e_test EveryBrokenVariantIsRefusedAtApplyTimeWithTheCheckersMessage;
//   - a missing kubeconfig, invalid YAML in it, a server certificate from another CA, a rejected
//     token: runtime_integration_test RunErrorsTest.*;
//   - malformed YAML and a missing path for `billing-operator check`: check_cli_test;
//   - the parsers under random input: the fuzz targets (docs/reliability.md).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <regex>

#include "common/http_client.h"
#include "common/tls.h"
#include "tests/e2e/process_harness.h"

namespace billing::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using web::json::value;

const std::string kDenied =
    "admission webhook \"validate.billing.operator.dev\" denied the request: ";

#define START_OPERATOR(env, ...)                              \
  ASSERT_EQ((env).startupError(), "");                        \
  OperatorProcess& op = (env).addOperator(__VA_ARGS__);       \
  ASSERT_TRUE(op.waitReady()) << "the operator is not ready"; \
  ASSERT_EQ((env).kubectl({"apply", "-f", "-"}, (env).webhook()->configurationYaml()).exitCode, 0)

int healthz(const OperatorProcess& op) {
  return httpCall("GET", "http://127.0.0.1:" + std::to_string(op.healthPort()) + "/healthz").status;
}

const std::string kNamespaces = R"(apiVersion: v1
kind: Namespace
metadata:
  name: acme-web
  labels:
    billing.operator.dev/organization: acme
---
apiVersion: v1
kind: Namespace
metadata:
  name: acme-billing
  labels:
    billing.operator.dev/organization: acme
)";

const std::string kGoodGroup = R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: main
  namespace: acme-billing
spec:
  currency: EUR
)";

std::string readyReason(const value& object) {
  const value ready = condition(object, "Ready");
  return ready.is_null() ? "<no Ready>" : at(ready, "status") + "/" + at(ready, "reason");
}

// ---- the CRD schemas ----

struct Rejected {
  const char* what;
  const char* manifest;  // one object in acme-web
  const char* expected;  // kube's text, as kubectl prints it
};

const Rejected kSchemaRejections[] = {
    {"wrong type", R"(kind: Project
metadata: {name: tags-list, namespace: acme-web}
spec: {tags: [a, b]})",
     "The Project \"tags-list\" is invalid: spec.tags: Invalid value: \"array\": "
     "spec.tags in body must be of type object: \"array\""},
    {"wrong type (boolean)", R"(kind: Invoice
metadata: {name: finalize-string, namespace: acme-web}
spec: {billingGroupRef: {name: main}, periodStart: "2024-01-01T00:00:00Z",
       periodEnd: "2024-02-01T00:00:00Z", finalize: "yes"})",
     "spec.finalize: Invalid value: \"string\": spec.finalize in body must be of type boolean: "
     "\"string\""},
    {"missing required fields", R"(kind: Invoice
metadata: {name: no-group, namespace: acme-web}
spec: {periodStart: "2024-01-01T00:00:00Z"})",
     "The Invoice \"no-group\" is invalid: \n* spec.billingGroupRef: Required value\n* "
     "spec.periodEnd: Required value\n"},
    {"missing spec.currency", R"(kind: BillingGroup
metadata: {name: no-currency, namespace: acme-web}
spec: {displayName: x})",
     "The BillingGroup \"no-currency\" is invalid: spec.currency: Required value"},
    {"bad enum", R"(kind: BillingGroup
metadata: {name: yearly, namespace: acme-web}
spec: {currency: EUR, invoicing: {period: Yearly}})",
     "The BillingGroup \"yearly\" is invalid: spec.invoicing.period: Unsupported "
     "value: \"Yearly\": supported values: \"Monthly\", \"Weekly\", \"Daily\""},
    {"currency pattern", R"(kind: BillingGroup
metadata: {name: lower-currency, namespace: acme-web}
spec: {currency: eur})",
     "spec.currency: Invalid value: \"eur\": spec.currency in body should match '^[A-Z]{3}$'"},
    {"country code pattern", R"(kind: BillingGroup
metadata: {name: lower-country, namespace: acme-web}
spec: {currency: EUR, address: {countryCode: de}})",
     "spec.address.countryCode: Invalid value: \"de\": spec.address.countryCode in body should "
     "match '^[A-Z]{2}$'"},
    {"VAT id too long", R"(kind: BillingGroup
metadata: {name: long-vat, namespace: acme-web}
spec: {currency: EUR, vatId: "DE0123456789012345678901234567890123"})",
     "spec.vatId: Too long: may not be more than 32 bytes"},
    {"e-mail format", R"(kind: BillingGroup
metadata: {name: bad-email, namespace: acme-web}
spec: {currency: EUR, billingEmails: [not-an-email]})",
     "spec.billingEmails[0]: Invalid value: \"not-an-email\": spec.billingEmails[0] in body must "
     "be "
     "of type email: \"not-an-email\""},
    {"credit amount pattern", R"(kind: BillingGroup
metadata: {name: credit-float, namespace: acme-web}
spec: {currency: EUR, credits: [{id: promo, amount: "1e3"}]})",
     "spec.credits[0].amount: Invalid value: \"1e3\": spec.credits[0].amount in body should match "
     "'^[0-9]{1,15}(\\.[0-9]{1,4})?$'"},
    {"date-time format", R"(kind: Invoice
metadata: {name: bad-date, namespace: acme-web}
spec: {billingGroupRef: {name: main}, periodStart: yesterday, periodEnd: "2024-02-01T00:00:00Z"})",
     "spec.periodStart: Invalid value: \"yesterday\": spec.periodStart in body must be of type "
     "date-time: \"yesterday\""},
};

TEST(BadInputE2eTest, CrdSchemaRejectionsShowKubesFieldErrorsAndNothingIsStored) {
  Environment env;
  START_OPERATOR(env);
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kNamespaces).exitCode, 0);
  ASSERT_TRUE(webhookSeesNamespace(env, "acme-web", "acme"));
  for (const Rejected& rejected : kSchemaRejections) {
    SCOPED_TRACE(rejected.what);
    const std::string manifest =
        std::string("apiVersion: billing.operator.dev/v1alpha1\n") + rejected.manifest + "\n";
    CommandResult applied = env.kubectl({"apply", "-f", "-"}, manifest);
    EXPECT_EQ(applied.exitCode, 1) << applied;
    // kubectl apply prints kube's 422 Status as "The KIND "NAME" is invalid: ...".
    EXPECT_THAT(applied.err, HasSubstr(" is invalid: ")) << applied;
    EXPECT_THAT(applied.err, HasSubstr(rejected.expected)) << applied;
  }
  CommandResult stored = env.kubectl({"get", "billing", "-n", "acme-web", "-o", "name"});
  EXPECT_EQ(stored.exitCode, 0) << stored;
  EXPECT_EQ(stored.out, "") << "a refused object was stored";

  // The operator and its webhook serve on: a good object is admitted and reconciled.
  EXPECT_EQ(healthz(op), 200);
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kGoodGroup).exitCode, 0);
  EXPECT_TRUE(eventually(
      [&] {
        return readyReason(env.getJson({"billinggroup", "-n", "acme-billing", "main"})) ==
               "True/Reconciled";
      },
      20s));
}

// ---- the webhook's rules that examples/broken has no variant of ----

struct WebhookCase {
  const char* code;
  const char* manifest;  // objects in acme-web / acme-billing; the last one is refused
};

const WebhookCase kWebhookCases[] = {
    {"InvalidCreditAmount", R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata: {name: credit-cents, namespace: acme-billing}
spec: {currency: EUR, credits: [{id: promo, amount: "10.125"}]})"},
    {"ProjectRefOnOrganizationGroup", R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata: {name: org-with-ref, namespace: acme-web}
spec: {currency: EUR, scope: Organization, projectRef: {name: web}})"},
    {"InvalidPeriod", R"(apiVersion: billing.operator.dev/v1alpha1
kind: Invoice
metadata: {name: backwards, namespace: acme-billing}
spec: {billingGroupRef: {name: main}, periodStart: "2024-02-01T00:00:00Z",
       periodEnd: "2024-01-01T00:00:00Z"})"},
    {"InvalidCountryCode", R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata: {name: no-country, namespace: acme-billing}
spec: {currency: EUR, address: {countryCode: XX}})"},
};

TEST(BadInputE2eTest, WebhookRulesWithoutABrokenExampleAreRefusedWithTheCheckersMessage) {
  Environment env;
  START_OPERATOR(env);
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kNamespaces).exitCode, 0);
  ASSERT_TRUE(webhookSeesNamespace(env, "acme-web", "acme"));
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kGoodGroup).exitCode, 0);
  for (const WebhookCase& c : kWebhookCases) {
    SCOPED_TRACE(c.code);
    const fs::path file = env.dir() / (std::string(c.code) + ".yaml");
    apiserver::harness::writeFile(file, kNamespaces + "---\n" + kGoodGroup + "---\n" + c.manifest);
    std::vector<value> violations = checkerViolations(file, env.dir());
    ASSERT_FALSE(violations.empty());
    const value& v = violations.front();
    ASSERT_EQ(at(v, "code"), c.code);
    const std::string expected =
        kDenied + at(v, "message") + " (field " + at(v, "field") + ", code " + c.code + ")";
    CommandResult applied = env.kubectl({"apply", "-f", "-"}, c.manifest);
    EXPECT_EQ(applied.exitCode, 1) << applied;
    EXPECT_THAT(applied.err, HasSubstr("Error from server (Forbidden)")) << applied;
    EXPECT_THAT(applied.err, HasSubstr(expected)) << applied;
  }
  EXPECT_EQ(healthz(op), 200);
}

// ---- oversized objects and lists ----

std::string projectWithAnnotation(const std::string& name, std::size_t bytes) {
  return "apiVersion: billing.operator.dev/v1alpha1\nkind: Project\nmetadata:\n  name: " + name +
         "\n  namespace: acme-web\n  annotations:\n    example.com/blob: \"" +
         std::string(bytes, 'x') + "\"\nspec:\n  displayName: " + name + "\n";
}

TEST(BadInputE2eTest, OversizedBodiesGet413AndANearLimitAnnotationIsReconciled) {
  Environment env;
  START_OPERATOR(env);
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kNamespaces).exitCode, 0);
  ASSERT_TRUE(webhookSeesNamespace(env, "acme-web", "acme"));

  // Over kube-apiserver's 3 MiB request limit: its Status, as kubectl prints it.
  const fs::path huge = env.dir() / "huge.yaml";
  apiserver::harness::writeFile(huge, projectWithAnnotation("huge", 3 * 1024 * 1024 + 16));
  CommandResult created = env.kubectl({"create", "-f", huge.string()});
  EXPECT_EQ(created.exitCode, 1) << created.err.substr(0, 500);
  EXPECT_THAT(created.err,
              HasSubstr("Error from server (RequestEntityTooLarge): error when "
                        "creating \"" +
                        huge.string() + "\": Request entity too large: limit is 3145728"));

  // Just under the 256 KiB that all annotations of an object may hold: stored and reconciled.
  const std::size_t nearLimit = 256 * 1024 - 64;
  const fs::path large = env.dir() / "large.yaml";
  apiserver::harness::writeFile(large, projectWithAnnotation("large", nearLimit));
  created = env.kubectl({"create", "-f", large.string()});
  ASSERT_EQ(created.exitCode, 0) << created;
  value project;
  EXPECT_TRUE(eventually(
      [&] {
        project = env.getJson({"project", "-n", "acme-web", "large"});
        return readyReason(project) == "True/BillingGroupAssigned";
      },
      20s))
      << readyReason(project);
  EXPECT_EQ(at(project, "status.billingGroup.name"), "large-billing");
  EXPECT_EQ(project.at("metadata").at("annotations").at("example.com/blob").as_string().size(),
            nearLimit);
  auto memberships = env.ledger()->memberships("acme-web/large");
  ASSERT_TRUE(memberships) << memberships.error();
  EXPECT_EQ(memberships->size(), 1u);

  // kubectl apply (client side) copies the object into last-applied-configuration, doubling the
  // annotations: kube refuses that with a field error, and says what is too long.
  CommandResult applied =
      env.kubectl({"apply", "-f", env.dir().string() + "/large.yaml", "--dry-run=server"});
  EXPECT_EQ(applied.exitCode, 1);
  EXPECT_THAT(applied.err,
              HasSubstr("metadata.annotations: Too long: may not be more than 262144 bytes"));

  EXPECT_EQ(healthz(op), 200);
  EXPECT_TRUE(env.apiServer().process().running());
}

TEST(BadInputE2eTest, TwoThousandObjectsInOneFileAreAppliedAndReconciled) {
  constexpr int kProjects = 2000;
  Environment env;
  START_OPERATOR(env);
  ASSERT_EQ(env.kubectl({"apply", "-f", "-"}, kNamespaces).exitCode, 0);
  ASSERT_TRUE(webhookSeesNamespace(env, "acme-web", "acme"));
  std::string manifest = kGoodGroup;
  for (int i = 0; i < kProjects; ++i) {
    manifest +=
        "---\napiVersion: billing.operator.dev/v1alpha1\nkind: Project\nmetadata:\n  name: p" +
        std::to_string(i) +
        "\n  namespace: acme-web\nspec:\n  billingGroupRef:\n    name: main\n    "
        "namespace: acme-billing\n";
  }
  const fs::path file = env.dir() / "many.yaml";
  apiserver::harness::writeFile(file, manifest);
  const auto started = std::chrono::steady_clock::now();
  // 2,000 creates, each through both webhooks, take about 30 s in the normal build and over 60 s in
  // the ASan build (scripts/sanitize.sh): the time is not what this test is about.
  CommandResult applied = env.kubectl({"apply", "-f", file.string()}, {}, 300s);
  ASSERT_EQ(applied.exitCode, 0) << applied.err;
  std::cout << kProjects << " projects applied in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms" << std::endl;

  value group;
  EXPECT_TRUE(eventually(
      [&] {
        group = env.getJson({"billinggroup", "-n", "acme-billing", "main"});
        return at(group, "status.projectCount") == std::to_string(kProjects);
      },
      180s))
      << "projectCount " << at(group, "status.projectCount");
  std::cout << "reconciled " << kProjects << " projects after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms" << std::endl;
  // Every project's own status says so too (the group's count can run ahead of them).
  int ready = 0;
  EXPECT_TRUE(eventually(
      [&] {
        ready = 0;
        value list = env.getJson({"projects", "-n", "acme-web"});
        if (list.is_null()) return false;
        for (const value& item : list.at("items").as_array()) {
          ready += readyReason(item) == "True/BillingGroupAssigned" ? 1 : 0;
        }
        return ready == kProjects;
      },
      120s))
      << ready << " of " << kProjects << " projects Ready";
  EXPECT_EQ(healthz(op), 200);
}

// ---- malformed kubeconfigs for `billing-operator run` ----

struct KubeconfigCase {
  const char* what;
  std::function<std::string(const std::string&)> edit;  // the valid kubeconfig -> a broken one
  const char* expected;
};

TEST(BadInputE2eTest, MalformedKubeconfigsStopRunWithExitCode3AndTheProblem) {
  TempDir dir;
  ApiServerProcess apiServer(dir.path(), {});
  ASSERT_TRUE(apiServer.waitReady());
  const std::string valid = apiserver::harness::readFile(apiServer.kubeconfig());
  const fs::path tokenFile = dir.path() / "missing-token";
  auto replace = [](const std::string& text, const std::string& pattern, const std::string& with) {
    return std::regex_replace(text, std::regex(pattern), with);
  };
  const KubeconfigCase cases[] = {
      {"not YAML", [](const std::string&) { return std::string("clusters: [\n"); }, "invalid YAML"},
      {"no such context",
       [&](const std::string& text) {
         return replace(text, "current-context: \\S+", "current-context: nowhere");
       },
       "nowhere"},
      {"context without its cluster",
       [&](const std::string& text) {
         return replace(text, "    cluster: test-apiserver", "    cluster: gone-cluster");
       },
       "gone-cluster"},
      {"context without its user",
       [&](const std::string& text) {
         return replace(text, "    user: admin", "    user: gone-user");
       },
       "gone-user"},
      {"certificate-authority-data not base64",
       [&](const std::string& text) {
         return replace(text, "certificate-authority-data: \\S+",
                        "certificate-authority-data: not*base64!");
       },
       "certificate-authority-data"},
      {"unreadable token file",
       [&](const std::string& text) {
         std::string edited = replace(text, "    client-certificate-data: \\S+\n",
                                      "    tokenFile: " + tokenFile.string() + "\n");
         return replace(edited, "    client-key-data: \\S+\n", "");
       },
       "missing-token"},
  };
  for (const KubeconfigCase& c : cases) {
    SCOPED_TRACE(c.what);
    const fs::path path = dir.path() / "broken.kubeconfig";
    apiserver::harness::writeFile(path, c.edit(valid));
    apiserver::harness::Process run(
        {binaryPath("billing-operator").string(), "run", "--kubeconfig", path.string(),
         "--metrics-bind-address", "0", "--health-probe-bind-address", "0"},
        dir.path(), "");
    CommandResult result = run.wait(20s);
    EXPECT_EQ(result.exitCode, 3) << result;
    EXPECT_THAT(result.err, HasSubstr(path.string())) << "names the file: " << result;
    EXPECT_THAT(result.err, HasSubstr(c.expected)) << result;
  }
  EXPECT_TRUE(apiServer.process().running());
}

// ---- malformed manifests for `billing-operator check` ----

TEST(BadInputE2eTest, CheckRefusesMalformedManifestsAsUnusableInputWithFileAndLine) {
  TempDir dir;
  struct Case {
    const char* file;
    const char* content;
    int exitCode;
    const char* expected;
  };
  const Case cases[] = {
      {"truncated.json", "{\"apiVersion\": \"billing.operator.dev/v1alpha1\", \"kind\": ", 2,
       "truncated.json:1"},
      {"tab-indented.yaml", "kind: Project\nmetadata:\n\tname: web\n", 2, "tab-indented.yaml:3"},
      {"metadata-string.yaml",
       "apiVersion: billing.operator.dev/v1alpha1\nkind: Project\nmetadata: web\n", 1,
       "metadata-string.yaml"},
      // Documents that are no Kubernetes object at all (a sentence, a list) are ignored like other
      // kinds and counted in the summary: a GitOps folder may hold YAML that is not for kubectl.
      {"scalar.yaml", "just a sentence\n", 0, "1 other documents ignored"},
      {"list-of-numbers.yaml", "- 1\n- 2\n", 0, "1 other documents ignored"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const fs::path file = dir.path() / c.file;
    apiserver::harness::writeFile(file, c.content);
    apiserver::harness::Process check(
        {binaryPath("billing-operator").string(), "check", file.string()}, dir.path(), "");
    CommandResult result = check.wait(20s);
    EXPECT_EQ(result.exitCode, c.exitCode) << result;
    EXPECT_THAT(result.out + result.err, HasSubstr(c.expected)) << result;
  }
}

// ---- malformed AdmissionReviews straight to the webhook ----

TEST(BadInputE2eTest, MalformedAdmissionReviewsGet400WithAReasonAndTheWebhookServesOn) {
  Environment env;
  START_OPERATOR(env);
  common::TlsClientConfig tls;
  tls.caPem = env.webhook()->caPem;
  tls.serverName = env.webhook()->service + "." + env.webhook()->ns + ".svc";
  const std::string url = "https://127.0.0.1:" + std::to_string(op.webhookPort()) + "/validate";
  auto post = [&](const std::string& body) {
    return httpCall("POST", url, body, {{"Content-Type", "application/json"}}, tls);
  };
  const std::string project = R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",)"
                              R"("metadata":{"name":"web","namespace":"acme-web"},"spec":{}})";
  auto review = [&](const std::string& apiVersion, const std::string& kind,
                    const std::string& request) {
    return R"({"apiVersion":")" + apiVersion + R"(","kind":")" + kind + R"(")" +
           (request.empty() ? "" : R"(,"request":)" + request) + "}";
  };
  const std::string goodRequest =
      R"({"uid":"u-1","kind":{"group":"billing.operator.dev","version":"v1alpha1","kind":"Project"},)"
      R"("resource":{"group":"billing.operator.dev","version":"v1alpha1","resource":"projects"},)"
      R"("namespace":"acme-web","name":"web","operation":"CREATE","userInfo":{"username":"u"},)"
      R"("object":)" +
      project + "}";
  struct Case {
    const char* what;
    std::string body;
    int status;
    const char* expected;
  };
  const Case cases[] = {
      {"not JSON", "<AdmissionReview/>", 400, "not an AdmissionReview"},
      {"a JSON array", "[1,2]", 400, "not a JSON object"},
      {"wrong apiVersion", review("admission.k8s.io/v2", "AdmissionReview", goodRequest), 400,
       "expected apiVersion admission.k8s.io/v1"},
      {"wrong kind", review("admission.k8s.io/v1", "ConversionReview", goodRequest), 400,
       "expected kind AdmissionReview"},
      {"no request", review("admission.k8s.io/v1", "AdmissionReview", ""), 400, "no request"},
      {"no uid",
       review("admission.k8s.io/v1", "AdmissionReview",
              std::regex_replace(goodRequest, std::regex(R"("uid":"u-1",)"), "")),
       400, "request.uid is missing"},
      {"object not an object",
       review("admission.k8s.io/v1", "AdmissionReview",
              std::regex_replace(goodRequest, std::regex(R"("object":\{.*\}\}$)"),
                                 R"("object":"web"})")),
       400, "object"},
      {"over 3 MiB", std::string(3 * 1024 * 1024 + 1, ' '), 413, "exceeds"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto response = post(c.body);
    EXPECT_EQ(response.status, c.status) << response.body;
    EXPECT_THAT(response.body, HasSubstr(c.expected));
    // The webhook still answers a good review.
    auto good = post(review("admission.k8s.io/v1", "AdmissionReview", goodRequest));
    ASSERT_EQ(good.status, 200) << good.body;
    auto answer = common::parseJson(good.body);
    ASSERT_TRUE(answer) << good.body;
    EXPECT_EQ(at(*answer, "response.uid"), "u-1");
  }
  EXPECT_EQ(healthz(op), 200);
}

// ---- malformed requests and money at the ledger ----

TEST(BadInputE2eTest,
     LedgerRefusesMalformedRequestsAndMoneyWithAProblemNamingTheFieldAndStoresNothing) {
  TempDir dir;
  LedgerProcess ledger(dir.path());
  ASSERT_TRUE(ledger.waitReady()) << ledger.process().log();
  const common::HttpHeaders json = {{"Content-Type", "application/json"},
                                    {"Accept", "application/json"}};
  auto call = [&](const std::string& method, const std::string& path, const std::string& body,
                  const std::string& key) {
    common::HttpHeaders headers = json;
    headers.set("Idempotency-Key", key);
    return httpCall(method, ledger.url() + path, body, headers);
  };
  auto account = call("PUT", "/v1/accounts/acme-main",
                      R"({"name":"acme-billing/main","organization":"acme",)"
                      R"("scope":"Organization","currency":"EUR","profile":{}})",
                      "account-1");
  ASSERT_EQ(account.status, 201) << account.body;
  auto charge = [](const std::string& amount, const std::string& currency = "\"EUR\"",
                   const std::string& extra = "") {
    return R"({"clientId":"c-1","project":"acme-web/web","service":"compute","amount":)" + amount +
           R"(,"currency":)" + currency +
           R"(,"periodStart":"2024-01-01T00:00:00Z","periodEnd":"2024-01-02T00:00:00Z")" + extra +
           "}";
  };
  struct Case {
    const char* what;
    const char* path;
    std::string body;
    int status;
    const char* type;   // problem type suffix
    const char* field;  // "" when the body as a whole is wrong
    const char* detail;
  };
  const Case cases[] = {
      {"not JSON", "/v1/charges", "amount=1", 400, "malformed-json", "", "not valid JSON"},
      {"an array", "/v1/charges", "[]", 422, "wrong-type", "", "must be a JSON object"},
      {"missing field", "/v1/charges", R"({"project":"acme-web/web"})", 422, "missing-field",
       "clientId", "is required"},
      {"too many decimals", "/v1/charges", charge("\"1.234\""), 422, "amount-precision", "amount",
       "has 3 decimal places but EUR has 2"},
      {"exponent", "/v1/charges", charge("\"1e3\""), 422, "invalid-amount", "amount",
       "not a plain decimal number"},
      {"a JSON number", "/v1/charges", charge("12.5"), 422, "wrong-type", "amount",
       "must be a string"},
      {"beyond the integer range", "/v1/charges", charge("\"99999999999999999999\""), 422,
       "invalid-amount", "amount", "too large"},
      {"wrong currency code", "/v1/charges", charge("\"1.00\"", "\"EUX\""), 422, "unknown-currency",
       "currency", "not an active ISO 4217 currency code"},
      {"unknown field", "/v1/charges", charge("\"1.00\"", "\"EUR\"", R"(,"colour":"red")"), 422,
       "unknown-field", "colour", "unknown field"},
      {"negative credit", "/v1/accounts/acme-main/credits",
       R"({"id":"promo","amount":"-5.00","description":"x"})", 422, "invalid-amount", "amount",
       "must be greater than zero"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto response = call("POST", c.path, c.body, "bad-" + std::to_string(n++));
    EXPECT_EQ(response.status, c.status) << response.body;
    EXPECT_EQ(response.headers.get("Content-Type").value_or(""), "application/problem+json");
    auto problem = common::parseJson(response.body);
    ASSERT_TRUE(problem) << response.body;
    EXPECT_EQ(at(*problem, "type"), std::string("https://billing.operator.dev/problems/") + c.type);
    if (*c.field != '\0') {
      EXPECT_EQ(at(*problem, "field"), c.field) << response.body;
    }
    EXPECT_THAT(at(*problem, "detail"), HasSubstr(c.detail));
    EXPECT_EQ(call("GET", "/healthz", "", "").status, 200);
  }
  // Nothing was stored: no charge, no credit.
  auto charges = ledger.get("/v1/charges?project=acme-web%2Fweb");
  ASSERT_TRUE(charges) << charges.error();
  EXPECT_EQ(charges->at("items").size(), 0u) << common::toJson(*charges);
  auto stored = ledger.get("/v1/accounts/acme-main");
  ASSERT_TRUE(stored) << stored.error();
  EXPECT_EQ(at(*stored, "creditBalance"), "0.00");
  // A good charge needs a membership first: the ledger still serves writes.
  auto member = call("POST", "/v1/memberships",
                     R"({"project":"acme-web/web","accountId":"acme-main",)"
                     R"("effectiveFrom":"2024-01-01T00:00:00Z"})",
                     "membership-1");
  EXPECT_EQ(member.status, 201) << member.body;
  auto good = call("POST", "/v1/charges", charge("\"1.00\""), "good-charge");
  EXPECT_EQ(good.status, 201) << good.body;
}

}  // namespace
}  // namespace billing::e2e
