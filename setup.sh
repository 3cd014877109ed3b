#!/usr/bin/env bash
# Wharf's set-up on a fresh Debian or Ubuntu machine (run as root).
#
#   ./setup.sh run     install, start a loopback registry seeded with demo images,
#                      then open the console on its embedded engine
#   ./setup.sh test    install, then run the whole test suite (extra arguments go to pytest)
#   ./setup.sh install only install (Debian packages, and Wharf in ./.venv)
#
# Environment: WHARF_DEMO_PORT (default 5000), WHARF_DEMO_DEBIAN=0 to skip the
# debootstrap image, WHARF_ROOT (default /var/lib/wharf), WHARF_TEST_CACHE
# (where test images are cached, default /var/cache/wharf-tests).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

DEBIAN_PACKAGES=(
  python3 python3-venv python3-dev gcc      # Wharf itself (Python >= 3.11)
  iproute2 iptables                          # the network driver's kernel plumbing
  libseccomp2                                # Docker's default seccomp profile
  tini                                       # --init
  docker-registry                            # a real registry, for the demo and the tests
  skopeo umoci busybox-static debootstrap    # real tools that make the test and demo images
  zstd tar tmux chromium                     # zstd layers; the console under tmux and in a browser
  ca-certificates
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: Wharf's engine needs root (namespaces, mounts, cgroups): run it with sudo" >&2
    exit 1
  fi
}

install_debian_packages() {
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

python_bin() {
  # The newest python3 on PATH that is at least 3.11.
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  echo "setup.sh: Wharf needs Python 3.11 or newer" >&2; exit 1
}

install_python_packages() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$(python_bin)" -m venv .venv
  fi
  log "installing Wharf and its test tools into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
}

install_all() {
  need_root
  install_debian_packages
  install_python_packages
}

start_demo_registry() {
  local port=${WHARF_DEMO_PORT:-5000}
  local dir=/var/lib/wharf-demo/registry
  mkdir -p "$dir/data"
  cat > "$dir/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $dir/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$port
  secret: wharf-demo-registry
YAML
  if ! curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
    log "starting a registry on 127.0.0.1:$port"
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    demo_registry_pid=$!
    for _ in $(seq 100); do
      curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
  log "seeding demo images into 127.0.0.1:$port"
  local seed_args=(--registry "127.0.0.1:$port")
  [ "${WHARF_DEMO_DEBIAN:-1}" = 0 ] || seed_args+=(--debian)
  PYTHONPATH="$here/tests" .venv/bin/python -m harness.seed "${seed_args[@]}"
  export WHARF_REGISTRIES="127.0.0.1:$port${WHARF_REGISTRIES:+,$WHARF_REGISTRIES}"
}

stop_demo_registry() {
  if [ -n "${demo_registry_pid:-}" ]; then kill "$demo_registry_pid" 2>/dev/null || true; wait "$demo_registry_pid" 2>/dev/null || true; fi
}

command=${1:-run}
[ $# -gt 0 ] && shift
case "$command" in
  install)
    install_all ;;
  run)
    install_all
    command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
    start_demo_registry
    trap stop_demo_registry EXIT
    .venv/bin/wharf --root "${WHARF_ROOT:-/var/lib/wharf}" "$@" ;;
  test)
    install_all
    log "running the test suite"
    .venv/bin/python -m pytest "$@" ;;
  *)
    echo "usage: ./setup.sh [run|test|install] [arguments]" >&2; exit 2 ;;
esac
