// UTF-8 decoding shared by the JSON writer (bytes that are not UTF-8 become U+FFFD) and the YAML
// reader and writer (text that is not UTF-8 is refused, as kubectl does).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace billing::common {

struct Utf8Sequence {
  char32_t codePoint = 0;
  std::size_t length = 0;  // 1 to 4 bytes
};

// The well-formed UTF-8 sequence starting at text[at] (at < text.size()), or nullopt when the
// bytes there are not one: a stray continuation byte, a truncated sequence, an overlong form, a
// surrogate or a code point beyond U+10FFFF.
std::optional<Utf8Sequence> decodeUtf8(std::string_view text, std::size_t at);

}  // namespace billing::common
