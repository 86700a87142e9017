#!/usr/bin/env bash
# Test repositories and notifications (crates/pummel/tests/repos.rs): `git`
# (its `git daemon` serves a repository over git:// on loopback) and
# aiosmtpd (Debian's, for /usr/bin/python3), the SMTP sink the notification emails are delivered to.
set -euo pipefail
need=()
command -v git >/dev/null 2>&1 || need+=(git)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
[ "${#need[@]}" -eq 0 ] || apt_install "${need[@]}"
/usr/bin/python3 -c 'import aiosmtpd'
