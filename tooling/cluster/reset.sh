#!/usr/bin/env bash
# Wipes the local cluster: stops it (down.sh), then deletes its data (etcd, kubelet, certificates,
# volumes, logs), the iptables chains it and its components created, the bridge cni0 and the
# kubelet's cgroups, and restores the kernel settings kubelet/kube-proxy changed. Keeps the built binaries and the pause/CoreDNS images (--images removes
# those images and kube-selfops/smoke:1 too). Usage: tooling/cluster/reset.sh [--images]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export PATH="$PATH:/usr/sbin:/sbin"
is_root || die "reset.sh needs root (iptables, the bridge, cgroups)."

"$CLUSTER_DIR/down.sh"

# kube-proxy's own cleanup first (it knows its rules), then every chain left by the kubelet
# (KUBE-FIREWALL, KUBE-KUBELET-CANARY, ...), CNI plugins (CNI-*) and up.sh (KIT-CLUSTER):
# drop the jumps to them from the built-in chains, then flush and delete them. Docker's chains
# have other names and stay untouched.
[ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  for table in filter nat mangle; do
    chains="$("$ipt-save" -t "$table" 2>/dev/null | sed -nE 's/^:((KUBE-|CNI-|'"$FW_CHAIN"')[^ ]*) .*/\1/p')"
    [ -n "$chains" ] || continue
    { "$ipt-save" -t "$table" || true; } | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|CNI-|'"$FW_CHAIN"')' |
      while read -r rule; do eval "$ipt -w -t $table -D ${rule#-A }" || true; done || true
    for c in $chains; do "$ipt" -w -t "$table" -F "$c" 2>/dev/null || true; done
    for c in $chains; do "$ipt" -w -t "$table" -X "$c" 2>/dev/null || true; done
    progress "$ipt $table: removed $(echo "$chains" | wc -w) chains"
  done
done
if [ -f "$CLUSTER_CACHE/sysctl.orig" ]; then
  while read -r k v; do echo "$v" >"/proc/sys/$k" 2>/dev/null || progress "could not restore $k=$v"; done <"$CLUSTER_CACHE/sysctl.orig"
  rm -f "$CLUSTER_CACHE/sysctl.orig"
  progress "restored the kernel settings from before the first up.sh"
fi
if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; progress "removed bridge $BRIDGE"; fi

# The kubelet's cgroups (empty once the pods are gone), innermost first.
for d in /sys/fs/cgroup/*/kubepods; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done
# Kubelet bind-mounts (secrets, tokens) under its root dir must go before the files.
if [ -d "$DATA/kubelet" ]; then
  # (The kubelet also bind-mounts its root dir onto itself.)
  awk -v d="$DATA/kubelet" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
fi
rm -rf "$DATA" "$PKI" "$RUN" "$PV_DIR"
# Pod logs: the kubelet writes them to fixed places; nothing else on this machine uses them.
rm -rf /var/log/pods /var/log/containers
progress "removed cluster data, certificates and volumes under $CLUSTER_CACHE (binaries kept)"

if [ "${1:-}" = --images ]; then
  for img in "$PAUSE_IMAGE" "$COREDNS_IMAGE" kube-selfops/smoke:1; do
    docker image inspect "$img" >/dev/null 2>&1 && docker rmi "$img" >/dev/null && progress "removed image $img"
  done
fi
progress "cluster reset"
