// YAML decoding (common/yaml.h over yaml-cpp) of any text: never crashes or throws (the header
// promises errors as values), every recorded line lies inside the text, and every document
// written back with toYaml parses to the same JSON, key order included.
#include <algorithm>
#include <string>

#include "common/json.h"
#include "common/yaml.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace billing::common;
  const std::string_view text = billing::fuzz::asText(data, size);
  const auto documents = parseYamlDocuments(text);
  const int lineCount = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  if (!documents) {
    BILLING_FUZZ_CHECK(!documents.error().message.empty(), "a rejection must say why");
    BILLING_FUZZ_CHECK(
        documents.error().line >= 0 && documents.error().line <= lineCount + 1,
        "error line " + std::to_string(documents.error().line) + " outside the text");
    return 0;
  }
  for (const YamlDocument& document : *documents) {
    BILLING_FUZZ_CHECK(document.line >= 1 && document.line <= lineCount + 1,
                       "document line " + std::to_string(document.line) + " outside the text");
    for (const auto& [path, line] : document.lines) {
      BILLING_FUZZ_CHECK(line >= 1 && line <= lineCount + 1,
                         path + " at line " + std::to_string(line) + " outside the text");
      BILLING_FUZZ_CHECK(lineOf(document, path) == line, "lineOf disagrees for " + path);
    }
    const std::string written = toYaml(document.value);
    const auto reread = parseYamlDocuments(written);
    BILLING_FUZZ_CHECK(reread.has_value(), "toYaml wrote YAML parseYamlDocuments rejects (" +
                                               (reread ? std::string() : reread.error().message) +
                                               "):\n" + written);
    // toYaml of a null document writes "null", which parses as no document at all.
    const web::json::value back =
        reread->empty() ? web::json::value::null() : reread->front().value;
    BILLING_FUZZ_CHECK(reread->size() <= 1, "toYaml wrote several documents:\n" + written);
    BILLING_FUZZ_CHECK(toJson(back) == toJson(document.value),
                       "toYaml changed the document: " + toJson(document.value) + " became " +
                           toJson(back) + " through:\n" + written);
  }
  return 0;
}
