#!/usr/bin/env bash
# Start and stop a throwaway Docker registry (CNCF distribution, Debian's `docker-registry`)
# on 127.0.0.1 with a free port and a temporary storage directory.
#
#   scripts/registry.sh start [--owner PID] [--htpasswd USER:PASS] [--token REALM CERT]
#                                             prints ADDR=127.0.0.1:PORT and DIR=/tmp/…;
#                                             with --owner the registry stops when PID exits;
#                                             with --htpasswd it requires that Basic login;
#                                             with --token it requires Bearer tokens from REALM
#                                             signed by CERT (scripts/token-issuer.py), for the
#                                             service archlens-test and issuer archlens-test-issuer
#   scripts/registry.sh start … --access-log  keeps the access log in DIR/registry.log
#   scripts/registry.sh start … --tls CERTDIR serves HTTPS with CERTDIR/server/server.crt, .key
#                                             (scripts/tls-cert.py) and requires a client
#                                             certificate signed by CERTDIR/ca.crt
#   scripts/registry.sh stop DIR              stops it and removes DIR
#   scripts/registry.sh run -- CMD [ARGS…]    runs CMD with ARCHLENS_TEST_REGISTRY set, then stops
set -euo pipefail

bin=${DOCKER_REGISTRY_BIN:-docker-registry}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local owner="" htpasswd="" realm="" cert="" access_log=true tls=""
  while (($#)); do
    case "$1" in
      --owner) owner=$2; shift 2 ;;
      --htpasswd) htpasswd=$2; shift 2 ;;
      --token) realm=$2; cert=$3; shift 3 ;;
      --access-log) access_log=false; shift ;;
      --tls) tls=$2; shift 2 ;;
      *) echo "registry.sh: unknown option $1" >&2; exit 2 ;;
    esac
  done
  command -v "$bin" >/dev/null || { echo "registry.sh: $bin not found; install Debian's docker-registry package" >&2; exit 1; }
  local dir port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/archlens-registry.XXXXXX")
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    local auth=""
    if [[ -n "$htpasswd" ]]; then
      command -v htpasswd >/dev/null || { echo "registry.sh: htpasswd not found; install Debian's apache2-utils package" >&2; exit 1; }
      # bcrypt, the only hash the registry accepts (Python's crypt module is gone in 3.13).
      htpasswd -nbB "${htpasswd%%:*}" "${htpasswd#*:}" | sed '/^$/d' > "$dir/htpasswd"
      auth="auth:
  htpasswd:
    realm: archlens-test
    path: $dir/htpasswd"
    fi
    if [[ -n "$realm" ]]; then
      auth="auth:
  token:
    realm: $realm
    service: archlens-test
    issuer: archlens-test-issuer
    rootcertbundle: $cert"
    fi
    local tls_config=""
    if [[ -n "$tls" ]]; then
      tls_config="  tls:
    certificate: $tls/server/server.crt
    key: $tls/server/server.key
    clientcas:
      - $tls/ca.crt"
    fi
    cat > "$dir/config.yml" <<CFG
version: 0.1
log:
  level: error
  accesslog:
    disabled: $access_log
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
$tls_config
$auth
CFG
    setsid "$bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
    echo $! > "$dir/pid"
    for _ in $(seq 1 100); do
      if python3 - "$port" "$tls" <<'PY' 2>/dev/null
import socket, sys, urllib.error, urllib.request
if sys.argv[2]:
    # HTTPS with client certificates: listening is enough.
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
    sys.exit(0)
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=1)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code == 401 else 1)
PY
      then
        if [[ -n "$owner" ]]; then
          # Stop the registry when its owner (a test process) exits, however it exits.
          setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 0.5; done; kill \$(cat '$dir/pid') 2>/dev/null; sleep 0.5; rm -rf '$dir'" \
            >/dev/null 2>&1 </dev/null &
        fi
        echo "ADDR=127.0.0.1:$port"
        echo "DIR=$dir"
        return 0
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
      sleep 0.1
    done
    kill "$(cat "$dir/pid")" 2>/dev/null || true
  done
  echo "registry.sh: the registry did not start; its log:" >&2
  cat "$dir/registry.log" >&2 || true
  rm -rf "$dir"
  exit 1
}

stop() {
  local dir=$1
  if [[ -f "$dir/pid" ]]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$1" ;;
  run)
    shift; [[ "${1:-}" == "--" ]] && shift
    out=$(start)
    addr=$(sed -n 's/^ADDR=//p' <<<"$out"); dir=$(sed -n 's/^DIR=//p' <<<"$out")
    trap 'stop "$dir"' EXIT
    ARCHLENS_TEST_REGISTRY=$addr "$@"
    ;;
  *) echo "usage: $0 start [--owner PID] | stop DIR | run -- CMD…" >&2; exit 2 ;;
esac
