#include "tests/apiserver/protobuf.h"

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "common/tls.h"

namespace billing::apiserver {
namespace {

using web::json::value;

constexpr std::string_view kMagic{"k8s\0", 4};

// One field of a protobuf message as it is on the wire.
struct Field {
  std::uint32_t number = 0;
  int wireType = 0;          // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  std::uint64_t varint = 0;  // wire type 0
  std::string_view bytes;    // wire type 2
};

ProtobufError malformed(const std::string& message) {
  return {ProtobufError::Kind::Malformed, message};
}

std::expected<std::uint64_t, ProtobufError> readVarint(std::string_view data, std::size_t& pos) {
  std::uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= data.size()) return std::unexpected(malformed("truncated varint"));
    auto byte = static_cast<unsigned char>(data[pos++]);
    result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return result;
  }
  return std::unexpected(malformed("varint longer than 10 bytes"));
}

// Splits a message into its fields, in wire order.
std::expected<std::vector<Field>, ProtobufError> fieldsOf(std::string_view message) {
  std::vector<Field> fields;
  std::size_t pos = 0;
  while (pos < message.size()) {
    auto key = readVarint(message, pos);
    if (!key) return std::unexpected(key.error());
    Field field;
    field.number = static_cast<std::uint32_t>(*key >> 3);
    field.wireType = static_cast<int>(*key & 7);
    if (field.number == 0) return std::unexpected(malformed("field number 0"));
    switch (field.wireType) {
      case 0: {
        auto number = readVarint(message, pos);
        if (!number) return std::unexpected(number.error());
        field.varint = *number;
        break;
      }
      case 1:
      case 5: {
        std::size_t size = field.wireType == 1 ? 8 : 4;
        if (message.size() - pos < size) return std::unexpected(malformed("truncated fixed field"));
        pos += size;
        break;
      }
      case 2: {
        auto length = readVarint(message, pos);
        if (!length) return std::unexpected(length.error());
        if (*length > message.size() - pos) {
          return std::unexpected(malformed("length-delimited field longer than the message"));
        }
        field.bytes = message.substr(pos, static_cast<std::size_t>(*length));
        pos += static_cast<std::size_t>(*length);
        break;
      }
      default:
        return std::unexpected(
            malformed("unsupported wire type " + std::to_string(field.wireType)));
    }
    fields.push_back(field);
  }
  return fields;
}

std::expected<std::string_view, ProtobufError> bytesOf(const Field& field) {
  if (field.wireType != 2) {
    return std::unexpected(
        malformed("field " + std::to_string(field.number) + " is not length-delimited"));
  }
  return field.bytes;
}

// Sets `object[name]` to a string unless it is empty (Go's omitempty).
void setString(value& object, const char* name, std::string_view text) {
  if (!text.empty()) object[name] = value::string(std::string(text));
}

// A map<string, string> or map<string, bytes> entry: key = 1, value = 2.
std::expected<std::pair<std::string, std::string>, ProtobufError> mapEntry(std::string_view entry) {
  auto fields = fieldsOf(entry);
  if (!fields) return std::unexpected(fields.error());
  std::pair<std::string, std::string> out;
  for (const Field& field : *fields) {
    auto bytes = bytesOf(field);
    if (!bytes) return std::unexpected(bytes.error());
    if (field.number == 1) out.first = std::string(*bytes);
    if (field.number == 2) out.second = std::string(*bytes);
  }
  return out;
}

// Adds a map entry to `object[name]`; bytes values are base64, as []byte is in JSON.
std::expected<void, ProtobufError> addMapEntry(value& object, const char* name, const Field& field,
                                               bool base64) {
  auto bytes = bytesOf(field);
  if (!bytes) return std::unexpected(bytes.error());
  auto entry = mapEntry(*bytes);
  if (!entry) return std::unexpected(entry.error());
  object[name][entry->first] =
      value::string(base64 ? common::base64Encode(entry->second) : entry->second);
  return {};
}

std::expected<void, ProtobufError> addString(value& object, const char* name, const Field& field) {
  auto bytes = bytesOf(field);
  if (!bytes) return std::unexpected(bytes.error());
  if (!object.has_field(name)) object[name] = value::array();
  value& list = object[name];
  list[list.size()] = value::string(std::string(*bytes));
  return {};
}

// OwnerReference: kind 1, name 3, uid 4, apiVersion 5, controller 6, blockOwnerDeletion 7.
std::expected<value, ProtobufError> ownerReference(std::string_view message) {
  auto fields = fieldsOf(message);
  if (!fields) return std::unexpected(fields.error());
  value reference = value::object(true);
  for (const Field& field : *fields) {
    if (field.number == 6 || field.number == 7) {
      reference[field.number == 6 ? "controller" : "blockOwnerDeletion"] =
          value::boolean(field.varint != 0);
      continue;
    }
    auto bytes = bytesOf(field);
    if (!bytes) return std::unexpected(bytes.error());
    switch (field.number) {
      case 1:
        setString(reference, "kind", *bytes);
        break;
      case 3:
        setString(reference, "name", *bytes);
        break;
      case 4:
        setString(reference, "uid", *bytes);
        break;
      case 5:
        setString(reference, "apiVersion", *bytes);
        break;
      default:
        break;
    }
  }
  return reference;
}

// ObjectMeta: name 1, generateName 2, namespace 3, resourceVersion 6, labels 11, annotations 12,
// ownerReferences 13, finalizers 14. The rest is the server's to set (selfLink 4, uid 5,
// generation 7, creationTimestamp 8, deletionTimestamp 9, deletionGracePeriodSeconds 10,
// managedFields 17) and is skipped.
std::expected<value, ProtobufError> objectMeta(std::string_view message) {
  auto fields = fieldsOf(message);
  if (!fields) return std::unexpected(fields.error());
  value meta = value::object(true);
  for (const Field& field : *fields) {
    std::expected<void, ProtobufError> added;
    switch (field.number) {
      case 1:
      case 2:
      case 3:
      case 6: {
        auto bytes = bytesOf(field);
        if (!bytes) return std::unexpected(bytes.error());
        const char* name = field.number == 1   ? "name"
                           : field.number == 2 ? "generateName"
                           : field.number == 3 ? "namespace"
                                               : "resourceVersion";
        setString(meta, name, *bytes);
        break;
      }
      case 11:
        added = addMapEntry(meta, "labels", field, false);
        break;
      case 12:
        added = addMapEntry(meta, "annotations", field, false);
        break;
      case 13: {
        auto bytes = bytesOf(field);
        if (!bytes) return std::unexpected(bytes.error());
        auto reference = ownerReference(*bytes);
        if (!reference) return std::unexpected(reference.error());
        if (!meta.has_field("ownerReferences")) meta["ownerReferences"] = value::array();
        value& list = meta["ownerReferences"];
        list[list.size()] = *reference;
        break;
      }
      case 14:
        added = addString(meta, "finalizers", field);
        break;
      default:
        break;
    }
    if (!added) return std::unexpected(added.error());
  }
  return meta;
}

using ObjectDecoder =
    std::function<std::expected<void, ProtobufError>(value& object, const Field& field)>;

// Field 1 of every top-level kind is its ObjectMeta; `rest` decodes the others.
std::expected<value, ProtobufError> decodeObject(std::string_view raw, const ObjectDecoder& rest) {
  auto fields = fieldsOf(raw);
  if (!fields) return std::unexpected(fields.error());
  value object = value::object(true);
  for (const Field& field : *fields) {
    if (field.number == 1) {
      auto bytes = bytesOf(field);
      if (!bytes) return std::unexpected(bytes.error());
      auto meta = objectMeta(*bytes);
      if (!meta) return std::unexpected(meta.error());
      object["metadata"] = *meta;
      continue;
    }
    if (auto decoded = rest(object, field); !decoded) return std::unexpected(decoded.error());
  }
  return object;
}

// Namespace: spec 2 {finalizers 1}, status 3 {phase 1}.
std::expected<void, ProtobufError> namespaceField(value& object, const Field& field) {
  if (field.number != 2 && field.number != 3) return {};
  auto bytes = bytesOf(field);
  if (!bytes) return std::unexpected(bytes.error());
  auto inner = fieldsOf(*bytes);
  if (!inner) return std::unexpected(inner.error());
  value part = value::object(true);
  for (const Field& f : *inner) {
    if (f.number != 1) continue;
    if (field.number == 2) {
      if (auto added = addString(part, "finalizers", f); !added) return added;
    } else {
      auto phase = bytesOf(f);
      if (!phase) return std::unexpected(phase.error());
      setString(part, "phase", *phase);
    }
  }
  if (part.size() > 0) object[field.number == 2 ? "spec" : "status"] = part;
  return {};
}

// Secret: data 2 (map<string, bytes>), type 3, stringData 4, immutable 5.
std::expected<void, ProtobufError> secretField(value& object, const Field& field) {
  switch (field.number) {
    case 2:
      return addMapEntry(object, "data", field, true);
    case 3: {
      auto bytes = bytesOf(field);
      if (!bytes) return std::unexpected(bytes.error());
      setString(object, "type", *bytes);
      return {};
    }
    case 4:
      return addMapEntry(object, "stringData", field, false);
    case 5:
      object["immutable"] = value::boolean(field.varint != 0);
      return {};
    default:
      return {};
  }
}

// ConfigMap: data 2 (map<string, string>), binaryData 3 (map<string, bytes>), immutable 4.
std::expected<void, ProtobufError> configMapField(value& object, const Field& field) {
  switch (field.number) {
    case 2:
      return addMapEntry(object, "data", field, false);
    case 3:
      return addMapEntry(object, "binaryData", field, true);
    case 4:
      object["immutable"] = value::boolean(field.varint != 0);
      return {};
    default:
      return {};
  }
}

// ServiceAccount: imagePullSecrets 3 ({name 1}), automountServiceAccountToken 4. Its secrets
// (2) are the token controller's, which does not run here.
std::expected<void, ProtobufError> serviceAccountField(value& object, const Field& field) {
  if (field.number == 4) {
    object["automountServiceAccountToken"] = value::boolean(field.varint != 0);
    return {};
  }
  if (field.number != 3) return {};
  auto bytes = bytesOf(field);
  if (!bytes) return std::unexpected(bytes.error());
  auto inner = fieldsOf(*bytes);
  if (!inner) return std::unexpected(inner.error());
  value reference = value::object(true);
  for (const Field& f : *inner) {
    if (f.number != 1) continue;
    auto name = bytesOf(f);
    if (!name) return std::unexpected(name.error());
    setString(reference, "name", *name);
  }
  if (!object.has_field("imagePullSecrets")) object["imagePullSecrets"] = value::array();
  value& list = object["imagePullSecrets"];
  list[list.size()] = reference;
  return {};
}

// A message of string fields only, by field number: {1: "namespace", 2: "verb", ...}.
std::expected<value, ProtobufError> stringMessage(
    std::string_view message, const std::map<std::uint32_t, const char*>& names) {
  auto fields = fieldsOf(message);
  if (!fields) return std::unexpected(fields.error());
  value out = value::object(true);
  for (const Field& f : *fields) {
    auto name = names.find(f.number);
    if (name == names.end()) continue;
    auto text = bytesOf(f);
    if (!text) return std::unexpected(text.error());
    setString(out, name->second, *text);
  }
  return out;
}

// TokenRequest (kubectl create token): spec 2 {audiences 1, boundObjectRef 3 {kind 1,
// apiVersion 2, name 3, uid 4}, expirationSeconds 4}.
std::expected<void, ProtobufError> tokenRequestField(value& object, const Field& field) {
  if (field.number != 2) return {};
  auto bytes = bytesOf(field);
  if (!bytes) return std::unexpected(bytes.error());
  auto inner = fieldsOf(*bytes);
  if (!inner) return std::unexpected(inner.error());
  value spec = value::object(true);
  for (const Field& f : *inner) {
    if (f.number == 1) {
      if (auto added = addString(spec, "audiences", f); !added) return added;
    } else if (f.number == 3) {
      auto reference = bytesOf(f);
      if (!reference) return std::unexpected(reference.error());
      auto decoded =
          stringMessage(*reference, {{1, "kind"}, {2, "apiVersion"}, {3, "name"}, {4, "uid"}});
      if (!decoded) return std::unexpected(decoded.error());
      spec["boundObjectRef"] = *decoded;
    } else if (f.number == 4 && f.wireType == 0) {
      spec["expirationSeconds"] = value::number(static_cast<std::int64_t>(f.varint));
    }
  }
  object["spec"] = spec;
  return {};
}

// SelfSubjectAccessReview (kubectl auth can-i): spec 2 {resourceAttributes 1 {namespace 1, verb
// 2, group 3, version 4, resource 5, subresource 6, name 7}, nonResourceAttributes 2 {path 1,
// verb 2}}.
std::expected<void, ProtobufError> selfSubjectAccessReviewField(value& object, const Field& field) {
  if (field.number != 2) return {};
  auto bytes = bytesOf(field);
  if (!bytes) return std::unexpected(bytes.error());
  auto inner = fieldsOf(*bytes);
  if (!inner) return std::unexpected(inner.error());
  value spec = value::object(true);
  for (const Field& f : *inner) {
    if (f.number != 1 && f.number != 2) continue;
    auto attributes = bytesOf(f);
    if (!attributes) return std::unexpected(attributes.error());
    auto decoded = f.number == 1 ? stringMessage(*attributes, {{1, "namespace"},
                                                               {2, "verb"},
                                                               {3, "group"},
                                                               {4, "version"},
                                                               {5, "resource"},
                                                               {6, "subresource"},
                                                               {7, "name"}})
                                 : stringMessage(*attributes, {{1, "path"}, {2, "verb"}});
    if (!decoded) return std::unexpected(decoded.error());
    spec[f.number == 1 ? "resourceAttributes" : "nonResourceAttributes"] = *decoded;
  }
  object["spec"] = spec;
  return {};
}

const std::map<std::string, ObjectDecoder, std::less<>>& decoders() {
  static const std::map<std::string, ObjectDecoder, std::less<>> kDecoders = {
      {"v1/Namespace", namespaceField},
      {"v1/Secret", secretField},
      {"v1/ConfigMap", configMapField},
      {"v1/ServiceAccount", serviceAccountField},
      {"authentication.k8s.io/v1/TokenRequest", tokenRequestField},
      {"authorization.k8s.io/v1/SelfSubjectAccessReview", selfSubjectAccessReviewField},
  };
  return kDecoders;
}

}  // namespace

bool isProtobufContentType(std::string_view contentType) {
  std::string_view media = contentType.substr(0, contentType.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return media == kProtobufMediaType;
}

std::expected<value, ProtobufError> decodeProtobufObject(std::string_view body) {
  if (!body.starts_with(kMagic)) {
    return std::unexpected(malformed("the body does not start with the k8s protobuf prefix"));
  }
  auto envelope = fieldsOf(body.substr(kMagic.size()));
  if (!envelope) return std::unexpected(envelope.error());
  std::string apiVersion;
  std::string kind;
  std::string_view raw;
  for (const Field& field : *envelope) {
    auto bytes = bytesOf(field);
    if (!bytes) return std::unexpected(bytes.error());
    if (field.number == 1) {
      auto typeMeta = fieldsOf(*bytes);
      if (!typeMeta) return std::unexpected(typeMeta.error());
      for (const Field& f : *typeMeta) {
        auto text = bytesOf(f);
        if (!text) return std::unexpected(text.error());
        if (f.number == 1) apiVersion = std::string(*text);
        if (f.number == 2) kind = std::string(*text);
      }
    } else if (field.number == 2) {
      raw = *bytes;
    } else if (field.number == 3 && !bytes->empty()) {
      return std::unexpected(malformed("unsupported contentEncoding " + std::string(*bytes)));
    }
  }
  auto decoder = decoders().find(apiVersion + "/" + kind);
  if (decoder == decoders().end()) {
    return std::unexpected(ProtobufError{
        ProtobufError::Kind::UnsupportedKind,
        "the test API server decodes protobuf bodies only for v1 Namespace, Secret, ConfigMap "
        "and ServiceAccount (and TokenRequest and SelfSubjectAccessReview), not " +
            (apiVersion.empty() ? kind : apiVersion + " " + kind) + "; send JSON"});
  }
  auto object = decodeObject(raw, decoder->second);
  if (!object) return std::unexpected(object.error());
  value out = value::object(true);
  out["apiVersion"] = value::string(apiVersion);
  out["kind"] = value::string(kind);
  for (const auto& [key, item] : object->as_object()) out[key] = item;
  if (!out.has_field("metadata")) out["metadata"] = value::object(true);
  return out;
}

}  // namespace billing::apiserver
