// The process environment as a value, so that configuration loading and exec plugins can be
// given another one (tests: KUBECONFIG, HOME, PATH, KUBERNETES_SERVICE_HOST without touching the
// real environment, which is not thread-safe to change).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace billing::kube {

using Environment = std::map<std::string, std::string>;

// A copy of `environ`.
Environment processEnvironment();

// The value, or nullopt when unset (an empty value is a value).
std::optional<std::string> lookup(const Environment& environment, const std::string& name);

}  // namespace billing::kube
