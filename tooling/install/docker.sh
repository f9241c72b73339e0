#!/usr/bin/env bash
# Ensures a running Docker engine. On a laptop with Docker Desktop (or any working `docker info`)
# it does nothing; on a bare Debian machine run as root it installs Debian's docker.io and
# starts dockerd in the background (this kind of machine has no systemd).
#
# Privileged containers (kind's nodes): where this host's capability bounding set lacks a
# capability, `docker run --privileged` fails in runc. Only on an engine it starts itself does
# the kit then make tooling/install/kit-runc the default runtime (runc minus what the host cannot grant);
# a user's own engine is never reconfigured: `./kit cluster up` says what to do instead.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

RUNTIME_DIR="$KIT_CACHE/docker"          # a stable copy of the wrapper: a clone may move or go
DOCKERD_PID="$RUNTIME_DIR/dockerd.pid"

# host_lacks_caps: true if the bounding set lacks a capability the kernel knows.
host_lacks_caps() {
  local bnd last; bnd="$(sed -nE 's/^CapBnd:[[:space:]]+([0-9a-f]+)$/\1/p' /proc/self/status)"
  last="$(cat /proc/sys/kernel/cap_last_cap 2>/dev/null || echo 40)"
  [ -n "$bnd" ] && [ $(( 16#$bnd & ((1 << (last + 1)) - 1) )) -ne $(( (1 << (last + 1)) - 1 )) ]
}

# kit_engine: the running engine is the one this script started.
kit_engine() { [ -f "$DOCKERD_PID" ] && [ "$(cat /proc/"$(cat "$DOCKERD_PID")"/comm 2>/dev/null)" = dockerd ]; }

start_dockerd() {
  local args=()
  if host_lacks_caps; then
    apt_install jq
    mkdir -p "$RUNTIME_DIR"
    install -m 0755 "$KIT_ROOT/tooling/install/kit-runc" "$RUNTIME_DIR/kit-runc"
    args+=(--add-runtime "kit-runc=$RUNTIME_DIR/kit-runc" --default-runtime kit-runc)
    progress "this host's capability bounding set lacks some capabilities: the engine's default runtime is kit-runc (tooling/install/kit-runc)"
  fi
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ] && [ ${#args[@]} -eq 0 ]; then
    progress "starting Docker with systemctl"
    systemctl start docker
  else
    mkdir -p "$RUNTIME_DIR"
    progress "starting dockerd in the background (log: $KIT_CACHE/dockerd.log)"
    # setsid: the engine must outlive the shell that started it. It keeps none of the shell's
    # other descriptors either: a caller's `flock` would otherwise be held as long as dockerd runs.
    setsid dockerd ${args[@]+"${args[@]}"} >"$KIT_CACHE/dockerd.log" 2>&1 < /dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    echo $! >"$DOCKERD_PID"
  fi
  wait_until 30 docker info || die "dockerd did not start within 30 s; see $KIT_CACHE/dockerd.log"
}

if docker info >/dev/null 2>&1; then
  # The kit's own engine from before kit-runc (or from a clone without it): restart it with it.
  if kit_engine && host_lacks_caps && [ "$(docker info --format '{{.DefaultRuntime}}')" != kit-runc ]; then
    progress "restarting the kit's Docker engine with kit-runc (its containers stop)"
    kill "$(cat "$DOCKERD_PID")"; wait_until 30 bash -c '! docker info' || die "dockerd did not stop within 30 s"
    start_dockerd
  fi
  exit 0
fi

if ! command -v dockerd >/dev/null; then
  is_root || die "no Docker engine found. Install Docker (Docker Desktop, or 'sudo apt-get install docker.io') and start it, then run again."
  apt_install docker.io
fi
if ! docker info >/dev/null 2>&1; then
  is_root || die "Docker is installed but not running, or you may not use it. Start it ('sudo systemctl start docker') or add yourself to the 'docker' group, then run again."
  start_dockerd
fi
progress "Docker engine $(docker version --format '{{.Server.Version}}') is running"
