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
#
#   skaffold-build.sh auth|chaos   the custom build (skaffold sets IMAGE)
#   skaffold-build.sh --import     the artifact's `after` hook: skaffold gives the built image its
#                                  final tag only after the build command returns, so the import
#                                  into containerd runs here, with SKAFFOLD_IMAGE
set -euo pipefail
target="${1:?usage: skaffold-build.sh auth|chaos|--import}"
# shellcheck source=images.sh
source "$(cd "$(dirname "$0")" && pwd)/images.sh"
if [ "$target" = "--import" ]; then
  : "${SKAFFOLD_IMAGE:?skaffold sets SKAFFOLD_IMAGE in build hooks}"
  # Skaffold deploys a locally built, unpushed image by its immutable image-id tag
  # (<repo>:<id hex>), which it adds to the local daemon itself; give containerd the same name.
  id="$(docker_lk image inspect -f '{{.Id}}' "$SKAFFOLD_IMAGE")"
  by_id="${SKAFFOLD_IMAGE%:*}:${id#sha256:}"
  docker_lk tag "$SKAFFOLD_IMAGE" "$by_id"
  docker_lk save "$SKAFFOLD_IMAGE" "$by_id" | ctr_lk images import - >/dev/null
  log "skaffold: $SKAFFOLD_IMAGE and $by_id imported into the cluster's containerd"
  exit 0
fi
: "${IMAGE:?skaffold sets IMAGE}"
image_node
docker_up
docker_load_archive node
ca="${LOCALKUBE_BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}"
args=()
if [ -n "$ca" ] && [ -s "$ca" ]; then args+=(--secret "id=ca,src=$ca"); fi
log "skaffold: docker build --target $target -t $IMAGE"
DOCKER_BUILDKIT=1 docker_lk build --progress plain -f "$REPO/services/auth/Dockerfile" --target "$target" \
  --build-arg "NODE_IMAGE=$NODE_IMAGE" --network host "${args[@]}" -t "$IMAGE" "${BUILD_CONTEXT:-$REPO}"
