#!/usr/bin/env bash
# Install and start the .deb (packaging/build.sh) on fresh, stock Debian systems: a debootstrap
# chroot of each suite (default: bookworm and trixie, Debian 12 and 13) from this machine's own
# mirror, the package installed twice in copies of it:
#   - with apt's defaults: every library the app loads at run time is then there, the command
#     line runs, the AppStream metadata validates with that release's appstream (errors fail,
#     warnings are said), and the app opens a window under Xvfb (X11) and under a headless sway
#     with no X server at all (Wayland only);
#   - with --no-install-recommends: the app refuses to start with a message naming the packages
#     to install.
#
#   packaging/distro-check.sh [SUITE…]
#
# Needs root (chroot, mounts) and debootstrap. The chroots live in a temporary folder under
# /var/tmp and are removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "distro-check.sh: needs root (debootstrap, chroot and mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "distro-check.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
deb=$(ls target/packaging/archlens_*.deb)
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)
# The mirror apt already uses here (deb822 sources, then the classic list), else Debian's own.
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[[ -n $mirror ]] || mirror=http://deb.debian.org/debian

work=$(mktemp -d /var/tmp/archlens-distro.XXXXXX)
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for suite in "${suites[@]}"; do
  echo "=== $suite: debootstrap from $mirror"
  debootstrap --variant=minbase "$suite" "$work/$suite-base" "$mirror" >"$work/$suite-debootstrap.log" 2>&1 \
    || { tail -20 "$work/$suite-debootstrap.log" >&2; exit 1; }
  for how in defaults no-recommends; do
    root=$work/$suite-$how
    cp -a "$work/$suite-base" "$root"
    mount -t proc proc "$root/proc" && mounted+=("$root/proc")
    mkdir -p "$root/dev/shm"
    mount -t tmpfs shm "$root/dev/shm" && mounted+=("$root/dev/shm")
    cp "$deb" "$root/tmp/archlens.deb"
    cp packaging/distro-inside.sh "$root/tmp/inside.sh"
    cp scripts/lib/headless-sway.sh "$root/tmp/headless-sway.sh"
    echo "=== $suite, apt $how"
    chroot "$root" /bin/bash /tmp/inside.sh "$how"
    umount -l "$root/dev/shm" "$root/proc"
    rm -rf "$root"
  done
  rm -rf "$work/$suite-base"
done
echo "distro-check.sh: the package installs and starts on ${suites[*]}"
