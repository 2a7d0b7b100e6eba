// A small HTTP/1.1 server over POSIX sockets and OpenSSL: what the test API server (kubectl
// talks to it) and the webhook and metrics endpoints need, without Kubernetes semantics.
// Written for us rather than taken from cpprestsdk because handlers need the client certificate
// and long-lived streaming (watch) responses flushed event by event. See docs/http.md.
//
// Threading: one accept thread, one thread per connection (handlers run there, sequentially for
// the requests of one keep-alive connection), and one thread noticing clients that hang up while
// a handler streams. At most Options::maxConnections connections are served; a few more are
// answered 503 and closed; beyond that, connections are closed at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/http_message.h"
#include "common/tls.h"

namespace billing::common {

// How a handler answers. Either respond() once, or startStream(), writeChunk()... and
// endStream(). Calls come from the handler's thread; closed(), stopRequested() and onClose() may
// also be used from other threads.
//
// A streaming handler that waits on its own event source (a watch) does it like this:
//
//   std::mutex mutex;  std::condition_variable wake;  std::deque<std::string> events;
//   writer.onClose([&] { std::lock_guard lock(mutex); wake.notify_all(); });
//   subscribe(events, mutex, wake);  // the producer pushes under `mutex` and notifies
//   if (!writer.startStream(200, {{"Content-Type", "application/json"}})) return;
//   std::unique_lock lock(mutex);
//   while (true) {
//     wake.wait(lock, [&] { return !events.empty() || writer.closed(); });
//     if (writer.closed()) return;  // client gone, server stopping, or connection cut
//     std::string event = std::move(events.front());
//     events.pop_front();
//     lock.unlock();
//     if (!writer.writeChunk(event)) return;
//     lock.lock();
//   }
//
// The server ends an unfinished stream when the handler returns; a handler that returns without
// answering gets a 500 (it is a bug), as does one that throws.
class HttpResponseWriter {
 public:
  virtual ~HttpResponseWriter() = default;

  // Sends a complete response with Content-Length. Connection and framing headers (Content-Length,
  // Transfer-Encoding, Connection) are the server's; a "Connection: close" from the handler closes
  // the connection after the response. HEAD requests get the headers only. Returns false when
  // nothing could be sent (the client is gone, a response was already started, or a header holds
  // CR/LF).
  virtual bool respond(int status, HttpHeaders headers, std::string body) = 0;

  // Sends the head of a chunked response (Transfer-Encoding: chunked; to an HTTP/1.0 client the
  // body is delimited by closing the connection instead).
  virtual bool startStream(int status, HttpHeaders headers) = 0;
  // Sends one chunk and flushes it to the socket before returning. Returns false once the client
  // has gone, the server is stopping, the connection was cut, a write timed out, or the request
  // was HEAD: the handler should return then. An empty chunk sends nothing.
  virtual bool writeChunk(std::string_view data) = 0;
  // Sends the last chunk; the connection may then serve the next request.
  virtual bool endStream() = 0;

  // True once the client has gone (closed or reset its side), the server is stopping, or
  // closeAllConnections() cut this connection. Lock-free; fine inside a condition-variable
  // predicate.
  virtual bool closed() const = 0;
  virtual bool stopRequested() const = 0;
  // Runs `callback` once, on another thread, when this connection closes as described for
  // closed() after the call: a handler blocked on its own condition variable uses it to wake up.
  // Keep it short (lock, notify). It never runs after the handler has returned; a close that
  // happened before onClose() is only visible through closed().
  virtual void onClose(std::function<void()> callback) = 0;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponseWriter&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // a literal address or a name; "::1" for IPv6
  std::uint16_t port = 0;          // 0: an ephemeral port, see HttpServer::port()
  std::optional<TlsServerConfig> tls;
  std::size_t maxRequestBodyBytes = 3 * 1024 * 1024;  // Kubernetes' limit; beyond it: 413
  std::size_t maxHeaderBytes = 1024 * 1024;           // request line + fields; beyond it: 431
  std::size_t maxConnections = 1024;
  // From the first byte of a request to its last (and for the TLS handshake); then 408.
  std::chrono::milliseconds readTimeout{std::chrono::seconds(30)};
  // How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idleTimeout{std::chrono::seconds(90)};
  // For one write of a response or chunk; a client that stops reading is dropped after it.
  std::chrono::milliseconds writeTimeout{std::chrono::seconds(60)};
  // stop() lets handlers that are answering an ordinary request finish for this long.
  std::chrono::milliseconds shutdownTimeout{std::chrono::seconds(5)};
  // Unexpected events: handler exceptions, TLS handshake failures, handlers that outlive stop().
  // Default: one line on stderr.
  std::function<void(std::string_view)> errorLog;
};

class HttpServer {
 public:
  using Options = HttpServerOptions;

  HttpServer(Options options, HttpHandler handler);
  // Stops the server (see stop()).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Builds the TLS context, binds and starts serving. Once per server.
  std::expected<void, std::string> start();
  // The bound port (after start()).
  std::uint16_t port() const;
  // "https://127.0.0.1:PORT" or "http://[::1]:PORT".
  std::string url() const;

  // Stops accepting, cuts idle connections and streams at once (writeChunk() returns false,
  // onClose callbacks run), lets handlers answering ordinary requests finish for up to
  // Options::shutdownTimeout, then cuts the rest and joins every thread. A handler that still has
  // not returned a second later is logged and its thread detached: stop() is bounded. Idempotent
  // and thread-safe; must not be called from a handler.
  void stop();

  // Cuts every open connection now, without stopping the server: streams end (the client sees
  // the connection drop), idle keep-alive connections close. Fault injection ("drop all
  // watches"). Called from a handler, it spares that handler's own connection.
  void closeAllConnections();

  // Connections accepted since start(), and those open now.
  std::size_t acceptedConnections() const;
  std::size_t openConnections() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::mutex lifecycleMutex_;
  std::thread acceptThread_;
  std::thread hangupThread_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace billing::common
