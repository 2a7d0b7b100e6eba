#include "operator/runtime/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>

namespace billing::runtime {

namespace {

std::string formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

void appendEscaped(std::string& out, std::string_view text, bool escapeQuotes) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escapeQuotes) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
}

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

// controller-runtime's reconcile_time_seconds buckets.
const std::vector<double> kReconcileTimeBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
    0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
    6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};

}  // namespace

void Counter::inc(double by) {
  if (by < 0) return;
  value_.fetch_add(by, std::memory_order_relaxed);
}

void Gauge::add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> upperBounds) : bounds_(std::move(upperBounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) {
  // Buckets are "less than or equal": the first bound >= value.
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.upperBounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  // The count is the +Inf bucket, so a scrape racing an observation stays self-consistent.
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> exponentialBuckets(double start, double factor, int count) {
  std::vector<double> buckets;
  double bound = start;
  for (int i = 0; i < count; ++i) {
    buckets.push_back(bound);
    bound *= factor;
  }
  return buckets;
}

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help, MetricType type,
                                   std::vector<std::string> labelNames)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labelNames_(std::move(labelNames)) {}

std::string MetricFamilyBase::labelText(const std::vector<std::string>& values,
                                        std::string_view extraName,
                                        std::string_view extraValue) const {
  if (labelNames_.empty() && extraName.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (std::size_t i = 0; i < labelNames_.size(); ++i) {
    if (!first) out.push_back(',');
    first = false;
    out += labelNames_[i];
    out += "=\"";
    appendEscaped(out, i < values.size() ? values[i] : std::string(), true);
    out.push_back('"');
  }
  if (!extraName.empty()) {
    if (!first) out.push_back(',');
    out += extraName;
    out += "=\"";
    appendEscaped(out, extraValue, true);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

void MetricFamilyBase::renderHeader(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out.push_back(' ');
  appendEscaped(out, help_, false);
  out += "\n# TYPE ";
  out += name_;
  out.push_back(' ');
  out += typeName(type_);
  out.push_back('\n');
}

template <>
void MetricFamily<Counter>::render(std::string& out) const {
  std::lock_guard lock(mutex_);
  if (series_.empty()) return;
  renderHeader(out);
  for (const auto& [labels, metric] : series_) {
    out += name() + labelText(labels) + " " + formatValue(metric->value()) + "\n";
  }
}

template <>
void MetricFamily<Gauge>::render(std::string& out) const {
  std::lock_guard lock(mutex_);
  if (series_.empty()) return;
  renderHeader(out);
  for (const auto& [labels, metric] : series_) {
    out += name() + labelText(labels) + " " + formatValue(metric->value()) + "\n";
  }
}

template <>
void MetricFamily<Histogram>::render(std::string& out) const {
  std::lock_guard lock(mutex_);
  if (series_.empty()) return;
  renderHeader(out);
  for (const auto& [labels, metric] : series_) {
    const auto snapshot = metric->snapshot();
    for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
      const std::string le =
          i < snapshot.upperBounds.size() ? formatValue(snapshot.upperBounds[i]) : "+Inf";
      out += name() + "_bucket" + labelText(labels, "le", le) + " " +
             std::to_string(snapshot.cumulative[i]) + "\n";
    }
    out += name() + "_sum" + labelText(labels) + " " + formatValue(snapshot.sum) + "\n";
    out += name() + "_count" + labelText(labels) + " " + std::to_string(snapshot.count) + "\n";
  }
}

template <typename Metric>
MetricFamily<Metric>& Registry::add(const std::string& name, const std::string& help,
                                    MetricType type, std::vector<std::string> labelNames,
                                    std::function<std::unique_ptr<Metric>()> make) {
  std::lock_guard lock(mutex_);
  auto& slot = families_[name];
  if (!slot) {
    slot = std::make_unique<MetricFamily<Metric>>(name, help, type, std::move(labelNames),
                                                  std::move(make));
  }
  if (auto* family = dynamic_cast<MetricFamily<Metric>*>(slot.get())) return *family;
  assert(false && "metric registered twice with different types");
  detached_.push_back(std::make_unique<MetricFamily<Metric>>(
      name, help, type, std::move(labelNames), std::move(make)));
  return static_cast<MetricFamily<Metric>&>(*detached_.back());
}

MetricFamily<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                         std::vector<std::string> labelNames) {
  return add<Counter>(name, help, MetricType::Counter, std::move(labelNames),
                      [] { return std::make_unique<Counter>(); });
}

MetricFamily<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                                     std::vector<std::string> labelNames) {
  return add<Gauge>(name, help, MetricType::Gauge, std::move(labelNames),
                    [] { return std::make_unique<Gauge>(); });
}

MetricFamily<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                             std::vector<std::string> labelNames,
                                             std::vector<double> upperBounds) {
  return add<Histogram>(
      name, help, MetricType::Histogram, std::move(labelNames),
      [bounds = std::move(upperBounds)] { return std::make_unique<Histogram>(bounds); });
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) family->render(out);
  return out;
}

RuntimeMetrics::RuntimeMetrics(std::shared_ptr<Registry> registry)
    : reconcileTotal(registry->counter("controller_runtime_reconcile_total",
                                       "Total number of reconciliations per controller",
                                       {"controller", "result"})),
      reconcileErrors(registry->counter("controller_runtime_reconcile_errors_total",
                                        "Total number of reconciliation errors per controller",
                                        {"controller"})),
      reconcilePanics(registry->counter("controller_runtime_reconcile_panics_total",
                                        "Total number of reconciliation panics per controller",
                                        {"controller"})),
      reconcileTime(registry->histogram("controller_runtime_reconcile_time_seconds",
                                        "Length of time per reconciliation per controller",
                                        {"controller"}, kReconcileTimeBuckets)),
      activeWorkers(registry->gauge("controller_runtime_active_workers",
                                    "Number of currently used workers per controller",
                                    {"controller"})),
      maxConcurrentReconciles(registry->gauge(
          "controller_runtime_max_concurrent_reconciles",
          "Maximum number of concurrent reconciles per controller", {"controller"})),
      workqueueDepth(registry->gauge("workqueue_depth", "Current depth of workqueue", {"name"})),
      workqueueAdds(registry->counter("workqueue_adds_total",
                                      "Total number of adds handled by workqueue", {"name"})),
      workqueueQueueDuration(registry->histogram(
          "workqueue_queue_duration_seconds",
          "How long in seconds an item stays in workqueue before being requested", {"name"},
          exponentialBuckets(10e-9, 10, 12))),
      workqueueWorkDuration(
          registry->histogram("workqueue_work_duration_seconds",
                              "How long in seconds processing an item from workqueue takes",
                              {"name"}, exponentialBuckets(10e-9, 10, 12))),
      workqueueRetries(registry->counter("workqueue_retries_total",
                                         "Total number of retries handled by workqueue", {"name"})),
      leaderElectionMasterStatus(registry->gauge(
          "leader_election_master_status",
          "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 "
          "indicates master. 'name' is the string used to identify the lease.",
          {"name"})),
      restClientRequests(registry->counter(
          "rest_client_requests_total",
          "Number of HTTP requests, partitioned by status code, method, and host.",
          {"code", "method", "host"})),
      registry_(std::move(registry)) {}

void RuntimeMetrics::observeRestClientRequest(int statusCode, std::string_view method,
                                              std::string_view host) {
  restClientRequests
      .withLabels({statusCode == 0 ? std::string("<error>") : std::to_string(statusCode),
                   std::string(method), std::string(host)})
      .inc();
}

std::function<void(int, std::string_view, std::string_view)> RuntimeMetrics::restClientHook() {
  auto keepAlive = registry_;
  auto* family = &restClientRequests;
  return [keepAlive, family](int statusCode, std::string_view method, std::string_view host) {
    family
        ->withLabels({statusCode == 0 ? std::string("<error>") : std::to_string(statusCode),
                      std::string(method), std::string(host)})
        .inc();
  };
}

}  // namespace billing::runtime
