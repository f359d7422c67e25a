#!/usr/bin/env bash
# status.sh [--quiet]: is the localkube cluster up and healthy? Exit 0 when every process from
# its pidfile is alive, the API server's /readyz is ok and the node is Ready; 1 otherwise.
set -uo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
# shellcheck source=components.sh
source "$LK_DIR/components.sh"
quiet=0
[ "${1:-}" = --quiet ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "$*"; }

ok=0
for p in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy local-path-provisioner; do
  if pid_alive "$LK_PIDS/$p.pid"; then say "  $p: running (pid $(cut -d' ' -f1 "$LK_PIDS/$p.pid"))"
  else say "  $p: not running"; ok=1; fi
done
if [ "$ok" = 0 ] && api_readyz; then say "  kube-apiserver /readyz: ok"; else say "  kube-apiserver /readyz: not ok"; ok=1; fi
if [ "$ok" = 0 ]; then
  ready="$(kubectl_lk get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)"
  if [ "$ready" = True ]; then say "  node $NODE_NAME: Ready"; else say "  node $NODE_NAME: not Ready"; ok=1; fi
fi
if [ "$ok" = 0 ]; then
  say "localkube is up. export KUBECONFIG=$KUBECONFIG_PATH"
else
  say "localkube is not (fully) up."
fi
exit "$ok"
