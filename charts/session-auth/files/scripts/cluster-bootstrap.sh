#!/bin/sh
# Sidecar of every Redis Cluster node (redis.topology: cluster). While the local node belongs to no
# cluster (it knows only itself and serves no slot), it looks at every other node:
#   - one of them belongs to a cluster: this node is new or lost its nodes.conf (emptyDir data, a
#     replaced volume): forget whatever node id held this address before, meet the cluster, and
#     replicate the primary with the fewest replicas;
#   - this is pod-0 and every other node answers, alone and empty: form the cluster,
#     `redis-cli --cluster create <every node> --cluster-replicas R --cluster-yes`;
#   - else wait and look again.
# Once the node is a member it only sleeps: a restart with nodes.conf kept needs nothing (the node
# rejoins with its id; its announced address, a Service's ClusterIP, has not changed). So a
# `helm upgrade`, a rollout or a crash never re-runs the creation: it is idempotent by construction.
#
# Environment: the init step's (cluster-init.sh) plus REDIS_REPLICAS (all nodes)
#   CLUSTER_REPLICAS_PER_PRIMARY [REDISCLI_AUTH] [SELF_HOST].
set -u
. "$(dirname "$0")/redis-lib.sh"
ORDINAL="${POD_NAME##*-}"
# A TERM during a nap also stops the nap's sleep (else left running when this is not PID 1 of a container).
nap_pid=""
trap '[ -z "$nap_pid" ] || kill "$nap_pid" 2>/dev/null; exit 0' TERM INT

log() { echo "cluster-bootstrap[$POD_NAME]: $*" >&2; }
nap() { sleep "$1" & nap_pid=$!; wait "$nap_pid"; nap_pid=""; }
idle() { while :; do nap 3600; done; }

# SELF_HOST: where this pod's redis-server listens for its sidecar (a local test gives each node its own).
SELF_HOST="${SELF_HOST:-127.0.0.1}"
local_cmd() { redis_cmd "$SELF_HOST" "$@"; }
cluster_info() { redis_cmd "$1" CLUSTER INFO; }
known_nodes() { echo "$1" | info_field cluster_known_nodes; }
assigned_slots() { echo "$1" | info_field cluster_slots_assigned; }

# Of a node's CLUSTER INFO: is_member, it knows other nodes or serves slots (this node: nothing to
# do); is_alone, neither; is_joinable, a member of a cluster that is whole (state ok), never one
# that `--cluster create` is still forming (its primaries hold slots before they know each other).
is_member() { [ "$(known_nodes "$1")" -gt 1 ] 2>/dev/null || [ "$(assigned_slots "$1")" -gt 0 ] 2>/dev/null; }
is_alone() { [ "$(known_nodes "$1")" = 1 ] && [ "$(assigned_slots "$1")" = 0 ]; }
is_joinable() { [ "$(known_nodes "$1")" -gt 1 ] 2>/dev/null && [ "$(echo "$1" | info_field cluster_state)" = ok ]; }

# join <ip of a member>: this node joins the cluster that node belongs to, as a replica.
join() {
  peer="$1"
  my_ip="$(resolve_ip "$(redis_host "$ORDINAL")")"
  my_id="$(local_cmd CLUSTER MYID)"
  view="$(redis_cmd "$peer" CLUSTER NODES | tr -d '\r')"
  [ -n "$my_ip" ] && [ -n "$my_id" ] && [ -n "$view" ] || return 1
  # The node this address was before (its nodes.conf is gone): forgotten by every member, within
  # the minute FORGET bans an id for, or gossip brings it back. A failed node at this address, or
  # one without an address: a node that pinged its old id here got this node's id back and
  # dropped the address (noaddr). Never one with slots: that shard would be forgotten with it.
  stale="$(echo "$view" | awk -v a="$my_ip:$REDIS_PORT" -v me="$my_id" '{ split($2, x, "@") }
    $1 != me && $3 ~ /fail/ && NF < 9 && (x[1] == a || $3 ~ /noaddr/) { print $1 }')"
  for id in $stale; do
    for ip in $(echo "$view" | awk -v id="$id" '$1 != id { split($2, x, "@"); split(x[1], hp, ":"); print hp[1] }'); do
      redis_cmd "$ip" CLUSTER FORGET "$id" >/dev/null
    done
    log "forgot $id, the failed node this one replaces"
  done
  peer_bus="$(echo "$view" | awk '$3 ~ /myself/ { split($2, x, "@"); split(x[2], b, ","); print b[1] }')"
  local_cmd CLUSTER MEET "$peer" "$REDIS_PORT" "${peer_bus:-$CLUSTER_BUS_PORT}" >/dev/null
  # The primary with the fewest replicas (a shard that lost this node's predecessor), of those up.
  target="$(echo "$view" | awk '
    $3 ~ /master/ && $3 !~ /fail/ && NF >= 9 { m[$1] = 0; order[++n] = $1 }
    $3 ~ /slave/ && $3 !~ /fail/ { r[$4]++ }
    END { best = ""; for (i = 1; i <= n; i++) { id = order[i]; c = r[id] + 0; if (best == "" || c < bc) { best = id; bc = c } } print best }')"
  [ -n "$target" ] || { log "no primary to replicate in $peer's view"; return 1; }
  n=0
  # REPLICATE needs the primary known locally, i.e. the gossip after the MEET.
  while [ "$n" -lt 30 ]; do
    if [ "$(local_cmd CLUSTER REPLICATE "$target")" = "OK" ]; then
      log "joined the cluster through $peer as a replica of $target"; return 0
    fi
    nap 1
    n=$((n + 1))
  done
  log "CLUSTER REPLICATE $target did not succeed within 30s"
  return 1
}

create() {
  addrs=""
  i=0
  while [ "$i" -lt "$REDIS_REPLICAS" ]; do
    addrs="$addrs $(resolve_ip "$(redis_host "$i")"):$REDIS_PORT"
    i=$((i + 1))
  done
  log "every node is up, alone and empty: creating the cluster of$addrs with $CLUSTER_REPLICAS_PER_PRIMARY replica(s) per primary"
  # shellcheck disable=SC2086
  timeout 120 redis-cli --no-auth-warning --cluster create $addrs --cluster-replicas "$CLUSTER_REPLICAS_PER_PRIMARY" --cluster-yes
}

until [ "$(local_cmd PING)" = "PONG" ]; do nap 1; done
while :; do
  mine="$(cluster_info "$SELF_HOST")"
  if is_member "$mine"; then
    log "member of a cluster ($(known_nodes "$mine") nodes known, state $(echo "$mine" | info_field cluster_state)): nothing to do"
    idle
  fi
  member=""
  alone=0
  i=0
  while [ "$i" -lt "$REDIS_REPLICAS" ]; do
    if [ "$i" != "$ORDINAL" ]; then
      ip="$(resolve_ip "$(redis_host "$i")")"
      info=""
      [ -z "$ip" ] || info="$(cluster_info "$ip")"
      if [ -n "$info" ] && is_joinable "$info"; then member="$ip"; break; fi
      if [ -n "$info" ] && is_alone "$info"; then alone=$((alone + 1)); fi
    fi
    i=$((i + 1))
  done
  if [ -n "$member" ]; then
    join "$member" || log "joining through $member failed: retrying"
  elif [ "$ORDINAL" = "0" ] && [ "$alone" -eq $((REDIS_REPLICAS - 1)) ]; then
    create || log "redis-cli --cluster create failed: retrying"
  else
    log "waiting: $alone of $((REDIS_REPLICAS - 1)) other nodes up and alone, none in a whole cluster"
  fi
  nap 2
done
