#!/usr/bin/env bash
# Builds with warnings as errors and runs every test (unit, CRD, end-to-end, formatting). The
# tests run next to a throwaway PostgreSQL server (scripts/with-postgres.sh) so that the ledger's
# PostgreSQL cases run too.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
../scripts/with-postgres.sh ctest --output-on-failure -j"$(nproc)" "$@"
