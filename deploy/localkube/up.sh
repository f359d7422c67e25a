#!/usr/bin/env bash
# up.sh: brings up a real single-node Kubernetes cluster on this machine (no kind, no registry):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy,
# CoreDNS and a default StorageClass. Idempotent: when the cluster is already healthy it only
# prints the KUBECONFIG; when a previous run is half up, down.sh clears it first.
#
#   bash deploy/localkube/up.sh            (npm run kube:up)
#   bash deploy/localkube/up.sh --status   (same as status.sh)
#   bash deploy/localkube/down.sh          (npm run kube:down) undoes everything
#
# Needs root and Debian's containerd, runc, containernetworking-plugins, iptables, conntrack,
# openssl, curl and Go (binaries are built from the Go module proxy on the first run).
# The product's own images: deploy/localkube/images.sh app (docker.io and mmdebstrap as well).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
# shellcheck source=net.sh
source "$LK_DIR/net.sh"
# shellcheck source=pki.sh
source "$LK_DIR/pki.sh"
# shellcheck source=components.sh
source "$LK_DIR/components.sh"
# shellcheck source=addons.sh
source "$LK_DIR/addons.sh"

if [ "${1:-}" = --status ]; then exec bash "$LK_DIR/status.sh"; fi
need_root

hint() {
  echo "KUBECONFIG=$KUBECONFIG_PATH (all facts: $LK_RUN/env)"
  echo "  export KUBECONFIG=$KUBECONFIG_PATH; export PATH=$LK_BIN:\$PATH"
}

t0=$(date +%s)
all_alive() {
  local p
  for p in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy local-path-provisioner; do
    pid_alive "$LK_PIDS/$p.pid" || return 1
  done
}
# Every process alive but not (yet) healthy, e.g. right after a start or on a loaded machine:
# give it a minute before calling it broken and starting over.
if all_alive && ! bash "$LK_DIR/status.sh" --quiet; then
  log "all processes are running; waiting up to 60s for the API server and the node"
  wait_for "a healthy cluster" 60 bash "$LK_DIR/status.sh" --quiet || true
fi
if bash "$LK_DIR/status.sh" --quiet; then
  log "already up and healthy"
  # Idempotent, and picks up a changed LOCALKUBE_DNS_EXTRA_ZONES without a restart.
  addons_apply
  hint
  exit 0
fi
if [ -d "$LK_RUN" ]; then
  log "a previous run is partly up: clearing it with down.sh first"
  bash "$LK_DIR/down.sh"
fi

missing=""
for c in containerd runc iptables ip6tables iptables-save conntrack openssl curl go ctr setsid mmdebstrap; do
  command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -x "$CNI_BIN_DIR/bridge" ] && [ -x "$CNI_BIN_DIR/host-local" ] || missing="$missing containernetworking-plugins($CNI_BIN_DIR)"
[ -z "$missing" ] || die "missing:$missing (Debian: apt-get install containerd runc containernetworking-plugins iptables conntrack openssl curl mmdebstrap; Go >= 1.25)"

on_error() {
  log "up failed: logs in $LK_LOGS; run deploy/localkube/down.sh to clean up"
}
trap on_error ERR

bash "$LK_DIR/build.sh"
bash "$LK_DIR/images.sh" cluster

mkdir -p "$LK_RUN" "$LK_PIDS" "$LK_LOGS"
# First of all, before anything changes: what the host looks like, for down.sh.
net_record_host_state
net_up
pki_make_all

start_etcd
start_apiserver
start_controller_manager
start_scheduler
start_containerd
bash "$LK_DIR/images.sh" load
start_kubelet
start_kube_proxy
wait_for "node $NODE_NAME Ready" 120 sh -c \
  "'$LK_BIN/kubectl' --kubeconfig '$KUBECONFIG_PATH' get node '$NODE_NAME' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
wait_for "default service account" 60 "$LK_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" -n default get serviceaccount default
addons_apply
start_local_path_provisioner
addons_wait

# For tools and tests: the cluster's facts as KEY=value lines (test/kube reads it).
cat > "$LK_RUN/env" <<EOF
KUBECONFIG=$KUBECONFIG_PATH
LOCALKUBE_HOME=$LK_HOME
LOCALKUBE_BIN=$LK_BIN
LOCALKUBE_NODE_NAME=$NODE_NAME
LOCALKUBE_NODE_IP=$NODE_IP
LOCALKUBE_SERVICE_CIDR=$SERVICE_CIDR
LOCALKUBE_POD_CIDR=$POD_CIDR
LOCALKUBE_CLUSTER_DNS=$DNS_SVC_IP
LOCALKUBE_CONTAINERD_SOCK=$CTRD_SOCK
EOF
log "up in $(( $(date +%s) - t0 ))s"
hint
