#include "operator/runtime/workqueue.h"

namespace billing::runtime {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start,
                    std::chrono::steady_clock::time_point now) {
  return std::chrono::duration<double>(now - start).count();
}

}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options)
    : name_(std::move(options.name)),
      rateLimiter_(options.rateLimiter ? std::move(options.rateLimiter)
                                       : defaultControllerRateLimiter()) {
  if (options.metrics) {
    depth_ = &options.metrics->workqueueDepth.withLabels({name_});
    adds_ = &options.metrics->workqueueAdds.withLabels({name_});
    retries_ = &options.metrics->workqueueRetries.withLabels({name_});
    queueDuration_ = &options.metrics->workqueueQueueDuration.withLabels({name_});
    workDuration_ = &options.metrics->workqueueWorkDuration.withLabels({name_});
  }
  delayThread_ = std::jthread([this](std::stop_token stop) { runDelays(std::move(stop)); });
}

WorkQueue::~WorkQueue() { shutDown(); }

void WorkQueue::pushLocked(const std::string& item) {
  queue_.push_back(item);
  if (depth_) depth_->inc();
  ready_.notify_one();
}

void WorkQueue::add(const std::string& item) {
  std::lock_guard lock(mutex_);
  if (shuttingDown_) return;
  if (dirty_.contains(item)) return;
  dirty_.insert(item);
  addedAt_.try_emplace(item, std::chrono::steady_clock::now());
  if (adds_) adds_->inc();
  if (processing_.contains(item)) return;  // done() puts it back
  pushLocked(item);
}

void WorkQueue::addAfter(const std::string& item, std::chrono::nanoseconds delay) {
  if (shuttingDown()) return;
  if (delay.count() <= 0) {
    add(item);
    return;
  }
  const TimePoint readyAt = std::chrono::steady_clock::now() + delay;
  {
    std::lock_guard lock(delayMutex_);
    const auto found = delayedReadyAt_.find(item);
    if (found != delayedReadyAt_.end() && found->second <= readyAt) return;
    delayedReadyAt_[item] = readyAt;
    delayed_.push(Delayed{readyAt, delaySequence_++, item});
    delaysChanged_ = true;
  }
  delayChanged_.notify_all();
}

void WorkQueue::addRateLimited(const std::string& item) {
  if (shuttingDown()) return;
  if (retries_) retries_->inc();
  addAfter(item, rateLimiter_->when(item));
}

void WorkQueue::forget(const std::string& item) { rateLimiter_->forget(item); }

int WorkQueue::numRequeues(const std::string& item) const {
  return rateLimiter_->numRequeues(item);
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [this] { return !queue_.empty() || shuttingDown_; });
  if (shuttingDown_) return std::nullopt;
  std::string item = std::move(queue_.front());
  queue_.pop_front();
  if (depth_) depth_->dec();
  const auto now = std::chrono::steady_clock::now();
  if (const auto added = addedAt_.find(item); added != addedAt_.end()) {
    if (queueDuration_) queueDuration_->observe(secondsSince(added->second, now));
    addedAt_.erase(added);
  }
  startedAt_[item] = now;
  processing_.insert(item);
  dirty_.erase(item);
  return item;
}

void WorkQueue::done(const std::string& item) {
  std::lock_guard lock(mutex_);
  if (const auto started = startedAt_.find(item); started != startedAt_.end()) {
    if (workDuration_) {
      workDuration_->observe(secondsSince(started->second, std::chrono::steady_clock::now()));
    }
    startedAt_.erase(started);
  }
  processing_.erase(item);
  if (dirty_.contains(item) && !shuttingDown_) pushLocked(item);
}

void WorkQueue::shutDown() {
  {
    std::lock_guard lock(mutex_);
    if (shuttingDown_) return;
    shuttingDown_ = true;
  }
  ready_.notify_all();
  delayThread_.request_stop();
  if (delayThread_.joinable() && delayThread_.get_id() != std::this_thread::get_id()) {
    delayThread_.join();
  }
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mutex_);
  return shuttingDown_;
}

std::size_t WorkQueue::len() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t WorkQueue::delayedLen() const {
  std::lock_guard lock(delayMutex_);
  return delayedReadyAt_.size();
}

void WorkQueue::runDelays(std::stop_token stop) {
  std::unique_lock lock(delayMutex_);
  std::vector<std::string> due;
  while (!stop.stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.top().readyAt <= now) {
      Delayed next = delayed_.top();
      delayed_.pop();
      const auto current = delayedReadyAt_.find(next.item);
      // Entries superseded by an earlier time for the same item are skipped.
      if (current == delayedReadyAt_.end() || current->second != next.readyAt) continue;
      delayedReadyAt_.erase(current);
      due.push_back(std::move(next.item));
    }
    if (!due.empty()) {
      lock.unlock();
      for (const auto& item : due) add(item);
      due.clear();
      lock.lock();
      continue;
    }
    delaysChanged_ = false;
    if (delayed_.empty()) {
      delayChanged_.wait(lock, stop, [this] { return delaysChanged_; });
    } else {
      // A copy: the heap may reallocate while the lock is released.
      const TimePoint wakeAt = delayed_.top().readyAt;
      delayChanged_.wait_until(lock, stop, wakeAt, [this] { return delaysChanged_; });
    }
  }
}

}  // namespace billing::runtime
