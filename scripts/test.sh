#!/usr/bin/env bash
# The test command (README, CI): installs what the tests need, builds, lints, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-karborclient: the real `karbor` CLI the API tests drive; chromium: the web UI tests.
bash scripts/ensure-deps.sh python3-karborclient chromium

echo "==> build"
npx electron-vite build
echo "==> lint"
npm run lint
echo "==> tests"
npx vitest run "$@"
