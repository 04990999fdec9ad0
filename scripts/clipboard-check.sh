#!/usr/bin/env bash
# The app puts copied text on the system clipboard: under Xvfb, with something else on the
# X11 CLIPBOARD first, select the demo layout's tag 1.1 with the keyboard, press Ctrl+C, and
# read the CLIPBOARD back with xclip: it must be that tag's digest.
#
#   scripts/clipboard-check.sh [BINARY]     (default target/debug/archlens)
#
# Needs Xvfb, xdotool and xclip (apt-get install xvfb xdotool xclip).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/archlens}
for tool in Xvfb xdotool xclip; do
  command -v "$tool" >/dev/null || { echo "clipboard-check.sh: $tool not found (apt-get install xvfb xdotool xclip)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/archlens-clip.XXXXXX")
display=:$((70 + RANDOM % 9))
Xvfb "$display" -screen 0 1200x800x24 >/dev/null 2>&1 &
xvfb=$!
app=""
cleanup() {
  [[ -n $app ]] && kill "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export DISPLAY=$display
sleep 1
echo -n "something else" | xclip -selection clipboard
mkdir -p "$work/config"
echo '{"host": "apple-silicon"}' >"$work/config/settings.json"
ARCHLENS_CONFIG_DIR=$work/config ARCHLENS_DATA_DIR=$work/data ARCHLENS_CACHE_DIR=$work/cache HOME=$work \
  "$bin" gui --size 1200x800 oci:assets/demo-layout >"$work/app.log" 2>&1 &
app=$!
window=""
for _ in $(seq 1 100); do
  window=$(xdotool search --name '^Archlens$' 2>/dev/null | head -1 || true)
  [[ -n $window ]] && break
  sleep 0.2
done
[[ -n $window ]] || { echo "clipboard-check.sh: the app's window did not appear" >&2; cat "$work/app.log" >&2; exit 1; }
sleep 3
xdotool windowfocus --sync "$window" 2>/dev/null || xdotool windowfocus "$window"
# Filter the tags down to 1.1 (Ctrl+F, type, Enter leaves the field), select it, Ctrl+C.
xdotool mousemove --window "$window" 600 400 key --window "$window" ctrl+f
sleep 0.3
xdotool type --window "$window" "1.1"
xdotool key --window "$window" Return
sleep 0.5
xdotool key --window "$window" Down
sleep 0.5
xdotool key --window "$window" ctrl+c
sleep 1
got=$(xclip -o -selection clipboard 2>/dev/null || true)
want=$("$bin" matrix oci:assets/demo-layout --tags 1.1 --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["tags"][0]["digest"])')
if [[ $got != "$want" ]]; then
  echo "clipboard-check.sh: the CLIPBOARD holds '$got', not the digest of tag 1.1, $want" >&2
  exit 1
fi
echo "clipboard holds $got: copied by the app"
