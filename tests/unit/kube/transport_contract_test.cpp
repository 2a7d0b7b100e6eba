// The same contract for both transports (cpprestsdk and common::HttpClient): what the client
// above relies on, including the streaming behaviour a watch needs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "operator/kube/transport.h"
#include "tests/unit/kube/test_support.h"

namespace billing::kube {
namespace {

using testing::FakeServer;
using ::testing::HasSubstr;
using testing::Latch;
using testing::testPki;
using namespace std::chrono_literals;

class TransportContractTest : public ::testing::TestWithParam<TransportKind> {
 protected:
  std::unique_ptr<Transport> make(const std::string& server, common::TlsClientConfig tls) {
    TransportConfig config;
    config.server = server;
    config.tls = std::move(tls);
    auto transport = makeTransport(GetParam(), config);
    EXPECT_TRUE(transport.has_value()) << transport.error();
    return transport ? std::move(*transport) : nullptr;
  }
  std::unique_ptr<Transport> make(const std::string& server) {
    common::TlsClientConfig tls;
    tls.caPem = testPki().ca.certPem;
    return make(server, tls);
  }
  static TransportRequest get(std::string target) {
    TransportRequest request;
    request.method = "GET";
    request.target = std::move(target);
    return request;
  }
};

TEST_P(TransportContractTest, SendsTheRequestAndReturnsStatusHeadersAndBody) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    writer.respond(201, {{"Content-Type", "application/json"}, {"X-Echo", request.method}},
                   "{\"got\":\"" + request.body + "\"}");
  });
  auto transport = make(server.url());
  TransportRequest request;
  request.method = "POST";
  request.target = "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups?dryRun=All";
  request.headers = {{"Content-Type", "application/json"}, {"X-Test", "1"}};
  request.body = "payload";
  auto response = transport->send(request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->headers.get("x-echo"), "POST");
  EXPECT_EQ(response->body, "{\"got\":\"payload\"}");
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.path, "/apis/billing.operator.dev/v1alpha1/namespaces/acme/billinggroups");
  EXPECT_EQ(seen.rawQuery, "dryRun=All");
  EXPECT_EQ(seen.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(seen.headers.get("X-Test"), "1");
  EXPECT_EQ(seen.body, "payload");
}

TEST_P(TransportContractTest, AnErrorStatusIsAResponseNotAnError) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.respond(404, testing::jsonHeaders(), testing::statusBody(404, "NotFound", "gone"));
  });
  auto response = make(server.url())->send(get("/api/v1/namespaces/x"));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 404);
  EXPECT_THAT(response->body, HasSubstr("NotFound"));
}

TEST_P(TransportContractTest, CarriesALargeBodyBothWays) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    writer.respond(200, {}, request.body + request.body);
  });
  TransportRequest request = get("/big");
  request.method = "PUT";
  request.body = std::string(1 << 20, 'x');
  request.body[12345] = 'y';
  auto response = make(server.url())->send(request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->body, request.body + request.body);
}

TEST_P(TransportContractTest, ServesConcurrentCallers) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    writer.respond(200, {}, request.path);
  });
  auto transport = make(server.url());
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
        auto response = transport->send(get(path));
        if (response && response->body == path) ++good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 40);
}

TEST_P(TransportContractTest, ConnectionRefusedIsAConnectErrorBeforeSending) {
  std::string url;
  {
    FakeServer gone([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
      writer.respond(200, {}, "");
    });
    url = gone.url();
  }
  auto response = make(url)->send(get("/api"));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().kind, TransportError::Kind::Connect) << response.error().message;
  EXPECT_FALSE(response.error().requestSent);
}

TEST_P(TransportContractTest, AServerCertificateFromAnotherCaFailsVerification) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.respond(200, {}, "secret");
  });
  common::TlsClientConfig tls;
  tls.caPem = testPki().otherCa.certPem;
  auto response = make(server.url(), tls)->send(get("/api"));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().kind, TransportError::Kind::Tls) << response.error().message;
  EXPECT_FALSE(response.error().requestSent);
  EXPECT_THAT(response.error().message, HasSubstr("certificate verify failed"));
  EXPECT_EQ(server.requestCount(), 0u);
}

TEST_P(TransportContractTest, TheSystemStoreDoesNotTrustTheTestCa) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.respond(200, {}, "");
  });
  auto response = make(server.url(), common::TlsClientConfig{})->send(get("/api"));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().kind, TransportError::Kind::Tls) << response.error().message;
}

TEST_P(TransportContractTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.respond(200, {}, "ok");
  });
  common::TlsClientConfig tls;
  tls.insecureSkipVerify = true;
  auto response = make(server.url(), tls)->send(get("/api"));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->body, "ok");
}

TEST_P(TransportContractTest, TlsServerNameIsWhatTheCertificateIsCheckedAgainst) {
  FakeServer server([](const common::HttpRequest&,
                       common::HttpResponseWriter& writer) { writer.respond(200, {}, "named"); },
                    true, &testPki().namedServer);
  common::TlsClientConfig tls;
  tls.caPem = testPki().ca.certPem;
  auto byAddress = make(server.url(), tls)->send(get("/api"));
  ASSERT_FALSE(byAddress.has_value());
  EXPECT_EQ(byAddress.error().kind, TransportError::Kind::Tls);
  EXPECT_THAT(byAddress.error().message, HasSubstr("certificate verify failed"));

  tls.serverName = "api.billing.test";
  auto byName = make(server.url(), tls)->send(get("/api"));
  ASSERT_TRUE(byName.has_value()) << byName.error().message;
  EXPECT_EQ(byName->body, "named");
}

TEST_P(TransportContractTest, PresentsTheClientCertificate) {
  FakeServer server([](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    writer.respond(200, {}, request.peer ? request.peer->commonName : "anonymous");
  });
  common::TlsClientConfig tls;
  tls.caPem = testPki().ca.certPem;
  tls.clientCertPem = testPki().client.certPem;
  tls.clientKeyPem = testPki().client.keyPem;
  auto response = make(server.url(), tls)->send(get("/api"));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->body, "alice");
}

TEST_P(TransportContractTest, RejectsAKeyThatDoesNotMatchTheCertificate) {
  TransportConfig config;
  config.server = "https://127.0.0.1:1";
  config.tls.clientCertPem = testPki().client.certPem;
  config.tls.clientKeyPem = testPki().server.keyPem;
  auto transport = makeTransport(GetParam(), config);
  ASSERT_FALSE(transport.has_value());
  EXPECT_THAT(transport.error(), HasSubstr("client key"));
}

TEST_P(TransportContractTest, TimesOutASlowResponse) {
  Latch release;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    release.wait(5s);
    writer.respond(200, {}, "late");
  });
  TransportRequest request = get("/slow");
  request.timeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  auto response = make(server.url())->send(request);
  auto elapsed = std::chrono::steady_clock::now() - started;
  release.set();
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().kind, TransportError::Kind::Timeout) << response.error().message;
  EXPECT_TRUE(response.error().requestSent);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_P(TransportContractTest, StreamsEachChunkAsTheServerFlushesIt) {
  // The server sends the next chunk only once the client has received the previous one: a
  // transport that buffered the body would never see the second chunk.
  Latch gotFirst, gotSecond;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, testing::jsonHeaders());
    writer.writeChunk("{\"n\":1}\n");
    if (!gotFirst.wait(5s)) return;
    writer.writeChunk("{\"n\":2}\n");
    if (!gotSecond.wait(5s)) return;
    writer.endStream();
  });
  std::string received;
  int status = 0;
  auto end = make(server.url())
                 ->stream(
                     get("/watch"),
                     [&](int code, const common::HttpHeaders&) {
                       status = code;
                       return true;
                     },
                     [&](std::string_view data) {
                       received += data;
                       if (received.find("\"n\":1") != std::string::npos) gotFirst.set();
                       if (received.find("\"n\":2") != std::string::npos) gotSecond.set();
                       return true;
                     },
                     {});
  ASSERT_TRUE(end.has_value()) << end.error().message;
  EXPECT_EQ(*end, StreamEnd::Completed);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(received, "{\"n\":1}\n{\"n\":2}\n");
}

TEST_P(TransportContractTest, StopTokenEndsABlockedStreamPromptly) {
  Latch headSent;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, {});
    writer.writeChunk("x");
    headSent.set();
    while (!writer.closed()) std::this_thread::sleep_for(10ms);
  });
  auto transport = make(server.url());
  std::stop_source stop;
  std::thread stopper([&] {
    headSent.wait();
    std::this_thread::sleep_for(100ms);
    stop.request_stop();
  });
  auto started = std::chrono::steady_clock::now();
  auto end = transport->stream(
      get("/watch"), [](int, const common::HttpHeaders&) { return true; },
      [](std::string_view) { return true; }, stop.get_token());
  auto elapsed = std::chrono::steady_clock::now() - started;
  stopper.join();
  ASSERT_TRUE(end.has_value()) << end.error().message;
  EXPECT_EQ(*end, StreamEnd::Cancelled);
  EXPECT_LT(elapsed, 3s);
}

TEST_P(TransportContractTest, StopBeforeTheHeadArrivesEndsTheStream) {
  Latch release;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    release.wait(5s);
    writer.respond(200, {}, "");
  });
  std::stop_source stop;
  std::thread stopper([&] {
    server.waitForRequests(1);
    stop.request_stop();
  });
  auto started = std::chrono::steady_clock::now();
  auto end = make(server.url())
                 ->stream(
                     get("/watch"), [](int, const common::HttpHeaders&) { return true; },
                     [](std::string_view) { return true; }, stop.get_token());
  auto elapsed = std::chrono::steady_clock::now() - started;
  stopper.join();
  release.set();
  ASSERT_TRUE(end.has_value()) << end.error().message;
  EXPECT_EQ(*end, StreamEnd::Cancelled);
  EXPECT_LT(elapsed, 3s);
}

TEST_P(TransportContractTest, ACallbackReturningFalseStopsTheStream) {
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, {});
    while (writer.writeChunk("tick\n")) std::this_thread::sleep_for(5ms);
  });
  int pieces = 0;
  auto end = make(server.url())
                 ->stream(
                     get("/watch"), [](int, const common::HttpHeaders&) { return true; },
                     [&](std::string_view) { return ++pieces < 3; }, {});
  ASSERT_TRUE(end.has_value()) << end.error().message;
  EXPECT_EQ(*end, StreamEnd::StoppedByCallback);
  EXPECT_EQ(pieces, 3);
}

TEST_P(TransportContractTest, AServerThatCutsTheStreamIsAnError) {
  Latch sent;
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, {});
    writer.writeChunk("partial");
    sent.set();
    while (!writer.closed()) std::this_thread::sleep_for(10ms);
  });
  std::thread cutter([&] {
    sent.wait();
    std::this_thread::sleep_for(50ms);
    server.server().closeAllConnections();
  });
  std::string received;
  auto end = make(server.url())
                 ->stream(
                     get("/watch"), [](int, const common::HttpHeaders&) { return true; },
                     [&](std::string_view data) {
                       received += data;
                       return true;
                     },
                     {});
  cutter.join();
  EXPECT_EQ(received, "partial");
  ASSERT_FALSE(end.has_value());
  EXPECT_NE(end.error().kind, TransportError::Kind::Cancelled);
}

TEST_P(TransportContractTest, AnIdleStreamTimesOut) {
  FakeServer server([&](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.startStream(200, {});
    writer.writeChunk("first");
    while (!writer.closed()) std::this_thread::sleep_for(10ms);
  });
  TransportRequest request = get("/watch");
  request.idleTimeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  auto end = make(server.url())
                 ->stream(
                     request, [](int, const common::HttpHeaders&) { return true; },
                     [](std::string_view) { return true; }, {});
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(end.has_value());
  EXPECT_EQ(end.error().kind, TransportError::Kind::Timeout) << end.error().message;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_P(TransportContractTest, StreamsAnErrorStatusWithItsBody) {
  FakeServer server([](const common::HttpRequest&, common::HttpResponseWriter& writer) {
    writer.respond(410, testing::jsonHeaders(), testing::statusBody(410, "Expired", "too old"));
  });
  int status = 0;
  std::string body;
  auto end = make(server.url())
                 ->stream(
                     get("/watch"),
                     [&](int code, const common::HttpHeaders&) {
                       status = code;
                       return true;
                     },
                     [&](std::string_view data) {
                       body += data;
                       return true;
                     },
                     {});
  ASSERT_TRUE(end.has_value()) << end.error().message;
  EXPECT_EQ(status, 410);
  EXPECT_THAT(body, HasSubstr("Expired"));
}

TEST_P(TransportContractTest, KeepsManyStreamsOpenAtOnceWhileServingRequests) {
  // An operator holds a watch per resource kind and still makes ordinary calls: streams must not
  // starve each other or the requests (cpprestsdk runs on a fixed thread pool).
  constexpr int kStreams = 12;
  Latch release;
  FakeServer server([&](const common::HttpRequest& request, common::HttpResponseWriter& writer) {
    if (request.path == "/ping") {
      writer.respond(200, {}, "pong");
      return;
    }
    writer.startStream(200, {});
    writer.writeChunk("open\n");
    release.wait(10s);
    writer.writeChunk("done\n");
    writer.endStream();
  });
  auto transport = make(server.url());
  std::atomic<int> opened{0}, finished{0};
  std::vector<std::thread> watchers;
  for (int i = 0; i < kStreams; ++i) {
    watchers.emplace_back([&] {
      std::string received;
      auto end = transport->stream(
          get("/watch"), [](int, const common::HttpHeaders&) { return true; },
          [&](std::string_view data) {
            received += data;
            if (received == "open\n") ++opened;
            return true;
          },
          {});
      if (end && received == "open\ndone\n") ++finished;
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (opened.load() < kStreams && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(opened.load(), kStreams);
  auto ping = transport->send(get("/ping"));
  ASSERT_TRUE(ping.has_value()) << ping.error().message;
  EXPECT_EQ(ping->body, "pong");
  release.set();
  for (auto& watcher : watchers) watcher.join();
  EXPECT_EQ(finished.load(), kStreams);
}

INSTANTIATE_TEST_SUITE_P(BothTransports, TransportContractTest,
                         ::testing::Values(TransportKind::Cpprest, TransportKind::Native),
                         [](const ::testing::TestParamInfo<TransportKind>& param) {
                           return std::string(transportKindName(param.param));
                         });

}  // namespace
}  // namespace billing::kube
