#include "operator/webhook/webhook_server.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "common/json.h"
#include "common/tls.h"
#include "operator/webhook/mutation.h"

namespace billing::webhook {
namespace {

void answerText(common::HttpResponseWriter& writer, int status, std::string body,
                common::HttpHeaders headers = {}) {
  headers.set("Content-Type", "text/plain; charset=utf-8");
  writer.respond(status, std::move(headers), std::move(body) + "\n");
}

domain::Timestamp systemNow() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace

WebhookServer::WebhookServer(Options options, const SnapshotSource& source)
    : options_(std::move(options)), source_(source) {
  if (options_.metrics) {
    // controller-runtime's names and labels (webhook = the path), for existing dashboards.
    metrics_.emplace(Metrics{
        &options_.metrics->counter("controller_runtime_webhook_requests_total",
                                   "Total number of admission requests by HTTP status code.",
                                   {"code", "webhook"}),
        &options_.metrics->gauge("controller_runtime_webhook_requests_in_flight",
                                 "Current number of admission requests being served.", {"webhook"}),
        &options_.metrics->histogram("controller_runtime_webhook_latency_seconds",
                                     "Histogram of the latency of processing admission requests",
                                     {"webhook"}, runtime::exponentialBuckets(0.0005, 2, 16))});
  }
}

WebhookServer::~WebhookServer() { stop(); }

void WebhookServer::log(std::string_view line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << "webhook: " << line << std::endl;
  }
}

std::expected<WebhookServer::Certificate, std::string> WebhookServer::readCertificate() const {
  auto stampOf = [](const std::filesystem::path& path) -> std::expected<FileStamp, std::string> {
    struct ::stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      return std::unexpected("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    return FileStamp{static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL +
                         static_cast<long long>(info.st_mtim.tv_nsec),
                     static_cast<long long>(info.st_size),
                     static_cast<unsigned long long>(info.st_ino)};
  };
  const std::filesystem::path certPath = options_.certDir / options_.certName;
  const std::filesystem::path keyPath = options_.certDir / options_.keyName;
  Certificate out;
  // Stamps first: a rotation during the reads then shows as a change at the next check.
  auto certStamp = stampOf(certPath);
  if (!certStamp) return std::unexpected(certStamp.error());
  auto keyStamp = stampOf(keyPath);
  if (!keyStamp) return std::unexpected(keyStamp.error());
  out.certStamp = *certStamp;
  out.keyStamp = *keyStamp;
  auto cert = common::loadCertificateFile(certPath);
  if (!cert) return std::unexpected(cert.error());
  auto key = common::loadPrivateKeyFile(keyPath);
  if (!key) return std::unexpected(key.error());
  if (auto matches = common::checkKeyMatchesCertificate(*cert, *key); !matches) {
    return std::unexpected(keyPath.string() + " does not belong to " + certPath.string() + ": " +
                           matches.error());
  }
  out.certPem = std::move(*cert);
  out.keyPem = std::move(*key);
  return out;
}

// Called with mutex_ held.
std::expected<void, std::string> WebhookServer::listen(const Certificate& certificate) {
  common::HttpServerOptions http;
  http.host = options_.host;
  http.port = port_ != 0 ? port_ : options_.port;
  http.maxRequestBodyBytes = options_.maxRequestBodyBytes;
  http.tls = common::TlsServerConfig{certificate.certPem, certificate.keyPem, std::nullopt};
  http.errorLog = [this](std::string_view line) { log(line); };
  auto server = std::make_unique<common::HttpServer>(
      std::move(http), [this](const common::HttpRequest& request,
                              common::HttpResponseWriter& writer) { handle(request, writer); });
  if (auto started = server->start(); !started) return std::unexpected(started.error());
  port_ = server->port();
  http_ = std::move(server);
  return {};
}

std::expected<void, std::string> WebhookServer::start() {
  std::lock_guard lock(mutex_);
  if (started_) return std::unexpected("the webhook server was already started");
  auto certificate = readCertificate();
  if (!certificate) return std::unexpected("serving certificate: " + certificate.error());
  if (auto listening = listen(*certificate); !listening) {
    return std::unexpected("webhook server on " + options_.host + ":" +
                           std::to_string(options_.port) + ": " + listening.error());
  }
  certificate_ = std::move(*certificate);
  loads_ = 1;
  started_ = true;
  watcher_ = std::jthread([this](std::stop_token stop) { watchCertificates(stop); });
  return {};
}

void WebhookServer::stop() {
  if (watcher_.joinable()) {
    watcher_.request_stop();
    watcher_.join();
  }
  std::unique_ptr<common::HttpServer> http;
  {
    std::lock_guard lock(mutex_);
    http = std::move(http_);
  }
  if (http) http->stop();
}

std::uint16_t WebhookServer::port() const {
  std::lock_guard lock(mutex_);
  return port_;
}

std::size_t WebhookServer::certificateLoads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

std::expected<bool, std::string> WebhookServer::reloadIfChanged() {
  std::lock_guard lock(mutex_);
  if (!started_ || !http_ || !certificate_) return false;
  auto fresh = readCertificate();
  if (!fresh) return std::unexpected(fresh.error());
  if (fresh->certStamp == certificate_->certStamp && fresh->keyStamp == certificate_->keyStamp) {
    return false;
  }
  if (fresh->certPem == certificate_->certPem && fresh->keyPem == certificate_->keyPem) {
    certificate_ = std::move(*fresh);  // touched, not changed
    return false;
  }
  // The TLS context is built at start(): serve the new pair from a new listener on the port.
  http_->stop();
  http_.reset();
  if (auto listening = listen(*fresh); !listening) {
    auto restored = listen(*certificate_);
    return std::unexpected("cannot serve the new certificate: " + listening.error() +
                           (restored ? "; still serving the previous one"
                                     : "; the previous one failed too: " + restored.error()));
  }
  certificate_ = std::move(*fresh);
  ++loads_;
  return true;
}

void WebhookServer::watchCertificates(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(wakeMutex_);
      wake_.wait_for(lock, stop, options_.certCheckInterval, [] { return false; });
    }
    if (stop.stop_requested()) return;
    auto reloaded = reloadIfChanged();
    std::string error = reloaded ? "" : reloaded.error();
    if (reloaded && *reloaded)
      log("serving certificate reloaded from " + options_.certDir.string());
    bool changed;
    {
      std::lock_guard lock(mutex_);
      changed = error != lastReloadError_;
      lastReloadError_ = error;
    }
    // Once per distinct problem, not every few seconds while a rotation is half-written.
    if (changed && !error.empty()) log("serving certificate not reloaded: " + error);
  }
}

void WebhookServer::handle(const common::HttpRequest& request,
                           common::HttpResponseWriter& writer) const {
  if (request.path == "/healthz") {
    answerText(writer, 200, "ok");
    return;
  }
  const bool validating = request.path == kValidatePath;
  if (!validating && request.path != kMutatePath) {
    answerText(writer, 404,
               "not found: the webhook serves POST " + std::string(kValidatePath) + " and POST " +
                   std::string(kMutatePath));
    return;
  }
  if (request.method != "POST") {
    answerText(writer, 405, "method not allowed: use POST", {{"Allow", "POST"}});
    return;
  }
  // Counted per path like controller-runtime's webhook metrics, so both webhooks show up
  // separately (a mutating path that is never called means it is not registered).
  const std::string_view path = validating ? kValidatePath : kMutatePath;
  const auto started = std::chrono::steady_clock::now();
  if (metrics_) metrics_->inFlight->withLabels({std::string(path)}).inc();
  int status = 0;
  auto respond = [&](int code, common::HttpHeaders headers, std::string body) {
    status = code;
    writer.respond(code, std::move(headers), std::move(body));
  };
  reviewBody(request, validating, respond);
  if (metrics_) {
    const std::string label(path);
    metrics_->inFlight->withLabels({label}).dec();
    metrics_->requests->withLabels({std::to_string(status), label}).inc();
    metrics_->latency->withLabels({label}).observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
}

void WebhookServer::reviewBody(
    const common::HttpRequest& request, bool validating,
    const std::function<void(int, common::HttpHeaders, std::string)>& respond) const {
  auto text = [&](int status, std::string body) {
    respond(status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body) + "\n");
  };
  auto body = common::parseJson(request.body);
  if (!body) {
    text(400, "the body is not an AdmissionReview: " + body.error());
    return;
  }
  std::expected<web::json::value, ReviewError> answer;
  if (validating) {
    domain::Timestamp now = options_.now ? options_.now() : systemNow();
    answer = review(*body, source_, now);
  } else {
    answer = mutateReview(*body);
  }
  if (!answer) {
    if (answer.error().httpStatus >= 500) log(answer.error().message);
    text(answer.error().httpStatus,
         answer.error().httpStatus == 400
             ? "the body is not an AdmissionReview: " + answer.error().message
             : answer.error().message);
    return;
  }
  respond(200, {{"Content-Type", "application/json"}}, common::toJson(*answer));
}

}  // namespace billing::webhook
