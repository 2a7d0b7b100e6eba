// Decoding of Kubernetes objects into domain values (reconcilers/codec) from YAML or JSON text,
// as the checker, the webhook and the reconcilers read them. Decoding never crashes or throws,
// every error names a field, and an object that decodes cleanly encodes to JSON that decodes
// cleanly again to the same encoding (what the reconcilers write, they can read back).
#include <string>

#include "common/json.h"
#include "common/yaml.h"
#include "reconcilers/codec/objects.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using billing::common::toJson;
using billing::domain::Violation;

template <typename T, typename DecodeFn>
void checkRoundTrip(const web::json::value& object, DecodeFn decode, bool withStatus) {
  billing::codec::DecodeOptions options;
  options.status = withStatus;
  options.defaultNamespace = "fuzz";
  const auto decoded = decode(object, options);
  for (const Violation& error : decoded.errors) {
    BILLING_FUZZ_CHECK(!error.message.empty(),
                       "a decoding error without a message: " + toJson(object));
  }
  if (!decoded.errors.empty()) return;
  const web::json::value encoded = billing::codec::encode(decoded.value);
  const auto again = decode(encoded, options);
  std::string errors;
  for (const Violation& error : again.errors) errors += "\n  " + billing::domain::describe(error);
  BILLING_FUZZ_CHECK(again.errors.empty(),
                     "the encoding of a clean object does not decode: " + toJson(encoded) + errors);
  BILLING_FUZZ_CHECK(toJson(billing::codec::encode(again.value)) == toJson(encoded),
                     "encode/decode is not stable: " + toJson(encoded));
}

void checkObject(const web::json::value& object) {
  using Category = billing::codec::ObjectType::Category;
  using billing::domain::Kind;
  const auto type = billing::codec::classify(object);
  if (type.category == Category::Namespace) {
    const auto decoded = billing::codec::decodeNamespace(object);
    if (decoded.errors.empty()) {
      const auto again = billing::codec::decodeNamespace(billing::codec::encode(decoded.value));
      BILLING_FUZZ_CHECK(again.errors.empty(), "a clean Namespace does not decode after encoding");
    }
    return;
  }
  if (type.category != Category::Billing) return;
  for (bool withStatus : {true, false}) {
    switch (type.kind) {
      case Kind::BillingGroup:
        checkRoundTrip<billing::domain::BillingGroup>(
            object,
            [](const auto& o, const auto& opt) {
              return billing::codec::decodeBillingGroup(o, opt);
            },
            withStatus);
        break;
      case Kind::Project:
        checkRoundTrip<billing::domain::Project>(
            object,
            [](const auto& o, const auto& opt) { return billing::codec::decodeProject(o, opt); },
            withStatus);
        break;
      case Kind::Invoice:
        checkRoundTrip<billing::domain::Invoice>(
            object,
            [](const auto& o, const auto& opt) { return billing::codec::decodeInvoice(o, opt); },
            withStatus);
        break;
      case Kind::Namespace:
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = billing::fuzz::asText(data, size);
  // JSON is YAML, but the API server reads JSON with a JSON parser: try both, as kubectl does.
  if (const auto json = billing::common::parseJson(text)) checkObject(*json);
  if (const auto documents = billing::common::parseYamlDocuments(text)) {
    for (const auto& document : *documents) checkObject(document.value);
  }
  return 0;
}
