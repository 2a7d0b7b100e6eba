#include "operator/kube/watch_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace billing::kube {
namespace {

using ::testing::HasSubstr;

// Five events as the API server writes them, one per line. The MODIFIED one holds an escaped
// newline and a non-ASCII character; the ERROR one a parenthesis followed by a quote.
const std::string kStream = std::string(
    R"json({"type":"ADDED","object":{"kind":"BillingGroup","metadata":{"name":"gold","resourceVersion":"10"}}}
{"type":"MODIFIED","object":{"kind":"BillingGroup","metadata":{"name":"gold","resourceVersion":"11"},"spec":{"invoiceText":"caf\u00e9 \n multi"}}}
{"type":"BOOKMARK","object":{"kind":"BillingGroup","metadata":{"resourceVersion":"12"}}}
{"type":"DELETED","object":{"kind":"BillingGroup","metadata":{"name":"gold","resourceVersion":"13"}}}
{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 5 (13)","reason":"Expired","code":410}}
)json");

std::vector<WatchEvent> decodeInPieces(const std::string& stream, std::size_t piece) {
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    auto fed = decoder.feed(std::string_view(stream).substr(at, piece), [&](const WatchEvent& e) {
      events.push_back(e);
      return true;
    });
    EXPECT_TRUE(fed.has_value()) << fed.error();
  }
  EXPECT_FALSE(decoder.hasPartialEvent());
  return events;
}

void expectTheFiveEvents(const std::vector<WatchEvent>& events) {
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].type, WatchEventType::Added);
  EXPECT_EQ(events[1].type, WatchEventType::Modified);
  EXPECT_EQ(events[1].object.at("spec").at("invoiceText").as_string(), "caf\xc3\xa9 \n multi");
  EXPECT_EQ(events[2].type, WatchEventType::Bookmark);
  EXPECT_EQ(events[3].type, WatchEventType::Deleted);
  EXPECT_EQ(events[4].type, WatchEventType::Error);
  EXPECT_EQ(events[4].object.at("code").as_integer(), 410);
}

TEST(WatchDecoderTest, DecodesByteByByte) { expectTheFiveEvents(decodeInPieces(kStream, 1)); }

TEST(WatchDecoderTest, DecodesAcrossEveryChunkSize) {
  for (std::size_t piece : {2u, 3u, 7u, 64u, 100u, 4096u}) {
    SCOPED_TRACE(piece);
    expectTheFiveEvents(decodeInPieces(kStream, piece));
  }
}

TEST(WatchDecoderTest, DeliversEachEventAsSoonAsItsLineEnds) {
  WatchDecoder decoder;
  int delivered = 0;
  auto count = [&](const WatchEvent&) {
    ++delivered;
    return true;
  };
  auto firstLine = kStream.find('\n');
  ASSERT_TRUE(decoder.feed(kStream.substr(0, firstLine), count));
  EXPECT_EQ(delivered, 0);
  EXPECT_TRUE(decoder.hasPartialEvent());
  ASSERT_TRUE(decoder.feed("\n", count));
  EXPECT_EQ(delivered, 1);
  EXPECT_FALSE(decoder.hasPartialEvent());
}

TEST(WatchDecoderTest, ToleratesBlankLinesAndCrLf) {
  WatchDecoder decoder;
  int delivered = 0;
  auto fed = decoder.feed(
      "\n\r\n"
      R"({"type":"ADDED","object":{}})"
      "\r\n\n",
      [&](const WatchEvent&) {
        ++delivered;
        return true;
      });
  ASSERT_TRUE(fed.has_value()) << fed.error();
  EXPECT_EQ(delivered, 1);
}

TEST(WatchDecoderTest, StopsWhenTheCallbackSaysSo) {
  WatchDecoder decoder;
  int delivered = 0;
  auto fed = decoder.feed(kStream, [&](const WatchEvent&) { return ++delivered < 2; });
  ASSERT_TRUE(fed.has_value());
  EXPECT_FALSE(*fed);
  EXPECT_EQ(delivered, 2);
}

TEST(WatchDecoderTest, RejectsWhatIsNotAnEventWithoutQuotingIt) {
  auto feedLine = [](const std::string& line) {
    WatchDecoder decoder;
    return decoder.feed(line + "\n", [](const WatchEvent&) { return true; });
  };
  auto notJson = feedLine(R"({"type":"ADDED","object":{"data":{"password":"s3cr3t"})");
  ASSERT_FALSE(notJson.has_value());
  EXPECT_THAT(notJson.error(), HasSubstr("not JSON"));
  EXPECT_EQ(notJson.error().find("s3cr3t"), std::string::npos);
  EXPECT_THAT(feedLine(R"({"type":"RENAMED","object":{}})").error(), HasSubstr("unknown type"));
  EXPECT_THAT(feedLine(R"({"object":{}})").error(), HasSubstr("without a \"type\""));
  EXPECT_THAT(feedLine(R"({"type":"ADDED"})").error(), HasSubstr("without an object"));
}

TEST(WatchDecoderTest, BoundsTheSizeOfAnEvent) {
  WatchDecoder decoder(100);
  auto fed = decoder.feed(std::string(150, 'x'), [](const WatchEvent&) { return true; });
  ASSERT_FALSE(fed.has_value());
  EXPECT_THAT(fed.error(), HasSubstr("larger than 100 bytes"));
}

}  // namespace
}  // namespace billing::kube
