#!/usr/bin/env bash
# The runner tests (crates/pummel/tests/runners.rs) run journeys written in
# Python and JavaScript: they need Python with venv, a virtual environment
# under target/ with clients/python installed (editable, so the tests run the
# client in this tree; it brings requests and websocket-client), and a Node
# project under target/ with clients/js installed (linked; it brings ws).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3 python3-venv
fi
command -v node >/dev/null 2>&1 || apt_install nodejs
command -v npm >/dev/null 2>&1 || apt_install npm

venv=target/runner-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ./clients/python

mkdir -p target/runner-node
[ -f target/runner-node/package.json ] || echo '{"private": true}' > target/runner-node/package.json
npm install --prefix target/runner-node --no-audit --no-fund --loglevel=error ./clients/js
