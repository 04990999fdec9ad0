#!/usr/bin/env bash
# Build Archlens and install it for the current user:
#   ~/.local/bin/archlens, ~/.local/share/archlens/demo-layout, and a desktop entry.
# PREFIX=/usr/local packaging/install.sh installs system-wide instead (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:-$HOME/.local}
cargo build --release --locked
install -Dm755 target/release/archlens "$prefix/bin/archlens"
rm -rf "$prefix/share/archlens/demo-layout"
mkdir -p "$prefix/share/archlens"
cp -r assets/demo-layout "$prefix/share/archlens/demo-layout"
install -Dm644 packaging/archlens.desktop "$prefix/share/applications/archlens.desktop"
echo "installed $prefix/bin/archlens"
