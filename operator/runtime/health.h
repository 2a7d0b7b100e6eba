// Health and readiness checks, and the HTTP endpoints that serve them with the metrics:
// /metrics (Prometheus text format), /healthz and /readyz (200 "ok" or 503 with the failing
// checks), /healthz/NAME and /readyz/NAME for one check, ?verbose for every check's line.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http_server.h"
#include "operator/runtime/log.h"
#include "operator/runtime/metrics.h"

namespace billing::runtime {

// nullopt when healthy, otherwise why not.
using HealthCheck = std::function<std::optional<std::string>()>;

class HealthChecks {
 public:
  explicit HealthChecks(std::string kind = "healthz") : kind_(std::move(kind)) {}
  void add(std::string name, HealthCheck check);

  struct Report {
    bool found = true;  // false when `only` names no check
    bool healthy = true;
    std::string text;  // the response body
  };
  // Runs every check (or only the named one).
  Report evaluate(std::string_view only = {}, bool verbose = false) const;

 private:
  std::string kind_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, HealthCheck>> checks_;
};

struct MonitoringServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                       // 0: ephemeral, see port()
  std::shared_ptr<const Registry> metrics;      // serves /metrics when set
  std::shared_ptr<const HealthChecks> healthz;  // serves /healthz when set
  std::shared_ptr<const HealthChecks> readyz;   // serves /readyz when set
  Logger logger;
};

class MonitoringServer {
 public:
  explicit MonitoringServer(MonitoringServerOptions options);
  ~MonitoringServer();
  MonitoringServer(const MonitoringServer&) = delete;
  MonitoringServer& operator=(const MonitoringServer&) = delete;

  std::expected<void, std::string> start();
  void stop();
  std::uint16_t port() const;

 private:
  void handle(const common::HttpRequest& request, common::HttpResponseWriter& writer) const;

  MonitoringServerOptions options_;
  std::unique_ptr<common::HttpServer> server_;
};

}  // namespace billing::runtime
