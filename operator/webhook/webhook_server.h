// The admission webhook's HTTPS endpoint (controller-runtime's webhook server): POST
// kValidatePath (the validating webhook) or kMutatePath (the mutating one, mutation.h) with an
// AdmissionReview, GET /healthz. The serving certificate is read from a
// directory (tls.crt, tls.key, as a Kubernetes TLS Secret mounts them) and read again when the
// files change, since cert-manager and friends rotate it without restarting the pod.
//
// common::HttpServer fixes its TLS context at start(), so a rotation restarts the listener on the
// same port: connections open at that moment finish their request (HttpServer::stop lets them),
// and a webhook call that arrives in the few milliseconds in between is refused and fails under
// failurePolicy Fail. See docs/webhook.md.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/http_server.h"
#include "operator/runtime/metrics.h"
#include "operator/webhook/admission_review.h"
#include "operator/webhook/snapshot_source.h"

namespace billing::webhook {

struct WebhookServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 9443;  // --webhook-port; 0 picks a free port (tests)
  // --webhook-cert-dir; controller-runtime's default directory.
  std::filesystem::path certDir = "/tmp/k8s-webhook-server/serving-certs";
  std::string certName = "tls.crt";
  std::string keyName = "tls.key";
  // How often the certificate files are looked at (mtime, size, inode) for a rotation.
  std::chrono::milliseconds certCheckInterval{std::chrono::seconds(3)};
  // Kubernetes' request body limit; beyond it HttpServer answers 413.
  std::size_t maxRequestBodyBytes = 3 * 1024 * 1024;
  // The time rules depend on; the system clock when empty.
  std::function<domain::Timestamp()> now;
  // A few lines: reloads, failures to read the cluster. Never object contents (R8). stderr when
  // empty.
  std::function<void(std::string_view)> log;
  // Where controller_runtime_webhook_* (requests by path and HTTP code, in flight, latency) are
  // registered; none when null. Must outlive the server (the Manager's registry).
  runtime::Registry* metrics = nullptr;
};

class WebhookServer {
 public:
  using Options = WebhookServerOptions;

  // `source` must outlive the server.
  WebhookServer(Options options, const SnapshotSource& source);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Reads the certificate (an error when it is missing or does not match its key), starts serving
  // and starts watching the files. Once per server.
  std::expected<void, std::string> start();
  // Stops watching and serving; idempotent.
  void stop();

  std::uint16_t port() const;
  // How many certificates were loaded: 1 after start(), one more per rotation.
  std::size_t certificateLoads() const;

  // Looks at the files now and restarts the listener when they hold a new, valid pair. Returns
  // whether it did. A pair that is half-written (key and certificate do not match) is an error
  // and the old one stays in use; the next check tries again.
  std::expected<bool, std::string> reloadIfChanged();

  // The request handler, without TLS: what the listener runs for every request.
  void handle(const common::HttpRequest& request, common::HttpResponseWriter& writer) const;

 private:
  struct FileStamp {
    long long mtimeNanos = 0;
    long long size = -1;
    unsigned long long inode = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  struct Certificate {
    std::string certPem;
    std::string keyPem;
    FileStamp certStamp;
    FileStamp keyStamp;
  };

  std::expected<Certificate, std::string> readCertificate() const;
  std::expected<void, std::string> listen(const Certificate& certificate);
  void watchCertificates(std::stop_token stop);
  void log(std::string_view line) const;
  // Decodes the body and answers the review of one path through `respond`.
  void reviewBody(const common::HttpRequest& request, bool validating,
                  const std::function<void(int, common::HttpHeaders, std::string)>& respond) const;

  struct Metrics {
    runtime::MetricFamily<runtime::Counter>* requests;   // {code, webhook}
    runtime::MetricFamily<runtime::Gauge>* inFlight;     // {webhook}
    runtime::MetricFamily<runtime::Histogram>* latency;  // {webhook}
  };

  const Options options_;
  const SnapshotSource& source_;
  std::optional<Metrics> metrics_;

  mutable std::mutex mutex_;  // guards everything below
  std::unique_ptr<common::HttpServer> http_;
  std::optional<Certificate> certificate_;
  std::uint16_t port_ = 0;
  std::size_t loads_ = 0;
  std::string lastReloadError_;
  bool started_ = false;

  std::mutex wakeMutex_;
  std::condition_variable_any wake_;
  std::jthread watcher_;
};

}  // namespace billing::webhook
