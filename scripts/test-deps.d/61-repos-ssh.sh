#!/usr/bin/env bash
# Repositories fetched over SSH with a deploy key (crates/pummel/tests/repos_ssh.rs):
# the test starts its own sshd (openssh-server, without its service: a
# policy-rc.d that forbids starting services keeps the package's sshd on
# port 22 from starting) on a free loopback port, and the server fetches with
# the ssh client; ssh-keygen makes the keys.
set -euo pipefail
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
if [ "${#need[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    policy=/usr/sbin/policy-rc.d
    own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && own_policy=1
    fi
    status=0
    apt_install "${need[@]}" || status=$?
    [ -z "$own_policy" ] || $sudo rm -f "$policy"
    [ "$status" -eq 0 ] || exit "$status"
fi
/usr/sbin/sshd -V 2>&1 | head -1 || true
[ -x /usr/sbin/sshd ]
