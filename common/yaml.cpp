#include "common/yaml.h"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/json.h"
#include "common/utf8.h"

namespace billing::common {
namespace {

using JsonValue = web::json::value;

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";
// Deeper documents are refused rather than risking the stack (yaml-cpp stops at 2000 itself).
constexpr int kMaxDepth = 1000;
// Aliases may expand a document to this many nodes beyond its own size ("billion laughs").
constexpr std::size_t kMaxAliasExpansion = 100'000;

// ---------------------------------------------------------------------------------------------
// Scalar resolution, following go-yaml v2's resolve() for an untyped (interface{}) target.

struct Scalar {
  enum class Kind { kNull, kBool, kInt, kUint, kFloat, kString };
  Kind kind = Kind::kString;
  bool boolean = false;
  std::int64_t integer = 0;
  std::uint64_t unsignedInteger = 0;
  double floating = 0;
  std::string text;  // the source text, and the value of a string
};

std::string_view tagName(Scalar::Kind kind) {
  switch (kind) {
    case Scalar::Kind::kNull:
      return "!!null";
    case Scalar::Kind::kBool:
      return "!!bool";
    case Scalar::Kind::kInt:
    case Scalar::Kind::kUint:
      return "!!int";
    case Scalar::Kind::kFloat:
      return "!!float";
    case Scalar::Kind::kString:
      break;
  }
  return "!!str";
}

template <std::size_t N>
bool isOneOf(std::string_view text, const std::array<std::string_view, N>& words) {
  return std::find(words.begin(), words.end(), text) != words.end();
}

int digitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Go's strconv.ParseUint(s, 0, 64): 0b/0o/0x prefixes (any case), a leading 0 means octal.
std::optional<std::uint64_t> parseGoUnsigned(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t base = 10;
  if (text.front() == '0') {
    const char marker = text.size() >= 3 ? lower(text[1]) : '\0';
    if (marker == 'b' || marker == 'o' || marker == 'x') {
      base = marker == 'b' ? 2 : (marker == 'o' ? 8 : 16);
      text.remove_prefix(2);
    } else {
      base = 8;
      text.remove_prefix(1);
    }
  }
  std::uint64_t number = 0;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : text) {
    const auto digit = static_cast<std::uint64_t>(digitValue(c));
    if (digit >= base) return std::nullopt;
    if (number > (kMax - digit) / base) return std::nullopt;
    number = number * base + digit;
  }
  return number;
}

// Go's strconv.ParseInt(s, 0, 64): an optional sign, then ParseUint's syntax.
std::optional<std::int64_t> parseGoSigned(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  auto magnitude = parseGoUnsigned(text);
  if (!magnitude) return std::nullopt;
  constexpr auto kLimit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!negative) {
    if (*magnitude > kLimit) return std::nullopt;
    return static_cast<std::int64_t>(*magnitude);
  }
  if (*magnitude > kLimit + 1) return std::nullopt;
  if (*magnitude == kLimit + 1) return std::numeric_limits<std::int64_t>::min();
  return -static_cast<std::int64_t>(*magnitude);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::size_t skipDigits(std::string_view text, std::size_t at) {
  while (at < text.size() && isDigit(text[at])) ++at;
  return at;
}

// go-yaml's ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool isYamlStyleFloat(std::string_view text) {
  std::size_t at = 0;
  if (at < text.size() && (text[at] == '+' || text[at] == '-')) ++at;
  if (at < text.size() && text[at] == '.') {
    const std::size_t start = ++at;
    at = skipDigits(text, at);
    if (at == start) return false;
  } else {
    const std::size_t start = at;
    at = skipDigits(text, at);
    if (at == start) return false;
    if (at < text.size() && text[at] == '.') at = skipDigits(text, at + 1);
  }
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    ++at;
    if (at < text.size() && (text[at] == '+' || text[at] == '-')) ++at;
    const std::size_t start = at;
    at = skipDigits(text, at);
    if (at == start) return false;
  }
  return at == text.size();
}

// Go's underscore rule for ParseFloat: an underscore must sit between two digits.
bool underscoresBetweenDigits(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '_') continue;
    if (i == 0 || i + 1 == text.size() || !isDigit(text[i - 1]) || !isDigit(text[i + 1])) {
      return false;
    }
  }
  return true;
}

std::string withoutUnderscores(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (char c : text) {
    if (c != '_') result.push_back(c);
  }
  return result;
}

// Like Go's ParseFloat on text already known to be a decimal float: a value too large for a
// double is refused (go-yaml then keeps the text as a string), one too small becomes 0.
std::optional<double> parseFiniteDouble(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double number = 0;
  auto result = std::from_chars(text.data(), text.data() + text.size(), number);
  if (result.ec == std::errc() && result.ptr == text.data() + text.size()) return number;
  if (result.ec != std::errc::result_out_of_range) return std::nullopt;
  long double wide = 0;
  auto wideResult = std::from_chars(text.data(), text.data() + text.size(), wide);
  if (wideResult.ec == std::errc() && std::fabs(wide) < 1.0L) return static_cast<double>(wide);
  return std::nullopt;
}

Scalar resolvePlain(std::string_view text) {
  static constexpr std::array<std::string_view, 11> kTrue{
      "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static constexpr std::array<std::string_view, 11> kFalse{
      "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  static constexpr std::array<std::string_view, 5> kNull{"", "~", "null", "Null", "NULL"};
  static constexpr std::array<std::string_view, 3> kNan{".nan", ".NaN", ".NAN"};
  static constexpr std::array<std::string_view, 6> kInfinity{".inf",  ".Inf",  ".INF",
                                                             "+.inf", "+.Inf", "+.INF"};
  static constexpr std::array<std::string_view, 3> kNegativeInfinity{"-.inf", "-.Inf", "-.INF"};

  Scalar scalar;
  scalar.text = std::string(text);
  // go-yaml only looks further at scalars whose first character may start a non-string.
  char hint = 'N';
  if (!text.empty()) {
    const char first = text.front();
    if (first == '+' || first == '-') {
      hint = 'S';
    } else if (isDigit(first)) {
      hint = 'D';
    } else if (std::string_view("yYnNtTfFoO~").find(first) != std::string_view::npos) {
      hint = 'M';
    } else if (first == '.') {
      hint = '.';
    } else {
      return scalar;
    }
  }
  if (isOneOf(text, kNull)) {
    scalar.kind = Scalar::Kind::kNull;
    return scalar;
  }
  if (isOneOf(text, kTrue) || isOneOf(text, kFalse)) {
    scalar.kind = Scalar::Kind::kBool;
    scalar.boolean = isOneOf(text, kTrue);
    return scalar;
  }
  if (isOneOf(text, kNan) || isOneOf(text, kInfinity) || isOneOf(text, kNegativeInfinity)) {
    scalar.kind = Scalar::Kind::kFloat;
    scalar.floating = isOneOf(text, kNan)        ? std::numeric_limits<double>::quiet_NaN()
                      : isOneOf(text, kInfinity) ? std::numeric_limits<double>::infinity()
                                                 : -std::numeric_limits<double>::infinity();
    return scalar;
  }
  if (hint == '.') {
    if (!underscoresBetweenDigits(text)) return scalar;
    const std::string plain = withoutUnderscores(text);
    if (!isYamlStyleFloat(plain)) return scalar;
    if (auto number = parseFiniteDouble(plain)) {
      scalar.kind = Scalar::Kind::kFloat;
      scalar.floating = *number;
    }
    return scalar;
  }
  if (hint == 'D' || hint == 'S') {
    const std::string plain = withoutUnderscores(text);
    if (auto number = parseGoSigned(plain)) {
      scalar.kind = Scalar::Kind::kInt;
      scalar.integer = *number;
    } else if (auto unsignedNumber = parseGoUnsigned(plain)) {
      scalar.kind = Scalar::Kind::kUint;
      scalar.unsignedInteger = *unsignedNumber;
    } else if (isYamlStyleFloat(plain)) {
      if (auto floating = parseFiniteDouble(plain)) {
        scalar.kind = Scalar::Kind::kFloat;
        scalar.floating = *floating;
      }
    }
  }
  return scalar;
}

// Go's strconv.FormatFloat(number, 'g', -1, 32), which sigs.k8s.io/yaml uses for float keys.
std::string formatGoFloatKey(double number) {
  const auto single = static_cast<float>(number);
  if (std::isnan(single)) return ".nan";
  if (std::isinf(single)) return single > 0 ? ".inf" : "-.inf";
  std::array<char, 64> buffer{};
  auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), single,
                              std::chars_format::scientific);
  std::string_view text(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
  std::string out;
  if (text.front() == '-') {
    out.push_back('-');
    text.remove_prefix(1);
  }
  const auto e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;
  std::string_view exponentText = text.substr(e + 1);
  if (exponentText.front() == '+') exponentText.remove_prefix(1);
  std::from_chars(exponentText.data(), exponentText.data() + exponentText.size(), exponent);
  const int count = static_cast<int>(digits.size());
  if (exponent < -4 || exponent >= 6) {
    out.push_back(digits.front());
    if (count > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(exponent < 0 ? '-' : '+');
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out.push_back('0');
    out += std::to_string(magnitude);
    return out;
  }
  const int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) {
    out.push_back('0');
  } else {
    for (int i = 0; i < point; ++i) out.push_back(i < count ? digits[i] : '0');
  }
  const int fraction = std::max(count - point, 0);
  if (fraction > 0) {
    out.push_back('.');
    for (int i = 0; i < fraction; ++i) {
      const int at = point + i;
      out.push_back(at >= 0 && at < count ? digits[at] : '0');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The document as yaml-cpp reports it, before resolution.

enum class NodeKind { kNull, kScalar, kSequence, kMapping, kAlias };

struct RawNode {
  NodeKind kind = NodeKind::kNull;
  int line = 1;    // 1-based
  int column = 1;  // 1-based
  std::string tag;
  std::string text;
  std::vector<RawNode*> children;  // sequence elements, or mapping keys and values alternating
  RawNode* target = nullptr;       // the anchored node of an alias
  bool converting = false;         // on the conversion path: an alias to it would recurse
};

class SourceText {
 public:
  explicit SourceText(std::string_view text) : text_(text) {
    lineStarts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') lineStarts_.push_back(i + 1);
    }
  }

  std::string_view text() const { return text_; }

  int lineAt(std::size_t offset) const {
    auto next = std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset);
    return static_cast<int>(next - lineStarts_.begin());
  }

  int columnAt(std::size_t offset) const {
    return static_cast<int>(offset - lineStarts_[static_cast<std::size_t>(lineAt(offset) - 1)]) + 1;
  }

  int lineCount() const { return static_cast<int>(lineStarts_.size()); }

 private:
  std::string_view text_;
  std::vector<std::size_t> lineStarts_;
};

YamlError errorAt(const RawNode& node, std::string message) {
  return YamlError{node.line, node.column, std::move(message)};
}

// Builds the node tree of one document from yaml-cpp's events.
class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(const SourceText& source) : source_(source) {}

  RawNode* root() const { return root_; }
  std::size_t nodeCount() const { return nodes_.size(); }
  const std::optional<YamlError>& error() const { return error_; }

  // Where the document starts, as a byte offset (-1 when unknown).
  int start() const { return start_; }

  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark.is_null() ? -1 : mark.pos; }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const bool inSequence = !stack_.empty() && stack_.back()->kind == NodeKind::kSequence;
    RawNode& node = add(NodeKind::kNull, mark, anchor);
    // yaml-cpp marks an empty node where the next token starts, often a line later.
    if (inSequence) node.line = sequenceEntryLine(mark, node.line);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    RawNode& node = add(NodeKind::kAlias, mark, YAML::NullAnchor);
    auto found = anchors_.find(anchor);
    if (found == anchors_.end()) {
      fail(errorAt(node, "the referenced anchor is not defined"));
    } else {
      node.target = found->second;
    }
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    RawNode& node = add(NodeKind::kScalar, mark, anchor);
    node.tag = tag;
    node.text = value;
    checkQuoteClosed(mark);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    RawNode& node = add(NodeKind::kSequence, mark, anchor);
    node.tag = tag;
    stack_.push_back(&node);
  }

  void OnSequenceEnd() override {
    if (!stack_.empty()) stack_.pop_back();
  }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    RawNode& node = add(NodeKind::kMapping, mark, anchor);
    node.tag = tag;
    stack_.push_back(&node);
  }

  void OnMapEnd() override {
    if (!stack_.empty()) stack_.pop_back();
  }

 private:
  RawNode& add(NodeKind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    nodes_.push_back(std::make_unique<RawNode>());
    RawNode& node = *nodes_.back();
    node.kind = kind;
    node.line = mark.is_null() ? 1 : mark.line + 1;
    node.column = mark.is_null() ? 1 : mark.column + 1;
    if (stack_.empty()) {
      if (root_ == nullptr) root_ = &node;
    } else {
      stack_.back()->children.push_back(&node);
    }
    if (anchor != YAML::NullAnchor) anchors_[anchor] = &node;
    return node;
  }

  void fail(YamlError error) {
    if (!error_) error_ = std::move(error);
  }

  // The line of the '-' that introduces an empty sequence entry, when it is the previous token.
  int sequenceEntryLine(const YAML::Mark& mark, int fallback) const {
    const std::string_view text = source_.text();
    if (mark.is_null() || mark.pos < 0) return fallback;
    std::size_t at = std::min(static_cast<std::size_t>(mark.pos), text.size());
    while (at > 0) {
      const char c = text[at - 1];
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
      --at;
    }
    if (at > 0 && text[at - 1] == '-') return source_.lineAt(at - 1);
    return fallback;
  }

  // yaml-cpp 0.7 accepts a quoted scalar that is never closed, reading to the end of the
  // stream; go-yaml (and so kubectl) rejects it. Find the opening quote past the node's
  // properties and look for its closing quote.
  void checkQuoteClosed(const YAML::Mark& mark) {
    const std::string_view text = source_.text();
    if (error_ || mark.is_null() || mark.pos < 0) return;
    std::size_t at = static_cast<std::size_t>(mark.pos);
    while (at < text.size()) {
      const char c = text[at];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++at;
      } else if (c == '#') {
        while (at < text.size() && text[at] != '\n') ++at;
      } else if (c == '!' || c == '&') {
        while (at < text.size() && text[at] != ' ' && text[at] != '\t' && text[at] != '\n' &&
               text[at] != '\r') {
          ++at;
        }
      } else {
        break;
      }
    }
    if (at >= text.size() || (text[at] != '"' && text[at] != '\'')) return;
    const char quote = text[at];
    for (std::size_t i = at + 1; i < text.size(); ++i) {
      if (quote == '"' && text[i] == '\\') {
        ++i;
      } else if (text[i] == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;
        } else {
          return;
        }
      }
    }
    fail(YamlError{source_.lineAt(at), source_.columnAt(at),
                   quote == '"' ? "unterminated double-quoted string: found the end of the input"
                                : "unterminated single-quoted string: found the end of the input"});
  }

  const SourceText& source_;
  std::vector<std::unique_ptr<RawNode>> nodes_;
  std::vector<RawNode*> stack_;
  std::unordered_map<YAML::anchor_t, RawNode*> anchors_;
  RawNode* root_ = nullptr;
  int start_ = -1;
  std::optional<YamlError> error_;
};

// ---------------------------------------------------------------------------------------------
// Resolution of the node tree into JSON, recording the line of every field path.

std::expected<Scalar, std::string> resolveScalar(const RawNode& node) {
  if (node.kind == NodeKind::kNull) {
    Scalar scalar;
    scalar.kind = Scalar::Kind::kNull;
    return scalar;
  }
  if (node.tag == "?") return resolvePlain(node.text);
  Scalar text;
  text.text = node.text;
  if (!std::string_view(node.tag).starts_with(kTagPrefix)) return text;  // "!", local tags
  const std::string_view name = std::string_view(node.tag).substr(kTagPrefix.size());
  if (name == "binary") {
    return std::unexpected(
        "!!binary values are not supported: write the base64 text as a plain string");
  }
  Scalar::Kind wanted;
  if (name == "null") {
    wanted = Scalar::Kind::kNull;
  } else if (name == "bool") {
    wanted = Scalar::Kind::kBool;
  } else if (name == "int") {
    wanted = Scalar::Kind::kInt;
  } else if (name == "float") {
    wanted = Scalar::Kind::kFloat;
  } else {
    return text;  // !!str, !!timestamp (kept as text by go-yaml v2) and unknown tags
  }
  Scalar resolved = resolvePlain(node.text);
  if (resolved.kind == Scalar::Kind::kUint && wanted == Scalar::Kind::kInt) return resolved;
  if (resolved.kind == wanted) return resolved;
  if (wanted == Scalar::Kind::kFloat && resolved.kind == Scalar::Kind::kInt) {
    resolved.kind = Scalar::Kind::kFloat;
    resolved.floating = static_cast<double>(resolved.integer);
    return resolved;
  }
  if (wanted == Scalar::Kind::kFloat && resolved.kind == Scalar::Kind::kUint) {
    resolved.kind = Scalar::Kind::kFloat;
    resolved.floating = static_cast<double>(resolved.unsignedInteger);
    return resolved;
  }
  return std::unexpected("cannot decode " + std::string(tagName(resolved.kind)) + " `" + node.text +
                         "` as a " + std::string(tagName(wanted)));
}

std::expected<JsonValue, std::string> scalarToJson(const Scalar& scalar) {
  switch (scalar.kind) {
    case Scalar::Kind::kNull:
      return JsonValue::null();
    case Scalar::Kind::kBool:
      return JsonValue::boolean(scalar.boolean);
    case Scalar::Kind::kInt:
      return JsonValue::number(scalar.integer);
    case Scalar::Kind::kUint:
      return JsonValue::number(scalar.unsignedInteger);
    case Scalar::Kind::kFloat: {
      const double number = scalar.floating;
      if (!std::isfinite(number)) {
        return std::unexpected("the value " + scalar.text +
                               " is not a finite number and cannot be represented in JSON");
      }
      // The JSON text kubectl produces for an integral float is an integer (1e3 -> 1000).
      constexpr double kTwoTo63 = 9223372036854775808.0;
      if (number == std::trunc(number) && number >= -kTwoTo63 && number < kTwoTo63) {
        return JsonValue::number(static_cast<std::int64_t>(number));
      }
      return JsonValue::number(number);
    }
    case Scalar::Kind::kString:
      break;
  }
  return JsonValue::string(scalar.text);
}

// The JSON member name sigs.k8s.io/yaml makes of a resolved key.
std::expected<std::string, std::string> keyToString(const Scalar& key) {
  switch (key.kind) {
    case Scalar::Kind::kString:
      return key.text;
    case Scalar::Kind::kInt:
      return std::to_string(key.integer);
    case Scalar::Kind::kBool:
      return std::string(key.boolean ? "true" : "false");
    case Scalar::Kind::kFloat:
      return formatGoFloatKey(key.floating);
    case Scalar::Kind::kUint:
      return std::unexpected("unsupported mapping key " + key.text +
                             ": integers beyond the int64 range cannot be keys");
    case Scalar::Kind::kNull:
      break;
  }
  return std::unexpected(std::string("unsupported mapping key: a key cannot be null"));
}

bool isMergeKey(const RawNode& key) {
  return key.kind == NodeKind::kScalar && key.text == "<<" &&
         (key.tag == "?" || key.tag == std::string(kTagPrefix) + "merge");
}

// Object members in document order; setting an existing member replaces it in place.
struct Members {
  std::vector<std::pair<std::string, JsonValue>> list;
  std::unordered_map<std::string, std::size_t> index;

  void set(std::string key, JsonValue member) {
    auto [it, inserted] = index.try_emplace(key, list.size());
    if (inserted) {
      list.emplace_back(std::move(key), std::move(member));
    } else {
      list[it->second].second = std::move(member);
    }
  }
};

class ConvertingGuard {
 public:
  explicit ConvertingGuard(RawNode& node) : node_(node) { node_.converting = true; }
  ~ConvertingGuard() { node_.converting = false; }
  ConvertingGuard(const ConvertingGuard&) = delete;
  ConvertingGuard& operator=(const ConvertingGuard&) = delete;

 private:
  RawNode& node_;
};

class Converter {
 public:
  Converter(std::map<std::string, int>& lines, std::size_t budget)
      : lines_(lines), budget_(budget) {}

  std::expected<JsonValue, YamlError> convert(RawNode& node, const std::string& path, int line,
                                              int depth) {
    if (depth > kMaxDepth) {
      return std::unexpected(
          errorAt(node, "the document nests deeper than " + std::to_string(kMaxDepth) + " levels"));
    }
    if (budget_ == 0) {
      return std::unexpected(
          errorAt(node, "aliases expand the document to too many nodes (more than " +
                            std::to_string(kMaxAliasExpansion) + " beyond its own)"));
    }
    --budget_;
    lines_[path] = line;
    RawNode* target = &node;
    if (node.kind == NodeKind::kAlias) {
      target = node.target;
      if (target == nullptr) return std::unexpected(errorAt(node, "undefined alias"));
      if (target->converting) {
        return std::unexpected(errorAt(node, "an alias refers to a node that contains it"));
      }
    }
    switch (target->kind) {
      case NodeKind::kSequence: {
        ConvertingGuard guard(*target);
        std::vector<JsonValue> elements;
        elements.reserve(target->children.size());
        for (std::size_t i = 0; i < target->children.size(); ++i) {
          RawNode& child = *target->children[i];
          auto element = convert(child, indexFieldPath(path, i), child.line, depth + 1);
          if (!element) return std::unexpected(std::move(element.error()));
          elements.push_back(std::move(*element));
        }
        return JsonValue::array(std::move(elements));
      }
      case NodeKind::kMapping: {
        ConvertingGuard guard(*target);
        Members members;
        std::unordered_set<std::string> explicitKeys;
        if (auto added = addMembers(*target, path, members, &explicitKeys, depth); !added) {
          return std::unexpected(std::move(added.error()));
        }
        return JsonValue::object(std::move(members.list), /*keep_order=*/true);
      }
      case NodeKind::kNull:
      case NodeKind::kScalar:
      case NodeKind::kAlias:
        break;
    }
    auto scalar = resolveScalar(*target);
    if (!scalar) return std::unexpected(errorAt(*target, std::move(scalar.error())));
    auto converted = scalarToJson(*scalar);
    if (!converted) return std::unexpected(errorAt(*target, std::move(converted.error())));
    return std::move(*converted);
  }

 private:
  // Adds the entries of `mapping` to `members`. Duplicates are checked among the mapping's own
  // keys (explicitKeys); entries merged in with << may be overridden without complaint.
  std::expected<void, YamlError> addMembers(RawNode& mapping, const std::string& path,
                                            Members& members,
                                            std::unordered_set<std::string>* explicitKeys,
                                            int depth) {
    for (std::size_t i = 0; i + 1 < mapping.children.size(); i += 2) {
      RawNode& keyNode = *mapping.children[i];
      RawNode& valueNode = *mapping.children[i + 1];
      if (isMergeKey(keyNode)) {
        if (auto merged = merge(valueNode, path, members, depth); !merged) return merged;
        continue;
      }
      const RawNode* key = keyNode.kind == NodeKind::kAlias ? keyNode.target : &keyNode;
      if (key == nullptr) return std::unexpected(errorAt(keyNode, "undefined alias"));
      if (key->kind == NodeKind::kSequence || key->kind == NodeKind::kMapping) {
        return std::unexpected(errorAt(
            keyNode,
            "mapping keys must be scalars (strings, numbers or booleans), not " +
                std::string(key->kind == NodeKind::kSequence ? "a sequence" : "a mapping")));
      }
      auto scalar = resolveScalar(*key);
      if (!scalar) return std::unexpected(errorAt(keyNode, std::move(scalar.error())));
      auto name = keyToString(*scalar);
      if (!name) return std::unexpected(errorAt(keyNode, std::move(name.error())));
      if (explicitKeys != nullptr && !explicitKeys->insert(*name).second) {
        return std::unexpected(errorAt(keyNode, "duplicate key \"" + *name + "\""));
      }
      auto member = convert(valueNode, joinFieldPath(path, *name), keyNode.line, depth + 1);
      if (!member) return std::unexpected(std::move(member.error()));
      members.set(std::move(*name), std::move(*member));
    }
    return {};
  }

  // go-yaml v2: a merged mapping is applied where the << entry stands; in a merged list the
  // earlier mappings win, so they are applied last.
  std::expected<void, YamlError> merge(RawNode& valueNode, const std::string& path,
                                       Members& members, int depth) {
    constexpr std::string_view kWantMap = "map merge requires map or sequence of maps as the value";
    RawNode* source = valueNode.kind == NodeKind::kAlias ? valueNode.target : &valueNode;
    if (source == nullptr) return std::unexpected(errorAt(valueNode, "undefined alias"));
    if (source->kind == NodeKind::kMapping)
      return mergeMapping(valueNode, *source, path, members, depth);
    if (source->kind != NodeKind::kSequence) {
      return std::unexpected(errorAt(valueNode, std::string(kWantMap)));
    }
    for (auto it = source->children.rbegin(); it != source->children.rend(); ++it) {
      RawNode& element = **it;
      RawNode* mapping = element.kind == NodeKind::kAlias ? element.target : &element;
      if (mapping == nullptr || mapping->kind != NodeKind::kMapping) {
        return std::unexpected(errorAt(element, std::string(kWantMap)));
      }
      if (auto merged = mergeMapping(element, *mapping, path, members, depth); !merged) {
        return merged;
      }
    }
    return {};
  }

  std::expected<void, YamlError> mergeMapping(const RawNode& reference, RawNode& mapping,
                                              const std::string& path, Members& members,
                                              int depth) {
    if (mapping.converting) {
      return std::unexpected(errorAt(reference, "a merge refers to a mapping that contains it"));
    }
    if (depth + 1 > kMaxDepth) {
      return std::unexpected(errorAt(
          reference, "the document nests deeper than " + std::to_string(kMaxDepth) + " levels"));
    }
    ConvertingGuard guard(mapping);
    return addMembers(mapping, path, members, nullptr, depth + 1);
  }

  std::map<std::string, int>& lines_;
  std::size_t budget_;
};

// ---------------------------------------------------------------------------------------------
// Emitting YAML.

// Decodes one UTF-8 sequence at `at`; returns the code point and advances `at`, or nullopt for
// bytes that are not valid UTF-8 (then `at` moves one byte).
std::optional<char32_t> nextCodePoint(std::string_view text, std::size_t& at) {
  const std::optional<Utf8Sequence> sequence = decodeUtf8(text, at);
  at += sequence ? sequence->length : 1;
  if (!sequence) return std::nullopt;
  return sequence->codePoint;
}

// Characters YAML 1.2 does not allow anywhere in a stream (outside its c-printable set; go-yaml
// refuses the same ones). Surrogates and code points beyond U+10FFFF are not UTF-8 at all.
bool notPrintable(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r' || c == 0x85) return false;
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xFFFE || c == 0xFFFF;
}

// `value` as `digits` upper-case hexadecimal digits.
std::string hexDigits(char32_t value, int digits) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
    out.push_back(kHex[(value >> shift) & 0xF]);
  }
  return out;
}

// Characters YAML does not allow unescaped (and the line breaks it knows besides \n).
bool needsEscape(char32_t c) {
  return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
         c == 0xFEFF || c == 0xFFFE || c == 0xFFFF;
}

// Whether every character may appear unescaped; `allowNewline` for literal blocks.
bool printable(std::string_view text, bool allowNewline) {
  for (std::size_t at = 0; at < text.size();) {
    auto c = nextCodePoint(text, at);
    if (!c) return false;
    if (*c == '\n' && allowNewline) continue;
    if (needsEscape(*c)) return false;
  }
  return true;
}

bool canBePlain(std::string_view text) {
  if (text.empty() || text == "<<") return false;
  // Indicators, and what could start a number: those are quoted whatever they resolve to.
  constexpr std::string_view kNotFirst = "-?:,[]{}#&*!|>'\"%@` \t+.0123456789";
  if (kNotFirst.find(text.front()) != std::string_view::npos) return false;
  if (text.back() == ' ' || text.back() == ':') return false;
  if (text.find(": ") != std::string_view::npos || text.find(" #") != std::string_view::npos) {
    return false;
  }
  if (text.find('\t') != std::string_view::npos) return false;
  if (resolvePlain(text).kind != Scalar::Kind::kString) return false;
  return printable(text, /*allowNewline=*/false);
}

// Multi-line text that reads back unchanged from a literal block ("|" or "|-").
bool canBeLiteral(std::string_view text) {
  if (text.find('\n') == std::string_view::npos) return false;
  if (text.front() == ' ' || text.front() == '\n') return false;
  if (text.ends_with("\n\n")) return false;
  if (text.find('\t') != std::string_view::npos || text.find('\r') != std::string_view::npos) {
    return false;
  }
  if (!printable(text, /*allowNewline=*/true)) return false;
  std::string_view body = text.ends_with('\n') ? text.substr(0, text.size() - 1) : text;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(start, end - start);
    // A line of only spaces is ambiguous with the indentation.
    if (!line.empty() && line.find_first_not_of(' ') == std::string_view::npos) return false;
    start = end + 1;
  }
  return true;
}

std::string doubleQuoted(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out = "\"";
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t start = at;
    auto c = nextCodePoint(text, at);
    if (!c) {
      // Not UTF-8 (only code can build such a string: both readers replace or refuse those
      // bytes). Passed through, they made text that parseYamlDocuments refuses (found by fuzzing
      // yaml); U+FFFD per byte is what toJson writes for them too.
      out += "\\uFFFD";
      continue;
    }
    switch (*c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case 0:
        out += "\\0";
        continue;
      default:
        break;
    }
    if (*c < 0x80 && needsEscape(*c)) {
      out += "\\x";
      out.push_back(kHex[(*c >> 4) & 0xF]);
      out.push_back(kHex[*c & 0xF]);
    } else if (needsEscape(*c)) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(*c >> shift) & 0xF]);
    } else {
      out.append(text.substr(start, at - start));
    }
  }
  out.push_back('"');
  return out;
}

std::string stringText(std::string_view text) {
  return canBePlain(text) ? std::string(text) : doubleQuoted(text);
}

std::string numberText(const JsonValue& number) {
  if (number.is_integer()) {
    const auto& n = number.as_number();
    return n.is_int64() ? std::to_string(n.to_int64()) : std::to_string(n.to_uint64());
  }
  const double d = number.as_double();
  if (std::isnan(d)) return ".nan";
  if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  std::array<char, 32> buffer{};
  auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), d);
  return std::string(buffer.data(), result.ptr);
}

// A scalar, or an empty collection, on one line.
std::string inlineText(const JsonValue& node) {
  switch (node.type()) {
    case JsonValue::Null:
      return "null";
    case JsonValue::Boolean:
      return node.as_bool() ? "true" : "false";
    case JsonValue::Number:
      return numberText(node);
    case JsonValue::String:
      return stringText(node.as_string());
    case JsonValue::Object:
      return "{}";
    case JsonValue::Array:
      return "[]";
  }
  return "null";
}

constexpr std::size_t kMaxImplicitKeyBytes = 1024;

class YamlWriter {
 public:
  std::string take() { return std::move(out_); }

  void document(const JsonValue& node) {
    if (isBlockCollection(node)) {
      node.is_object() ? mapping(node, 0, false) : sequence(node, 0, false);
    } else if (isLiteral(node)) {
      literal(node.as_string(), 0);
    } else {
      out_ += inlineText(node);
      out_ += '\n';
    }
  }

 private:
  static bool isBlockCollection(const JsonValue& node) {
    return (node.is_object() || node.is_array()) && node.size() > 0;
  }

  static bool isLiteral(const JsonValue& node) {
    return node.is_string() && canBeLiteral(node.as_string());
  }

  void indent(int columns) { out_.append(static_cast<std::size_t>(columns), ' '); }

  // `firstInline`: the first entry continues a line already started ("- " of a list element).
  void mapping(const JsonValue& node, int column, bool firstInline) {
    bool first = true;
    for (const auto& [key, member] : node.as_object()) {
      if (!first || !firstInline) indent(column);
      first = false;
      const std::string keyText = stringText(key);
      if (keyText.size() > kMaxImplicitKeyBytes) {
        // YAML limits an implicit key ("key: value") to 1024 characters; yaml-cpp counts bytes,
        // go-yaml characters, so bytes satisfy both. A longer key, which a document can hold as
        // "? key" (found by fuzzing yaml, corpus yaml/long-explicit-key.yaml), is written in
        // that explicit form, its value after ':' on the next line.
        out_ += "? ";
        out_ += keyText;
        out_ += '\n';
        indent(column);
      } else {
        out_ += keyText;
      }
      out_ += ':';
      if (member.is_object() && member.size() > 0) {
        out_ += '\n';
        mapping(member, column + 2, false);
      } else if (member.is_array() && member.size() > 0) {
        out_ += '\n';
        sequence(member, column, false);  // kubectl style: list items level with the key
      } else {
        out_ += ' ';
        scalarOrLiteral(member, column);
      }
    }
  }

  void sequence(const JsonValue& node, int column, bool firstInline) {
    bool first = true;
    for (const auto& element : node.as_array()) {
      if (!first || !firstInline) indent(column);
      first = false;
      out_ += "- ";
      if (element.is_object() && element.size() > 0) {
        mapping(element, column + 2, true);
      } else if (element.is_array() && element.size() > 0) {
        sequence(element, column + 2, true);
      } else {
        scalarOrLiteral(element, column);
      }
    }
  }

  // After "key: " or "- "; `column` is the indentation of that key or dash.
  void scalarOrLiteral(const JsonValue& node, int column) {
    if (isLiteral(node)) {
      literal(node.as_string(), column);
    } else {
      out_ += inlineText(node);
      out_ += '\n';
    }
  }

  void literal(std::string_view text, int column) {
    const bool endsWithNewline = text.ends_with('\n');
    out_ += endsWithNewline ? "|\n" : "|-\n";
    if (endsWithNewline) text.remove_suffix(1);
    std::size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(start, end - start);
      if (!line.empty()) {
        indent(column + 2);
        out_.append(line);
      }
      out_ += '\n';
      start = end + 1;
    }
  }

  std::string out_;
};

}  // namespace

std::expected<std::vector<YamlDocument>, YamlError> parseYamlDocuments(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  const std::string buffer(text);
  const SourceText source(buffer);
  // go-yaml, and so kubectl, refuses text that is not UTF-8. yaml-cpp would pass such bytes into
  // keys and strings, and from there into JSON reports that no JSON reader accepts.
  // go-yaml also refuses characters YAML does not allow raw (control characters, see
  // notPrintable), anywhere in the text. yaml-cpp accepts them, and worse, guesses UTF-16 or
  // UTF-32 from NUL bytes at the start of the text: it read "\x01\0\0\0..." as UTF-32 and
  // handed back code points beyond U+10FFFF as bytes that are not UTF-8 (found by fuzzing yaml,
  // corpus yaml/control-characters-read-as-utf32.yaml). Refusing them here keeps yaml-cpp reading
  // UTF-8 only.
  for (std::size_t at = 0; at < buffer.size();) {
    const std::size_t start = at;
    const std::optional<char32_t> c = nextCodePoint(buffer, at);
    if (!c) {
      const auto byte = static_cast<unsigned char>(buffer[start]);
      return std::unexpected(
          YamlError{source.lineAt(start), source.columnAt(start),
                    "invalid UTF-8 (byte 0x" + hexDigits(byte, 2) +
                        "): YAML must be UTF-8 encoded; save the file as UTF-8"});
    }
    if (notPrintable(*c)) {
      const bool control = *c < 0xA0;
      const std::string escape = *c < 0x100 ? "\\x" + hexDigits(*c, 2) : "\\u" + hexDigits(*c, 4);
      return std::unexpected(YamlError{
          source.lineAt(start), source.columnAt(start),
          std::string(control ? "control character" : "character") + " U+" + hexDigits(*c, 4) +
              " is not allowed in YAML (kubectl refuses it too); to have it in a value, write "
              "the escape " +
              escape + " inside a double-quoted string"});
    }
  }
  std::vector<YamlDocument> documents;
  std::optional<TreeBuilder> builder;  // outside the try: its error explains a later exception
  try {
    std::istringstream input(buffer);
    YAML::Parser parser(input);
    int previousStart = -1;
    while (true) {
      builder.emplace(source);
      if (!parser.HandleNextDocument(*builder)) break;
      if (builder->error()) return std::unexpected(*builder->error());
      // yaml-cpp 0.7 reports empty documents forever, without moving on, at a stray ',' outside
      // a flow collection. Two documents cannot start at the same place otherwise.
      const int start = builder->start();
      if (start >= 0 && start == previousStart) {
        const auto at = static_cast<std::size_t>(start);
        std::string message = "did not find expected node content";
        if (at < buffer.size()) message += std::string(" (found '") + buffer[at] + "')";
        return std::unexpected(YamlError{source.lineAt(at), source.columnAt(at), message});
      }
      previousStart = start;
      RawNode* root = builder->root();
      if (root == nullptr) continue;
      YamlDocument document;
      document.line = root->line;
      Converter converter(document.lines, builder->nodeCount() + kMaxAliasExpansion);
      auto converted = converter.convert(*root, "", root->line, 0);
      if (!converted) return std::unexpected(std::move(converted.error()));
      if (converted->is_null()) continue;
      document.value = std::move(*converted);
      documents.push_back(std::move(document));
    }
  } catch (const YAML::Exception& error) {
    if (builder && builder->error()) return std::unexpected(*builder->error());
    if (error.mark.is_null()) return std::unexpected(YamlError{source.lineCount(), 1, error.msg});
    return std::unexpected(YamlError{error.mark.line + 1, error.mark.column + 1, error.msg});
  } catch (const std::exception& error) {
    return std::unexpected(YamlError{1, 1, error.what()});
  }
  return documents;
}

int lineOf(const YamlDocument& document, std::string_view path) {
  std::string current(path);
  while (true) {
    if (auto found = document.lines.find(current); found != document.lines.end()) {
      return found->second;
    }
    if (current.empty()) return document.line;
    current = parentFieldPath(current);
  }
}

std::string toYaml(const web::json::value& value) {
  YamlWriter writer;
  writer.document(value);
  return writer.take();
}

}  // namespace billing::common
