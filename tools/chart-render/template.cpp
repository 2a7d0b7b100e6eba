#include "tools/chart-render/template.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "common/tls.h"

namespace billing::chart {

// ---- syntax tree ----

struct Pipeline;

struct Operand {
  enum class Kind { Field, Variable, Literal, Function, Sub };
  Kind kind = Kind::Literal;
  std::string name;               // variable ("$", "$x") or function name
  std::vector<std::string> path;  // field chain after . or the variable
  Value literal;
  std::shared_ptr<Pipeline> sub;
};

struct Command {
  std::vector<Operand> operands;
};

struct Pipeline {
  std::vector<std::string> variables;  // $x := ...  or  $i, $v := (range)
  bool assign = false;                 // $x = ... (re-assignment)
  std::vector<Command> commands;
};

struct Node {
  enum class Kind { Root, Text, Action, If, Range, With, Template };
  Kind kind = Kind::Root;
  std::string file;
  int line = 0;
  std::string text;  // Text; Template: the template's name
  Pipeline pipe;
  bool hasPipe = false;  // Template: with a pipeline
  std::vector<std::shared_ptr<Node>> body;
  std::vector<std::shared_ptr<Node>> elseBody;
};

namespace {

[[noreturn]] void fail(const std::string& file, int line, const std::string& message) {
  throw TemplateError(file + ":" + std::to_string(line) + ": " + message);
}

// ---- lexing: text and actions, with {{- -}} trimming and comments dropped ----

struct Piece {
  bool action = false;
  std::string text;
  int line = 1;
};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::vector<Piece> split(const std::string& file, const std::string& source) {
  std::vector<Piece> pieces;
  std::size_t position = 0;
  int line = 1;
  bool trimNext = false;
  auto advanceLines = [&](std::size_t from, std::size_t to) {
    line += static_cast<int>(std::count(source.begin() + static_cast<std::ptrdiff_t>(from),
                                        source.begin() + static_cast<std::ptrdiff_t>(to), '\n'));
  };
  while (position <= source.size()) {
    const auto open = source.find("{{", position);
    std::string text =
        source.substr(position, open == std::string::npos ? std::string::npos : open - position);
    if (trimNext) {
      std::size_t skip = 0;
      while (skip < text.size() && isSpace(text[skip])) ++skip;
      text.erase(0, skip);
    }
    const int textLine = line;
    if (open == std::string::npos) {
      if (!text.empty()) pieces.push_back({false, text, textLine});
      break;
    }
    advanceLines(position, open);
    const int actionLine = line;
    std::size_t inner = open + 2;
    if (source.compare(inner, 2, "- ") == 0 || source.compare(inner, 2, "-\n") == 0 ||
        source.compare(inner, 2, "-\t") == 0) {
      while (!text.empty() && isSpace(text.back())) text.pop_back();
      inner += 1;
    }
    if (!text.empty()) pieces.push_back({false, text, textLine});
    // Comments may hold "}}"; find their end first.
    std::size_t scan = inner;
    while (scan < source.size() && isSpace(source[scan])) ++scan;
    std::size_t close;
    if (source.compare(scan, 2, "/*") == 0) {
      const auto end = source.find("*/", scan + 2);
      if (end == std::string::npos) fail(file, actionLine, "unclosed comment");
      close = source.find("}}", end + 2);
    } else {
      // "}}" inside a string literal does not close the action.
      close = std::string::npos;
      char quote = 0;
      for (std::size_t i = inner; i + 1 < source.size(); ++i) {
        const char c = source[i];
        if (quote != 0) {
          if (c == '\\' && quote == '"') {
            ++i;
          } else if (c == quote) {
            quote = 0;
          }
          continue;
        }
        if (c == '"' || c == '`') {
          quote = c;
        } else if (c == '}' && source[i + 1] == '}') {
          close = i;
          break;
        }
      }
    }
    if (close == std::string::npos) fail(file, actionLine, "unclosed action");
    std::string body = source.substr(inner, close - inner);
    trimNext = false;
    if (body.size() >= 2 && body.back() == '-' && isSpace(body[body.size() - 2])) {
      body.pop_back();
      trimNext = true;
    }
    std::size_t first = 0;
    while (first < body.size() && isSpace(body[first])) ++first;
    if (body.compare(first, 2, "/*") != 0) pieces.push_back({true, body, actionLine});
    advanceLines(open, close + 2);
    position = close + 2;
  }
  return pieces;
}

// ---- tokens inside an action ----

struct Token {
  enum class Kind {
    Word,
    Field,
    Variable,
    String,
    Number,
    Pipe,
    Open,
    Close,
    Declare,
    Assign,
    Comma,
    End
  };
  Kind kind = Kind::End;
  std::string text;
  bool attached = false;  // a field right after ")", as in (include "x" .).Field
};

std::vector<Token> tokenize(const std::string& file, int line, const std::string& text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  auto identifierChar = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  };
  while (i < text.size()) {
    const char c = text[i];
    if (isSpace(c)) {
      ++i;
    } else if (c == '|') {
      tokens.push_back({Token::Kind::Pipe, "|"});
      ++i;
    } else if (c == '(') {
      tokens.push_back({Token::Kind::Open, "("});
      ++i;
    } else if (c == ')') {
      tokens.push_back({Token::Kind::Close, ")"});
      ++i;
    } else if (c == ',') {
      tokens.push_back({Token::Kind::Comma, ","});
      ++i;
    } else if (c == ':' && i + 1 < text.size() && text[i + 1] == '=') {
      tokens.push_back({Token::Kind::Declare, ":="});
      i += 2;
    } else if (c == '=') {
      tokens.push_back({Token::Kind::Assign, "="});
      ++i;
    } else if (c == '"') {
      std::string value;
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) {
          const char escaped = text[++i];
          switch (escaped) {
            case 'n':
              value.push_back('\n');
              break;
            case 't':
              value.push_back('\t');
              break;
            case '"':
            case '\\':
              value.push_back(escaped);
              break;
            default:
              fail(file, line, std::string("unsupported escape \\") + escaped);
          }
        } else {
          value.push_back(text[i]);
        }
        ++i;
      }
      if (i >= text.size()) fail(file, line, "unterminated string");
      ++i;
      tokens.push_back({Token::Kind::String, value});
    } else if (c == '`') {
      const auto end = text.find('`', i + 1);
      if (end == std::string::npos) fail(file, line, "unterminated raw string");
      tokens.push_back({Token::Kind::String, text.substr(i + 1, end - i - 1)});
      i = end + 1;
    } else if (c == '.' || c == '$') {
      std::size_t end = i + 1;
      while (end < text.size() && (identifierChar(text[end]) || text[end] == '.')) ++end;
      tokens.push_back({c == '.' ? Token::Kind::Field : Token::Kind::Variable,
                        text.substr(i, end - i), i > 0 && text[i - 1] == ')'});
      i = end;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      std::size_t end = i + 1;
      while (end < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '.')) {
        ++end;
      }
      tokens.push_back({Token::Kind::Number, text.substr(i, end - i)});
      i = end;
    } else if (identifierChar(c)) {
      std::size_t end = i;
      while (end < text.size() && identifierChar(text[end])) ++end;
      tokens.push_back({Token::Kind::Word, text.substr(i, end - i)});
      i = end;
    } else {
      fail(file, line, std::string("unexpected character '") + c + "' in action");
    }
  }
  tokens.push_back({Token::Kind::End, ""});
  return tokens;
}

std::vector<std::string> splitPath(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto dot = text.find('.', start);
    const std::string part = text.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!part.empty()) parts.push_back(part);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

class PipelineParser {
 public:
  PipelineParser(std::string file, int line, std::vector<Token> tokens)
      : file_(std::move(file)), line_(line), tokens_(std::move(tokens)) {}

  Pipeline parse(bool allowTwoVariables) {
    Pipeline pipe;
    // Declarations: "$x :=", "$i, $v :=", "$x =".
    std::size_t look = position_;
    std::vector<std::string> names;
    while (tokens_[look].kind == Token::Kind::Variable) {
      names.push_back(tokens_[look].text);
      ++look;
      if (tokens_[look].kind == Token::Kind::Comma) {
        ++look;
        continue;
      }
      break;
    }
    if (!names.empty() &&
        (tokens_[look].kind == Token::Kind::Declare || tokens_[look].kind == Token::Kind::Assign)) {
      if (names.size() > (allowTwoVariables ? 2u : 1u)) error("too many declarations");
      pipe.variables = names;
      pipe.assign = tokens_[look].kind == Token::Kind::Assign;
      position_ = look + 1;
    }
    parseCommands(pipe);
    if (tokens_[position_].kind != Token::Kind::End) {
      error("unexpected \"" + tokens_[position_].text + "\" in action");
    }
    return pipe;
  }

 private:
  [[noreturn]] void error(const std::string& message) const { fail(file_, line_, message); }

  void parseCommands(Pipeline& pipe) {
    while (true) {
      Command command;
      while (true) {
        const Token& token = tokens_[position_];
        if (token.kind == Token::Kind::End || token.kind == Token::Kind::Pipe ||
            token.kind == Token::Kind::Close) {
          break;
        }
        command.operands.push_back(parseOperand());
      }
      if (command.operands.empty()) error("missing value in pipeline");
      pipe.commands.push_back(std::move(command));
      if (tokens_[position_].kind != Token::Kind::Pipe) break;
      ++position_;
    }
  }

  Operand parseOperand() {
    const Token token = tokens_[position_++];
    Operand operand;
    switch (token.kind) {
      case Token::Kind::Field:
        operand.kind = Operand::Kind::Field;
        operand.path = splitPath(token.text);
        break;
      case Token::Kind::Variable: {
        operand.kind = Operand::Kind::Variable;
        const auto dot = token.text.find('.');
        operand.name = token.text.substr(0, dot);
        if (dot != std::string::npos) operand.path = splitPath(token.text.substr(dot));
        break;
      }
      case Token::Kind::String:
        operand.literal = Value(token.text);
        break;
      case Token::Kind::Number: {
        try {
          std::size_t used = 0;
          if (token.text.find_first_of(".eE") == std::string::npos) {
            operand.literal = Value(static_cast<std::int64_t>(std::stoll(token.text, &used, 0)));
          } else {
            operand.literal = Value(std::stod(token.text, &used));
          }
          if (used != token.text.size()) error("bad number " + token.text);
        } catch (const std::logic_error&) {
          error("bad number " + token.text);
        }
        break;
      }
      case Token::Kind::Word:
        if (token.text == "true" || token.text == "false") {
          operand.literal = Value(token.text == "true");
        } else if (token.text == "nil") {
          operand.literal = Value();
        } else {
          operand.kind = Operand::Kind::Function;
          operand.name = token.text;
        }
        break;
      case Token::Kind::Open: {
        operand.kind = Operand::Kind::Sub;
        auto sub = std::make_shared<Pipeline>();
        parseCommands(*sub);
        if (tokens_[position_].kind != Token::Kind::Close) error("unclosed (");
        ++position_;
        // (expr).Field
        if (tokens_[position_].kind == Token::Kind::Field && tokens_[position_].attached &&
            tokens_[position_].text != ".") {
          operand.path = splitPath(tokens_[position_].text);
          ++position_;
        }
        operand.sub = std::move(sub);
        break;
      }
      default:
        error("unexpected \"" + token.text + "\"");
    }
    return operand;
  }

  std::string file_;
  int line_;
  std::vector<Token> tokens_;
  std::size_t position_ = 0;
};

Pipeline parsePipeline(const std::string& file, int line, const std::string& text,
                       bool allowTwoVariables = false) {
  PipelineParser parser(file, line, tokenize(file, line, text));
  return parser.parse(allowTwoVariables);
}

// ---- structure: if / else / range / with / define / template / end ----

std::string firstWord(const std::string& text, std::string& rest) {
  std::size_t start = 0;
  while (start < text.size() && isSpace(text[start])) ++start;
  std::size_t end = start;
  while (end < text.size() && !isSpace(text[end]) && text[end] != '(' && text[end] != '"') ++end;
  rest = text.substr(end);
  return text.substr(start, end - start);
}

class TreeParser {
 public:
  TreeParser(std::string file, std::vector<Piece> pieces,
             std::map<std::string, std::shared_ptr<Node>>& templates)
      : file_(std::move(file)), pieces_(std::move(pieces)), templates_(templates) {}

  std::shared_ptr<Node> parseFile() {
    auto root = std::make_shared<Node>();
    root->file = file_;
    std::string stop = parseList(root->body, true);
    if (!stop.empty()) fail(file_, line(), "unexpected {{" + stop + "}}");
    return root;
  }

 private:
  int line() const {
    return position_ < pieces_.size() ? pieces_[position_].line
                                      : (pieces_.empty() ? 1 : pieces_.back().line);
  }

  // Parses nodes into `out` until {{end}} or {{else...}}; returns "end", "else" (with the rest of
  // the else action in elseRest_) or "" at the end of the input.
  std::string parseList(std::vector<std::shared_ptr<Node>>& out, bool topLevel) {
    while (position_ < pieces_.size()) {
      const Piece& piece = pieces_[position_];
      if (!piece.action) {
        auto node = std::make_shared<Node>();
        node->kind = Node::Kind::Text;
        node->text = piece.text;
        node->file = file_;
        node->line = piece.line;
        out.push_back(node);
        ++position_;
        continue;
      }
      std::string rest;
      const std::string word = firstWord(piece.text, rest);
      const int actionLine = piece.line;
      ++position_;
      if (word == "end") return "end";
      if (word == "else") {
        elseRest_ = rest;
        return "else";
      }
      auto node = std::make_shared<Node>();
      node->file = file_;
      node->line = actionLine;
      if (word == "if" || word == "with" || word == "range") {
        node->kind =
            word == "if" ? Node::Kind::If : (word == "with" ? Node::Kind::With : Node::Kind::Range);
        node->pipe = parsePipeline(file_, actionLine, rest, node->kind == Node::Kind::Range);
        parseBranches(*node, word);
        out.push_back(node);
      } else if (word == "define") {
        if (!topLevel) fail(file_, actionLine, "define is allowed at top level only");
        auto name = parsePipeline(file_, actionLine, rest);
        const Operand* literal = name.commands.size() == 1 && name.commands[0].operands.size() == 1
                                     ? &name.commands[0].operands[0]
                                     : nullptr;
        if (literal == nullptr || literal->kind != Operand::Kind::Literal ||
            !literal->literal.isString()) {
          fail(file_, actionLine, "define needs a quoted name");
        }
        auto body = std::make_shared<Node>();
        body->file = file_;
        body->line = actionLine;
        if (parseList(body->body, false) != "end") {
          fail(file_, actionLine, "define without {{end}}");
        }
        templates_[literal->literal.asString()] = body;
      } else if (word == "template") {
        node->kind = Node::Kind::Template;
        auto pipe = parsePipeline(file_, actionLine, rest);
        const auto& operands = pipe.commands[0].operands;
        if (operands.empty() || operands[0].kind != Operand::Kind::Literal ||
            !operands[0].literal.isString()) {
          fail(file_, actionLine, "template needs a quoted name");
        }
        node->text = operands[0].literal.asString();
        if (operands.size() > 1 || pipe.commands.size() > 1) {
          Pipeline argument;
          Command first;
          first.operands.assign(operands.begin() + 1, operands.end());
          argument.commands.push_back(first);
          for (std::size_t i = 1; i < pipe.commands.size(); ++i) {
            argument.commands.push_back(pipe.commands[i]);
          }
          node->pipe = argument;
          node->hasPipe = true;
        }
        out.push_back(node);
      } else if (word == "block" || word == "break" || word == "continue") {
        fail(file_, actionLine, "{{" + word + "}} is outside the supported subset");
      } else {
        node->kind = Node::Kind::Action;
        node->pipe = parsePipeline(file_, actionLine, piece.text);
        out.push_back(node);
      }
    }
    return "";
  }

  void parseBranches(Node& node, const std::string& word) {
    const std::string stop = parseList(node.body, false);
    if (stop == "end") return;
    if (stop != "else") fail(file_, node.line, "{{" + word + "}} without {{end}}");
    std::string rest;
    const std::string next = firstWord(elseRest_, rest);
    if (next.empty()) {
      if (parseList(node.elseBody, false) != "end") {
        fail(file_, node.line, "{{else}} without {{end}}");
      }
      return;
    }
    if (next != "if" || node.kind != Node::Kind::If) {
      fail(file_, node.line, "{{else " + next + "}} is outside the supported subset");
    }
    // {{else if ...}}: an if nested in the else branch sharing the outer {{end}}.
    auto nested = std::make_shared<Node>();
    nested->kind = Node::Kind::If;
    nested->file = file_;
    nested->line = line();
    nested->pipe = parsePipeline(file_, nested->line, rest);
    parseBranches(*nested, "else if");
    node.elseBody.push_back(nested);
  }

  std::string file_;
  std::vector<Piece> pieces_;
  std::size_t position_ = 0;
  std::string elseRest_;
  std::map<std::string, std::shared_ptr<Node>>& templates_;
};

// ---- functions ----

std::string goQuote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          static const char* const kHex = "0123456789abcdef";
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

std::string indentLines(const std::string& text, std::int64_t spaces) {
  const std::string pad(static_cast<std::size_t>(std::max<std::int64_t>(spaces, 0)), ' ');
  std::string out = pad;
  for (char c : text) {
    out.push_back(c);
    if (c == '\n') out += pad;
  }
  return out;
}

bool isBasic(const Value& value) { return !value.isList() && !value.isMap(); }

double number(const Value& value) {
  return value.isInt() ? static_cast<double>(value.asInt()) : value.asFloat();
}

}  // namespace

// ---- evaluation ----

class Renderer {
 public:
  Renderer(const TemplateSet& set, int depth) : set_(set), depth_(depth) {}

  std::string run(const Node& root, const Value& dot) {
    variables_.clear();
    variables_.push_back({"$", dot});
    std::string out;
    walk(root.body, dot, out);
    return out;
  }

 private:
  void walk(const std::vector<std::shared_ptr<Node>>& nodes, const Value& dot, std::string& out) {
    for (const auto& node : nodes) walkOne(*node, dot, out);
  }

  void walkOne(const Node& node, const Value& dot, std::string& out) {
    file_ = node.file;
    line_ = node.line;
    switch (node.kind) {
      case Node::Kind::Root:
        walk(node.body, dot, out);
        return;
      case Node::Kind::Text:
        out += node.text;
        return;
      case Node::Kind::Action: {
        const Value result = evalPipeline(node.pipe, dot);
        if (node.pipe.variables.empty() && !result.isNil()) out += result.print();
        return;
      }
      case Node::Kind::If: {
        const std::size_t mark = variables_.size();
        const Value condition = evalPipeline(node.pipe, dot);
        if (condition.truthy()) {
          walk(node.body, dot, out);
        } else {
          walk(node.elseBody, dot, out);
        }
        variables_.resize(mark);
        return;
      }
      case Node::Kind::With: {
        const std::size_t mark = variables_.size();
        const Value subject = evalPipeline(node.pipe, dot);
        if (subject.truthy()) {
          walk(node.body, subject, out);
        } else {
          walk(node.elseBody, dot, out);
        }
        variables_.resize(mark);
        return;
      }
      case Node::Kind::Range: {
        const std::size_t mark = variables_.size();
        Pipeline pipe = node.pipe;
        const std::vector<std::string> names = pipe.variables;
        pipe.variables.clear();
        const Value subject = evalPipeline(pipe, dot);
        auto iteration = [&](const Value& key, const Value& item) {
          const std::size_t inner = variables_.size();
          if (names.size() == 1) variables_.push_back({names[0], item});
          if (names.size() == 2) {
            variables_.push_back({names[0], key});
            variables_.push_back({names[1], item});
          }
          walk(node.body, item, out);
          variables_.resize(inner);
        };
        if (subject.isList() && !subject.asList().empty()) {
          std::int64_t index = 0;
          for (const Value& item : subject.asList()) iteration(Value(index++), item);
        } else if (subject.isMap() && !subject.asMap().empty()) {
          for (const auto& [key, item] : subject.asMap()) iteration(Value(key), item);
        } else if (subject.isNil() || subject.isList() || subject.isMap()) {
          walk(node.elseBody, dot, out);
        } else {
          error("range can't iterate over " + subject.print());
        }
        variables_.resize(mark);
        return;
      }
      case Node::Kind::Template: {
        const Value argument = node.hasPipe ? evalPipeline(node.pipe, dot) : Value();
        out += include(node.text, argument);
        return;
      }
    }
  }

  [[noreturn]] void error(const std::string& message) const { fail(file_, line_, message); }

  std::string include(const std::string& name, const Value& dot) {
    auto found = set_.templates_.find(name);
    if (found == set_.templates_.end()) error("no template \"" + name + "\"");
    if (depth_ > 100) error("include nested too deeply (recursion?) at \"" + name + "\"");
    Renderer inner(set_, depth_ + 1);
    const std::string file = file_;
    const int line = line_;
    std::string result = inner.run(*found->second, dot);
    file_ = file;
    line_ = line;
    return result;
  }

  Value lookupVariable(const std::string& name) const {
    for (auto it = variables_.rbegin(); it != variables_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    error("undefined variable " + name);
  }

  Value walkPath(Value value, const std::vector<std::string>& path) const {
    for (const std::string& key : path) {
      if (value.isNil()) return {};  // Helm: missing keys are nil, and so are their fields
      if (!value.isMap()) {
        error("can't evaluate field " + key + " in type " + value.typeName());
      }
      value = value.field(key);
    }
    return value;
  }

  Value evalOperand(const Operand& operand, const Value& dot) {
    switch (operand.kind) {
      case Operand::Kind::Field:
        return walkPath(dot, operand.path);
      case Operand::Kind::Variable:
        return walkPath(lookupVariable(operand.name), operand.path);
      case Operand::Kind::Literal:
        return operand.literal;
      case Operand::Kind::Sub:
        return walkPath(evalPipeline(*operand.sub, dot), operand.path);
      case Operand::Kind::Function:
        return call(operand.name, {}, dot);
    }
    return {};
  }

  Value evalPipeline(const Pipeline& pipe, const Value& dot) {
    std::optional<Value> carried;
    for (const Command& command : pipe.commands) {
      carried = evalCommand(command, dot, carried);
    }
    Value result = carried ? *carried : Value();
    if (!pipe.variables.empty()) {
      if (pipe.assign) {
        for (auto it = variables_.rbegin(); it != variables_.rend(); ++it) {
          if (it->first == pipe.variables[0]) {
            it->second = result;
            return result;
          }
        }
        error("undefined variable " + pipe.variables[0]);
      }
      variables_.push_back({pipe.variables[0], result});
    }
    return result;
  }

  Value evalCommand(const Command& command, const Value& dot, const std::optional<Value>& piped) {
    const Operand& head = command.operands.front();
    if (head.kind == Operand::Kind::Function) {
      std::vector<Value> args;
      for (std::size_t i = 1; i < command.operands.size(); ++i) {
        args.push_back(evalOperand(command.operands[i], dot));
      }
      if (piped) args.push_back(*piped);
      return call(head.name, args, dot);
    }
    if (command.operands.size() > 1 || piped) {
      error("can't give argument to non-function");
    }
    return evalOperand(head, dot);
  }

  void arity(const std::string& name, const std::vector<Value>& args, std::size_t min,
             std::size_t max) const {
    if (args.size() < min || args.size() > max) {
      error("wrong number of args for " + name + ": want " + std::to_string(min) +
            (max != min ? "-" + std::to_string(max) : "") + " got " + std::to_string(args.size()));
    }
  }

  std::int64_t integer(const std::string& name, const Value& value) const {
    if (value.isInt()) return value.asInt();
    if (value.isFloat()) return static_cast<std::int64_t>(value.asFloat());
    if (value.isString()) {
      try {
        return std::stoll(value.asString());
      } catch (const std::exception&) {
        return 0;  // Sprig's toInt turns what it cannot read into 0
      }
    }
    error(name + " needs a number, got " + value.typeName());
  }

  std::string string(const Value& value) const { return value.isNil() ? "" : value.print(); }

  bool equal(const Value& left, const Value& right) const {
    const bool numbers = (left.isInt() || left.isFloat()) && (right.isInt() || right.isFloat());
    if (!isBasic(left) || !isBasic(right)) error("eq/ne compare basic values only");
    if (!numbers && !left.isNil() && !right.isNil() && left.data.index() != right.data.index()) {
      error("incompatible types for comparison: " + left.typeName() + " and " + right.typeName());
    }
    return left == right;
  }

  Value call(const std::string& name, const std::vector<Value>& args, const Value& dot) {
    (void)dot;
    if (name == "include") {
      arity(name, args, 2, 2);
      if (!args[0].isString()) error("include needs a template name");
      return Value(include(args[0].asString(), args[1]));
    }
    if (name == "toYaml") {
      arity(name, args, 1, 1);
      return Value(args[0].isNil() ? std::string("null") : toYaml(args[0]));
    }
    if (name == "indent" || name == "nindent") {
      arity(name, args, 2, 2);
      const std::string indented = indentLines(string(args[1]), integer(name, args[0]));
      return Value(name == "nindent" ? "\n" + indented : indented);
    }
    if (name == "quote" || name == "squote") {
      std::string out;
      for (const Value& arg : args) {
        if (arg.isNil()) continue;
        if (!out.empty()) out += " ";
        out += name == "quote" ? goQuote(arg.print()) : "'" + arg.print() + "'";
      }
      return Value(out);
    }
    if (name == "default") {
      arity(name, args, 1, 2);
      if (args.size() == 1 || !args[1].truthy()) return args[0];
      return args[1];
    }
    if (name == "required") {
      arity(name, args, 2, 2);
      if (args[1].isNil() || (args[1].isString() && args[1].asString().empty())) {
        error(string(args[0]));
      }
      return args[1];
    }
    if (name == "empty") {
      arity(name, args, 1, 1);
      return Value(!args[0].truthy());
    }
    if (name == "b64enc") {
      arity(name, args, 1, 1);
      return Value(common::base64Encode(string(args[0])));
    }
    if (name == "trunc") {
      arity(name, args, 2, 2);
      const std::string text = string(args[1]);
      const std::int64_t length = integer(name, args[0]);
      if (length < 0) {
        const auto keep = static_cast<std::size_t>(-length);
        return Value(keep >= text.size() ? text : text.substr(text.size() - keep));
      }
      return Value(text.substr(0, std::min(text.size(), static_cast<std::size_t>(length))));
    }
    if (name == "trimSuffix" || name == "trimPrefix") {
      arity(name, args, 2, 2);
      const std::string affix = string(args[0]);
      std::string text = string(args[1]);
      if (name == "trimSuffix" && text.ends_with(affix)) text.resize(text.size() - affix.size());
      if (name == "trimPrefix" && text.starts_with(affix)) text.erase(0, affix.size());
      return Value(text);
    }
    if (name == "replace") {
      arity(name, args, 3, 3);
      const std::string from = string(args[0]);
      const std::string to = string(args[1]);
      std::string text = string(args[2]);
      if (from.empty()) return Value(text);
      std::string out;
      std::size_t start = 0;
      std::size_t found;
      while ((found = text.find(from, start)) != std::string::npos) {
        out += text.substr(start, found - start) + to;
        start = found + from.size();
      }
      return Value(out + text.substr(start));
    }
    if (name == "contains") {
      arity(name, args, 2, 2);
      return Value(string(args[1]).find(string(args[0])) != std::string::npos);
    }
    if (name == "lower" || name == "upper") {
      arity(name, args, 1, 1);
      std::string text = string(args[0]);
      for (char& c : text) {
        c = static_cast<char>(name == "lower" ? std::tolower(static_cast<unsigned char>(c))
                                              : std::toupper(static_cast<unsigned char>(c)));
      }
      return Value(text);
    }
    if (name == "int" || name == "int64") {
      arity(name, args, 1, 1);
      return Value(args[0].isNil() ? std::int64_t{0} : integer(name, args[0]));
    }
    if (name == "toString") {
      arity(name, args, 1, 1);
      return Value(string(args[0]));
    }
    if (name == "eq") {
      if (args.size() < 2) arity(name, args, 2, 2);
      for (std::size_t i = 1; i < args.size(); ++i) {
        if (equal(args[0], args[i])) return Value(true);
      }
      return Value(false);
    }
    if (name == "ne") {
      arity(name, args, 2, 2);
      return Value(!equal(args[0], args[1]));
    }
    if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
      arity(name, args, 2, 2);
      if (!(args[0].isInt() || args[0].isFloat()) || !(args[1].isInt() || args[1].isFloat())) {
        error(name + " compares numbers only");
      }
      const double a = number(args[0]);
      const double b = number(args[1]);
      if (name == "lt") return Value(a < b);
      if (name == "le") return Value(a <= b);
      if (name == "gt") return Value(a > b);
      return Value(a >= b);
    }
    if (name == "and" || name == "or") {
      if (args.empty()) arity(name, args, 1, 1);
      for (const Value& arg : args) {
        if (arg.truthy() != (name == "and")) return arg;
      }
      return args.back();
    }
    if (name == "not") {
      arity(name, args, 1, 1);
      return Value(!args[0].truthy());
    }
    if (name == "printf") {
      if (args.empty() || !args[0].isString()) error("printf needs a format string");
      const std::string& format = args[0].asString();
      std::string out;
      std::size_t next = 1;
      for (std::size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') {
          out.push_back(format[i]);
          continue;
        }
        if (++i >= format.size()) error("printf: format ends with %");
        const char verb = format[i];
        if (verb == '%') {
          out.push_back('%');
          continue;
        }
        if (next >= args.size()) error("printf: missing argument for %" + std::string(1, verb));
        const Value& arg = args[next++];
        if (verb == 's' || verb == 'v' || verb == 'd') {
          out += arg.print();
        } else if (verb == 'q') {
          out += goQuote(arg.print());
        } else {
          error("printf: verb %" + std::string(1, verb) + " is outside the supported subset");
        }
      }
      return Value(out);
    }
    if (name == "list") return Value(List(args.begin(), args.end()));
    if (name == "dict") {
      if (args.size() % 2 != 0) error("dict needs key-value pairs");
      Map map;
      for (std::size_t i = 0; i < args.size(); i += 2) map[string(args[i])] = args[i + 1];
      return Value(map);
    }
    if (name == "hasKey") {
      arity(name, args, 2, 2);
      return Value(args[0].isMap() && args[0].asMap().count(string(args[1])) != 0);
    }
    error("function \"" + name + "\" is outside the supported subset (tools/chart-render)");
  }

  const TemplateSet& set_;
  int depth_;
  std::vector<std::pair<std::string, Value>> variables_;
  std::string file_;
  int line_ = 0;
};

TemplateSet::TemplateSet() = default;
TemplateSet::~TemplateSet() = default;

void TemplateSet::parse(const std::string& name, const std::string& text) {
  TreeParser parser(name, split(name, text), templates_);
  templates_[name] = parser.parseFile();
}

std::string TemplateSet::render(const std::string& name, const Value& dot) const {
  auto found = templates_.find(name);
  if (found == templates_.end()) throw TemplateError("no template \"" + name + "\"");
  Renderer renderer(*this, 0);
  return renderer.run(*found->second, dot);
}

}  // namespace billing::chart
