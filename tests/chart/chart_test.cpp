// charts/billing-operator rendered with tools/chart-render (what `helm template` prints) for the
// defaults and the value sets users pick: every document parses and is a Kubernetes object, the
// Deployment is hardened and probed, the webhook is registered for the three kinds with each
// certificate mode, RBAC has no wildcard and grants exactly what the code calls, and
// values.schema.json refuses bad values with a message naming the value.
#include "tools/chart-render/chart.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace billing::chart {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kSource = BILLING_SOURCE_DIR;
const fs::path kChart = kSource / "charts" / "billing-operator";

struct Rendered {
  std::vector<Manifest> manifests;
  std::vector<YAML::Node> objects;
  std::string notes;
  std::string error;

  std::vector<YAML::Node> all(const std::string& kind) const {
    std::vector<YAML::Node> found;
    for (const auto& object : objects) {
      if (object["kind"].as<std::string>() == kind) found.push_back(object);
    }
    return found;
  }
  YAML::Node one(const std::string& kind, const std::string& name) const {
    for (const auto& object : objects) {
      if (object["kind"].as<std::string>() == kind &&
          object["metadata"]["name"].as<std::string>() == name) {
        return object;
      }
    }
    ADD_FAILURE() << "no " << kind << " " << name;
    return YAML::Node();
  }
  std::set<std::string> kinds() const {
    std::set<std::string> names;
    for (const auto& object : objects) names.insert(object["kind"].as<std::string>());
    return names;
  }
};

Rendered render(std::vector<std::string> sets = {}) {
  RenderOptions options;
  options.releaseName = "billing-operator";
  options.releaseNamespace = "billing-system";
  options.sets = std::move(sets);
  Rendered rendered;
  auto result = renderChart(kChart, options);
  if (!result) {
    rendered.error = result.error();
    return rendered;
  }
  rendered.manifests = result->manifests;
  rendered.notes = result->notes;
  for (const auto& manifest : result->manifests) {
    rendered.objects.push_back(YAML::Load(manifest.content));
  }
  return rendered;
}

std::vector<std::string> strings(const YAML::Node& list) {
  std::vector<std::string> out;
  if (!list) return out;
  for (const auto& item : list) out.push_back(item.as<std::string>());
  return out;
}

YAML::Node container(const YAML::Node& deployment, const std::string& name) {
  for (const auto& item : deployment["spec"]["template"]["spec"]["containers"]) {
    if (item["name"].as<std::string>() == name) return item;
  }
  ADD_FAILURE() << "no container " << name;
  return YAML::Node();
}

YAML::Node volume(const YAML::Node& deployment, const std::string& name) {
  for (const auto& item : deployment["spec"]["template"]["spec"]["volumes"]) {
    if (item["name"].as<std::string>() == name) return item;
  }
  return YAML::Node();
}

TEST(ChartTest, DefaultValuesRenderEveryKindAnOperatorNeeds) {
  Rendered r = render();
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.kinds(),
            (std::set<std::string>{"CustomResourceDefinition", "ServiceAccount", "ClusterRole",
                                   "ClusterRoleBinding", "Role", "RoleBinding", "Deployment",
                                   "Service", "ValidatingWebhookConfiguration",
                                   "MutatingWebhookConfiguration", "PodDisruptionBudget"}));
  EXPECT_EQ(r.all("CustomResourceDefinition").size(), 3u);
  const std::set<std::string> clusterScoped = {
      "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
      "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"};
  for (const auto& object : r.objects) {
    const std::string kind = object["kind"].as<std::string>();
    if (clusterScoped.count(kind)) {
      EXPECT_FALSE(object["metadata"]["namespace"]) << kind;
    } else {
      EXPECT_EQ(object["metadata"]["namespace"].as<std::string>(""), "billing-system") << kind;
    }
  }
  // CRDs before what uses them, the webhook configuration after the Deployment (Helm's order).
  auto position = [&](const std::string& kind) {
    for (std::size_t i = 0; i < r.manifests.size(); ++i) {
      if (r.manifests[i].kind == kind) return i;
    }
    return r.manifests.size();
  };
  EXPECT_LT(position("CustomResourceDefinition"), position("Deployment"));
  EXPECT_LT(position("ServiceAccount"), position("Deployment"));
  // Kinds Helm does not rank come last, by kind name (Helm's kind sorter).
  ASSERT_GE(r.manifests.size(), 2u);
  EXPECT_EQ(r.manifests[r.manifests.size() - 2].kind, "MutatingWebhookConfiguration");
  EXPECT_EQ(r.manifests.back().kind, "ValidatingWebhookConfiguration");
  EXPECT_THAT(r.notes,
              HasSubstr("kubectl -n billing-system rollout status deployment/billing-operator"));
  EXPECT_THAT(r.notes, HasSubstr("No billing backend is configured"));
}

TEST(ChartTest, TheDeploymentIsHardenedProbedAndElectsALeader) {
  Rendered r = render();
  ASSERT_EQ(r.error, "");
  YAML::Node deployment = r.one("Deployment", "billing-operator");
  EXPECT_EQ(deployment["spec"]["replicas"].as<int>(), 2);
  YAML::Node pod = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), "billing-operator");
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 65532);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");

  YAML::Node operatorContainer = container(deployment, "operator");
  YAML::Node security = operatorContainer["securityContext"];
  EXPECT_FALSE(security["allowPrivilegeEscalation"].as<bool>());
  EXPECT_TRUE(security["readOnlyRootFilesystem"].as<bool>());
  EXPECT_TRUE(security["runAsNonRoot"].as<bool>());
  EXPECT_EQ(strings(security["capabilities"]["drop"]), std::vector<std::string>{"ALL"});
  EXPECT_EQ(security["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");

  const auto args = strings(operatorContainer["args"]);
  EXPECT_EQ(args.front(), "run");
  EXPECT_THAT(args, Contains("--leader-elect=true"));
  EXPECT_THAT(args, Contains("--leader-election-namespace=billing-system"));
  EXPECT_THAT(args, Contains("--health-probe-bind-address=:8081"));
  EXPECT_THAT(args, Contains("--webhook-cert-generate"));
  EXPECT_THAT(args, Contains("--webhook-service-namespace=billing-system"));

  std::map<std::string, int> ports;
  for (const auto& port : operatorContainer["ports"]) {
    ports[port["name"].as<std::string>()] = port["containerPort"].as<int>();
  }
  EXPECT_EQ(ports["health"], 8081);
  EXPECT_EQ(ports["webhook"], 9443);
  EXPECT_EQ(ports["metrics"], 8080);
  EXPECT_EQ(operatorContainer["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(operatorContainer["livenessProbe"]["httpGet"]["port"].as<std::string>(), "health");
  EXPECT_EQ(operatorContainer["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(operatorContainer["readinessProbe"]["httpGet"]["port"].as<std::string>(), "health");
  for (const char* kind : {"requests", "limits"}) {
    EXPECT_TRUE(operatorContainer["resources"][kind]["cpu"]) << kind;
    EXPECT_TRUE(operatorContainer["resources"][kind]["memory"]) << kind;
  }
  // The operator writes its certificate into an emptyDir: the root filesystem is read-only.
  EXPECT_TRUE(volume(deployment, "webhook-certs")["emptyDir"]);
}

TEST(ChartTest, CrdsAreTheRepositorysCrdsKeptOnUninstallAndSwitchable) {
  Rendered r = render();
  ASSERT_EQ(r.error, "");
  for (const auto& entry : fs::directory_iterator(kSource / "crds")) {
    YAML::Node source = YAML::LoadFile(entry.path().string());
    YAML::Node rendered =
        r.one("CustomResourceDefinition", source["metadata"]["name"].as<std::string>());
    EXPECT_EQ(YAML::Dump(rendered["spec"]), YAML::Dump(source["spec"])) << entry.path();
    EXPECT_EQ(rendered["metadata"]["annotations"]["helm.sh/resource-policy"].as<std::string>(""),
              "keep");
  }
  Rendered notKept = render({"crds.keep=false"});
  ASSERT_EQ(notKept.error, "");
  for (const auto& crd : notKept.all("CustomResourceDefinition")) {
    EXPECT_FALSE(crd["metadata"]["annotations"]);
  }
  Rendered off = render({"crds.install=false"});
  ASSERT_EQ(off.error, "");
  EXPECT_TRUE(off.all("CustomResourceDefinition").empty());
  EXPECT_THAT(off.notes, HasSubstr("CRDs were NOT installed"));
}

// The webhook configuration calls the Service, whose targetPort is the container's webhook port.
void expectWebhookWiring(const Rendered& r) {
  YAML::Node configuration = r.one("ValidatingWebhookConfiguration", "billing-operator");
  ASSERT_EQ(configuration["webhooks"].size(), 1u);
  YAML::Node hook = configuration["webhooks"][0];
  EXPECT_EQ(hook["name"].as<std::string>(), "validate.billing.operator.dev");
  EXPECT_EQ(hook["sideEffects"].as<std::string>(), "None");
  EXPECT_EQ(hook["failurePolicy"].as<std::string>(), "Fail");
  EXPECT_EQ(strings(hook["admissionReviewVersions"]), std::vector<std::string>{"v1"});
  YAML::Node service = hook["clientConfig"]["service"];
  EXPECT_EQ(service["path"].as<std::string>(), "/validate");
  EXPECT_EQ(service["namespace"].as<std::string>(), "billing-system");
  YAML::Node svc = r.one("Service", service["name"].as<std::string>());
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc["spec"]["ports"][0]["port"].as<int>(), service["port"].as<int>());
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"].as<std::string>(), "webhook");
  EXPECT_EQ(svc["spec"]["selector"]["app.kubernetes.io/component"].as<std::string>(), "operator");
  std::set<std::string> createUpdate;
  bool deleteGroups = false;
  for (const auto& rule : hook["rules"]) {
    EXPECT_EQ(strings(rule["apiGroups"]), std::vector<std::string>{"billing.operator.dev"});
    const auto operations = strings(rule["operations"]);
    if (operations == std::vector<std::string>{"CREATE", "UPDATE"}) {
      for (const auto& resource : strings(rule["resources"])) createUpdate.insert(resource);
    }
    if (operations == std::vector<std::string>{"DELETE"}) {
      deleteGroups = strings(rule["resources"]) == std::vector<std::string>{"billinggroups"};
    }
  }
  EXPECT_EQ(createUpdate, (std::set<std::string>{"billinggroups", "projects", "invoices"}));
  EXPECT_TRUE(deleteGroups);

  // The mutating webhook: the same Service, /mutate, CREATE of the two kinds with finalizers.
  YAML::Node mutating = r.one("MutatingWebhookConfiguration", "billing-operator");
  ASSERT_TRUE(mutating);
  ASSERT_EQ(mutating["webhooks"].size(), 1u);
  YAML::Node mutate = mutating["webhooks"][0];
  EXPECT_EQ(mutate["name"].as<std::string>(), "mutate.billing.operator.dev");
  EXPECT_EQ(mutate["sideEffects"].as<std::string>(), "None");
  EXPECT_EQ(mutate["failurePolicy"].as<std::string>(), hook["failurePolicy"].as<std::string>());
  EXPECT_EQ(mutate["timeoutSeconds"].as<int>(), hook["timeoutSeconds"].as<int>());
  EXPECT_EQ(mutate["reinvocationPolicy"].as<std::string>(), "Never");
  EXPECT_EQ(strings(mutate["admissionReviewVersions"]), std::vector<std::string>{"v1"});
  YAML::Node mutateService = mutate["clientConfig"]["service"];
  EXPECT_EQ(mutateService["path"].as<std::string>(), "/mutate");
  EXPECT_EQ(mutateService["name"].as<std::string>(), service["name"].as<std::string>());
  EXPECT_EQ(mutateService["namespace"].as<std::string>(), "billing-system");
  EXPECT_EQ(mutateService["port"].as<int>(), service["port"].as<int>());
  ASSERT_EQ(mutate["rules"].size(), 1u);
  YAML::Node rule = mutate["rules"][0];
  EXPECT_EQ(strings(rule["apiGroups"]), std::vector<std::string>{"billing.operator.dev"});
  EXPECT_EQ(strings(rule["apiVersions"]), std::vector<std::string>{"v1alpha1"});
  EXPECT_EQ(strings(rule["operations"]), std::vector<std::string>{"CREATE"});
  EXPECT_EQ(strings(rule["resources"]), (std::vector<std::string>{"billinggroups", "projects"}));
}

TEST(ChartTest, OperatorGeneratedCertificatesNeedOnlyTheirOwnSecretAndConfiguration) {
  Rendered r = render();
  ASSERT_EQ(r.error, "");
  expectWebhookWiring(r);
  YAML::Node configuration = r.one("ValidatingWebhookConfiguration", "billing-operator");
  // No caBundle in the template: the operator sets it, and Helm's three-way merge keeps it.
  EXPECT_FALSE(configuration["webhooks"][0]["clientConfig"]["caBundle"]);
  EXPECT_FALSE(r.one("MutatingWebhookConfiguration",
                     "billing-operator")["webhooks"][0]["clientConfig"]["caBundle"]);
  YAML::Node role = r.one("Role", "billing-operator-webhook-cert");
  EXPECT_EQ(strings(role["rules"][1]["resourceNames"]),
            std::vector<std::string>{"billing-operator-webhook-cert"});
  YAML::Node clusterRole = r.one("ClusterRole", "billing-operator-webhook-cert");
  EXPECT_EQ(strings(clusterRole["rules"][0]["resourceNames"]),
            std::vector<std::string>{"billing-operator"});
  EXPECT_EQ(strings(clusterRole["rules"][0]["resources"]),
            (std::vector<std::string>{"validatingwebhookconfigurations",
                                      "mutatingwebhookconfigurations"}));
}

TEST(ChartTest, CertManagerProvidesTheCertificateAndInjectsTheCa) {
  Rendered r = render({"webhook.certificates.mode=cert-manager"});
  ASSERT_EQ(r.error, "");
  expectWebhookWiring(r);
  YAML::Node configuration = r.one("ValidatingWebhookConfiguration", "billing-operator");
  EXPECT_EQ(
      configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].as<std::string>(),
      "billing-system/billing-operator-webhook");
  EXPECT_EQ(r.one("MutatingWebhookConfiguration",
                  "billing-operator")["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
                .as<std::string>(),
            "billing-system/billing-operator-webhook");
  // Helm's order for kinds it does not rank: by name.
  std::vector<std::string> unranked;
  for (const auto& manifest : r.manifests) {
    if (manifest.kind == "Certificate" || manifest.kind == "Issuer" ||
        manifest.kind.ends_with("WebhookConfiguration")) {
      unranked.push_back(manifest.kind);
    }
  }
  EXPECT_EQ(unranked,
            (std::vector<std::string>{"Certificate", "Issuer", "MutatingWebhookConfiguration",
                                      "ValidatingWebhookConfiguration"}));
  YAML::Node certificate = r.one("Certificate", "billing-operator-webhook");
  EXPECT_THAT(strings(certificate["spec"]["dnsNames"]),
              Contains("billing-operator-webhook.billing-system.svc"));
  EXPECT_EQ(certificate["spec"]["issuerRef"]["name"].as<std::string>(),
            "billing-operator-selfsigned");
  ASSERT_TRUE(r.one("Issuer", "billing-operator-selfsigned"));
  // The pod mounts the Secret cert-manager writes; the operator generates nothing.
  YAML::Node deployment = r.one("Deployment", "billing-operator");
  EXPECT_EQ(volume(deployment, "webhook-certs")["secret"]["secretName"].as<std::string>(),
            certificate["spec"]["secretName"].as<std::string>());
  EXPECT_THAT(strings(container(deployment, "operator")["args"]),
              Not(Contains("--webhook-cert-generate")));
  for (const auto& role : r.all("Role")) {
    EXPECT_NE(role["metadata"]["name"].as<std::string>(), "billing-operator-webhook-cert");
  }

  Rendered external = render({"webhook.certificates.mode=cert-manager",
                              "webhook.certificates.certManager.issuerRef.name=corp-ca",
                              "webhook.certificates.certManager.issuerRef.kind=ClusterIssuer"});
  ASSERT_EQ(external.error, "");
  EXPECT_TRUE(external.all("Issuer").empty());
  YAML::Node issuerRef =
      external.one("Certificate", "billing-operator-webhook")["spec"]["issuerRef"];
  EXPECT_EQ(issuerRef["name"].as<std::string>(), "corp-ca");
  EXPECT_EQ(issuerRef["kind"].as<std::string>(), "ClusterIssuer");
}

TEST(ChartTest, AnExistingSecretNeedsItsCaBundle) {
  Rendered missing =
      render({"webhook.certificates.mode=secret", "webhook.certificates.secretName=my-tls"});
  EXPECT_THAT(missing.error,
              HasSubstr("webhook.certificates.caBundle is required with mode secret"));
  Rendered r = render({"webhook.certificates.mode=secret", "webhook.certificates.secretName=my-tls",
                       "webhook.certificates.caBundle=Q0E="});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.one("ValidatingWebhookConfiguration",
                  "billing-operator")["webhooks"][0]["clientConfig"]["caBundle"]
                .as<std::string>(),
            "Q0E=");
  EXPECT_EQ(r.one("MutatingWebhookConfiguration",
                  "billing-operator")["webhooks"][0]["clientConfig"]["caBundle"]
                .as<std::string>(),
            "Q0E=");
  EXPECT_EQ(volume(r.one("Deployment", "billing-operator"), "webhook-certs")["secret"]["secretName"]
                .as<std::string>(),
            "my-tls");
}

TEST(ChartTest, TheServiceMonitorScrapesTheMetricsService) {
  EXPECT_TRUE(render().all("ServiceMonitor").empty());
  Rendered r =
      render({"metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"});
  ASSERT_EQ(r.error, "");
  YAML::Node monitor = r.one("ServiceMonitor", "billing-operator");
  EXPECT_EQ(monitor["metadata"]["labels"]["release"].as<std::string>(), "prom");
  YAML::Node service = r.one("Service", "billing-operator-metrics");
  for (const auto& label : monitor["spec"]["selector"]["matchLabels"]) {
    EXPECT_EQ(service["metadata"]["labels"][label.first.as<std::string>()].as<std::string>(""),
              label.second.as<std::string>());
  }
  EXPECT_EQ(monitor["spec"]["endpoints"][0]["port"].as<std::string>(),
            service["spec"]["ports"][0]["name"].as<std::string>());
}

TEST(ChartTest, TheLedgerTakesItsDsnFromASecretAndTheOperatorUsesIt) {
  Rendered missing = render({"billingLedger.enabled=true", "billingLedger.auth.tokenSecret=t"});
  EXPECT_THAT(missing.error, HasSubstr("billingLedger.database.existingSecret is required"));
  Rendered r = render({"billingLedger.enabled=true", "billingLedger.database.existingSecret=pg",
                       "billingLedger.auth.tokenSecret=ledger-token"});
  ASSERT_EQ(r.error, "");
  YAML::Node ledger = r.one("Deployment", "billing-operator-ledger");
  YAML::Node ledgerContainer = container(ledger, "ledger");
  EXPECT_EQ(ledgerContainer["env"][0]["valueFrom"]["secretKeyRef"]["name"].as<std::string>(), "pg");
  EXPECT_EQ(ledgerContainer["env"][0]["valueFrom"]["secretKeyRef"]["key"].as<std::string>(), "dsn");
  EXPECT_THAT(strings(ledgerContainer["args"]), Contains("--database=$(LEDGER_DATABASE)"));
  EXPECT_THAT(strings(ledgerContainer["args"]),
              Contains("--token-file=/var/run/billing-ledger/token"));
  EXPECT_TRUE(ledgerContainer["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_TRUE(r.one("Service", "billing-operator-ledger"));
  const auto args = strings(container(r.one("Deployment", "billing-operator"), "operator")["args"]);
  EXPECT_THAT(args,
              Contains("--ledger-url=http://billing-operator-ledger.billing-system.svc:8090"));
  EXPECT_THAT(args, Contains("--ledger-token-file=/var/run/billing-ledger/token"));
  EXPECT_THAT(r.notes, Not(HasSubstr("No billing backend")));
}

TEST(ChartTest, OneReplicaDoesNotBlockNodeDrains) {
  Rendered r = render({"replicaCount=1"});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.one("Deployment", "billing-operator")["spec"]["replicas"].as<int>(), 1);
  YAML::Node budget = r.one("PodDisruptionBudget", "billing-operator");
  EXPECT_FALSE(budget["spec"]["minAvailable"]);
  EXPECT_EQ(budget["spec"]["maxUnavailable"].as<int>(), 1);
  EXPECT_EQ(
      render().one("PodDisruptionBudget", "billing-operator")["spec"]["minAvailable"].as<int>(), 1);
}

TEST(ChartTest, TheSchemaAcceptsTheDefaultsAndRefusesBadValues) {
  ASSERT_EQ(render().error, "");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"replicaCount=0"}, "replicaCount: must be at least 1"},
      {{"replicaCount=two"}, "replicaCount: expected integer, got string"},
      {{"webhook.certificates.mode=vault"}, "webhook.certificates.mode: must be one of"},
      {{"webhook.failurePolicy=Maybe"}, "webhook.failurePolicy: must be one of"},
      {{"operator.logLevel=trace"}, "operator.logLevel: must be one of"},
      {{"ledger.url=ftp://x"}, "ledger.url: \"ftp://x\" does not match"},
      {{"webhook.port=70000"}, "webhook.port: must be at most 65535"},
      {{"crds.install=yes-please"}, "crds.install: expected boolean, got string"},
      {{"replicas=3"}, "unknown key \"replicas\""},
  };
  for (const auto& [sets, message] : cases) {
    Rendered r = render(sets);
    EXPECT_THAT(r.error, HasSubstr("values don't meet the specifications")) << sets[0];
    EXPECT_THAT(r.error, HasSubstr(message)) << sets[0];
  }
}

TEST(ChartTest, RbacHasNoWildcardAndKeepsNamespacedPowersInRoles) {
  for (const auto& sets : std::vector<std::vector<std::string>>{
           {},
           {"webhook.certificates.mode=cert-manager"},
           {"billingLedger.enabled=true", "billingLedger.database.existingSecret=pg",
            "billingLedger.auth.disabled=true"}}) {
    Rendered r = render(sets);
    ASSERT_EQ(r.error, "");
    for (const char* kind : {"ClusterRole", "Role"}) {
      for (const auto& role : r.all(kind)) {
        for (const auto& rule : role["rules"]) {
          for (const char* field : {"apiGroups", "resources", "verbs", "resourceNames"}) {
            EXPECT_THAT(strings(rule[field]), Not(Contains("*")))
                << kind << " " << role["metadata"]["name"].as<std::string>();
          }
          const auto resources = strings(rule["resources"]);
          if (std::string(kind) == "ClusterRole") {
            // Leases and Secrets only in the release namespace.
            EXPECT_THAT(resources, Not(Contains("leases")));
            EXPECT_THAT(resources, Not(Contains("secrets")));
          }
        }
      }
    }
    // Every binding names the chart's ServiceAccount and a role the chart defines.
    for (const char* kind : {"ClusterRoleBinding", "RoleBinding"}) {
      for (const auto& binding : r.all(kind)) {
        EXPECT_EQ(binding["subjects"][0]["name"].as<std::string>(), "billing-operator");
        const std::string roleKind = binding["roleRef"]["kind"].as<std::string>();
        EXPECT_TRUE(r.one(roleKind, binding["roleRef"]["name"].as<std::string>()));
      }
    }
  }
}

// ---- RBAC from the code ----
//
// Every call the operator makes through its Kubernetes client is found in operator/ and
// reconcilers/ (the client itself, operator/kube, excepted) and mapped to the resource it
// addresses. The chart must grant exactly those (resource, verb) pairs: a new call without a
// rule, or a rule nobody calls, fails here rather than in a user's cluster.

using Permission = std::pair<std::string, std::string>;  // "group/resource[/sub]", verb

std::string readText(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The resource expressions the code passes to the client, by file where the name is generic.
std::string resourceFor(const std::string& file, const std::string& expression) {
  static const std::map<std::string, std::string> byExpression = {
      {"namespacesResource()", "/namespaces"},
      {"billingGroupsResource()", "billing.operator.dev/billinggroups"},
      {"projectsResource()", "billing.operator.dev/projects"},
      {"invoicesResource()", "billing.operator.dev/invoices"},
      {"kSecrets", "/secrets"},
      {"kWebhookConfigurations", "admissionregistration.k8s.io/validatingwebhookconfigurations"},
      {"kMutatingWebhookConfigurations",
       "admissionregistration.k8s.io/mutatingwebhookconfigurations"},
  };
  const std::string name =
      expression.substr(expression.rfind(':') == std::string::npos ? 0 : expression.rfind(':') + 1);
  if (auto found = byExpression.find(name); found != byExpression.end()) return found->second;
  const std::string base = fs::path(file).filename().string();
  if (base == "leader_election.cpp" && expression == "resource")
    return "coordination.k8s.io/leases";
  if (base == "events.cpp" && expression == "resource") return "events.k8s.io/events";
  if (base == "run_command.cpp" && expression == "groups")
    return "billing.operator.dev/billinggroups";
  return "";
}

std::set<Permission> permissionsFromCode(std::vector<std::string>& unmapped) {
  const std::map<std::string, std::string> verbs = {
      {"get", "get"},       {"list", "list"},   {"watch", "watch"},   {"create", "create"},
      {"update", "update"}, {"patch", "patch"}, {"remove", "delete"}, {"updateStatus", "update"}};
  // client_.verb(resource, ...) / deps_.client.verb(...) / client.verb(...)
  const std::regex call(
      R"((?:client_|deps_\.client|client)\s*(?:\.|->)\s*(get|list|watch|create|update|updateStatus|patch|remove)\(\s*([A-Za-z_:()]+))");
  // Finalizer helpers patch the resource they are given; informers list and watch theirs.
  const std::regex finalizers(
      R"((?:ensureFinalizer|patchFinalizers)\(\s*deps_\.client,\s*([A-Za-z_:()]+))");
  const std::regex informer(R"(\.informer\(\s*([A-Za-z_:]+\(\))\s*\))");
  // The certificate provisioner reads and patches the webhook configuration kind it is given.
  const std::regex caBundles(R"(ensureCaBundle\(\s*([A-Za-z_:]+)\s*,)");
  // Generic code whose resource comes from a caller found above.
  const std::set<std::string> generic = {"informer.cpp", "reconciler_support.cpp",
                                         "snapshot_source.cpp"};
  std::set<Permission> permissions;
  for (const char* dir : {"operator", "reconcilers"}) {
    for (const auto& entry : fs::recursive_directory_iterator(kSource / dir)) {
      const std::string path = entry.path().string();
      if (entry.path().extension() != ".cpp" || path.find("/operator/kube/") != std::string::npos) {
        continue;
      }
      const std::string text = readText(entry.path());
      const std::string base = entry.path().filename().string();
      for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
        if (generic.count(base)) continue;
        if (base == "cert_provisioner.cpp" && (*it)[2] == "resource") continue;  // caBundles below
        const std::string resource = resourceFor(path, (*it)[2]);
        if (resource.empty()) {
          unmapped.push_back(base + ": " + it->str());
          continue;
        }
        const std::string verb = (*it)[1];
        permissions.insert(
            {verb == "updateStatus" ? resource + "/status" : resource, verbs.at(verb)});
      }
      for (std::sregex_iterator it(text.begin(), text.end(), finalizers), end; it != end; ++it) {
        permissions.insert({resourceFor(path, (*it)[1]), "patch"});
      }
      for (std::sregex_iterator it(text.begin(), text.end(), caBundles), end; it != end; ++it) {
        const std::string resource = resourceFor(path, (*it)[1]);
        if (resource.empty()) {
          unmapped.push_back(base + ": " + it->str());
          continue;
        }
        permissions.insert({resource, "get"});
        permissions.insert({resource, "patch"});
      }
      for (std::sregex_iterator it(text.begin(), text.end(), informer), end; it != end; ++it) {
        const std::string resource = resourceFor(path, (*it)[1]);
        if (resource.empty()) {
          unmapped.push_back(base + ": " + it->str());
          continue;
        }
        permissions.insert({resource, "list"});
        permissions.insert({resource, "watch"});
      }
    }
  }
  // ClientSnapshotSource (the webhook without informers) lists what the informers list.
  return permissions;
}

std::set<Permission> permissionsFromChart(const Rendered& r) {
  std::set<Permission> granted;
  for (const char* kind : {"ClusterRole", "Role"}) {
    for (const auto& role : r.all(kind)) {
      for (const auto& rule : role["rules"]) {
        for (const auto& group : strings(rule["apiGroups"])) {
          for (const auto& resource : strings(rule["resources"])) {
            for (const auto& verb : strings(rule["verbs"])) {
              granted.insert({group + "/" + resource, verb});
            }
          }
        }
      }
    }
  }
  return granted;
}

TEST(ChartTest, RbacGrantsExactlyWhatTheCodeCalls) {
  std::vector<std::string> unmapped;
  std::set<Permission> needed = permissionsFromCode(unmapped);
  EXPECT_THAT(unmapped, ::testing::IsEmpty())
      << "client calls on resources this test cannot name: map them in resourceFor() and grant "
         "them in charts/billing-operator/templates/rbac.yaml";
  // Sanity: the scan sees the calls it must (a broken regex would make this test vacuous).
  EXPECT_THAT(needed, Contains(Permission{"coordination.k8s.io/leases", "update"}));
  EXPECT_THAT(needed, Contains(Permission{"billing.operator.dev/projects/status", "update"}));
  EXPECT_THAT(needed, Contains(Permission{"/namespaces", "watch"}));
  EXPECT_THAT(needed, Contains(Permission{
                          "admissionregistration.k8s.io/mutatingwebhookconfigurations", "patch"}));
  // Owner references with blockOwnerDeletion (a default group owned by its project) need update
  // on the owner's finalizers under OwnerReferencesPermissionEnforcement.
  const std::string plans = readText(kSource / "reconcilers/domain/plans.cpp");
  if (std::regex_search(plans, std::regex(R"("Project",[^;]*true, true\})"))) {
    needed.insert({"billing.operator.dev/projects/finalizers", "update"});
  }

  Rendered r = render();  // operator-generated certificates: every permission the code may use
  ASSERT_EQ(r.error, "");
  const std::set<Permission> granted = permissionsFromChart(r);
  for (const auto& permission : needed) {
    EXPECT_THAT(granted, Contains(permission))
        << "not granted: " << permission.second << " " << permission.first;
  }
  for (const auto& permission : granted) {
    EXPECT_THAT(needed, Contains(permission))
        << "granted but never called: " << permission.second << " " << permission.first;
  }
}

}  // namespace
}  // namespace billing::chart
