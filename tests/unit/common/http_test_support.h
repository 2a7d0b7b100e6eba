// Helpers shared by the TLS, HTTP server and HTTP client tests: a test PKI, a raw TCP client for
// sending exactly the bytes a test wants, and a one-shot latch.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/http_message.h"
#include "common/tls.h"

namespace billing::common::testing {

// A CA, a server certificate for 127.0.0.1/::1/localhost, and a client certificate
// CN=alice, O=billing-admins, O=auditors. Generated once per test binary.
struct TestPki {
  CertificateAuthority ca;
  IssuedCertificate server;
  IssuedCertificate client;
};

inline const TestPki& testPki() {
  static const TestPki pki = [] {
    auto ca = generateCertificateAuthority("test-ca", std::chrono::days(2));
    EXPECT_TRUE(ca.has_value()) << ca.error();
    CertificateRequest serverRequest;
    serverRequest.commonName = "test-server";
    serverRequest.dnsNames = {"localhost"};
    serverRequest.ipAddresses = {"127.0.0.1", "::1"};
    serverRequest.validity = std::chrono::days(1);
    auto server = issueCertificate(*ca, serverRequest);
    EXPECT_TRUE(server.has_value()) << server.error();
    CertificateRequest clientRequest;
    clientRequest.commonName = "alice";
    clientRequest.organizations = {"billing-admins", "auditors"};
    clientRequest.serverAuth = false;
    clientRequest.clientAuth = true;
    clientRequest.validity = std::chrono::days(1);
    auto client = issueCertificate(*ca, clientRequest);
    EXPECT_TRUE(client.has_value()) << client.error();
    return TestPki{*ca, *server, *client};
  }();
  return pki;
}

inline TlsServerConfig serverTls(bool requestClientCertificates) {
  const auto& pki = testPki();
  TlsServerConfig config{pki.server.certPem, pki.server.keyPem, std::nullopt};
  if (requestClientCertificates) config.clientCaPem = pki.ca.certPem;
  return config;
}

inline TlsClientConfig clientTls(bool withCertificate) {
  const auto& pki = testPki();
  TlsClientConfig config;
  config.caPem = pki.ca.certPem;
  if (withCertificate) {
    config.clientCertPem = pki.client.certPem;
    config.clientKeyPem = pki.client.keyPem;
  }
  return config;
}

// A plain TCP connection to 127.0.0.1 for tests that need exact bytes on the wire.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Reads until `text` has been received (kept in the buffer), the peer closes, or the timeout.
  bool readUntil(std::string_view text,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find(text) == std::string::npos) {
      if (!readSome(deadline)) return false;
    }
    return true;
  }

  // Reads one response with a Content-Length body (or none) and removes it from the buffer.
  std::optional<std::string> readResponse(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto end = findHeaderBlockEnd(buffer_)) {
        auto head = parseResponseHead(std::string_view(buffer_).substr(0, *end));
        if (!head) return std::nullopt;
        std::size_t length = std::stoul(head->headers.get("Content-Length").value_or("0"));
        if (buffer_.size() >= *end + length) {
          std::string response = buffer_.substr(0, *end + length);
          buffer_.erase(0, *end + length);
          return response;
        }
      }
      if (!readSome(deadline)) return std::nullopt;
    }
  }

  // True when the server closes the connection within the timeout (data before that is kept).
  bool waitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (!readSome(deadline)) return closedByPeer_;
    }
  }

  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  const std::string& buffer() const { return buffer_; }
  std::string takeBuffer() { return std::exchange(buffer_, std::string()); }

 private:
  bool readSome(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd entry{fd_, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) return false;
    std::array<char, 8192> chunk{};
    ssize_t got = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (got <= 0) {
      closedByPeer_ = true;
      return false;
    }
    buffer_.append(chunk.data(), static_cast<std::size_t>(got));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closedByPeer_ = false;
  std::string buffer_;
};

// A flag one thread sets and another waits for, with a timeout so that a broken test fails
// instead of hanging.
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
  bool isSet() {
    std::lock_guard lock(mutex_);
    return set_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
};

// Runs a cleanup when the scope ends, so that a failed ASSERT does not leave a thread joinable
// (which would terminate the test binary) or blocked.
template <typename Cleanup>
class ScopeExit {
 public:
  explicit ScopeExit(Cleanup cleanup) : cleanup_(std::move(cleanup)) {}
  ~ScopeExit() { cleanup_(); }
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;

 private:
  Cleanup cleanup_;
};

}  // namespace billing::common::testing
