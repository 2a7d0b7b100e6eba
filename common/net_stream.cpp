#include "common/net_stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

namespace billing::common::net {
namespace {

int bioFd(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

bool wouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

int bioWrite(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  ssize_t written = ::send(bioFd(bio), data, static_cast<std::size_t>(length), MSG_NOSIGNAL);
  if (written >= 0) return static_cast<int>(written);
  if (wouldBlock(errno)) BIO_set_retry_write(bio);
  return -1;
}

int bioRead(BIO* bio, char* data, int length) {
  BIO_clear_retry_flags(bio);
  ssize_t got = ::recv(bioFd(bio), data, static_cast<std::size_t>(length), 0);
  if (got >= 0) return static_cast<int>(got);
  if (wouldBlock(errno)) BIO_set_retry_read(bio);
  return -1;
}

long bioControl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

int bioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// OpenSSL's own socket BIO writes with write(), which raises SIGPIPE on a closed connection.
const BIO_METHOD* socketBioMethod() {
  static const std::unique_ptr<BIO_METHOD, tls_internal::Deleter<BIO_meth_free>> method = [] {
    std::unique_ptr<BIO_METHOD, tls_internal::Deleter<BIO_meth_free>> created(BIO_meth_new(
        BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "socket (MSG_NOSIGNAL)"));
    if (created) {
      BIO_meth_set_write(created.get(), bioWrite);
      BIO_meth_set_read(created.get(), bioRead);
      BIO_meth_set_ctrl(created.get(), bioControl);
      BIO_meth_set_create(created.get(), bioCreate);
    }
    return created;
  }();
  return method.get();
}

IoError closedError(std::string message) { return {IoError::Kind::kClosed, std::move(message)}; }

IoError errnoError(int error) {
  if (error == EPIPE || error == ECONNRESET || error == ENOTCONN)
    return closedError(errnoText(error));
  return {IoError::Kind::kFailed, errnoText(error)};
}

// strerror_r has a POSIX and a GNU signature; these pick the text out of either.
[[maybe_unused]] const char* strerrorResult(int result, const char* buffer) {
  return result == 0 ? buffer : "unknown error";
}
[[maybe_unused]] const char* strerrorResult(const char* result, const char*) { return result; }

}  // namespace

std::string errnoText(int error) {
  std::array<char, 256> buffer{};
  std::string text = strerrorResult(strerror_r(error, buffer.data(), buffer.size()), buffer.data());
  // "Connection refused" -> "connection refused", but keep acronyms such as "TLS".
  if (text.size() > 1 && text[0] >= 'A' && text[0] <= 'Z' && text[1] >= 'a' && text[1] <= 'z') {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

std::string socketAddressText(const sockaddr* address, socklen_t length) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    sockaddr_in ipv4{};
    std::memcpy(&ipv4, address, sizeof ipv4);
    inet_ntop(AF_INET, &ipv4.sin_addr, text.data(), text.size());
    return std::string(text.data()) + ":" + std::to_string(ntohs(ipv4.sin_port));
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    sockaddr_in6 ipv6{};
    std::memcpy(&ipv6, address, sizeof ipv6);
    inet_ntop(AF_INET6, &ipv6.sin6_addr, text.data(), text.size());
    return "[" + std::string(text.data()) + "]:" + std::to_string(ntohs(ipv6.sin6_port));
  }
  return "<unknown address>";
}

SocketStream::SocketStream(int fd) : fd_(fd) {
  int flags = ::fcntl(fd_, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

SocketStream::~SocketStream() {
  ssl_.reset();
  ::close(fd_);
}

void SocketStream::interrupt() noexcept {
  interrupted_.store(true);
  ::shutdown(fd_, SHUT_RDWR);
}

bool SocketStream::peerHungUp() const noexcept {
  pollfd entry{fd_, POLLRDHUP, 0};
  return ::poll(&entry, 1, 0) > 0 && (entry.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::expected<void, IoError> SocketStream::waitFor(short events, Deadline deadline) const {
  while (true) {
    if (interrupted_.load()) return std::unexpected(closedError("connection closed"));
    int timeoutMs = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return std::unexpected(IoError{IoError::Kind::kTimeout, "timed out"});
      timeoutMs = static_cast<int>(std::min<long long>(left.count(), INT_MAX));
    }
    pollfd entry{fd_, events, 0};
    int ready = ::poll(&entry, 1, timeoutMs);
    // Errors and hang-ups count as ready: the next read or write reports them.
    if (ready > 0) return {};
    if (ready < 0 && errno != EINTR) return std::unexpected(errnoError(errno));
  }
}

IoError SocketStream::tlsError(int result, int savedErrno, std::string_view operation) const {
  if (interrupted_.load()) {
    ERR_clear_error();
    return closedError("connection closed");
  }
  switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return closedError("connection closed by peer");
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (savedErrno == 0) return closedError("connection closed by peer");
      return errnoError(savedErrno);
    case SSL_ERROR_SSL:
      if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        return closedError("connection closed by peer");
      }
      break;
    default:
      break;
  }
  return {IoError::Kind::kFailed,
          std::string(operation) + ": " + tls_internal::takeErrors("unknown TLS error")};
}

std::expected<void, IoError> SocketStream::handshake(bool server, Deadline deadline) {
  while (true) {
    ERR_clear_error();
    errno = 0;
    int result = server ? SSL_accept(ssl_.get()) : SSL_connect(ssl_.get());
    int savedErrno = errno;
    if (result == 1) return {};
    int error = SSL_get_error(ssl_.get(), result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (auto ready = waitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline); !ready) {
        return std::unexpected(ready.error());
      }
      continue;
    }
    if (!server) {
      long verification = SSL_get_verify_result(ssl_.get());
      if (verification != X509_V_OK) {
        ERR_clear_error();
        return std::unexpected(
            IoError{IoError::Kind::kFailed, std::string("certificate verify failed: ") +
                                                X509_verify_cert_error_string(verification)});
      }
    }
    return std::unexpected(tlsError(result, savedErrno, "TLS handshake"));
  }
}

std::expected<void, IoError> SocketStream::acceptTls(SSL_CTX* context, Deadline deadline) {
  ERR_clear_error();
  ssl_.reset(SSL_new(context));
  BIO* bio = BIO_new(socketBioMethod());
  if (!ssl_ || bio == nullptr) {
    BIO_free(bio);
    return std::unexpected(
        IoError{IoError::Kind::kFailed, tls_internal::takeErrors("cannot create a TLS session")});
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd_)));
  SSL_set_bio(ssl_.get(), bio, bio);
  return handshake(true, deadline);
}

std::expected<void, IoError> SocketStream::connectTls(SSL_CTX* context, std::string_view serverName,
                                                      bool verifyName, Deadline deadline) {
  ERR_clear_error();
  ssl_.reset(SSL_new(context));
  BIO* bio = BIO_new(socketBioMethod());
  if (!ssl_ || bio == nullptr) {
    BIO_free(bio);
    return std::unexpected(
        IoError{IoError::Kind::kFailed, tls_internal::takeErrors("cannot create a TLS session")});
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd_)));
  SSL_set_bio(ssl_.get(), bio, bio);
  if (auto configured = tls_internal::configureClientConnection(ssl_.get(), serverName, verifyName);
      !configured) {
    return std::unexpected(IoError{IoError::Kind::kFailed, configured.error()});
  }
  return handshake(false, deadline);
}

std::expected<std::size_t, IoError> SocketStream::readSome(char* buffer, std::size_t size,
                                                           Deadline deadline) {
  while (true) {
    if (interrupted_.load()) return std::unexpected(closedError("connection closed"));
    if (ssl_) {
      ERR_clear_error();
      errno = 0;
      std::size_t got = 0;
      int result = SSL_read_ex(ssl_.get(), buffer, size, &got);
      int savedErrno = errno;
      if (result == 1) return got;
      int error = SSL_get_error(ssl_.get(), result);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (auto ready = waitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            !ready) {
          return std::unexpected(ready.error());
        }
        continue;
      }
      return std::unexpected(tlsError(result, savedErrno, "TLS read"));
    }
    ssize_t got = ::recv(fd_, buffer, size, 0);
    int error = errno;
    if (got > 0) return static_cast<std::size_t>(got);
    if (got == 0) return std::unexpected(closedError("connection closed by peer"));
    if (!wouldBlock(error)) return std::unexpected(errnoError(error));
    if (error != EINTR) {
      if (auto ready = waitFor(POLLIN, deadline); !ready) return std::unexpected(ready.error());
    }
  }
}

std::expected<void, IoError> SocketStream::writeAll(std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    if (interrupted_.load()) return std::unexpected(closedError("connection closed"));
    if (ssl_) {
      ERR_clear_error();
      errno = 0;
      std::size_t written = 0;
      int result = SSL_write_ex(ssl_.get(), data.data(), data.size(), &written);
      int savedErrno = errno;
      if (result == 1) {
        data.remove_prefix(written);
        continue;
      }
      int error = SSL_get_error(ssl_.get(), result);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (auto ready = waitFor(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            !ready) {
          return std::unexpected(ready.error());
        }
        continue;
      }
      return std::unexpected(tlsError(result, savedErrno, "TLS write"));
    }
    ssize_t written = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    int error = errno;
    if (written >= 0) {
      data.remove_prefix(static_cast<std::size_t>(written));
      continue;
    }
    if (!wouldBlock(error)) return std::unexpected(errnoError(error));
    if (error != EINTR) {
      if (auto ready = waitFor(POLLOUT, deadline); !ready) return std::unexpected(ready.error());
    }
  }
  return {};
}

void SocketStream::closeGracefully(std::chrono::milliseconds linger) noexcept {
  if (interrupted_.load()) return;
  if (ssl_ && SSL_is_init_finished(ssl_.get()) == 1) {
    // One call sends our close_notify; we do not wait for the peer's.
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
  ::shutdown(fd_, SHUT_WR);
  Deadline deadline = deadlineAfter(linger);
  std::array<char, 4096> discard{};
  std::size_t drained = 0;
  while (drained < 1024 * 1024) {
    if (!waitFor(POLLIN, deadline)) return;
    ssize_t got = ::recv(fd_, discard.data(), discard.size(), 0);
    if (got == 0 || (got < 0 && !wouldBlock(errno))) return;
    if (got > 0) drained += static_cast<std::size_t>(got);
  }
}

std::expected<std::unique_ptr<SocketStream>, IoError> connectTcp(const std::string& host,
                                                                 std::uint16_t port,
                                                                 Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  // getaddrinfo cannot be bounded by the deadline; literal addresses and /etc/hosts are instant.
  if (int status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); status != 0) {
    return std::unexpected(
        IoError{IoError::Kind::kFailed, "resolve " + host + ": " + ::gai_strerror(status)});
  }
  std::unique_ptr<addrinfo, tls_internal::Deleter<::freeaddrinfo>> addresses(found);

  IoError lastError{IoError::Kind::kFailed, "no address for " + host};
  for (const addrinfo* address = addresses.get(); address != nullptr; address = address->ai_next) {
    std::string where = socketAddressText(address->ai_addr, address->ai_addrlen);
    int fd = ::socket(address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      address->ai_protocol);
    if (fd < 0) {
      lastError = {IoError::Kind::kFailed, "connect to " + where + ": " + errnoText(errno)};
      continue;
    }
    auto stream = std::make_unique<SocketStream>(fd);
    if (::connect(fd, address->ai_addr, address->ai_addrlen) == 0) return stream;
    if (errno != EINPROGRESS) {
      auto error = errnoError(errno);
      lastError = {error.kind, "connect to " + where + ": " + error.message};
      continue;
    }
    if (auto ready = stream->waitFor(POLLOUT, deadline); !ready) {
      // Later addresses would time out as well: the deadline is shared.
      return std::unexpected(
          IoError{ready.error().kind, "connect to " + where + ": " + ready.error().message});
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error == 0) return stream;
    lastError = {IoError::Kind::kFailed, "connect to " + where + ": " + errnoText(error)};
  }
  return std::unexpected(lastError);
}

}  // namespace billing::common::net
