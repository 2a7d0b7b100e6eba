#include "common/http_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <map>
#include <system_error>
#include <vector>

#include "common/net_stream.h"

namespace billing::common {
namespace {

using net::Deadline;
using net::IoError;
using net::SocketStream;

// Connections beyond maxConnections that still get a 503 instead of being closed unanswered.
constexpr std::size_t kRejectionSlots = 64;
// How long a closing connection reads what the client still sends (see closeGracefully).
constexpr auto kLinger = std::chrono::milliseconds(500);
// After stop() has cut everything, how long handlers still get to return before being detached.
constexpr auto kStragglerGrace = std::chrono::seconds(1);

std::string httpDate() {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  std::array<char, 40> text{};
  std::snprintf(text.data(), text.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays.at(static_cast<std::size_t>(parts.tm_wday)),  //
                parts.tm_mday, kMonths.at(static_cast<std::size_t>(parts.tm_mon)),
                parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec);
  return text.data();
}

void signalEventFd(int fd) {
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(fd, &one, sizeof one);
}

void drainEventFd(int fd) {
  std::uint64_t value = 0;
  [[maybe_unused]] auto got = ::read(fd, &value, sizeof value);
}

struct RequestTarget {
  std::string path;
  std::string rawQuery;
};

// Origin form ("/a/b?c"), absolute form ("http://host/a?c", which proxies send) and "*" for
// OPTIONS. The path is percent-decoded; the query is kept raw and parsed separately.
std::expected<RequestTarget, std::string> parseTarget(std::string_view method,
                                                      std::string_view target) {
  if (target == "*") {
    if (method != "OPTIONS") return std::unexpected("'*' is only a target for OPTIONS");
    return RequestTarget{"*", ""};
  }
  if (!target.starts_with('/')) {
    auto schemeEnd = target.find("://");
    std::string_view scheme = target.substr(0, schemeEnd);
    if (schemeEnd == std::string_view::npos ||
        !(equalsIgnoreCase(scheme, "http") || equalsIgnoreCase(scheme, "https"))) {
      return std::unexpected("malformed request target");
    }
    auto pathStart = target.find_first_of("/?", schemeEnd + 3);
    target = pathStart == std::string_view::npos ? std::string_view("/") : target.substr(pathStart);
  }
  auto question = target.find('?');
  RequestTarget parsed;
  auto path = percentDecode(target.substr(0, question), false);
  if (!path) return std::unexpected(path.error());
  parsed.path = path->empty() ? "/" : std::move(*path);
  if (question != std::string_view::npos)
    parsed.rawQuery = std::string(target.substr(question + 1));
  return parsed;
}

// Content-Length values ("5", or "5, 5" and repeated fields that agree), RFC 9112 section 6.3.
std::expected<std::optional<std::uint64_t>, std::string> contentLength(const HttpHeaders& headers) {
  std::optional<std::uint64_t> length;
  for (const auto& value : headers.getAll("Content-Length")) {
    std::string_view rest = value;
    while (true) {
      auto comma = rest.find(',');
      std::string_view piece = rest.substr(0, comma);
      while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\t')) {
        piece.remove_prefix(1);
      }
      while (!piece.empty() && (piece.back() == ' ' || piece.back() == '\t'))
        piece.remove_suffix(1);
      if (piece.empty() || piece.size() > 18 ||
          piece.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::unexpected("invalid Content-Length");
      }
      std::uint64_t parsed = std::stoull(std::string(piece));
      if (length && *length != parsed) return std::unexpected("conflicting Content-Length values");
      length = parsed;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return length;
}

enum class Phase { kWaiting, kHandling, kStreaming };

// One accepted connection, shared by its thread, the hang-up watcher and stop() or
// closeAllConnections() on other threads (which only ever interrupt it and run its callback).
struct Connection {
  Connection(std::uint64_t connectionId, std::unique_ptr<SocketStream> socketStream,
             std::string remote)
      : id(connectionId), stream(std::move(socketStream)), remoteAddress(std::move(remote)) {}

  const std::uint64_t id;
  const std::unique_ptr<SocketStream> stream;
  const std::string remoteAddress;
  bool overloaded = false;
  std::atomic<Phase> phase{Phase::kWaiting};
  std::atomic<bool> cut{false};     // closeAllConnections() or stop()
  std::atomic<bool> hungUp{false};  // seen by the hang-up watcher while streaming

  void setCallback(std::function<void()> callback) {
    std::lock_guard lock(callbackMutex_);
    callback_ = std::move(callback);
    callbackFired_ = false;
  }

  // Runs the handler's close callback (once) without holding any lock of ours, so that the
  // callback may take the handler's own mutex.
  void fireCallback() {
    std::function<void()> callback;
    {
      std::lock_guard lock(callbackMutex_);
      if (!callback_ || callbackFired_) return;
      callbackFired_ = true;
      callback = callback_;
      ++callbacksRunning_;
    }
    try {
      callback();
    } catch (...) {  // a throwing callback must not end the thread that cut the connection
    }
    {
      std::lock_guard lock(callbackMutex_);
      --callbacksRunning_;
    }
    callbackIdle_.notify_all();
  }

  // After the handler returned: no callback may run any more (it would touch the handler's dead
  // locals), so wait for one in flight.
  void clearCallback() {
    std::unique_lock lock(callbackMutex_);
    callbackIdle_.wait(lock, [this] { return callbacksRunning_ == 0; });
    callback_ = nullptr;
    callbackFired_ = false;
  }

  void cutNow() {
    cut.store(true);
    stream->interrupt();
    fireCallback();
  }

 private:
  std::mutex callbackMutex_;
  std::condition_variable callbackIdle_;
  std::function<void()> callback_;
  bool callbackFired_ = false;
  int callbacksRunning_ = 0;
};

// The connection whose handler runs on this thread: closeAllConnections() spares it.
thread_local const Connection* currentConnection = nullptr;

class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(HttpServerOptions serverOptions, HttpHandler requestHandler)
      : options(std::move(serverOptions)), handler(std::move(requestHandler)) {}

  ~ServerCore() {
    for (int fd : {listenFd, acceptWakeFd, hangupWakeFd}) {
      if (fd >= 0) ::close(fd);
    }
  }
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  void log(std::string_view message) const {
    if (options.errorLog) {
      options.errorLog(message);
    } else {
      std::cerr << "http server: " << message << '\n';
    }
  }

  std::vector<std::shared_ptr<Connection>> snapshot() const {
    std::lock_guard lock(mutex);
    std::vector<std::shared_ptr<Connection>> all;
    all.reserve(connections.size());
    for (const auto& [id, connection] : connections) all.push_back(connection);
    return all;
  }

  void watch(const std::shared_ptr<Connection>& connection) {
    {
      std::lock_guard lock(watchMutex);
      watched[connection->id] = connection;
    }
    signalEventFd(hangupWakeFd);
  }

  void unwatch(std::uint64_t id) {
    bool erased = false;
    {
      std::lock_guard lock(watchMutex);
      erased = watched.erase(id) > 0;
    }
    if (erased) signalEventFd(hangupWakeFd);
  }

  bool waitForConnections(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return connectionsChanged.wait_for(lock, timeout, [this] { return connections.empty(); });
  }

  void joinFinished() {
    std::vector<std::thread> done;
    {
      std::lock_guard lock(mutex);
      for (auto id : finished) {
        if (auto found = threads.find(id); found != threads.end()) {
          done.push_back(std::move(found->second));
          threads.erase(found);
        }
      }
      finished.clear();
    }
    for (auto& thread : done) thread.join();
  }

  void acceptLoop();
  void hangupLoop();
  void admit(int fd, std::string remote);
  void serve(const std::shared_ptr<Connection>& connection);

  const HttpServerOptions options;
  const HttpHandler handler;
  tls_internal::SslCtxPtr tlsContext;
  int listenFd = -1;
  int acceptWakeFd = -1;
  int hangupWakeFd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> accepted{0};

  mutable std::mutex mutex;
  std::condition_variable connectionsChanged;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections;
  std::map<std::uint64_t, std::thread> threads;
  std::vector<std::uint64_t> finished;
  std::uint64_t nextId = 1;

  std::mutex watchMutex;
  std::map<std::uint64_t, std::shared_ptr<Connection>> watched;
};

class ConnectionWriter final : public HttpResponseWriter {
 public:
  ConnectionWriter(ServerCore& server, const std::shared_ptr<Connection>& connection,
                   bool headRequest, bool http10, bool keepAlive)
      : server_(server),
        connection_(connection),
        headRequest_(headRequest),
        http10_(http10),
        keepAlive_(keepAlive) {}

  bool respond(int status, HttpHeaders headers, std::string body) override {
    if (state_ != State::kIdle || status < 200 || status > 999 || !validHeaders(headers)) {
      return false;
    }
    state_ = State::kResponded;
    bool bodyless = status == 204 || status == 304;
    std::string message =
        head(status, headers, bodyless ? std::nullopt : std::optional(body.size()), false);
    if (!headRequest_ && !bodyless) message += body;
    return write(message);
  }

  bool startStream(int status, HttpHeaders headers) override {
    if (state_ != State::kIdle || status < 200 || status > 999 || !validHeaders(headers)) {
      return false;
    }
    state_ = State::kStreaming;
    // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection.
    closeDelimited_ = http10_;
    if (closeDelimited_) keepAlive_ = false;
    connection_->phase.store(Phase::kStreaming);
    server_.watch(connection_);
    return write(head(status, headers, std::nullopt, !closeDelimited_));
  }

  bool writeChunk(std::string_view data) override {
    if (state_ != State::kStreaming || headRequest_ || closed()) return false;
    if (data.empty()) return true;
    if (closeDelimited_) return write(data);
    std::array<char, 20> size{};
    int length = std::snprintf(size.data(), size.size(), "%zx\r\n", data.size());
    std::string frame;
    frame.reserve(static_cast<std::size_t>(length) + data.size() + 2);
    frame.append(size.data(), static_cast<std::size_t>(length)).append(data).append("\r\n");
    return write(frame);
  }

  bool endStream() override {
    if (state_ != State::kStreaming) return false;
    state_ = State::kStreamEnded;
    server_.unwatch(connection_->id);
    connection_->phase.store(Phase::kHandling);
    if (headRequest_ || closeDelimited_) return !failed_.load();
    return write("0\r\n\r\n");
  }

  bool closed() const override {
    return failed_.load() || connection_->cut.load() || connection_->hungUp.load() ||
           server_.stopping.load() || connection_->stream->peerHungUp();
  }

  bool stopRequested() const override { return server_.stopping.load(); }

  void onClose(std::function<void()> callback) override {
    connection_->setCallback(std::move(callback));
  }

  // After the handler returned (or threw): answers for it if it did not, ends an open stream.
  void finish(bool handlerThrew, std::string_view what) {
    if (state_ == State::kIdle) {
      if (!handlerThrew)
        server_.log(std::string(what) + ": the handler returned without responding");
      respond(500, {{"Content-Type", "text/plain; charset=utf-8"}},
              handlerThrew ? "internal error: the request handler failed\n"
                           : "internal error: the request handler did not respond\n");
    } else if (state_ == State::kStreaming) {
      if (handlerThrew) {
        // Cut rather than end the body: the client must not take a broken stream as complete.
        failed_.store(true);
        connection_->stream->interrupt();
      }
      endStream();
    }
    server_.unwatch(connection_->id);
  }

  // May the connection serve another request?
  bool reusable() const {
    return keepAlive_ && !failed_.load() && !closeDelimited_ &&
           (state_ == State::kResponded || state_ == State::kStreamEnded);
  }
  bool failed() const { return failed_.load(); }

 private:
  enum class State { kIdle, kResponded, kStreaming, kStreamEnded };

  bool validHeaders(const HttpHeaders& headers) const {
    for (const auto& [name, value] : headers) {
      if (!isValidHeaderField(name, value)) {
        server_.log("response header \"" + name + "\" is not a valid HTTP field; not sent");
        return false;
      }
    }
    return true;
  }

  std::string head(int status, const HttpHeaders& headers, std::optional<std::size_t> length,
                   bool chunked) {
    if (headers.hasToken("Connection", "close")) keepAlive_ = false;
    if (server_.stopping.load() || connection_->cut.load()) keepAlive_ = false;
    std::string text = "HTTP/1.1 " + std::to_string(status) + " ";
    text.append(reasonPhrase(status)).append("\r\n");
    for (const auto& [name, value] : headers) {
      if (equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Transfer-Encoding") ||
          equalsIgnoreCase(name, "Connection")) {
        continue;
      }
      text.append(name).append(": ").append(value).append("\r\n");
    }
    if (!headers.contains("Date")) text.append("Date: ").append(httpDate()).append("\r\n");
    if (length) text.append("Content-Length: ").append(std::to_string(*length)).append("\r\n");
    if (chunked) text.append("Transfer-Encoding: chunked\r\n");
    if (!keepAlive_) {
      text.append("Connection: close\r\n");
    } else if (http10_) {
      text.append("Connection: keep-alive\r\n");
    }
    text.append("\r\n");
    return text;
  }

  bool write(std::string_view data) {
    if (failed_.load()) return false;
    if (!connection_->stream->writeAll(data, net::deadlineAfter(server_.options.writeTimeout))) {
      failed_.store(true);
      return false;
    }
    return true;
  }

  ServerCore& server_;
  std::shared_ptr<Connection> connection_;
  const bool headRequest_;
  const bool http10_;
  bool keepAlive_;
  bool closeDelimited_ = false;
  State state_ = State::kIdle;
  std::atomic<bool> failed_{false};
};

// Reads and answers the requests of one connection, in order.
class Session {
 public:
  Session(ServerCore& server, const std::shared_ptr<Connection>& connection)
      : server_(server), connection_(connection), stream_(*connection->stream) {}

  void run() {
    const auto& options = server_.options;
    if (server_.tlsContext) {
      auto handshake =
          stream_.acceptTls(server_.tlsContext.get(), net::deadlineAfter(options.readTimeout));
      if (!handshake) {
        if (handshake.error().kind == IoError::Kind::kFailed) {
          server_.log("TLS handshake error from " + connection_->remoteAddress + ": " +
                      handshake.error().message);
          stream_.closeGracefully(kLinger);
        }
        return;
      }
      peer_ = tls_internal::peerIdentity(stream_.ssl());
    }
    bool first = true;
    while (true) {
      connection_->phase.store(Phase::kWaiting);
      // Pairs with stop(), which sets `stopping` before looking at the phase: either stop() sees
      // kWaiting and cuts us, or we see `stopping` here.
      if (server_.stopping.load() || connection_->cut.load()) return;
      auto headSize = readHead(first);
      if (!headSize) return;
      first = false;
      if (!handle(*headSize)) return;
    }
  }

 private:
  // Appends what the socket has to the buffer.
  std::expected<void, IoError> readMore(Deadline deadline) {
    std::array<char, 16 * 1024> chunk{};
    auto got = stream_.readSome(chunk.data(), chunk.size(), deadline);
    if (!got) return std::unexpected(got.error());
    buffer_.append(chunk.data(), *got);
    return {};
  }

  // Waits for a complete request head; its size, or nothing when the connection is done (an
  // error response, if one was due, has been sent).
  std::optional<std::size_t> readHead(bool first) {
    const auto& options = server_.options;
    Deadline idleDeadline = net::deadlineAfter(first ? options.readTimeout : options.idleTimeout);
    requestDeadline_.reset();
    while (true) {
      // Empty lines before a request line are ignored (RFC 9112 section 2.2).
      auto start = buffer_.find_first_not_of("\r\n");
      buffer_.erase(0, start == std::string::npos ? buffer_.size() : start);
      if (!buffer_.empty() && !requestDeadline_) {
        requestDeadline_ = net::deadlineAfter(options.readTimeout);
      }
      auto end = findHeaderBlockEnd(buffer_);
      if ((end && *end > options.maxHeaderBytes) ||
          (!end && buffer_.size() > options.maxHeaderBytes)) {
        reject(431,
               "request header fields exceed " + std::to_string(options.maxHeaderBytes) + " bytes");
        return std::nullopt;
      }
      if (end) return end;
      auto got = readMore(buffer_.empty() ? idleDeadline : requestDeadline_);
      if (!got) {
        if (got.error().kind == IoError::Kind::kTimeout && !buffer_.empty()) {
          reject(408, "timed out reading the request");
        }
        return std::nullopt;
      }
    }
  }

  // Reads the body, calls the handler; false when the connection must close.
  bool handle(std::size_t headSize) {
    const auto& options = server_.options;
    auto parsedHead = parseRequestHead(std::string_view(buffer_).substr(0, headSize));
    buffer_.erase(0, headSize);
    if (!parsedHead) return reject(parsedHead.error().status, parsedHead.error().message);
    RequestHead& head = *parsedHead;
    bool http10 = head.minorVersion == 0;

    if (!http10 && head.headers.getAll("Host").size() != 1) {
      return reject(400, "an HTTP/1.1 request needs exactly one Host header");
    }
    auto target = parseTarget(head.method, head.target);
    if (!target) return reject(400, target.error());
    auto query = parseQuery(target->rawQuery);
    if (!query) return reject(400, query.error());

    bool chunked = false;
    if (auto codings = head.headers.getAll("Transfer-Encoding"); !codings.empty()) {
      if (http10) return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
      if (head.headers.contains("Content-Length")) {
        return reject(400, "both Transfer-Encoding and Content-Length");
      }
      if (codings.size() != 1 || !equalsIgnoreCase(codings.front(), "chunked")) {
        return reject(501, "only the chunked transfer coding is supported");
      }
      chunked = true;
    }
    auto length = contentLength(head.headers);
    if (!length) return reject(400, length.error());
    if (length->value_or(0) > options.maxRequestBodyBytes) {
      return reject(
          413, "request body exceeds " + std::to_string(options.maxRequestBodyBytes) + " bytes");
    }
    if (auto expect = head.headers.get("Expect")) {
      if (!equalsIgnoreCase(*expect, "100-continue")) {
        return reject(417, "unsupported expectation \"" + *expect + "\"");
      }
      // Go's client waits (up to a second) for this before sending a large body.
      bool bodyComing = chunked || length->value_or(0) > 0;
      if (!http10 && bodyComing && buffer_.empty() &&
          !stream_.writeAll("HTTP/1.1 100 Continue\r\n\r\n",
                            net::deadlineAfter(options.writeTimeout))) {
        return false;
      }
    }

    HttpRequest request;
    if (chunked) {
      if (!readChunkedBody(request.body)) return false;
    } else if (length->value_or(0) > 0) {
      if (!readFixedBody(static_cast<std::size_t>(**length), request.body)) return false;
    }

    request.method = std::move(head.method);
    request.target = std::move(head.target);
    request.path = std::move(target->path);
    request.rawQuery = std::move(target->rawQuery);
    request.query = std::move(*query);
    request.httpVersion = http10 ? "HTTP/1.0" : "HTTP/1.1";
    request.headers = std::move(head.headers);
    request.remoteAddress = connection_->remoteAddress;
    request.peer = peer_;
    bool keepAlive = http10 ? request.headers.hasToken("Connection", "keep-alive")
                            : !request.headers.hasToken("Connection", "close");

    connection_->phase.store(Phase::kHandling);
    ConnectionWriter writer(server_, connection_, request.method == "HEAD", http10, keepAlive);
    if (connection_->overloaded) {
      writer.respond(503,
                     {{"Content-Type", "text/plain; charset=utf-8"},
                      {"Retry-After", "1"},
                      {"Connection", "close"}},
                     "too many connections\n");
    } else {
      callHandler(request, writer);
    }
    connection_->clearCallback();

    if (writer.reusable() && !server_.stopping.load() && !connection_->cut.load()) return true;
    if (!writer.failed() && !server_.stopping.load() && !connection_->cut.load()) {
      stream_.closeGracefully(kLinger);
    }
    return false;
  }

  void callHandler(const HttpRequest& request, ConnectionWriter& writer) {
    std::string what = request.method + " " + request.path;
    bool threw = false;
    try {
      server_.handler(request, writer);
    } catch (const std::exception& error) {
      threw = true;
      server_.log(what + ": the handler threw: " + error.what());
    } catch (...) {
      threw = true;
      server_.log(what + ": the handler threw");
    }
    try {
      writer.finish(threw, what);
    } catch (...) {
      connection_->stream->interrupt();
    }
  }

  bool readFixedBody(std::size_t length, std::string& body) {
    while (buffer_.size() < length) {
      if (auto got = readMore(requestDeadline_); !got) return bodyReadFailed(got.error());
    }
    body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return true;
  }

  bool readChunkedBody(std::string& body) {
    const std::size_t limit = server_.options.maxRequestBodyBytes;
    ChunkedDecoder decoder;
    bool tooLarge = false;
    auto append = [&](std::string_view piece) {
      if (body.size() + piece.size() > limit) {
        tooLarge = true;
        return false;
      }
      body.append(piece);
      return true;
    };
    while (true) {
      auto consumed = decoder.feed(buffer_, append);
      if (!consumed) return reject(400, "malformed chunked body: " + consumed.error());
      buffer_.erase(0, *consumed);
      if (tooLarge) {
        return reject(413, "request body exceeds " + std::to_string(limit) + " bytes");
      }
      if (decoder.done()) return true;
      if (auto got = readMore(requestDeadline_); !got) return bodyReadFailed(got.error());
    }
  }

  bool bodyReadFailed(const IoError& error) {
    if (error.kind == IoError::Kind::kTimeout) reject(408, "timed out reading the request body");
    return false;
  }

  // Answers a request we will not serve, then closes the connection; always false.
  bool reject(int status, const std::string& message) {
    std::string body = message + "\n";
    std::string response = "HTTP/1.1 " + std::to_string(status) + " ";
    response.append(reasonPhrase(status))
        .append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
        .append(std::to_string(body.size()))
        .append("\r\nConnection: close\r\nDate: ")
        .append(httpDate())
        .append("\r\n\r\n")
        .append(body);
    if (stream_.writeAll(response, net::deadlineAfter(server_.options.writeTimeout))) {
      stream_.closeGracefully(kLinger);
    }
    return false;
  }

  ServerCore& server_;
  std::shared_ptr<Connection> connection_;
  SocketStream& stream_;
  std::string buffer_;
  Deadline requestDeadline_;
  std::optional<TlsPeerIdentity> peer_;
};

void ServerCore::acceptLoop() {
  std::array<pollfd, 2> polled{pollfd{listenFd, POLLIN, 0}, pollfd{acceptWakeFd, POLLIN, 0}};
  while (!stopping.load()) {
    int ready = ::poll(polled.data(), polled.size(), -1);
    if (ready < 0) {
      if (errno != EINTR) log("poll on the listening socket: " + net::errnoText(errno));
      continue;
    }
    if (polled[1].revents != 0 || stopping.load()) break;
    if (polled[0].revents == 0) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = ::accept4(listenFd, reinterpret_cast<sockaddr*>(&address), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int error = errno;
      if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
        log("accept: " + net::errnoText(error));
        // Back off instead of spinning on a listening socket we cannot drain; stop() wakes us.
        ::poll(&polled[1], 1, 100);
      }
      continue;
    }
    accepted.fetch_add(1);
    admit(fd, net::socketAddressText(reinterpret_cast<const sockaddr*>(&address), length));
  }
}

void ServerCore::admit(int fd, std::string remote) {
  joinFinished();
  std::lock_guard lock(mutex);
  std::size_t open = connections.size();
  if (open >= options.maxConnections + kRejectionSlots) {
    ::close(fd);
    return;
  }
  auto connection =
      std::make_shared<Connection>(nextId++, std::make_unique<SocketStream>(fd), std::move(remote));
  connection->overloaded = open >= options.maxConnections;
  connections.emplace(connection->id, connection);
  try {
    // The thread keeps the core alive: a handler that outlives stop() is detached, not freed.
    threads.emplace(connection->id, std::thread([core = shared_from_this(), connection] {
                      core->serve(connection);
                    }));
  } catch (const std::system_error& error) {
    connections.erase(connection->id);
    log(std::string("cannot start a connection thread: ") + error.what());
  }
}

void ServerCore::serve(const std::shared_ptr<Connection>& connection) {
  currentConnection = connection.get();
  try {
    Session(*this, connection).run();
  } catch (const std::exception& error) {
    log(std::string("connection from ") + connection->remoteAddress + ": " + error.what());
  } catch (...) {
    log("connection from " + connection->remoteAddress + ": unknown error");
  }
  currentConnection = nullptr;
  unwatch(connection->id);
  {
    std::lock_guard lock(mutex);
    connections.erase(connection->id);
    finished.push_back(connection->id);
  }
  connectionsChanged.notify_all();
}

// Notices clients that hang up while a handler streams to them (a handler blocked on its event
// source would not see it before its next write), and wakes that handler through onClose().
void ServerCore::hangupLoop() {
  while (!stopping.load()) {
    std::vector<std::shared_ptr<Connection>> polledConnections;
    std::vector<pollfd> polled{pollfd{hangupWakeFd, POLLIN, 0}};
    {
      std::lock_guard lock(watchMutex);
      for (const auto& [id, connection] : watched) {
        polledConnections.push_back(connection);
        // POLLRDHUP alone: data the client sends is not our business here, only its FIN.
        polled.push_back(pollfd{connection->stream->fd(), POLLRDHUP, 0});
      }
    }
    if (::poll(polled.data(), polled.size(), -1) < 0) continue;
    if (stopping.load()) return;
    if (polled[0].revents != 0) drainEventFd(hangupWakeFd);
    std::vector<std::shared_ptr<Connection>> gone;
    {
      std::lock_guard lock(watchMutex);
      for (std::size_t i = 1; i < polled.size(); ++i) {
        if ((polled[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0) continue;
        const auto& connection = polledConnections[i - 1];
        if (watched.erase(connection->id) > 0) gone.push_back(connection);
      }
    }
    for (const auto& connection : gone) {
      connection->hungUp.store(true);
      connection->fireCallback();
    }
  }
}

struct BoundSocket {
  int fd = -1;
  std::uint16_t port = 0;
};

std::expected<BoundSocket, std::string> listenOn(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string where = host + ":" + std::to_string(port);
  if (int status = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                 std::to_string(port).c_str(), &hints, &found);
      status != 0) {
    return std::unexpected("listen on " + where + ": " + ::gai_strerror(status));
  }
  std::unique_ptr<addrinfo, tls_internal::Deleter<::freeaddrinfo>> addresses(found);
  int fd =
      ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) return std::unexpected("listen on " + where + ": " + net::errnoText(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    int error = errno;
    ::close(fd);
    return std::unexpected("listen on " + where + ": " + net::errnoText(error));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  std::uint16_t boundPort = bound.ss_family == AF_INET6
                                ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return BoundSocket{fd, boundPort};
}

}  // namespace

struct HttpServer::State : ServerCore {
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(Options options, HttpHandler handler)
    : state_(std::make_shared<State>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

std::expected<void, std::string> HttpServer::start() {
  std::lock_guard lifecycle(lifecycleMutex_);
  if (started_) return std::unexpected("the server was already started");
  State& state = *state_;
  if (state.options.tls) {
    auto context = tls_internal::makeServerContext(*state.options.tls);
    if (!context) return std::unexpected("TLS: " + context.error());
    state.tlsContext = std::move(*context);
  }
  auto bound = listenOn(state.options.host, state.options.port);
  if (!bound) return std::unexpected(bound.error());
  state.listenFd = bound->fd;
  state.port = bound->port;
  state.acceptWakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  state.hangupWakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (state.acceptWakeFd < 0 || state.hangupWakeFd < 0) {
    return std::unexpected("eventfd: " + net::errnoText(errno));
  }
  try {
    acceptThread_ = std::thread([state = state_] { state->acceptLoop(); });
    hangupThread_ = std::thread([state = state_] { state->hangupLoop(); });
  } catch (const std::system_error& error) {
    state.stopping.store(true);
    signalEventFd(state.acceptWakeFd);
    if (acceptThread_.joinable()) acceptThread_.join();
    return std::unexpected(std::string("cannot start the server threads: ") + error.what());
  }
  started_ = true;
  return {};
}

std::uint16_t HttpServer::port() const { return state_->port; }

std::string HttpServer::url() const {
  const std::string& host = state_->options.host;
  std::string shownHost = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return (state_->options.tls ? "https://" : "http://") + shownHost + ":" +
         std::to_string(state_->port);
}

void HttpServer::stop() {
  std::lock_guard lifecycle(lifecycleMutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  State& state = *state_;
  state.stopping.store(true);
  signalEventFd(state.acceptWakeFd);
  acceptThread_.join();
  ::close(state.listenFd);
  state.listenFd = -1;

  // Idle connections and streams go now; handlers answering a request may finish it.
  for (const auto& connection : state.snapshot()) {
    if (connection->phase.load() == Phase::kHandling) {
      connection->fireCallback();
    } else {
      connection->cutNow();
    }
  }
  signalEventFd(state.hangupWakeFd);
  hangupThread_.join();

  if (!state.waitForConnections(state.options.shutdownTimeout)) {
    for (const auto& connection : state.snapshot()) connection->cutNow();
    state.waitForConnections(kStragglerGrace);
  }
  state.joinFinished();
  std::lock_guard lock(state.mutex);
  if (!state.threads.empty()) {
    state.log(std::to_string(state.threads.size()) +
              " request handler(s) ignored the shutdown and were left running");
    for (auto& [id, thread] : state.threads) thread.detach();
    state.threads.clear();
  }
}

void HttpServer::closeAllConnections() {
  for (const auto& connection : state_->snapshot()) {
    if (connection.get() != currentConnection) connection->cutNow();
  }
}

std::size_t HttpServer::acceptedConnections() const { return state_->accepted.load(); }

std::size_t HttpServer::openConnections() const {
  std::lock_guard lock(state_->mutex);
  return state_->connections.size();
}

}  // namespace billing::common
