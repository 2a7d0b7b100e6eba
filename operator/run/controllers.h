// The extension point between `billing-operator run` and the reconcilers: run builds the client
// and the Manager, then calls registerControllers() to add informers and controllers, then runs
// the Manager. The reconcilers implement it (reconcilers/register.cpp, target
// billing_controllers). An error stops the process before it starts (exit 3, one
// line on stderr), e.g. an unusable --ledger-url.
#pragma once

#include <expected>
#include <string>

#include "operator/run/run_options.h"
#include "operator/runtime/manager.h"

namespace billing::run {

std::expected<void, std::string> registerControllers(runtime::Manager& manager,
                                                     const RunOptions& options);

}  // namespace billing::run
