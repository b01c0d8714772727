#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL cluster on loopback:
#   scripts/with-postgres.sh .venv/bin/pytest
# Installs Debian's PostgreSQL server when it is missing, starts a fresh
# cluster in a temporary folder on a free port, exports TEST_DATABASE_URL
# (and DATABASE_URL) for the command, and removes the cluster afterwards.
set -euo pipefail

find_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bindir=$(find_bindir)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "Installing PostgreSQL (Debian package)…"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >/dev/null
  bindir=$(find_bindir)
fi

# initdb refuses to run as root; the Debian package creates a `postgres` user.
if [ "$(id -u)" = 0 ]; then
  run_pg() { runuser -u postgres -- "$@"; }
else
  run_pg() { "$@"; }
fi

cluster=$(mktemp -d /tmp/directory-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$cluster"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
  run_pg "$bindir/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap cleanup EXIT

run_pg "$bindir/initdb" -D "$cluster/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
run_pg "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
  -o "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null
run_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres directory_test

export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/directory_test"
export DATABASE_URL="$TEST_DATABASE_URL"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
"$@"
