#!/usr/bin/env bash
# Build Archlens from source and install it for the current user under ~/.local (the binary,
# desktop entry, icons, man page, completions and demo layout: packaging/stage.sh).
# PREFIX=/usr/local packaging/install.sh installs system-wide instead (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:-$HOME/.local}
cargo build --release --locked
packaging/stage.sh target/release/archlens "$prefix"
echo "installed $prefix/bin/archlens"
