// billing-operator: the command line. Subcommands stay thin; the work lives in the libraries.
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "operator/check/check_command.h"
#include "operator/run/run_command.h"

namespace {

constexpr const char* kUsage = R"(billing-operator manages billing groups, projects and invoices as
Kubernetes custom resources (API group billing.operator.dev).

Usage:
  billing-operator run [flags]             run the operator against a cluster
  billing-operator check [flags] PATH...   validate manifests offline (for GitOps pipelines)
  billing-operator version                 print the version and the git commit
  billing-operator help                    show this help

Run 'billing-operator COMMAND --help' for a command's flags.
)";

int check(std::span<const std::string> args) {
  auto options = billing::check::parseCheckArguments(args);
  if (!options) {
    std::cerr << "billing-operator check: " << options.error() << "\n";
    return billing::check::kExitUnusableInput;
  }
  if (options->help) {
    std::cout << billing::check::checkUsage();
    return 0;
  }
  return billing::check::runCheck(*options, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  std::span<const std::string> rest(args.begin() + 1, args.end());
  if (command == "run") return billing::run::runCommand(rest, std::cout, std::cerr);
  if (command == "check") return check(rest);
  if (command == "version" || command == "--version") {
    std::cout << "billing-operator " << BILLING_VERSION;
    if (std::string_view(BILLING_GIT_COMMIT).empty()) {
      std::cout << "\n";
    } else {
      std::cout << " (commit " << BILLING_GIT_COMMIT << ")\n";
    }
    return 0;
  }
  std::cerr << "billing-operator: unknown command \"" << command
            << "\"; run 'billing-operator help' for the list\n";
  return 2;
}
