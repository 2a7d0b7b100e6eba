#include "operator/runtime/controller.h"

#include <algorithm>
#include <cstdio>
#include <random>

namespace billing::runtime {

namespace {

thread_local const ReconcileContext* tCurrentReconcile = nullptr;

}  // namespace

std::string randomUuid() {
  thread_local std::mt19937_64 random(std::random_device{}());
  const std::uint64_t high = random();
  const std::uint64_t low = random();
  // A version 4, variant 1 UUID.
  const std::uint64_t a = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const std::uint64_t b = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(
      text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx",
      static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
      static_cast<unsigned long long>(a & 0xffff), static_cast<unsigned long long>(b >> 48),
      static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return text;
}

namespace {

class FunctionReconciler final : public Reconciler {
 public:
  explicit FunctionReconciler(std::function<ReconcileOutcome(const Request&)> function)
      : function_(std::move(function)) {}
  ReconcileOutcome reconcile(const Request& request) override { return function_(request); }

 private:
  std::function<ReconcileOutcome(const Request&)> function_;
};

std::string groupOf(std::string_view apiVersion) {
  const auto slash = apiVersion.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(apiVersion.substr(0, slash));
}

}  // namespace

Request Request::fromKey(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return Request{"", std::string(key)};
  return Request{std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

std::shared_ptr<Reconciler> makeReconciler(
    std::function<ReconcileOutcome(const Request&)> function) {
  return std::make_shared<FunctionReconciler>(std::move(function));
}

const ReconcileContext* currentReconcile() { return tCurrentReconcile; }

Mapper mapToSelf() {
  return [](const web::json::value& object) {
    return std::vector<Request>{Request{objectNamespace(object), objectName(object)}};
  };
}

Mapper mapToOwner(std::string ownerGroup, std::string ownerKind, bool controllerOnly) {
  return [group = std::move(ownerGroup), kind = std::move(ownerKind),
          controllerOnly](const web::json::value& object) {
    std::vector<Request> requests;
    for (const auto& owner : ownerReferences(object)) {
      if (controllerOnly && !owner.controller) continue;
      if (owner.kind != kind || groupOf(owner.apiVersion) != group) continue;
      requests.push_back(Request{objectNamespace(object), owner.name});
    }
    return requests;
  };
}

Predicate generationChanged() {
  return [](const InformerEvent& event) {
    if (event.type != InformerEventType::Modified || !event.oldObject) return true;
    const auto before = objectGeneration(*event.oldObject);
    const auto after = objectGeneration(*event.object);
    return before == 0 || after == 0 || before != after;
  };
}

Controller::Controller(ControllerOptions options, std::shared_ptr<Reconciler> reconciler)
    : name_(std::move(options.name)),
      workers_(options.workers < 1 ? 1 : options.workers),
      secondaryEventDelay_(std::max(options.secondaryEventDelay, std::chrono::milliseconds(0))),
      log_(options.logger.withName("controller").withValues({{"controller", name_}})),
      metrics_(options.metrics),
      reconciler_(std::move(reconciler)),
      queue_(std::make_shared<WorkQueue>(
          WorkQueueOptions{name_, std::move(options.rateLimiter), options.metrics})) {}

Controller::~Controller() {
  queue_->shutDown();
  stopping_.request_stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void Controller::watchPrimary(Informer& informer, Predicate predicate) {
  // The object's own events are enqueued at once: they carry what the user just changed.
  addHandler(informer, mapToSelf(), std::move(predicate), std::chrono::milliseconds(0));
}

void Controller::watch(Informer& informer, Mapper mapper, Predicate predicate) {
  addHandler(informer, std::move(mapper), std::move(predicate), secondaryEventDelay_);
}

void Controller::addHandler(Informer& informer, Mapper mapper, Predicate predicate,
                            std::chrono::milliseconds delay) {
  informers_.push_back(&informer);
  informer.addHandler([queue = queue_, mapper = std::move(mapper), predicate = std::move(predicate),
                       delay](const InformerEvent& event) {
    if (predicate && !predicate(event)) return;
    std::vector<std::string> keys;
    for (const auto& request : mapper(*event.object)) keys.push_back(request.key());
    // An update may have moved the object away from what it mapped to before.
    if (event.type == InformerEventType::Modified && event.oldObject &&
        event.oldObject != event.object) {
      for (const auto& request : mapper(*event.oldObject)) keys.push_back(request.key());
    }
    // One add per key and event: two adds could straddle a worker taking the key, and cost a
    // second reconcile for nothing.
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto& key : keys) {
      // A key already waiting keeps its earlier time, so the window starts with the first event.
      if (delay.count() > 0) {
        queue->addAfter(key, delay);
      } else {
        queue->add(key);
      }
    }
  });
}

void Controller::enqueue(const Request& request) { queue_->add(request.key()); }

void Controller::enqueueAfter(const Request& request, std::chrono::nanoseconds delay) {
  queue_->addAfter(request.key(), delay);
}

void Controller::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  if (metrics_) {
    for (const char* result : {"success", "error", "requeue", "requeue_after"}) {
      metrics_->reconcileTotal.withLabels({name_, result});
    }
    metrics_->reconcileErrors.withLabels({name_});
    metrics_->reconcilePanics.withLabels({name_});
    metrics_->reconcileTime.withLabels({name_});
    metrics_->activeWorkers.withLabels({name_}).set(0);
    metrics_->maxConcurrentReconciles.withLabels({name_}).set(workers_);
  }
  log_.info("Starting workers", {{"workers", workers_}});
  running_ = workers_;
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { runWorker(); });
}

bool Controller::stop(std::chrono::steady_clock::time_point deadline) {
  queue_->shutDown();
  stopping_.request_stop();
  std::unique_lock lock(mutex_);
  if (!workersExited_.wait_until(lock, deadline, [this] { return running_ == 0; })) {
    log_.error("Reconciles still running at the shutdown deadline", {{"running", running_}});
    return false;
  }
  lock.unlock();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  return true;
}

void Controller::runWorker() {
  while (auto key = queue_->get()) {
    processItem(*key);
    queue_->done(*key);
  }
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  workersExited_.notify_all();
}

void Controller::processItem(const std::string& key) {
  ReconcileContext context;
  context.controller = name_;
  context.request = Request::fromKey(key);
  context.reconcileID = randomUuid();
  context.stopping = stopping_.get_token();
  context.logger = log_.withValues({{"namespace", context.request.ns},
                                    {"name", context.request.name},
                                    {"reconcileID", context.reconcileID}});
  const auto& log = context.logger;

  Gauge* active = metrics_ ? &metrics_->activeWorkers.withLabels({name_}) : nullptr;
  if (active) active->inc();
  log.debug("Reconciling");
  std::optional<ReconcileOutcome> outcome;
  std::string panic;
  const auto started = std::chrono::steady_clock::now();
  tCurrentReconcile = &context;
  try {
    outcome = reconciler_->reconcile(context.request);
  } catch (const std::exception& error) {
    panic = error.what();
    if (panic.empty()) panic = "exception";
  } catch (...) {
    panic = "unknown exception";
  }
  tCurrentReconcile = nullptr;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (active) active->dec();

  std::string result;
  if (!panic.empty() || !outcome->has_value()) {
    result = "error";
    std::string message = panic.empty() ? outcome->error().message : "panic: " + panic;
    if (!panic.empty()) {
      if (metrics_) metrics_->reconcilePanics.withLabels({name_}).inc();
      log.error("Observed a panic in reconciler", {{"error", message}});
    } else {
      log.error("Reconciler error", {{"error", message}});
    }
    if (metrics_) metrics_->reconcileErrors.withLabels({name_}).inc();
    queue_->addRateLimited(key);
  } else if ((*outcome)->requeueAfter.count() > 0) {
    result = "requeue_after";
    queue_->forget(key);
    queue_->addAfter(key, (*outcome)->requeueAfter);
  } else if ((*outcome)->requeue) {
    result = "requeue";
    queue_->addRateLimited(key);
  } else {
    result = "success";
    queue_->forget(key);
  }
  if (metrics_) {
    metrics_->reconcileTotal.withLabels({name_, result}).inc();
    metrics_->reconcileTime.withLabels({name_}).observe(seconds);
  }
  log.debug("Reconcile done", {{"result", result}, {"seconds", seconds}});
}

}  // namespace billing::runtime
