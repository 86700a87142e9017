#!/usr/bin/env bash
# The web UI's browser test (crates/pummel/tests/web.rs, check-web.mjs) runs axe-core in the
# browser harness the base set installs (Playwright, Chromium): the harness's lockfile has it, but
# a harness installed before it was added lacks it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d crates/pummel/tests/browser/node_modules/axe-core ]; then
    npm ci --prefix crates/pummel/tests/browser --no-audit --no-fund --loglevel=error
fi
