// Renders a chart directory as `helm template RELEASE CHART -n NAMESPACE -f ... --set ...`
// does: values.yaml merged with the given files and --set values, checked against
// values.schema.json, every template of templates/ rendered, documents split, empty ones dropped
// and sorted in Helm's install order (Namespace, ..., CustomResourceDefinition, ClusterRole, ...,
// Deployment, ..., unknown kinds last, each kind in template order).
#pragma once

#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/chart-render/value.h"

namespace billing::chart {

struct RenderOptions {
  std::string releaseName = "billing-operator";
  std::string releaseNamespace = "default";
  std::vector<std::filesystem::path> valueFiles;  // -f, in order
  std::vector<std::string> sets;                  // --set a.b=c, after the files
  std::string kubeVersion = "1.30.0";             // .Capabilities.KubeVersion
};

struct Manifest {
  std::string source;  // "billing-operator/templates/deployment.yaml"
  std::string kind;
  std::string name;
  std::string content;  // one YAML document, without "---"
};

struct RenderedChart {
  std::string chartName;
  Value values;  // the merged values the templates saw
  std::vector<Manifest> manifests;
  std::string notes;  // templates/NOTES.txt rendered
};

// Errors are one message naming the file (and line) and what to fix.
std::expected<RenderedChart, std::string> renderChart(const std::filesystem::path& chartDir,
                                                      const RenderOptions& options);

// `--set` as Helm reads it: dotted keys, "true"/"false" booleans, integers, "null"; the rest
// strings. Lists and escapes are not supported (an error says so).
std::expected<Value, std::string> parseSet(const std::string& assignment);

// The manifests as `helm template` prints them: "---\n# Source: ...\n<content>\n" each.
std::string formatManifests(const std::vector<Manifest>& manifests);

}  // namespace billing::chart
