#!/usr/bin/env bash
# Rewrites every C++ file in place with .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files --cached --others --exclude-standard -- '*.h' '*.cpp' | while read -r f; do [ -f "$f" ] && echo "$f"; done | xargs -r clang-format -i
