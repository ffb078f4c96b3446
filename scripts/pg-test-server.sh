#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests, on 127.0.0.1 only, with a password-authenticated
# test role. Idempotent: reuses the cluster (and the password) when it is already there, starts it
# when it is stopped, re-creates it when it is missing or from another major version.
# Prints `export KARBOR_TEST_PG_*=...` lines for `eval`; everything else goes to stderr.
# Usage: pg_env="$(bash scripts/pg-test-server.sh)" && eval "$pg_env"
set -euo pipefail

base="${KARBOR_TEST_PG_DIR:-/tmp/karbor-pg-test}"
port="${KARBOR_TEST_PG_PORT:-54329}"
role="karbor_test"

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
[ -n "$bindir" ] || bindir="$(dirname "$(command -v initdb || echo /nonexistent/initdb)")"
if [ ! -x "$bindir/initdb" ]; then
  echo "pg-test-server: initdb not found; install the Debian 'postgresql' package" >&2
  exit 1
fi

# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user.
if [ "$(id -u)" -eq 0 ]; then
  owner="postgres"
  as_owner() { runuser -u postgres -- "$@"; }
else
  owner="$(id -un)"
  as_owner() { "$@"; }
fi

mkdir -p "$base"
chmod 0755 "$base"
if [ "$(stat -c %U "$base")" != "$(id -un)" ]; then
  echo "pg-test-server: $base belongs to $(stat -c %U "$base"), not to $(id -un); set KARBOR_TEST_PG_DIR" >&2
  exit 1
fi
data="$base/data"
run="$base/run"
cd "$base"

version="$("$bindir/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')"
if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$version" ]; then
  echo "pg-test-server: cluster in $data is from PostgreSQL $(cat "$data/PG_VERSION"), re-creating it for $version" >&2
  as_owner "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data"
fi

if [ ! -f "$data/PG_VERSION" ]; then
  echo "==> initdb: PostgreSQL $version test cluster in $data" >&2
  rm -rf "$data"
  install -d -o "$owner" -m 0700 "$data"
  # Local socket: trust, but the socket folder is the owner's alone (0700). TCP: passwords only.
  as_owner "$bindir/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >"$base/initdb.log" 2>&1 ||
    {
      cat "$base/initdb.log" >&2
      exit 1
    }
  # Test data only: durability is not worth the time.
  printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" >>"$data/postgresql.conf"
fi
install -d -o "$owner" -m 0700 "$run"

if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  echo "==> starting the PostgreSQL test cluster on 127.0.0.1:$port" >&2
  as_owner "$bindir/pg_ctl" -D "$data" -l "$run/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $run" start >/dev/null ||
    {
      tail -n 20 "$run/server.log" >&2
      exit 1
    }
fi
# The port the running server really uses (line 4 of postmaster.pid), should it differ from $port.
port="$(sed -n 4p "$data/postmaster.pid")"

pwfile="$base/password"
if [ ! -s "$pwfile" ]; then
  (
    umask 077
    od -An -tx1 -N18 /dev/urandom | tr -d ' \n' >"$pwfile"
  )
fi
password="$(cat "$pwfile")"
# The password is hex, so it needs no quoting; psql reads the statements from stdin, not argv.
as_owner "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$run" -p "$port" -U postgres -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN CREATE ROLE $role LOGIN CREATEDB; END IF;
END \$\$;
ALTER ROLE $role PASSWORD '$password';
-- Tests drop their databases WITH (FORCE), which may have to end an autovacuum worker.
GRANT pg_signal_backend TO $role;
SQL

echo "==> PostgreSQL test cluster ready: $role@127.0.0.1:$port" >&2
echo "export KARBOR_TEST_PG_HOST=127.0.0.1"
echo "export KARBOR_TEST_PG_PORT=$port"
echo "export KARBOR_TEST_PG_USER=$role"
echo "export KARBOR_TEST_PG_PASSWORD=$password"
