#!/usr/bin/env bash
# build.sh: builds the pinned Kubernetes components, etcd and CoreDNS from the Go module proxy
# into $LOCALKUBE_HOME/bin (default ~/.cache/session-auth/localkube). Idempotent: a component
# whose binary already reports the pinned version is not rebuilt, and Go's build cache makes a
# rebuild after a wipe of bin/ take seconds.
#
# Why a throwaway module: k8s.io/kubernetes cannot be `go install`ed, because its go.mod replaces
# every k8s.io/<staging> module with ./staging/src/...; a module of our own that requires it and
# maps each of those to its published v0.X.Y builds the same sources.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
home="${LOCALKUBE_HOME:-$HOME/.cache/session-auth/localkube}"
bin="$home/bin"
work="$home/build"
mkdir -p "$bin" "$work"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { echo "[localkube build] $*" >&2; }

have_version() { # have_version BINARY WANT: true when the built binary already reports WANT
  [ -x "$bin/$1" ] && [ -f "$bin/.$1.version" ] && [ "$(cat "$bin/.$1.version")" = "$2" ]
}

# ---- Kubernetes ---------------------------------------------------------------------------
k8s_bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
need_k8s=()
for b in "${k8s_bins[@]}"; do have_version "$b" "$KUBERNETES_VERSION" || need_k8s+=("$b"); done
if [ ${#need_k8s[@]} -gt 0 ]; then
  mod="$work/kubernetes-$KUBERNETES_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.mod" ]; then
    log "resolving k8s.io/kubernetes@$KUBERNETES_VERSION"
    upstream_mod="$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    staging_version="v0${KUBERNETES_VERSION#v1}"
    {
      echo "module localkube.invalid/kubernetes"
      echo
      echo "go $(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')"
      echo
      echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
      echo
      echo "replace ("
      # Each `k8s.io/x => ./staging/src/k8s.io/x` line of upstream's replace block.
      sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$upstream_mod"
      echo ")"
    } > "$mod/go.mod.tmp"
    mv "$mod/go.mod.tmp" "$mod/go.mod"
  fi
  log "building ${need_k8s[*]} $KUBERNETES_VERSION (about 12 min on 2 cores when the Go cache is cold)"
  pkgs=()
  for b in "${need_k8s[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$mod" && go build -trimpath -o "$bin/" \
     -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)" \
     "${pkgs[@]}")
  for b in "${need_k8s[@]}"; do echo "$KUBERNETES_VERSION" > "$bin/.$b.version"; done
fi

# ---- etcd ---------------------------------------------------------------------------------
if ! have_version etcd "$ETCD_VERSION"; then
  mod="$work/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  # etcd's own main module replaces its sibling modules with relative paths too; etcdmain from
  # the published server module is the same entry point.
  cat > "$mod/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  if [ ! -f "$mod/go.mod" ]; then
    printf 'module localkube.invalid/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
      "$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')" "$ETCD_VERSION" > "$mod/go.mod"
  fi
  log "building etcd $ETCD_VERSION"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" .)
  echo "$ETCD_VERSION" > "$bin/.etcd.version"
fi

# ---- plain `go install`s (no replace directives) --------------------------------------------
# go_tool NAME VERSION PACKAGE: installs PACKAGE@VERSION into bin/ unless NAME is already there
# at VERSION.
go_tool() {
  have_version "$1" "$2" && return 0
  log "building $1 $2"
  GOBIN="$bin" go install -trimpath -ldflags "-s -w" "$3@$2"
  echo "$2" > "$bin/.$1.version"
}
go_tool coredns "$COREDNS_VERSION" github.com/coredns/coredns
# crictl: down.sh removes every pod sandbox through the CRI, so that containerd itself tears down
# their networking (veths, IP leases, network namespaces) before it is stopped.
go_tool crictl "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl
# local-path-provisioner: the default StorageClass, so the chart's Redis PVCs bind as on a real
# cluster (rancher's well-kept provisioner rather than a hostPath script of our own).
go_tool local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" github.com/rancher/local-path-provisioner
# Prometheus with kubernetes_sd (about 4 min cold): Debian's prometheus package is built without
# the Kubernetes service discovery ("field kubernetes_sd_configs not found"), and the chaos
# runner's --observe on this cluster finds the release's pods through the API server as the
# ServiceMonitor would.
go_tool prometheus "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/prometheus
log "ok: $bin"
