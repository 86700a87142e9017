#!/usr/bin/env bash
# The TLS tests (crates/pummel/tests/tls.rs, distributed_failures.rs) make
# their certificates and a private CA with the openssl command.
set -euo pipefail
command -v openssl >/dev/null 2>&1 || apt_install openssl
