// How Go's fmt and strconv print the values that end up inside kube-apiserver's error messages, so
// the test API server's messages match the real server's byte for byte: %q of a string, %v of a
// decoded JSON value (map[string]interface{} and friends), strconv.Atoi. Internal to the test API
// server's selectors and patches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "common/json.h"

namespace billing::apiserver::gotext {

// Length of the UTF-8 sequence that starts at text[i], or 0 when the bytes there are not UTF-8.
std::size_t utf8SequenceLength(std::string_view text, std::size_t i);

// Go's strconv.Quote (fmt's %q): double quotes, \" \\ \n \t ..., \x.. for invalid UTF-8 and
// control bytes, \u.... for other non-printable runes; printable Unicode is kept as is.
std::string quote(std::string_view text);

// A float64 as fmt's %v prints it (%g, shortest round-trip digits): the exponent form starts at
// 1e+06 and below 1e-04 ("123456", "1e+06", "1.5e-05", "0.5"); NaN and ±Inf as Go spells them.
std::string formatFloat(double value);

// fmt's %v of the value encoding/json decodes `value` into: "map[a:1 b:[x y]]" with keys sorted,
// "[x y]", strings unquoted, <nil> for null, integers in decimal, other numbers as %g does.
std::string formatValue(const web::json::value& value);

// strconv.Atoi on a 64-bit platform; the error is Go's, e.g.
// `strconv.Atoi: parsing "x": invalid syntax`.
std::expected<std::int64_t, std::string> atoi(std::string_view text);

// The JSON kind encoding/json names in "cannot unmarshal <kind> into ...": object, array,
// string, number, bool (and "null").
std::string_view jsonKind(const web::json::value& value);

}  // namespace billing::apiserver::gotext
