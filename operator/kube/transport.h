// The HTTP transport under the Kubernetes client: one request in, one response out, as values;
// plus a streaming call for watches. Two implementations sit beside it: cpprest_transport.h
// (cpprestsdk's http_client, the default) and native_transport.h (common/http_client.h). Nothing
// above this header sees an HTTP library's types; a response with any status is a response, and
// only the failure to get one is a TransportError.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/http_message.h"
#include "common/tls.h"

namespace billing::kube {

struct TransportRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, percent-encoded: "/api/v1/namespaces/a/pods?limit=5"
  common::HttpHeaders headers;
  std::string body;
  // send(): the whole exchange, connect to the last byte of the body. stream(): until the
  // response head has arrived.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // stream() only: ends the stream with a Timeout error when no data arrived for this long
  // (a dead connection that never closes). None: wait as long as it takes.
  std::optional<std::chrono::milliseconds> idleTimeout;
};

struct TransportResponse {
  int status = 0;
  common::HttpHeaders headers;
  std::string body;
};

struct TransportError {
  enum class Kind {
    Connect,    // DNS, connection refused or unreachable, connect timeout
    Tls,        // handshake failed, certificate did not verify, bad client certificate
    Timeout,    // the request timed out after it was sent
    Io,         // the connection broke after the request may have been sent
    Protocol,   // the server sent something that is not HTTP
    Cancelled,  // the caller's stop_token (stream only)
  };
  Kind kind = Kind::Io;
  std::string message;  // one line, never a credential
  // False when the server cannot have seen the request (nothing was written): retrying is safe
  // for every verb. True when it may have been processed.
  bool requestSent = true;
};

enum class StreamEnd {
  Completed,          // the server ended the body
  StoppedByCallback,  // onHead or onData returned false
  Cancelled,          // `stop` was requested
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual std::expected<TransportResponse, TransportError> send(
      const TransportRequest& request) = 0;

  // Hands the response over as it arrives: onHead once with the status and headers (whatever the
  // status), then onData with each piece of the body as the server flushes it. Either callback may
  // return false to end the call; `stop` ends it from another thread promptly.
  virtual std::expected<StreamEnd, TransportError> stream(
      const TransportRequest& request,
      const std::function<bool(int status, const common::HttpHeaders& headers)>& onHead,
      const std::function<bool(std::string_view data)>& onData, std::stop_token stop) = 0;
};

struct TransportConfig {
  std::string server;  // "https://host:port"; a path prefix is the client's business
  common::TlsClientConfig tls;
  std::chrono::milliseconds connectTimeout{std::chrono::seconds(10)};
  std::string userAgent = "billing-operator";
};

enum class TransportKind { Cpprest, Native };

std::string_view transportKindName(TransportKind kind);
std::optional<TransportKind> parseTransportKind(std::string_view name);

// Builds a transport; errors name what is wrong with the configuration (an unreadable PEM, a
// key that does not match its certificate, a malformed server URL).
using TransportFactory = std::function<std::expected<std::unique_ptr<Transport>, std::string>(
    const TransportConfig& config)>;
std::expected<std::unique_ptr<Transport>, std::string> makeTransport(TransportKind kind,
                                                                     const TransportConfig& config);

// Checks the TLS material of a configuration the way both transports need it: PEM that OpenSSL
// reads, a key that matches its certificate, both or neither of certificate and key.
std::expected<void, std::string> validateTransportConfig(const TransportConfig& config);

}  // namespace billing::kube
