#include "operator/check/check_command.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include "common/json.h"
#include "operator/check/manifest_loader.h"
#include "reconcilers/domain/rules.h"

namespace billing::check {
namespace {

struct Counts {
  int errors = 0;
  int warnings = 0;
};

Counts count(const std::vector<LocatedViolation>& violations) {
  Counts counts;
  for (const auto& v : violations) {
    (v.violation.severity == domain::Severity::Error ? counts.errors : counts.warnings)++;
  }
  return counts;
}

std::string plural(int n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

std::string objectSummary(const LoadResult& loaded) {
  const auto& s = loaded.snapshot;
  return plural(static_cast<int>(s.namespaces.size()), "namespace") + ", " +
         plural(static_cast<int>(s.billingGroups.size()), "billing group") + ", " +
         plural(static_cast<int>(s.projects.size()), "project") + ", " +
         plural(static_cast<int>(s.invoices.size()), "invoice");
}

std::string position(const SourceLocation& location) {
  return location.line > 0 ? location.file + ":" + std::to_string(location.line) : location.file;
}

void printText(const LoadResult& loaded, const std::vector<LocatedViolation>& violations,
               std::ostream& out) {
  for (const InputError& error : loaded.inputErrors) {
    out << position(error.location) << ": error: " << error.message << "\n";
  }
  for (const LocatedViolation& located : violations) {
    const domain::Violation& v = located.violation;
    std::string rule(domain::ruleOf(v.code));
    out << position(located.location) << ": " << domain::severityName(v.severity) << ": "
        << v.message << " [" << (rule.empty() ? "" : rule + " ") << domain::codeName(v.code);
    if (!v.field.empty()) out << ", " << v.field;
    out << "]\n";
  }
  Counts counts = count(violations);
  out << "check: ";
  if (!loaded.inputErrors.empty()) {
    out << plural(static_cast<int>(loaded.inputErrors.size()), "unusable input") << ", ";
  }
  if (counts.errors == 0 && counts.warnings == 0 && loaded.inputErrors.empty()) out << "OK, ";
  out << plural(counts.errors, "error") << ", " << plural(counts.warnings, "warning") << " in "
      << plural(loaded.files, "file") << " (" << objectSummary(loaded);
  if (loaded.skippedDocuments > 0) {
    out << "; " << loaded.skippedDocuments << " other documents ignored";
  }
  out << ")\n";
}

void printJson(const LoadResult& loaded, const std::vector<LocatedViolation>& violations,
               std::ostream& out) {
  using web::json::value;
  value report = value::object(true);
  value inputErrors = value::array(loaded.inputErrors.size());
  for (std::size_t i = 0; i < loaded.inputErrors.size(); ++i) {
    const auto& e = loaded.inputErrors[i];
    value item = value::object(true);
    item["file"] = value::string(e.location.file);
    item["line"] = value::number(e.location.line);
    item["column"] = value::number(e.column);
    item["message"] = value::string(e.message);
    inputErrors[i] = std::move(item);
  }
  value items = value::array(violations.size());
  for (std::size_t i = 0; i < violations.size(); ++i) {
    const domain::Violation& v = violations[i].violation;
    value item = value::object(true);
    item["severity"] = value::string(std::string(domain::severityName(v.severity)));
    item["code"] = value::string(std::string(domain::codeName(v.code)));
    item["rule"] = value::string(std::string(domain::ruleOf(v.code)));
    item["file"] = value::string(violations[i].location.file);
    item["line"] = value::number(violations[i].location.line);
    item["kind"] = value::string(std::string(domain::kindName(v.object.kind)));
    item["namespace"] = value::string(v.object.ns);
    item["name"] = value::string(v.object.name);
    item["field"] = value::string(v.field);
    item["message"] = value::string(v.message);
    items[i] = std::move(item);
  }
  Counts counts = count(violations);
  value summary = value::object(true);
  summary["files"] = value::number(loaded.files);
  summary["errors"] = value::number(counts.errors);
  summary["warnings"] = value::number(counts.warnings);
  summary["inputErrors"] = value::number(static_cast<int>(loaded.inputErrors.size()));
  summary["namespaces"] = value::number(static_cast<int>(loaded.snapshot.namespaces.size()));
  summary["billingGroups"] = value::number(static_cast<int>(loaded.snapshot.billingGroups.size()));
  summary["projects"] = value::number(static_cast<int>(loaded.snapshot.projects.size()));
  summary["invoices"] = value::number(static_cast<int>(loaded.snapshot.invoices.size()));
  summary["ignoredDocuments"] = value::number(loaded.skippedDocuments);
  report["inputErrors"] = std::move(inputErrors);
  report["violations"] = std::move(items);
  report["summary"] = std::move(summary);
  out << common::toPrettyJson(report) << "\n";
}

}  // namespace

std::string checkUsage() {
  return R"(Usage: billing-operator check [flags] PATH...

Validates BillingGroup, Project and Invoice manifests offline, with the same rules the admission
webhook enforces (organization scoping, single membership, project billing groups, ...). PATH is
a file or a folder, read recursively (*.yaml, *.yml, *.json; hidden entries skipped).
Namespaces found in the paths supply organizations (label billing.operator.dev/organization);
a namespace that is not declared counts as its own organization. Other kinds are ignored.

Flags:
  -o, --output text|json   report format (default text)
  -n, --namespace NAME     namespace of objects that name none (default "default")
      --now TIME           RFC 3339 instant deciding which periods have ended (default: now)
  -h, --help               show this help

Exit codes: 0 no errors (warnings allowed), 1 rule violations, 2 unusable input (missing path,
unreadable file, malformed YAML).
)";
}

std::expected<CheckOptions, std::string> parseCheckArguments(std::span<const std::string> args) {
  CheckOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto valueOf = [&](std::string_view flag) -> std::expected<std::string, std::string> {
      auto eq = arg.find('=');
      if (eq != std::string::npos) return arg.substr(eq + 1);
      if (i + 1 >= args.size()) {
        return std::unexpected("flag " + std::string(flag) + " needs a value");
      }
      return args[++i];
    };
    auto flagIs = [&](std::string_view a, std::string_view b = {}) {
      std::string_view name = std::string_view(arg).substr(0, arg.find('='));
      return name == a || (!b.empty() && name == b);
    };
    if (flagIs("-h", "--help")) {
      options.help = true;
    } else if (flagIs("-o", "--output")) {
      auto format = valueOf("--output");
      if (!format) return std::unexpected(format.error());
      if (*format == "text") {
        options.format = OutputFormat::Text;
      } else if (*format == "json") {
        options.format = OutputFormat::Json;
      } else {
        return std::unexpected("unsupported --output \"" + *format + "\": use text or json");
      }
    } else if (flagIs("-n", "--namespace")) {
      auto ns = valueOf("--namespace");
      if (!ns) return std::unexpected(ns.error());
      options.defaultNamespace = *ns;
    } else if (flagIs("--now")) {
      auto text = valueOf("--now");
      if (!text) return std::unexpected(text.error());
      options.now = domain::parseTimestamp(*text);
      if (!options.now) {
        return std::unexpected("--now \"" + *text +
                               "\" is not an RFC 3339 instant such as 2026-11-01T00:00:00Z");
      }
    } else if (arg.size() > 1 && arg.front() == '-') {
      return std::unexpected("unknown flag " + arg + " (see billing-operator check --help)");
    } else {
      options.paths.push_back(arg);
    }
  }
  if (!options.help && options.paths.empty()) {
    return std::unexpected("no PATH given: name the manifest files or folders to check");
  }
  return options;
}

int runCheck(const CheckOptions& options, std::ostream& out) {
  ManifestLoader loader(LoadOptions{.defaultNamespace = options.defaultNamespace});
  LoadResult loaded = loader.load(options.paths);

  domain::RuleOptions ruleOptions;
  ruleOptions.now = options.now.value_or(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  std::vector<LocatedViolation> violations = loaded.decodeViolations;
  std::map<domain::ObjectKey, std::size_t> duplicatesSeen;
  for (domain::Violation& v : domain::validate(loaded.snapshot, ruleOptions)) {
    // The n-th duplicate of an object points at its (n+1)-th declaration.
    std::size_t occurrence =
        v.code == domain::Code::DuplicateObject ? ++duplicatesSeen[v.object] : 0;
    SourceLocation location = loaded.locate(v, occurrence);
    violations.push_back({std::move(v), std::move(location)});
  }
  std::stable_sort(violations.begin(), violations.end(),
                   [](const LocatedViolation& a, const LocatedViolation& b) {
                     return std::tie(a.location.file, a.location.line) <
                            std::tie(b.location.file, b.location.line);
                   });

  if (options.format == OutputFormat::Json) {
    printJson(loaded, violations, out);
  } else {
    printText(loaded, violations, out);
  }
  if (!loaded.inputErrors.empty()) return kExitUnusableInput;
  return count(violations).errors > 0 ? kExitViolations : kExitClean;
}

}  // namespace billing::check
