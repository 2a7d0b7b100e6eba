#include "tests/apiserver/object_store.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "common/json.h"

namespace billing::apiserver {
namespace {

using web::json::value;

std::string stringField(const value& object, const char* section, const char* field) {
  if (!object.has_field(section)) return {};
  const value& inner = object.at(section);
  if (!inner.is_object() || !inner.has_field(field) || !inner.at(field).is_string()) return {};
  return inner.at(field).as_string();
}

std::string namespaceOf(const value& object) {
  return stringField(object, "metadata", "namespace");
}
std::string nameOf(const value& object) { return stringField(object, "metadata", "name"); }

std::uint64_t revisionOf(const value& object) {
  return parseRevision(stringField(object, "metadata", "resourceVersion")).value_or(0);
}

}  // namespace

std::optional<std::uint64_t> parseRevision(const std::string& text) {
  std::uint64_t number = 0;
  if (text.empty()) return std::nullopt;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

// ---- Watcher ----

std::optional<StoredEvent> Watcher::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [&] { return stopped_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;  // a stopped watcher still delivers what it queued
  StoredEvent event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

void Watcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  ready_.notify_all();
}

bool Watcher::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

bool Watcher::overflowed() const {
  std::lock_guard lock(mutex_);
  return overflowed_;
}

void Watcher::offer(const StoredEvent& event) {
  if (event.resource != filter_.resource) return;
  if (filter_.ns && *filter_.ns != event.ns) return;
  bool nowMatches = !filter_.matches || filter_.matches(event.object);
  bool matchedBefore = event.previous && (!filter_.matches || filter_.matches(*event.previous));
  StoredEvent delivered = event;
  delivered.previous.reset();
  switch (event.type) {
    case EventType::Added:
      if (!nowMatches) return;
      break;
    case EventType::Modified:
      if (nowMatches && !matchedBefore) {
        delivered.type = EventType::Added;
      } else if (!nowMatches && matchedBefore) {
        delivered.type = EventType::Deleted;  // left the selection
      } else if (!nowMatches) {
        return;
      }
      break;
    case EventType::Deleted:
      if (!matchedBefore && !nowMatches) return;
      break;
  }
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    if (queue_.size() >= capacity_) {
      // kube-apiserver also ends watchers that cannot keep up; the client relists.
      stopped_ = true;
      overflowed_ = true;
    } else {
      queue_.push_back(std::move(delivered));
    }
  }
  ready_.notify_one();
}

// ---- ObjectStore ----

ObjectStore::ObjectStore(Options options) : options_(std::move(options)) {
  if (options_.dataDir) load();
}

ObjectStore::~ObjectStore() { stopAllWatchers(); }

std::uint64_t ObjectStore::revision() const {
  std::lock_guard lock(mutex_);
  return revision_;
}

value ObjectStore::withRevision(value object, std::uint64_t revision) const {
  object["metadata"]["resourceVersion"] = value::string(std::to_string(revision));
  return object;
}

std::expected<value, StoreError> ObjectStore::get(const std::string& resource,
                                                  const std::string& ns,
                                                  const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = objects_.find(Key{resource, ns, name});
  if (it == objects_.end()) return std::unexpected(StoreError::NotFound);
  return it->second;
}

ObjectStore::ListResult ObjectStore::list(const std::string& resource,
                                          const std::optional<std::string>& ns) const {
  std::lock_guard lock(mutex_);
  ListResult result;
  result.revision = revision_;
  auto it = objects_.lower_bound(Key{resource, ns.value_or(""), ""});
  for (; it != objects_.end() && std::get<0>(it->first) == resource; ++it) {
    if (ns && std::get<1>(it->first) != *ns) break;
    result.items.push_back(it->second);
  }
  return result;
}

std::uint64_t ObjectStore::scan(const std::string& resource, const std::optional<std::string>& ns,
                                const std::optional<Key2>& after,
                                const std::function<bool(const value&)>& visit) const {
  std::lock_guard lock(mutex_);
  auto it = after ? objects_.upper_bound(Key{resource, after->first, after->second})
                  : objects_.lower_bound(Key{resource, ns.value_or(""), ""});
  for (; it != objects_.end() && std::get<0>(it->first) == resource; ++it) {
    if (ns && std::get<1>(it->first) != *ns) {
      if (std::get<1>(it->first) > *ns) break;
      continue;  // a token from another namespace's list: skip up to this one
    }
    if (!visit(it->second)) break;
  }
  return revision_;
}

std::expected<ObjectStore::MutationResult, std::string> ObjectStore::mutate(
    const std::string& resource, const std::string& ns, const std::string& name,
    const Mutator& mutator) {
  std::lock_guard lock(mutex_);
  Key key{resource, ns, name};
  auto it = objects_.find(key);
  std::optional<value> current;
  if (it != objects_.end()) current = it->second;
  auto decided = mutator(current);
  if (!decided) return std::unexpected(decided.error());
  MutationResult result;
  result.action = decided->action;
  switch (decided->action) {
    case Mutation::Action::Keep:
      result.object = current.value_or(value::null());
      return result;
    case Mutation::Action::Put: {
      std::uint64_t revision = ++revision_;
      value stored = withRevision(std::move(decided->object), revision);
      objects_[key] = stored;
      result.created = !current.has_value();
      result.object = stored;
      record({current ? EventType::Modified : EventType::Added, resource, ns, name, revision,
              stored, current});
      return result;
    }
    case Mutation::Action::Delete: {
      if (!current) {
        result.action = Mutation::Action::Keep;
        result.object = value::null();
        return result;
      }
      std::uint64_t revision = ++revision_;
      value last = withRevision(*current, revision);
      objects_.erase(key);
      result.object = last;
      record({EventType::Deleted, resource, ns, name, revision, last, current});
      return result;
    }
  }
  return result;
}

std::expected<value, StoreError> ObjectStore::create(const std::string& resource, value object) {
  StoreError error = StoreError::NotFound;
  auto result =
      mutate(resource, namespaceOf(object), nameOf(object),
             [&](const std::optional<value>& current) -> std::expected<Mutation, std::string> {
               if (current) {
                 error = StoreError::AlreadyExists;
                 return std::unexpected("exists");
               }
               return Mutation{Mutation::Action::Put, object};
             });
  if (!result) return std::unexpected(error);
  return result->object;
}

std::expected<value, StoreError> ObjectStore::update(const std::string& resource, value object,
                                                     std::optional<std::uint64_t> expected) {
  StoreError error = StoreError::NotFound;
  auto result =
      mutate(resource, namespaceOf(object), nameOf(object),
             [&](const std::optional<value>& current) -> std::expected<Mutation, std::string> {
               if (!current) return std::unexpected("missing");
               if (expected && revisionOf(*current) != *expected) {
                 error = StoreError::Conflict;
                 return std::unexpected("conflict");
               }
               return Mutation{Mutation::Action::Put, object};
             });
  if (!result) return std::unexpected(error);
  return result->object;
}

std::expected<value, StoreError> ObjectStore::remove(const std::string& resource,
                                                     const std::string& ns, const std::string& name,
                                                     std::optional<std::uint64_t> expected) {
  StoreError error = StoreError::NotFound;
  auto result =
      mutate(resource, ns, name,
             [&](const std::optional<value>& current) -> std::expected<Mutation, std::string> {
               if (!current) return std::unexpected("missing");
               if (expected && revisionOf(*current) != *expected) {
                 error = StoreError::Conflict;
                 return std::unexpected("conflict");
               }
               return Mutation{Mutation::Action::Delete, value::null()};
             });
  if (!result) return std::unexpected(error);
  return result->object;
}

void ObjectStore::record(StoredEvent event) {
  if (log_.is_open()) {
    value line = value::object(true);
    line["type"] = value::string(event.type == EventType::Deleted ? "delete" : "put");
    line["resource"] = value::string(event.resource);
    line["revision"] = value::number(event.revision);
    line["object"] = event.object;
    log_ << common::toJson(line) << '\n';
    log_.flush();
  }
  std::erase_if(watchers_, [](const std::shared_ptr<Watcher>& w) { return w->stopped(); });
  for (const auto& watcher : watchers_) watcher->offer(event);
  history_.push_back(std::move(event));
  while (history_.size() > options_.historySize) {
    compactedRevision_ = history_.front().revision;
    history_.pop_front();
  }
}

std::expected<WatchStart, WatchExpired> ObjectStore::watch(
    WatchFilter filter, std::optional<std::uint64_t> fromRevision) {
  std::lock_guard lock(mutex_);
  WatchStart start;
  if (fromRevision && *fromRevision < compactedRevision_) {
    return std::unexpected(WatchExpired{compactedRevision_ + 1});
  }
  start.watcher = std::make_shared<Watcher>(filter, options_.watcherQueueCapacity);
  if (fromRevision) {
    start.revision = *fromRevision;
    for (const StoredEvent& event : history_) {
      if (event.revision > *fromRevision) start.watcher->offer(event);
    }
  } else {
    start.revision = revision_;
    auto it = objects_.lower_bound(Key{filter.resource, filter.ns.value_or(""), ""});
    for (; it != objects_.end() && std::get<0>(it->first) == filter.resource; ++it) {
      if (filter.ns && std::get<1>(it->first) != *filter.ns) break;
      if (!filter.matches || filter.matches(it->second)) start.initial.push_back(it->second);
    }
  }
  watchers_.push_back(start.watcher);
  return start;
}

void ObjectStore::stopAllWatchers() {
  std::vector<std::shared_ptr<Watcher>> stopping;
  {
    std::lock_guard lock(mutex_);
    stopping.swap(watchers_);
  }
  for (const auto& watcher : stopping) watcher->stop();
}

void ObjectStore::compactHistory() {
  std::lock_guard lock(mutex_);
  history_.clear();
  compactedRevision_ = revision_;
}

std::uint64_t ObjectStore::oldestWatchableRevision() const {
  std::lock_guard lock(mutex_);
  return compactedRevision_;
}

std::size_t ObjectStore::watcherCount() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(watchers_.begin(), watchers_.end(),
                                                [](const auto& w) { return !w->stopped(); }));
}

void ObjectStore::load() {
  std::filesystem::create_directories(*options_.dataDir);
  const auto path = *options_.dataDir / "objects.log";
  std::size_t lines = 0;
  {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      auto parsed = common::parseJson(line);
      // A torn last line (a crash mid-write) is dropped; earlier lines are complete.
      if (!parsed || !parsed->is_object() || !parsed->has_field("object")) continue;
      ++lines;
      const value& object = parsed->at("object");
      const std::string resource = parsed->at("resource").as_string();
      const std::uint64_t revision =
          static_cast<std::uint64_t>(parsed->at("revision").as_number().to_int64());
      Key key{resource, namespaceOf(object), nameOf(object)};
      std::optional<value> previous;
      if (auto it = objects_.find(key); it != objects_.end()) previous = it->second;
      bool deleted = parsed->at("type").as_string() == "delete";
      if (deleted) {
        objects_.erase(key);
      } else {
        objects_[key] = object;
      }
      revision_ = std::max(revision_, revision);
      EventType type =
          deleted ? EventType::Deleted : (previous ? EventType::Modified : EventType::Added);
      history_.push_back(
          {type, resource, std::get<1>(key), std::get<2>(key), revision, object, previous});
      while (history_.size() > options_.historySize) {
        compactedRevision_ = history_.front().revision;
        history_.pop_front();
      }
    }
  }
  // Rewrite a log that is mostly superseded changes as one line per live object.
  if (lines > 1000 && lines > 4 * objects_.size()) {
    const auto compacted = *options_.dataDir / "objects.log.tmp";
    {
      std::ofstream out(compacted, std::ios::trunc);
      for (const auto& [key, object] : objects_) {
        value line = value::object(true);
        line["type"] = value::string("put");
        line["resource"] = value::string(std::get<0>(key));
        line["revision"] = value::number(revisionOf(object));
        line["object"] = object;
        out << common::toJson(line) << '\n';
      }
    }
    std::filesystem::rename(compacted, path);
    history_.clear();
    compactedRevision_ = revision_;
  }
  log_.open(path, std::ios::app);
}

}  // namespace billing::apiserver
