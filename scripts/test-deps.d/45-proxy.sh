#!/usr/bin/env bash
# The proxy tests (crates/pummel/tests/proxy.rs) send requests through a real
# HTTP proxy with CONNECT and Basic authentication: tinyproxy, started by each
# test on a free loopback port with a configuration of its own.
set -euo pipefail
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || apt_install tinyproxy
