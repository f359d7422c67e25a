#!/usr/bin/env bash
# skaffold-build.sh TARGET: the custom build of skaffold.yaml's `localkube` profile. Skaffold sets
# $IMAGE (the tag it chose) and $BUILD_CONTEXT; this builds services/auth/Dockerfile's TARGET
# (auth or chaos) into localkube's private dockerd, exactly as images.sh does (local Node.js base
# image, registry CA as a build secret), then imports it into the cluster's containerd.
#
# Why a custom build: skaffold loads locally built images only into kind, k3d and minikube
# clusters; for any other cluster it pushes to a registry. This cluster has no registry, and
# cri-dockerd (which would let the kubelet see dockerd's images) is not served by the module
# proxy here, so the build hands the image to containerd itself. dockerd stays up afterwards:
# skaffold reads the image's id from it (DOCKER_HOST, set by the profile's docs); down.sh stops it.
set -euo pipefail
target="${1:?usage: skaffold-build.sh auth|chaos}"
: "${IMAGE:?skaffold sets IMAGE}"
# shellcheck source=images.sh
source "$(cd "$(dirname "$0")" && pwd)/images.sh"
image_node
docker_up
docker_load_archive node
ca="${LOCALKUBE_BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}"
args=()
if [ -n "$ca" ] && [ -s "$ca" ]; then args+=(--secret "id=ca,src=$ca"); fi
log "skaffold: docker build --target $target -t $IMAGE"
DOCKER_BUILDKIT=1 docker_lk build --progress plain -f "$REPO/services/auth/Dockerfile" --target "$target" \
  --build-arg "NODE_IMAGE=$NODE_IMAGE" --network host "${args[@]}" -t "$IMAGE" "${BUILD_CONTEXT:-$REPO}"
docker_lk save "$IMAGE" | ctr_lk images import - >/dev/null
log "skaffold: $IMAGE imported into the cluster's containerd"
