// Shared by the kube client tests: a test PKI, a fake API server on common::HttpServer (TLS, a
// handler per test, every request recorded), a fake clock, temporary directories and a latch.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/http_server.h"
#include "common/tls.h"

namespace billing::kube::testing {

struct TestPki {
  common::CertificateAuthority ca;
  common::CertificateAuthority otherCa;      // trusted by nobody: "wrong CA"
  common::IssuedCertificate server;          // 127.0.0.1, ::1, localhost
  common::IssuedCertificate namedServer;     // only DNS api.billing.test
  common::IssuedCertificate client;          // CN=alice, O=billing-admins
  common::IssuedCertificate strangerClient;  // CN=mallory, issued by otherCa
};

inline const TestPki& testPki() {
  static const TestPki pki = [] {
    TestPki result;
    auto ca = common::generateCertificateAuthority("kube-test-ca", std::chrono::days(2));
    EXPECT_TRUE(ca.has_value());
    result.ca = *ca;
    auto other = common::generateCertificateAuthority("other-ca", std::chrono::days(2));
    EXPECT_TRUE(other.has_value());
    result.otherCa = *other;
    auto issue = [](const common::CertificateAuthority& issuer,
                    common::CertificateRequest request) {
      auto issued = common::issueCertificate(issuer, request);
      EXPECT_TRUE(issued.has_value()) << issued.error();
      return issued.value_or(common::IssuedCertificate{});
    };
    common::CertificateRequest server;
    server.commonName = "kube-apiserver";
    server.dnsNames = {"localhost"};
    server.ipAddresses = {"127.0.0.1", "::1"};
    result.server = issue(result.ca, server);
    common::CertificateRequest named;
    named.commonName = "api.billing.test";
    named.dnsNames = {"api.billing.test"};
    result.namedServer = issue(result.ca, named);
    common::CertificateRequest client;
    client.commonName = "alice";
    client.organizations = {"billing-admins"};
    client.serverAuth = false;
    client.clientAuth = true;
    result.client = issue(result.ca, client);
    client.commonName = "mallory";
    result.strangerClient = issue(result.otherCa, client);
    return result;
  }();
  return pki;
}

// What a handler saw, for assertions after the fact.
struct RecordedRequest {
  std::string method;
  std::string path;
  std::string rawQuery;
  common::HttpHeaders headers;
  std::string body;
  std::optional<common::TlsPeerIdentity> peer;
  std::chrono::steady_clock::time_point at;

  std::optional<std::string> query(std::string_view name) const {
    auto parsed = common::parseQuery(rawQuery);
    if (!parsed) return std::nullopt;
    for (const auto& [key, value] : *parsed) {
      if (key == name) return value;
    }
    return std::nullopt;
  }
};

// An HTTPS server on 127.0.0.1, port 0, that asks for client certificates signed by the test CA.
class FakeServer {
 public:
  using Handler = std::function<void(const common::HttpRequest&, common::HttpResponseWriter&)>;

  explicit FakeServer(Handler handler, bool tls = true,
                      const common::IssuedCertificate* certificate = nullptr) {
    handler_ = std::move(handler);
    common::HttpServerOptions options;
    if (tls) {
      const auto& pki = testPki();
      const auto& cert = certificate ? *certificate : pki.server;
      options.tls = common::TlsServerConfig{cert.certPem, cert.keyPem, pki.ca.certPem};
    }
    options.errorLog = [](std::string_view) {};
    options.shutdownTimeout = std::chrono::milliseconds(500);
    server_ = std::make_unique<common::HttpServer>(
        options, [this](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
          {
            std::lock_guard lock(mutex_);
            requests_.push_back(RecordedRequest{request.method, request.path, request.rawQuery,
                                                request.headers, request.body, request.peer,
                                                std::chrono::steady_clock::now()});
          }
          changed_.notify_all();
          Handler current;
          {
            std::lock_guard lock(mutex_);
            current = handler_;
          }
          current(request, writer);
        });
    auto started = server_->start();
    EXPECT_TRUE(started.has_value()) << started.error();
  }
  ~FakeServer() { server_->stop(); }

  std::string url() const { return server_->url(); }
  std::uint16_t port() const { return server_->port(); }
  common::HttpServer& server() { return *server_; }

  void setHandler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }
  std::vector<RecordedRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t requestCount() {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  bool waitForRequests(std::size_t count,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Handler handler_;
  std::vector<RecordedRequest> requests_;
  std::unique_ptr<common::HttpServer> server_;
};

inline common::HttpHeaders jsonHeaders() { return {{"Content-Type", "application/json"}}; }

// A metav1.Status body as the API server writes it.
inline std::string statusBody(int code, const std::string& reason, const std::string& message,
                              const std::string& details = "") {
  std::string body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)";
  body += R"("message":")" + message + R"(","reason":")" + reason + R"(",)";
  if (!details.empty()) body += R"("details":)" + details + ",";
  body += R"("code":)" + std::to_string(code) + "}";
  return body;
}

// Time that only moves when a test sleeps or advances it; sleeps are recorded. The wall clock
// starts at the real time, as credential expiry checks in these tests expect.
class FakeClock final : public common::Clock {
 public:
  std::chrono::steady_clock::time_point now() const override { return clock_.now(); }
  std::chrono::system_clock::time_point wallNow() const override { return clock_.wallNow(); }
  bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) const override {
    return clock_.sleepFor(duration, stop);
  }
  void advance(std::chrono::nanoseconds duration) { clock_.advance(duration); }
  void setWall(std::chrono::system_clock::time_point wall) { clock_.setWall(wall); }
  std::vector<std::chrono::nanoseconds> sleeps() const { return clock_.sleeps(); }
  std::chrono::nanoseconds totalSlept() const { return clock_.totalSlept(); }

 private:
  common::ManualClock clock_{std::chrono::system_clock::now()};
};

// A directory under the system temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("kube-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::filesystem::path& relative, const std::string& content) {
    auto full = path_ / relative;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary | std::ios::trunc) << content;
    return full;
  }

 private:
  std::filesystem::path path_;
};

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

inline std::filesystem::path testdata(const std::string& relative = "") {
  return std::filesystem::path(BILLING_SOURCE_DIR) / "tests/unit/kube/testdata" / relative;
}

class Latch {
 public:
  void set() {
    {
      std::lock_guard lock(mutex_);
      set_ = true;
    }
    changed_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
};

}  // namespace billing::kube::testing
