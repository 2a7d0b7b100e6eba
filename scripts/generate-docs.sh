#!/usr/bin/env bash
# Generates the reference parts of docs/ from their sources, between marker lines
#   <!-- BEGIN GENERATED: NAME -->  ...  <!-- END GENERATED: NAME -->
# so the hand-written prose around them stays:
#   billing-operator run --help                      -> docs/configuration.md  run-flags
#   charts/billing-operator/values.yaml + schema     -> docs/configuration.md  chart-values
#     (+ tools/docs-gen/value-descriptions.yaml for values whose description lives nowhere else)
#   crds/billing.operator.dev_<plural>.yaml          -> docs/resources.md      crd-<plural>
#   metric registrations in operator/, reconcilers/  -> docs/operations.md     metrics
# With --check, generates into a temporary directory and fails (exit 1, with the diff) when the
# checked-in documents differ: the ctest docs_up_to_date runs that.
#
# Usage: scripts/generate-docs.sh [--check] [--bin DIR]   (DIR holds docs-gen and billing-operator)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${root}/build/bin"
check=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) check=true; shift ;;
    --bin) bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "generate-docs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in docs-gen billing-operator; do
  if [[ ! -x "${bin}/${tool}" ]]; then
    echo "generate-docs.sh: no ${tool} in ${bin}; build it (cmake --build build --target ${tool}) or pass --bin" >&2
    exit 2
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/docs"
for doc in configuration resources operations; do
  cp "${root}/docs/${doc}.md" "${work}/docs/${doc}.md"
done

# splice DOC NAME: replaces the NAME section of the working copy of DOC with ${work}/content.
splice() {
  "${bin}/docs-gen" splice "${work}/docs/$1.md" "$2" "${work}/content" > "${work}/spliced"
  mv "${work}/spliced" "${work}/docs/$1.md"
}

"${bin}/billing-operator" run --help > "${work}/help"
"${bin}/docs-gen" flags "${work}/help" > "${work}/content"
splice configuration run-flags

chart="${root}/charts/billing-operator"
"${bin}/docs-gen" values "${chart}/values.yaml" "${chart}/values.schema.json" \
  "${root}/tools/docs-gen/value-descriptions.yaml" > "${work}/content"
splice configuration chart-values

for crd in "${root}"/crds/billing.operator.dev_*.yaml; do
  plural="$(basename "${crd}" .yaml)"
  plural="${plural#billing.operator.dev_}"
  "${bin}/docs-gen" crd "${crd}" > "${work}/content"
  splice resources "crd-${plural}"
done

# Metrics: every family registered with the runtime's Registry (name, help, label names), read
# from the code because the operator only serves them while running against a cluster.
metric_sources=$(find "${root}/operator" "${root}/reconcilers" -name '*.cpp' -not -path '*/tests/*' | sort)
# shellcheck disable=SC2086
perl -0777 -ne '
  while (/(?:->|\.)(counter|gauge|histogram)\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*\{([^}]*)\}/g) {
    my ($type, $name, $help, $labels) = ($1, $2, $3, $4);
    for ($name, $help) { s/"\s*"//g; s/^"|"\s*$//g; }
    $labels =~ s/["\s]//g;
    $labels = join(", ", map { "`$_`" } split(/,/, $labels));
    $help =~ s/\|/\\|/g;
    print "| `$name` | $type | $labels | $help |\n";
  }' ${metric_sources} | sort > "${work}/metrics"
if [[ ! -s "${work}/metrics" ]]; then
  echo "generate-docs.sh: no metric registration found in operator/ or reconcilers/; the registration code changed, update the extraction here" >&2
  exit 1
fi
{
  echo "| metric | type | labels | help |"
  echo "|---|---|---|---|"
  cat "${work}/metrics"
} > "${work}/content"
splice operations metrics

if [[ "${check}" == true ]]; then
  status=0
  for doc in configuration resources operations; do
    diff -u "${root}/docs/${doc}.md" "${work}/docs/${doc}.md" || status=1
  done
  if [[ ${status} -ne 0 ]]; then
    echo "generate-docs.sh: the generated parts of docs/ are out of date; run scripts/generate-docs.sh and commit the result" >&2
  fi
  exit ${status}
fi

for doc in configuration resources operations; do
  cp "${work}/docs/${doc}.md" "${root}/docs/${doc}.md"
done
echo "generated the reference sections of docs/configuration.md, docs/resources.md and docs/operations.md"
