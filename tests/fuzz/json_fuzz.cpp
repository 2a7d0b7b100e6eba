// JSON decoding (common/json.h, cpprestsdk underneath) of any text: never crashes, never throws,
// and what it accepts survives a round trip through both writers unchanged.
#include "common/json.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using billing::common::jsonEqual;
  using billing::common::parseJson;
  const auto parsed = parseJson(billing::fuzz::asText(data, size));
  if (!parsed) {
    BILLING_FUZZ_CHECK(!parsed.error().empty(), "a rejection must say why");
    return 0;
  }
  const std::string compact = billing::common::toJson(*parsed);
  const auto again = parseJson(compact);
  BILLING_FUZZ_CHECK(again.has_value(), "toJson wrote text parseJson rejects: " + compact);
  BILLING_FUZZ_CHECK(jsonEqual(*parsed, *again), "toJson changed the value: " + compact);
  // The text may change once: a double -0.0 is written "-0", which reads back as the integer 0
  // (equal by value, which is what jsonEqual and the API server compare). From then on writing
  // is a fixed point.
  const std::string second = billing::common::toJson(*again);
  const auto third = parseJson(second);
  BILLING_FUZZ_CHECK(third.has_value() && billing::common::toJson(*third) == second,
                     "toJson does not settle after one round trip: " + second);

  const std::string pretty = billing::common::toPrettyJson(*parsed);
  const auto fromPretty = parseJson(pretty);
  BILLING_FUZZ_CHECK(fromPretty.has_value(),
                     "toPrettyJson wrote text parseJson rejects: " + pretty);
  BILLING_FUZZ_CHECK(jsonEqual(*parsed, *fromPretty), "toPrettyJson changed the value: " + pretty);
  return 0;
}
