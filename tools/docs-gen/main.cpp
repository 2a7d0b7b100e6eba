// docs-gen: prints the generated parts of docs/ (see markdown.h); scripts/generate-docs.sh
// runs it and splices the output between the documents' markers. Exit 0 printed, 1 the input is
// wrong (the message names the file and what to fix), 2 bad usage.
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/yaml.h"
#include "tools/docs-gen/markdown.h"

namespace {

constexpr const char* kUsage = R"(Usage:
  docs-gen crd CRD_FILE                        reference of one CustomResourceDefinition
  docs-gen values VALUES SCHEMA [EXTRA]        chart values; EXTRA: YAML map value -> description
  docs-gen flags HELP_FILE                     flag table of a --help text ('-' for stdin)
  docs-gen splice DOC NAME CONTENT_FILE        DOC with the NAME section replaced, on stdout
)";

bool readFile(const std::string& path, std::string& out) {
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    out = buffer.str();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

int fail(const std::string& where, const std::string& message) {
  std::cerr << "docs-gen: " << where << ": " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string& command = args[0];
  auto usage = [] {
    std::cerr << kUsage;
    return 2;
  };
  std::vector<std::string> texts;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (command == "splice" && i == 2) {
      texts.push_back(args[i]);  // NAME, not a file
      continue;
    }
    std::string text;
    if (!readFile(args[i], text)) return fail(args[i], "cannot read the file");
    texts.push_back(std::move(text));
  }

  std::expected<std::string, std::string> result;
  if (command == "crd" && args.size() == 2) {
    result = billing::docsgen::crdReference(texts[0]);
  } else if (command == "values" && (args.size() == 3 || args.size() == 4)) {
    std::map<std::string, std::string> extra;
    if (args.size() == 4) {
      auto documents = billing::common::parseYamlDocuments(texts[2]);
      if (!documents) {
        return fail(args[3] + ":" + std::to_string(documents.error().line),
                    documents.error().message);
      }
      for (const auto& document : *documents) {
        if (!document.value.is_object()) return fail(args[3], "expected a mapping");
        for (const auto& [key, description] : document.value.as_object()) {
          if (!description.is_string()) {
            return fail(args[3] + ":" + std::to_string(billing::common::lineOf(document, key)),
                        "the description of " + key + " must be a string");
          }
          extra[key] = description.as_string();
        }
      }
    }
    result = billing::docsgen::valuesReference(texts[0], texts[1], extra);
  } else if (command == "flags" && args.size() == 2) {
    result = billing::docsgen::flagsReference(texts[0]);
  } else if (command == "splice" && args.size() == 4) {
    result = billing::docsgen::spliceGenerated(texts[0], texts[1], texts[2]);
  } else {
    return usage();
  }
  if (!result) return fail(args[1], result.error());
  std::cout << *result;
  return 0;
}
