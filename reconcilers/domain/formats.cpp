#include "reconcilers/domain/formats.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace billing::domain {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }

// Officially assigned ISO 3166-1 alpha-2 codes, sorted for binary search.
constexpr std::array<std::string_view, 249> kCountryCodes = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW"};

bool luhnValid(const std::string& digits) {
  int sum = 0;
  bool doubleIt = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (doubleIt) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    doubleIt = !doubleIt;
  }
  return sum % 10 == 0;
}

// ISO 13616: move the first four characters to the end, letters become 10..35, mod 97 == 1.
bool ibanChecksumValid(std::string_view iban) {
  std::string rearranged(iban.substr(4));
  rearranged.append(iban.substr(0, 4));
  int remainder = 0;
  for (char c : rearranged) {
    if (isDigit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      int value = c - 'A' + 10;
      remainder = (remainder * 100 + value) % 97;
    }
  }
  return remainder == 1;
}

}  // namespace

bool isDnsSubdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !isLowerAlnum(label.front()) || !isLowerAlnum(label.back())) return false;
    if (!std::all_of(label.begin(), label.end(),
                     [](char c) { return isLowerAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool isDnsLabel(std::string_view name) {
  return name.size() <= 63 && name.find('.') == std::string_view::npos && isDnsSubdomain(name);
}

bool isLabelValue(std::string_view value) {
  if (value.empty()) return true;
  if (value.size() > 63 || !isAlnum(value.front()) || !isAlnum(value.back())) return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool isEmailAddress(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return false;
  std::string_view local = address.substr(0, at);
  std::string_view domain = address.substr(at + 1);
  constexpr std::string_view kLocalSpecials = "!#$%&'*+/=?^_`{|}~.-";
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : local) {
    if (!isAlnum(c) && kLocalSpecials.find(c) == std::string_view::npos) return false;
  }
  if (domain.size() > 253 || domain.find('.') == std::string_view::npos) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || !isAlnum(label.front()) || !isAlnum(label.back())) {
      return false;
    }
    if (!std::all_of(label.begin(), label.end(), [](char c) { return isAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool isCountryCode(std::string_view code) {
  return std::binary_search(kCountryCodes.begin(), kCountryCodes.end(), code);
}

bool containsCardNumber(std::string_view text) {
  // A card number is a whole run of 13-19 digits, possibly grouped by single spaces or dashes.
  // Windows inside longer digit runs are not tested: nearly any long number has a 13-digit
  // window that passes Luhn, and order or account numbers are not secrets.
  std::size_t i = 0;
  while (i < text.size()) {
    if (!isDigit(text[i]) || (i > 0 && isAlnum(text[i - 1]))) {
      ++i;
      continue;
    }
    std::string digits;
    std::size_t j = i;
    while (j < text.size()) {
      if (isDigit(text[j])) {
        digits.push_back(text[j++]);
      } else if ((text[j] == ' ' || text[j] == '-') && j + 1 < text.size() &&
                 isDigit(text[j + 1])) {
        ++j;
      } else {
        break;
      }
    }
    bool wordEnds = j == text.size() || !isAlnum(text[j]);
    // All-same digits ("0000000000000") pass Luhn but are placeholders, not cards.
    bool uniform =
        std::all_of(digits.begin(), digits.end(), [&](char c) { return c == digits.front(); });
    if (wordEnds && digits.size() >= 13 && digits.size() <= 19 && !uniform && luhnValid(digits)) {
      return true;
    }
    i = j;
  }
  return false;
}

bool containsIban(std::string_view text) {
  // An IBAN starts a word with two capital letters and two check digits and continues with
  // letters and digits, often printed in groups of four separated by single spaces.
  for (std::size_t start = 0; start + 4 <= text.size(); ++start) {
    if ((start > 0 && isAlnum(text[start - 1])) || !isUpper(text[start]) ||
        !isUpper(text[start + 1]) || !isDigit(text[start + 2]) || !isDigit(text[start + 3])) {
      continue;
    }
    std::string compact;
    for (std::size_t j = start; j < text.size() && compact.size() < 34; ++j) {
      char c = text[j];
      if (isDigit(c) || isUpper(c)) {
        compact.push_back(c);
      } else if (c == ' ' && j + 1 < text.size() &&
                 (isDigit(text[j + 1]) || isUpper(text[j + 1]))) {
        continue;
      } else {
        break;
      }
    }
    // IBANs are 15 (Norway) to 34 characters long; the group may be followed by other words.
    for (std::size_t length = compact.size(); length >= 15; --length) {
      if (ibanChecksumValid(std::string_view(compact).substr(0, length))) return true;
    }
  }
  return false;
}

}  // namespace billing::domain
