#include "operator/webhook/webhook_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/http_client.h"
#include "common/json.h"
#include "common/tls.h"
#include "operator/runtime/metrics.h"
#include "reconcilers/resources.h"

namespace billing::webhook {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using web::json::value;

const std::string kServiceName = "billing-operator-webhook.billing-system.svc";

struct Pki {
  common::CertificateAuthority ca;
  common::IssuedCertificate serving;
};

Pki makePki(const std::string& caName) {
  auto ca = common::generateCertificateAuthority(caName, std::chrono::days(1));
  EXPECT_TRUE(ca.has_value());
  common::CertificateRequest request;
  request.commonName = kServiceName;
  request.dnsNames = {kServiceName, "billing-operator-webhook.billing-system"};
  request.validity = std::chrono::days(1);
  auto serving = common::issueCertificate(*ca, request);
  EXPECT_TRUE(serving.has_value());
  return Pki{*ca, *serving};
}

void writeFile(const fs::path& path, const std::string& content) {
  // Kubernetes swaps a Secret volume's files atomically; so do we (write aside, rename).
  fs::path aside = path.string() + ".tmp";
  std::ofstream(aside, std::ios::binary | std::ios::trunc) << content;
  fs::rename(aside, path);
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "webhook-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

value allowedReview() {
  return common::parseJson(R"({
    "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    "request": {"uid": "u-1", "operation": "CREATE",
                "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                "namespace": "acme-web", "name": "x",
                "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}}
  })")
      .value();
}

value projectReview() {
  return common::parseJson(R"({
    "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    "request": {"uid": "u-2", "operation": "CREATE",
                "kind": {"group": "billing.operator.dev", "version": "v1alpha1", "kind": "Project"},
                "namespace": "acme-web", "name": "web",
                "object": {"apiVersion": "billing.operator.dev/v1alpha1", "kind": "Project",
                           "metadata": {"name": "web", "namespace": "acme-web"},
                           "spec": {"billingGroupRef": {"name": "shared"}}}}
  })")
      .value();
}

class FailingSource final : public SnapshotSource {
 public:
  std::expected<domain::Snapshot, std::string> snapshot() const override {
    return std::unexpected(std::string("list billinggroups: connection refused"));
  }
};

class WebhookServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = makePki("webhook-test-ca");
    writeFile(dir_.path() / "tls.crt", pki_.serving.certPem);
    writeFile(dir_.path() / "tls.key", pki_.serving.keyPem);
  }

  WebhookServer::Options options() {
    WebhookServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.certDir = dir_.path();
    options.certCheckInterval = 50ms;
    options.log = [this](std::string_view line) {
      std::lock_guard lock(logMutex_);
      logged_ += std::string(line) + "\n";
    };
    return options;
  }

  static common::HttpClient clientTrusting(const std::string& caPem) {
    common::HttpClientOptions options;
    common::TlsClientConfig tls;
    tls.caPem = caPem;
    tls.serverName = kServiceName;
    options.tls = tls;
    options.requestTimeout = 10s;
    return common::HttpClient(options);
  }

  std::expected<common::HttpClientResponse, std::string> post(
      const WebhookServer& server, const std::string& body, const std::string& caPem = "",
      const std::string& path = std::string(kValidatePath)) {
    return clientTrusting(caPem.empty() ? pki_.ca.certPem : caPem)
        .request("POST", "https://127.0.0.1:" + std::to_string(server.port()) + path,
                 {{"Content-Type", "application/json"}}, body);
  }

  std::string logged() {
    std::lock_guard lock(logMutex_);
    return logged_;
  }

  TempDir dir_;
  Pki pki_;
  StaticSnapshotSource source_{domain::Snapshot{}};
  std::mutex logMutex_;
  std::string logged_;
};

TEST_F(WebhookServerTest, AnswersAnAdmissionReviewOverTlsForTheServiceName) {
  WebhookServer server(options(), source_);
  ASSERT_TRUE(server.start().has_value());
  auto response = post(server, common::toJson(projectReview()));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->headers.get("Content-Type").value_or(""), HasSubstr("application/json"));
  auto body = common::parseJson(response->body);
  ASSERT_TRUE(body.has_value()) << response->body;
  EXPECT_EQ(body->at("response").at("uid").as_string(), "u-2");
  // The group does not exist in the (empty) snapshot: allowed, with a warning.
  EXPECT_TRUE(body->at("response").at("allowed").as_bool());
  EXPECT_THAT(common::toJson(body->at("response").at("warnings")),
              HasSubstr("BillingGroupNotFound"));
}

TEST_F(WebhookServerTest, RefusesWhatIsNotAnAdmissionReview) {
  WebhookServer server(options(), source_);
  ASSERT_TRUE(server.start().has_value());
  auto garbage = post(server, "{not json");
  ASSERT_TRUE(garbage.has_value()) << garbage.error();
  EXPECT_EQ(garbage->status, 400);
  EXPECT_THAT(garbage->body, HasSubstr("not an AdmissionReview"));

  auto pod = post(server, R"({"apiVersion": "v1", "kind": "Pod"})");
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->status, 400);
  EXPECT_THAT(pod->body, HasSubstr("apiVersion admission.k8s.io/v1"));
}

TEST_F(WebhookServerTest, ServesHealthzAndNothingElse) {
  WebhookServer server(options(), source_);
  ASSERT_TRUE(server.start().has_value());
  auto client = clientTrusting(pki_.ca.certPem);
  const std::string base = "https://127.0.0.1:" + std::to_string(server.port());
  auto health = client.request("GET", base + "/healthz");
  ASSERT_TRUE(health.has_value()) << health.error();
  EXPECT_EQ(health->status, 200);
  auto get = client.request("GET", base + std::string(kValidatePath));
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->headers.get("Allow").value_or(""), "POST");
  auto other = post(server, common::toJson(allowedReview()), "", "/validating");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->status, 404);
  EXPECT_THAT(other->body, HasSubstr("POST /validate and POST /mutate"));
  auto getMutate = client.request("GET", base + std::string(kMutatePath));
  ASSERT_TRUE(getMutate.has_value());
  EXPECT_EQ(getMutate->status, 405);
}

TEST_F(WebhookServerTest, MutateAnswersACreateWithTheFinalizerPatch) {
  WebhookServer server(options(), source_);
  ASSERT_TRUE(server.start().has_value());
  auto response = post(server, common::toJson(projectReview()), "", std::string(kMutatePath));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 200);
  auto body = common::parseJson(response->body);
  ASSERT_TRUE(body.has_value()) << response->body;
  const value& answer = body->at("response");
  EXPECT_EQ(answer.at("uid").as_string(), "u-2");
  EXPECT_TRUE(answer.at("allowed").as_bool());
  EXPECT_EQ(answer.at("patchType").as_string(), "JSONPatch");
  auto patch = common::base64Decode(answer.at("patch").as_string());
  ASSERT_TRUE(patch.has_value());
  EXPECT_THAT(*patch, HasSubstr(std::string(reconcilers::kProjectFinalizer)));
  // The mutating path does not validate: no warning about the missing group here, /validate
  // gives it.
  EXPECT_FALSE(answer.has_field("warnings"));

  auto configMap = post(server, common::toJson(allowedReview()), "", std::string(kMutatePath));
  ASSERT_TRUE(configMap.has_value());
  EXPECT_EQ(configMap->status, 200);
  EXPECT_THAT(configMap->body, ::testing::Not(HasSubstr("patch")));
}

TEST_F(WebhookServerTest, MutateRefusesWhatIsNotAnAdmissionReviewLikeValidate) {
  WebhookServer server(options(), source_);
  ASSERT_TRUE(server.start().has_value());
  for (const std::string body : {"{not json", R"({"apiVersion": "v1", "kind": "Pod"})"}) {
    auto validating = post(server, body);
    auto mutating = post(server, body, "", std::string(kMutatePath));
    ASSERT_TRUE(validating.has_value() && mutating.has_value());
    EXPECT_EQ(mutating->status, 400) << body;
    EXPECT_EQ(mutating->body, validating->body) << body;
    EXPECT_THAT(mutating->body, HasSubstr("not an AdmissionReview"));
  }
}

TEST_F(WebhookServerTest, ReviewsAreCountedPerPathAndStatus) {
  WebhookServer::Options counted = options();
  runtime::Registry registry;
  counted.metrics = &registry;
  WebhookServer server(counted, source_);
  ASSERT_TRUE(server.start().has_value());
  ASSERT_TRUE(post(server, common::toJson(projectReview()), "", std::string(kMutatePath)));
  ASSERT_TRUE(post(server, common::toJson(projectReview()), "", std::string(kMutatePath)));
  ASSERT_TRUE(post(server, common::toJson(projectReview())));
  ASSERT_TRUE(post(server, "{not json", "", std::string(kMutatePath)));
  const std::string text = registry.render();
  EXPECT_THAT(
      text,
      HasSubstr(R"(controller_runtime_webhook_requests_total{code="200",webhook="/mutate"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(controller_runtime_webhook_requests_total{code="200",webhook="/validate"} 1)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(controller_runtime_webhook_requests_total{code="400",webhook="/mutate"} 1)"));
  EXPECT_THAT(
      text, HasSubstr(R"(controller_runtime_webhook_latency_seconds_count{webhook="/mutate"} 3)"));
  EXPECT_THAT(text,
              HasSubstr(R"(controller_runtime_webhook_requests_in_flight{webhook="/mutate"} 0)"));
}

TEST_F(WebhookServerTest, BodiesOverThreeMebibytesAreRefused) {
  WebhookServer server(options(), source_);
  ASSERT_TRUE(server.start().has_value());
  value review = allowedReview();
  review["request"]["object"]["data"]["big"] = value::string(std::string(3 * 1024 * 1024, 'x'));
  auto response = post(server, common::toJson(review));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 413);
}

TEST_F(WebhookServerTest, AnUnreadableClusterIsA500AndLogged) {
  FailingSource failing;
  WebhookServer server(options(), failing);
  ASSERT_TRUE(server.start().has_value());
  auto response = post(server, common::toJson(projectReview()));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 500);
  EXPECT_THAT(response->body, HasSubstr("connection refused"));
  EXPECT_THAT(logged(), HasSubstr("cannot read the cluster's billing objects"));
  // Object contents are never logged (R8).
  EXPECT_THAT(logged(), ::testing::Not(HasSubstr("shared")));
}

TEST_F(WebhookServerTest, StartFailsWithoutACertificate) {
  fs::remove(dir_.path() / "tls.key");
  WebhookServer server(options(), source_);
  auto started = server.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_THAT(started.error(), HasSubstr("tls.key"));
}

TEST_F(WebhookServerTest, StartFailsWhenTheKeyIsNotTheCertificates) {
  Pki other = makePki("other-ca");
  writeFile(dir_.path() / "tls.key", other.serving.keyPem);
  WebhookServer server(options(), source_);
  auto started = server.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_THAT(started.error(), HasSubstr("does not belong to"));
}

TEST_F(WebhookServerTest, ARotatedCertificateIsServedWithoutARestart) {
  WebhookServer server(options(), source_);
  ASSERT_TRUE(server.start().has_value());
  const std::uint16_t port = server.port();
  ASSERT_TRUE(post(server, common::toJson(allowedReview())).has_value());

  Pki rotated = makePki("rotated-ca");
  writeFile(dir_.path() / "tls.key", rotated.serving.keyPem);
  writeFile(dir_.path() / "tls.crt", rotated.serving.certPem);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server.certificateLoads() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(server.certificateLoads(), 2u) << logged();
  EXPECT_EQ(server.port(), port);
  auto fresh = post(server, common::toJson(allowedReview()), rotated.ca.certPem);
  ASSERT_TRUE(fresh.has_value()) << fresh.error();
  EXPECT_EQ(fresh->status, 200);
  auto stale = post(server, common::toJson(allowedReview()), pki_.ca.certPem);
  EXPECT_FALSE(stale.has_value()) << "the old CA still verifies the server";
  EXPECT_THAT(logged(), HasSubstr("serving certificate reloaded"));
}

TEST_F(WebhookServerTest, AHalfWrittenRotationKeepsTheOldCertificate) {
  WebhookServer::Options quiet = options();
  quiet.certCheckInterval = std::chrono::hours(1);  // this test checks by hand
  WebhookServer server(quiet, source_);
  ASSERT_TRUE(server.start().has_value());
  Pki rotated = makePki("rotated-ca");
  writeFile(dir_.path() / "tls.crt", rotated.serving.certPem);  // the key is not there yet
  auto reloaded = server.reloadIfChanged();
  ASSERT_FALSE(reloaded.has_value());
  EXPECT_THAT(reloaded.error(), HasSubstr("does not belong to"));
  auto old = post(server, common::toJson(allowedReview()), pki_.ca.certPem);
  ASSERT_TRUE(old.has_value()) << old.error();
  EXPECT_EQ(old->status, 200);

  writeFile(dir_.path() / "tls.key", rotated.serving.keyPem);
  reloaded = server.reloadIfChanged();
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error();
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ(server.certificateLoads(), 2u);
  // Nothing changed since: no second restart.
  reloaded = server.reloadIfChanged();
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_FALSE(*reloaded);
}

}  // namespace
}  // namespace billing::webhook
