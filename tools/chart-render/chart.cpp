#include "tools/chart-render/chart.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "common/json.h"
#include "tools/chart-render/schema.h"
#include "tools/chart-render/template.h"

namespace billing::chart {

namespace fs = std::filesystem;

namespace {

std::expected<std::string, std::string> readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::expected<Value, std::string> loadYamlFile(const fs::path& path) {
  auto text = readText(path);
  if (!text) return std::unexpected(text.error());
  try {
    YAML::Node node = YAML::Load(*text);
    Value loaded = fromYaml(node, path.string());
    if (loaded.isNil()) return Value(Map{});
    if (!loaded.isMap()) return std::unexpected(path.string() + ": must be a YAML mapping");
    return loaded;
  } catch (const YAML::Exception& error) {
    return std::unexpected(path.string() + ":" + std::to_string(error.mark.line + 1) + ": " +
                           error.msg);
  } catch (const std::exception& error) {
    return std::unexpected(error.what());
  }
}

// helm's releaseutil.InstallOrder.
int installRank(const std::string& kind) {
  static const char* const kOrder[] = {"PriorityClass",
                                       "Namespace",
                                       "NetworkPolicy",
                                       "ResourceQuota",
                                       "LimitRange",
                                       "PodSecurityPolicy",
                                       "PodDisruptionBudget",
                                       "ServiceAccount",
                                       "Secret",
                                       "SecretList",
                                       "ConfigMap",
                                       "StorageClass",
                                       "PersistentVolume",
                                       "PersistentVolumeClaim",
                                       "CustomResourceDefinition",
                                       "ClusterRole",
                                       "ClusterRoleList",
                                       "ClusterRoleBinding",
                                       "ClusterRoleBindingList",
                                       "Role",
                                       "RoleList",
                                       "RoleBinding",
                                       "RoleBindingList",
                                       "Service",
                                       "DaemonSet",
                                       "Pod",
                                       "ReplicationController",
                                       "ReplicaSet",
                                       "Deployment",
                                       "HorizontalPodAutoscaler",
                                       "StatefulSet",
                                       "Job",
                                       "CronJob",
                                       "IngressClass",
                                       "Ingress",
                                       "APIService"};
  int rank = 0;
  for (const char* known : kOrder) {
    if (kind == known) return rank;
    ++rank;
  }
  return rank;
}

// Splits a rendered file on "---" lines as Helm's SplitManifests does; documents holding only
// whitespace or comments are dropped.
std::vector<std::string> splitDocuments(const std::string& text) {
  std::vector<std::string> documents;
  std::string current;
  std::istringstream lines(text);
  std::string line;
  auto flush = [&] {
    bool meaningful = false;
    std::istringstream check(current);
    std::string l;
    while (std::getline(check, l)) {
      const auto first = l.find_first_not_of(" \t\r");
      if (first != std::string::npos && l[first] != '#') meaningful = true;
    }
    if (meaningful) {
      const auto begin = current.find_first_not_of(" \t\r\n");
      const auto end = current.find_last_not_of(" \t\r\n");
      documents.push_back(current.substr(begin, end - begin + 1));
    }
    current.clear();
  };
  while (std::getline(lines, line)) {
    if (line.rfind("---", 0) == 0 && line.find_first_not_of(" \t\r", 3) == std::string::npos) {
      flush();
      continue;
    }
    current += line + "\n";
  }
  flush();
  return documents;
}

Map chartObject(const Value& chartYaml) {
  // .Chart fields are Chart.yaml's keys with the first letter capitalized (.Chart.AppVersion).
  Map chart;
  for (const auto& [key, member] : chartYaml.asMap()) {
    std::string name = key;
    name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    chart[name] = member;
  }
  return chart;
}

}  // namespace

std::expected<Value, std::string> parseSet(const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    return std::unexpected("--set " + assignment + ": expected KEY=VALUE");
  }
  const std::string key = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  if (key.find_first_of("[]\\") != std::string::npos) {
    return std::unexpected("--set " + assignment +
                           ": list indexes and escapes are not supported; use a values file");
  }
  Value leaf;
  if (text == "true" || text == "false") {
    leaf = Value(text == "true");
  } else if (text == "null") {
    leaf = Value();
  } else {
    std::size_t used = 0;
    try {
      const long long number = std::stoll(text, &used, 10);
      leaf = used == text.size() && !text.empty() ? Value(static_cast<std::int64_t>(number))
                                                  : Value(text);
    } catch (const std::exception&) {
      leaf = Value(text);
    }
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? dot : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  Value result = leaf;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (it->empty()) return std::unexpected("--set " + assignment + ": empty key segment");
    result = Value(Map{{*it, result}});
  }
  return result;
}

std::expected<RenderedChart, std::string> renderChart(const fs::path& chartDir,
                                                      const RenderOptions& options) {
  auto chartYaml = loadYamlFile(chartDir / "Chart.yaml");
  if (!chartYaml) return std::unexpected(chartYaml.error());
  const Value chartName = chartYaml->field("name");
  if (!chartName.isString())
    return std::unexpected((chartDir / "Chart.yaml").string() + ": no name");

  auto values = loadYamlFile(chartDir / "values.yaml");
  if (!values) return std::unexpected(values.error());
  Value merged = *values;
  for (const fs::path& file : options.valueFiles) {
    auto overlay = loadYamlFile(file);
    if (!overlay) return std::unexpected(overlay.error());
    merged = mergeValues(merged, *overlay);
  }
  for (const std::string& assignment : options.sets) {
    auto overlay = parseSet(assignment);
    if (!overlay) return std::unexpected(overlay.error());
    merged = mergeValues(merged, *overlay);
  }

  const fs::path schemaPath = chartDir / "values.schema.json";
  if (fs::exists(schemaPath)) {
    auto text = readText(schemaPath);
    if (!text) return std::unexpected(text.error());
    auto schema = common::parseJson(*text);
    if (!schema) return std::unexpected(schemaPath.string() + ": " + schema.error());
    try {
      auto errors = validateValues(merged, *schema);
      if (!errors.empty()) {
        std::string message =
            "values don't meet the specifications of the schema(s) in the "
            "following chart(s):\n" +
            chartName.asString() + ":";
        for (const std::string& error : errors) message += "\n- " + error;
        return std::unexpected(message);
      }
    } catch (const std::exception& error) {
      return std::unexpected(error.what());
    }
  }

  const std::string name = chartName.asString();
  std::string major = options.kubeVersion.substr(0, options.kubeVersion.find('.'));
  std::string minor = options.kubeVersion.substr(major.size() + 1);
  minor = minor.substr(0, minor.find('.'));
  Map top;
  top["Values"] = merged;
  top["Chart"] = Value(chartObject(*chartYaml));
  top["Release"] = Value(Map{{"Name", Value(options.releaseName)},
                             {"Namespace", Value(options.releaseNamespace)},
                             {"Service", Value("Helm")},
                             {"IsInstall", Value(true)},
                             {"IsUpgrade", Value(false)},
                             {"Revision", Value(1)}});
  top["Capabilities"] =
      Value(Map{{"KubeVersion", Value(Map{{"Version", Value("v" + options.kubeVersion)},
                                          {"Major", Value(major)},
                                          {"Minor", Value(minor)}})}});
  const Value dot(top);

  // Every file is parsed first so that defines from _helpers.tpl are known everywhere.
  const fs::path templatesDir = chartDir / "templates";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(templatesDir, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  if (ec) return std::unexpected("cannot list " + templatesDir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());

  RenderedChart rendered;
  rendered.chartName = name;
  rendered.values = merged;
  TemplateSet set;
  std::vector<std::string> sources;
  try {
    for (const fs::path& file : files) {
      const std::string source = name + "/" + fs::relative(file, chartDir).generic_string();
      auto text = readText(file);
      if (!text) return std::unexpected(text.error());
      set.parse(source, *text);
      sources.push_back(source);
    }
    std::vector<std::pair<int, Manifest>> ranked;
    for (const std::string& source : sources) {
      const std::string base = source.substr(source.rfind('/') + 1);
      if (base.starts_with("_")) continue;
      if (base == "NOTES.txt") {
        rendered.notes = set.render(source, dot);
        continue;
      }
      if (!base.ends_with(".yaml") && !base.ends_with(".yml") && !base.ends_with(".tpl")) continue;
      if (base.ends_with(".tpl")) continue;
      for (const std::string& document : splitDocuments(set.render(source, dot))) {
        Manifest manifest;
        manifest.source = source;
        manifest.content = document;
        try {
          YAML::Node node = YAML::Load(document);
          if (!node.IsMap() || !node["kind"] || !node["apiVersion"] || !node["metadata"]) {
            return std::unexpected(
                source + ": a document without apiVersion, kind and metadata:\n" + document);
          }
          manifest.kind = node["kind"].as<std::string>();
          if (node["metadata"]["name"]) manifest.name = node["metadata"]["name"].as<std::string>();
        } catch (const YAML::Exception& error) {
          return std::unexpected(source + ": rendered YAML does not parse (line " +
                                 std::to_string(error.mark.line + 1) +
                                 " of the document): " + error.msg + "\n" + document);
        }
        ranked.emplace_back(installRank(manifest.kind), std::move(manifest));
      }
    }
    // Kinds Helm does not know (webhook configurations, cert-manager's) come last, sorted by
    // kind name as Helm's kind sorter does; the same kind keeps the templates' order.
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      if (a.first == installRank("") && a.second.kind != b.second.kind) {
        return a.second.kind < b.second.kind;
      }
      return false;
    });
    for (auto& [rank, manifest] : ranked) rendered.manifests.push_back(std::move(manifest));
  } catch (const TemplateError& error) {
    return std::unexpected(error.what());
  } catch (const std::exception& error) {
    return std::unexpected(std::string("rendering: ") + error.what());
  }
  return rendered;
}

std::string formatManifests(const std::vector<Manifest>& manifests) {
  std::string out;
  for (const Manifest& manifest : manifests) {
    out += "---\n# Source: " + manifest.source + "\n" + manifest.content + "\n";
  }
  return out;
}

}  // namespace billing::chart
