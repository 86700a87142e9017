#!/usr/bin/env bash
# `pummel convert` tests: a Postman collection is built with the npm `postman-collection`
# package and run with `newman` (locked in crates/pummel/tests/postman) before it is converted.
# The HAR is recorded with the browser harness the base set installs (Playwright, Chromium).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d crates/pummel/tests/postman/node_modules/newman ]; then
    npm ci --prefix crates/pummel/tests/postman --no-audit --no-fund --loglevel=error
fi
