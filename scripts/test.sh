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
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "test.sh: not root and no sudo: as root, run apt-get install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  # Debian's docker-registry package starts a registry service on port 5000 on all interfaces.
  # The tests start their own registries (127.0.0.1, a free port, a temporary folder), so when
  # this script installed the package, it stops that service and keeps it from starting again.
  if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
      $sudo systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/docker-registry ]; then
      $sudo /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
      $sudo update-rc.d docker-registry disable >/dev/null 2>&1 || true
    fi
    echo "test.sh: installed docker-registry and stopped and disabled its service (the tests start their own)" >&2
  fi
fi
# Real programs of seven architectures for the diagnosis corpus (tests/it/diag_corpus.rs).
scripts/debian-binaries.sh
exec cargo test --locked "$@"
