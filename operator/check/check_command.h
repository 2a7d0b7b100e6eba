// `billing-operator check PATH...`: validates a GitOps folder offline with the domain core and
// prints every violation with its file and line, for people (text) or pipelines (json).
#pragma once

#include <expected>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "reconcilers/domain/time.h"

namespace billing::check {

enum class OutputFormat { Text, Json };

struct CheckOptions {
  std::vector<std::string> paths;
  OutputFormat format = OutputFormat::Text;
  std::string defaultNamespace = "default";
  // The instant that decides whether a period has ended; the clock when unset.
  std::optional<domain::Timestamp> now;
  bool help = false;
};

// Exit codes, as documented in `billing-operator check --help`.
inline constexpr int kExitClean = 0;
inline constexpr int kExitViolations = 1;
inline constexpr int kExitUnusableInput = 2;

std::expected<CheckOptions, std::string> parseCheckArguments(std::span<const std::string> args);
std::string checkUsage();

// Runs the check; the report goes to `out`. Returns one of the exit codes above.
int runCheck(const CheckOptions& options, std::ostream& out);

}  // namespace billing::check
