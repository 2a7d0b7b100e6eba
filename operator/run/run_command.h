// `billing-operator run`: loads the configuration, checks that the API server can be used (one
// clear line and a documented exit code when not), builds the client with request metrics, the
// Manager with leader election, metrics and health servers, lets registerControllers() add the
// controllers, and runs until SIGTERM or SIGINT.
#pragma once

#include <iosfwd>
#include <memory>
#include <span>
#include <string>

#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/run/run_options.h"

namespace billing::run {

// The whole command: parses `args` (the words after "run"), runs, and returns the exit code.
// Blocks SIGTERM and SIGINT in the calling thread (so in every thread it starts) and waits for
// them on a thread of its own.
int runCommand(std::span<const std::string> args, std::ostream& out, std::ostream& err);

// Checks that the client can reach and use the API server: the server answers, TLS verifies,
// the credentials are accepted and billing groups may be listed in `watchNamespace` (which also
// proves the CRDs are installed). The error is one line for the user.
std::expected<void, std::string> checkApiAccess(kube::Client& client,
                                                const kube::RestConfig& config,
                                                const std::string& watchNamespace);

}  // namespace billing::run
