#!/usr/bin/env bash
# Regenerate the README's screenshots from real runs of the app under Xvfb, against a
# throwaway local registry seeded from the demo layout by `archlens compose`.
#
#   scripts/screenshots.sh            writes docs/*.png (1440x900, and 800x600 variants)
#
# Needs: Xvfb, ImageMagick's `import` (apt-get install xvfb imagemagick) and Debian's
# docker-registry. Uses target/release/archlens, rebuilt first so the pictures show the
# current code (ARCHLENS_BIN names another binary and skips the build).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ARCHLENS_BIN:-}" ]; then
  cargo build --release
fi
bin=${ARCHLENS_BIN:-target/release/archlens}
for tool in Xvfb import; do
  command -v "$tool" >/dev/null || { echo "screenshots.sh: $tool not found (apt-get install xvfb imagemagick)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/archlens-shots.XXXXXX")
out=$(scripts/registry.sh start --owner $$)
addr=$(sed -n 's/^ADDR=//p' <<<"$out")
regdir=$(sed -n 's/^DIR=//p' <<<"$out")
xvfb_pid=""
cleanup() {
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  scripts/registry.sh stop "$regdir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export ARCHLENS_CACHE_DIR=$work/cache ARCHLENS_DATA_DIR=$work/data HOME=$work
demo=oci:assets/demo-layout
push() { # push TARGET FROM… : an index of the given images, as a release manager would
  local target=$1; shift
  local from=()
  for f in "$@"; do from+=(--from "$f"); done
  "$bin" compose --target "$addr/$target" "${from[@]}" --yes >/dev/null 2>&1
}
push team/api:1.0 "$demo:1.0"
push team/api:latest "$demo:latest"
push team/api:1.1 "$demo:1.1"
push team/web:1.1 "$demo:1.1"
push team/web:latest "$demo:1.1"
push team/worker:latest "$demo:single-amd64"
push team/worker:2.0 "$demo:single-amd64" "$demo:single-arm64"
push edge/pi-agent:latest "$demo:0.9-arm"
push edge/pi-agent:0.9 "$demo:0.9-arm"
push windows/agent:latest "$demo:1.2-windows"
# A support ticket's image: its arm64 entry is an amd64 image with a wrong label.
amd=sha256:7f1bc0d7764768b7f7219a859fd8c4b7aacc8ba6726e20e429596933d48733ba
"$bin" compose --target "$addr/team/app:1.2" --from "$demo@$amd" --from "$demo:single-amd64" \
  --platform "$demo:single-amd64=linux/arm64" --yes >/dev/null 2>&1
# The fix its diagnosis proposes, as a draft for the composer.
"$bin" diagnose "$addr/team/app:1.2" --host apple-silicon --repair-draft "$work/fix.json" >/dev/null 2>&1 || true

display=:$((90 + RANDOM % 9))
shoot() { # shoot NAME WIDTH HEIGHT ARGS… : one screenshot of `archlens gui ARGS…`
  local name=$1 w=$2 h=$3; shift 3
  Xvfb "$display" -screen 0 "${w}x${h}x24" >/dev/null 2>&1 &
  xvfb_pid=$!
  sleep 1
  local config=$work/config-$name
  mkdir -p "$config"
  # A settings file: not a first run (which would open the demo layout instead).
  echo "{\"host\": \"apple-silicon\"${SHOT_SETTINGS:-}}" >"$config/settings.json"
  ARCHLENS_CONFIG_DIR=$config DISPLAY=$display "$bin" gui --size "${w}x${h}" "$@" >/dev/null 2>&1 &
  local app=$!
  sleep "${SHOT_WAIT:-6}"
  DISPLAY=$display import -window root "docs/$name.png"
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  kill "$xvfb_pid" 2>/dev/null || true
  wait "$xvfb_pid" 2>/dev/null || true
  xvfb_pid=""
  echo "docs/$name.png"
}

mkdir -p docs
shoot matrix 1440 900 oci:assets/demo-layout
SHOT_SETTINGS=', "show_sizes": true' shoot sizes 1440 900 oci:assets/demo-layout
SHOT_SETTINGS=', "show_sizes": true' shoot sizes-800x600 800 600 oci:assets/demo-layout
shoot coverage 1440 900 --coverage "$addr"
shoot coverage-800x600 800 600 --coverage "$addr"
shoot matrix-800x600 800 600 "$addr/team/api"
shoot compare 1440 900 --compare "$addr/team/api:1.0" "$addr/team/api:1.1"
shoot diagnose 1440 900 --diagnose "$addr/team/app:1.2"
if [ -s "$work/fix.json" ]; then
  shoot composer 1440 900 --draft "$work/fix.json" "$addr/team/app:1.2"
fi
