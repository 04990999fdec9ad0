# Sourced by scripts that need a Wayland compositor without a screen (clipboard-check.sh, and
# packaging/distro-inside.sh in a chroot): a headless sway with software rendering.
#
#   start_headless_sway DIR WIDTHxHEIGHT
#
# Makes DIR/runtime (its XDG_RUNTIME_DIR) and DIR/sway.conf, starts sway (as nobody when run as
# root: sway refuses root), and waits for its socket. Sets SWAY_PID, SWAY_RUNTIME and
# SWAY_SOCKET (the WAYLAND_DISPLAY name); returns 1, with sway's log on stderr, if it did not
# start within 10 s.
start_headless_sway() {
  local dir=$1 size=$2
  SWAY_RUNTIME=$dir/runtime
  mkdir -p "$SWAY_RUNTIME"
  chmod 700 "$SWAY_RUNTIME"
  printf 'output HEADLESS-1 resolution %s\n' "$size" >"$dir/sway.conf"
  local as=()
  if [[ $(id -u) -eq 0 ]]; then
    chown 65534:65534 "$SWAY_RUNTIME"
    chmod 755 "$dir"
    chmod 644 "$dir/sway.conf"
    as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  fi
  "${as[@]}" env -i PATH="$PATH" HOME="$SWAY_RUNTIME" XDG_RUNTIME_DIR="$SWAY_RUNTIME" WLR_BACKENDS=headless \
    WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman sway -c "$dir/sway.conf" >"$dir/sway.log" 2>&1 &
  SWAY_PID=$!
  SWAY_SOCKET=""
  for _ in $(seq 1 50); do
    SWAY_SOCKET=$(find "$SWAY_RUNTIME" -maxdepth 1 -type s -name 'wayland-*' -printf '%f\n' 2>/dev/null | head -1)
    [[ -n $SWAY_SOCKET ]] && return 0
    sleep 0.2
  done
  echo "the headless sway did not start:" >&2
  cat "$dir/sway.log" >&2
  return 1
}
