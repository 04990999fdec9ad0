#!/usr/bin/env bash
# The app puts copied text on the system clipboard, on X11 and on Wayland. On each, with
# something else on the clipboard first, select the demo layout's tag 1.1 with the keyboard,
# press Ctrl+C, and read the clipboard back with another program: it must be that tag's digest.
#   X11:     Xvfb, keys from xdotool, read with xclip; then Enter opens the tag's details and
#            the pointer clicks each copy button there (where the copy_buttons example finds
#            them), each click read back.
#   Wayland: a headless sway, keys from wtype (a virtual keyboard), read with wl-paste. (Sway
#            1.7 headless has no pointer device, so there are no clicks here.)
#
#   scripts/clipboard-check.sh [BINARY]     (default target/debug/archlens)
#
# Needs Xvfb, xdotool, xclip and xprop (apt-get install xvfb xdotool xclip x11-utils), and for Wayland sway,
# wtype and wl-clipboard (apt-get install sway wtype wl-clipboard).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/headless-sway.sh
bin=${1:-target/debug/archlens}
# Where the details' copy buttons sit and what each copies, from the app driven the same way
# in egui_kittest (cargo build --example copy_buttons).
probe=${COPY_BUTTONS:-$(dirname "$bin")/examples/copy_buttons}
[[ -x $probe ]] || { echo "clipboard-check.sh: $probe not found (cargo build --example copy_buttons)" >&2; exit 1; }
for tool in Xvfb xdotool xclip xprop sway wtype wl-copy wl-paste; do
  command -v "$tool" >/dev/null || { echo "clipboard-check.sh: $tool not found (apt-get install xvfb xdotool xclip sway wtype wl-clipboard)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/archlens-clip.XXXXXX")
display=:$((70 + RANDOM % 9))
Xvfb "$display" -screen 0 1200x800x24 >/dev/null 2>&1 &
xvfb=$!
app=""
sway=""
cleanup() {
  [[ -n $app ]] && kill "$app" 2>/dev/null || true
  [[ -n $sway ]] && kill "$sway" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export DISPLAY=$display
sleep 1
echo -n "something else" | xclip -selection clipboard
mkdir -p "$work/config"
echo '{"host": "apple-silicon"}' >"$work/config/settings.json"
"$probe" assets/demo-layout 1200x800 1.1 "$work/config/settings.json" >"$work/buttons.tsv"
[[ $(wc -l <"$work/buttons.tsv") -ge 2 ]] || { echo "clipboard-check.sh: the probe found no copy buttons" >&2; exit 1; }
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
# X11 window managers draw the window's own icon (_NET_WM_ICON).
xprop -id "$window" _NET_WM_ICON | grep -q 'Icon (64 x 64)' || { echo "clipboard-check.sh: the window has no 64x64 icon" >&2; exit 1; }
echo "X11 window icon: 64x64 (_NET_WM_ICON)"
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
  echo "clipboard-check.sh: the X11 CLIPBOARD holds '$got', not the digest of tag 1.1, $want" >&2
  exit 1
fi
echo "X11 clipboard holds $got: copied by the app (Ctrl+C)"
# Enter opens the tag's details; click each copy button with the pointer.
xdotool key --window "$window" Return
sleep 1.5
while IFS=$'\t' read -r x y label text; do
  echo -n "something else" | xclip -selection clipboard
  xdotool mousemove --window "$window" "$x" "$y" click 1
  sleep 0.7
  got=$(xclip -o -selection clipboard 2>/dev/null || true)
  if [[ $got != "$text" ]]; then
    echo "clipboard-check.sh: after a click on '$label' the X11 CLIPBOARD holds '$got', not '$text'" >&2
    exit 1
  fi
  echo "X11 clipboard holds $got: copied by a click on $label"
done <"$work/buttons.tsv"
grep -qP "^\d+\t\d+\tCopy digest\t$want\$" "$work/buttons.tsv" || { echo "clipboard-check.sh: Copy digest does not copy $want" >&2; exit 1; }
kill "$app" 2>/dev/null || true
app=""

# Wayland: a headless sway of its own (it refuses to run as root: then as nobody), the app
# with no X display, keys from a virtual keyboard.
start_headless_sway "$work" 1200x800 || { echo "clipboard-check.sh: no Wayland compositor" >&2; exit 1; }
sway=$SWAY_PID runtime=$SWAY_RUNTIME socket=$SWAY_SOCKET
export XDG_RUNTIME_DIR=$runtime WAYLAND_DISPLAY=$socket
unset DISPLAY
echo -n "something else" | wl-copy
ARCHLENS_CONFIG_DIR=$work/config ARCHLENS_DATA_DIR=$work/data ARCHLENS_CACHE_DIR=$work/cache HOME=$work \
  "$bin" gui --size 1200x800 oci:assets/demo-layout >"$work/app-wayland.log" 2>&1 &
app=$!
ipc=""
for _ in $(seq 1 100); do
  ipc=$(find "$runtime" -maxdepth 1 -type s -name 'sway-ipc*' 2>/dev/null | head -1)
  [[ -n $ipc ]] && swaymsg -s "$ipc" -t get_tree 2>/dev/null | grep -q '"app_id": "dev.archlens.Archlens"' && break
  sleep 0.2
done
swaymsg -s "$ipc" -t get_tree 2>/dev/null | grep -q '"app_id": "dev.archlens.Archlens"' ||
  { echo "clipboard-check.sh: the app's window did not appear under Wayland" >&2; cat "$work/app-wayland.log" >&2; exit 1; }
sleep 2
# One virtual keyboard for the whole sequence: filter to 1.1, leave the field, select, copy.
wtype -s 500 -M ctrl f -m ctrl -s 300 "1.1" -k Return -s 500 -k Down -s 500 -M ctrl c -m ctrl -s 1000
got=$(timeout 5 wl-paste --no-newline 2>/dev/null || true)
if [[ $got != "$want" ]]; then
  echo "clipboard-check.sh: the Wayland clipboard holds '$got', not the digest of tag 1.1, $want" >&2
  cat "$work/app-wayland.log" >&2
  exit 1
fi
echo "Wayland clipboard holds $got: copied by the app (Ctrl+C)"
