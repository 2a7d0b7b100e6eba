#include "tests/apiserver/go_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>
#include <vector>

namespace billing::apiserver::gotext {
namespace {

// Decodes one UTF-8 sequence at `at`; returns the code point and its length, or -1 and 1 for an
// invalid byte (Go's utf8.RuneError with width 1).
std::pair<long, std::size_t> decodeRune(std::string_view text, std::size_t at) {
  const auto byte = static_cast<unsigned char>(text[at]);
  if (byte < 0x80) return {byte, 1};
  std::size_t length = 0;
  long rune = 0;
  long minimum = 0;
  if ((byte & 0xE0) == 0xC0) {
    length = 2;
    rune = byte & 0x1F;
    minimum = 0x80;
  } else if ((byte & 0xF0) == 0xE0) {
    length = 3;
    rune = byte & 0x0F;
    minimum = 0x800;
  } else if ((byte & 0xF8) == 0xF0) {
    length = 4;
    rune = byte & 0x07;
    minimum = 0x10000;
  } else {
    return {-1, 1};
  }
  if (at + length > text.size()) return {-1, 1};
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[at + i]);
    if ((next & 0xC0) != 0x80) return {-1, 1};
    rune = (rune << 6) | (next & 0x3F);
  }
  if (rune < minimum || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF)) return {-1, 1};
  return {rune, length};
}

// Go's strconv.IsPrint, approximated: controls, the C1 block, separators other than the ASCII
// space and the specials that Go classes as non-graphic are not printable.
bool isPrintable(long rune) {
  if (rune < 0x20 || rune == 0x7F) return false;
  if (rune >= 0x80 && rune <= 0xA0) return false;
  if (rune == 0xAD) return false;
  if (rune >= 0x2000 && rune <= 0x200F) return false;
  if (rune >= 0x2028 && rune <= 0x202F) return false;
  if (rune >= 0x205F && rune <= 0x206F) return false;
  if (rune == 0x3000 || rune == 0xFEFF) return false;
  if (rune >= 0xFFF9 && rune <= 0xFFFB) return false;
  if (rune >= 0xE000 && rune <= 0xF8FF) return false;  // private use
  if ((rune & 0xFFFE) == 0xFFFE) return false;         // noncharacters
  return true;
}

void appendHex(std::string& out, unsigned long value, int digits) {
  static constexpr std::array<char, 16> kHex{'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
    out.push_back(kHex[(value >> shift) & 0xF]);
  }
}

}  // namespace

std::size_t utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  std::size_t at = 0;
  while (at < text.size()) {
    const auto [rune, width] = decodeRune(text, at);
    if (rune < 0) {
      out += "\\x";
      appendHex(out, static_cast<unsigned char>(text[at]), 2);
      at += 1;
      continue;
    }
    switch (rune) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (isPrintable(rune)) {
          out.append(text.substr(at, width));
        } else if (rune < 0x80) {
          out += "\\x";
          appendHex(out, static_cast<unsigned long>(rune), 2);
        } else if (rune <= 0xFFFF) {
          out += "\\u";
          appendHex(out, static_cast<unsigned long>(rune), 4);
        } else {
          out += "\\U";
          appendHex(out, static_cast<unsigned long>(rune), 8);
        }
    }
    at += width;
  }
  out += '"';
  return out;
}

std::string formatFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  // Shortest digits in scientific form, then laid out as Go's %g with shortest precision.
  std::array<char, 64> buffer{};
  auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                              std::chars_format::scientific);
  std::string scientific(buffer.data(), result.ptr);
  const auto ePosition = scientific.find('e');
  std::string mantissa = scientific.substr(0, ePosition);
  const int exponent = std::stoi(scientific.substr(ePosition + 1));
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  // strconv's %g with the shortest precision decides with an "eprec" of 6.
  if (exponent < -4 || exponent >= 6) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exponent < 0 ? "e-" : "e+";
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
    return out;
  }
  if (exponent < 0) {
    return sign + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  }
  const auto integerDigits = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= integerDigits) {
    return sign + digits + std::string(integerDigits - digits.size(), '0');
  }
  return sign + digits.substr(0, integerDigits) + "." + digits.substr(integerDigits);
}

std::string formatValue(const web::json::value& value) {
  if (value.is_null()) return "<nil>";
  if (value.is_boolean()) return value.as_bool() ? "true" : "false";
  if (value.is_string()) return value.as_string();
  if (value.is_number()) {
    const auto& number = value.as_number();
    if (number.is_int64()) return std::to_string(number.to_int64());
    if (number.is_uint64()) return std::to_string(number.to_uint64());
    return formatFloat(number.to_double());
  }
  if (value.is_array()) {
    std::string out = "[";
    bool first = true;
    for (const auto& element : value.as_array()) {
      if (!first) out += " ";
      first = false;
      out += formatValue(element);
    }
    return out + "]";
  }
  std::vector<std::pair<std::string, const web::json::value*>> members;
  for (const auto& [key, member] : value.as_object()) members.emplace_back(key, &member);
  std::sort(members.begin(), members.end(),
            [](const auto& left, const auto& right) { return left.first < right.first; });
  std::string out = "map[";
  bool first = true;
  for (const auto& [key, member] : members) {
    if (!first) out += " ";
    first = false;
    out += key + ":" + formatValue(*member);
  }
  return out + "]";
}

std::expected<std::int64_t, std::string> atoi(std::string_view text) {
  const auto failure = [&](std::string_view why) {
    return std::unexpected("strconv.Atoi: parsing " + quote(text) + ": " + std::string(why));
  };
  std::string_view digits = text;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return failure("invalid syntax");
  }
  // Magnitude first, so that -9223372036854775808 parses like Go does.
  std::uint64_t magnitude = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  constexpr auto kMaxPositive = static_cast<std::uint64_t>(INT64_MAX);
  if (error == std::errc::result_out_of_range || end != digits.data() + digits.size() ||
      magnitude > kMaxPositive + (negative ? 1 : 0)) {
    return failure("value out of range");
  }
  if (negative) {
    return magnitude == kMaxPositive + 1 ? INT64_MIN : -static_cast<std::int64_t>(magnitude);
  }
  return static_cast<std::int64_t>(magnitude);
}

std::string_view jsonKind(const web::json::value& value) {
  if (value.is_object()) return "object";
  if (value.is_array()) return "array";
  if (value.is_string()) return "string";
  if (value.is_number()) return "number";
  if (value.is_boolean()) return "bool";
  return "null";
}

}  // namespace billing::apiserver::gotext
