// Reads a GitOps folder into a domain Snapshot, remembering where each object came from so that
// every violation can be printed as FILE:LINE.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/yaml.h"
#include "reconcilers/domain/model.h"
#include "reconcilers/domain/violation.h"

namespace billing::check {

struct SourceLocation {
  std::string file;
  int line = 0;
};

// A violation with the place in the input it points at.
struct LocatedViolation {
  domain::Violation violation;
  SourceLocation location;
};

// Input that cannot be checked at all: a missing path, an unreadable file, malformed YAML.
struct InputError {
  SourceLocation location;
  int column = 0;
  std::string message;
};

struct LoadOptions {
  std::string defaultNamespace = "default";  // for objects without metadata.namespace
};

struct LoadResult {
  domain::Snapshot snapshot;
  std::vector<LocatedViolation> decodeViolations;  // schema problems found while decoding
  std::vector<InputError> inputErrors;
  int files = 0;
  int skippedDocuments = 0;  // documents that are not Kubernetes objects, or other kinds

  // Where a rule violation points: the line of its field in the object's document. Objects
  // declared more than once have several documents; `occurrence` picks one (0 = first).
  SourceLocation locate(const domain::Violation& violation, std::size_t occurrence = 0) const;

 private:
  friend class ManifestLoader;
  struct Origin {
    std::string file;
    common::YamlDocument document;
    std::string itemPrefix;  // "items[3]." for objects inside a v1 List
  };
  std::map<domain::ObjectKey, std::vector<Origin>> origins_;
};

class ManifestLoader {
 public:
  explicit ManifestLoader(LoadOptions options) : options_(std::move(options)) {}

  // Loads files and directories (recursively: *.yaml, *.yml, *.json; hidden entries skipped).
  LoadResult load(const std::vector<std::string>& paths) const;

 private:
  void loadFile(const std::filesystem::path& file, LoadResult& result) const;
  void loadObject(const std::string& file, const common::YamlDocument& document,
                  const web::json::value& object, const std::string& itemPrefix,
                  LoadResult& result) const;

  LoadOptions options_;
};

}  // namespace billing::check
