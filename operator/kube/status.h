// Reading the API server's answers: metav1.Status bodies into Error values, with the reason ->
// kind mapping of apimachinery's apierrors (IsNotFound, IsConflict, ...).
#pragma once

#include <string_view>

#include "common/http_message.h"
#include "operator/kube/client.h"

namespace billing::kube {

// The reason decides where it is one apierrors knows (a 409 with reason AlreadyExists is
// AlreadyExists, a 410 with Expired or Gone is Gone); otherwise the HTTP status does.
ErrorKind errorKindFor(int httpStatus, std::string_view reason);

// The Error for a response with a non-2xx status: kind, reason, message, causes and Retry-After
// (the header, else details.retryAfterSeconds) from a metav1.Status body; a body that is not a
// Status (a proxy's page) is summarized on one line, at most 200 bytes of it. verb, resource,
// ns and name are the caller's to fill in.
Error errorFromResponse(int httpStatus, const common::HttpHeaders& headers, std::string_view body);

// The Error carried by a watch ERROR event (its object is a metav1.Status).
Error errorFromStatus(const web::json::value& status);

}  // namespace billing::kube
