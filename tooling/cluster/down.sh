#!/usr/bin/env bash
# Stops the kit's cluster: its one node container, with a clean shutdown of its systemd (SIGRTMIN+3).
# The cluster and its data stay (the node's /var volume); up.sh starts it again in well under a
# minute, reset.sh deletes it. Usage: tooling/cluster/down.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ "$(docker inspect -f '{{.State.Running}}' "$NODE" 2>/dev/null)" = true ]; then
  docker stop -t 30 "$NODE" >/dev/null
  progress "cluster $CLUSTER_NAME stopped (data kept; start again: ./kit cluster up, delete: ./kit cluster reset)"
else
  progress "cluster $CLUSTER_NAME is not running"
fi
