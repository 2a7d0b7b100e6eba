// Test helpers for admission webhooks: a real HTTPS webhook server (FakeWebhook) that records
// every AdmissionReview and answers through a replaceable responder, the PKI that signs its
// certificate, and AdmissionReview answers. Shared by the validating and mutating tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "common/json.h"
#include "common/tls.h"

namespace billing::apiserver::webhook_testing {

using web::json::value;

inline value json(const std::string& text) {
  auto parsed = common::parseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << parsed.error();
  return parsed.value_or(value::null());
}

inline std::string text(const value& object, const std::string& key) {
  return object.is_object() && object.has_field(key) && object.at(key).is_string()
             ? object.at(key).as_string()
             : "<" + key + " missing>";
}

// One CA that signs the webhook's serving certificate (the names the operator's certificate
// carries: its Service DNS name, and 127.0.0.1 for url clientConfigs), and one that signs nothing
// the webhook serves.
struct Pki {
  common::CertificateAuthority ca;
  common::CertificateAuthority otherCa;
  common::IssuedCertificate serving;
  std::string error;
};

inline const Pki& pki() {
  static const Pki instance = [] {
    Pki made;
    auto ca = common::generateCertificateAuthority("admission-test-ca", std::chrono::days(1));
    auto other = common::generateCertificateAuthority("unrelated-ca", std::chrono::days(1));
    if (!ca || !other) {
      made.error = !ca ? ca.error() : other.error();
      return made;
    }
    made.ca = *ca;
    made.otherCa = *other;
    common::CertificateRequest request;
    request.commonName = "webhook.billing-system.svc";
    request.dnsNames = {"webhook.billing-system.svc"};
    request.ipAddresses = {"127.0.0.1"};
    auto serving = common::issueCertificate(made.ca, request);
    if (!serving) {
      made.error = serving.error();
      return made;
    }
    made.serving = *serving;
    return made;
  }();
  return instance;
}

// What a webhook answers to one call.
struct Reply {
  int status = 200;
  common::HttpHeaders headers{{"Content-Type", "application/json"}};
  std::string body;
};

struct ReceivedCall {
  std::string target;  // path and query
  common::HttpHeaders headers;
  value review;
};

// An AdmissionReview v1 answering `review`, with `response` completed by the request's uid.
inline Reply answer(const value& review, value response) {
  if (!response.has_field("uid")) {
    response["uid"] = review.at("request").at("uid");
  }
  value body = value::object();
  body["apiVersion"] = value::string("admission.k8s.io/v1");
  body["kind"] = value::string("AdmissionReview");
  body["response"] = response;
  return {200, {{"Content-Type", "application/json"}}, common::toJson(body)};
}

inline Reply allow(const value& review) { return answer(review, json(R"({"allowed": true})")); }

// A webhook server over TLS that records every call and answers through a replaceable responder.
class FakeWebhook {
 public:
  using Responder = std::function<Reply(const ReceivedCall&)>;

  FakeWebhook()
      : server_(serverOptions(),
                [this](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
                  handle(request, writer);
                }) {}
  ~FakeWebhook() { stop(); }

  std::expected<void, std::string> start() { return server_.start(); }
  void stop() {
    release();
    server_.stop();
  }
  std::uint16_t port() const { return server_.port(); }
  std::string url(const std::string& path = "/validate") const {
    return "https://127.0.0.1:" + std::to_string(port()) + path;
  }

  void respond(Responder responder) {
    std::lock_guard lock(mutex_);
    responder_ = std::move(responder);
  }
  // Calls wait (recorded, unanswered) until release(): a webhook slower than its timeout.
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    std::lock_guard lock(mutex_);
    held_ = false;
    released_.notify_all();
  }

  std::size_t calls() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  std::vector<ReceivedCall> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  // The AdmissionReview of the last call (null when there was none).
  value lastReview() const {
    std::lock_guard lock(mutex_);
    return received_.empty() ? value::null() : received_.back().review;
  }

 private:
  static common::HttpServerOptions serverOptions() {
    common::HttpServerOptions options;
    options.tls = common::TlsServerConfig{pki().serving.certPem, pki().serving.keyPem, {}};
    options.errorLog = [](std::string_view) {};  // failed handshakes are what some tests want
    return options;
  }

  void handle(const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    ReceivedCall call{request.target, request.headers,
                      common::parseJson(request.body).value_or(value::null())};
    Responder responder;
    {
      std::unique_lock lock(mutex_);
      received_.push_back(call);
      responder = responder_;
      released_.wait_for(lock, std::chrono::seconds(10), [this] { return !held_; });
    }
    Reply reply = responder ? responder(call) : allow(call.review);
    writer.respond(reply.status, reply.headers, reply.body);
  }

  mutable std::mutex mutex_;
  std::condition_variable released_;
  bool held_ = false;
  Responder responder_;
  std::vector<ReceivedCall> received_;
  common::HttpServer server_;  // last: stopped before the state its handler uses goes away
};

}  // namespace billing::apiserver::webhook_testing
