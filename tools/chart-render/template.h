// The subset of Go's text/template and of Helm's functions (Sprig and include/required/toYaml)
// the billing-operator chart is written in, so the chart can be rendered and tested where Helm
// cannot be installed. Anything outside the subset is an error naming the file and line, never a
// silently different result: a template that renders here renders the same under `helm
// template` (see tools/chart-render/README.md for the exact list).
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "tools/chart-render/value.h"

namespace billing::chart {

// A template or rendering error: "templates/deployment.yaml:12: required value: ...".
class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Node;

class TemplateSet {
 public:
  TemplateSet();
  ~TemplateSet();
  TemplateSet(const TemplateSet&) = delete;
  TemplateSet& operator=(const TemplateSet&) = delete;

  // Parses one file: its `define`s join the set, its body is kept under `name`. Throws
  // TemplateError for syntax outside the subset.
  void parse(const std::string& name, const std::string& text);

  // Renders the named file or define with `dot` as `.` and `$`. Throws TemplateError.
  std::string render(const std::string& name, const Value& dot) const;

  bool has(const std::string& name) const { return templates_.count(name) != 0; }

 private:
  friend class Renderer;
  std::map<std::string, std::shared_ptr<Node>> templates_;
};

}  // namespace billing::chart
