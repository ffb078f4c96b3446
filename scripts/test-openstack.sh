#!/usr/bin/env bash
# Tests of the OpenStack family against a real small OpenStack on 127.0.0.1 (Keystone, Glance,
# Cinder, Nova, Swift from Debian packages): starts the cloud if it is not answering (installing
# the packages the first time), sources its admin credentials and runs test/openstack.
# Usage: bash scripts/test-openstack.sh [vitest args, e.g. test/openstack/client.test.ts]
set -euo pipefail
cd "$(dirname "$0")/.."
export OSBOX=${OSBOX:-/tmp/osbox}

UP=scripts/openstack/up.sh
[ -f "$UP" ] || UP=../shared/openstack/up.sh
[ -f "$UP" ] || UP=/work/shared/openstack/up.sh

args=()
# Everything up.sh --install brings: the services, and the PostgreSQL their databases live in.
if ! command -v keystone-manage >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
  ! /usr/bin/python3 -c 'import psycopg2' 2>/dev/null; then
  args+=(--install)
  # The package lists may be stale or missing on a fresh machine.
  apt-get update -qq
fi
if ! curl -s -o /dev/null --max-time 3 http://127.0.0.1:5000/v3 || [ ! -f "$OSBOX/openrc" ]; then
  echo "==> starting the cloud ($UP ${args[*]:-})"
else
  # Keystone answers: make sure the rest runs too (up.sh starts only what is not running).
  echo "==> checking the cloud ($UP ${args[*]:-})"
fi
bash "$UP" "${args[@]}"

set -a
# shellcheck disable=SC1091
. "$OSBOX/openrc"
set +a
echo "==> npx vitest run test/openstack"
rc=0
since="$(date '+%Y-%m-%d %H:%M:%S')"
npx vitest run -c vitest.openstack.config.mts "${@:-test/openstack}" || rc=$?
if [ "$rc" -ne 0 ]; then
  # What the cloud logged as errors while the tests ran (first line of each, newest 40).
  echo "==> errors in the cloud's logs ($OSBOX/log) since $since:"
  for f in "$OSBOX"/log/*.log; do
    awk -v t="$since" -v f="$(basename "$f")" 'substr($0, 1, 19) >= t && / ERROR [^ ]+ \[/ { print f ": " substr($0, 1, 400) }' "$f"
  done | sort -t' ' -k2,3 | tail -n 40 || true
fi
exit "$rc"
