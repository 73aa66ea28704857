# Sourced by the scripts that need this machine's root or its Go:
#
#   prepare_machine "$@"   as_root, then scripts/install-prerequisites, then use_go: the start of
#                          scripts/run, scripts/test, scripts/bench and .ci/run
#   as_root "$@"           re-runs the calling script as root through sudo unless it runs as root
#   use_go                 puts $GO_DIR/bin first on PATH unless the go on PATH builds this module
#   go_ok                  whether the go on PATH builds this module (go.mod's go version or newer)
#
# GO_DIR (default /usr/local/go) is where scripts/install-prerequisites installs Go when the
# machine has none that builds this module. use_go looks there because sudo's secure_path
# (Debian's default) leaves /usr/local/go/bin off PATH: `sudo make test` finds Go too.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0") # the calling script, which as_root runs again
go_dir=${GO_DIR:-/usr/local/go}
go_required=$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$repo/go.mod")

prepare_machine() {
  as_root "$@"
  "$repo/scripts/install-prerequisites"
  use_go
}

# dockerd needs root, and apt-get too. sudo resets the environment, PATH included (secure_path):
# PATH goes along so that the go found here is the go used there, with the variables the
# scripts and the tests read and the proxies that apt-get, curl and go use. HOME becomes root's,
# and with it the caches (~/.cache/docker-broker, Go's): files of root's in the caller's home
# would break the caller's own go commands.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    return 0
  fi
  if ! command -v sudo >/dev/null; then
    echo "$(basename "$0") needs root (dockerd does): run it as root, or install sudo" >&2
    exit 1
  fi
  local keep=("PATH=$PATH") var
  for var in CI GOPROXY GOFLAGS GO_DIR DEBIAN_MIRROR DOCKER_BROKER_IMAGE_CACHE \
    http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    if [ -n "${!var+set}" ]; then
      keep+=("$var=${!var}")
    fi
  done
  exec sudo env "${keep[@]}" "$self" "$@"
}

go_ok() {
  local version
  # From /, with GOTOOLCHAIN=local: in this module a go of 1.21 or later would otherwise fetch
  # and report the toolchain go.mod asks for, and an older one would fail on go.mod.
  version=$(cd / && GOTOOLCHAIN=local go version 2>/dev/null | sed -n 's/^go version go\([0-9][0-9.]*\).*/\1/p') || return 1
  [ -n "$version" ] && [ "$(printf '%s\n%s\n' "$go_required" "$version" | sort -V | head -n1)" = "$go_required" ]
}

use_go() {
  if ! go_ok; then
    export PATH="$go_dir/bin:$PATH"
  fi
}

# Module zips carry no file modes: the go command makes a downloaded toolchain's programs
# executable itself when it switches to one; toolchains unpacked by these scripts need the same.
toolchain_modes() { # GOROOT
  chmod -R u+w,a+rX "$1"
  chmod a+x "$1"/bin/* "$1"/pkg/tool/*/*
}
