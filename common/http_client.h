// A small blocking HTTP/1.1 client over POSIX sockets and OpenSSL, for calls that need exact
// control of TLS (client certificates, a caBundle as the only trust anchor, hostname checks) and
// for streaming responses (watches) decoded chunk by chunk as they arrive. See docs/http.md.
//
// Connections: by default one per call, closed afterwards ("Connection: close" is sent). With
// maxIdleConnections > 0, request() keeps connections alive and reuses them (a TLS handshake costs
// far more CPU than a small request); a request that finds its pooled connection closed by the
// server before any byte of a response is sent once more on a new connection, as browsers, Go's
// net/http and cpprestsdk do (the server never saw it). stream() always has a connection of its
// own. Calls are thread-safe; an HttpClient may be shared.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/http_message.h"
#include "common/tls.h"

namespace billing::common {

struct HttpClientOptions {
  // TLS settings for https URLs; without them, the system trust store and full verification.
  std::optional<TlsClientConfig> tls;
  std::chrono::milliseconds connectTimeout{std::chrono::seconds(10)};
  // For the whole call: connect, send, and receive the complete response. stream() applies it
  // until the response head has arrived; the body may then take as long as it takes.
  std::chrono::milliseconds requestTimeout{std::chrono::seconds(30)};
  std::size_t maxResponseBodyBytes = 256 * 1024 * 1024;  // request() only
  std::size_t maxResponseHeaderBytes = 1024 * 1024;
  std::string userAgent = "billing-operator";  // unless the call sets User-Agent
  // Keep-alive: how many idle connections request() keeps per scheme://host:port; 0 closes each
  // connection after its call.
  std::size_t maxIdleConnections = 0;
  // An idle connection older than this is closed rather than reused: shorter than the idle
  // timeouts of common servers (ours and Go's net/http: 90 s), so that the server rarely closes a
  // connection just as a request goes out on it.
  std::chrono::milliseconds idleConnectionTimeout{std::chrono::seconds(30)};
};

struct HttpClientResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

// "https://127.0.0.1:6443/api?x=1" taken apart. IPv6 literals come in brackets ("[::1]") and
// leave them in `host` ("::1").
struct HttpUrl {
  std::string scheme;  // "http" or "https", lower case
  std::string host;
  std::uint16_t port = 0;
  std::string target;  // path and query, at least "/"; the fragment is dropped
  bool tls() const { return scheme == "https"; }
  // host[:port] for the Host header: the port only when it is not the scheme's default.
  std::string hostHeader() const;
};
std::expected<HttpUrl, std::string> parseHttpUrl(std::string_view url);

class HttpClient {
 public:
  using Options = HttpClientOptions;

  explicit HttpClient(Options options = {});
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // The whole response, whatever its status. Errors name the call and the cause:
  //   "GET https://127.0.0.1:6443/hello: connect to 127.0.0.1:6443: connection refused"
  //   "GET https://...: TLS handshake with 127.0.0.1:6443: certificate verify failed: hostname
  //    mismatch"
  //   "GET http://...: timeout after 10s waiting for the response"
  // The client sets Host (unless given), Content-Length, Connection and User-Agent (unless given).
  std::expected<HttpClientResponse, std::string> request(std::string_view method,
                                                         std::string_view url,
                                                         const HttpHeaders& headers = {},
                                                         std::string_view body = {}) const;

  enum class StreamEnd {
    kCompleted,          // the server ended the body
    kStoppedByCallback,  // onHeaders or onData returned false
    kCancelled,          // `stop` was requested
  };
  // Like request(), but hands the body over as it arrives: onHeaders once with the status and
  // headers, then onData with each piece (chunked bodies decoded, chunk by chunk as the server
  // flushes them). Either callback may return false to end the call, and `stop` ends it from
  // another thread at once (the socket is shut down). A body cut short by the server is an error.
  std::expected<StreamEnd, std::string> stream(
      std::string_view method, std::string_view url, const HttpHeaders& headers,
      std::string_view body, const std::function<bool(int status, const HttpHeaders&)>& onHeaders,
      const std::function<bool(std::string_view data)>& onData, std::stop_token stop = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace billing::common
