#!/usr/bin/env bash
# Run CMD with a real Secret Service (the OS keychain of Linux desktops): a private D-Bus
# session with Debian's gnome-keyring, unlocked, on a temporary home. Used by the keychain
# tests; needs the gnome-keyring, dbus and libsecret-tools packages.
#
#   scripts/with-keyring.sh CMD [ARGS…]
set -euo pipefail
if [[ "${1:-}" != --inside ]]; then
  for tool in dbus-run-session gnome-keyring-daemon dbus-send; do
    command -v "$tool" >/dev/null || { echo "with-keyring.sh: $tool not found; install gnome-keyring and dbus" >&2; exit 1; }
  done
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/archlens-keyring.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/run" "$tmp/data"
  chmod 700 "$tmp/run"
  rc=0
  env -u DISPLAY -u WAYLAND_DISPLAY XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/data" \
    timeout 120 dbus-run-session -- "$0" --inside "$@" || rc=$?
  exit $rc
fi
shift
# --unlock creates and unlocks the default `login` collection with this password.
printf %s archlens-test | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
# Wait until the daemon owns the Secret Service name: an earlier client call would start a
# second, password-less daemon without the `login` collection.
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    break
  fi
  sleep 0.1
done
"$@"
