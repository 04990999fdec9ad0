#!/usr/bin/env bash
# Build `archlens` without default features (no egui/eframe/rfd/keyring: the command line for
# CI images) and check it: no GUI crate in its dependency tree, the verbs work, and the
# no-argument start says what this build is.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --locked --no-default-features --bin archlens
gui_crates=$(cargo tree --locked --no-default-features -e normal --prefix none | grep -E '^(egui|eframe|egui_extras|rfd|keyring|winit|glow|wgpu)[ -]' || true)
if [[ -n $gui_crates ]]; then
  echo "check-cli-only.sh: GUI crates in the command-line build:" >&2
  echo "$gui_crates" >&2
  exit 1
fi
bin=$target/debug/archlens
"$bin" --version
"$bin" matrix oci:assets/demo-layout --format json >/dev/null
set +e
msg=$("$bin" 2>&1)
code=$?
set -e
if [[ $code -ne 2 || $msg != *"command line only"* ]]; then
  echo "check-cli-only.sh: the no-argument start should explain this build (exit $code): $msg" >&2
  exit 1
fi
echo "command-line-only build checks out ($(du -h "$bin" | cut -f1))"
