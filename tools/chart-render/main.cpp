// chart-render: `helm template` for the subset of Helm the billing-operator chart uses, where
// Helm cannot be installed. Prints the manifests (or writes one file per template with
// --output-dir) and NOTES.txt with --notes. Exit 0 rendered, 1 the chart or values are wrong,
// 2 bad flags.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "tools/chart-render/chart.h"

namespace {

constexpr const char* kUsage = R"(Usage: chart-render CHART_DIR [flags]

Renders a Helm chart like `helm template`, for the subset of Go templates and Helm functions
listed in tools/chart-render/README.md. Values are checked against values.schema.json.

  --release-name NAME   .Release.Name (default billing-operator)
  -n, --namespace NS    .Release.Namespace (default default)
  -f, --values FILE     a values file merged over values.yaml (repeatable, in order)
  --set KEY=VALUE       a value merged last (repeatable; dotted keys)
  --output-dir DIR      write each template's documents to DIR/<template file name>
  --header TEXT         a comment line put at the top of each file of --output-dir
  --notes               print the rendered NOTES.txt after the manifests
  -h, --help            this help
)";

}  // namespace

int main(int argc, char** argv) {
  using billing::chart::RenderOptions;
  RenderOptions options;
  std::filesystem::path chartDir;
  std::filesystem::path outputDir;
  std::string header;
  bool notes = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto next = [&](std::string& target) {
      if (i + 1 >= args.size()) {
        std::cerr << "chart-render: " << arg << " needs a value\n";
        std::exit(2);
      }
      target = args[++i];
    };
    std::string value;
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--release-name") {
      next(options.releaseName);
    } else if (arg == "-n" || arg == "--namespace") {
      next(options.releaseNamespace);
    } else if (arg == "-f" || arg == "--values") {
      next(value);
      options.valueFiles.emplace_back(value);
    } else if (arg == "--set") {
      next(value);
      options.sets.push_back(value);
    } else if (arg == "--output-dir") {
      next(value);
      outputDir = value;
    } else if (arg == "--header") {
      next(header);
    } else if (arg == "--notes") {
      notes = true;
    } else if (!arg.empty() && arg[0] == '-') {
      std::cerr << "chart-render: unknown flag " << arg << " (see --help)\n";
      return 2;
    } else if (chartDir.empty()) {
      chartDir = arg;
    } else {
      std::cerr << "chart-render: one chart directory only, got " << arg << "\n";
      return 2;
    }
  }
  if (chartDir.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  auto rendered = billing::chart::renderChart(chartDir, options);
  if (!rendered) {
    std::cerr << "chart-render: " << rendered.error() << "\n";
    return 1;
  }
  if (outputDir.empty()) {
    std::cout << billing::chart::formatManifests(rendered->manifests);
    if (notes) std::cout << "\nNOTES:\n" << rendered->notes;
    return 0;
  }
  // One file per template, documents in install order, as kustomize and kubectl read them.
  std::map<std::string, std::string> files;
  std::vector<std::string> order;
  for (const auto& manifest : rendered->manifests) {
    const std::string name = manifest.source.substr(manifest.source.rfind('/') + 1);
    if (!files.count(name)) {
      order.push_back(name);
      files[name] = header.empty() ? "" : "# " + header + "\n";
    }
    files[name] += "---\n" + manifest.content + "\n";
  }
  std::error_code ec;
  std::filesystem::create_directories(outputDir, ec);
  for (const std::string& name : order) {
    std::ofstream out(outputDir / name, std::ios::binary | std::ios::trunc);
    out << files[name];
    if (!out) {
      std::cerr << "chart-render: cannot write " << (outputDir / name).string() << "\n";
      return 1;
    }
    std::cout << name << "\n";
  }
  return 0;
}
