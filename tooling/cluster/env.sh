#!/usr/bin/env bash
# The shell settings to use the local cluster: KUBECONFIG and the built kubectl on PATH.
#   eval "$(tooling/cluster/env.sh)"      or      source tooling/cluster/env.sh
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  eval "$(bash "${BASH_SOURCE[0]}")"
  return 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
echo "export KUBECONFIG='$KUBECONFIG_ADMIN'"
echo "export PATH='$BIN':\"\$PATH\""
