#include "tests/apiserver/request_info.h"

#include <vector>

namespace billing::apiserver {
namespace {

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

std::optional<RequestInfo> parseRequestPath(std::string_view path) {
  RequestInfo info;
  auto parts = segments(path);
  if (parts.empty()) return info;
  std::size_t i = 0;
  if (parts[0] == "api") {
    if (parts.size() == 1) {
      info.kind = RequestInfo::Kind::CoreVersions;
      return info;
    }
    info.version = parts[1];
    i = 2;
  } else if (parts[0] == "apis") {
    if (parts.size() == 1) {
      info.kind = RequestInfo::Kind::Groups;
      return info;
    }
    info.group = parts[1];
    if (parts.size() == 2) {
      info.kind = RequestInfo::Kind::Group;
      return info;
    }
    info.version = parts[2];
    i = 3;
  } else {
    return info;  // Kind::Other
  }
  if (i == parts.size()) {
    info.kind = RequestInfo::Kind::GroupVersion;
    return info;
  }
  info.kind = RequestInfo::Kind::Resource;
  std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(i), parts.end());
  // /namespaces/{ns}/{resource}/... addresses a namespaced resource; /namespaces and
  // /namespaces/{name}[/status|/finalize] address Namespace objects themselves.
  if (rest[0] == "namespaces" && rest.size() >= 3 && rest[2] != "status" && rest[2] != "finalize") {
    info.ns = rest[1];
    info.namespacedPath = true;
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.size() > 3) return std::nullopt;
  info.resource = rest[0];
  if (rest.size() >= 2) info.name = rest[1];
  if (rest.size() == 3) info.subresource = rest[2];
  return info;
}

}  // namespace billing::apiserver
