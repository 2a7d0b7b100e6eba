#!/usr/bin/env bash
# Installs every build, test and runtime dependency from Debian 12's packages with apt-get.
# Idempotent and quick when everything is present, so both Quick start commands call it.
# --with-fuzzing adds clang and LLVM for the fuzzing and sanitizer scripts.
set -euo pipefail

packages=(
  build-essential cmake g++ git pkg-config
  libcpprest-dev    # HTTP client/server and web::json, the one JSON library
  libyaml-cpp-dev   # YAML manifests
  libssl-dev        # TLS
  libsqlite3-dev    # the ledger's embedded store
  libpq-dev         # the ledger's PostgreSQL store
  postgresql        # a throwaway server for the ledger's tests (scripts/with-postgres.sh)
  libgtest-dev libgmock-dev
  clang-format      # CI fails on formatting differences
  curl jq bsdextrautils  # scripts/demo.sh: the ledger's REST API, JSON, column for tables
)
# Only for scripts/fuzz.sh and scripts/sanitize.sh (about 1 GB): not on every Quick start.
if [ "${1:-}" = "--with-fuzzing" ]; then
  packages+=(
    clang-19 libclang-rt-19-dev  # libFuzzer; clang < 19 lacks std::expected with libstdc++ 12
    llvm-19                      # llvm-symbolizer: sanitizer reports with file:line
  )
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
