#include "common/http_client.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <mutex>
#include <vector>

#include "common/net_stream.h"

namespace billing::common {
namespace {

using net::Clock;
using net::Deadline;
using net::IoError;

std::string formatDuration(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
  return std::to_string(duration.count()) + "ms";
}

bool hasControlOrSpace(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

std::uint16_t defaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// An idle keep-alive connection has nothing to read: readable bytes (a TLS close_notify, a 408)
// or a hang-up mean the server is closing it.
bool idleConnectionUsable(const net::SocketStream& socket) {
  pollfd entry{socket.fd(), POLLIN | POLLRDHUP, 0};
  return ::poll(&entry, 1, 0) == 0;
}

// The body framing of a response (RFC 9112 section 6.3).
enum class Framing { kNone, kChunked, kLength, kUntilClose };

}  // namespace

std::string HttpUrl::hostHeader() const {
  std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != defaultPort(scheme)) text += ":" + std::to_string(port);
  return text;
}

std::expected<HttpUrl, std::string> parseHttpUrl(std::string_view url) {
  auto invalid = [url](std::string_view why) {
    return std::unexpected("invalid URL \"" + std::string(url) + "\": " + std::string(why));
  };
  auto schemeEnd = url.find("://");
  if (schemeEnd == std::string_view::npos) return invalid("no scheme");
  HttpUrl parsed;
  for (char c : url.substr(0, schemeEnd)) {
    parsed.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (parsed.scheme != "http" && parsed.scheme != "https") {
    return invalid("the scheme must be http or https");
  }
  std::string_view rest = url.substr(schemeEnd + 3);
  auto authorityEnd = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authorityEnd);
  if (authority.find('@') != std::string_view::npos) return invalid("user information in the URL");
  std::string_view portText;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid("unterminated IPv6 address");
    parsed.host = std::string(authority.substr(1, close - 1));
    std::array<unsigned char, 16> address{};
    if (inet_pton(AF_INET6, parsed.host.c_str(), address.data()) != 1) {
      return invalid("bad IPv6 address");
    }
    auto after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return invalid("junk after the IPv6 address");
    if (!after.empty()) portText = after.substr(1);
  } else {
    auto colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) portText = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) return invalid("no host");
  if (hasControlOrSpace(parsed.host)) return invalid("spaces or control characters in the host");
  parsed.port = defaultPort(parsed.scheme);
  if (!portText.empty()) {
    if (portText.size() > 5 || portText.find_first_not_of("0123456789") != std::string_view::npos) {
      return invalid("bad port");
    }
    int port = std::stoi(std::string(portText));
    if (port < 1 || port > 65535) return invalid("port out of range");
    parsed.port = static_cast<std::uint16_t>(port);
  }
  std::string_view target =
      authorityEnd == std::string_view::npos ? std::string_view() : rest.substr(authorityEnd);
  target = target.substr(0, target.find('#'));
  if (hasControlOrSpace(target))
    return invalid("spaces or control characters; percent-encode them");
  parsed.target = target.starts_with('/') ? std::string(target) : "/" + std::string(target);
  return parsed;
}

struct HttpClient::Impl {
  explicit Impl(Options clientOptions) : options(std::move(clientOptions)) {
    auto context = tls_internal::makeClientContext(options.tls.value_or(TlsClientConfig{}));
    if (context) {
      tlsContext = std::move(*context);
    } else {
      tlsError = context.error();
    }
  }

  // What one request/response exchange on a connection left behind.
  struct Exchange {
    std::expected<StreamEnd, std::string> result;
    // The connection failed before any byte of a response arrived (the server had closed an idle
    // keep-alive connection): the server never saw this request, so it may be sent again.
    bool stale = false;
    // The response was read to its end and nothing says the connection ends: it may carry the
    // next request.
    bool reusable = false;
  };

  std::expected<StreamEnd, std::string> perform(
      std::string_view method, std::string_view url, const HttpHeaders& headers,
      std::string_view body, const std::function<bool(int, const HttpHeaders&)>& onHeaders,
      const std::function<bool(std::string_view)>& onData, const std::stop_token& stop,
      bool bodyHasDeadline, bool keepAlive) const;

  std::expected<std::unique_ptr<net::SocketStream>, std::string> connect(
      const HttpUrl& target, const std::string& where, net::Deadline overall,
      const std::stop_token& stop) const;

  Exchange exchange(net::SocketStream& socket, std::string_view method, const HttpUrl& target,
                    const HttpHeaders& headers, std::string_view body,
                    const std::function<bool(int, const HttpHeaders&)>& onHeaders,
                    const std::function<bool(std::string_view)>& onData,
                    const std::stop_token& stop, net::Deadline overall, bool bodyHasDeadline,
                    bool keepAlive) const;

  // The idle connection pool: the most recently used connection first (it is the least likely to
  // have been closed by the server's idle timeout).
  std::unique_ptr<net::SocketStream> takeIdle(const std::string& key) const;
  void putIdle(const std::string& key, std::unique_ptr<net::SocketStream> socket) const;

  Options options;
  tls_internal::SslCtxPtr tlsContext;
  std::string tlsError;

  struct IdleConnection {
    std::unique_ptr<net::SocketStream> socket;
    Clock::time_point since;
  };
  mutable std::mutex poolMutex;
  mutable std::map<std::string, std::vector<IdleConnection>> idle;
};

std::unique_ptr<net::SocketStream> HttpClient::Impl::takeIdle(const std::string& key) const {
  std::vector<std::unique_ptr<net::SocketStream>> expired;  // closed outside the lock
  std::unique_ptr<net::SocketStream> found;
  {
    std::lock_guard lock(poolMutex);
    auto entry = idle.find(key);
    if (entry == idle.end()) return nullptr;
    auto& connections = entry->second;
    const auto now = Clock::now();
    while (!connections.empty() && !found) {
      IdleConnection candidate = std::move(connections.back());
      connections.pop_back();
      // A connection the server has closed (or is about to close) would fail the request.
      if (now - candidate.since >= options.idleConnectionTimeout ||
          !idleConnectionUsable(*candidate.socket)) {
        expired.push_back(std::move(candidate.socket));
      } else {
        found = std::move(candidate.socket);
      }
    }
  }
  return found;
}

void HttpClient::Impl::putIdle(const std::string& key,
                               std::unique_ptr<net::SocketStream> socket) const {
  // Bytes already waiting after a complete response: the server sent something we cannot
  // attribute to a request.
  if (socket->ssl() != nullptr && SSL_pending(socket->ssl()) > 0) return;
  std::unique_ptr<net::SocketStream> surplus;
  std::lock_guard lock(poolMutex);
  auto& connections = idle[key];
  if (connections.size() >= options.maxIdleConnections) {
    // Keep the fresher one: drop the connection idle the longest.
    surplus = std::move(connections.front().socket);
    connections.erase(connections.begin());
  }
  connections.push_back({std::move(socket), Clock::now()});
}

std::expected<std::unique_ptr<net::SocketStream>, std::string> HttpClient::Impl::connect(
    const HttpUrl& target, const std::string& where, net::Deadline overall,
    const std::stop_token& stop) const {
  const auto connectTimeout = std::min(options.connectTimeout, options.requestTimeout);
  auto connected =
      net::connectTcp(target.host, target.port, std::min(*overall, Clock::now() + connectTimeout));
  if (!connected) {
    if (connected.error().kind == IoError::Kind::kTimeout) {
      return std::unexpected("timeout after " + formatDuration(connectTimeout) + " connecting to " +
                             where);
    }
    return std::unexpected(connected.error().message);
  }
  if (!target.tls()) return std::move(*connected);
  net::SocketStream& socket = **connected;
  std::stop_callback cancel(stop, [&socket] { socket.interrupt(); });
  const TlsClientConfig defaults;
  const TlsClientConfig& tls = options.tls ? *options.tls : defaults;
  std::string serverName = tls.serverName.empty() ? target.host : tls.serverName;
  auto handshake =
      socket.connectTls(tlsContext.get(), serverName, !tls.insecureSkipVerify, overall);
  if (!handshake) {
    if (handshake.error().kind == IoError::Kind::kTimeout) {
      return std::unexpected("timeout after " + formatDuration(options.requestTimeout) +
                             " during the TLS handshake with " + where);
    }
    if (stop.stop_requested()) return std::unexpected(std::string());
    return std::unexpected("TLS handshake with " + where + ": " + handshake.error().message);
  }
  return std::move(*connected);
}

std::expected<HttpClient::StreamEnd, std::string> HttpClient::Impl::perform(
    std::string_view method, std::string_view url, const HttpHeaders& headers,
    std::string_view body, const std::function<bool(int, const HttpHeaders&)>& onHeaders,
    const std::function<bool(std::string_view)>& onData, const std::stop_token& stop,
    bool bodyHasDeadline, bool keepAlive) const {
  auto fail = [&](const std::string& cause) {
    return std::unexpected(std::string(method) + " " + std::string(url) + ": " + cause);
  };
  auto parsed = parseHttpUrl(url);
  if (!parsed) return fail(parsed.error());
  const HttpUrl& target = *parsed;
  if (!isValidHeaderField(method, "")) return fail("invalid method");
  for (const auto& [name, value] : headers) {
    if (!isValidHeaderField(name, value)) return fail("invalid header \"" + name + "\"");
  }
  if (target.tls() && !tlsContext) return fail("TLS configuration: " + tlsError);
  if (stop.stop_requested()) return StreamEnd::kCancelled;

  const Deadline overall = Clock::now() + options.requestTimeout;
  std::string where = target.hostHeader();
  if (target.port == defaultPort(target.scheme)) where += ":" + std::to_string(target.port);
  keepAlive = keepAlive && options.maxIdleConnections > 0;
  const std::string poolKey = target.scheme + "://" + where;

  // A pooled connection may turn out to have been closed by the server just before we used it;
  // then the request goes once more, on a new connection (the server never saw it).
  for (bool mayReuse = keepAlive;; mayReuse = false) {
    std::unique_ptr<net::SocketStream> socket = mayReuse ? takeIdle(poolKey) : nullptr;
    const bool reused = socket != nullptr;
    if (!socket) {
      auto connected = connect(target, where, overall, stop);
      if (!connected) {
        if (stop.stop_requested()) return StreamEnd::kCancelled;
        return fail(connected.error());
      }
      socket = std::move(*connected);
    }
    Exchange done = exchange(*socket, method, target, headers, body, onHeaders, onData, stop,
                             overall, bodyHasDeadline, keepAlive);
    if (!done.result && done.stale && reused && !stop.stop_requested()) continue;
    if (done.result && done.reusable && keepAlive) putIdle(poolKey, std::move(socket));
    if (!done.result) return fail(done.result.error());
    return done.result;
  }
}

HttpClient::Impl::Exchange HttpClient::Impl::exchange(
    net::SocketStream& socket, std::string_view method, const HttpUrl& target,
    const HttpHeaders& headers, std::string_view body,
    const std::function<bool(int, const HttpHeaders&)>& onHeaders,
    const std::function<bool(std::string_view)>& onData, const std::stop_token& stop,
    net::Deadline overall, bool bodyHasDeadline, bool keepAlive) const {
  Exchange outcome;
  auto fail = [&](const std::string& cause) {
    outcome.result = std::unexpected(cause);
    return outcome;
  };
  auto done = [&](StreamEnd end) {
    outcome.result = end;
    return outcome;
  };
  // Cancellation shuts the socket down, which wakes whatever call is blocked on it.
  std::stop_callback cancel(stop, [&socket] { socket.interrupt(); });

  // Describes a failed read or write; cancellation is not a failure.
  auto ioFailure = [&](const IoError& error, std::string_view during) {
    if (stop.stop_requested()) return done(StreamEnd::kCancelled);
    if (error.kind == IoError::Kind::kTimeout) {
      return fail("timeout after " + formatDuration(options.requestTimeout) + " " +
                  std::string(during));
    }
    return fail(error.message + " (" + std::string(during) + ")");
  };

  std::string message = std::string(method) + " " + target.target + " HTTP/1.1\r\n";
  message.append("Host: ").append(headers.get("Host").value_or(target.hostHeader())).append("\r\n");
  if (!headers.contains("User-Agent") && !options.userAgent.empty()) {
    message.append("User-Agent: ").append(options.userAgent).append("\r\n");
  }
  for (const auto& [name, value] : headers) {
    if (equalsIgnoreCase(name, "Host") || equalsIgnoreCase(name, "Content-Length") ||
        equalsIgnoreCase(name, "Transfer-Encoding") || equalsIgnoreCase(name, "Connection")) {
      continue;
    }
    message.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    message.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  // HTTP/1.1 connections persist unless a side says otherwise.
  message.append(keepAlive ? "\r\n" : "Connection: close\r\n\r\n").append(body);
  // A server may answer before reading everything (413) and close: read its answer anyway.
  auto sent = socket.writeAll(message, overall);
  if (!sent && sent.error().kind != IoError::Kind::kClosed) {
    return ioFailure(sent.error(), "sending the request");
  }

  std::string buffer;
  std::array<char, 16 * 1024> chunk{};
  auto readMore = [&](Deadline deadline) -> std::expected<void, IoError> {
    auto got = socket.readSome(chunk.data(), chunk.size(), deadline);
    if (!got) return std::unexpected(got.error());
    buffer.append(chunk.data(), *got);
    return {};
  };

  ResponseHead head;
  bool anyResponseByte = false;
  while (true) {
    auto end = findHeaderBlockEnd(buffer);
    if (!end) {
      if (buffer.size() > options.maxResponseHeaderBytes) return fail("response head too large");
      if (auto got = readMore(overall); !got) {
        if (got.error().kind == IoError::Kind::kClosed && !anyResponseByte &&
            !stop.stop_requested()) {
          outcome.stale = true;
        }
        if (got.error().kind == IoError::Kind::kClosed && !sent) {
          return fail(sent.error().message + " (sending the request)");
        }
        if (got.error().kind == IoError::Kind::kClosed && !stop.stop_requested()) {
          return fail("the server closed the connection without a response");
        }
        return ioFailure(got.error(), "waiting for the response");
      }
      anyResponseByte = true;
      continue;
    }
    auto parsedHead = parseResponseHead(std::string_view(buffer).substr(0, *end));
    buffer.erase(0, *end);
    if (!parsedHead) return fail(parsedHead.error());
    // Interim responses (100 Continue) precede the real one.
    if (parsedHead->status >= 100 && parsedHead->status < 200 && parsedHead->status != 101) {
      continue;
    }
    head = std::move(*parsedHead);
    break;
  }
  if (!onHeaders(head.status, head.headers)) return done(StreamEnd::kStoppedByCallback);

  Framing framing = Framing::kUntilClose;
  std::uint64_t remaining = 0;
  if (method == "HEAD" || head.status == 204 || head.status == 304 || head.status < 200) {
    framing = Framing::kNone;
  } else if (head.headers.contains("Transfer-Encoding")) {
    framing = head.headers.hasToken("Transfer-Encoding", "chunked") ? Framing::kChunked
                                                                    : Framing::kUntilClose;
  } else if (auto length = head.headers.get("Content-Length")) {
    if (length->empty() || length->size() > 18 ||
        length->find_first_not_of("0123456789") != std::string::npos) {
      return fail("invalid Content-Length in the response");
    }
    framing = Framing::kLength;
    remaining = std::stoull(*length);
  }
  const Deadline bodyDeadline = bodyHasDeadline ? overall : Deadline();
  const char* const during = "reading the response body";
  // Whether the connection may carry another request once this body has been read to its end
  // with nothing after it (RFC 9112 section 9.3).
  const bool persistent = sent.has_value() && head.minorVersion >= 1 && head.status != 101 &&
                          !head.headers.hasToken("Connection", "close");
  auto completed = [&] {
    outcome.reusable = persistent && buffer.empty();
    return done(StreamEnd::kCompleted);
  };

  switch (framing) {
    case Framing::kNone:
      return completed();
    case Framing::kChunked: {
      ChunkedDecoder decoder;
      bool stopped = false;
      auto deliver = [&](std::string_view piece) {
        stopped = !onData(piece);
        return !stopped;
      };
      while (true) {
        auto consumed = decoder.feed(buffer, deliver);
        if (!consumed) return fail("malformed chunked response body: " + consumed.error());
        buffer.erase(0, *consumed);
        if (stopped) return done(StreamEnd::kStoppedByCallback);
        if (decoder.done()) return completed();
        if (auto got = readMore(bodyDeadline); !got) {
          if (got.error().kind == IoError::Kind::kClosed && !stop.stop_requested()) {
            return fail("the connection closed before the end of the response body");
          }
          return ioFailure(got.error(), during);
        }
      }
    }
    case Framing::kLength:
      while (true) {
        auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffer.size()));
        if (take > 0) {
          remaining -= take;
          if (!onData(std::string_view(buffer).substr(0, take))) {
            return done(StreamEnd::kStoppedByCallback);
          }
          buffer.erase(0, take);
        }
        if (remaining == 0) return completed();
        if (auto got = readMore(bodyDeadline); !got) {
          if (got.error().kind == IoError::Kind::kClosed && !stop.stop_requested()) {
            return fail("the connection closed before the end of the response body");
          }
          return ioFailure(got.error(), during);
        }
      }
    case Framing::kUntilClose:
      while (true) {
        if (!buffer.empty()) {
          if (!onData(buffer)) return done(StreamEnd::kStoppedByCallback);
          buffer.clear();
        }
        if (auto got = readMore(bodyDeadline); !got) {
          if (got.error().kind == IoError::Kind::kClosed && !stop.stop_requested()) {
            return done(StreamEnd::kCompleted);
          }
          return ioFailure(got.error(), during);
        }
      }
  }
  return done(StreamEnd::kCompleted);
}

HttpClient::HttpClient(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

std::expected<HttpClientResponse, std::string> HttpClient::request(std::string_view method,
                                                                   std::string_view url,
                                                                   const HttpHeaders& headers,
                                                                   std::string_view body) const {
  HttpClientResponse response;
  bool tooLarge = false;
  const std::size_t limit = impl_->options.maxResponseBodyBytes;
  auto end = impl_->perform(
      method, url, headers, body,
      [&response](int status, const HttpHeaders& responseHeaders) {
        response.status = status;
        response.headers = responseHeaders;
        return true;
      },
      [&](std::string_view data) {
        if (response.body.size() + data.size() > limit) {
          tooLarge = true;
          return false;
        }
        response.body.append(data);
        return true;
      },
      std::stop_token(), true, true);
  if (!end) return std::unexpected(end.error());
  if (tooLarge) {
    return std::unexpected(std::string(method) + " " + std::string(url) +
                           ": the response body exceeds " + std::to_string(limit) + " bytes");
  }
  return response;
}

std::expected<HttpClient::StreamEnd, std::string> HttpClient::stream(
    std::string_view method, std::string_view url, const HttpHeaders& headers,
    std::string_view body, const std::function<bool(int status, const HttpHeaders&)>& onHeaders,
    const std::function<bool(std::string_view data)>& onData, std::stop_token stop) const {
  // A stream (a watch) holds its connection for as long as it runs; it never comes from or goes
  // back to the pool.
  return impl_->perform(method, url, headers, body, onHeaders, onData, stop, false, false);
}

}  // namespace billing::common
