// Prometheus metrics in the text exposition format (version 0.0.4), and the metric families the
// runtime exports under the names controller-runtime and client-go users already chart:
// controller_runtime_reconcile_total, workqueue_depth, leader_election_master_status, ...
//
// Updating a metric is lock-free once its series is found; finding a labelled series takes the
// family's mutex briefly. Callers on hot paths may keep the reference: series are never removed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace billing::runtime {

class Counter {
 public:
  void inc(double by = 1.0);  // by >= 0
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double by);
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // Upper bounds, strictly increasing; +Inf is implicit.
  explicit Histogram(std::vector<double> upperBounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> upperBounds;        // without +Inf
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

std::vector<double> exponentialBuckets(double start, double factor, int count);

enum class MetricType { Counter, Gauge, Histogram };

class MetricFamilyBase {
 public:
  MetricFamilyBase(std::string name, std::string help, MetricType type,
                   std::vector<std::string> labelNames);
  virtual ~MetricFamilyBase() = default;
  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return labelNames_; }
  // Appends "# HELP", "# TYPE" and one line per series (sorted by label values).
  virtual void render(std::string& out) const = 0;

 protected:
  std::string labelText(const std::vector<std::string>& values, std::string_view extraName = {},
                        std::string_view extraValue = {}) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> labelNames_;

 protected:
  void renderHeader(std::string& out) const;
};

template <typename Metric>
class MetricFamily final : public MetricFamilyBase {
 public:
  MetricFamily(std::string name, std::string help, MetricType type,
               std::vector<std::string> labelNames, std::function<std::unique_ptr<Metric>()> make)
      : MetricFamilyBase(std::move(name), std::move(help), type, std::move(labelNames)),
        make_(std::move(make)) {
    if (this->labelNames().empty()) withLabels({});
  }

  // The series for these label values, in the order of the label names (missing values are "",
  // extra ones ignored). Created on first use.
  Metric& withLabels(const std::vector<std::string>& values) {
    std::vector<std::string> key(labelNames().size());
    for (std::size_t i = 0; i < key.size() && i < values.size(); ++i) key[i] = values[i];
    std::lock_guard lock(mutex_);
    auto& slot = series_[key];
    if (!slot) slot = make_();
    return *slot;
  }

  void render(std::string& out) const override;

 private:
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;
};

template <>
void MetricFamily<Counter>::render(std::string& out) const;
template <>
void MetricFamily<Gauge>::render(std::string& out) const;
template <>
void MetricFamily<Histogram>::render(std::string& out) const;

class Registry {
 public:
  MetricFamily<Counter>& counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> labelNames = {});
  MetricFamily<Gauge>& gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> labelNames = {});
  MetricFamily<Histogram>& histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> labelNames,
                                     std::vector<double> upperBounds);
  // Every family, sorted by name, in the text exposition format.
  std::string render() const;

 private:
  template <typename Metric>
  MetricFamily<Metric>& add(const std::string& name, const std::string& help, MetricType type,
                            std::vector<std::string> labelNames,
                            std::function<std::unique_ptr<Metric>()> make);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MetricFamilyBase>> families_;
  // A second registration of a name with another type gets a family that is never exported.
  std::vector<std::unique_ptr<MetricFamilyBase>> detached_;
};

// "text/plain; version=0.0.4; charset=utf-8"
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The families the runtime updates, registered under their controller-runtime / client-go names.
class RuntimeMetrics {
 public:
  explicit RuntimeMetrics(std::shared_ptr<Registry> registry);

  Registry& registry() const { return *registry_; }
  const std::shared_ptr<Registry>& sharedRegistry() const { return registry_; }

  // controller_runtime_*
  MetricFamily<Counter>& reconcileTotal;         // {controller, result}
  MetricFamily<Counter>& reconcileErrors;        // {controller}
  MetricFamily<Counter>& reconcilePanics;        // {controller}
  MetricFamily<Histogram>& reconcileTime;        // {controller}
  MetricFamily<Gauge>& activeWorkers;            // {controller}
  MetricFamily<Gauge>& maxConcurrentReconciles;  // {controller}
  // workqueue_*
  MetricFamily<Gauge>& workqueueDepth;              // {name}
  MetricFamily<Counter>& workqueueAdds;             // {name}
  MetricFamily<Histogram>& workqueueQueueDuration;  // {name}
  MetricFamily<Histogram>& workqueueWorkDuration;   // {name}
  MetricFamily<Counter>& workqueueRetries;          // {name}
  // leader_election_master_status
  MetricFamily<Gauge>& leaderElectionMasterStatus;  // {name}
  // rest_client_requests_total
  MetricFamily<Counter>& restClientRequests;  // {code, method, host}

  // Counts one request of the Kubernetes client. statusCode 0 means no response was received
  // (labelled "<error>", as client-go does).
  void observeRestClientRequest(int statusCode, std::string_view method, std::string_view host);
  // The same as a plain function, for a client that must not depend on the runtime: give it to
  // the client's options and call it once per request. It keeps the registry alive.
  std::function<void(int statusCode, std::string_view method, std::string_view host)>
  restClientHook();

 private:
  std::shared_ptr<Registry> registry_;
};

}  // namespace billing::runtime
