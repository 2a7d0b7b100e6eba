#include "operator/check/manifest_loader.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "reconcilers/codec/objects.h"

namespace billing::check {
namespace {

namespace fs = std::filesystem;

bool isManifestFile(const fs::path& path) {
  auto ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool isHidden(const fs::path& path) {
  auto name = path.filename().string();
  return name.size() > 1 && name.front() == '.' && name != "..";
}

// Collects manifest files below `root` in a stable order.
void collectFiles(const fs::path& root, std::vector<fs::path>& files, std::error_code& error) {
  fs::recursive_directory_iterator it(root, fs::directory_options::none, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (isHidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && isManifestFile(it->path())) files.push_back(it->path());
  }
}

std::string metadataField(const web::json::value& object, const char* field) {
  if (!object.has_field("metadata") || !object.at("metadata").is_object()) return {};
  const auto& metadata = object.at("metadata");
  if (!metadata.has_field(field) || !metadata.at(field).is_string()) return {};
  return metadata.at(field).as_string();
}

}  // namespace

SourceLocation LoadResult::locate(const domain::Violation& violation,
                                  std::size_t occurrence) const {
  auto it = origins_.find(violation.object);
  if (it == origins_.end() || it->second.empty()) return {};
  const Origin& origin = it->second[std::min(occurrence, it->second.size() - 1)];
  std::string path = origin.itemPrefix + violation.field;
  if (!violation.field.empty() || origin.itemPrefix.empty()) {
    return {origin.file, common::lineOf(origin.document, path)};
  }
  // The object as a whole: the line of the List item, without its trailing '.'.
  return {origin.file, common::lineOf(origin.document,
                                      origin.itemPrefix.substr(0, origin.itemPrefix.size() - 1))};
}

LoadResult ManifestLoader::load(const std::vector<std::string>& paths) const {
  LoadResult result;
  std::vector<fs::path> files;
  for (const std::string& path : paths) {
    std::error_code error;
    auto status = fs::status(path, error);
    if (error || !fs::exists(status)) {
      result.inputErrors.push_back(
          {{path, 0}, 0, "no such file or directory: give a manifest file or a folder of them"});
      continue;
    }
    if (fs::is_directory(status)) {
      std::vector<fs::path> found;
      collectFiles(path, found, error);
      if (error) {
        result.inputErrors.push_back({{path, 0}, 0, "cannot read directory: " + error.message()});
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.emplace_back(path);  // an explicitly named file is read whatever its extension
    }
  }
  for (const fs::path& file : files) loadFile(file, result);
  return result;
}

void ManifestLoader::loadFile(const fs::path& file, LoadResult& result) const {
  const std::string name = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    result.inputErrors.push_back({{name, 0}, 0, "cannot open file for reading"});
    return;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  ++result.files;
  auto documents = common::parseYamlDocuments(buffer.str());
  if (!documents) {
    result.inputErrors.push_back({{name, documents.error().line},
                                  documents.error().column,
                                  "malformed YAML: " + documents.error().message});
    return;
  }
  for (const common::YamlDocument& document : *documents) {
    const web::json::value& object = document.value;
    auto type = codec::classify(object);
    // A v1 List (what `kubectl get -o yaml` writes) holds its objects in items.
    if (type.category == codec::ObjectType::Category::Other && type.apiVersion == "v1" &&
        type.kindName == "List" && object.has_field("items") && object.at("items").is_array()) {
      const auto& items = object.at("items").as_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        loadObject(name, document, items.at(i), "items[" + std::to_string(i) + "].", result);
      }
      continue;
    }
    loadObject(name, document, object, "", result);
  }
}

void ManifestLoader::loadObject(const std::string& file, const common::YamlDocument& document,
                                const web::json::value& object, const std::string& itemPrefix,
                                LoadResult& result) const {
  auto type = codec::classify(object);
  auto record = [&](const domain::ObjectKey& key, std::vector<domain::Violation> errors) {
    result.origins_[key].push_back({file, document, itemPrefix});
    for (auto& error : errors) {
      SourceLocation location{file, common::lineOf(document, itemPrefix + error.field)};
      result.decodeViolations.push_back({std::move(error), location});
    }
  };
  codec::DecodeOptions options{.status = false, .defaultNamespace = options_.defaultNamespace};
  switch (type.category) {
    case codec::ObjectType::Category::Invalid:
    case codec::ObjectType::Category::Other:
      ++result.skippedDocuments;
      return;
    case codec::ObjectType::Category::Unsupported: {
      domain::Violation violation{
          domain::Code::UnsupportedValue, domain::Severity::Error,
          domain::ObjectKey{type.kind, metadataField(object, "namespace"),
                            metadataField(object, "name")},
          "apiVersion",
          type.kindName + " of apiVersion " + type.apiVersion +
              " is not served by this operator: it serves BillingGroup, Project and Invoice of " +
              std::string(domain::kApiVersion)};
      result.decodeViolations.push_back(
          {violation, {file, common::lineOf(document, itemPrefix + "apiVersion")}});
      return;
    }
    case codec::ObjectType::Category::Namespace: {
      auto decoded = codec::decodeNamespace(object);
      record({domain::Kind::Namespace, "", decoded.value.metadata.name}, decoded.errors);
      result.snapshot.namespaces.push_back(std::move(decoded.value));
      return;
    }
    case codec::ObjectType::Category::Billing:
      break;
  }
  switch (type.kind) {
    case domain::Kind::BillingGroup: {
      auto decoded = codec::decodeBillingGroup(object, options);
      record(decoded.value.key(), std::move(decoded.errors));
      result.snapshot.billingGroups.push_back(std::move(decoded.value));
      return;
    }
    case domain::Kind::Project: {
      auto decoded = codec::decodeProject(object, options);
      record(decoded.value.key(), std::move(decoded.errors));
      result.snapshot.projects.push_back(std::move(decoded.value));
      return;
    }
    case domain::Kind::Invoice: {
      auto decoded = codec::decodeInvoice(object, options);
      record(decoded.value.key(), std::move(decoded.errors));
      result.snapshot.invoices.push_back(std::move(decoded.value));
      return;
    }
    case domain::Kind::Namespace:
      return;  // handled above
  }
}

}  // namespace billing::check
