// metav1.Status bodies into the ErrorKind a caller branches on, and the one-line descriptions.
#include "operator/kube/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/json.h"
#include "tests/unit/kube/test_support.h"

namespace billing::kube {
namespace {

using ::testing::HasSubstr;
using testing::statusBody;

struct KindCase {
  int code;
  std::string reason;
  ErrorKind kind;
};

class StatusKindTest : public ::testing::TestWithParam<KindCase> {};

TEST_P(StatusKindTest, MapsReasonAndCode) {
  const auto& param = GetParam();
  Error error = errorFromResponse(param.code, {}, statusBody(param.code, param.reason, "m"));
  EXPECT_EQ(error.kind, param.kind) << param.code << " " << param.reason;
  EXPECT_EQ(error.httpStatus, param.code);
  EXPECT_EQ(error.reason, param.reason);
  EXPECT_EQ(error.message, "m");
}

INSTANTIATE_TEST_SUITE_P(
    ApiErrors, StatusKindTest,
    ::testing::Values(KindCase{404, "NotFound", ErrorKind::NotFound},
                      KindCase{409, "AlreadyExists", ErrorKind::AlreadyExists},
                      KindCase{409, "Conflict", ErrorKind::Conflict},
                      KindCase{409, "", ErrorKind::Conflict},
                      KindCase{410, "Expired", ErrorKind::Gone},
                      KindCase{410, "Gone", ErrorKind::Gone},
                      KindCase{422, "Invalid", ErrorKind::Invalid},
                      KindCase{400, "BadRequest", ErrorKind::BadRequest},
                      KindCase{401, "Unauthorized", ErrorKind::Unauthorized},
                      KindCase{403, "Forbidden", ErrorKind::Forbidden},
                      KindCase{405, "MethodNotAllowed", ErrorKind::MethodNotAllowed},
                      KindCase{415, "UnsupportedMediaType", ErrorKind::UnsupportedMediaType},
                      KindCase{429, "TooManyRequests", ErrorKind::TooManyRequests},
                      KindCase{504, "Timeout", ErrorKind::Timeout},
                      KindCase{500, "ServerTimeout", ErrorKind::Timeout},
                      KindCase{500, "InternalError", ErrorKind::ServerError},
                      KindCase{503, "ServiceUnavailable", ErrorKind::ServerError},
                      KindCase{502, "", ErrorKind::ServerError},
                      KindCase{413, "RequestEntityTooLarge", ErrorKind::BadRequest}));

TEST(StatusTest, ReadsInvalidCauses) {
  Error error = errorFromResponse(
      422, {},
      statusBody(
          422, "Invalid", "BillingGroup.billing.operator.dev \\\"gold\\\" is invalid",
          R"({"name":"gold","group":"billing.operator.dev","kind":"BillingGroup",)"
          R"("causes":[{"reason":"FieldValueRequired","message":"Required value",)"
          R"("field":"spec.currency"},{"reason":"FieldValueNotSupported",)"
          R"("message":"Unsupported value: \"Yearly\"","field":"spec.invoicing.period"}]})"));
  EXPECT_EQ(error.kind, ErrorKind::Invalid);
  ASSERT_EQ(error.causes.size(), 2u);
  EXPECT_EQ(error.causes[0].reason, "FieldValueRequired");
  EXPECT_EQ(error.causes[0].field, "spec.currency");
  EXPECT_EQ(error.causes[1].message, "Unsupported value: \"Yearly\"");
}

TEST(StatusTest, RetryAfterFromHeaderOrDetails) {
  Error header = errorFromResponse(429, {{"Retry-After", "7"}},
                                   statusBody(429, "TooManyRequests", "slow down"));
  EXPECT_EQ(header.retryAfter, std::chrono::seconds(7));
  Error details = errorFromResponse(
      500, {}, statusBody(500, "ServerTimeout", "later", R"({"retryAfterSeconds":3})"));
  EXPECT_EQ(details.retryAfter, std::chrono::seconds(3));
  Error none = errorFromResponse(429, {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}, "");
  EXPECT_FALSE(none.retryAfter.has_value());
}

TEST(StatusTest, SummarizesABodyThatIsNotAStatus) {
  Error error = errorFromResponse(
      502, {}, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>");
  EXPECT_EQ(error.kind, ErrorKind::ServerError);
  EXPECT_EQ(error.message,
            "the server answered 502 Bad Gateway: <html> <head><title>502 Bad "
            "Gateway</title></head> <body>nginx</body></html>");
  Error huge = errorFromResponse(500, {}, std::string(10000, 'x'));
  EXPECT_LT(huge.message.size(), 300u);
}

TEST(StatusTest, ReadsTheStatusOfAWatchErrorEvent) {
  auto status = common::parseJson(statusBody(410, "Expired", "too old resource version: 1 (50)"));
  Error error = errorFromStatus(*status);
  EXPECT_EQ(error.kind, ErrorKind::Gone);
  EXPECT_EQ(error.httpStatus, 410);
}

TEST(ErrorDescribeTest, NamesVerbResourceAndNamespace) {
  Error error;
  error.kind = ErrorKind::Forbidden;
  error.httpStatus = 403;
  error.verb = "list";
  error.resource = "billinggroups.billing.operator.dev";
  error.ns = "acme";
  error.message = "billinggroups.billing.operator.dev is forbidden: User \"bob\" cannot list";
  EXPECT_EQ(error.describe(),
            "forbidden: cannot list billinggroups.billing.operator.dev in namespace \"acme\": "
            "billinggroups.billing.operator.dev is forbidden: User \"bob\" cannot list");
}

TEST(ErrorDescribeTest, IsOneLineWithNameCausesAndRetryAfter) {
  Error invalid;
  invalid.kind = ErrorKind::Invalid;
  invalid.verb = "create";
  invalid.resource = "projects.billing.operator.dev";
  invalid.name = "web";
  invalid.causes = {{"FieldValueRequired", "Required value", "spec.displayName"}};
  EXPECT_EQ(invalid.describe(),
            "invalid: create projects.billing.operator.dev \"web\": spec.displayName: Required "
            "value");
  Error busy;
  busy.kind = ErrorKind::TooManyRequests;
  busy.message = "line one\nline two";
  busy.retryAfter = std::chrono::seconds(5);
  EXPECT_EQ(busy.describe(), "too many requests: line one line two (retry after 5s)");
}

TEST(ErrorDescribeTest, RetriableKinds) {
  auto of = [](ErrorKind kind, int status = 0) {
    Error error;
    error.kind = kind;
    error.httpStatus = status;
    return error.retriable();
  };
  EXPECT_TRUE(of(ErrorKind::TooManyRequests, 429));
  EXPECT_TRUE(of(ErrorKind::ServerError, 503));
  EXPECT_TRUE(of(ErrorKind::Timeout, 504));
  EXPECT_TRUE(of(ErrorKind::Network));
  EXPECT_FALSE(of(ErrorKind::Conflict, 409));
  EXPECT_FALSE(of(ErrorKind::Forbidden, 403));
  EXPECT_FALSE(of(ErrorKind::Tls));
  EXPECT_FALSE(of(ErrorKind::Cancelled));
}

}  // namespace
}  // namespace billing::kube
