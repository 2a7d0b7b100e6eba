#include "operator/kube/cpprest_transport.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/http_client.h"

namespace billing::kube {
namespace {

namespace http = web::http;

// The request body as a stream of unsigned char. cpprestsdk's set_body(std::string) puts the text
// in a stream buffer of char and reads it through basic_streambuf<unsigned char> (astreambuf.h's
// converting constructor casts one to the other through void*): the layouts match, but every
// virtual call goes through a type the object does not have, which UBSan's vptr check reports
// ("does not point to an object of type 'basic_streambuf'", astreambuf.h:891). A buffer of
// unsigned char needs no conversion.
void setBody(http::http_request& request, std::string_view body, const std::string& contentType) {
  request.set_body(concurrency::streams::bytestream::open_istream(
                       std::vector<unsigned char>(body.begin(), body.end())),
                   body.size(), contentType);
}
using namespace std::chrono_literals;

// How long to wait for cpprestsdk to wind a request down after we cancelled it. Cancellation
// closes the socket, so this is normally immediate; the bound keeps a misbehaving call from
// hanging its caller.
constexpr auto kCancelGrace = 5s;

// What the TLS callbacks share with the transport: the PEM material and the reason the last
// certificate verification failed (cpprestsdk only says "Error in SSL handshake").
struct TlsState {
  common::TlsClientConfig tls;
  std::string expectedName;  // what the certificate must be valid for
  std::mutex mutex;
  std::string lastVerifyError;

  void record(std::string error) {
    std::lock_guard lock(mutex);
    lastVerifyError = std::move(error);
  }
  std::string takeVerifyError() {
    std::lock_guard lock(mutex);
    return std::exchange(lastVerifyError, std::string());
  }
};

// A value a cpprestsdk continuation hands to the waiting caller. Waits end when the value arrives,
// the deadline passes or the caller's stop_token is requested, without polling.
template <typename T>
class Completion {
 public:
  void set(T value) {
    {
      std::lock_guard lock(mutex_);
      value_ = std::move(value);
    }
    ready_.notify_all();
  }
  // True when the value is there. No deadline: wait until the value or the stop.
  bool wait(std::optional<std::chrono::steady_clock::time_point> deadline,
            const std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    auto ready = [this] { return value_.has_value(); };
    if (!deadline) return ready_.wait(lock, stop, ready);
    return ready_.wait_until(lock, stop, *deadline, ready);
  }
  bool waitFor(std::chrono::steady_clock::duration duration) {
    return wait(std::chrono::steady_clock::now() + duration, std::stop_token());
  }
  T take() {
    std::lock_guard lock(mutex_);
    return std::move(*value_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any ready_;
  std::optional<T> value_;
};

bool isIpAddress(const std::string& host) {
  return host.find(':') != std::string::npos ||
         host.find_first_not_of("0123456789.") == std::string::npos;
}

// OpenSSL's whole-chain verification, wrapped to remember why it failed. cpprestsdk's per
// certificate callback (the RFC 2818 name check) still runs inside X509_verify_cert.
int verifyAndRecord(X509_STORE_CTX* storeContext, void* argument) {
  auto* state = static_cast<TlsState*>(argument);
  int ok = X509_verify_cert(storeContext);
  if (ok > 0 || state->tls.insecureSkipVerify) return ok;
  int error = X509_STORE_CTX_get_error(storeContext);
  if (error != X509_V_OK) {
    state->record(std::string("certificate verify failed: ") +
                  X509_verify_cert_error_string(error));
    return ok;
  }
  // The chain verified but the name check said no.
  std::string reason = "certificate verify failed: the server certificate is not valid for \"" +
                       state->expectedName + "\"";
  if (X509* leaf = X509_STORE_CTX_get0_cert(storeContext)) {
    const std::string& name = state->expectedName;
    bool matches = isIpAddress(name)
                       ? X509_check_ip_asc(leaf, name.c_str(), 0) == 1
                       : X509_check_host(leaf, name.c_str(), name.size(), 0, nullptr) == 1;
    if (!matches) reason += " (hostname mismatch)";
  }
  state->record(std::move(reason));
  return ok;
}

void configureSslContext(const std::shared_ptr<TlsState>& state, boost::asio::ssl::context& ctx) {
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  const auto& tls = state->tls;
  if (tls.caPem) {
    // The certificate authority of the kubeconfig replaces the system store, as in client-go.
    SSL_CTX_set_cert_store(native, X509_STORE_new());
    ctx.add_certificate_authority(boost::asio::buffer(tls.caPem->data(), tls.caPem->size()));
  }
  if (tls.clientCertPem && tls.clientKeyPem) {
    ctx.use_certificate_chain(
        boost::asio::buffer(tls.clientCertPem->data(), tls.clientCertPem->size()));
    ctx.use_private_key(boost::asio::buffer(tls.clientKeyPem->data(), tls.clientKeyPem->size()),
                        boost::asio::ssl::context::pem);
  }
  SSL_CTX_set_cert_verify_callback(native, verifyAndRecord, state.get());
}

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

common::HttpHeaders convertHeaders(const http::http_headers& headers) {
  common::HttpHeaders result;
  for (const auto& [name, value] : headers) result.add(name, value);
  return result;
}

class CpprestTransport final : public Transport {
 public:
  CpprestTransport(TransportConfig config, std::shared_ptr<TlsState> state,
                   std::unique_ptr<http::client::http_client> client)
      : config_(std::move(config)), tls_(std::move(state)), client_(std::move(client)) {}

  std::expected<TransportResponse, TransportError> send(const TransportRequest& request) override {
    auto built = buildRequest(request);
    if (!built) return std::unexpected(built.error());
    using Result = std::expected<TransportResponse, TransportError>;
    pplx::cancellation_token_source cancel;
    auto done = std::make_shared<Completion<Result>>();
    auto state = tls_;
    try {
      client_->request(*built, cancel.get_token())
          .then([](http::http_response response) {
            return response.extract_vector().then([response](std::vector<unsigned char> body) {
              TransportResponse result;
              result.status = response.status_code();
              result.headers = convertHeaders(response.headers());
              result.body.assign(body.begin(), body.end());
              return result;
            });
          })
          .then([done, state](pplx::task<TransportResponse> task) {
            try {
              done->set(task.get());
            } catch (...) {
              done->set(std::unexpected(classify(std::current_exception(), *state)));
            }
          });
    } catch (...) {
      return std::unexpected(classify(std::current_exception(), *tls_));
    }
    if (!done->waitFor(request.timeout)) {
      cancel.cancel();
      done->waitFor(kCancelGrace);
      return std::unexpected(timeoutError(request.timeout));
    }
    return done->take();
  }

  std::expected<StreamEnd, TransportError> stream(
      const TransportRequest& request,
      const std::function<bool(int, const common::HttpHeaders&)>& onHead,
      const std::function<bool(std::string_view)>& onData, std::stop_token stop) override {
    auto built = buildRequest(request);
    if (!built) return std::unexpected(built.error());
    if (stop.stop_requested()) return StreamEnd::Cancelled;
    // Cancelling closes the connection, which fails whatever read cpprestsdk has pending; the
    // body buffer is then closed with that error and a pending read of ours ends.
    pplx::cancellation_token_source cancel;
    auto state = tls_;

    using HeadResult = std::expected<http::http_response, TransportError>;
    auto head = std::make_shared<Completion<HeadResult>>();
    try {
      client_->request(*built, cancel.get_token())
          .then([head, state](pplx::task<http::http_response> task) {
            try {
              head->set(task.get());
            } catch (...) {
              head->set(std::unexpected(classify(std::current_exception(), *state)));
            }
          });
    } catch (...) {
      return std::unexpected(classify(std::current_exception(), *tls_));
    }
    if (!head->wait(std::chrono::steady_clock::now() + request.timeout, stop)) {
      cancel.cancel();
      head->waitFor(kCancelGrace);
      if (stop.stop_requested()) return StreamEnd::Cancelled;
      return std::unexpected(timeoutError(request.timeout));
    }
    HeadResult response = head->take();
    if (!response) return std::unexpected(response.error());
    if (!onHead(response->status_code(), convertHeaders(response->headers()))) {
      cancel.cancel();
      return StreamEnd::StoppedByCallback;
    }

    auto body = response->body().streambuf();
    // Shared with the read continuations, which may finish after a cancelled call has returned.
    auto buffer = std::make_shared<std::array<std::uint8_t, 64 * 1024>>();
    while (true) {
      // One byte waits until the server sends something or the body ends; whatever else has
      // arrived by then is taken without waiting.
      using ReadResult = std::expected<std::size_t, TransportError>;
      auto read = std::make_shared<Completion<ReadResult>>();
      try {
        body.getn(buffer->data(), 1).then([read, buffer, state](pplx::task<size_t> task) {
          try {
            read->set(task.get());
          } catch (...) {
            read->set(std::unexpected(classify(std::current_exception(), *state)));
          }
        });
      } catch (...) {
        return std::unexpected(classify(std::current_exception(), *tls_));
      }
      std::optional<std::chrono::steady_clock::time_point> idleDeadline;
      if (request.idleTimeout)
        idleDeadline = std::chrono::steady_clock::now() + *request.idleTimeout;
      if (!read->wait(idleDeadline, stop)) {
        cancel.cancel();
        read->waitFor(kCancelGrace);
        if (stop.stop_requested()) return StreamEnd::Cancelled;
        return std::unexpected(
            TransportError{TransportError::Kind::Timeout,
                           "no data from the server for " + formatMs(*request.idleTimeout), true});
      }
      ReadResult got = read->take();
      if (stop.stop_requested()) return StreamEnd::Cancelled;
      if (!got) {
        TransportError error = got.error();
        error.message = "reading the response body: " + error.message;
        return std::unexpected(error);
      }
      if (*got == 0) return StreamEnd::Completed;
      std::size_t length = *got;
      try {
        std::size_t available = body.in_avail();
        if (available > 0) {
          length += body.getn(buffer->data() + 1, std::min(available, buffer->size() - 1)).get();
        }
      } catch (...) {
        return std::unexpected(classify(std::current_exception(), *tls_));
      }
      if (!onData(std::string_view(reinterpret_cast<const char*>(buffer->data()), length))) {
        cancel.cancel();
        return StreamEnd::StoppedByCallback;
      }
    }
  }

 private:
  std::expected<http::http_request, TransportError> buildRequest(const TransportRequest& request) {
    try {
      http::http_request built(request.method);
      built.set_request_uri(web::uri(request.target));
      if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
          request.method == "PATCH") {
        setBody(built, request.body,
                request.headers.get("Content-Type").value_or("application/json"));
      }
      for (const auto& [name, value] : request.headers) {
        if (common::equalsIgnoreCase(name, "Content-Type")) continue;
        built.headers().add(name, value);
      }
      if (!request.headers.contains("User-Agent")) {
        built.headers().add("User-Agent", config_.userAgent);
      }
      // cpprestsdk checks the certificate against the Host header and sends it as SNI.
      if (!config_.tls.serverName.empty()) built.headers().add("Host", config_.tls.serverName);
      return built;
    } catch (const std::exception& error) {
      return std::unexpected(TransportError{
          TransportError::Kind::Protocol, std::string("invalid request: ") + error.what(), false});
    }
  }

  static TransportError timeoutError(std::chrono::milliseconds timeout) {
    return TransportError{TransportError::Kind::Timeout,
                          "timeout after " + formatMs(timeout) + " waiting for the response", true};
  }

  static std::string formatMs(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
    return std::to_string(duration.count()) + "ms";
  }

  // Turns what cpprestsdk and Boost throw into a TransportError. cpprestsdk's messages say where
  // the exchange failed, which tells whether the server can have seen the request.
  static TransportError classify(std::exception_ptr thrown, TlsState& state) {
    TransportError result;
    try {
      std::rethrow_exception(thrown);
    } catch (const http::http_exception& error) {
      std::string_view what = error.what();
      const std::error_code code = error.error_code();
      result.message = std::string(what);
      if (code == std::errc::timed_out) {
        result.kind = TransportError::Kind::Timeout;
      } else if (code == std::errc::operation_canceled || startsWith(what, "Request canceled")) {
        result.kind = TransportError::Kind::Cancelled;
      } else if (startsWith(what, "Failed to connect") || startsWith(what, "Error resolving") ||
                 startsWith(what, "Failed to resolve")) {
        result.kind = TransportError::Kind::Connect;
        result.requestSent = false;
        result.message = startsWith(what, "Failed to connect")
                             ? "connection refused or host unreachable"
                             : "cannot resolve the host name";
      } else if (startsWith(what, "Error in SSL handshake")) {
        result.kind = TransportError::Kind::Tls;
        result.requestSent = false;
        std::string reason = state.takeVerifyError();
        result.message = "TLS handshake failed" + (reason.empty() ? "" : ": " + reason);
      } else if (startsWith(what, "Failed to write request headers")) {
        // An incomplete header block is never processed by a server.
        result.kind = TransportError::Kind::Io;
        result.requestSent = false;
      } else if (startsWith(what, "Invalid HTTP status line") ||
                 startsWith(what, "Invalid chunked")) {
        result.kind = TransportError::Kind::Protocol;
      } else {
        result.kind = TransportError::Kind::Io;
      }
    } catch (const boost::system::system_error& error) {
      result.kind = TransportError::Kind::Tls;
      result.requestSent = false;
      result.message = std::string("TLS setup: ") + error.what();
    } catch (const std::exception& error) {
      result.kind = TransportError::Kind::Io;
      result.message = error.what();
    } catch (...) {
      result.kind = TransportError::Kind::Io;
      result.message = "unknown error";
    }
    return result;
  }

  const TransportConfig config_;
  const std::shared_ptr<TlsState> tls_;
  const std::unique_ptr<http::client::http_client> client_;
};

}  // namespace

std::expected<std::unique_ptr<Transport>, std::string> makeCpprestTransport(
    const TransportConfig& config) {
  if (auto valid = validateTransportConfig(config); !valid) return std::unexpected(valid.error());
  auto url = common::parseHttpUrl(config.server);
  auto state = std::make_shared<TlsState>();
  state->tls = config.tls;
  state->expectedName = config.tls.serverName.empty() ? url->host : config.tls.serverName;
  try {
    http::client::http_client_config clientConfig;
    // Deadlines are ours (send() and stream() wait with their own timeouts and cancel); this is
    // cpprestsdk's inactivity timer, which must not end a quiet watch.
    clientConfig.set_timeout(std::chrono::hours(24 * 365));
    clientConfig.set_validate_certificates(!config.tls.insecureSkipVerify);
    clientConfig.set_ssl_context_callback(
        [state](boost::asio::ssl::context& ctx) { configureSslContext(state, ctx); });
    auto client =
        std::make_unique<http::client::http_client>(web::uri(config.server), clientConfig);
    return std::make_unique<CpprestTransport>(config, state, std::move(client));
  } catch (const std::exception& error) {
    return std::unexpected(std::string("cpprestsdk client for ") + config.server + ": " +
                           error.what());
  }
}

}  // namespace billing::kube
