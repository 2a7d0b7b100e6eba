#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace billing::common {
namespace {

TEST(DecodeUtf8, DecodesEachLengthWithItsCodePoint) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  auto ascii = decodeUtf8(text, 0);
  ASSERT_TRUE(ascii);
  EXPECT_EQ(ascii->codePoint, U'a');
  EXPECT_EQ(ascii->length, 1u);
  auto two = decodeUtf8(text, 1);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->codePoint, U'\u00E9');
  EXPECT_EQ(two->length, 2u);
  auto three = decodeUtf8(text, 3);
  ASSERT_TRUE(three);
  EXPECT_EQ(three->codePoint, U'\u20AC');
  EXPECT_EQ(three->length, 3u);
  auto four = decodeUtf8(text, 6);
  ASSERT_TRUE(four);
  EXPECT_EQ(four->codePoint, U'\U0001F600');
  EXPECT_EQ(four->length, 4u);
}

TEST(DecodeUtf8, RefusesWhatIsNotWellFormed) {
  EXPECT_FALSE(decodeUtf8("\x80", 0)) << "stray continuation byte";
  EXPECT_FALSE(decodeUtf8("\xC3", 0)) << "truncated sequence";
  EXPECT_FALSE(decodeUtf8("\xC3(", 0)) << "bad continuation byte";
  EXPECT_FALSE(decodeUtf8("\xC0\xAF", 0)) << "overlong '/'";
  EXPECT_FALSE(decodeUtf8("\xE0\x80\x80", 0)) << "overlong NUL";
  EXPECT_FALSE(decodeUtf8("\xED\xA0\x80", 0)) << "surrogate U+D800";
  EXPECT_FALSE(decodeUtf8("\xF4\x90\x80\x80", 0)) << "beyond U+10FFFF";
  EXPECT_FALSE(decodeUtf8("\xFF", 0)) << "never a lead byte";
}

TEST(DecodeUtf8, TheLargestCodePointIsAccepted) {
  auto last = decodeUtf8("\xF4\x8F\xBF\xBF", 0);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->codePoint, U'\U0010FFFF');
}

}  // namespace
}  // namespace billing::common
