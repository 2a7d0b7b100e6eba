#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL server:
#
#   scripts/with-postgres.sh CMD [ARGS...]
#
# Creates a temporary directory, initializes a cluster in it, starts the server on a unix socket
# in that directory and on a free port of 127.0.0.1, creates the database "billing_test", exports
# BILLING_TEST_POSTGRES_DSN (a libpq connection string) and runs CMD. Whatever happens (CMD
# failing, Ctrl-C), the server is stopped and the directory removed. Exits with CMD's status.
#
# PostgreSQL refuses to run as root, so as root the server runs as the "postgres" system user
# (created by Debian's postgresql package, which scripts/install-deps.sh installs).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

pg_bin="${BILLING_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}"
for tool in initdb pg_ctl createdb; do
  if [ ! -x "$pg_bin/$tool" ]; then
    echo "with-postgres: $pg_bin/$tool not found; run scripts/install-deps.sh (it installs" \
         "postgresql) or set BILLING_POSTGRES_BIN to the directory holding initdb and pg_ctl" >&2
    exit 1
  fi
done

as_owner=()
db_user="$(id -un)"
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root needs the 'postgres' system user; install postgresql" >&2
    exit 1
  fi
  as_owner=(runuser -u postgres --)
  db_user=postgres
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/billing-postgres.XXXXXX")"
data="$dir/data"
started=""

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$?
  if [ -n "$started" ]; then
    "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 700 "$dir"
if [ "${#as_owner[@]}" -gt 0 ]; then chown postgres: "$dir"; fi

"${as_owner[@]}" "$pg_bin/initdb" -D "$data" -U "$db_user" --auth=trust --no-locale -E UTF8 \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

# A throwaway cluster: durability settings off for speed, sockets only in our directory.
port=""
for _ in $(seq 1 20); do
  candidate=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
  if "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$data" -w -t 30 -l "$dir/server.log" \
       -o "-p $candidate -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
           -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
       start >/dev/null 2>&1; then
    port=$candidate
    started=yes
    break
  fi
  # Most likely the port was taken; try another one.
  rm -f "$data/postmaster.pid"
done
if [ -z "$port" ]; then
  echo "with-postgres: the server did not start; its log:" >&2
  cat "$dir/server.log" >&2 || true
  exit 1
fi

"${as_owner[@]}" "$pg_bin/createdb" -h "$dir" -p "$port" -U "$db_user" billing_test

export BILLING_TEST_POSTGRES_DSN="host=127.0.0.1 port=$port dbname=billing_test user=$db_user"
echo "with-postgres: PostgreSQL on 127.0.0.1:$port (socket in $dir), BILLING_TEST_POSTGRES_DSN set" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
