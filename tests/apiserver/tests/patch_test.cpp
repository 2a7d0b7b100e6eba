#include "tests/apiserver/patch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace billing::apiserver {
namespace {

using web::json::value;

value json(const std::string& text) {
  auto parsed = common::parseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << parsed.error();
  return parsed.value_or(value::null());
}

// Equality for results, with both sides printed when they differ. Array order counts.
::testing::AssertionResult sameJson(const value& actual, const std::string& expected) {
  const auto wanted = json(expected);
  if (common::jsonEqual(actual, wanted)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << common::toJson(actual) << "\nwant " << common::toJson(wanted);
}

constexpr const char* kRejected = "the server rejected our request due to an error in our request";

// ---- content types ---------------------------------------------------------------------------

TEST(PatchContentType, RecognisesKubernetesPatchMediaTypes) {
  EXPECT_EQ(patchTypeFromContentType("application/json-patch+json"), PatchType::kJsonPatch);
  EXPECT_EQ(patchTypeFromContentType("application/merge-patch+json"), PatchType::kMergePatch);
  EXPECT_EQ(patchTypeFromContentType("application/strategic-merge-patch+json; charset=utf-8"),
            PatchType::kStrategicMergePatch);
  EXPECT_EQ(patchTypeFromContentType("application/apply-patch+yaml"), PatchType::kApplyPatch);
  EXPECT_EQ(patchTypeFromContentType("application/json"), std::nullopt);
  EXPECT_EQ(patchTypeFromContentType("Application/Merge-Patch+JSON"), std::nullopt);
  // kube-apiserver cuts at ';' and trims nothing.
  EXPECT_EQ(patchTypeFromContentType("application/merge-patch+json ;charset=utf-8"), std::nullopt);
}

TEST(PatchContentType, CustomResourcesRefuseStrategicMergeWith415) {
  const auto error = unsupportedMediaType(kCustomResourcePatchTypes);
  EXPECT_EQ(error.code, 415);
  EXPECT_EQ(error.reason, "UnsupportedMediaType");
  EXPECT_EQ(error.message,
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/apply-patch+yaml");
  EXPECT_TRUE(sameJson(error.status(), R"({"kind": "Status", "apiVersion": "v1", "metadata": {},
      "status": "Failure", "message": "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
      "reason": "UnsupportedMediaType", "code": 415})"));
  EXPECT_THAT(unsupportedMediaType(kBuiltinPatchTypes).message,
              ::testing::EndsWith("application/json-patch+json, application/merge-patch+json, "
                                  "application/strategic-merge-patch+json, "
                                  "application/apply-patch+yaml"));
}

// ---- JSON merge patch ------------------------------------------------------------------------

struct MergeCase {
  std::string target;
  std::string patch;
  std::string result;
};

TEST(MergePatch, Rfc7386AppendixA) {
  const std::vector<MergeCase> cases = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& [target, patch, result] : cases) {
    EXPECT_TRUE(sameJson(mergePatch(json(target), json(patch)), result))
        << target << " + " << patch;
  }
}

TEST(MergePatch, PrunesNullsInsideArraysLikeKubeApiserver) {
  // evanphx/json-patch, which kube-apiserver uses, drops nulls inside objects inside arrays.
  EXPECT_TRUE(sameJson(mergePatch(json(R"({"a":1})"), json(R"({"l":[{"b":null,"c":1},null]})")),
                       R"({"a":1,"l":[{"c":1},null]})"));
  EXPECT_TRUE(
      sameJson(mergePatch(json(R"({"l":[]})"), json(R"({"l":[{"b":null}]})")), R"({"l":[{}]})"));
  // ...but takes a non-object value replacing an object as it is.
  EXPECT_TRUE(sameJson(mergePatch(json(R"({"l":{"x":1}})"), json(R"({"l":[{"b":null}]})")),
                       R"({"l":[{"b":null}]})"));
}

TEST(MergePatch, MergesKubernetesObjects) {
  auto result = applyMergePatch(
      json(R"({"apiVersion": "billing.operator.dev/v1alpha1", "kind": "BillingAccount",
               "metadata": {"name": "acme", "labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
               "spec": {"plan": "basic", "emails": ["a@b"]}})"),
      json(R"({"metadata": {"labels": {"a": null, "c": "3"}, "finalizers": null},
               "spec": {"plan": "pro", "emails": ["c@d", "e@f"]}})"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(sameJson(*result, R"({"apiVersion": "billing.operator.dev/v1alpha1",
      "kind": "BillingAccount", "metadata": {"name": "acme", "labels": {"b": "2", "c": "3"}},
      "spec": {"plan": "pro", "emails": ["c@d", "e@f"]}})"));
}

TEST(MergePatch, RejectsBodiesKubeApiserverRejects) {
  const auto object = json(R"({"metadata": {"name": "a"}})");
  auto null = applyMergePatch(object, value::null());
  ASSERT_FALSE(null.has_value());
  EXPECT_EQ(null.error().code, 400);
  EXPECT_EQ(null.error().reason, "BadRequest");
  EXPECT_EQ(null.error().message, "Invalid JSON Patch");
  auto list = applyMergePatch(object, json("[1]"));
  ASSERT_FALSE(list.has_value());
  EXPECT_EQ(list.error().code, 400);
  EXPECT_EQ(list.error().message,
            "error decoding patch: json: cannot unmarshal array into Go value of type "
            "map[string]interface {}");
  auto text = applyMergePatch(object, json(R"("x")"));
  ASSERT_FALSE(text.has_value());
  EXPECT_THAT(text.error().message, ::testing::HasSubstr("cannot unmarshal string"));
}

// ---- JSON patch ------------------------------------------------------------------------------

struct JsonPatchCase {
  std::string name;
  std::string document;
  std::string patch;
  std::string result;  // empty: the patch must fail with `cause`
  std::string cause;
};

TEST(JsonPatch, Rfc6902AppendixA) {
  const std::vector<JsonPatchCase> cases = {
      {"A.1 adding an object member", R"({"foo":"bar"})",
       R"([{"op":"add","path":"/baz","value":"qux"}])", R"({"baz":"qux","foo":"bar"})", ""},
      {"A.2 adding an array element", R"({"foo":["bar","baz"]})",
       R"([{"op":"add","path":"/foo/1","value":"qux"}])", R"({"foo":["bar","qux","baz"]})", ""},
      {"A.3 removing an object member", R"({"baz":"qux","foo":"bar"})",
       R"([{"op":"remove","path":"/baz"}])", R"({"foo":"bar"})", ""},
      {"A.4 removing an array element", R"({"foo":["bar","qux","baz"]})",
       R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})", ""},
      {"A.5 replacing a value", R"({"baz":"qux","foo":"bar"})",
       R"([{"op":"replace","path":"/baz","value":"boo"}])", R"({"baz":"boo","foo":"bar"})", ""},
      {"A.6 moving a value", R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
       R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
       R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})", ""},
      {"A.7 moving an array element", R"({"foo":["all","grass","cows","eat"]})",
       R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
       R"({"foo":["all","cows","eat","grass"]})", ""},
      {"A.8 testing a value: success", R"({"baz":"qux","foo":["a",2,"c"]})",
       R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
       R"({"baz":"qux","foo":["a",2,"c"]})", ""},
      {"A.9 testing a value: error", R"({"baz":"qux"})",
       R"([{"op":"test","path":"/baz","value":"bar"}])", "",
       "testing value /baz failed: test failed"},
      {"A.10 adding a nested member object", R"({"foo":"bar"})",
       R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
       R"({"foo":"bar","child":{"grandchild":{}}})", ""},
      {"A.11 ignoring unrecognized elements", R"({"foo":"bar"})",
       R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])", R"({"foo":"bar","baz":"qux"})",
       ""},
      {"A.12 adding to a nonexistent target", R"({"foo":"bar"})",
       R"([{"op":"add","path":"/baz/bat","value":"qux"}])", "",
       "add operation does not apply: doc is missing path: \"/baz/bat\": missing value"},
      {"A.14 ~ escape ordering", R"({"/":9,"~1":10})",
       R"([{"op":"test","path":"/~01","value":10}])", R"({"/":9,"~1":10})", ""},
      {"A.15 comparing strings and numbers", R"({"/":9,"~1":10})",
       R"([{"op":"test","path":"/~01","value":"10"}])", "",
       "testing value /~01 failed: test failed"},
      {"A.16 adding an array value", R"({"foo":["bar"]})",
       R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
       R"({"foo":["bar",["abc","def"]]})", ""},
  };
  for (const auto& [name, document, patch, result, cause] : cases) {
    auto applied = applyJsonPatch(json(document), json(patch));
    if (result.empty()) {
      ASSERT_FALSE(applied.has_value()) << name;
      EXPECT_EQ(applied.error().code, 422) << name;
      EXPECT_EQ(applied.error().cause, cause) << name;
    } else {
      ASSERT_TRUE(applied.has_value()) << name << ": " << applied.error().cause;
      EXPECT_TRUE(sameJson(*applied, result)) << name;
    }
  }
}

TEST(JsonPatch, Rfc6902AppendixA13InvalidDocumentIsRejectedWhenParsed) {
  // A.13: an operation with "op" twice. The server's JSON parser refuses duplicate keys, so the
  // body never reaches applyJsonPatch; the server answers 400 for the unparsable body.
  auto parsed = common::parseJson(R"([{"op":"add","path":"/baz","value":"qux","op":"remove"}])");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_THAT(parsed.error(), ::testing::HasSubstr("duplicate key \"op\""));
}

TEST(JsonPatch, FailedTestIsAn422LikeKubeApiserver) {
  auto applied =
      applyJsonPatch(json(R"({"spec":{"x":1}})"), json(R"([{"op":"test","path":"/spec/x","value":2},
                                         {"op":"replace","path":"/spec/x","value":3}])"));
  ASSERT_FALSE(applied.has_value());
  const auto& error = applied.error();
  EXPECT_EQ(error.code, 422);
  EXPECT_EQ(error.reason, "Invalid");
  EXPECT_EQ(error.message, kRejected);
  EXPECT_EQ(error.cause, "testing value /spec/x failed: test failed");
  EXPECT_TRUE(sameJson(error.status(), R"({"kind": "Status", "apiVersion": "v1", "metadata": {},
      "status": "Failure", "message": "the server rejected our request due to an error in our request",
      "reason": "Invalid", "details": {}, "code": 422})"));
}

TEST(JsonPatch, ReportsEvanphxErrorsAsCauses) {
  const std::string doc = R"({"a":{"b":1},"l":[1,2,3],"s":"text","n":null})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([{"op":"remove","path":"/a/c"}])",
       "error in remove for path: '/a/c': Unable to remove nonexistent key: c: missing value"},
      {R"([{"op":"remove","path":"/x/y"}])",
       "remove operation does not apply: doc is missing path: \"/x/y\": missing value"},
      {R"([{"op":"remove","path":"/l/3"}])",
       "error in remove for path: '/l/3': Unable to access invalid index: 3: invalid index "
       "referenced"},
      {R"([{"op":"remove","path":"/l/-4"}])",
       "error in remove for path: '/l/-4': Unable to access invalid index: -4: invalid index "
       "referenced"},
      {R"([{"op":"remove","path":"/l/x"}])",
       "error in remove for path: '/l/x': strconv.Atoi: parsing \"x\": invalid syntax"},
      {R"([{"op":"add","path":"/l/5","value":0}])",
       "error in add for path: '/l/5': Unable to access invalid index: 5: invalid index "
       "referenced"},
      {R"([{"op":"add","path":"/l/x","value":0}])",
       "error in add for path: '/l/x': value was not a proper array index: 'x': strconv.Atoi: "
       "parsing \"x\": invalid syntax"},
      {R"([{"op":"add","path":"/s/x","value":0}])",
       "add operation does not apply: doc is missing path: \"/s/x\": missing value"},
      {R"([{"op":"add","path":"/n/x","value":0}])",
       "add operation does not apply: doc is missing path: \"/n/x\": missing value"},
      {R"([{"op":"add","path":"","value":{}}])",
       "add operation does not apply: doc is missing path: \"\": missing value"},
      {R"([{"op":"replace","path":"/x/y","value":0}])",
       "replace operation does not apply: doc is missing path: /x/y: missing value"},
      {R"([{"op":"replace","path":"/l/9","value":0}])",
       "replace operation does not apply: doc is missing key: /l/9: missing value"},
      {R"([{"op":"replace","value":0}])",
       "replace operation failed to decode path: operation missing path field: missing value"},
      {R"([{"op":"add","value":0}])", "add operation failed to decode path: missing value"},
      {R"([{"op":"move","from":"/a/c","path":"/z"}])",
       "error in move for path: 'c': Unable to remove nonexistent key: c: missing value"},
      {R"([{"op":"move","from":"/x/c","path":"/z"}])",
       "move operation does not apply: doc is missing from path: /x/c: missing value"},
      {R"([{"op":"move","from":"/a/b","path":"/x/y"}])",
       "move operation does not apply: doc is missing destination path: /x/y: missing value"},
      {R"([{"op":"move","path":"/x"}])",
       "move operation failed to decode from: operation, missing from field: missing value"},
      {R"([{"op":"copy","from":"/l/7","path":"/z"}])",
       "error in copy for from: '/l/7': Unable to access invalid index: 7: invalid index "
       "referenced"},
      {R"([{"op":"copy","from":"/a/b","path":"/x/y"}])",
       "copy operation does not apply: doc is missing destination path: /x/y: missing value"},
      {R"([{"op":"test","path":"/x/y","value":1}])",
       "test operation does not apply: is missing path: /x/y: missing value"},
      {R"([{"op":"test","path":"/l/4","value":1}])",
       "error in test for path: '/l/4': Unable to access invalid index: 4: invalid index "
       "referenced"},
      {R"([{"op":"test","path":"/a/missing","value":1}])",
       "testing value /a/missing failed: test failed"},
      {R"([{"op":"test","path":"","value":{}}])", "testing value  failed: test failed"},
      {R"([{"op":"frobnicate","path":"/a"}])", "Unexpected kind: frobnicate"},
      {R"([{"path":"/a"}])", "Unexpected kind: unknown"},
      {R"([null])", "Unexpected kind: unknown"},
  };
  for (const auto& [patch, cause] : cases) {
    auto applied = applyJsonPatch(json(doc), json(patch));
    ASSERT_FALSE(applied.has_value()) << patch;
    EXPECT_EQ(applied.error().code, 422) << patch;
    EXPECT_EQ(applied.error().message, kRejected) << patch;
    EXPECT_EQ(applied.error().cause, cause) << patch;
  }
}

TEST(JsonPatch, AppliesNothingWhenAnOperationFails) {
  const auto doc = json(R"({"a":1})");
  auto applied = applyJsonPatch(doc, json(R"([{"op":"add","path":"/b","value":2},
                                              {"op":"remove","path":"/zzz"}])"));
  ASSERT_FALSE(applied.has_value());
  EXPECT_TRUE(sameJson(doc, R"({"a":1})"));
}

TEST(JsonPatch, KeepsKubeApiserverQuirks) {
  const std::string doc = R"({"a":{"b":1},"l":[1,2,3],"n":null})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      // replace of a missing member adds it (evanphx v4).
      {R"([{"op":"replace","path":"/a/c","value":2}])",
       R"({"a":{"b":1,"c":2},"l":[1,2,3],"n":null})"},
      // negative indices count from the end; add at -1 appends.
      {R"([{"op":"remove","path":"/l/-1"}])", R"({"a":{"b":1},"l":[1,2],"n":null})"},
      {R"([{"op":"add","path":"/l/-1","value":4}])", R"({"a":{"b":1},"l":[1,2,3,4],"n":null})"},
      {R"([{"op":"replace","path":"/l/-3","value":0}])", R"({"a":{"b":1},"l":[0,2,3],"n":null})"},
      {R"([{"op":"add","path":"/l/01","value":9}])", R"({"a":{"b":1},"l":[1,9,2,3],"n":null})"},
      // copy from a missing member copies null; test treats missing and null alike.
      {R"([{"op":"copy","from":"/a/zz","path":"/c"}])",
       R"({"a":{"b":1},"l":[1,2,3],"n":null,"c":null})"},
      {R"([{"op":"test","path":"/a/zz","value":null},{"op":"test","path":"/n","value":null}])",
       doc},
      // an absent value is null.
      {R"([{"op":"add","path":"/v"}])", R"({"a":{"b":1},"l":[1,2,3],"n":null,"v":null})"},
      // replace at the root with an object replaces the document; with a scalar does nothing.
      {R"([{"op":"replace","path":"","value":{"x":1}}])", R"({"x":1})"},
      {R"([{"op":"replace","path":"","value":5}])", doc},
      // ~1 is '/', ~0 is '~', and an empty segment is the member "".
      {R"([{"op":"add","path":"/a~1b~0c","value":1},{"op":"add","path":"/","value":2}])",
       R"({"a":{"b":1},"l":[1,2,3],"n":null,"a/b~c":1,"":2})"},
      // numbers compare by value in test.
      {R"([{"op":"test","path":"/l/0","value":1.0}])", doc},
      // move and copy within arrays.
      {R"([{"op":"move","from":"/l/0","path":"/l/-"}])", R"({"a":{"b":1},"l":[2,3,1],"n":null})"},
      {R"([{"op":"copy","from":"/a","path":"/l/0"}])",
       R"({"a":{"b":1},"l":[{"b":1},1,2,3],"n":null})"},
      {"null", doc},
      {"[]", doc},
  };
  for (const auto& [patch, result] : cases) {
    auto applied = applyJsonPatch(json(doc), json(patch));
    ASSERT_TRUE(applied.has_value()) << patch << ": " << applied.error().cause;
    EXPECT_TRUE(sameJson(*applied, result)) << patch;
  }
}

TEST(JsonPatch, RejectsMalformedBodiesWith400) {
  const auto doc = json(R"({"a":1})");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"op":"add","path":"/b","value":1})",
       "error decoding patch: json: cannot unmarshal object into Go value of type "
       "[]handlers.jsonPatchOp"},
      {R"("add")",
       "error decoding patch: json: cannot unmarshal string into Go value of type "
       "[]handlers.jsonPatchOp"},
      {R"([1])",
       "error decoding patch: json: cannot unmarshal number into Go value of type "
       "handlers.jsonPatchOp"},
      {R"([{"op":"add","path":5,"value":1}])",
       "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.path "
       "of type string"},
      {R"([{"op":true,"path":"/a"}])",
       "error decoding patch: json: cannot unmarshal bool into Go struct field jsonPatchOp.op of "
       "type string"},
  };
  for (const auto& [patch, message] : cases) {
    auto applied = applyJsonPatch(doc, json(patch));
    ASSERT_FALSE(applied.has_value()) << patch;
    EXPECT_EQ(applied.error().code, 400) << patch;
    EXPECT_EQ(applied.error().reason, "BadRequest") << patch;
    EXPECT_EQ(applied.error().message, message) << patch;
  }
}

TEST(JsonPatch, LimitsOperationsTo10000) {
  value operations = value::array();
  for (std::size_t i = 0; i < 10001; ++i) {
    value op = value::object();
    op["op"] = value::string("test");
    op["path"] = value::string("/a");
    op["value"] = value::number(1);
    operations[i] = op;
  }
  auto tooMany = applyJsonPatch(json(R"({"a":1})"), operations);
  ASSERT_FALSE(tooMany.has_value());
  EXPECT_EQ(tooMany.error().code, 413);
  EXPECT_EQ(tooMany.error().reason, "RequestEntityTooLarge");
  EXPECT_EQ(tooMany.error().message,
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, "
            "got 10001");
  operations.as_array().erase(0);
  EXPECT_TRUE(applyJsonPatch(json(R"({"a":1})"), operations).has_value());
}

// ---- strategic merge patch -------------------------------------------------------------------

const char* kDeployment = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "billing", "labels": {"app": "web"},
               "finalizers": ["a", "b"]},
  "spec": {"replicas": 1, "template": {"spec": {
    "containers": [
      {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
       "ports": [{"containerPort": 80, "protocol": "TCP"}]},
      {"name": "sidecar", "image": "proxy:1"}],
    "tolerations": [{"key": "k1", "operator": "Exists"}],
    "volumes": [{"name": "data", "emptyDir": {}}]}}}})";

value podSpecOf(const value& deployment) { return deployment.at("spec").at("template").at("spec"); }

value strategic(const std::string& patch) {
  auto result = applyStrategicMergePatch(json(kDeployment), json(patch));
  EXPECT_TRUE(result.has_value()) << patch << ": " << result.error().message;
  return result.value_or(value::null());
}

TEST(StrategicMerge, MergesContainersByName) {
  auto result = strategic(R"({"spec": {"template": {"spec": {"containers": [
      {"name": "sidecar", "image": "proxy:2"}]}}}})");
  EXPECT_TRUE(sameJson(podSpecOf(result).at("containers"), R"([
      {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
       "ports": [{"containerPort": 80, "protocol": "TCP"}]},
      {"name": "sidecar", "image": "proxy:2"}])"));
  EXPECT_EQ(result.at("spec").at("replicas").as_integer(), 1);
  EXPECT_EQ(result.at("metadata").at("labels").at("app").as_string(), "web");
}

TEST(StrategicMerge, PutsNewContainersAheadOfServerOnlyOnes) {
  auto result = strategic(R"({"spec": {"template": {"spec": {"containers": [
      {"name": "debug", "image": "busybox"}]}}}})");
  const value spec = podSpecOf(result);
  const auto& containers = spec.at("containers").as_array();
  ASSERT_EQ(containers.size(), 3u);
  EXPECT_EQ(containers.at(0).at("name").as_string(), "debug");
  EXPECT_EQ(containers.at(1).at("name").as_string(), "app");
  EXPECT_EQ(containers.at(2).at("name").as_string(), "sidecar");
}

TEST(StrategicMerge, MergesNestedListsByTheirOwnKeys) {
  auto result = strategic(R"({"spec": {"template": {"spec": {"containers": [
      {"name": "app", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
       "ports": [{"containerPort": 80, "name": "http"}]}]}}}})");
  const value app = podSpecOf(result).at("containers").at(0);
  EXPECT_EQ(app.at("image").as_string(), "app:1");
  EXPECT_TRUE(sameJson(app.at("env"), R"([{"name": "A", "value": "1"},
      {"name": "B", "value": "20"}, {"name": "C", "value": "3"}])"));
  EXPECT_TRUE(
      sameJson(app.at("ports"), R"([{"containerPort": 80, "protocol": "TCP", "name": "http"}])"));
}

TEST(StrategicMerge, DeletesListElementsWithPatchDelete) {
  auto result = strategic(R"({"spec": {"template": {"spec": {"containers": [
      {"name": "sidecar", "$patch": "delete"},
      {"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]}}}})");
  EXPECT_TRUE(sameJson(podSpecOf(result).at("containers"), R"([
      {"name": "app", "image": "app:1", "env": [{"name": "B", "value": "2"}],
       "ports": [{"containerPort": 80, "protocol": "TCP"}]}])"));

  auto missingKey = applyStrategicMergePatch(
      json(kDeployment),
      json(R"({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}})"));
  ASSERT_FALSE(missingKey.has_value());
  EXPECT_EQ(missingKey.error().code, 500);
  EXPECT_EQ(missingKey.error().message,
            "map: map[$patch:delete] does not contain declared merge key: name");
}

TEST(StrategicMerge, ReplacesListsAndMapsOnRequest) {
  auto replacedList = strategic(R"({"spec": {"template": {"spec": {"containers": [
      {"$patch": "replace"}, {"name": "only", "image": "only:1"}]}}}})");
  EXPECT_TRUE(sameJson(podSpecOf(replacedList).at("containers"),
                       R"([{"name": "only", "image": "only:1"}])"));

  auto replacedMap =
      strategic(R"({"metadata": {"labels": {"$patch": "replace", "tier": "front"}}})");
  EXPECT_TRUE(sameJson(replacedMap.at("metadata").at("labels"), R"({"tier": "front"})"));

  auto deletedMap = strategic(R"({"spec": {"template": {"$patch": "delete"}}})");
  EXPECT_TRUE(sameJson(deletedMap.at("spec"), R"({"replicas": 1, "template": {}})"));
}

TEST(StrategicMerge, ReplacesListsWithoutAPatchStrategy) {
  auto result = strategic(R"({"spec": {"template": {"spec": {
      "tolerations": [{"key": "k2", "operator": "Equal", "value": "v"}]}}}})");
  EXPECT_TRUE(sameJson(podSpecOf(result).at("tolerations"),
                       R"([{"key": "k2", "operator": "Equal", "value": "v"}])"));
}

TEST(StrategicMerge, NullDeletesAndPlainFieldsMergeLikeMergePatch) {
  auto result = strategic(R"({"metadata": {"labels": {"app": null, "tier": "front"}},
                              "spec": {"replicas": 3, "paused": true,
                                       "template": {"spec": {"volumes": null}}}})");
  EXPECT_TRUE(sameJson(result.at("metadata").at("labels"), R"({"tier": "front"})"));
  EXPECT_EQ(result.at("spec").at("replicas").as_integer(), 3);
  EXPECT_TRUE(result.at("spec").at("paused").as_bool());
  EXPECT_FALSE(podSpecOf(result).has_field("volumes"));
}

TEST(StrategicMerge, MergesFinalizersAsASet) {
  auto added = strategic(R"({"metadata": {"finalizers": ["b", "c"]}})");
  EXPECT_TRUE(sameJson(added.at("metadata").at("finalizers"), R"(["a", "b", "c"])"));
  auto prepended = strategic(R"({"metadata": {"finalizers": ["z"]}})");
  EXPECT_TRUE(sameJson(prepended.at("metadata").at("finalizers"), R"(["z", "a", "b"])"));
  auto removed = strategic(R"({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})");
  EXPECT_TRUE(sameJson(removed.at("metadata").at("finalizers"), R"(["b"])"));
}

TEST(StrategicMerge, RetainKeysClearsUnlistedFields) {
  auto original = json(R"({"spec": {"strategy": {"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 1}}}})");
  auto result = applyStrategicMergePatch(
      original, json(R"({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(sameJson(*result, R"({"spec": {"strategy": {"type": "Recreate"}}})"));

  auto unlisted = applyStrategicMergePatch(
      original, json(R"({"spec": {"strategy": {"$retainKeys": ["type"], "other": 1}}})"));
  ASSERT_FALSE(unlisted.has_value());
  EXPECT_EQ(unlisted.error().code, 400);
  EXPECT_EQ(unlisted.error().message, "invalid patch format of retainKeys");
}

TEST(StrategicMerge, OrdersListsAsSetElementOrderAsks) {
  auto result = strategic(R"({"spec": {"template": {"spec": {
      "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
      "containers": [{"name": "sidecar", "image": "proxy:3"}]}}}})");
  const value spec = podSpecOf(result);
  const auto& containers = spec.at("containers");
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers.at(0).at("name").as_string(), "sidecar");
  EXPECT_EQ(containers.at(0).at("image").as_string(), "proxy:3");
  EXPECT_EQ(containers.at(1).at("name").as_string(), "app");
  EXPECT_FALSE(spec.has_field("$setElementOrder/containers"));

  auto reordered = strategic(R"({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}})");
  EXPECT_TRUE(sameJson(reordered.at("metadata").at("finalizers"), R"(["b", "a"])"));
}

TEST(StrategicMerge, AddsNewValuesWithoutDirectivesOrNulls) {
  auto result = applyStrategicMergePatch(
      json(R"({"metadata": {"name": "x"}})"),
      json(R"({"spec": {"containers": [{"name": "a", "image": "i", "command": null},
                                       {"name": "b", "$patch": "delete"}],
                        "extra": {"$patch": "replace", "k": "v", "gone": null}}})"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(sameJson(*result, R"({"metadata": {"name": "x"},
      "spec": {"containers": [{"name": "a", "image": "i"}], "extra": {"k": "v"}}})"));
}

TEST(StrategicMerge, ReportsKubernetesErrors) {
  const auto object = json(R"({"metadata": {"name": "x", "finalizers": ["a"]},
                               "spec": {"containers": [{"name": "a"}]}})");
  auto notAnObject = applyStrategicMergePatch(object, json("[]"));
  ASSERT_FALSE(notAnObject.has_value());
  EXPECT_EQ(notAnObject.error().code, 400);
  EXPECT_EQ(notAnObject.error().message,
            "json: cannot unmarshal array into Go value of type map[string]interface {}");

  auto mixed = applyStrategicMergePatch(object, json(R"({"metadata": {"finalizers": [["x"]]}})"));
  ASSERT_FALSE(mixed.has_value());
  EXPECT_EQ(mixed.error().code, 500);
  EXPECT_EQ(mixed.error().message, "list element types are not identical: [[a] [[x]]]");

  auto listOfLists = applyStrategicMergePatch(json(R"({"metadata": {"finalizers": []}})"),
                                              json(R"({"metadata": {"finalizers": [["x"]]}})"));
  ASSERT_FALSE(listOfLists.has_value());
  EXPECT_EQ(listOfLists.error().code, 422);
  EXPECT_EQ(listOfLists.error().message, kRejected);
  EXPECT_EQ(listOfLists.error().cause, "lists of lists are not supported");

  auto noKey =
      applyStrategicMergePatch(object, json(R"({"spec": {"containers": [{"image": "x"}]}})"));
  ASSERT_FALSE(noKey.has_value());
  EXPECT_EQ(noKey.error().code, 500);
  EXPECT_EQ(noKey.error().message, "map: map[image:x] does not contain declared merge key: name");

  auto badDirective =
      applyStrategicMergePatch(object, json(R"({"metadata": {"$patch": "explode", "name": "y"}})"));
  ASSERT_FALSE(badDirective.has_value());
  EXPECT_EQ(badDirective.error().code, 500);
  EXPECT_EQ(badDirective.error().message,
            "unknown patch type: explode in map: map[$patch:explode name:y]");

  auto nothing = applyStrategicMergePatch(object, value::null());
  ASSERT_TRUE(nothing.has_value());
  EXPECT_TRUE(common::jsonEqual(*nothing, object));
}

TEST(StrategicMerge, SchemaMatchesPathsWithAndWithoutPrefixes) {
  const auto& schema = StrategicMergeSchema::builtin();
  const auto rule = [&](std::vector<std::string> path) { return schema.find(path); };
  ASSERT_NE(rule({"spec", "template", "spec", "containers"}), nullptr);
  EXPECT_EQ(rule({"spec", "template", "spec", "containers"})->mergeKey, "name");
  EXPECT_EQ(rule({"spec", "containers", "ports"})->mergeKey, "containerPort");
  EXPECT_EQ(rule({"spec", "ports"})->mergeKey, "port");
  EXPECT_EQ(rule({"metadata", "finalizers"})->mergeKey, "");
  EXPECT_EQ(rule({"spec", "tolerations"}), nullptr);
  EXPECT_EQ(rule({"spec", "template", "metadata", "finalizers"}), nullptr);
  EXPECT_EQ(rule({"spec", "ingress", "ports"}), nullptr);

  StrategicMergeSchema custom(std::vector<StrategicListRule>{{"spec.items", "id"}});
  auto result =
      applyStrategicMergePatch(json(R"({"spec": {"items": [{"id": 1, "v": "a"}]}})"),
                               json(R"({"spec": {"items": [{"id": 1, "w": "b"}]}})"), custom);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(sameJson(*result, R"({"spec": {"items": [{"id": 1, "v": "a", "w": "b"}]}})"));
}

}  // namespace
}  // namespace billing::apiserver
