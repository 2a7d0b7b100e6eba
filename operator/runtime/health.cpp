#include "operator/runtime/health.h"

namespace billing::runtime {

void HealthChecks::add(std::string name, HealthCheck check) {
  std::lock_guard lock(mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

HealthChecks::Report HealthChecks::evaluate(std::string_view only, bool verbose) const {
  std::vector<std::pair<std::string, HealthCheck>> checks;
  {
    std::lock_guard lock(mutex_);
    checks = checks_;
  }
  Report report;
  std::string lines;
  bool any = false;
  for (const auto& [name, check] : checks) {
    if (!only.empty() && name != only) continue;
    any = true;
    std::optional<std::string> failure;
    try {
      failure = check();
    } catch (const std::exception& error) {
      failure = std::string("check threw: ") + error.what();
    }
    if (failure) {
      report.healthy = false;
      lines += "[-]" + name + " failed: " + *failure + "\n";
    } else {
      lines += "[+]" + name + " ok\n";
    }
  }
  if (!only.empty() && !any) {
    report.found = false;
    report.healthy = false;
    report.text = "no such check: " + std::string(only) + "\n";
    return report;
  }
  if (report.healthy) {
    report.text = verbose ? lines + kind_ + " check passed\n" : std::string("ok");
  } else {
    report.text = lines + kind_ + " check failed\n";
  }
  return report;
}

MonitoringServer::MonitoringServer(MonitoringServerOptions options)
    : options_(std::move(options)) {}

MonitoringServer::~MonitoringServer() { stop(); }

std::expected<void, std::string> MonitoringServer::start() {
  common::HttpServerOptions serverOptions;
  serverOptions.host = options_.host;
  serverOptions.port = options_.port;
  serverOptions.shutdownTimeout = std::chrono::seconds(1);
  Logger log = options_.logger.withName("monitoring");
  serverOptions.errorLog = [log](std::string_view message) {
    log.warn("HTTP server error", {{"error", std::string(message)}});
  };
  server_ = std::make_unique<common::HttpServer>(
      std::move(serverOptions),
      [this](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
        handle(request, writer);
      });
  return server_->start();
}

void MonitoringServer::stop() {
  if (server_) server_->stop();
}

std::uint16_t MonitoringServer::port() const { return server_ ? server_->port() : 0; }

void MonitoringServer::handle(const common::HttpRequest& request,
                              common::HttpResponseWriter& writer) const {
  const common::HttpHeaders textHeaders{{"Content-Type", "text/plain; charset=utf-8"},
                                        {"X-Content-Type-Options", "nosniff"}};
  if (request.method != "GET" && request.method != "HEAD") {
    common::HttpHeaders headers = textHeaders;
    headers.set("Allow", "GET, HEAD");
    writer.respond(405, std::move(headers), "method not allowed\n");
    return;
  }
  if (request.path == "/metrics" && options_.metrics) {
    writer.respond(200, {{"Content-Type", std::string(kMetricsContentType)}},
                   options_.metrics->render());
    return;
  }
  for (const auto& [prefix, checks] :
       {std::pair<std::string_view, const HealthChecks*>{"/healthz", options_.healthz.get()},
        std::pair<std::string_view, const HealthChecks*>{"/readyz", options_.readyz.get()}}) {
    if (!checks || !request.path.starts_with(prefix)) continue;
    std::string_view rest = std::string_view(request.path).substr(prefix.size());
    if (!rest.empty() && rest.front() != '/') continue;
    if (!rest.empty()) rest.remove_prefix(1);
    const auto report = checks->evaluate(rest, request.hasQuery("verbose"));
    const int status = !report.found ? 404 : (report.healthy ? 200 : 503);
    writer.respond(status, textHeaders, report.text);
    return;
  }
  writer.respond(404, textHeaders, "404 page not found\n");
}

}  // namespace billing::runtime
