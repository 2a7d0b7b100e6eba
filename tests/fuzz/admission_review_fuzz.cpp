// The admission webhook's handler (operator/webhook/admission_review.h) over any request body,
// against the cluster of examples/gitops. It never crashes or throws; a body that is not an
// AdmissionReview is a 400 with a reason (the snapshot never fails here, so never a 500); an
// answer is an AdmissionReview of the request's apiVersion, for the request's uid, and a denial
// carries a 403 or 422 status with a message the API server can show.
#include <cstdlib>
#include <string>

#include "common/json.h"
#include "operator/check/manifest_loader.h"
#include "operator/webhook/admission_review.h"
#include "operator/webhook/snapshot_source.h"
#include "reconcilers/domain/time.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

const billing::webhook::StaticSnapshotSource& exampleCluster() {
  static const billing::webhook::StaticSnapshotSource source = [] {
    billing::check::ManifestLoader loader({});
    auto loaded = loader.load({std::string(BILLING_SOURCE_DIR) + "/examples/gitops"});
    if (!loaded.inputErrors.empty() || loaded.snapshot.projects.empty()) {
      billing::fuzz::invariantBroken("examples/gitops loads", "cannot load the example cluster");
    }
    return billing::webhook::StaticSnapshotSource(std::move(loaded.snapshot));
  }();
  return source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using billing::common::toJson;
  const auto body = billing::common::parseJson(billing::fuzz::asText(data, size));
  if (!body) return 0;  // the server answers 400 before the handler; json_fuzz covers parsing
  const auto now = *billing::domain::parseTimestamp("2026-12-15T00:00:00Z");
  const auto answer = billing::webhook::review(*body, exampleCluster(), now);
  if (!answer) {
    BILLING_FUZZ_CHECK(
        answer.error().httpStatus == 400,
        "status " + std::to_string(answer.error().httpStatus) + " for " + toJson(*body));
    BILLING_FUZZ_CHECK(!answer.error().message.empty(), "a 400 without a reason: " + toJson(*body));
    return 0;
  }
  const auto request = billing::webhook::parseAdmissionReview(*body);
  BILLING_FUZZ_CHECK(request.has_value(), "review answered a request parseAdmissionReview refuses");
  const std::string where = " in " + toJson(*answer) + " for " + toJson(*body);
  BILLING_FUZZ_CHECK(answer->at("kind").as_string() == "AdmissionReview", "kind" + where);
  BILLING_FUZZ_CHECK(answer->at("apiVersion").as_string() == request->apiVersion,
                     "apiVersion" + where);
  const auto& response = answer->at("response");
  BILLING_FUZZ_CHECK(response.at("uid").as_string() == request->uid, "uid" + where);
  BILLING_FUZZ_CHECK(response.at("allowed").is_boolean(), "allowed" + where);
  if (!response.at("allowed").as_bool()) {
    const auto& status = response.at("status");
    const int code = status.at("code").as_integer();
    BILLING_FUZZ_CHECK(code == 403 || code == 422, "denial code" + where);
    BILLING_FUZZ_CHECK(!status.at("message").as_string().empty(), "denial message" + where);
  }
  return 0;
}
