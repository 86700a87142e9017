#!/usr/bin/env bash
# The deployment checks (crates/pummel/tests/deploy.rs): the Kubernetes
# manifests are rendered with `kubectl kustomize` and validated offline with
# `kubernetes-validate` (PyPI, in a virtualenv under target/test-tools/); the
# systemd units are checked with `systemd-analyze verify`.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# The overlays use kustomize 4+ fields (labels, replicas, inline patches);
# Debian's kubernetes-client 1.20 carries kustomize 2 and cannot read them.
kustomize_version=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
if [ -z "$kustomize_version" ] || [ "$kustomize_version" -lt 4 ]; then
    echo "scripts/test-deps.d/30-deploy.sh: kubectl's kustomize is older than v4 (kubectl $(kubectl version --client 2>&1 | head -1)); install kubectl 1.21 or newer" >&2
    exit 1
fi

venv=target/test-tools/deploy-venv
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    echo "scripts/test-deps.d/30-deploy.sh: installing kubernetes-validate into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes-validate==1.37.0'
fi
