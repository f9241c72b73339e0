#!/usr/bin/env bash
# Makes the local cluster's volumes whose claims were deleted (a test's namespace is gone)
# empty and Available again, so the next StatefulSet's claim binds. Used by the e2e tests.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
running kube-apiserver && api_ok || exit 0
recycle_pvs
