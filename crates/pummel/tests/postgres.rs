//! One PostgreSQL for every test that keeps the server's store there: started on first use with
//! Debian's `initdb` and `pg_ctl` (scripts/test-deps.d/45-postgres.sh) in a fresh directory under
//! /tmp, on a free loopback port, as the `postgres` user when the tests run as root (PostgreSQL
//! refuses root). Each test gets its own database. A small `sh` guard holds the instance: when
//! this test process ends, however it ends, the guard's stdin closes and it stops PostgreSQL and
//! removes its directory.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::util::skip_without;

const GUARD: &str = r#"exec 3<&0
port=$1
bin=$(dirname "$(readlink -f "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -n 1)")")
dir=$(mktemp -d /tmp/pummel-pg.XXXXXX) || exit 1
as=""
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as="runuser -u postgres --"; fi
if ! $as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1
fi
if ! $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null; then
    cat "$dir/server.log" >&2; rm -rf "$dir"; exit 1
fi
echo "ready $bin"
read _ <&3
$as "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
rm -rf "$dir""#;

/// The running instance.
struct Instance {
    port: u16,
    /// Where `createdb` is.
    bin: String,
    _guard: Mutex<Child>,
}

static SHARED: OnceLock<Option<Instance>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(1);

fn has_postgres() -> bool {
    let found = Command::new("sh")
        .args([
            "-c",
            "command -v initdb || ls /usr/lib/postgresql/*/bin/initdb",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    found.is_ok_and(|s| s.success())
}

fn start() -> Option<Instance> {
    if !has_postgres() {
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut guard = Command::new("sh")
        .args(["-c", GUARD, "sh", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sh");
    let stdout = guard.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    let Some(bin) = ready.strip_prefix("ready ") else {
        let _ = guard.wait();
        panic!("PostgreSQL did not start (its log is above)");
    };
    Some(Instance {
        port,
        bin: bin.trim().to_owned(),
        _guard: Mutex::new(guard),
    })
}

/// A fresh, empty database in the shared instance, by its URL; `None` (with the skip recorded)
/// when PostgreSQL is not installed, outside CI.
pub(crate) fn database(test: &str) -> Option<String> {
    let Some(instance) = SHARED.get_or_init(start) else {
        skip_without(
            test,
            "PostgreSQL's initdb is not installed (scripts/test-deps.d/45-postgres.sh)",
        );
        return None;
    };
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let made = Command::new(format!("{}/createdb", instance.bin))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &instance.port.to_string(),
            "-U",
            "postgres",
            &name,
        ])
        .output()
        .expect("run createdb");
    assert!(
        made.status.success(),
        "createdb {name}: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    Some(format!(
        "postgres://postgres@127.0.0.1:{}/{name}",
        instance.port
    ))
}
