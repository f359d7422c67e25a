# net.sh: what the cluster changes on the host outside its state dir, and how down.sh puts it
# back. Recorded at up in $LK_HOSTSTATE, undone by net_down from that record:
#   - an extra /32 on lo (node + API server address; this kernel has no dummy interfaces)
#   - sysctls: ip_forward (the bridge plugin and ClusterIP traffic need it), the kernel tunables
#     the kubelet sets at start (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops, ...),
#     and whatever kube-proxy may set (route_localnet, conntrack limits)
#   - iptables: our guard chain, and the KUBE-* chains kubelet and kube-proxy create
#   - cni0 and the pods' veths, the pods' network namespaces in /run/netns, the CNI result cache
#   - the /localkube cgroups the kubelet puts pods under, the kubelet's /var/log/containers links
# Network rule: pods reach only each other, the service range and the node address. They get no
# default route (the CNI config routes only those), CoreDNS has no upstream, and the guard chain
# drops anything forwarded between the pods' bridge and any other interface, and anything
# forwarded to or from the uplink.
# shellcheck shell=bash

# Sysctls restored at down (only those whose value changed, to the value seen at up).
LK_SYSCTLS=(
  net.ipv4.ip_forward
  net.ipv4.conf.all.forwarding net.ipv4.conf.default.forwarding
  net.ipv4.conf.all.route_localnet
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.ipv6.conf.all.forwarding
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes
  net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait net.netfilter.nf_conntrack_tcp_be_liberal
  net.netfilter.nf_conntrack_udp_timeout net.netfilter.nf_conntrack_udp_timeout_stream
  fs.inotify.max_user_instances fs.inotify.max_user_watches
)

uplinks() {
  local u
  u="$(ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}' | sort -u | tr '\n' ' ')"
  echo "${u:-eth0}"
}

# ---- record ----------------------------------------------------------------------------------
net_record_host_state() {
  mkdir -p "$LK_HOSTSTATE"
  [ -f "$LK_HOSTSTATE/recorded" ] && return 0   # a second up of the same run keeps the first record
  local k v
  : > "$LK_HOSTSTATE/sysctl"
  for k in "${LK_SYSCTLS[@]}"; do
    if v="$(sysctl -n "$k" 2>/dev/null)"; then printf '%s=%s\n' "$k" "$v" >> "$LK_HOSTSTATE/sysctl"; fi
  done
  # Per-interface forwarding: setting ip_forward rewrites it on every interface.
  for k in /proc/sys/net/ipv4/conf/*/forwarding; do
    v="$(cat "$k")"; k="${k#/proc/sys/}"; printf '%s=%s\n' "$(echo "$k" | tr / .)" "$v" >> "$LK_HOSTSTATE/sysctl"
  done
  sysctl -a 2>/dev/null | sort > "$LK_HOSTSTATE/sysctl.all" || true
  iptables-save > "$LK_HOSTSTATE/iptables.save" 2>/dev/null || true
  ip6tables-save > "$LK_HOSTSTATE/ip6tables.save" 2>/dev/null || true
  ls -1 /run/netns 2>/dev/null > "$LK_HOSTSTATE/netns" || true
  # iptables-nft creates a table (mangle, nat, ...) the first time a rule goes into it.
  if command -v nft >/dev/null 2>&1; then nft list tables 2>/dev/null > "$LK_HOSTSTATE/nft-tables" || true; fi
  {
    echo "UPLINKS='$(uplinks)'"
    if ip -o addr show dev lo | grep -cw "$NODE_IP/32" >/dev/null; then echo "LO_ADDR_PREEXISTING=1"; else echo "LO_ADDR_PREEXISTING=0"; fi
    for d in /run/netns /var/lib/cni /var/log/containers /run/containerd; do
      if [ -e "$d" ]; then echo "EXISTED_$(echo "$d" | tr '/a-z' '_A-Z')=1"; else echo "EXISTED_$(echo "$d" | tr '/a-z' '_A-Z')=0"; fi
    done
  } > "$LK_HOSTSTATE/net.env"
  touch "$LK_HOSTSTATE/recorded"
}

# ---- up ----------------------------------------------------------------------------------------
net_up() {
  # shellcheck disable=SC1091
  source "$LK_HOSTSTATE/net.env"
  ip -o addr show dev lo | grep -cw "$NODE_IP/32" >/dev/null || ip addr add "$NODE_IP/32" dev lo
  sysctl -qw net.ipv4.ip_forward=1
  # Guard chain in the mangle table: its FORWARD hook runs before filter's, where kube-proxy
  # keeps prepending its own ACCEPT rules, so nothing it adds can get in front of ours.
  if ! iptables -t mangle -S "$LK_CHAIN" >/dev/null 2>&1; then
    iptables -t mangle -N "$LK_CHAIN"
    iptables -t mangle -A "$LK_CHAIN" -i "$CNI_BRIDGE" -o "$CNI_BRIDGE" -j RETURN
    iptables -t mangle -A "$LK_CHAIN" -i "$CNI_BRIDGE" -j DROP -m comment --comment "localkube: pods reach nothing beyond their bridge"
    iptables -t mangle -A "$LK_CHAIN" -o "$CNI_BRIDGE" -j DROP -m comment --comment "localkube: nothing reaches the pods from elsewhere"
    local u
    for u in $UPLINKS; do
      iptables -t mangle -A "$LK_CHAIN" -i "$u" -j DROP -m comment --comment "localkube: no forwarding from the uplink"
      iptables -t mangle -A "$LK_CHAIN" -o "$u" -j DROP -m comment --comment "localkube: no forwarding to the uplink"
    done
  fi
  iptables -t mangle -C FORWARD -j "$LK_CHAIN" 2>/dev/null || iptables -t mangle -I FORWARD 1 -j "$LK_CHAIN"
  # The pods' bridge made here rather than by the CNI plugin at the first pod (the plugin reuses
  # it and finds its gateway address), so that from the start the host routes the pod range AND
  # the service range into it. Without the second route a packet from the host to a ClusterIP
  # that kube-proxy has no rule for (a Service just deleted, an unused address) would follow the
  # default route out of the machine; now it stays on the bridge.
  if ! ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then ip link add "$CNI_BRIDGE" type bridge; fi
  ip -o addr show dev "$CNI_BRIDGE" | grep -cw "$POD_GATEWAY/${POD_CIDR#*/}" >/dev/null || ip addr add "$POD_GATEWAY/${POD_CIDR#*/}" dev "$CNI_BRIDGE"
  ip link set "$CNI_BRIDGE" up
  ip route replace "$SERVICE_CIDR" dev "$CNI_BRIDGE" src "$POD_GATEWAY"
  net_cni_config
  net_cgroups_up
}

net_cni_config() {
  mkdir -p "$LK_RUN/cni/net.d" "$LK_RUN/cni/ipam"
  # Routes: only the service range and the node address (no default route, so no way out);
  # ipMasq off (no NAT towards anything); hairpin so a pod reaches itself through its Service.
  cat > "$LK_RUN/cni/net.d/10-$CNI_NET_NAME.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET_NAME",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$LK_RUN/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}, {"dst": "$NODE_IP/32"}]
      }
    }
  ]
}
EOF
}

# The kubelet puts pods under cgroup /localkube (cgroupRoot), which it expects to exist; one
# named dir per hierarchy makes down's cleanup exact.
net_cgroups_up() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then   # cgroup v2 only
    mkdir -p /sys/fs/cgroup/localkube
    local c
    for c in cpuset cpu io memory pids; do
      grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control && echo "+$c" > /sys/fs/cgroup/localkube/cgroup.subtree_control 2>/dev/null || true
    done
    return 0
  fi
  local h
  for h in /sys/fs/cgroup/*/; do
    [ -f "$h/cgroup.procs" ] || continue
    mkdir -p "$h/localkube"
  done
  # A new cpuset cgroup starts with no CPUs and no memory nodes: copy the root's.
  if [ -d /sys/fs/cgroup/cpuset/localkube ]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus > /sys/fs/cgroup/cpuset/localkube/cpuset.cpus
    cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/localkube/cpuset.mems
  fi
}

# ---- down --------------------------------------------------------------------------------------
# ipt_remove_chains FAMILY(iptables|ip6tables) TABLE REGEX SNAPSHOT: deletes the rules that jump to
# chains matching REGEX, then the chains, but only chains absent from the snapshot taken at up.
ipt_remove_chains() {
  local ipt="$1" table="$2" re="$3" snap="$4" chains c rule
  chains="$("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" {print $2}' | grep -E "$re" || true)"
  [ -n "$chains" ] || return 0
  for c in $chains; do
    if [ -s "$snap" ] && grep -q "^:$c " "$snap"; then chains="$(echo "$chains" | grep -vx "$c")"; fi
  done
  [ -n "$chains" ] || return 0
  # Rules (in any chain) that jump to one of ours, deleted by their own spec.
  while IFS= read -r rule; do
    for c in $chains; do
      case " $rule " in
        *" -j $c "*|*" -g $c "*)
          # shellcheck disable=SC2086
          eval "$ipt -t $table ${rule/-A /-D }" 2>/dev/null || true
          break ;;
      esac
    done
  done < <("$ipt" -t "$table" -S 2>/dev/null | grep '^-A ')
  for c in $chains; do "$ipt" -t "$table" -F "$c" 2>/dev/null || true; done
  for c in $chains; do "$ipt" -t "$table" -X "$c" 2>/dev/null || true; done
}

net_down() {
  local UPLINKS="" LO_ADDR_PREEXISTING=0 EXISTED__RUN_NETNS=1 EXISTED__VAR_LIB_CNI=1 EXISTED__VAR_LOG_CONTAINERS=1 EXISTED__RUN_CONTAINERD=1
  # shellcheck disable=SC1091
  [ -f "$LK_HOSTSTATE/net.env" ] && source "$LK_HOSTSTATE/net.env"

  # Pods' network namespaces left by containerd (crictl rmp normally removes them first).
  local n
  if [ -d /run/netns ]; then
    for n in /run/netns/cni-*; do
      [ -e "$n" ] || continue
      if [ -f "$LK_HOSTSTATE/netns" ] && grep -qx "$(basename "$n")" "$LK_HOSTSTATE/netns"; then continue; fi
      umount "$n" 2>/dev/null || umount -l "$n" 2>/dev/null || true
      rm -f "$n"
    done
    [ "$EXISTED__RUN_NETNS" = 1 ] || rmdir /run/netns 2>/dev/null || true
  fi
  # The bridge and any veth still attached to it.
  local l
  for l in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$l" 2>/dev/null || true
  done
  ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && ip link del "$CNI_BRIDGE"

  # iptables: our guard, then what kubelet/kube-proxy created (kube-proxy --cleanup ran before).
  while iptables -t mangle -D FORWARD -j "$LK_CHAIN" 2>/dev/null; do :; done
  iptables -t mangle -F "$LK_CHAIN" 2>/dev/null || true
  iptables -t mangle -X "$LK_CHAIN" 2>/dev/null || true
  local t
  for t in filter nat mangle raw; do
    ipt_remove_chains iptables "$t" '^KUBE-' "$LK_HOSTSTATE/iptables.save"
    ipt_remove_chains ip6tables "$t" '^KUBE-' "$LK_HOSTSTATE/ip6tables.save"
  done
  # nftables tables that iptables-nft created for our rules and that are empty again.
  if command -v nft >/dev/null 2>&1 && [ -f "$LK_HOSTSTATE/nft-tables" ]; then
    local fam tbl
    while read -r _ fam tbl; do
      grep -qx "table $fam $tbl" "$LK_HOSTSTATE/nft-tables" && continue
      # Empty: no rule line (lines of a ruleset that are not table/chain/type/policy/braces).
      if ! nft list table "$fam" "$tbl" 2>/dev/null | grep -v -E '^\s*(table|chain|type|policy|\}|$)' | grep -c . >/dev/null; then
        nft delete table "$fam" "$tbl" 2>/dev/null || true
      fi
    done < <(nft list tables 2>/dev/null)
  fi
  # Connection tracking entries of pod and service addresses (they would only expire).
  conntrack -D -s "$POD_CIDR" >/dev/null 2>&1 || true
  conntrack -D -d "$POD_CIDR" >/dev/null 2>&1 || true
  conntrack -D -d "$SERVICE_CIDR" >/dev/null 2>&1 || true

  # CNI's result cache (libcni writes it to /var/lib/cni whatever containerd is told).
  if [ -d /var/lib/cni ]; then
    rm -f /var/lib/cni/results/"$CNI_NET_NAME"-* 2>/dev/null || true
    if [ "$EXISTED__VAR_LIB_CNI" = 0 ]; then rm -rf /var/lib/cni; fi
  fi
  # The kubelet's /var/log/containers symlinks point into our run dir.
  if [ -d /var/log/containers ]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$LK_RUN/*" -delete 2>/dev/null || true
    [ "$EXISTED__VAR_LOG_CONTAINERS" = 1 ] || rmdir /var/log/containers 2>/dev/null || true
  fi
  # containerd puts its shims' sockets under /run/containerd/s whatever its state dir is.
  if [ "$EXISTED__RUN_CONTAINERD" = 0 ] && [ -d /run/containerd ]; then
    find /run/containerd -depth -type d -empty -delete 2>/dev/null || true
  fi

  net_cgroups_down

  if [ "$LO_ADDR_PREEXISTING" != 1 ] && ip -o addr show dev lo | grep -cw "$NODE_IP/32" >/dev/null; then
    ip addr del "$NODE_IP/32" dev lo
  fi
  net_restore_sysctls
}

net_cgroups_down() {
  local d
  for d in /sys/fs/cgroup/*/localkube /sys/fs/cgroup/localkube; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [ -d "$d" ] && log "warning: cgroup $d still busy (a process is left in it)"
  done
  return 0
}

net_restore_sysctls() {
  [ -f "$LK_HOSTSTATE/sysctl" ] || return 0
  local line k v cur
  # ip_forward first: writing it resets every interface's forwarding, restored right after.
  for pass in 1 2; do
    while IFS= read -r line; do
      k="${line%%=*}"; v="${line#*=}"
      if [ "$pass" = 1 ] && [ "$k" != net.ipv4.ip_forward ]; then continue; fi
      if [ "$pass" = 2 ] && [ "$k" = net.ipv4.ip_forward ]; then continue; fi
      cur="$(sysctl -n "$k" 2>/dev/null)" || continue
      if [ "$cur" != "$v" ]; then
        sysctl -qw "$k=$v" 2>/dev/null && log "sysctl $k: $cur -> $v (restored)" || log "warning: could not restore sysctl $k=$v"
      fi
    done < "$LK_HOSTSTATE/sysctl"
  done
}
