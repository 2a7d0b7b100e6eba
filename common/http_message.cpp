#include "common/http_message.h"

#include <algorithm>
#include <array>
#include <limits>

namespace billing::common {
namespace {

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// tchar from RFC 9110 section 5.6.2.
bool isTokenChar(char c) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return isDigit(c) || isAlpha(c) || kSymbols.find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

// Field values may hold visible characters, spaces, tabs and obs-text, never other controls.
bool isValidFieldValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

std::string_view trimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits a header block into lines without their CRLF or LF; stops at the empty line.
std::vector<std::string_view> headLines(std::string_view block) {
  std::vector<std::string_view> lines;
  while (!block.empty()) {
    auto newline = block.find('\n');
    auto line = block.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    lines.push_back(line);
    if (newline == std::string_view::npos) break;
    block.remove_prefix(newline + 1);
  }
  return lines;
}

// "HTTP/1.1" -> {1, 1}.
std::optional<std::pair<int, int>> parseVersion(std::string_view text) {
  if (text.size() != 8 || !text.starts_with("HTTP/") || !isDigit(text[5]) || text[6] != '.' ||
      !isDigit(text[7])) {
    return std::nullopt;
  }
  return std::pair{text[5] - '0', text[7] - '0'};
}

std::expected<HttpHeaders, std::string> parseFields(const std::vector<std::string_view>& lines) {
  HttpHeaders headers;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      return std::unexpected("obsolete line folding in header fields");
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return std::unexpected("header field without a colon");
    auto name = line.substr(0, colon);
    if (!isToken(name)) {
      return std::unexpected("invalid header field name \"" + std::string(name) + "\"");
    }
    auto value = trimWhitespace(line.substr(colon + 1));
    if (!isValidFieldValue(value)) {
      return std::unexpected("invalid character in header field \"" + std::string(name) + "\"");
    }
    headers.add(std::string(name), std::string(value));
  }
  return headers;
}

}  // namespace

bool equalsIgnoreCase(std::string_view left, std::string_view right) {
  return left.size() == right.size() &&
         std::equal(left.begin(), left.end(), right.begin(),
                    [](char a, char b) { return lowerAscii(a) == lowerAscii(b); });
}

HttpHeaders::HttpHeaders(std::initializer_list<Field> fields) : fields_(fields) {}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& [fieldName, value] : fields_) {
    if (equalsIgnoreCase(fieldName, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpHeaders::getAll(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [fieldName, value] : fields_) {
    if (equalsIgnoreCase(fieldName, name)) values.push_back(value);
  }
  return values;
}

bool HttpHeaders::contains(std::string_view name) const { return get(name).has_value(); }

bool HttpHeaders::hasToken(std::string_view name, std::string_view token) const {
  for (const auto& [fieldName, value] : fields_) {
    if (!equalsIgnoreCase(fieldName, name)) continue;
    std::string_view rest = value;
    while (true) {
      auto comma = rest.find(',');
      if (equalsIgnoreCase(trimWhitespace(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

void HttpHeaders::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void HttpHeaders::remove(std::string_view name) {
  std::erase_if(fields_,
                [name](const Field& field) { return equalsIgnoreCase(field.first, name); });
}

std::optional<std::string> HttpRequest::queryValue(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpRequest::queryValues(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : query) {
    if (key == name) values.push_back(value);
  }
  return values;
}

bool HttpRequest::hasQuery(std::string_view name) const { return queryValue(name).has_value(); }

bool isValidHeaderField(std::string_view name, std::string_view value) {
  return isToken(name) && isValidFieldValue(value);
}

std::expected<std::string, std::string> percentDecode(std::string_view text, bool plusAsSpace) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::unexpected("truncated percent-escape in \"" + std::string(text) + "\"");
      }
      int high = hexValue(text[i + 1]);
      int low = hexValue(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::unexpected("invalid percent-escape in \"" + std::string(text) + "\"");
      }
      decoded.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plusAsSpace) {
      decoded.push_back(' ');
    } else {
      decoded.push_back(c);
    }
  }
  return decoded;
}

std::string percentEncode(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(text.size());
  for (char c : text) {
    if (isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      encoded.push_back('%');
      encoded.push_back(kHex[byte >> 4]);
      encoded.push_back(kHex[byte & 0x0f]);
    }
  }
  return encoded;
}

std::expected<QueryParameters, std::string> parseQuery(std::string_view rawQuery) {
  QueryParameters parameters;
  while (!rawQuery.empty()) {
    auto ampersand = rawQuery.find('&');
    auto piece = rawQuery.substr(0, ampersand);
    rawQuery.remove_prefix(ampersand == std::string_view::npos ? rawQuery.size() : ampersand + 1);
    if (piece.empty()) continue;
    auto equals = piece.find('=');
    auto key = percentDecode(piece.substr(0, equals), true);
    if (!key) return std::unexpected(key.error());
    std::string value;
    if (equals != std::string_view::npos) {
      auto decodedValue = percentDecode(piece.substr(equals + 1), true);
      if (!decodedValue) return std::unexpected(decodedValue.error());
      value = std::move(*decodedValue);
    }
    parameters.emplace_back(std::move(*key), std::move(value));
  }
  return parameters;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Entity";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::optional<std::size_t> findHeaderBlockEnd(std::string_view data) {
  std::size_t from = 0;
  while (true) {
    auto newline = data.find('\n', from);
    if (newline == std::string_view::npos) return std::nullopt;
    std::size_t next = newline + 1;
    if (next < data.size() && data[next] == '\n') return next + 1;
    if (next + 1 < data.size() && data[next] == '\r' && data[next + 1] == '\n') return next + 2;
    if (next + 1 >= data.size()) return std::nullopt;
    from = next;
  }
}

std::expected<RequestHead, HttpParseError> parseRequestHead(std::string_view block) {
  auto lines = headLines(block);
  if (lines.empty()) return std::unexpected(HttpParseError{400, "empty request"});

  std::string_view requestLine = lines.front();
  auto firstSpace = requestLine.find(' ');
  auto lastSpace = requestLine.rfind(' ');
  if (firstSpace == std::string_view::npos || firstSpace == lastSpace) {
    return std::unexpected(HttpParseError{400, "malformed request line"});
  }
  RequestHead head;
  head.method = std::string(requestLine.substr(0, firstSpace));
  head.target = std::string(requestLine.substr(firstSpace + 1, lastSpace - firstSpace - 1));
  auto versionText = requestLine.substr(lastSpace + 1);
  if (!isToken(head.method)) return std::unexpected(HttpParseError{400, "invalid method"});
  if (head.target.empty() || std::any_of(head.target.begin(), head.target.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f;
      })) {
    return std::unexpected(HttpParseError{400, "malformed request target"});
  }
  auto version = parseVersion(versionText);
  if (!version) return std::unexpected(HttpParseError{400, "malformed HTTP version"});
  if (version->first != 1) {
    return std::unexpected(HttpParseError{505, "only HTTP/1.0 and HTTP/1.1 are supported"});
  }
  head.minorVersion = std::min(version->second, 1);

  auto headers = parseFields(lines);
  if (!headers) return std::unexpected(HttpParseError{400, headers.error()});
  head.headers = std::move(*headers);
  return head;
}

std::expected<ResponseHead, std::string> parseResponseHead(std::string_view block) {
  auto lines = headLines(block);
  if (lines.empty()) return std::unexpected("empty response");
  std::string_view statusLine = lines.front();
  auto version = parseVersion(statusLine.substr(0, 8));
  if (!version || version->first != 1 || statusLine.size() < 12 || statusLine[8] != ' ' ||
      !isDigit(statusLine[9]) || !isDigit(statusLine[10]) || !isDigit(statusLine[11]) ||
      (statusLine.size() > 12 && statusLine[12] != ' ')) {
    return std::unexpected("malformed status line \"" + std::string(statusLine.substr(0, 80)) +
                           "\"");
  }
  ResponseHead head;
  head.minorVersion = version->second;
  head.status = (statusLine[9] - '0') * 100 + (statusLine[10] - '0') * 10 + (statusLine[11] - '0');
  if (statusLine.size() > 13) head.reason = std::string(statusLine.substr(13));
  auto headers = parseFields(lines);
  if (!headers) return std::unexpected(headers.error());
  head.headers = std::move(*headers);
  return head;
}

std::expected<std::size_t, std::string> ChunkedDecoder::feed(
    std::string_view input, const std::function<bool(std::string_view)>& onData) {
  std::size_t position = 0;
  while (position < input.size() && state_ != State::kDone) {
    if (state_ == State::kData) {
      auto take =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - position));
      auto piece = input.substr(position, take);
      position += take;
      remaining_ -= take;
      if (remaining_ == 0) state_ = State::kDataEnd;
      if (!onData(piece)) return position;
      continue;
    }
    auto newline = input.find('\n', position);
    auto end = newline == std::string_view::npos ? input.size() : newline;
    line_.append(input.substr(position, end - position));
    if (line_.size() > maxLineBytes_) {
      return std::unexpected(state_ == State::kTrailer ? "chunked trailer section too large"
                                                       : "chunk-size line too long");
    }
    if (newline == std::string_view::npos) return input.size();
    position = newline + 1;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (auto finished = finishLine(); !finished) return std::unexpected(finished.error());
    line_.clear();
  }
  return position;
}

std::expected<void, std::string> ChunkedDecoder::finishLine() {
  switch (state_) {
    case State::kSize: {
      std::uint64_t size = 0;
      std::size_t digits = 0;
      for (; digits < line_.size() && hexValue(line_[digits]) >= 0; ++digits) {
        if (size > (std::numeric_limits<std::uint64_t>::max() >> 8)) {
          return std::unexpected("chunk size too large");
        }
        size = size * 16 + static_cast<std::uint64_t>(hexValue(line_[digits]));
      }
      auto rest = trimWhitespace(std::string_view(line_).substr(digits));
      if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
        return std::unexpected("invalid chunk-size line");
      }
      if (size == 0) {
        state_ = State::kTrailer;
      } else {
        remaining_ = size;
        state_ = State::kData;
      }
      return {};
    }
    case State::kDataEnd:
      if (!line_.empty()) return std::unexpected("missing CRLF after chunk data");
      state_ = State::kSize;
      return {};
    case State::kTrailer:
      if (line_.empty()) {
        state_ = State::kDone;
        return {};
      }
      trailerBytes_ += line_.size();
      if (trailerBytes_ > maxLineBytes_)
        return std::unexpected("chunked trailer section too large");
      return {};
    case State::kData:
    case State::kDone:
      break;
  }
  return {};
}

}  // namespace billing::common
