#!/usr/bin/env bash
# Run the whole test suite. Integration tests start their own throwaway registry
# (scripts/registry.sh) and check pushes with skopeo; every tool comes from a distribution
# package (never `pip install`: stock Debian's python3 refuses it).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v python3 >/dev/null || missing+=(python3)
command -v htpasswd >/dev/null || missing+=(apache2-utils)
python3 -c 'import jsonschema' 2>/dev/null || missing+=(python3-jsonschema)
python3 -c 'import cryptography' 2>/dev/null || missing+=(python3-cryptography)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
command -v dbus-run-session >/dev/null || missing+=(dbus)
command -v secret-tool >/dev/null || missing+=(libsecret-tools)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
if ((${#missing[@]})); then
  echo "installing test tools: ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
# Real programs of seven architectures for the diagnosis corpus (tests/it/diag_corpus.rs).
scripts/debian-binaries.sh
exec cargo test --locked "$@"
