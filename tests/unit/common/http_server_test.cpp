#include "common/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/http_client.h"
#include "common/net_stream.h"
#include "http_test_support.h"

namespace billing::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Latch;
using testing::RawConnection;
using ::testing::StartsWith;

// Collects the server's error log so that tests can assert on it (and stay quiet).
class LogSink {
 public:
  std::function<void(std::string_view)> writer() {
    return [this](std::string_view line) {
      {
        std::lock_guard lock(mutex_);
        lines_.emplace_back(line);
      }
      changed_.notify_all();
    };
  }
  // The server may log after the client has its answer: waits (bounded) for the line.
  bool contains(std::string_view text) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] {
      return std::any_of(lines_.begin(), lines_.end(),
                         [text](const std::string& line) { return line.find(text) != line.npos; });
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// The parsing pieces the server relies on, on their own.
TEST(HttpServerParsing, ChunkedDecoderStopsAtTheEndAndCanPause) {
  ChunkedDecoder decoder;
  std::vector<std::string> pieces;
  auto collect = [&](std::string_view piece) {
    pieces.emplace_back(piece);
    return true;
  };
  std::string_view input =
      "A\r\n0123456789\r\n1a;x=y\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nNEXT";
  auto consumed = decoder.feed(input.substr(0, 7), collect);  // split inside the first chunk
  ASSERT_TRUE(consumed.has_value());
  EXPECT_EQ(*consumed, 7u);
  consumed = decoder.feed(input.substr(7), collect);
  ASSERT_TRUE(consumed.has_value()) << consumed.error();
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(input.substr(7 + *consumed), "NEXT") << "bytes after the body stay with the caller";
  EXPECT_THAT(pieces, ElementsAre("0123", "456789", "abcdefghijklmnopqrstuvwxyz"));

  ChunkedDecoder pausing;
  std::string seen;
  auto once = [&](std::string_view piece) {
    seen.append(piece);
    return false;
  };
  std::string_view twoChunks = "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n";
  auto first = pausing.feed(twoChunks, once);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(seen, "ab");
  auto rest = pausing.feed(twoChunks.substr(*first), collect);
  ASSERT_TRUE(rest.has_value());
  EXPECT_TRUE(pausing.done());
  EXPECT_EQ(pieces.back(), "cd");
}

TEST(HttpServerParsing, ChunkedDecoderRejectsMalformedInput) {
  for (std::string_view bad :
       {"zz\r\n", "\r\n", "5\r\nhelloXX\r\n", "5 x\r\n", "FFFFFFFFFFFFFFFFFF\r\n"}) {
    ChunkedDecoder decoder;
    EXPECT_FALSE(decoder.feed(bad, [](std::string_view) { return true; }).has_value()) << bad;
  }
  ChunkedDecoder longLine(16);
  EXPECT_FALSE(longLine.feed(std::string(40, '1'), [](std::string_view) { return true; }));
}

TEST(HttpServerParsing, HeadersQueriesAndEscapes) {
  HttpHeaders headers{{"Connection", "keep-alive, Upgrade"}, {"X-A", "1"}};
  headers.add("x-a", "2");
  EXPECT_TRUE(headers.hasToken("connection", "upgrade"));
  EXPECT_FALSE(headers.hasToken("Connection", "close"));
  EXPECT_THAT(headers.getAll("X-A"), ElementsAre("1", "2"));
  headers.set("X-A", "3");
  EXPECT_THAT(headers.getAll("x-a"), ElementsAre("3"));
  headers.remove("CONNECTION");
  EXPECT_FALSE(headers.contains("Connection"));

  auto query = parseQuery("a=1&&b=x+y%26z&flag&a=%E2%82%AC");
  ASSERT_TRUE(query.has_value());
  EXPECT_EQ(*query, (QueryParameters{{"a", "1"}, {"b", "x y&z"}, {"flag", ""}, {"a", "\u20ac"}}));
  EXPECT_FALSE(parseQuery("a=%4").has_value());
  EXPECT_EQ(percentEncode("a b/c~\u20ac"), "a%20b%2Fc~%E2%82%AC");
  EXPECT_EQ(percentDecode(percentEncode("x y+z/%"), false), std::string("x y+z/%"));
  EXPECT_EQ(percentDecode("a+b", false), std::string("a+b"));
  EXPECT_EQ(reasonPhrase(413), "Content Too Large");
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerOptions options() {
    HttpServerOptions options;
    options.errorLog = log_.writer();
    return options;
  }

  HttpServer& start(HttpServerOptions options, HttpHandler handler) {
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(handler));
    auto started = server_->start();
    EXPECT_TRUE(started.has_value()) << started.error();
    return *server_;
  }

  std::string url(std::string_view path) const { return server_->url() + std::string(path); }

  // Sends raw bytes on a fresh connection and reads one response.
  std::string exchange(std::string_view request) {
    RawConnection connection(server_->port());
    EXPECT_TRUE(connection.send(request));
    return connection.readResponse().value_or("<no response>");
  }

  LogSink log_;
  std::unique_ptr<HttpServer> server_;
};

// Replies with the request body; counts calls.
struct EchoHandler {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  void operator()(const HttpRequest& request, HttpResponseWriter& writer) const {
    ++*calls;
    writer.respond(200, {{"Content-Type", "text/plain"}}, request.body);
  }
};

TEST_F(HttpServerTest, PlainRoundTripDeliversEveryPartOfTheRequest) {
  std::mutex mutex;
  std::optional<HttpRequest> seen;
  start(options(), [&](const HttpRequest& request, HttpResponseWriter& writer) {
    {
      std::lock_guard lock(mutex);
      seen = request;
    }
    writer.respond(201, {{"Content-Type", "text/plain"}, {"X-Reply", "yes"}}, "created");
  });

  HttpClient client;
  auto response =
      client.request("POST", url("/api/v1/a%20b?x=1&tag=a&tag=b+c%2Bd&empty="),
                     {{"X-Test", "value"}, {"Content-Type", "application/json"}}, R"({"k":1})");
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "created");
  EXPECT_EQ(response->headers.get("x-reply"), "yes");
  EXPECT_EQ(response->headers.get("Content-Length"), "7");
  EXPECT_TRUE(response->headers.contains("Date"));

  std::lock_guard lock(mutex);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->method, "POST");
  EXPECT_EQ(seen->target, "/api/v1/a%20b?x=1&tag=a&tag=b+c%2Bd&empty=");
  EXPECT_EQ(seen->path, "/api/v1/a b");
  EXPECT_EQ(seen->rawQuery, "x=1&tag=a&tag=b+c%2Bd&empty=");
  EXPECT_THAT(seen->queryValues("tag"), ElementsAre("a", "b c+d"));
  EXPECT_EQ(seen->queryValue("x"), "1");
  EXPECT_EQ(seen->queryValue("empty"), "");
  EXPECT_FALSE(seen->hasQuery("missing"));
  EXPECT_EQ(seen->headers.get("x-test"), "value");
  EXPECT_EQ(seen->headers.get("HOST"), "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(seen->body, R"({"k":1})");
  EXPECT_EQ(seen->httpVersion, "HTTP/1.1");
  EXPECT_THAT(seen->remoteAddress, StartsWith("127.0.0.1:"));
  EXPECT_FALSE(seen->peer.has_value());
}

TEST_F(HttpServerTest, TlsClientCertificateIdentityReachesTheHandler) {
  std::mutex mutex;
  std::optional<TlsPeerIdentity> peer;
  auto serverOptions = options();
  serverOptions.tls = testing::serverTls(true);
  start(serverOptions, [&](const HttpRequest& request, HttpResponseWriter& writer) {
    std::lock_guard lock(mutex);
    peer = request.peer;
    writer.respond(200, {}, "hello " + (request.peer ? request.peer->commonName : "anonymous"));
  });
  EXPECT_THAT(server_->url(), StartsWith("https://127.0.0.1:"));

  HttpClient client(HttpClientOptions{.tls = testing::clientTls(true)});
  auto response = client.request("GET", url("/whoami"));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->body, "hello alice");
  std::lock_guard lock(mutex);
  ASSERT_TRUE(peer.has_value());
  EXPECT_TRUE(peer->verified);
  EXPECT_EQ(peer->commonName, "alice");
  EXPECT_THAT(peer->organizations, ElementsAre("billing-admins", "auditors"));
}

TEST_F(HttpServerTest, TlsClientWithoutCertificateIsServedWithoutIdentity) {
  std::atomic<bool> sawPeer{true};
  auto serverOptions = options();
  serverOptions.tls = testing::serverTls(true);
  start(serverOptions, [&](const HttpRequest& request, HttpResponseWriter& writer) {
    sawPeer = request.peer.has_value();
    writer.respond(200, {}, "ok");
  });
  HttpClient client(HttpClientOptions{.tls = testing::clientTls(false)});
  auto response = client.request("GET", url("/"));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(sawPeer.load());
}

TEST_F(HttpServerTest, ServerWithoutClientCaDoesNotAskForCertificates) {
  std::atomic<bool> sawPeer{true};
  auto serverOptions = options();
  serverOptions.tls = testing::serverTls(false);
  start(serverOptions, [&](const HttpRequest& request, HttpResponseWriter& writer) {
    sawPeer = request.peer.has_value();
    writer.respond(200, {}, "ok");
  });
  HttpClient client(HttpClientOptions{.tls = testing::clientTls(true)});
  auto response = client.request("GET", url("/"));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_FALSE(sawPeer.load());
}

TEST_F(HttpServerTest, ClientCertificateFromAnotherCaFailsTheHandshake) {
  EchoHandler handler;
  auto serverOptions = options();
  serverOptions.tls = testing::serverTls(true);
  start(serverOptions, handler);

  auto otherCa = generateCertificateAuthority("impostor-ca", std::chrono::days(1));
  ASSERT_TRUE(otherCa.has_value());
  CertificateRequest request;
  request.commonName = "alice";
  request.organizations = {"system:masters"};
  request.serverAuth = false;
  request.clientAuth = true;
  auto impostor = issueCertificate(*otherCa, request);
  ASSERT_TRUE(impostor.has_value());
  auto tls = testing::clientTls(false);
  tls.clientCertPem = impostor->certPem;
  tls.clientKeyPem = impostor->keyPem;

  HttpClient client(HttpClientOptions{.tls = tls});
  auto response = client.request("GET", url("/secret"));
  ASSERT_FALSE(response.has_value()) << "status " << response->status;
  EXPECT_THAT(response.error(), HasSubstr("alert"));
  EXPECT_EQ(handler.calls->load(), 0);
  EXPECT_TRUE(log_.contains("TLS handshake error from 127.0.0.1:"));
}

// ALPN: "http/1.1" when offered (Go offers "h2" first), and no protocol rather than h2 when not.
TEST_F(HttpServerTest, AlpnSelectsHttp11AndNeverH2) {
  auto serverOptions = options();
  serverOptions.tls = testing::serverTls(false);
  start(serverOptions, EchoHandler{});
  auto negotiate = [&](std::string_view offered) -> std::string {
    auto context = tls_internal::makeClientContext(testing::clientTls(false));
    EXPECT_TRUE(context.has_value());
    SSL_CTX_set_alpn_protos(context->get(), reinterpret_cast<const unsigned char*>(offered.data()),
                            static_cast<unsigned int>(offered.size()));
    auto socket =
        net::connectTcp("127.0.0.1", server_->port(), net::deadlineAfter(std::chrono::seconds(10)));
    EXPECT_TRUE(socket.has_value());
    auto handshake = (*socket)->connectTls(context->get(), "127.0.0.1", true,
                                           net::deadlineAfter(std::chrono::seconds(10)));
    EXPECT_TRUE(handshake.has_value()) << handshake.error().message;
    const unsigned char* selected = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected((*socket)->ssl(), &selected, &length);
    return std::string(reinterpret_cast<const char*>(selected), length);
  };
  using namespace std::string_view_literals;
  EXPECT_EQ(negotiate("\x02h2\x08http/1.1"sv), "http/1.1");
  EXPECT_EQ(negotiate("\x02h2"sv), "");
}

TEST_F(HttpServerTest, DecodesChunkedRequestBodiesArrivingInPieces) {
  start(options(), EchoHandler{});
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.send(
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhel"));
  ASSERT_TRUE(connection.send("lo\r\n6\r\n world\r\n"));
  ASSERT_TRUE(connection.send("0\r\nX-Trailer: ignored\r\n\r\n"));
  auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_THAT(*response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(*response, ::testing::EndsWith("\r\n\r\nhello world"));
}

TEST_F(HttpServerTest, ServesSequentialRequestsOnOneKeepAliveConnection) {
  EchoHandler handler;
  start(options(), handler);
  RawConnection connection(server_->port());
  for (int i = 0; i < 3; ++i) {
    std::string body = "request-" + std::to_string(i);
    ASSERT_TRUE(connection.send("PUT /item HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body));
    auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_THAT(*response, ::testing::EndsWith("\r\n\r\n" + body));
    EXPECT_THAT(*response, ::testing::Not(HasSubstr("Connection: close")));
  }
  EXPECT_EQ(handler.calls->load(), 3);
  EXPECT_EQ(server_->acceptedConnections(), 1u);
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  start(options(), [](const HttpRequest& request, HttpResponseWriter& writer) {
    writer.respond(200, {}, request.path);
  });
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.send(
      "GET /first HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = connection.readResponse();
  auto second = connection.readResponse();
  ASSERT_TRUE(first && second);
  EXPECT_THAT(*first, ::testing::EndsWith("/first"));
  EXPECT_THAT(*second, ::testing::EndsWith("/second"));
}

TEST_F(HttpServerTest, HonoursConnectionCloseAndHttp10) {
  start(options(), EchoHandler{});
  {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_THAT(*response, HasSubstr("\r\nConnection: close\r\n"));
    EXPECT_TRUE(connection.waitForClose());
  }
  {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.send("GET / HTTP/1.0\r\n\r\n"));
    auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_THAT(*response, HasSubstr("\r\nConnection: close\r\n"));
    EXPECT_TRUE(connection.waitForClose());
  }
  {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_THAT(*response, HasSubstr("\r\nConnection: keep-alive\r\n"));
    ASSERT_TRUE(connection.send("GET / HTTP/1.0\r\n\r\n"));
    EXPECT_TRUE(connection.readResponse().has_value()) << "the connection stayed open";
  }
}

TEST_F(HttpServerTest, HeadGetsTheHeadersOfGetWithoutTheBody) {
  start(options(), [](const HttpRequest&, HttpResponseWriter& writer) {
    writer.respond(200, {{"Content-Type", "text/plain"}}, "twelve bytes");
  });
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.send("HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(connection.readUntil("\r\n\r\n"));
  std::string head = connection.takeBuffer();
  EXPECT_THAT(head, HasSubstr("\r\nContent-Length: 12\r\n"));
  EXPECT_THAT(head, ::testing::EndsWith("\r\n\r\n"));
  // Had the body been sent, it would now sit in front of the next response.
  ASSERT_TRUE(connection.send("GET /thing HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_THAT(*response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(*response, ::testing::EndsWith("twelve bytes"));
}

TEST_F(HttpServerTest, BodiesOverTheLimitGet413WithoutReachingTheHandler) {
  EchoHandler handler;
  auto serverOptions = options();
  serverOptions.maxRequestBodyBytes = 1024;
  start(serverOptions, handler);

  std::string exact(1024, 'a');
  EXPECT_THAT(exchange("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n" + exact),
              StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(exchange("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n"),
              StartsWith("HTTP/1.1 413 Content Too Large\r\n"));
  EXPECT_THAT(exchange("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                       exact + "\r\n1\r\nb\r\n0\r\n\r\n"),
              StartsWith("HTTP/1.1 413 Content Too Large\r\n"));
  EXPECT_EQ(handler.calls->load(), 1);

  HttpClient client;
  auto response = client.request("POST", url("/"), {}, std::string(4096, 'x'));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 413);
  EXPECT_THAT(response->body, HasSubstr("exceeds 1024 bytes"));
}

TEST_F(HttpServerTest, MalformedRequestsGet4xxAndTheConnectionCloses) {
  EchoHandler handler;
  start(options(), handler);
  struct Case {
    std::string request;
    std::string status;
  };
  const std::vector<Case> cases{
      {"GARBAGE\r\n\r\n", "400"},
      {"GET / HTTP/1.1\r\n\r\n", "400"},                                // no Host
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},          // two Hosts
      {"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", "400"},    // space in the name
      {"GET / HTTP/1.1\r\nHost: x\r\nName : y\r\n\r\n", "400"},         // space before the colon
      {"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n", "400"},  // obsolete folding
      {"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
      {"GET /?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
      {"GET relative HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "400"},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "400"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
       "400"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400"},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "501"},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505"},
      {"POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", "417"},
  };
  for (const auto& [request, status] : cases) {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.send(request));
    auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value()) << request;
    EXPECT_THAT(*response, StartsWith("HTTP/1.1 " + status + " ")) << request;
    EXPECT_THAT(*response, HasSubstr("Connection: close")) << request;
    EXPECT_TRUE(connection.waitForClose()) << request;
  }
  EXPECT_EQ(handler.calls->load(), 0);
}

TEST_F(HttpServerTest, HugeHeadersGet431) {
  auto serverOptions = options();
  serverOptions.maxHeaderBytes = 4096;
  start(serverOptions, EchoHandler{});
  EXPECT_THAT(
      exchange("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8192, 'a') + "\r\n\r\n"),
      StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_THAT(
      exchange("GET / HTTP/1.1\r\nHost: x\r\nX-Small: " + std::string(1024, 'a') + "\r\n\r\n"),
      StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(HttpServerTest, AnswersExpect100ContinueBeforeTheBodyIsSent) {
  start(options(), EchoHandler{});
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.send(
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  ASSERT_TRUE(connection.readUntil("\r\n\r\n"));
  EXPECT_EQ(connection.takeBuffer(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(connection.send("hello"));
  auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_THAT(*response, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(*response, ::testing::EndsWith("hello"));
}

TEST_F(HttpServerTest, SlowRequestGets408AndIdleConnectionsClose) {
  auto serverOptions = options();
  serverOptions.readTimeout = std::chrono::milliseconds(200);
  serverOptions.idleTimeout = std::chrono::milliseconds(200);
  EchoHandler handler;
  start(serverOptions, handler);
  {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.send("GET / HTTP/1.1\r\nHo"));
    auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_THAT(*response, StartsWith("HTTP/1.1 408 Request Timeout\r\n"));
  }
  {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(connection.readResponse().has_value());
    EXPECT_TRUE(connection.waitForClose()) << "closed after the idle timeout";
  }
  EXPECT_EQ(handler.calls->load(), 1);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitGet503) {
  auto serverOptions = options();
  serverOptions.maxConnections = 1;
  start(serverOptions, EchoHandler{});
  auto first = std::make_unique<RawConnection>(server_->port());
  ASSERT_TRUE(first->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(first->readResponse().has_value());  // served, and kept open

  std::string rejected = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(rejected, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(rejected, HasSubstr("Retry-After: 1\r\n"));

  first.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_->openConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_THAT(exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(HttpServerTest, HandlerFailuresBecome500) {
  start(options(), [](const HttpRequest& request, HttpResponseWriter& writer) {
    if (request.path == "/throw") throw std::runtime_error("boom");
    if (request.path == "/silent") return;
    if (request.path == "/bad-header") {
      EXPECT_FALSE(writer.respond(200, {{"X-Evil", "a\r\nSet-Cookie: x"}}, "no"));
      return;
    }
    writer.respond(200, {}, "fine");
  });
  HttpClient client;
  for (std::string path : {"/throw", "/silent", "/bad-header"}) {
    auto response = client.request("GET", url(path));
    ASSERT_TRUE(response.has_value()) << response.error();
    EXPECT_EQ(response->status, 500) << path;
    EXPECT_FALSE(response->headers.contains("Set-Cookie"));
  }
  EXPECT_TRUE(log_.contains("GET /throw: the handler threw: boom"));
  EXPECT_TRUE(log_.contains("GET /silent: the handler returned without responding"));
  auto fine = client.request("GET", url("/fine"));
  ASSERT_TRUE(fine.has_value());
  EXPECT_EQ(fine->status, 200);
}

TEST_F(HttpServerTest, ListensOnIpv6Loopback) {
  auto serverOptions = options();
  serverOptions.host = "::1";
  server_ = std::make_unique<HttpServer>(
      serverOptions, [](const HttpRequest& request, HttpResponseWriter& writer) {
        writer.respond(200, {}, request.remoteAddress);
      });
  if (auto started = server_->start(); !started) GTEST_SKIP() << "no IPv6: " << started.error();
  EXPECT_THAT(server_->url(), StartsWith("http://[::1]:"));
  HttpClient client;
  auto response = client.request("GET", url("/"));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_THAT(response->body, StartsWith("[::1]:"));
}

TEST_F(HttpServerTest, CloseAllConnectionsFromAHandlerSparesItsOwnConnection) {
  start(options(), [this](const HttpRequest& request, HttpResponseWriter& writer) {
    if (request.path == "/drop") server_->closeAllConnections();
    writer.respond(200, {}, "done");
  });
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.readResponse().has_value());

  HttpClient client;
  auto response = client.request("POST", url("/drop"));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->body, "done");
  EXPECT_TRUE(idle.waitForClose());
}

// A watch-like handler: streams what the test queues, blocked on its own condition variable in
// between, and returns when the connection closes. Records how it ended.
class QueueStreamHandler {
 public:
  void operator()(const HttpRequest&, HttpResponseWriter& writer) {
    writer.onClose([this] {
      std::lock_guard lock(mutex_);
      closeCallbackRan_ = true;
      wake_.notify_all();
    });
    if (!writer.startStream(200, {{"Content-Type", "application/json"}})) return;
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] {
        if (!events_.empty() || writer.closed()) return true;
        blockedAfterWrites_ = writes_;  // about to block, with `mutex_` released atomically
        blocked_.notify_all();
        return false;
      });
      if (writer.closed()) break;
      std::string event = std::move(events_.front());
      events_.pop_front();
      lock.unlock();
      bool written = writer.writeChunk(event);
      lock.lock();
      if (!written) break;
      ++writes_;
    }
    lastWriteAfterClose_ = writer.writeChunk("too late");
    lock.unlock();
    returned_.set();
  }

  void push(std::string event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    wake_.notify_all();
  }

  // Waits until the handler is blocked on its condition variable after `writes` events, so that
  // only the close callback can wake it.
  bool waitUntilBlockedAfter(int writes) {
    std::unique_lock lock(mutex_);
    return blocked_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return blockedAfterWrites_ == writes; });
  }

  Latch returned_;
  bool closeCallbackRan() {
    std::lock_guard lock(mutex_);
    return closeCallbackRan_;
  }
  bool lastWriteAfterClose() {
    std::lock_guard lock(mutex_);
    return lastWriteAfterClose_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable blocked_;
  std::deque<std::string> events_;
  int writes_ = 0;
  int blockedAfterWrites_ = -1;
  bool closeCallbackRan_ = false;
  bool lastWriteAfterClose_ = true;
};

TEST_F(HttpServerTest, StreamingClientSeesEachChunkBeforeTheNextIsWritten) {
  std::mutex mutex;
  std::condition_variable changed;
  std::string received;
  std::size_t completeEvents = 0;
  std::vector<bool> acknowledged;
  start(options(), [&](const HttpRequest&, HttpResponseWriter& writer) {
    ASSERT_TRUE(writer.startStream(200, {{"Content-Type", "application/json"}}));
    for (std::size_t i = 0; i < 5; ++i) {
      ASSERT_TRUE(writer.writeChunk("{\"event\":" + std::to_string(i) + "}\n"));
      // The next event is only written once the client has seen this one: were chunks buffered
      // anywhere, this would time out.
      std::unique_lock lock(mutex);
      acknowledged.push_back(
          changed.wait_for(lock, std::chrono::seconds(10), [&] { return completeEvents > i; }));
    }
    writer.endStream();
  });

  HttpClient client;
  auto end = client.stream(
      "GET", url("/watch"), {}, {},
      [](int status, const HttpHeaders& headers) {
        EXPECT_EQ(status, 200);
        EXPECT_EQ(headers.get("Transfer-Encoding"), "chunked");
        return true;
      },
      [&](std::string_view data) {
        std::lock_guard lock(mutex);
        received.append(data);
        completeEvents =
            static_cast<std::size_t>(std::count(received.begin(), received.end(), '\n'));
        changed.notify_all();
        return true;
      });
  ASSERT_TRUE(end.has_value()) << end.error();
  EXPECT_EQ(*end, HttpClient::StreamEnd::kCompleted);
  EXPECT_EQ(received,
            "{\"event\":0}\n{\"event\":1}\n{\"event\":2}\n{\"event\":3}\n{\"event\":4}\n");
  EXPECT_THAT(acknowledged, ElementsAre(true, true, true, true, true));
}

TEST_F(HttpServerTest, ClientDisconnectWakesTheStreamingHandler) {
  // Shared with the server, whose connection thread may still be leaving the handler when the
  // test ends.
  auto handler = std::make_shared<QueueStreamHandler>();
  start(options(), [handler](const HttpRequest& request, HttpResponseWriter& writer) {
    (*handler)(request, writer);
  });
  {
    RawConnection connection(server_->port());
    ASSERT_TRUE(connection.send("GET /watch HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(handler->waitUntilBlockedAfter(0));
    handler->push("first-event");
    ASSERT_TRUE(connection.readUntil("first-event"));
    ASSERT_TRUE(handler->waitUntilBlockedAfter(1));
    EXPECT_THAT(connection.buffer(), HasSubstr("Transfer-Encoding: chunked\r\n"));
    EXPECT_THAT(connection.buffer(), HasSubstr("\r\nb\r\nfirst-event\r\n"));
  }  // the client goes away while the handler waits for its next event
  ASSERT_TRUE(handler->returned_.wait()) << "the handler noticed the disconnect";
  EXPECT_TRUE(handler->closeCallbackRan());
  EXPECT_FALSE(handler->lastWriteAfterClose());
}

TEST_F(HttpServerTest, StopEndsABlockedStreamingHandlerQuickly) {
  // Shared with the server, whose connection thread may still be leaving the handler when the
  // test ends.
  auto handler = std::make_shared<QueueStreamHandler>();
  auto serverOptions = options();
  serverOptions.shutdownTimeout = std::chrono::seconds(30);  // far beyond what the test accepts
  start(serverOptions, [handler](const HttpRequest& request, HttpResponseWriter& writer) {
    (*handler)(request, writer);
  });

  std::expected<HttpClient::StreamEnd, std::string> end;
  std::thread watcher([&] {
    end = HttpClient().stream(
        "GET", url("/watch"), {}, {}, [](int, const HttpHeaders&) { return true; },
        [](std::string_view) { return true; });
  });
  testing::ScopeExit joinWatcher([&] {
    if (watcher.joinable()) {
      server_->stop();  // ends the stream if the test failed before it did
      watcher.join();
    }
  });
  ASSERT_TRUE(handler->waitUntilBlockedAfter(0));
  auto before = std::chrono::steady_clock::now();
  server_->stop();
  auto took = std::chrono::steady_clock::now() - before;
  watcher.join();
  EXPECT_TRUE(handler->returned_.isSet());
  EXPECT_TRUE(handler->closeCallbackRan());
  EXPECT_FALSE(handler->lastWriteAfterClose());
  EXPECT_LT(took, std::chrono::seconds(3));
  ASSERT_FALSE(end.has_value()) << "a cut stream is an error for the client";
  EXPECT_THAT(end.error(), HasSubstr("closed before the end of the response body"));
  EXPECT_EQ(server_->openConnections(), 0u);
}

TEST_F(HttpServerTest, CloseAllConnectionsCutsStreamsAndKeepsServing) {
  // Shared with the server, whose connection thread may still be leaving the handler when the
  // test ends.
  auto handler = std::make_shared<QueueStreamHandler>();
  start(options(), [handler](const HttpRequest& request, HttpResponseWriter& writer) {
    if (request.path == "/watch") return (*handler)(request, writer);
    writer.respond(200, {}, "still here");
  });
  std::expected<HttpClient::StreamEnd, std::string> end;
  std::string received;
  Latch firstEvent;
  std::thread watcher([&] {
    end = HttpClient().stream(
        "GET", url("/watch"), {}, {}, [](int, const HttpHeaders&) { return true; },
        [&](std::string_view data) {
          received.append(data);
          firstEvent.set();
          return true;
        });
  });
  testing::ScopeExit joinWatcher([&] {
    if (watcher.joinable()) {
      server_->stop();  // ends the stream if the test failed before it did
      watcher.join();
    }
  });
  ASSERT_TRUE(handler->waitUntilBlockedAfter(0));
  handler->push("event-1\n");
  ASSERT_TRUE(firstEvent.wait());
  ASSERT_TRUE(handler->waitUntilBlockedAfter(1));
  server_->closeAllConnections();
  watcher.join();
  EXPECT_TRUE(handler->returned_.wait());
  EXPECT_TRUE(handler->closeCallbackRan());
  ASSERT_FALSE(end.has_value());
  EXPECT_THAT(end.error(), HasSubstr("closed before the end of the response body"));
  EXPECT_EQ(received, "event-1\n");

  auto response = HttpClient().request("GET", url("/other"));
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->body, "still here");
}

TEST_F(HttpServerTest, StreamsToHttp10ClientsByClosingTheConnection) {
  start(options(), [](const HttpRequest&, HttpResponseWriter& writer) {
    writer.startStream(200, {});
    writer.writeChunk("first,");
    writer.writeChunk("second");
    writer.endStream();
  });
  RawConnection connection(server_->port());
  ASSERT_TRUE(connection.send("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(connection.waitForClose());
  EXPECT_THAT(connection.buffer(), ::testing::EndsWith("\r\n\r\nfirst,second"));
  EXPECT_THAT(connection.buffer(), ::testing::Not(HasSubstr("chunked")));
}

TEST_F(HttpServerTest, StartFailsOnAPortInUseAndOnBadTlsConfiguration) {
  start(options(), EchoHandler{});
  auto taken = options();
  taken.port = server_->port();
  HttpServer second(taken, EchoHandler{});
  auto started = second.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_THAT(started.error(), HasSubstr("address already in use"));

  auto badTls = options();
  badTls.tls = TlsServerConfig{testing::testPki().server.certPem, testing::testPki().ca.keyPem,
                               std::nullopt};
  HttpServer third(badTls, EchoHandler{});
  auto failed = third.start();
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error(), HasSubstr("TLS: server key does not belong to its certificate"));
}

// The real kubectl (a Go client) against the TLS server: TLS 1.3 with ALPN, client certificates
// and bearer tokens from a kubeconfig.
class HttpServerKubectlTest : public HttpServerTest {
 protected:
  static constexpr const char* kKubectl = "/usr/bin/kubectl";

  void SetUp() override {
    if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << kKubectl << " is not installed";
    directory_ = std::filesystem::temp_directory_path() /
                 ("billing-kubectl-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override {
    if (!directory_.empty()) std::filesystem::remove_all(directory_);
  }

  // Writes a kubeconfig for the server with `userFields` (YAML lines under `user:`).
  std::filesystem::path kubeconfig(const std::string& userFields) {
    auto path = directory_ / "kubeconfig";
    std::ofstream(path) << "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n"
                        << "    server: " << server_->url() << "\n"
                        << "    certificate-authority-data: "
                        << base64Encode(testing::testPki().ca.certPem) << "\n"
                        << "users:\n- name: tester\n  user:\n"
                        << userFields << "contexts:\n- name: test\n  context:\n"
                        << "    cluster: test\n    user: tester\ncurrent-context: test\n";
    return path;
  }

  // Runs kubectl with its output (stdout and stderr) captured; returns {exit status, output}.
  std::pair<int, std::string> kubectl(const std::filesystem::path& config,
                                      const std::string& arguments) {
    std::string command = "cd '" + directory_.string() + "' && HOME='" + directory_.string() +
                          "' timeout 120 " + kKubectl + " --kubeconfig '" + config.string() + "' " +
                          arguments + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {-1, "popen failed"};
    std::string output;
    std::array<char, 4096> chunk{};
    while (std::size_t got = std::fread(chunk.data(), 1, chunk.size(), pipe)) {
      output.append(chunk.data(), got);
    }
    int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  }

  std::filesystem::path directory_;
};

TEST_F(HttpServerKubectlTest, GetRawWithAClientCertificate) {
  std::mutex mutex;
  std::optional<TlsPeerIdentity> peer;
  auto serverOptions = options();
  serverOptions.tls = testing::serverTls(true);
  start(serverOptions, [&](const HttpRequest& request, HttpResponseWriter& writer) {
    if (request.path == "/hello") {
      std::lock_guard lock(mutex);
      peer = request.peer;
    }
    writer.respond(200, {{"Content-Type", "text/plain"}},
                   "hello " + (request.peer ? request.peer->commonName : "anonymous"));
  });
  const auto& pki = testing::testPki();
  auto config = kubeconfig("    client-certificate-data: " + base64Encode(pki.client.certPem) +
                           "\n    client-key-data: " + base64Encode(pki.client.keyPem) + "\n");
  auto [status, output] = kubectl(config, "get --raw /hello");
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "hello alice");
  std::lock_guard lock(mutex);
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->commonName, "alice");
  EXPECT_THAT(peer->organizations, ElementsAre("billing-admins", "auditors"));
}

TEST_F(HttpServerKubectlTest, GetRawWithABearerToken) {
  std::mutex mutex;
  std::optional<std::string> authorization;
  bool sawPeer = false;
  auto serverOptions = options();
  serverOptions.tls = testing::serverTls(true);
  start(serverOptions, [&](const HttpRequest& request, HttpResponseWriter& writer) {
    if (request.path == "/hello") {
      std::lock_guard lock(mutex);
      authorization = request.headers.get("Authorization");
      sawPeer = request.peer.has_value();
    }
    bool allowed = request.headers.get("Authorization") == "Bearer s3cr3t-token";
    writer.respond(allowed ? 200 : 401, {{"Content-Type", "text/plain"}},
                   allowed ? "hello token" : "unauthorized");
  });
  auto config = kubeconfig("    token: s3cr3t-token\n");
  auto [status, output] = kubectl(config, "get --raw /hello");
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "hello token");
  std::lock_guard lock(mutex);
  EXPECT_EQ(authorization, "Bearer s3cr3t-token");
  EXPECT_FALSE(sawPeer);
}

TEST_F(HttpServerKubectlTest, KubectlRejectsAServerCertificateItDoesNotTrust) {
  auto serverOptions = options();
  auto otherCa = generateCertificateAuthority("untrusted-ca", std::chrono::days(1));
  ASSERT_TRUE(otherCa.has_value());
  CertificateRequest request;
  request.commonName = "server";
  request.ipAddresses = {"127.0.0.1"};
  auto untrusted = issueCertificate(*otherCa, request);
  ASSERT_TRUE(untrusted.has_value());
  serverOptions.tls = TlsServerConfig{untrusted->certPem, untrusted->keyPem, std::nullopt};
  EchoHandler handler;
  start(serverOptions, handler);
  auto [status, output] = kubectl(kubeconfig("    token: t\n"), "get --raw /hello");
  EXPECT_NE(status, 0);
  EXPECT_THAT(output, HasSubstr("certificate signed by unknown authority"));
  EXPECT_EQ(handler.calls->load(), 0);
}

}  // namespace
}  // namespace billing::common
