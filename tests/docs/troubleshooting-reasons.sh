#!/usr/bin/env bash
# Fails when docs/troubleshooting.md lacks a section for a condition reason the operator can set,
# or keeps a section for a reason the code no longer sets. The reasons are extracted from the
# code, at every place a reason is chosen:
#   - violation codes (reconcilers/domain/violation.cpp codeName): reasonFor() makes each one a
#     Ready reason, and the webhook refuses with the same codes;
#   - string literals passed to ready(...), readyFalse(...), refuse(...), assigned to `reason`,
#     or opening an InvoiceRequestProblem{...}, in reconcilers/;
#   - kReason* constants and the return values of backendReason() (reconcilers/backend_sync.cpp).
# Each pattern must match at least once, so a refactoring that moves reasons elsewhere makes this
# test fail instead of silently checking nothing.
# Usage: tests/docs/troubleshooting-reasons.sh [REPO_ROOT]
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
doc="${root}/docs/troubleshooting.md"
sources=$(find "${root}/reconcilers" -name '*.cpp' -o -name '*.h' | grep -v '/tests/' | sort)

status=0
found="$(mktemp)"
trap 'rm -f "${found}"' EXIT

# extract NAME PERL_REGEX FILES...: the first capture group of every match, over whole files.
extract() {
  local name="$1" regex="$2"
  shift 2
  local matches
  matches="$(perl -0777 -ne "while (/${regex}/gs) { print \"\$1\\n\" }" "$@" | sort -u)"
  if [[ -z "${matches}" ]]; then
    echo "troubleshooting-reasons: the pattern '${name}' found no reason in the code; update this test" >&2
    status=1
  fi
  printf '%s\n' "${matches}" >> "${found}"
}

# shellcheck disable=SC2086
{
  extract "ready(status, reason)" '\bready\(\s*ConditionStatus::\w+,\s*"([A-Z]\w+)"' ${sources}
  extract "readyFalse(reason)" '\breadyFalse\(\s*"([A-Z]\w+)"' ${sources}
  extract "refuse(reason)" '\brefuse\(\s*"([A-Z]\w+)"' ${sources}
  extract "reason = literal" '\breason = "([A-Z]\w+)"' ${sources}
  extract "InvoiceRequestProblem" 'InvoiceRequestProblem\{\s*"([A-Z]\w+)"' ${sources}
  extract "kReason constants" 'kReason\w*\s*=\s*"([A-Z]\w+)"' ${sources}
}
# returns FUNCTION FILE: the string literals a function returns, one reason per case.
returns() {
  local matches
  matches="$(perl -0777 -ne "if (/\\b$1\\([^{]*\\{(.*?)\\n\\}/s) {
      my \$body = \$1; while (\$body =~ /return \"([A-Z]\\w+)\";/g) { print \"\$1\\n\" } }" "$2" |
    grep -vx 'Unknown' | sort -u)"
  if [[ -z "${matches}" ]]; then
    echo "troubleshooting-reasons: no reason returned by $1() in $2; update this test" >&2
    status=1
  fi
  printf '%s\n' "${matches}" >> "${found}"
}
# Violation codes: reasonFor() makes every one a Ready reason; the webhook refuses with them.
returns codeName "${root}/reconcilers/domain/violation.cpp"
# One reason per kind of backend error.
returns backendReason "${root}/reconcilers/backend_sync.cpp"

reasons="$(grep -v '^$' "${found}" | sort -u)"
# The sections: "### Reason" headings under "## Condition reasons", up to the next "## ".
documented="$(awk '/^## /{inside = ($0 == "## Condition reasons")} inside && /^### /{print $2}' "${doc}" | sort -u)"
if [[ -z "${documented}" ]]; then
  echo "troubleshooting-reasons: ${doc} has no '### Reason' sections under '## Condition reasons'" >&2
  exit 1
fi

missing="$(comm -23 <(printf '%s\n' "${reasons}") <(printf '%s\n' "${documented}"))"
stale="$(comm -13 <(printf '%s\n' "${reasons}") <(printf '%s\n' "${documented}"))"
if [[ -n "${missing}" ]]; then
  echo "troubleshooting-reasons: docs/troubleshooting.md has no section for these reasons the operator sets:" >&2
  printf '  ### %s\n' ${missing} >&2
  echo "add a '### <Reason>' section under '## Condition reasons' (what it means, how to see it, how to fix it)" >&2
  status=1
fi
if [[ -n "${stale}" ]]; then
  echo "troubleshooting-reasons: docs/troubleshooting.md documents reasons the code no longer sets:" >&2
  printf '  ### %s\n' ${stale} >&2
  echo "remove those sections, or fix this test's extraction if the code sets them another way" >&2
  status=1
fi
if [[ ${status} -eq 0 ]]; then
  echo "troubleshooting-reasons: all $(printf '%s\n' "${reasons}" | wc -l) reasons documented"
fi
exit ${status}
