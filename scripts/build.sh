#!/usr/bin/env bash
# Configures and builds into build/ (binaries in build/bin). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBILLING_WERROR=ON "$@" >/dev/null
cmake --build build -j"$(nproc)"
