#!/usr/bin/env bash
# The server's store on PostgreSQL (crates/pummel/tests/queue.rs, postgres.rs):
# the tests start their own instance with Debian's `initdb` and `pg_ctl` in a
# temporary directory on a free loopback port, as the `postgres` user the
# package creates (PostgreSQL refuses to run as root), and stop it at the end.
set -euo pipefail

have_initdb() {
    command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

if ! have_initdb; then
    apt_install postgresql
fi
if ! have_initdb; then
    echo "scripts/test-deps.d/45-postgres.sh: initdb is still missing after installing postgresql" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "scripts/test-deps.d/45-postgres.sh: running as root but there is no postgres user to run PostgreSQL as" >&2
    exit 1
fi
