// HTTP/1.1 message types and parsing shared by HttpServer and HttpClient (RFC 9110/9112): headers
// with case-insensitive names, the request a handler sees, percent-decoding and query strings,
// and an incremental chunked-body decoder. Nothing here does I/O or knows about Kubernetes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace billing::common {

// ASCII case-insensitive comparison: header names, tokens, URL schemes.
bool equalsIgnoreCase(std::string_view left, std::string_view right);

// Header fields in the order they were added, names kept as written. Lookups ignore case because
// HTTP field names are case-insensitive (Go canonicalises them, curl lowercases them on HTTP/2).
// A name may occur several times; get() returns the first value.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<Field> fields);

  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> getAll(std::string_view name) const;
  bool contains(std::string_view name) const;
  // True when a comma-separated list header holds the token, e.g. hasToken("Connection", "close").
  bool hasToken(std::string_view name, std::string_view token) const;

  void add(std::string name, std::string value);
  // Replaces every field of that name by one.
  void set(std::string name, std::string value);
  void remove(std::string_view name);

  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }
  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

// Who is at the other end of a TLS connection, from the client certificate. Kubernetes maps the
// subject's CN to the user name and its O entries to groups. `verified` is true when the chain
// verified against the server's client CA; the server fails handshakes whose certificate does not
// verify, so a handler normally only ever sees verified identities.
struct TlsPeerIdentity {
  bool verified = false;
  std::string commonName;
  std::vector<std::string> organizations;
};

// Query parameters in their order of appearance; a name may repeat (?watch=1&labelSelector=a).
using QueryParameters = std::vector<std::pair<std::string, std::string>>;

// One request as a handler sees it; the body is complete (Content-Length or chunked, decoded).
struct HttpRequest {
  std::string method;       // as sent, case-sensitive ("GET")
  std::string target;       // the raw request-target ("/api/v1/pods?watch=1")
  std::string path;         // percent-decoded path ("/api/v1/pods")
  std::string rawQuery;     // without '?', not decoded ("watch=1")
  QueryParameters query;    // decoded, '+' read as space
  std::string httpVersion;  // "HTTP/1.1" or "HTTP/1.0"
  HttpHeaders headers;
  std::string body;
  std::string remoteAddress;            // "127.0.0.1:53211", "[::1]:53211"
  std::optional<TlsPeerIdentity> peer;  // set when the client presented a certificate

  std::optional<std::string> queryValue(std::string_view name) const;  // first value
  std::vector<std::string> queryValues(std::string_view name) const;
  bool hasQuery(std::string_view name) const;
};

// "%41b+c" -> "Ab+c" (or "Ab c" with plusAsSpace, the form encoding queries use). A '%' not
// followed by two hex digits is an error, as in Go's url.PathUnescape.
std::expected<std::string, std::string> percentDecode(std::string_view text, bool plusAsSpace);
// Encodes everything but RFC 3986 unreserved characters, for one path segment or query value.
std::string percentEncode(std::string_view text);
// "a=1&b=x+y&a=2&flag" -> {a,1},{b,"x y"},{a,2},{flag,""}. Empty pieces are skipped.
std::expected<QueryParameters, std::string> parseQuery(std::string_view rawQuery);

// A field name that is an RFC 9110 token and a value without CR, LF or other controls: what may
// be written into a message without letting a caller inject header lines.
bool isValidHeaderField(std::string_view name, std::string_view value);

// The standard reason phrase ("Not Found"); "Unknown" for codes it does not know.
std::string_view reasonPhrase(int status);

// Where the header block ending with an empty line ends in `data` (the index after it), or nullopt
// while incomplete. Lines may end with CRLF or a bare LF (RFC 9112 section 2.2 lets recipients
// accept LF).
std::optional<std::size_t> findHeaderBlockEnd(std::string_view data);

// An HTTP error a parser found in a request: the status to answer with and why.
struct HttpParseError {
  int status = 400;
  std::string message;
};

struct RequestHead {
  std::string method;
  std::string target;
  int minorVersion = 1;  // HTTP/1.<minor>
  HttpHeaders headers;
};
// Parses a request line and header fields (the block findHeaderBlockEnd delimited). Rejects what
// RFC 9112 says to reject: bad tokens, whitespace before the colon, obsolete line folding, control
// characters in values. HTTP versions other than 1.0 and 1.1 are a 505.
std::expected<RequestHead, HttpParseError> parseRequestHead(std::string_view block);

struct ResponseHead {
  int status = 0;
  std::string reason;
  int minorVersion = 1;
  HttpHeaders headers;
};
std::expected<ResponseHead, std::string> parseResponseHead(std::string_view block);

// Decodes a chunked body incrementally, as bytes arrive: chunk data is handed to onData as soon as
// it is seen, which is what makes a watch stream event by event. Chunk extensions and trailer
// fields are read and dropped. Stops at the end of the body, so the bytes after it (the next
// request on a keep-alive connection) stay with the caller.
class ChunkedDecoder {
 public:
  // `maxLineBytes` bounds one chunk-size line and the trailer section.
  explicit ChunkedDecoder(std::size_t maxLineBytes = 64 * 1024) : maxLineBytes_(maxLineBytes) {}

  // Consumes a prefix of `input`: everything up to the end of the body, or all of it. Returns how
  // many bytes it consumed. When onData returns false, decoding pauses right after that data and
  // the count says where; feeding the rest later continues.
  std::expected<std::size_t, std::string> feed(std::string_view input,
                                               const std::function<bool(std::string_view)>& onData);

  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  std::expected<void, std::string> finishLine();

  std::size_t maxLineBytes_;
  State state_ = State::kSize;
  std::string line_;
  std::uint64_t remaining_ = 0;
  std::size_t trailerBytes_ = 0;
};

}  // namespace billing::common
