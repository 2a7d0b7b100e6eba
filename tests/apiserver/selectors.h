// Label and field selectors as kube-apiserver parses and applies them: the `labelSelector=` and
// `fieldSelector=` query parameters of LIST and WATCH, and the metav1.LabelSelector objects that
// admission webhooks carry as namespaceSelector/objectSelector. Pure functions; every error is a
// value whose text is the Status message kube-apiserver answers with (400 BadRequest), worded as
// k8s.io/apimachinery v0.32 words it (pkg/labels, pkg/fields, pkg/util/validation) so that kubectl
// prints the same line against this server as against a real one.
#pragma once

#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace billing::apiserver {

// ---- Label selectors -------------------------------------------------------------------------

// selection.Operator. `a=b` and `a==b` are kept apart only so toString() gives back what was
// written; they match alike.
enum class SelectorOperator {
  kIn,            // a in (x,y)
  kNotIn,         // a notin (x)
  kEquals,        // a=x
  kDoubleEquals,  // a==x
  kNotEquals,     // a!=x
  kExists,        // a
  kDoesNotExist,  // !a
  kGreaterThan,   // a>5 (kubernetes accepts it in strings; LabelSelector objects cannot say it)
  kLessThan,      // a<5
};

struct LabelRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::kExists;
  // Sorted and without duplicates, as kubernetes keeps them; one element for the exact-match and
  // Gt/Lt operators (possibly ""), none for Exists/DoesNotExist, at least one for In/NotIn.
  std::vector<std::string> values;

  bool operator==(const LabelRequirement&) const = default;
};

// labels.Selector: the AND of its requirements (sorted by key), or the selector that matches
// nothing (labels.Nothing(), what a null metav1.LabelSelector means). An empty requirement list
// matches everything.
struct Selector {
  std::vector<LabelRequirement> requirements;
  bool matchesNothing = false;

  static Selector everything() { return {}; }
  static Selector nothing() { return {{}, true}; }
  // True when the selector does not restrict anything (labels.Selector.Empty()).
  bool empty() const { return !matchesNothing && requirements.empty(); }

  bool operator==(const Selector&) const = default;
};

// labels.Parse: the `labelSelector=` query parameter (already URL-decoded). Grammar, whitespace
// rules (space, tab, CR, LF separate tokens), key and value validation and the error texts are
// kubernetes', e.g. "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt,
// lt" or "found ',', expected: !, identifier, or 'end of string'". "" parses to everything().
std::expected<Selector, std::string> parseSelector(std::string_view text);

// metav1.LabelSelectorAsSelector: a LabelSelector object ({matchLabels, matchExpressions}) as
// admission webhooks and workload specs carry it. Null means "match nothing"; an object with no
// matchLabels and no matchExpressions (e.g. {}) means "match everything". Webhook configurations
// default an absent namespaceSelector/objectSelector to {}, so a caller evaluating a webhook
// passes {} for a missing selector, not null. Operators are In, NotIn, Exists, DoesNotExist;
// anything else is `"Foo" is not a valid label selector operator`. Malformed shapes (matchLabels
// not an object of strings, ...) are errors a real server would have rejected when the object was
// written; their wording is ours.
std::expected<Selector, std::string> selectorFromLabelSelector(const web::json::value& selector);

// Requirement.Matches ANDed: In/= need the key with one of the values; NotIn/!= also match when
// the key is absent; Gt/Lt need the key with an integer value beyond the bound.
bool matches(const Selector& selector, const std::map<std::string, std::string>& labels);

// Selector.String(): requirements joined by ',' in key order, values sorted: "a in (x,y),!b,c=d".
std::string toString(const Selector& selector);

// metadata.labels of an object as a map; members whose value is not a string are skipped.
std::map<std::string, std::string> labelsOf(const web::json::value& object);

// validation.IsQualifiedName and IsValidLabelValue: empty when valid, else kubernetes' messages
// (the server may reuse them to validate metadata.labels on write).
std::vector<std::string> isQualifiedName(std::string_view value);
std::vector<std::string> isValidLabelValue(std::string_view value);

// ---- Field selectors -------------------------------------------------------------------------

struct FieldRequirement {
  std::string field;
  bool notEquals = false;  // `!=`; `=` and `==` are the same term
  std::string value;       // unescaped: `\,` `\=` `\\` in the query stand for , = and '\'

  bool operator==(const FieldRequirement&) const = default;
};

// fields.Selector: the AND of its terms, ordered as kubernetes orders them (by the text of each
// term), which decides which unsupported field an error names first.
struct FieldSelector {
  std::vector<FieldRequirement> requirements;

  bool empty() const { return requirements.empty(); }
  bool operator==(const FieldSelector&) const = default;
};

// fields.ParseSelector: the `fieldSelector=` query parameter (already URL-decoded). No whitespace
// is trimmed (kubernetes does not either). Errors are kubernetes':
// "invalid selector: 'a'; can't understand 'a'", "invalid field selector: invalid escape
// sequence: \x", "invalid field selector: unescaped character in value: 61" (the rune's number).
std::expected<FieldSelector, std::string> parseFieldSelector(std::string_view text);

// How kube-apiserver words a field it cannot select on; it depends on how the kind registered its
// field label conversion.
enum class UnsupportedFieldWording {
  // "field label not supported: spec.x" — custom resources, Pod, Node, Event, Secret, Namespace.
  kFieldLabelNotSupported,
  // `field label "spec.x" not supported for "ConfigMap"` — ConfigMap, Service, ServiceAccount,
  // Endpoints, ResourceQuota, PersistentVolumeClaim.
  kNotSupportedForKind,
  // `"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"` — kinds
  // that registered nothing (runtime.DefaultMetaV1FieldSelectorConversion), e.g. Lease.
  kNotAKnownFieldSelector,
};

// The fields one kind can be selected on. Extend `fields` for kinds that support more, e.g.
// Events (involvedObject.name, involvedObject.kind, reason, type, ...) or Secrets (type).
struct FieldSelectorSupport {
  std::vector<std::string> fields;
  UnsupportedFieldWording wording = UnsupportedFieldWording::kFieldLabelNotSupported;
  std::string kind;  // named by kNotSupportedForKind

  // Custom resources: metadata.name, and metadata.namespace only when namespaced.
  static FieldSelectorSupport customResource(bool namespaced);
  // The scheme's default for kinds without their own conversion.
  static FieldSelectorSupport schemeDefault();
  // Kinds that allow exactly metadata.name and metadata.namespace, worded kNotSupportedForKind.
  static FieldSelectorSupport metadataOnly(std::string kind);
};

// The error kube-apiserver answers (400 BadRequest) when a term selects a field the kind does not
// support, or nothing when every term is supported.
std::optional<std::string> unsupportedField(const FieldSelector& selector,
                                            const FieldSelectorSupport& support);

// hasTerm/notHasTerm.Matches: a field that is absent from `fields` has the value "".
bool matches(const FieldSelector& selector, const std::map<std::string, std::string>& fields);

// The value of a dotted field path ("metadata.name", "involvedObject.kind", "type") as field
// selectors see it: strings as they are, booleans as true/false, integers in decimal, "" when the
// path is absent or holds anything else. A few kubernetes fields are not plain paths (an Event's
// "source" is source.component); callers add those to the field set themselves.
std::string fieldValue(const web::json::value& object, std::string_view dottedPath);

// The field set of an object for the fields `support` names, by fieldValue.
std::map<std::string, std::string> fieldsOf(const web::json::value& object,
                                            const FieldSelectorSupport& support);

}  // namespace billing::apiserver
