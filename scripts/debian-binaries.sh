#!/usr/bin/env bash
# Real programs for eight architectures, from Debian's own packages, for the diagnosis corpus
# (tests/it/diag_corpus.rs): busybox-static, hello and the C library for amd64, arm64, armhf,
# armel, i386, ppc64el and s390x, the x32 loader, tini, dumb-init, gosu and coreutils' env.
# Downloaded with apt-get (the foreign architectures are added to dpkg), unpacked into
# DIR/PACKAGE-ARCH (default target/debian-binaries). Does nothing when DIR is complete.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir=${1:-${ARCHLENS_DEBIAN_BINARIES:-$root/target/debian-binaries}}
stamp="$dir/.complete-v1"
[[ -f $stamp ]] && exit 0
sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
added=0
for a in arm64 armhf armel i386 ppc64el s390x; do
  if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
    $sudo dpkg --add-architecture "$a"
    added=1
  fi
done
if ((added)) || [[ -z $(apt-cache policy busybox-static:s390x 2>/dev/null | grep Candidate) ]]; then
  $sudo apt-get update -qq
fi
packages=(
  busybox-static:{amd64,arm64,armhf,armel,i386,ppc64el,s390x}
  hello:{amd64,arm64,armhf,armel,i386}
  libc6:{amd64,arm64,armhf,armel,i386}
  libc6-x32:amd64 tini:amd64 dumb-init:amd64 gosu:amd64 coreutils:amd64
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
(cd "$tmp" && apt-get download -qq "${packages[@]}")
mkdir -p "$dir"
for deb in "$tmp"/*.deb; do
  name=$(dpkg-deb -f "$deb" Package)
  arch=$(dpkg-deb -f "$deb" Architecture)
  rm -rf "${dir:?}/$name-$arch"
  dpkg-deb -x "$deb" "$dir/$name-$arch"
done
touch "$stamp"
echo "Debian binaries for the diagnosis corpus are in $dir" >&2
