#!/usr/bin/env bash
# The shell settings to use the kit's cluster: its own KUBECONFIG, the built kubectl and kind on
# PATH, and KIND_CLUSTER_NAME (so `kind load docker-image IMAGE`, as the READMEs write it, loads
# into this cluster).
#   eval "$(tooling/cluster/env.sh)"      or      source tooling/cluster/env.sh
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  eval "$(bash "${BASH_SOURCE[0]}")"
  return 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
echo "export KUBECONFIG='$KUBECONFIG_KIT'"
echo "export PATH='$BIN':\"\$PATH\""
echo "export KIND_CLUSTER_NAME='$CLUSTER_NAME'"
