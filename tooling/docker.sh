#!/usr/bin/env bash
# Ensures a running Docker engine. On a laptop with Docker Desktop (or any working `docker info`)
# it does nothing; on a bare Debian machine run as root it installs Debian's docker.io and
# starts dockerd in the background (this kind of machine has no systemd).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

docker info >/dev/null 2>&1 && exit 0

if ! command -v dockerd >/dev/null; then
  is_root || die "no Docker engine found. Install Docker (Docker Desktop, or 'sudo apt-get install docker.io') and start it, then run again."
  apt_install docker.io
fi
if ! docker info >/dev/null 2>&1; then
  is_root || die "Docker is installed but not running, or you may not use it. Start it ('sudo systemctl start docker') or add yourself to the 'docker' group, then run again."
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    progress "starting Docker with systemctl"
    systemctl start docker
  else
    progress "starting dockerd in the background (log: $KIT_CACHE/dockerd.log)"
    # setsid: the engine must outlive the shell that started it. It keeps none of the shell's
    # other descriptors either: a caller's `flock` would otherwise be held as long as dockerd runs.
    setsid dockerd >"$KIT_CACHE/dockerd.log" 2>&1 < /dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || die "dockerd did not start within 30 s; see $KIT_CACHE/dockerd.log"
fi
progress "Docker engine $(docker version --format '{{.Server.Version}}') is running"
