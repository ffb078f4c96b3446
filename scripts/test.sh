#!/usr/bin/env bash
# The test command (README, CI): installs what the tests need, builds, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-karborclient: the real `karbor` CLI the API tests drive; chromium: the web UI tests;
# postgresql: the server and pg_dump / pg_restore the Local::PostgreSQL::Database tests drive.
bash scripts/ensure-deps.sh python3-karborclient chromium postgresql postgresql-client

echo "==> build"
npx electron-vite build
echo "==> lint"
npm run lint
echo "==> tests"
# A private PostgreSQL on 127.0.0.1; exports KARBOR_TEST_PG_HOST / PORT / USER / PASSWORD.
# (An assignment, not `eval "$(...)"`, so that a failing script stops the run under `set -e`.)
pg_env="$(bash scripts/pg-test-server.sh)"
eval "$pg_env"
npx vitest run "$@"
