# lib.sh: what every localkube script shares: where things live, the cluster's addresses, and
# how a process is started and stopped (always by the PID in its pidfile, never by name).
# Sourced, not run.
# shellcheck shell=bash disable=SC2034  # sourced: the variables are used by the scripts that source it
# Note for pipelines: the scripts run with pipefail, so a test is `cmd | grep -c PATTERN >/dev/null`,
# never `cmd | grep -q`: grep -q exits at the first match and cmd may then die of SIGPIPE, which
# pipefail turns into "no match".

LK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$LK_DIR/versions.sh"

# ---- Where things live ---------------------------------------------------------------------
# LOCALKUBE_HOME keeps what is worth keeping between runs (built binaries, the Go-built tools,
# image tarballs, the Docker data root with its build cache). RUN holds one cluster's state
# (etcd data, PKI, logs, pids, containerd and kubelet dirs) and is wiped by down.sh.
LK_HOME="${LOCALKUBE_HOME:-$HOME/.cache/session-auth/localkube}"
LK_BIN="$LK_HOME/bin"
LK_IMAGES="$LK_HOME/images"
LK_RUN="$LK_HOME/run"
LK_PIDS="$LK_RUN/pids"
LK_LOGS="$LK_RUN/logs"
LK_PKI="$LK_RUN/pki"
LK_HOSTSTATE="$LK_RUN/host-state"       # what the host looked like before up (restored by down)
KUBECONFIG_PATH="$LK_RUN/kubeconfig"    # admin kubeconfig for the user and the tests

# containerd of the cluster (its own instance, not the system's nor dockerd's).
CTRD_ROOT="$LK_RUN/containerd/root"
CTRD_STATE="$LK_RUN/containerd/state"
CTRD_SOCK="$LK_RUN/containerd/containerd.sock"
# dockerd (image builds only): data root cached, runtime files under RUN-independent dir so that
# images.sh works with the cluster down too; down.sh stops it and wipes the runtime dir as well.
DOCKER_DATA="$LK_HOME/docker"
DOCKER_EXEC="$LK_HOME/docker-run"
DOCKER_SOCK="$DOCKER_EXEC/docker.sock"
DOCKER_PIDFILE="$DOCKER_EXEC/dockerd.pid"

# ---- Addresses (all on this machine) -------------------------------------------------------
# The kernel has no dummy interfaces: an extra /32 on lo is the node and API server address.
NODE_NAME="${LOCALKUBE_NODE_NAME:-localkube}"
NODE_IP="${LOCALKUBE_NODE_IP:-10.200.0.1}"
API_PORT="${LOCALKUBE_API_PORT:-6443}"
SERVICE_CIDR="${LOCALKUBE_SERVICE_CIDR:-10.96.0.0/16}"
KUBERNETES_SVC_IP="10.96.0.1"     # first address of SERVICE_CIDR
DNS_SVC_IP="10.96.0.10"
POD_CIDR="${LOCALKUBE_POD_CIDR:-10.244.0.0/24}"
POD_GATEWAY="10.244.0.1"
CLUSTER_DOMAIN="cluster.local"
# Further zones CoreDNS answers for the cluster's Services and pods, besides CLUSTER_DOMAIN (space
# separated): for a chart installed with another `clusterDomain`, as its custom test values do.
DNS_EXTRA_ZONES="${LOCALKUBE_DNS_EXTRA_ZONES:-}"
CNI_NET_NAME="localkube"
CNI_BRIDGE="cni0"
CNI_BIN_DIR="${LOCALKUBE_CNI_BIN_DIR:-/usr/lib/cni}"   # Debian's containernetworking-plugins
# etcd on loopback, off its well-known ports so that another etcd on this machine is left alone.
ETCD_CLIENT_URL="http://127.0.0.1:12379"
ETCD_PEER_URL="http://127.0.0.1:12380"
# Our iptables chain (filter and mangle tables); down.sh removes it by this name.
LK_CHAIN="LOCALKUBE-GUARD"

# Image names as the cluster sees them (containerd normalises them to docker.io/...).
PAUSE_IMAGE="localkube/pause:$PAUSE_TAG"
COREDNS_IMAGE="localkube/coredns:$COREDNS_VERSION"
DEBIAN_IMAGE="localkube/debian:$DEBIAN_SUITE"
NODE_IMAGE="localkube/node:$NODE_VERSION"
REDIS_IMAGE_REPO="localkube/redis"
APP_IMAGE="${LOCALKUBE_APP_IMAGE:-session-auth:local}"
CHAOS_IMAGE="${LOCALKUBE_CHAOS_IMAGE:-session-auth-chaos:local}"

# ---- Small helpers ---------------------------------------------------------------------------
log() { echo "[localkube +${SECONDS}s] $*" >&2; }
die() { echo "[localkube] error: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it starts containerd, kubelet, sets iptables rules and an address on lo)"; }

kubectl_lk() { "$LK_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
ctr_lk() { ctr --address "$CTRD_SOCK" --namespace k8s.io "$@"; }
docker_lk() { DOCKER_HOST="unix://$DOCKER_SOCK" DOCKER_CONFIG="$LK_HOME/docker-client" /usr/bin/docker "$@"; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every second until it succeeds.
wait_for() {
  local what="$1" secs="$2"; shift 2
  local i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge "$secs" ]; then log "timed out after ${secs}s waiting for $what"; return 1; fi
    sleep 1
  done
}

# ---- Processes: started with a pidfile, stopped by that PID --------------------------------
# A pidfile holds "PID STARTTIME" (field 22 of /proc/PID/stat). Checking the start time as well
# means a recycled PID is never mistaken for ours and never signalled.
proc_starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

# pid_alive PIDFILE: true when the process recorded in PIDFILE is still the one we started.
pid_alive() {
  local f="$1" pid st
  [ -f "$f" ] || return 1
  read -r pid st < "$f" || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ -z "$st" ] || [ "$(proc_starttime "$pid")" = "$st" ]
}

write_pidfile() { echo "$1 $(proc_starttime "$1")" > "$2"; }

# start_daemon NAME COMMAND...: runs COMMAND in the background in its own session, output to
# logs/NAME.log, PID to pids/NAME.pid. No-op when NAME is already running.
start_daemon() {
  local name="$1"; shift
  local pf="$LK_PIDS/$name.pid"
  mkdir -p "$LK_PIDS" "$LK_LOGS"
  if pid_alive "$pf"; then return 0; fi
  setsid "$@" >>"$LK_LOGS/$name.log" 2>&1 < /dev/null &
  local pid=$!
  write_pidfile "$pid" "$pf"
  log "started $name (pid $pid, log $LK_LOGS/$name.log)"
}

# stop_pidfile PIDFILE [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 15); removes the
# pidfile. Only ever signals the PID recorded there, and only if it is still that process.
stop_pidfile() {
  local f="$1" secs="${2:-15}" pid st i
  [ -f "$f" ] || return 0
  if pid_alive "$f"; then
    read -r pid st < "$f"
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while pid_alive "$f" && [ "$i" -lt $((secs * 5)) ]; do sleep 0.2; i=$((i + 1)); done
    if pid_alive "$f"; then
      log "pid $pid ($(basename "$f" .pid)) ignored SIGTERM for ${secs}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    log "stopped $(basename "$f" .pid) (pid $pid)"
  fi
  rm -f "$f"
}

stop_daemon() { stop_pidfile "$LK_PIDS/$1.pid" "${2:-15}"; }
