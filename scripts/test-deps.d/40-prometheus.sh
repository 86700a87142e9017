#!/usr/bin/env bash
# Live metrics and the monitor (crates/pummel/tests/live_metrics.rs): Debian's
# Prometheus scrapes `--metrics-listen` and receives remote writes, and
# Debian's node exporter is the system a scenario's `monitor:` watches. Both
# are installed without starting their services (a policy-rc.d that forbids
# it, removed again if it was ours): the tests start their own on free ports
# of 127.0.0.1, in temporary directories. The shell-completion test checks
# zsh and fish scripts with the shells themselves.
set -euo pipefail

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
[ ${#missing[@]} -gt 0 ] || exit 0

policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && own_policy=1
fi
status=0
apt_install "${missing[@]}" || status=$?
[ -z "$own_policy" ] || $sudo rm -f "$policy"
exit "$status"
