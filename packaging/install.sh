#!/usr/bin/env bash
# Build Archlens from source and install it for the current user under ~/.local (the binary,
# desktop entry, icons, man page, completions and demo layout: packaging/stage.sh).
# PREFIX=/usr/local packaging/install.sh installs system-wide instead (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:-$HOME/.local}
cargo build --release --locked
# Where cargo puts its builds (CARGO_TARGET_DIR or the build config may move it).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
packaging/stage.sh "$target_dir/release/archlens" "$prefix"
echo "installed $prefix/bin/archlens"
