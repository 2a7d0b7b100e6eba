// Placeholder until the reconcilers provide registerControllers (target billing_controllers).
#include "operator/run/controllers.h"

namespace billing::run {

std::expected<void, std::string> registerControllers(runtime::Manager&, const RunOptions&) {
  return {};
}

}  // namespace billing::run
