// A TCP connection, plain or TLS, read and written with deadlines: the socket layer under
// HttpServer and HttpClient. Sockets are non-blocking and every wait is a poll() bounded by a
// deadline, so that timeouts are exact and another thread can interrupt a blocked reader or
// writer (interrupt() shuts the socket down; the fd stays valid until the stream is destroyed).
//
// SIGPIPE: writes use send(MSG_NOSIGNAL), TLS included (OpenSSL gets a socket BIO of ours instead
// of its own, which would write()), so a peer that went away is an error value, never a signal.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/tls_context.h"

namespace billing::common::net {

using Clock = std::chrono::steady_clock;
// No value: wait as long as it takes.
using Deadline = std::optional<Clock::time_point>;

inline Deadline deadlineAfter(std::chrono::milliseconds timeout) { return Clock::now() + timeout; }

struct IoError {
  enum class Kind {
    kClosed,   // the peer closed or reset the connection, or interrupt() was called
    kTimeout,  // the deadline passed
    kFailed,   // anything else: TLS alerts and verification failures, socket errors
  };
  Kind kind = Kind::kFailed;
  std::string message;
};

class SocketStream {
 public:
  // Takes ownership of a connected socket; makes it non-blocking and disables Nagle's algorithm
  // (a watch event or a small response must leave now, not 40 ms later).
  explicit SocketStream(int fd);
  ~SocketStream();
  SocketStream(const SocketStream&) = delete;
  SocketStream& operator=(const SocketStream&) = delete;

  // TLS handshakes; after success reads and writes go through TLS.
  std::expected<void, IoError> acceptTls(SSL_CTX* context, Deadline deadline);
  // A failed certificate verification reads "certificate verify failed: <reason>".
  std::expected<void, IoError> connectTls(SSL_CTX* context, std::string_view serverName,
                                          bool verifyName, Deadline deadline);

  // At least one byte, or an error (kClosed at the end of the stream).
  std::expected<std::size_t, IoError> readSome(char* buffer, std::size_t size, Deadline deadline);
  std::expected<void, IoError> writeAll(std::string_view data, Deadline deadline);

  // Thread-safe, any time: wakes blocked calls on other threads; they and later ones fail with
  // kClosed.
  void interrupt() noexcept;
  bool interrupted() const noexcept { return interrupted_.load(); }
  // Non-blocking: has the peer closed its side or reset the connection?
  bool peerHungUp() const noexcept;

  // Ends the connection politely: TLS close_notify, FIN, then reads and drops what the peer still
  // sends for up to `linger` so that our last response is not destroyed by a reset (a peer that
  // is still sending a rejected body would otherwise get RST before reading the response).
  void closeGracefully(std::chrono::milliseconds linger) noexcept;

  // Waits until poll() reports `events` (or an error or hang-up) on the socket.
  std::expected<void, IoError> waitFor(short events, Deadline deadline) const;

  int fd() const noexcept { return fd_; }
  SSL* ssl() const noexcept { return ssl_.get(); }

 private:
  std::expected<void, IoError> handshake(bool server, Deadline deadline);
  IoError tlsError(int result, int savedErrno, std::string_view operation) const;

  int fd_;
  tls_internal::SslPtr ssl_;
  std::atomic<bool> interrupted_{false};
};

// Resolves `host` (a name or a literal address) and connects to the first address that answers
// before the deadline. Errors read "connect to 127.0.0.1:8443: connection refused".
std::expected<std::unique_ptr<SocketStream>, IoError> connectTcp(const std::string& host,
                                                                 std::uint16_t port,
                                                                 Deadline deadline);

// "127.0.0.1:8443", "[::1]:8443".
std::string socketAddressText(const sockaddr* address, socklen_t length);
// strerror, thread-safe, lower-cased the way Go prints it: "connection refused".
std::string errnoText(int error);

}  // namespace billing::common::net
