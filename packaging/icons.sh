#!/usr/bin/env bash
# Render every icon from the one source, assets/icon.svg: PNGs in the freedesktop sizes
# (packaging/icons/hicolor/SIZExSIZE/apps/dev.archlens.Archlens.png) and the macOS
# packaging/macos/Archlens.icns. Needs rsvg-convert (Debian's librsvg2-bin) and python3.
# The results are committed, so building a package does not need these tools.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v rsvg-convert >/dev/null || { echo "icons.sh: rsvg-convert not found (apt-get install librsvg2-bin)" >&2; exit 1; }
out=packaging/icons/hicolor
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$out/${size}x${size}/apps"
  rsvg-convert -w "$size" -h "$size" assets/icon.svg -o "$out/${size}x${size}/apps/dev.archlens.Archlens.png"
done
mkdir -p "$out/scalable/apps"
cp assets/icon.svg "$out/scalable/apps/dev.archlens.Archlens.svg"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rsvg-convert -w 1024 -h 1024 assets/icon.svg -o "$tmp/1024.png"
# An .icns is "icns", the file's length, then (type, length, PNG) chunks (Apple's icon family).
python3 - "$out" "$tmp/1024.png" packaging/macos/Archlens.icns <<'PY'
import struct, sys
hicolor, big, dest = sys.argv[1:4]
def png(size):
    return open(big if size == 1024 else f"{hicolor}/{size}x{size}/apps/dev.archlens.Archlens.png", "rb").read()
chunks = [(b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512), (b"ic10", 1024),
          (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512)]
body = b"".join(kind + struct.pack(">I", 8 + len(png(size))) + png(size) for kind, size in chunks)
open(dest, "wb").write(b"icns" + struct.pack(">I", 8 + len(body)) + body)
PY
echo "icons written to $out and packaging/macos/Archlens.icns"
