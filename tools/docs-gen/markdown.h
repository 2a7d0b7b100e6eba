// Markdown reference sections generated from the sources users install, so that docs/ cannot
// drift from them: the CRDs (crds/*.yaml), the chart's values (values.yaml and
// values.schema.json) and `billing-operator run --help`. Pure functions over text: no files, no
// processes, so they are unit-tested (tests/docs) and scripts/generate-docs.sh does the I/O.
#pragma once

#include <expected>
#include <map>
#include <string>
#include <string_view>

namespace billing::docsgen {

// The reference of one CustomResourceDefinition (YAML text): its names (kind, short names,
// categories), the printer columns `kubectl get` shows, and one table row per schema field of
// every served version with type, default, validation and description. An error names what is
// missing (not a CRD, no openAPIV3Schema, a field without a description).
std::expected<std::string, std::string> crdReference(std::string_view crdYaml);

// The reference of a chart's values: one row per value of values.yaml (and per property the
// schema declares beneath a value, such as issuerRef.name) with type and validation from
// values.schema.json, the default from values.yaml and a description. The description is the
// `# --` comment above the key in values.yaml (helm-docs' convention), else the entry for its
// dotted path in `extraDescriptions`, else the schema's. A value with none of them, or an extra
// description for a value that does not exist, is an error naming the value: new values cannot
// go undocumented, and removed values do not leave stale text behind.
std::expected<std::string, std::string> valuesReference(
    std::string_view valuesYaml, std::string_view schemaJson,
    const std::map<std::string, std::string>& extraDescriptions);

// The flags of a `--help` text as a table (flag, argument, description). A flag line starts
// with two spaces and `--`; the lines indented under it continue its description. Lines that are
// neither (usage, headings, exit codes) are not flags. An error when no flag is found, which
// means the help format changed and this parser must follow it.
std::expected<std::string, std::string> flagsReference(std::string_view helpText);

// Replaces the text between `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->`
// (each on its own line) with `content`, keeping both markers and everything around them. An
// error when a marker is missing, repeated or out of order.
std::expected<std::string, std::string> spliceGenerated(std::string_view document,
                                                        std::string_view name,
                                                        std::string_view content);

// A table cell: newlines and runs of spaces folded to one space, '|' escaped.
std::string cell(std::string_view text);
// A cell of prose: also '<' and '>' escaped, so that "<project>-billing" is not read as HTML.
std::string prose(std::string_view text);

}  // namespace billing::docsgen
