#!/usr/bin/env bash
# down.sh: stops the localkube cluster and puts the host back as up.sh found it. Idempotent (a
# second call finds nothing to do). Every process is stopped by the PID in its pidfile; then
# mounts under the run dir are unmounted, the iptables chains and rules, cni0, the veths, the
# address on lo and the sysctls are restored from the record up.sh made, and the run dir is
# removed. What stays: the cache ($LOCALKUBE_HOME: binaries, image archives, Docker data root).
# Ends with a check of what is left and exits 1 if anything is.
set -uo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
# shellcheck source=net.sh
source "$LK_DIR/net.sh"
# shellcheck source=images.sh
source "$LK_DIR/images.sh"   # docker_down
set +e
need_root

crictl_lk() { timeout 120 "$LK_BIN/crictl" --runtime-endpoint "unix://$CTRD_SOCK" --timeout 60s "$@"; }

# stop_leftover_shims: containerd's shims (and the containers under them) outlive containerd by
# design. Each task's bundle holds shim.pid and init.pid; only those PIDs are signalled, and only
# when the process is really a shim of OUR containerd (its -address) or sits in our cgroup.
stop_leftover_shims() {
  local f pid
  for f in "$CTRD_STATE"/io.containerd.runtime.v2.task/*/*/init.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if [ -n "$pid" ] && grep -q ':/localkube/' "/proc/$pid/cgroup" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
  done
  for f in "$CTRD_STATE"/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -c -- "-address $CTRD_SOCK" >/dev/null; then
      kill -TERM "$pid" 2>/dev/null; sleep 1; kill -KILL "$pid" 2>/dev/null
    fi
  done
}

unmount_under() { # unmount_under DIR: every mount point below DIR, deepest first
  local m i
  for i in 1 2 3; do
    m="$(awk -v p="$1/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r)"
    [ -n "$m" ] || return 0
    echo "$m" | while read -r x; do umount "$x" 2>/dev/null || umount -l "$x" 2>/dev/null; done
  done
}

if [ -d "$LK_RUN" ]; then
  log "stopping the cluster"
  stop_daemon local-path-provisioner
  stop_daemon kube-scheduler
  stop_daemon kube-controller-manager
  stop_daemon kubelet 30
  # Every pod sandbox removed through the CRI: containerd stops the containers and calls the CNI
  # DEL (veth, IP lease, network namespace) for each, which killing it would skip.
  if pid_alive "$LK_PIDS/containerd.pid" && [ -x "$LK_BIN/crictl" ]; then
    crictl_lk rmp --all --force >/dev/null 2>&1 || log "warning: crictl rmp failed; falling back to the shims' pidfiles"
    log "pod sandboxes removed"
  fi
  stop_daemon kube-proxy
  # kube-proxy removes its own iptables rules (both families).
  [ -x "$LK_BIN/kube-proxy" ] && timeout 60 "$LK_BIN/kube-proxy" --cleanup >>"$LK_LOGS/kube-proxy-cleanup.log" 2>&1
  stop_daemon containerd 30
  stop_leftover_shims
  stop_daemon kube-apiserver 30
  stop_daemon etcd 30
fi
docker_down

if [ -d "$LK_RUN" ]; then
  unmount_under "$LK_RUN"
  if [ -f "$LK_HOSTSTATE/recorded" ]; then net_down; fi
  if awk -v p="$LK_RUN/" 'index($5, p) == 1' /proc/self/mountinfo | grep -c . >/dev/null; then
    log "error: mounts remain under $LK_RUN; not removing it:"
    awk -v p="$LK_RUN/" 'index($5, p) == 1 {print "  " $5}' /proc/self/mountinfo >&2
    exit 1
  fi
  # Keep the sysctl record for the leftover check below, then the run dir goes.
  cp "$LK_HOSTSTATE/sysctl.all" "$LK_HOME/.sysctl-before-up" 2>/dev/null
  rm -rf --one-file-system "$LK_RUN"
fi

# ---- what is left? -------------------------------------------------------------------------------
left=0
report() { log "left: $*"; left=1; }
for p in /proc/[0-9]*; do
  exe="$(readlink "$p/exe" 2>/dev/null)" || continue
  case "$exe" in "$LK_BIN"/*) report "process ${p#/proc/} ($exe)"; continue;; esac
  cmd="$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)"
  case "$cmd" in *"$CTRD_SOCK"*|*"$DOCKER_SOCK"*|*"$LK_RUN/containerd/config.toml"*) report "process ${p#/proc/} (${cmd:0:120})";; esac
done
for ipt in iptables ip6tables; do
  if "$ipt"-save 2>/dev/null | grep -c -E "KUBE-|$LK_CHAIN" >/dev/null; then report "$ipt rules: $("$ipt"-save | grep -c -E "KUBE-|$LK_CHAIN")"; fi
done
ip -o addr show dev lo | grep -cw "$NODE_IP/32" >/dev/null && report "address $NODE_IP on lo"
ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && report "interface $CNI_BRIDGE"
ip -o link show type veth 2>/dev/null | grep -c "master $CNI_BRIDGE" >/dev/null && report "veth on $CNI_BRIDGE"
grep -q -e " $LK_HOME/" -e " /run/netns/cni-" /proc/self/mountinfo && report "mounts: $(grep -c -e " $LK_HOME/" -e " /run/netns/cni-" /proc/self/mountinfo)"
for d in /sys/fs/cgroup/*/localkube /sys/fs/cgroup/localkube; do [ -d "$d" ] && report "cgroup $d"; done
[ -d "$LK_RUN" ] && report "run dir $LK_RUN"
if [ -f "$LK_HOME/.sysctl-before-up" ]; then
  # Any sysctl that differs from before up, except counters and values the kernel changes itself.
  d="$(sysctl -a 2>/dev/null | sort | diff "$LK_HOME/.sysctl-before-up" - | grep '^[<>]' \
    | grep -v -E 'random\.(boot_id|uuid|entropy_avail)|\.(dentry-state|inode-nr|inode-state|file-nr)|nf_conntrack_count|fs\.quota|kernel\.ns_last_pid|kernel\.tainted|stat_interval|\.(cni0|veth[0-9a-f]*)\.' )"
  [ -z "$d" ] || { report "sysctls differ from before up:"; echo "$d" >&2; }
  rm -f "$LK_HOME/.sysctl-before-up"
fi
if [ "$left" = 0 ]; then log "down: nothing left (processes, iptables, lo address, cni0, veths, mounts, cgroups, sysctls checked)"; fi
exit "$left"
