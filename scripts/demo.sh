#!/usr/bin/env bash
# The main job on a fresh machine: build, then validate the example GitOps folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
echo "+ billing-operator check examples/gitops"
build/bin/billing-operator check examples/gitops
