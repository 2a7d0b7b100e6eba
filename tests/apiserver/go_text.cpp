#include "tests/apiserver/go_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>
#include <vector>

namespace billing::apiserver::gotext {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void appendHexByte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

// strconv.FormatFloat(f, 'g', -1, 64): the shortest digits, in exponent form when the decimal
// exponent is below -4 or at least 6 ("1e+06", "1.5e-05"), with at least two exponent digits.
std::string formatFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto scientific =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string text(buffer, scientific.ptr);
  const auto e = text.find('e');
  const int exponent = std::stoi(text.substr(e + 1));
  if (exponent < -4 || exponent >= 6) {
    std::string mantissa = text.substr(0, e);
    const std::string sign = exponent < 0 ? "-" : "+";
    std::string digits = std::to_string(std::abs(exponent));
    if (digits.size() < 2) digits.insert(0, "0");
    return mantissa + "e" + sign + digits;
  }
  auto fixed = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  return std::string(buffer, fixed.ptr);
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
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      if (const auto length = utf8SequenceLength(text, i); length > 0) {
        out.append(text.substr(i, length));
        i += length;
      } else {
        appendHexByte(out, c);
        ++i;
      }
      continue;
    }
    switch (c) {
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
        if (c < 0x20 || c == 0x7F) {
          appendHexByte(out, c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
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
