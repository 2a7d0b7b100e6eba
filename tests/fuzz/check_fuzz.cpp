// `billing-operator check` over one manifest file holding the input: document loading (YAML or
// JSON, multi-document, v1 List), decoding, the rules and FILE:LINE location, as a GitOps
// pipeline runs it. It never crashes, always answers with one of its exit codes, its JSON report
// parses, the exit code agrees with the report, and every line it points at is inside the file.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/json.h"
#include "operator/check/check_command.h"
#include "reconcilers/domain/time.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// The temporary directory, in a trivially destructible buffer: the atexit handler that removes
// it runs after the function-local statics below have been destroyed.
std::array<char, 4096> temporaryDirectory{};

// One file per process, rewritten for every input: the loader reads paths, not memory.
const std::string& manifestPath() {
  static const std::string path = [] {
    const std::string pattern =
        (std::filesystem::temp_directory_path() / "billing-fuzz-check.XXXXXX").string();
    if (pattern.size() >= temporaryDirectory.size()) {
      billing::fuzz::invariantBroken("TMPDIR", "the temporary directory's path is too long");
    }
    std::copy(pattern.begin(), pattern.end(), temporaryDirectory.begin());
    if (mkdtemp(temporaryDirectory.data()) == nullptr) {
      billing::fuzz::invariantBroken("mkdtemp", "cannot create a temporary directory");
    }
    std::atexit([] { std::filesystem::remove_all(temporaryDirectory.data()); });
    return std::string(temporaryDirectory.data()) + "/manifest.yaml";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = billing::fuzz::asText(data, size);
  {
    std::ofstream out(manifestPath(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  billing::check::CheckOptions options;
  options.paths = {manifestPath()};
  options.format = billing::check::OutputFormat::Json;
  // A fixed clock: the same input must give the same answer on every run.
  options.now = *billing::domain::parseTimestamp("2026-12-15T00:00:00Z");
  std::ostringstream report;
  const int exitCode = billing::check::runCheck(options, report);
  BILLING_FUZZ_CHECK(exitCode == billing::check::kExitClean ||
                         exitCode == billing::check::kExitViolations ||
                         exitCode == billing::check::kExitUnusableInput,
                     "unknown exit code " + std::to_string(exitCode));
  const auto parsed = billing::common::parseJson(report.str());
  BILLING_FUZZ_CHECK(parsed.has_value(), "the JSON report does not parse: " + report.str());
  const auto& summary = parsed->at("summary");
  const bool unusable = summary.at("inputErrors").as_integer() > 0;
  const bool errors = summary.at("errors").as_integer() > 0;
  BILLING_FUZZ_CHECK(exitCode == (unusable ? 2
                                  : errors ? 1
                                           : 0),
                     "exit code " + std::to_string(exitCode) + " disagrees with " + report.str());

  const int lineCount = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const auto& key : {"violations", "inputErrors"}) {
    for (const auto& item : parsed->at(key).as_array()) {
      const int line = item.at("line").as_integer();
      BILLING_FUZZ_CHECK(line >= 0 && line <= lineCount + 1,
                         "a report line outside the file: " + billing::common::toJson(item));
      BILLING_FUZZ_CHECK(!item.at("message").as_string().empty(),
                         "a report entry without a message: " + billing::common::toJson(item));
    }
  }
  return 0;
}
