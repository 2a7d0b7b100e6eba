#include "common/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/http_server.h"
#include "http_test_support.h"

namespace billing::common {
namespace {

using ::testing::HasSubstr;
using testing::Latch;
using ::testing::StartsWith;

// A listening socket on 127.0.0.1 with an ephemeral port.
int listenOnLoopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::listen(fd, 8), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

// Accepts one connection, reads the request (head and Content-Length body), answers with fixed
// bytes and closes: for responses HttpServer would never produce.
class CannedServer {
 public:
  explicit CannedServer(std::string response) : response_(std::move(response)) {
    fd_ = listenOnLoopback(port_);
    thread_ = std::thread([this] { serveOnce(); });
  }
  ~CannedServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept() if no client came
    thread_.join();
    ::close(fd_);
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::uint16_t port() const { return port_; }
  // The request as received; waits for it.
  std::string request() {
    received_.wait();
    std::lock_guard lock(mutex_);
    return request_;
  }

 private:
  void serveOnce() {
    int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) return;
    std::string data;
    std::array<char, 4096> chunk{};
    auto readMore = [&] {
      pollfd entry{client, POLLIN, 0};
      if (::poll(&entry, 1, 10000) <= 0) return false;
      ssize_t got = ::recv(client, chunk.data(), chunk.size(), 0);
      if (got <= 0) return false;
      data.append(chunk.data(), static_cast<std::size_t>(got));
      return true;
    };
    while (!findHeaderBlockEnd(data) && readMore()) {
    }
    if (auto end = findHeaderBlockEnd(data)) {
      auto lengthAt = data.find("Content-Length: ");
      std::size_t length = lengthAt < *end ? std::stoul(data.substr(lengthAt + 16)) : 0;
      while (data.size() < *end + length && readMore()) {
      }
    }
    {
      std::lock_guard lock(mutex_);
      request_ = data;
    }
    received_.set();
    ::send(client, response_.data(), response_.size(), MSG_NOSIGNAL);
    ::shutdown(client, SHUT_WR);
    while (readMore()) {  // until the client closes
    }
    ::close(client);
  }

  std::string response_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::string request_;
  Latch received_;
};

std::unique_ptr<HttpServer> startServer(HttpServerOptions options, HttpHandler handler) {
  options.errorLog = [](std::string_view) {};
  auto server = std::make_unique<HttpServer>(std::move(options), std::move(handler));
  auto started = server->start();
  EXPECT_TRUE(started.has_value()) << started.error();
  return server;
}

void sayHello(const HttpRequest&, HttpResponseWriter& writer) { writer.respond(200, {}, "hello"); }

TEST(HttpClientUrl, ParsesSchemesHostsPortsAndTargets) {
  auto plain = parseHttpUrl("http://example.com");
  ASSERT_TRUE(plain.has_value()) << plain.error();
  EXPECT_EQ(plain->scheme, "http");
  EXPECT_EQ(plain->host, "example.com");
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/");
  EXPECT_FALSE(plain->tls());
  EXPECT_EQ(plain->hostHeader(), "example.com");

  auto secure = parseHttpUrl("HTTPS://127.0.0.1:6443/api/v1/pods?watch=1#fragment");
  ASSERT_TRUE(secure.has_value()) << secure.error();
  EXPECT_TRUE(secure->tls());
  EXPECT_EQ(secure->host, "127.0.0.1");
  EXPECT_EQ(secure->port, 6443);
  EXPECT_EQ(secure->target, "/api/v1/pods?watch=1");
  EXPECT_EQ(secure->hostHeader(), "127.0.0.1:6443");

  auto ipv6 = parseHttpUrl("https://[::1]:8443?x=1");
  ASSERT_TRUE(ipv6.has_value()) << ipv6.error();
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->target, "/?x=1");
  EXPECT_EQ(ipv6->hostHeader(), "[::1]:8443");
  EXPECT_EQ(parseHttpUrl("https://[::1]/")->hostHeader(), "[::1]");
  EXPECT_EQ(parseHttpUrl("https://example.com:443/")->hostHeader(), "example.com");

  for (std::string_view bad :
       {"example.com/path", "ftp://example.com/", "http://", "http:///x",
        "http://user:pw@example.com/", "http://example.com:0/", "http://example.com:65536/",
        "http://example.com:8x/", "http://[::1/", "http://[zz]/", "http://[::1]x/",
        "http://example.com/a b"}) {
    auto parsed = parseHttpUrl(bad);
    EXPECT_FALSE(parsed.has_value()) << bad;
    if (!parsed) {
      EXPECT_THAT(parsed.error(), HasSubstr(std::string(bad)));
    }
  }
}

TEST(HttpClient, ConnectionRefusedNamesTheCallAndTheCause) {
  std::uint16_t port = 0;
  ::close(listenOnLoopback(port));  // a port nobody listens on any more
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hello";
  auto response = HttpClient().request("GET", url);
  ASSERT_FALSE(response.has_value());
  EXPECT_THAT(response.error(), StartsWith("GET " + url + ": "));
  EXPECT_THAT(response.error(),
              HasSubstr("connect to 127.0.0.1:" + std::to_string(port) + ": connection refused"));
}

TEST(HttpClient, ServerThatNeverAnswersTimesOut) {
  std::uint16_t port = 0;
  int silent = listenOnLoopback(port);  // the kernel completes connections; nobody answers
  HttpClientOptions options;
  options.requestTimeout = std::chrono::milliseconds(200);
  auto response =
      HttpClient(options).request("GET", "http://127.0.0.1:" + std::to_string(port) + "/");
  ::close(silent);
  ASSERT_FALSE(response.has_value());
  EXPECT_THAT(response.error(), HasSubstr("timeout after 200ms waiting for the response"));
}

TEST(HttpClient, SendsHostLengthAndCallerHeadersAndReadsContentLengthBodies) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Answer: 42\r\n\r\nhello");
  auto response = HttpClient().request(
      "POST", server.url("/items?x=1"),
      {{"X-Custom", "yes"}, {"Content-Length", "999"}, {"Connection", "keep-alive"}}, "abc");
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello");
  EXPECT_EQ(response->headers.get("x-answer"), "42");

  std::string request = server.request();
  EXPECT_THAT(request, StartsWith("POST /items?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" +
                                  std::to_string(server.port()) + "\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\nUser-Agent: billing-operator\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\nX-Custom: yes\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\nContent-Length: 3\r\n"));
  EXPECT_THAT(request, ::testing::Not(HasSubstr("999")));
  EXPECT_THAT(request, ::testing::Not(HasSubstr("keep-alive")));
  EXPECT_THAT(request, ::testing::EndsWith("\r\nConnection: close\r\n\r\nabc"));
}

TEST(HttpClient, CallerMayChooseHostAndUserAgent) {
  CannedServer server("HTTP/1.1 204 No Content\r\n\r\n");
  auto response = HttpClient().request("GET", server.url("/"),
                                       {{"Host", "api.example"}, {"User-Agent", "kubectl/v1.32"}});
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->status, 204);
  std::string request = server.request();
  EXPECT_THAT(request, HasSubstr("\r\nHost: api.example\r\n"));
  EXPECT_THAT(request, HasSubstr("\r\nUser-Agent: kubectl/v1.32\r\n"));
  EXPECT_THAT(request, ::testing::Not(HasSubstr("billing-operator")));
  EXPECT_THAT(request, ::testing::Not(HasSubstr("Content-Length")));
}

TEST(HttpClient, ReadsChunkedCloseDelimitedAndInterimResponses) {
  {
    CannedServer server(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n"
        "0\r\nX-Trailer: t\r\n\r\n");
    auto response = HttpClient().request("GET", server.url("/"));
    ASSERT_TRUE(response.has_value()) << response.error();
    EXPECT_EQ(response->body, "hello!");
  }
  {
    CannedServer server("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    auto response = HttpClient().request("GET", server.url("/"));
    ASSERT_TRUE(response.has_value()) << response.error();
    EXPECT_EQ(response->body, "until the end");
  }
  {
    CannedServer server(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    auto response = HttpClient().request("PUT", server.url("/"), {}, "x");
    ASSERT_TRUE(response.has_value()) << response.error();
    EXPECT_EQ(response->status, 201);
    EXPECT_EQ(response->body, "ok");
  }
}

TEST(HttpClient, ReportsBrokenResponses) {
  struct Case {
    std::string response;
    std::string error;
  };
  const std::vector<Case> cases{
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
       "the connection closed before the end of the response body"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
       "the connection closed before the end of the response body"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
       "malformed chunked response body"},
      {"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "invalid Content-Length"},
      {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "malformed status line"},
      {"", "the server closed the connection without a response"},
  };
  for (const auto& [response, error] : cases) {
    CannedServer server(response);
    auto result = HttpClient().request("GET", server.url("/broken"));
    ASSERT_FALSE(result.has_value()) << response;
    EXPECT_THAT(result.error(), StartsWith("GET " + server.url("/broken") + ": ")) << response;
    EXPECT_THAT(result.error(), HasSubstr(error)) << response;
  }
}

TEST(HttpClient, EnforcesTheResponseBodyLimitAndRejectsInvalidHeaders) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789");
  HttpClientOptions options;
  options.maxResponseBodyBytes = 10;
  auto response = HttpClient(options).request("GET", server.url("/"));
  ASSERT_FALSE(response.has_value());
  EXPECT_THAT(response.error(), HasSubstr("the response body exceeds 10 bytes"));

  auto injected =
      HttpClient().request("GET", server.url("/"), {{"X-Evil", "a\r\nHost: elsewhere"}});
  ASSERT_FALSE(injected.has_value());
  EXPECT_THAT(injected.error(), HasSubstr("invalid header \"X-Evil\""));
  auto badMethod = HttpClient().request("GE T", server.url("/"));
  ASSERT_FALSE(badMethod.has_value());
  EXPECT_THAT(badMethod.error(), HasSubstr("invalid method"));
}

TEST(HttpClient, HeadResponsesHaveNoBody) {
  auto server = startServer(
      {}, [](const HttpRequest&, HttpResponseWriter& writer) { writer.respond(200, {}, "three"); });
  auto response = HttpClient().request("HEAD", server->url() + "/");
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->headers.get("Content-Length"), "5");
  EXPECT_EQ(response->body, "");
}

class HttpClientTlsTest : public ::testing::Test {
 protected:
  // A TLS server presenting `certificate` (by default the test PKI's, for 127.0.0.1/localhost).
  void startTls(std::optional<IssuedCertificate> certificate = std::nullopt) {
    HttpServerOptions options;
    options.tls = testing::serverTls(false);
    if (certificate) {
      options.tls->certChainPem = certificate->certPem;
      options.tls->privateKeyPem = certificate->keyPem;
    }
    server_ = startServer(options, sayHello);
  }
  std::string url(std::string_view host = "127.0.0.1") const {
    return "https://" + std::string(host) + ":" + std::to_string(server_->port()) + "/";
  }
  IssuedCertificate issue(const CertificateAuthority& ca, std::vector<std::string> dnsNames,
                          std::vector<std::string> ipAddresses) {
    CertificateRequest request;
    request.commonName = "server";
    request.dnsNames = std::move(dnsNames);
    request.ipAddresses = std::move(ipAddresses);
    auto issued = issueCertificate(ca, request);
    EXPECT_TRUE(issued.has_value()) << issued.error();
    return issued.value_or(IssuedCertificate{});
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpClientTlsTest, VerifiesTheServerByIpAddressOrName) {
  startTls();
  HttpClient client(HttpClientOptions{.tls = testing::clientTls(false)});
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto response = client.request("GET", url(host));
    ASSERT_TRUE(response.has_value()) << response.error();
    EXPECT_EQ(response->body, "hello");
  }
}

TEST_F(HttpClientTlsTest, HostnameMismatchFailsWithAClearError) {
  startTls();
  auto tls = testing::clientTls(false);
  tls.serverName = "api.elsewhere.test";
  auto response = HttpClient(HttpClientOptions{.tls = tls}).request("GET", url());
  ASSERT_FALSE(response.has_value());
  EXPECT_THAT(response.error(), StartsWith("GET " + url() + ": TLS handshake with 127.0.0.1:"));
  EXPECT_THAT(response.error(), HasSubstr("certificate verify failed: hostname mismatch"));
}

TEST_F(HttpClientTlsTest, IpAddressMustBeAnIpSan) {
  startTls(issue(testing::testPki().ca, {"localhost"}, {}));
  HttpClient client(HttpClientOptions{.tls = testing::clientTls(false)});
  auto byAddress = client.request("GET", url("127.0.0.1"));
  ASSERT_FALSE(byAddress.has_value());
  EXPECT_THAT(byAddress.error(), HasSubstr("certificate verify failed: IP address mismatch"));
  auto byName = client.request("GET", url("localhost"));
  ASSERT_TRUE(byName.has_value()) << byName.error();
}

TEST_F(HttpClientTlsTest, ServerNameOverridesTheUrlHostForSniAndVerification) {
  startTls(issue(testing::testPki().ca, {"api.billing.test"}, {}));
  auto tls = testing::clientTls(false);
  tls.serverName = "api.billing.test";
  auto response = HttpClient(HttpClientOptions{.tls = tls}).request("GET", url());
  ASSERT_TRUE(response.has_value()) << response.error();
  EXPECT_EQ(response->body, "hello");
}

TEST_F(HttpClientTlsTest, UntrustedServersFailUnlessVerificationIsSkipped) {
  auto otherCa = generateCertificateAuthority("other-ca", std::chrono::days(1));
  ASSERT_TRUE(otherCa.has_value());
  startTls(issue(*otherCa, {"elsewhere.test"}, {}));

  auto untrusted =
      HttpClient(HttpClientOptions{.tls = testing::clientTls(false)}).request("GET", url());
  ASSERT_FALSE(untrusted.has_value());
  EXPECT_THAT(untrusted.error(),
              HasSubstr("certificate verify failed: unable to get local issuer"));

  // Without any TLS options the system trust store applies, which knows no test CA either.
  auto systemStore = HttpClient().request("GET", url());
  ASSERT_FALSE(systemStore.has_value());
  EXPECT_THAT(systemStore.error(), HasSubstr("certificate verify failed"));

  TlsClientConfig insecure;
  insecure.insecureSkipVerify = true;
  auto skipped = HttpClient(HttpClientOptions{.tls = insecure}).request("GET", url());
  ASSERT_TRUE(skipped.has_value()) << skipped.error();
  EXPECT_EQ(skipped->body, "hello");
}

TEST_F(HttpClientTlsTest, TlsConfigurationErrorsSurfaceOnHttpsCallsOnly) {
  startTls();
  auto tls = testing::clientTls(false);
  tls.clientCertPem = testing::testPki().client.certPem;  // without its key
  HttpClient client(HttpClientOptions{.tls = tls});
  auto response = client.request("GET", url());
  ASSERT_FALSE(response.has_value());
  EXPECT_THAT(response.error(),
              HasSubstr("TLS configuration: a client certificate needs both the certificate and"));

  auto plain = startServer({}, sayHello);
  auto plainResponse = client.request("GET", plain->url() + "/");
  ASSERT_TRUE(plainResponse.has_value()) << plainResponse.error();
}

// A handler that writes `count` events and then waits for the client to go away.
struct WaitingStream {
  int count = 1;
  std::shared_ptr<Latch> returned = std::make_shared<Latch>();
  void operator()(const HttpRequest&, HttpResponseWriter& writer) const {
    std::mutex mutex;
    std::condition_variable wake;
    writer.onClose([&] {
      std::lock_guard lock(mutex);
      wake.notify_all();
    });
    writer.startStream(200, {});
    for (int i = 0; i < count; ++i) writer.writeChunk("event-" + std::to_string(i) + "\n");
    std::unique_lock lock(mutex);
    wake.wait_for(lock, std::chrono::seconds(30), [&] { return writer.closed(); });
    returned->set();
  }
};

TEST(HttpClientStream, StopsWhenTheCallbackSaysSo) {
  WaitingStream handler{.count = 3};
  auto server = startServer({}, handler);
  std::string first;
  auto end = HttpClient().stream(
      "GET", server->url() + "/watch", {}, {}, [](int, const HttpHeaders&) { return true; },
      [&](std::string_view data) {
        first.assign(data);
        return false;
      });
  ASSERT_TRUE(end.has_value()) << end.error();
  EXPECT_EQ(*end, HttpClient::StreamEnd::kStoppedByCallback);
  EXPECT_THAT(first, StartsWith("event-0\n"));
  EXPECT_TRUE(handler.returned->wait()) << "the server noticed that the client left";
}

TEST(HttpClientStream, CanBeCancelledFromAnotherThread) {
  WaitingStream handler;
  auto server = startServer({}, handler);
  std::stop_source stop;
  Latch streaming;
  std::expected<HttpClient::StreamEnd, std::string> end;
  std::thread watcher([&] {
    end = HttpClient().stream(
        "GET", server->url() + "/watch", {}, {}, [](int, const HttpHeaders&) { return true; },
        [&](std::string_view) {
          streaming.set();
          return true;
        },
        stop.get_token());
  });
  testing::ScopeExit joinWatcher([&] {
    if (watcher.joinable()) {
      stop.request_stop();
      watcher.join();
    }
  });
  ASSERT_TRUE(streaming.wait());
  stop.request_stop();
  watcher.join();
  ASSERT_TRUE(end.has_value()) << end.error();
  EXPECT_EQ(*end, HttpClient::StreamEnd::kCancelled);
  EXPECT_TRUE(handler.returned->wait());
}

TEST(HttpClientStream, DeliversErrorStatusesWithTheirBody) {
  auto server = startServer({}, [](const HttpRequest&, HttpResponseWriter& writer) {
    writer.respond(410, {{"Content-Type", "application/json"}}, R"({"reason":"Expired"})");
  });
  int status = 0;
  std::string body;
  auto end = HttpClient().stream(
      "GET", server->url() + "/watch", {}, {},
      [&](int received, const HttpHeaders&) {
        status = received;
        return true;
      },
      [&](std::string_view data) {
        body.append(data);
        return true;
      });
  ASSERT_TRUE(end.has_value()) << end.error();
  EXPECT_EQ(*end, HttpClient::StreamEnd::kCompleted);
  EXPECT_EQ(status, 410);
  EXPECT_EQ(body, R"({"reason":"Expired"})");
}

TEST(HttpClientStream, StreamsOverTlsWithAClientCertificate) {
  HttpServerOptions options;
  options.tls = testing::serverTls(true);
  auto server = startServer(options, [](const HttpRequest& request, HttpResponseWriter& writer) {
    writer.startStream(200, {});
    writer.writeChunk("user=" + (request.peer ? request.peer->commonName : "none") + "\n");
    writer.writeChunk("done\n");
    writer.endStream();
  });
  std::string body;
  auto end =
      HttpClient(HttpClientOptions{.tls = testing::clientTls(true)})
          .stream(
              "GET", server->url() + "/watch", {}, {}, [](int, const HttpHeaders&) { return true; },
              [&](std::string_view data) {
                body.append(data);
                return true;
              });
  ASSERT_TRUE(end.has_value()) << end.error();
  EXPECT_EQ(body, "user=alice\ndone\n");
}

// ---- keep-alive (maxIdleConnections) ----

HttpClientOptions pooled(std::optional<TlsClientConfig> tls = std::nullopt) {
  HttpClientOptions options;
  options.tls = std::move(tls);
  options.maxIdleConnections = 4;
  return options;
}

TEST(HttpClientKeepAlive, SequentialRequestsShareOneConnection) {
  std::mutex mutex;
  std::vector<std::string> connectionHeaders;
  auto server = startServer({}, [&](const HttpRequest& request, HttpResponseWriter& writer) {
    {
      std::lock_guard lock(mutex);
      connectionHeaders.push_back(request.headers.get("Connection").value_or("(none)"));
    }
    writer.respond(200, {}, "hello " + request.path);
  });
  HttpClient client(pooled());
  for (int i = 0; i < 10; ++i) {
    auto response = client.request("GET", server->url() + "/n" + std::to_string(i));
    ASSERT_TRUE(response.has_value()) << response.error();
    EXPECT_EQ(response->body, "hello /n" + std::to_string(i));
  }
  EXPECT_EQ(server->acceptedConnections(), 1u);
  std::lock_guard lock(mutex);
  EXPECT_EQ(connectionHeaders, std::vector<std::string>(10, "(none)"));
}

TEST(HttpClientKeepAlive, WithoutAPoolEveryCallHasItsOwnConnection) {
  auto server = startServer({}, sayHello);
  HttpClient client;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.request("GET", server->url() + "/"));
  EXPECT_EQ(server->acceptedConnections(), 3u);
}

TEST(HttpClientKeepAlive, ChunkedAndEmptyBodiesLeaveTheConnectionReusable) {
  auto server = startServer({}, [](const HttpRequest& request, HttpResponseWriter& writer) {
    if (request.path == "/chunked") {
      writer.startStream(200, {});
      writer.writeChunk("a");
      writer.writeChunk("b");
      writer.endStream();
    } else {
      writer.respond(204, {}, "");
    }
  });
  HttpClient client(pooled());
  for (int i = 0; i < 3; ++i) {
    auto chunked = client.request("GET", server->url() + "/chunked");
    ASSERT_TRUE(chunked.has_value()) << chunked.error();
    EXPECT_EQ(chunked->body, "ab");
    auto empty = client.request("DELETE", server->url() + "/x");
    ASSERT_TRUE(empty.has_value()) << empty.error();
    EXPECT_EQ(empty->status, 204);
  }
  EXPECT_EQ(server->acceptedConnections(), 1u);
}

TEST(HttpClientKeepAlive, ConnectionCloseFromTheServerIsHonoured) {
  auto server = startServer({}, [](const HttpRequest&, HttpResponseWriter& writer) {
    writer.respond(200, {{"Connection", "close"}}, "bye");
  });
  HttpClient client(pooled());
  for (int i = 0; i < 3; ++i) {
    auto response = client.request("GET", server->url() + "/");
    ASSERT_TRUE(response.has_value()) << response.error();
    EXPECT_EQ(response->body, "bye");
  }
  EXPECT_EQ(server->acceptedConnections(), 3u);
}

TEST(HttpClientKeepAlive, AnIdleConnectionTheServerClosedIsNotUsed) {
  HttpServerOptions options;
  options.idleTimeout = std::chrono::milliseconds(1);
  auto server = startServer(options, sayHello);
  HttpClient client(pooled());
  ASSERT_TRUE(client.request("GET", server->url() + "/"));
  // Until the server has closed the first connection (its idle timeout), as seen from its side.
  for (int i = 0; i < 1000 && server->openConnections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(server->openConnections(), 0u);
  auto again = client.request("POST", server->url() + "/", {}, "body");
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(again->body, "hello");
  EXPECT_EQ(server->acceptedConnections(), 2u);
}

// Answers the first request of its first connection with a keep-alive response, then reads the
// second request on it and closes without an answer (as a server whose idle timeout fires just
// as the request arrives); every later connection gets "second". Counts connections and requests.
class ClosesAfterFirstResponseServer {
 public:
  ClosesAfterFirstResponseServer() {
    fd_ = listenOnLoopback(port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~ClosesAfterFirstResponseServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  // Reads one request head (the tests send no bodies); false when the peer closed.
  bool readRequest(int client, std::string& data) {
    std::array<char, 4096> chunk{};
    while (!findHeaderBlockEnd(data)) {
      pollfd entry{client, POLLIN, 0};
      if (::poll(&entry, 1, 10000) <= 0) return false;
      ssize_t got = ::recv(client, chunk.data(), chunk.size(), 0);
      if (got <= 0) return false;
      data.append(chunk.data(), static_cast<std::size_t>(got));
    }
    data.erase(0, *findHeaderBlockEnd(data));
    ++requests_;
    return true;
  }
  void reply(int client, std::string_view body) {
    std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n" + std::string(body);
    ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
  }
  void serve() {
    while (true) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      const bool first = ++connections_ == 1;
      std::string data;
      if (first) {
        if (readRequest(client, data)) reply(client, "first");
        readRequest(client, data);
      } else {
        while (readRequest(client, data)) reply(client, "second");
      }
      ::close(client);
    }
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
};

TEST(HttpClientKeepAlive, ARequestLostToAClosingPooledConnectionIsSentAgainOnANewOne) {
  ClosesAfterFirstResponseServer server;
  HttpClient client(pooled());
  auto first = client.request("GET", server.url());
  ASSERT_TRUE(first.has_value()) << first.error();
  EXPECT_EQ(first->body, "first");
  auto second = client.request("GET", server.url());
  ASSERT_TRUE(second.has_value()) << second.error();
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.requests(), 3);
}

TEST(HttpClientKeepAlive, AFreshConnectionClosedWithoutAnswerIsAnErrorNotARetry) {
  CannedServer server("");  // reads the request, closes without a response
  auto response = HttpClient(pooled()).request("GET", server.url("/"));
  ASSERT_FALSE(response.has_value());
  EXPECT_THAT(response.error(), HasSubstr("closed the connection without a response"));
}

TEST(HttpClientKeepAlive, ConcurrentCallersOverTlsEachGetAConnection) {
  HttpServerOptions options;
  options.tls = testing::serverTls(false);
  auto server = startServer(options, sayHello);
  HttpClient client(pooled(testing::clientTls(false)));
  constexpr int kThreads = 6;
  constexpr int kRequests = 25;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRequests; ++i) {
        auto response = client.request("GET", server->url() + "/");
        if (response && response->body == "hello") ++succeeded;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(succeeded.load(), kThreads * kRequests);
  // Never more connections than callers at once; far fewer than requests.
  EXPECT_LE(server->acceptedConnections(), static_cast<std::size_t>(kThreads));
}

}  // namespace
}  // namespace billing::common
