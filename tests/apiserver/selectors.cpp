#include "tests/apiserver/selectors.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

#include "tests/apiserver/go_text.h"

namespace billing::apiserver {
namespace {

using JsonValue = web::json::value;

using gotext::quote;
using gotext::utf8SequenceLength;

// The JSON text json.Marshal gives a []string, as field.Invalid prints non-string bad values.
std::string jsonStringList(const std::vector<std::string>& values, bool nilWhenEmpty) {
  if (values.empty() && nilWhenEmpty) return "null";
  JsonValue array = JsonValue::array();
  for (std::size_t i = 0; i < values.size(); ++i) array[i] = JsonValue::string(values[i]);
  return common::toJson(array);
}

std::string joinStrings(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

// field.Error.Error() for ErrorTypeInvalid: "<path>: Invalid value: <value>: <detail>"; a nil
// *field.Path prints as "<nil>".
std::string invalidFieldError(std::string_view path, std::string_view quotedValue,
                              std::string_view detail) {
  std::string out(path);
  out += ": Invalid value: ";
  out += quotedValue;
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

// utilerrors.NewAggregate(...).Error(): one message alone, several deduplicated in brackets.
std::string aggregateError(const std::vector<std::string>& errors) {
  if (errors.size() == 1) return errors.front();
  std::vector<std::string> unique;
  for (const auto& error : errors) {
    if (std::find(unique.begin(), unique.end(), error) == unique.end()) unique.push_back(error);
  }
  if (unique.size() == 1) return unique.front();
  return "[" + joinStrings(unique, ", ") + "]";
}

// ---- pkg/util/validation ---------------------------------------------------------------------

constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kDns1123SubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view kDns1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::size_t kQualifiedNameMaxLength = 63;
constexpr std::size_t kLabelValueMaxLength = 63;
constexpr std::size_t kDns1123SubdomainMaxLength = 253;

// validation.RegexError, double space before "or" included.
std::string regexError(std::string_view message, std::string_view format,
                       std::initializer_list<std::string_view> examples) {
  std::string out(message);
  if (examples.size() == 0) {
    out += " (regex used for validation is '";
    out += format;
    out += "')";
    return out;
  }
  out += " (e.g. ";
  bool first = true;
  for (const auto example : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'";
    out += example;
    out += "', ";
  }
  out += "regex used for validation is '";
  out += format;
  out += "')";
  return out;
}

std::string maxLenError(std::size_t length) {
  return "must be no more than " + std::to_string(length) + " characters";
}

bool isAlphanumeric(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool matchesQualifiedName(std::string_view name) {
  if (name.empty() || !isAlphanumeric(name.front()) || !isAlphanumeric(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return isAlphanumeric(c) || c == '-' || c == '_' || c == '.'; });
}

bool isDns1123LabelChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool matchesDns1123Subdomain(std::string_view value) {
  if (value.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = value.find('.', start);
    const auto label = value.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !isDns1123LabelChar(label.front()) || !isDns1123LabelChar(label.back())) {
      return false;
    }
    if (!std::all_of(label.begin(), label.end(),
                     [](char c) { return isDns1123LabelChar(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::vector<std::string> isDns1123Subdomain(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123SubdomainMaxLength) {
    errors.push_back(maxLenError(kDns1123SubdomainMaxLength));
  }
  if (!matchesDns1123Subdomain(value)) {
    errors.push_back(regexError(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt, {"example.com"}));
  }
  return errors;
}

// ---- labels.Parse ----------------------------------------------------------------------------

enum class Token {
  kError,
  kEndOfString,
  kClosedPar,
  kComma,
  kDoesNotExist,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

struct ScannedItem {
  Token token;
  std::string literal;
};

std::optional<Token> literalToken(std::string_view text) {
  if (text == ")") return Token::kClosedPar;
  if (text == ",") return Token::kComma;
  if (text == "!") return Token::kDoesNotExist;
  if (text == "==") return Token::kDoubleEquals;
  if (text == "=") return Token::kEquals;
  if (text == ">") return Token::kGreaterThan;
  if (text == "in") return Token::kIn;
  if (text == "<") return Token::kLessThan;
  if (text == "!=") return Token::kNotEquals;
  if (text == "notin") return Token::kNotIn;
  if (text == "(") return Token::kOpenPar;
  return std::nullopt;
}

bool isWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool isSpecialSymbol(char c) {
  switch (c) {
    case '=':
    case '!':
    case '(':
    case ')':
    case ',':
    case '>':
    case '<':
      return true;
    default:
      return false;
  }
}

// The lexer of pkg/labels: identifiers run until whitespace or a special symbol; special symbols
// are read greedily as long as they still form a token. Go reads byte 0 as end of input, so does
// this.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  ScannedItem lex() {
    char c = read();
    while (isWhitespace(c)) c = read();
    if (c == 0) return {Token::kEndOfString, ""};
    unread();
    return isSpecialSymbol(c) ? scanSpecialSymbol() : scanIdentifierOrKeyword();
  }

 private:
  // Like Go's Lexer.read: at the end it returns 0 without moving, so unread() after it is never
  // called; a NUL byte inside the text ends the current token and moves on.
  char read() { return position_ < text_.size() ? text_[position_++] : '\0'; }
  void unread() { --position_; }

  ScannedItem scanIdentifierOrKeyword() {
    std::string buffer;
    while (true) {
      const char c = read();
      if (c == 0) break;
      if (isSpecialSymbol(c) || isWhitespace(c)) {
        unread();
        break;
      }
      buffer += c;
    }
    if (auto token = literalToken(buffer)) return {*token, buffer};
    return {Token::kIdentifier, buffer};
  }

  ScannedItem scanSpecialSymbol() {
    std::optional<ScannedItem> last;
    std::string buffer;
    while (true) {
      const char c = read();
      if (c == 0) break;
      if (!isSpecialSymbol(c)) {
        unread();
        break;
      }
      buffer += c;
      if (auto token = literalToken(buffer)) {
        last = ScannedItem{*token, buffer};
      } else if (last) {
        unread();
        break;
      }
    }
    if (!last) return {Token::kError, "error expected: keyword found '" + buffer + "'"};
    return *last;
  }

  std::string_view text_;
  std::size_t position_ = 0;
};

enum class Context { kKeyAndOperator, kValues };

using Result = std::expected<LabelRequirement, std::string>;

std::optional<std::string> validateLabelKey(std::string_view key, std::string_view path) {
  if (auto errors = isQualifiedName(key); !errors.empty()) {
    return invalidFieldError(path, quote(key), joinStrings(errors, "; "));
  }
  return std::nullopt;
}

std::optional<std::string> validateLabelValue(std::string_view key, std::string_view value,
                                              std::string_view path) {
  if (auto errors = isValidLabelValue(value); !errors.empty()) {
    std::string keyed(path);
    keyed += "[" + std::string(key) + "]";
    return invalidFieldError(keyed, quote(value), joinStrings(errors, "; "));
  }
  return std::nullopt;
}

bool parseInt64(std::string_view text, std::int64_t& out) {
  // strconv.ParseInt(s, 10, 64): one optional sign, decimal digits, nothing else.
  bool signSeen = false;
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    signSeen = true;
  }
  if (text.empty() || text.front() == '+' || (signSeen && text.front() == '-')) return false;
  const auto* begin = text.data();
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end;
}

std::string_view operatorName(SelectorOperator op) {
  switch (op) {
    case SelectorOperator::kIn:
      return "in";
    case SelectorOperator::kNotIn:
      return "notin";
    case SelectorOperator::kEquals:
      return "=";
    case SelectorOperator::kDoubleEquals:
      return "==";
    case SelectorOperator::kNotEquals:
      return "!=";
    case SelectorOperator::kExists:
      return "exists";
    case SelectorOperator::kDoesNotExist:
      return "!";
    case SelectorOperator::kGreaterThan:
      return "gt";
    case SelectorOperator::kLessThan:
      return "lt";
  }
  return "";
}

std::vector<std::string> sortedUnique(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

// labels.NewRequirement with a nil field path: "key", "values", "values[i]" name the parts, and
// every problem found is reported (aggregated), in kubernetes' order.
Result newRequirement(std::string key, SelectorOperator op, std::vector<std::string> values) {
  std::vector<std::string> errors;
  if (auto error = validateLabelKey(key, "key")) errors.push_back(*error);
  switch (op) {
    case SelectorOperator::kIn:
    case SelectorOperator::kNotIn:
      if (values.empty()) {
        errors.push_back(
            invalidFieldError("values", jsonStringList(values, true),
                              "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case SelectorOperator::kEquals:
    case SelectorOperator::kDoubleEquals:
    case SelectorOperator::kNotEquals:
      if (values.size() != 1) {
        errors.push_back(invalidFieldError("values", jsonStringList(values, true),
                                           "exact-match compatibility requires one single value"));
      }
      break;
    case SelectorOperator::kExists:
    case SelectorOperator::kDoesNotExist:
      if (!values.empty()) {
        errors.push_back(
            invalidFieldError("values", jsonStringList(values, false),
                              "values set must be empty for exists and does not exist"));
      }
      break;
    case SelectorOperator::kGreaterThan:
    case SelectorOperator::kLessThan:
      if (values.size() != 1) {
        errors.push_back(
            invalidFieldError("values", jsonStringList(values, true),
                              "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      for (std::size_t i = 0; i < values.size(); ++i) {
        std::int64_t ignored = 0;
        if (!parseInt64(values[i], ignored)) {
          errors.push_back(
              invalidFieldError("values[" + std::to_string(i) + "]", quote(values[i]),
                                "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      }
      break;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (auto error = validateLabelValue(key, values[i], "values[" + std::to_string(i) + "]")) {
      errors.push_back(*error);
    }
  }
  if (!errors.empty()) return std::unexpected(aggregateError(errors));
  return LabelRequirement{std::move(key), op, std::move(values)};
}

class Parser {
 public:
  explicit Parser(std::string_view text) {
    Lexer lexer(text);
    while (true) {
      items_.push_back(lexer.lex());
      if (items_.back().token == Token::kEndOfString) break;
    }
  }

  std::expected<std::vector<LabelRequirement>, std::string> parse() {
    std::vector<LabelRequirement> requirements;
    while (true) {
      const auto [token, literal] = lookahead(Context::kValues);
      switch (token) {
        case Token::kIdentifier:
        case Token::kDoesNotExist: {
          auto requirement = parseRequirement();
          if (!requirement) {
            return std::unexpected("unable to parse requirement: " + requirement.error());
          }
          requirements.push_back(std::move(*requirement));
          const auto [next, nextLiteral] = consume(Context::kValues);
          if (next == Token::kEndOfString) return requirements;
          if (next != Token::kComma) {
            return std::unexpected("found '" + nextLiteral + "', expected: ',' or 'end of string'");
          }
          const auto [after, afterLiteral] = lookahead(Context::kValues);
          if (after != Token::kIdentifier && after != Token::kDoesNotExist) {
            return std::unexpected("found '" + afterLiteral + "', expected: identifier after ','");
          }
          break;
        }
        case Token::kEndOfString:
          return requirements;
        default:
          return std::unexpected("found '" + literal +
                                 "', expected: !, identifier, or 'end of string'");
      }
    }
  }

 private:
  // Past the end the parser keeps seeing the end of the string (Go would index out of range
  // there, but no path of the grammar gets that far).
  const ScannedItem& itemAt(std::size_t index) const {
    return index < items_.size() ? items_[index] : items_.back();
  }

  static std::pair<Token, std::string> inContext(const ScannedItem& item, Context context) {
    Token token = item.token;
    if (context == Context::kValues && (token == Token::kIn || token == Token::kNotIn)) {
      token = Token::kIdentifier;
    }
    return {token, item.literal};
  }

  std::pair<Token, std::string> lookahead(Context context) const {
    return inContext(itemAt(position_), context);
  }

  std::pair<Token, std::string> consume(Context context) {
    return inContext(itemAt(position_++), context);
  }

  Result parseRequirement() {
    std::optional<SelectorOperator> op;
    auto [token, literal] = consume(Context::kValues);
    if (token == Token::kDoesNotExist) {
      op = SelectorOperator::kDoesNotExist;
      std::tie(token, literal) = consume(Context::kValues);
    }
    if (token != Token::kIdentifier) {
      return std::unexpected("found '" + literal + "', expected: identifier");
    }
    if (auto error = validateLabelKey(literal, "<nil>")) return std::unexpected(*error);
    const auto next = lookahead(Context::kValues).first;
    if ((next == Token::kEndOfString || next == Token::kComma) && !op) {
      op = SelectorOperator::kExists;
    }
    if (op) return newRequirement(literal, *op, {});

    auto parsedOperator = parseOperator();
    if (!parsedOperator) return std::unexpected(parsedOperator.error());
    std::expected<std::vector<std::string>, std::string> values;
    if (*parsedOperator == SelectorOperator::kIn || *parsedOperator == SelectorOperator::kNotIn) {
      values = parseValues();
    } else {
      values = parseExactValue();
    }
    if (!values) return std::unexpected(values.error());
    return newRequirement(literal, *parsedOperator, sortedUnique(std::move(*values)));
  }

  std::expected<SelectorOperator, std::string> parseOperator() {
    const auto [token, literal] = consume(Context::kKeyAndOperator);
    switch (token) {
      case Token::kIn:
        return SelectorOperator::kIn;
      case Token::kEquals:
        return SelectorOperator::kEquals;
      case Token::kDoubleEquals:
        return SelectorOperator::kDoubleEquals;
      case Token::kGreaterThan:
        return SelectorOperator::kGreaterThan;
      case Token::kLessThan:
        return SelectorOperator::kLessThan;
      case Token::kNotIn:
        return SelectorOperator::kNotIn;
      case Token::kNotEquals:
        return SelectorOperator::kNotEquals;
      default:
        return std::unexpected("found '" + literal + "', expected: in, notin, =, ==, !=, gt, lt");
    }
  }

  std::expected<std::vector<std::string>, std::string> parseValues() {
    const auto [open, openLiteral] = consume(Context::kValues);
    if (open != Token::kOpenPar)
      return std::unexpected("found '" + openLiteral + "' expected: '('");
    const auto [token, literal] = lookahead(Context::kValues);
    switch (token) {
      case Token::kIdentifier:
      case Token::kComma: {
        auto values = parseIdentifiersList();
        if (!values) return values;
        if (consume(Context::kValues).first != Token::kClosedPar) {
          return std::unexpected("found '" + literal + "', expected: ')'");
        }
        return values;
      }
      case Token::kClosedPar:
        consume(Context::kValues);
        return std::vector<std::string>{""};
      default:
        return std::unexpected("found '" + literal + "', expected: ',', ')' or identifier");
    }
  }

  std::expected<std::vector<std::string>, std::string> parseIdentifiersList() {
    std::vector<std::string> values;
    while (true) {
      const auto [token, literal] = consume(Context::kValues);
      switch (token) {
        case Token::kIdentifier: {
          values.push_back(literal);
          const auto [next, nextLiteral] = lookahead(Context::kValues);
          if (next == Token::kComma) continue;
          if (next == Token::kClosedPar) return values;
          return std::unexpected("found '" + nextLiteral + "', expected: ',' or ')'");
        }
        case Token::kComma: {
          // "(,", ",)" and ",," stand for empty values.
          if (values.empty()) values.emplace_back();
          const auto next = lookahead(Context::kValues).first;
          if (next == Token::kClosedPar) {
            values.emplace_back();
            return values;
          }
          if (next == Token::kComma) {
            consume(Context::kValues);
            values.emplace_back();
          }
          break;
        }
        default:
          return std::unexpected("found '" + literal + "', expected: ',', or identifier");
      }
    }
  }

  std::expected<std::vector<std::string>, std::string> parseExactValue() {
    const auto next = lookahead(Context::kValues).first;
    if (next == Token::kEndOfString || next == Token::kComma) return std::vector<std::string>{""};
    const auto [token, literal] = consume(Context::kValues);
    if (token == Token::kIdentifier) return std::vector<std::string>{literal};
    return std::unexpected("found '" + literal + "', expected: identifier");
  }

  std::vector<ScannedItem> items_;
  std::size_t position_ = 0;
};

void sortByKey(std::vector<LabelRequirement>& requirements) {
  std::stable_sort(requirements.begin(), requirements.end(),
                   [](const auto& left, const auto& right) { return left.key < right.key; });
}

bool hasValue(const LabelRequirement& requirement, const std::string& value) {
  return std::binary_search(requirement.values.begin(), requirement.values.end(), value);
}

bool requirementMatches(const LabelRequirement& requirement,
                        const std::map<std::string, std::string>& labels) {
  const auto found = labels.find(requirement.key);
  switch (requirement.op) {
    case SelectorOperator::kIn:
    case SelectorOperator::kEquals:
    case SelectorOperator::kDoubleEquals:
      return found != labels.end() && hasValue(requirement, found->second);
    case SelectorOperator::kNotIn:
    case SelectorOperator::kNotEquals:
      return found == labels.end() || !hasValue(requirement, found->second);
    case SelectorOperator::kExists:
      return found != labels.end();
    case SelectorOperator::kDoesNotExist:
      return found == labels.end();
    case SelectorOperator::kGreaterThan:
    case SelectorOperator::kLessThan: {
      if (found == labels.end() || requirement.values.size() != 1) return false;
      std::int64_t actual = 0;
      std::int64_t bound = 0;
      if (!parseInt64(found->second, actual) || !parseInt64(requirement.values.front(), bound)) {
        return false;
      }
      return requirement.op == SelectorOperator::kGreaterThan ? actual > bound : actual < bound;
    }
  }
  return false;
}

// ---- fields ----------------------------------------------------------------------------------

// Terms split at commas that no backslash escapes; the backslashes stay in the terms.
std::vector<std::string> splitFieldTerms(std::string_view text) {
  std::vector<std::string> terms;
  if (text.empty()) return terms;
  std::size_t start = 0;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (escaped) {
      escaped = false;
    } else if (text[i] == '\\') {
      escaped = true;
    } else if (text[i] == ',') {
      terms.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.emplace_back(text.substr(start));
  return terms;
}

std::expected<std::string, std::string> unescapeFieldValue(std::string_view text) {
  if (text.find_first_of("\\,=") == std::string_view::npos) return std::string(text);
  std::string out;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = std::max<std::size_t>(1, utf8SequenceLength(text, i));
    const auto rune = text.substr(i, length);
    if (escaped) {
      if (rune != "\\" && rune != "," && rune != "=") {
        return std::unexpected("invalid field selector: invalid escape sequence: \\" +
                               std::string(rune));
      }
      out += rune;
      escaped = false;
    } else if (rune == "\\") {
      escaped = true;
    } else if (rune == "," || rune == "=") {
      return std::unexpected("invalid field selector: unescaped character in value: " +
                             std::to_string(static_cast<int>(rune.front())));
    } else {
      out += rune;
    }
    i += length;
  }
  if (escaped)
    return std::unexpected(std::string("invalid field selector: invalid escape sequence: \\"));
  return out;
}

}  // namespace

// ---- public: validation ----------------------------------------------------------------------

std::vector<std::string> isQualifiedName(std::string_view value) {
  std::vector<std::string> errors;
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto slash = value.find('/', start);
    parts.push_back(value.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string_view name;
  if (parts.size() == 1) {
    name = parts[0];
  } else if (parts.size() == 2) {
    const auto prefix = parts[0];
    name = parts[1];
    if (prefix.empty()) {
      errors.emplace_back("prefix part must be non-empty");
    } else {
      for (auto& message : isDns1123Subdomain(prefix)) errors.push_back("prefix part " + message);
    }
  } else {
    errors.push_back(
        "a qualified name " +
        regexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    return errors;
  }
  if (name.empty()) {
    errors.emplace_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errors.push_back("name part " + maxLenError(kQualifiedNameMaxLength));
  }
  if (!matchesQualifiedName(name)) {
    errors.push_back("name part " + regexError(kQualifiedNameErrMsg, kQualifiedNameFmt,
                                               {"MyName", "my.name", "123-abc"}));
  }
  return errors;
}

std::vector<std::string> isValidLabelValue(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kLabelValueMaxLength) errors.push_back(maxLenError(kLabelValueMaxLength));
  if (!value.empty() && !matchesQualifiedName(value)) {
    errors.push_back(
        regexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errors;
}

// ---- public: label selectors -----------------------------------------------------------------

std::expected<Selector, std::string> parseSelector(std::string_view text) {
  auto requirements = Parser(text).parse();
  if (!requirements) return std::unexpected(requirements.error());
  sortByKey(*requirements);
  return Selector{std::move(*requirements), false};
}

std::expected<Selector, std::string> selectorFromLabelSelector(const JsonValue& selector) {
  if (selector.is_null()) return Selector::nothing();
  if (!selector.is_object())
    return std::unexpected(std::string("a label selector must be an object"));
  const auto& object = selector.as_object();
  std::vector<LabelRequirement> requirements;

  if (const auto found = object.find("matchLabels"); found != object.end()) {
    const auto& matchLabels = found->second;
    if (!matchLabels.is_null() && !matchLabels.is_object()) {
      return std::unexpected(std::string("matchLabels must be an object of strings"));
    }
    if (matchLabels.is_object()) {
      for (const auto& [key, value] : matchLabels.as_object()) {
        if (!value.is_string()) {
          return std::unexpected("matchLabels[" + key + "] must be a string");
        }
        auto requirement = newRequirement(key, SelectorOperator::kEquals, {value.as_string()});
        if (!requirement) return std::unexpected(requirement.error());
        requirements.push_back(std::move(*requirement));
      }
    }
  }

  if (const auto found = object.find("matchExpressions"); found != object.end()) {
    const auto& expressions = found->second;
    if (!expressions.is_null() && !expressions.is_array()) {
      return std::unexpected(std::string("matchExpressions must be a list"));
    }
    if (expressions.is_array()) {
      const auto& list = expressions.as_array();
      for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& expression = list.at(i);
        const auto where = "matchExpressions[" + std::to_string(i) + "]";
        if (!expression.is_object()) return std::unexpected(where + " must be an object");
        const auto& fields = expression.as_object();
        std::string key;
        std::string op;
        std::vector<std::string> values;
        if (const auto k = fields.find("key"); k != fields.end() && !k->second.is_null()) {
          if (!k->second.is_string()) return std::unexpected(where + ".key must be a string");
          key = k->second.as_string();
        }
        if (const auto o = fields.find("operator"); o != fields.end() && !o->second.is_null()) {
          if (!o->second.is_string()) return std::unexpected(where + ".operator must be a string");
          op = o->second.as_string();
        }
        if (const auto v = fields.find("values"); v != fields.end() && !v->second.is_null()) {
          if (!v->second.is_array()) return std::unexpected(where + ".values must be a list");
          for (const auto& element : v->second.as_array()) {
            if (!element.is_string()) {
              return std::unexpected(where + ".values must be a list of strings");
            }
            values.push_back(element.as_string());
          }
        }
        SelectorOperator parsed{};
        if (op == "In") {
          parsed = SelectorOperator::kIn;
        } else if (op == "NotIn") {
          parsed = SelectorOperator::kNotIn;
        } else if (op == "Exists") {
          parsed = SelectorOperator::kExists;
        } else if (op == "DoesNotExist") {
          parsed = SelectorOperator::kDoesNotExist;
        } else {
          return std::unexpected(quote(op) + " is not a valid label selector operator");
        }
        // NewRequirement validates the values in the order given; matching is by set, and the
        // stored form is kubernetes' (sorted, unique) so toString() is deterministic.
        auto requirement = newRequirement(std::move(key), parsed, std::move(values));
        if (!requirement) return std::unexpected(requirement.error());
        requirement->values = sortedUnique(std::move(requirement->values));
        requirements.push_back(std::move(*requirement));
      }
    }
  }
  sortByKey(requirements);
  return Selector{std::move(requirements), false};
}

bool matches(const Selector& selector, const std::map<std::string, std::string>& labels) {
  if (selector.matchesNothing) return false;
  return std::all_of(
      selector.requirements.begin(), selector.requirements.end(),
      [&](const auto& requirement) { return requirementMatches(requirement, labels); });
}

std::string toString(const Selector& selector) {
  std::vector<std::string> parts;
  for (const auto& requirement : selector.requirements) {
    std::string part;
    if (requirement.op == SelectorOperator::kDoesNotExist) part += "!";
    part += requirement.key;
    switch (requirement.op) {
      case SelectorOperator::kExists:
      case SelectorOperator::kDoesNotExist:
        parts.push_back(std::move(part));
        continue;
      case SelectorOperator::kIn:
      case SelectorOperator::kNotIn:
        part += " ";
        part += operatorName(requirement.op);
        part += " (" + joinStrings(requirement.values, ",") + ")";
        break;
      case SelectorOperator::kGreaterThan:
        part += ">" + joinStrings(requirement.values, ",");
        break;
      case SelectorOperator::kLessThan:
        part += "<" + joinStrings(requirement.values, ",");
        break;
      default:
        part += operatorName(requirement.op);
        part += joinStrings(requirement.values, ",");
    }
    parts.push_back(std::move(part));
  }
  return joinStrings(parts, ",");
}

std::map<std::string, std::string> labelsOf(const JsonValue& object) {
  std::map<std::string, std::string> labels;
  if (!object.is_object() || !object.has_object_field("metadata")) return labels;
  const auto& metadata = object.at("metadata");
  if (!metadata.has_object_field("labels")) return labels;
  for (const auto& [key, value] : metadata.at("labels").as_object()) {
    if (value.is_string()) labels.emplace(key, value.as_string());
  }
  return labels;
}

// ---- public: field selectors -----------------------------------------------------------------

std::expected<FieldSelector, std::string> parseFieldSelector(std::string_view text) {
  auto terms = splitFieldTerms(text);
  std::sort(terms.begin(), terms.end());
  FieldSelector selector;
  for (const auto& term : terms) {
    if (term.empty()) continue;
    std::optional<std::size_t> at;
    std::string_view op;
    for (std::size_t i = 0; i < term.size() && !at; ++i) {
      for (const std::string_view candidate : {"!=", "==", "="}) {
        if (std::string_view(term).substr(i).starts_with(candidate)) {
          at = i;
          op = candidate;
          break;
        }
      }
    }
    if (!at) {
      return std::unexpected("invalid selector: '" + std::string(text) + "'; can't understand '" +
                             term + "'");
    }
    auto value = unescapeFieldValue(std::string_view(term).substr(*at + op.size()));
    if (!value) return std::unexpected(value.error());
    selector.requirements.push_back({term.substr(0, *at), op == "!=", std::move(*value)});
  }
  return selector;
}

FieldSelectorSupport FieldSelectorSupport::customResource(bool namespaced) {
  FieldSelectorSupport support;
  support.fields.emplace_back("metadata.name");
  if (namespaced) support.fields.emplace_back("metadata.namespace");
  return support;
}

FieldSelectorSupport FieldSelectorSupport::schemeDefault() {
  return {{"metadata.name", "metadata.namespace"},
          UnsupportedFieldWording::kNotAKnownFieldSelector,
          ""};
}

FieldSelectorSupport FieldSelectorSupport::metadataOnly(std::string kind) {
  return {{"metadata.name", "metadata.namespace"},
          UnsupportedFieldWording::kNotSupportedForKind,
          std::move(kind)};
}

std::optional<std::string> unsupportedField(const FieldSelector& selector,
                                            const FieldSelectorSupport& support) {
  for (const auto& requirement : selector.requirements) {
    const auto& field = requirement.field;
    if (std::find(support.fields.begin(), support.fields.end(), field) != support.fields.end()) {
      continue;
    }
    switch (support.wording) {
      case UnsupportedFieldWording::kFieldLabelNotSupported:
        return "field label not supported: " + field;
      case UnsupportedFieldWording::kNotSupportedForKind:
        return "field label " + quote(field) + " not supported for " + quote(support.kind);
      case UnsupportedFieldWording::kNotAKnownFieldSelector:
        return quote(field) + " is not a known field selector: only \"metadata.name\", " +
               "\"metadata.namespace\"";
    }
  }
  return std::nullopt;
}

bool matches(const FieldSelector& selector, const std::map<std::string, std::string>& fields) {
  return std::all_of(selector.requirements.begin(), selector.requirements.end(),
                     [&](const FieldRequirement& requirement) {
                       const auto found = fields.find(requirement.field);
                       const std::string_view actual =
                           found == fields.end() ? std::string_view() : found->second;
                       return (actual == requirement.value) != requirement.notEquals;
                     });
}

std::string fieldValue(const JsonValue& object, std::string_view dottedPath) {
  const JsonValue* current = &object;
  std::size_t start = 0;
  while (true) {
    const auto dot = dottedPath.find('.', start);
    const std::string member(
        dottedPath.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (!current->is_object()) return "";
    const auto& fields = current->as_object();
    const auto found = fields.find(member);
    if (found == fields.end()) return "";
    current = &found->second;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (current->is_string()) return current->as_string();
  if (current->is_boolean()) return current->as_bool() ? "true" : "false";
  if (current->is_integer()) {
    const auto& number = current->as_number();
    if (number.is_int64()) return std::to_string(number.to_int64());
    if (number.is_uint64()) return std::to_string(number.to_uint64());
  }
  return "";
}

std::map<std::string, std::string> fieldsOf(const JsonValue& object,
                                            const FieldSelectorSupport& support) {
  std::map<std::string, std::string> fields;
  for (const auto& field : support.fields) fields.emplace(field, fieldValue(object, field));
  return fields;
}

}  // namespace billing::apiserver
