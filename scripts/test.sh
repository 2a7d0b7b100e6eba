#!/usr/bin/env bash
# Builds with warnings as errors and runs every test (unit, CRD, end-to-end, formatting).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
