#!/bin/bash
# Run by packaging/distro-check.sh inside a fresh Debian chroot holding /tmp/archlens.deb.
#   inside.sh defaults        apt's defaults: libraries, CLI, metainfo, a window on X11 and Wayland
#   inside.sh no-recommends   --no-install-recommends: the app names the packages it lacks
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
fail() { echo "distro-check ($(. /etc/os-release && echo "$PRETTY_NAME"), $how): $*" >&2; exit 1; }
how=$1
source /tmp/headless-sway.sh
apt-get update -qq

# A file of settings, so the app opens what it is told rather than a first run's demo.
mkdir -p /tmp/cfg /tmp/data /tmp/cache
echo '{"host": "apple-silicon"}' >/tmp/cfg/settings.json
app_env=(ARCHLENS_CONFIG_DIR=/tmp/cfg ARCHLENS_DATA_DIR=/tmp/data ARCHLENS_CACHE_DIR=/tmp/cache HOME=/tmp)

if [[ $how == no-recommends ]]; then
  apt-get install -y -qq --no-install-recommends /tmp/archlens.deb xvfb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail "apt-get install"; }
  archlens matrix oci:/usr/share/archlens/demo-layout >/dev/null || fail "the command line does not run without the Recommends"
  Xvfb :91 -screen 0 1024x768x24 >/dev/null 2>&1 &
  xvfb=$!
  sleep 1
  set +e
  said=$(env "${app_env[@]}" DISPLAY=:91 timeout 20 archlens gui --size 800x600 2>&1)
  rc=$?
  set -e
  kill "$xvfb" 2>/dev/null || true
  echo "$said" | tail -2
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "the app started (or hung) without its Recommends (exit $rc)"
  grep -qE 'library is missing: install [a-z0-9.+-]+' <<<"$said" || fail "the app's message names no package to install"
  grep -q 'is a display available' <<<"$said" && fail "the app asks about the display although one is there"
  echo "ok: without the Recommends, the app says which packages to install"
  exit 0
fi

apt-get install -y -qq /tmp/archlens.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; fail "apt-get install"; }
# Every library the app loads at run time (dlopen, so dpkg cannot see them): X11, Wayland, GL.
for so in libX11.so.6 libX11-xcb.so.1 libxkbcommon.so.0 libxkbcommon-x11.so.0 libXcursor.so.1 libXi.so.6 libXrandr.so.2 \
  libGL.so.1 libEGL.so.1 libwayland-client.so.0 libwayland-egl.so.1 libwayland-cursor.so.0; do
  ldconfig -p | awk '{print $1}' | grep -qxF "$so" || fail "$so is not installed with the package's Depends and Recommends"
done
echo "ok: every library the app loads came with the package"
archlens --version
archlens matrix oci:/usr/share/archlens/demo-layout >/dev/null || fail "archlens matrix of the demo layout"

# The display servers and validators, installed only now: they must not be what made the
# libraries above present.
apt-get install -y -qq xvfb x11-utils sway appstream desktop-file-utils >/tmp/apt2.log 2>&1 || { cat /tmp/apt2.log; fail "apt-get install xvfb sway appstream"; }
desktop-file-validate /usr/share/applications/dev.archlens.Archlens.desktop || fail "the desktop entry does not validate"
set +e
said=$(appstreamcli validate --no-net /usr/share/metainfo/dev.archlens.Archlens.metainfo.xml 2>&1)
set -e
echo "$said" | sed 's/^/  appstream: /'
grep -q '^E:' <<<"$said" && fail "the AppStream metadata has errors on $(appstreamcli --version | head -1)"
echo "ok: the metainfo validates ($(appstreamcli --version | head -1); warnings, if any, above)"

# X11: Xvfb, and the window found by its title.
Xvfb :91 -screen 0 1024x768x24 >/dev/null 2>&1 &
xvfb=$!
sleep 1
env "${app_env[@]}" DISPLAY=:91 archlens gui --size 800x600 oci:/usr/share/archlens/demo-layout >/tmp/x11.log 2>&1 &
app=$!
found=""
for _ in $(seq 1 80); do
  DISPLAY=:91 xwininfo -root -tree 2>/dev/null | grep -q '"Archlens": ("" "dev.archlens.Archlens")' && { found=1; break; }
  sleep 0.25
done
kill "$app" "$xvfb" 2>/dev/null || true
wait "$app" 2>/dev/null || true
[[ -n $found ]] || { cat /tmp/x11.log; fail "no window under Xvfb"; }
echo "ok: a window under X11 (Xvfb)"

# Wayland only: a headless sway (as nobody: sway refuses root), no X server, no DISPLAY.
mkdir -p /tmp/wl
start_headless_sway /tmp/wl 1024x768 || fail "the headless sway did not start"
sway=$SWAY_PID runtime=$SWAY_RUNTIME socket=$SWAY_SOCKET
env -i PATH="$PATH" "${app_env[@]}" XDG_RUNTIME_DIR="$runtime" WAYLAND_DISPLAY="$socket" \
  archlens gui --size 800x600 oci:/usr/share/archlens/demo-layout >/tmp/wayland.log 2>&1 &
app=$!
found=""
for _ in $(seq 1 80); do
  ipc=$(find "$runtime" -maxdepth 1 -type s -name 'sway-ipc*' 2>/dev/null | head -1)
  [[ -n $ipc ]] && swaymsg -s "$ipc" -t get_tree 2>/dev/null | grep -q '"app_id": "dev.archlens.Archlens"' && { found=1; break; }
  sleep 0.25
done
kill "$app" "$sway" 2>/dev/null || true
wait "$app" 2>/dev/null || true
[[ -n $found ]] || { cat /tmp/wayland.log /tmp/wl/sway.log; fail "no window under a Wayland-only sway"; }
echo "ok: a window under Wayland (headless sway, no X server)"
