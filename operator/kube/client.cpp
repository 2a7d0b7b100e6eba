#include "operator/kube/client.h"

#include <cmath>
#include <random>
#include <thread>

namespace billing::kube {
namespace {

std::string_view kindText(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::NotFound:
      return "not found";
    case ErrorKind::AlreadyExists:
      return "already exists";
    case ErrorKind::Conflict:
      return "conflict";
    case ErrorKind::Gone:
      return "gone";
    case ErrorKind::Invalid:
      return "invalid";
    case ErrorKind::BadRequest:
      return "bad request";
    case ErrorKind::Unauthorized:
      return "unauthorized";
    case ErrorKind::Forbidden:
      return "forbidden";
    case ErrorKind::MethodNotAllowed:
      return "method not allowed";
    case ErrorKind::UnsupportedMediaType:
      return "unsupported media type";
    case ErrorKind::TooManyRequests:
      return "too many requests";
    case ErrorKind::Timeout:
      return "timeout";
    case ErrorKind::ServerError:
      return "server error";
    case ErrorKind::Network:
      return "network";
    case ErrorKind::Tls:
      return "tls";
    case ErrorKind::Config:
      return "config";
    case ErrorKind::Decode:
      return "decode";
    case ErrorKind::Cancelled:
      return "cancelled";
  }
  return "error";
}

double uniformRandom() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace

std::string Error::describe() const {
  std::string text(kindText(kind));
  if (!verb.empty()) {
    text += ": ";
    if (kind == ErrorKind::Forbidden || kind == ErrorKind::Unauthorized) text += "cannot ";
    text += verb;
    if (!resource.empty()) text += " " + resource;
    if (!name.empty()) text += " \"" + name + "\"";
    if (!ns.empty()) text += " in namespace \"" + ns + "\"";
  }
  std::string detail = message;
  if (kind == ErrorKind::Invalid && !causes.empty() && detail.empty()) {
    for (const auto& cause : causes) {
      if (!detail.empty()) detail += "; ";
      detail += cause.field.empty() ? cause.message : cause.field + ": " + cause.message;
    }
  }
  if (!detail.empty()) text += ": " + detail;
  if (retryAfter) text += " (retry after " + std::to_string(retryAfter->count()) + "s)";
  // One line, whatever the server put in its message.
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

bool Error::retriable() const {
  switch (kind) {
    case ErrorKind::TooManyRequests:
    case ErrorKind::Timeout:
    case ErrorKind::ServerError:
    case ErrorKind::Network:
      return true;
    default:
      return httpStatus >= 500;
  }
}

Result<ListResult> listAll(Client& client, const ResourceRef& resource, const std::string& ns,
                           ListOptions options) {
  if (options.limit <= 0) options.limit = 500;
  ListResult all;
  while (true) {
    auto page = client.list(resource, ns, options);
    if (!page) {
      if (page.error().kind == ErrorKind::Gone && !options.continueToken.empty()) {
        // The continue token expired: start over with one full list.
        ListOptions full = options;
        full.limit = 0;
        full.continueToken.clear();
        return client.list(resource, ns, full);
      }
      return std::unexpected(page.error());
    }
    for (auto& item : page->items) all.items.push_back(std::move(item));
    all.resourceVersion = page->resourceVersion;
    if (page->continueToken.empty()) return all;
    options.continueToken = page->continueToken;
    // A resourceVersion applies to the first page only; the token carries it afterwards.
    options.resourceVersion.clear();
  }
}

namespace detail {

std::chrono::milliseconds conflictDelay(const ConflictBackoff& backoff, int retry) {
  double delay = static_cast<double>(backoff.duration.count()) * std::pow(backoff.factor, retry);
  if (backoff.jitter > 0) delay += delay * backoff.jitter * uniformRandom();
  return std::chrono::milliseconds(static_cast<std::int64_t>(delay));
}

void conflictSleep(const ConflictBackoff& backoff, std::chrono::milliseconds delay) {
  if (backoff.sleep) {
    backoff.sleep(delay);
  } else {
    std::this_thread::sleep_for(delay);
  }
}

}  // namespace detail
}  // namespace billing::kube
