// Request bodies in Kubernetes' protobuf encoding (Content-Type
// application/vnd.kubernetes.protobuf), which kubectl's typed subcommands send (`kubectl create
// namespace`, `create secret`, `create configmap`, `create serviceaccount`). The body is the magic
// "k8s\0" followed by a runtime.Unknown message {typeMeta{apiVersion, kind} = 1, raw = 2,
// contentEncoding = 3, contentType = 4}, where raw is the object in the field numbers of
// k8s.io/api's generated.proto.
//
// Only decoding, and only for the kinds above: the server answers in JSON, which kubectl accepts
// whatever it asked for. Other kinds are refused (see docs/test-apiserver.md).
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <string>
#include <string_view>

namespace billing::apiserver {

inline constexpr std::string_view kProtobufMediaType = "application/vnd.kubernetes.protobuf";

// True for "application/vnd.kubernetes.protobuf" with or without parameters.
bool isProtobufContentType(std::string_view contentType);

struct ProtobufError {
  enum class Kind {
    Malformed,        // not the k8s envelope, or a message that does not parse
    UnsupportedKind,  // well-formed, but a kind this server does not decode
  };
  Kind kind = Kind::Malformed;
  std::string message;
};

// The object as the JSON decoder would have produced it from the same object sent as JSON:
// apiVersion and kind from the envelope, empty strings and zero numbers left out (the Go JSON
// encoding omits them), []byte values (Secret data, ConfigMap binaryData) in base64. Server-owned
// metadata (uid, creationTimestamp, generation, managedFields, ...) is skipped.
std::expected<web::json::value, ProtobufError> decodeProtobufObject(std::string_view body);

}  // namespace billing::apiserver
