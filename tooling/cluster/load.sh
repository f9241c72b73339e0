#!/usr/bin/env bash
# Loads images from this machine's Docker into the kit's kind cluster (kind load docker-image), as
# an attendee loads a locally built image: the cluster has no registry to pull from. An image the
# node has already (same ID) is skipped by kind itself.
# Usage: tooling/cluster/load.sh NAME|IMAGE...   (NAME: a folder of tooling/install/images, e.g. redis)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
for want in "$@"; do
  image="$want"
  [ ! -f "$KIT_ROOT/tooling/install/images/$want/IMAGE" ] || image="$(image_of "$want")"
  out="$(kind load docker-image --name "$CLUSTER_NAME" "$image" 2>&1)" || die "kind load docker-image $image failed: $out"
  case "$out" in *"already present"*) ;; *) progress "loaded $image into $CLUSTER_NAME" ;; esac
done
