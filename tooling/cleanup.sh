#!/usr/bin/env bash
# Removes what tests left behind: containers, networks and volumes that testcontainers made.
# (Its reaper, Ryuk, is an image from a registry, so the kit disables it and cleans up here.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
label=org.testcontainers=true
mapfile -t ids < <(docker ps -aq --filter "label=$label"); [ ${#ids[@]} -eq 0 ] || docker rm -f -v "${ids[@]}" >/dev/null
mapfile -t ids < <(docker network ls -q --filter "label=$label"); [ ${#ids[@]} -eq 0 ] || docker network rm "${ids[@]}" >/dev/null
mapfile -t ids < <(docker volume ls -q --filter "label=$label"); [ ${#ids[@]} -eq 0 ] || docker volume rm "${ids[@]}" >/dev/null
exit 0
