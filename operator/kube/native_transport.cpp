#include "operator/kube/native_transport.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/http_client.h"

namespace billing::kube {
namespace {

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// common::HttpClient reports "METHOD URL: cause"; the cause says what failed and when.
TransportError classify(std::string_view method, std::string_view url, std::string_view error) {
  std::string prefix = std::string(method) + " " + std::string(url) + ": ";
  std::string_view cause = startsWith(error, prefix) ? error.substr(prefix.size()) : error;
  TransportError result;
  result.message = std::string(cause);
  if (startsWith(cause, "connect to ") || startsWith(cause, "invalid URL")) {
    result.kind = TransportError::Kind::Connect;
    result.requestSent = false;
  } else if (startsWith(cause, "timeout after ") && contains(cause, " connecting to ")) {
    result.kind = TransportError::Kind::Connect;
    result.requestSent = false;
  } else if (startsWith(cause, "timeout after ") && contains(cause, "TLS handshake")) {
    result.kind = TransportError::Kind::Timeout;
    result.requestSent = false;
  } else if (startsWith(cause, "TLS handshake with ") || startsWith(cause, "TLS configuration")) {
    result.kind = TransportError::Kind::Tls;
    result.requestSent = false;
  } else if (startsWith(cause, "timeout after ")) {
    result.kind = TransportError::Kind::Timeout;
  } else if (startsWith(cause, "malformed ") || startsWith(cause, "invalid ") ||
             startsWith(cause, "response head too large") || contains(cause, "status line")) {
    result.kind = TransportError::Kind::Protocol;
  } else {
    result.kind = TransportError::Kind::Io;
  }
  return result;
}

class NativeTransport final : public Transport {
 public:
  explicit NativeTransport(TransportConfig config) : config_(std::move(config)) {}

  std::expected<TransportResponse, TransportError> send(const TransportRequest& request) override {
    const std::string url = config_.server + request.target;
    auto response =
        clientFor(request.timeout)->request(request.method, url, request.headers, request.body);
    if (!response) return std::unexpected(classify(request.method, url, response.error()));
    return TransportResponse{response->status, std::move(response->headers),
                             std::move(response->body)};
  }

  std::expected<StreamEnd, TransportError> stream(
      const TransportRequest& request,
      const std::function<bool(int, const common::HttpHeaders&)>& onHead,
      const std::function<bool(std::string_view)>& onData, std::stop_token stop) override {
    const std::string url = config_.server + request.target;
    // The caller's stop and the idle watchdog both end the call through one stop source.
    std::stop_source cancel;
    std::stop_callback forward(stop, [&cancel] { cancel.request_stop(); });
    IdleWatchdog watchdog(request.idleTimeout, cancel);
    auto end = clientFor(request.timeout)
                   ->stream(
                       request.method, url, request.headers, request.body,
                       [&](int status, const common::HttpHeaders& headers) {
                         watchdog.activity();
                         return onHead(status, headers);
                       },
                       [&](std::string_view data) {
                         watchdog.activity();
                         return onData(data);
                       },
                       cancel.get_token());
    watchdog.finish();
    if (watchdog.fired() && !stop.stop_requested()) {
      return std::unexpected(TransportError{
          TransportError::Kind::Timeout,
          "no data from the server for " + std::to_string(request.idleTimeout->count()) + "ms",
          true});
    }
    if (!end) return std::unexpected(classify(request.method, url, end.error()));
    switch (*end) {
      case common::HttpClient::StreamEnd::kCompleted:
        return StreamEnd::Completed;
      case common::HttpClient::StreamEnd::kStoppedByCallback:
        return StreamEnd::StoppedByCallback;
      case common::HttpClient::StreamEnd::kCancelled:
        return StreamEnd::Cancelled;
    }
    return StreamEnd::Completed;
  }

 private:
  // Requests no data for `idle` on a stream: a thread that requests stop when the deadline passes
  // without activity().
  class IdleWatchdog {
   public:
    IdleWatchdog(std::optional<std::chrono::milliseconds> idle, std::stop_source& cancel)
        : idle_(idle) {
      if (!idle_) return;
      deadline_ = std::chrono::steady_clock::now() + *idle_;
      thread_ = std::thread([this, &cancel] {
        std::unique_lock lock(mutex_);
        while (!finished_) {
          if (wake_.wait_until(lock, deadline_) == std::cv_status::timeout &&
              std::chrono::steady_clock::now() >= deadline_ && !finished_) {
            fired_ = true;
            cancel.request_stop();
            return;
          }
        }
      });
    }
    ~IdleWatchdog() { finish(); }
    void activity() {
      if (!idle_) return;
      std::lock_guard lock(mutex_);
      deadline_ = std::chrono::steady_clock::now() + *idle_;
    }
    void finish() {
      if (!thread_.joinable()) return;
      {
        std::lock_guard lock(mutex_);
        finished_ = true;
      }
      wake_.notify_all();
      thread_.join();
    }
    bool fired() {
      std::lock_guard lock(mutex_);
      return fired_;
    }

   private:
    std::optional<std::chrono::milliseconds> idle_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::chrono::steady_clock::time_point deadline_;
    bool finished_ = false;
    bool fired_ = false;
    std::thread thread_;
  };

  // HttpClient's timeout is an option of the client: one client per timeout in use (a handful).
  std::shared_ptr<const common::HttpClient> clientFor(std::chrono::milliseconds timeout) {
    std::lock_guard lock(mutex_);
    auto& client = clients_[timeout];
    if (!client) {
      common::HttpClientOptions options;
      options.tls = config_.tls;
      options.connectTimeout = config_.connectTimeout;
      options.requestTimeout = timeout;
      options.userAgent = config_.userAgent;
      // Requests reuse kept-alive connections: a new TLS connection costs a handshake (about
      // 1.5 ms of CPU here), several times the cost of the request. Enough idle connections for
      // every worker of the operator's controllers plus the informers' lists.
      options.maxIdleConnections = kMaxIdleConnections;
      client = std::make_shared<const common::HttpClient>(std::move(options));
    }
    return client;
  }

  static constexpr std::size_t kMaxIdleConnections = 32;

  const TransportConfig config_;
  std::mutex mutex_;
  std::map<std::chrono::milliseconds, std::shared_ptr<const common::HttpClient>> clients_;
};

}  // namespace

std::expected<std::unique_ptr<Transport>, std::string> makeNativeTransport(
    const TransportConfig& config) {
  if (auto valid = validateTransportConfig(config); !valid) return std::unexpected(valid.error());
  return std::make_unique<NativeTransport>(config);
}

}  // namespace billing::kube
