#!/bin/sh
# Init step of a Redis Cluster node (redis.topology: cluster): write /config/redis.conf, and hold a
# restarted primary back until its shard has been failed over.
#
# A node's cluster state (its id, its role, its slots, its peers' ids and addresses) is
# /data/nodes.conf, on the PVC (or the pod's emptyDir) beside the AOF; redis-server reads it at
# start and rejoins with the same id. Every node announces its own per-pod Service's ClusterIP
# (cluster-announce-ip), not its pod IP: a recreated pod gets a new pod IP, and a cluster whose
# nodes all restart at once would find none of the addresses in its nodes.conf again. The Service
# name itself is announced as cluster-announce-hostname (CLUSTER NODES / SHARDS show it; the chaos
# runner maps a node to its pod by it); clients are sent to the IP (cluster-preferred-endpoint-type).
#
# The rule that matters, as for Sentinel (redis-init.sh): a restarted primary whose shard has a
# healthy replica does not resume as primary before the cluster has failed it over. The
# StatefulSet recreates a deleted pod within seconds, about when the replica's election runs;
# resuming then races it (for a moment two primaries of the same slots, and a fault that may or
# may not end in a failover). The process is gone, so the failover comes anyway: waiting costs
# nothing it does not already cost. Decision table (also in the chart README):
#
#   nodes.conf says           | its peers say                                  | decision
#   --------------------------|------------------------------------------------|-----------------------------
#   nothing (fresh, or lost)  | -                                              | start (cluster-bootstrap.sh forms or re-adds it)
#   this node is a replica    | -                                              | start (it resyncs from its primary)
#   primary of slots          | another node serves its first slot             | start: it rejoins as that node's replica
#   primary of slots          | a healthy replica of it, the slots still its   | wait (up to INIT_WAIT_SECONDS), then start
#   primary of slots          | no healthy replica of it, or no peer answers   | start at once (nobody to fail over to;
#                             |                                                | a whole-cluster restart)
#
# Environment: POD_NAME POD_NAMESPACE CLUSTER_DOMAIN REDIS_STS REDIS_HEADLESS REDIS_PORT
#   CLUSTER_BUS_PORT CLUSTER_NODE_TIMEOUT_MS INIT_WAIT_SECONDS MIN_REPLICAS_TO_WRITE
#   MIN_REPLICAS_MAX_LAG APPENDFSYNC MAXMEMORY [REDIS_PASSWORD] [CONFIG_DIR] [DATA_DIR]
#   [EXTRA_CONFIG_FILE] [DNS_SUFFIX] [REDIS_SUBDOMAIN]
set -eu

CONFIG_DIR="${CONFIG_DIR:-/config}"
DATA_DIR="${DATA_DIR:-/data}"
CONF="$CONFIG_DIR/redis.conf"
NODES_CONF="$DATA_DIR/nodes.conf"
. "$(dirname "$0")/redis-lib.sh"
MY_HOST="${POD_NAME}${REDIS_SUBDOMAIN}${DNS_SUFFIX}"

log() { echo "cluster-init[$POD_NAME]: $*" >&2; }

# The address to announce: this pod's own Service. Helm creates Services before the StatefulSet,
# but cluster DNS may take a moment to serve a new one.
deadline=$(( $(date +%s) + INIT_WAIT_SECONDS ))
MY_IP="$(resolve_ip "$MY_HOST")"
while [ -z "$MY_IP" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then log "$MY_HOST does not resolve: exiting to retry"; exit 1; fi
  sleep 1
  MY_IP="$(resolve_ip "$MY_HOST")"
done

# peer_view <ip> <port>: that node's CLUSTER NODES, empty when it does not answer.
peer_view() { cli "${REDIS_PASSWORD:-}" "$1" "$2" CLUSTER NODES | tr -d '\r'; }

# A restarted primary with a replica: wait until a peer says another node serves its slots.
hold_back_primary() {
  mine="$(awk '$3 ~ /myself/' "$NODES_CONF")"
  case "$(echo "$mine" | awk '{ print $3 }')" in *master*) ;; *) log "nodes.conf: a replica: starting"; return ;; esac
  my_id="$(echo "$mine" | awk '{ print $1 }')"
  first_slot="$(echo "$mine" | awk '{ for (i = 9; i <= NF; i++) if ($i !~ /^\[/) { split($i, r, "-"); print r[1]; exit } }')"
  if [ -z "$first_slot" ]; then log "nodes.conf: a primary without slots: starting"; return; fi
  peers="$(awk '$3 !~ /myself/ { split($2, a, "@"); n = split(a[1], hp, ":"); print hp[1], hp[n] }' "$NODES_CONF")"
  log "nodes.conf: primary $my_id of slot $first_slot and more; asking its peers before resuming"
  while :; do
    answered=""
    healthy_replica=""
    for hp in $(echo "$peers" | tr ' ' ':'); do
      view="$(peer_view "${hp%:*}" "${hp##*:}")"
      [ -n "$view" ] || continue
      answered=1
      owner="$(echo "$view" | awk -v s="$first_slot" '$3 ~ /master/ && $3 !~ /fail/ {
        for (i = 9; i <= NF; i++) { if ($i ~ /^\[/) continue; n = split($i, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1]);
          if (s + 0 >= lo + 0 && s + 0 <= hi + 0) { print $1; exit } } }')"
      if [ -n "$owner" ] && [ "$owner" != "$my_id" ]; then
        log "$hp names $owner as the primary of slot $first_slot: starting (it rejoins as a replica)"; return
      fi
      if echo "$view" | awk -v id="$my_id" '$4 == id && $3 ~ /slave/ && $3 !~ /fail|noaddr|handshake/ && $8 == "connected" { found = 1 } END { exit !found }'; then
        healthy_replica=1
      fi
    done
    if [ -z "$answered" ]; then log "no peer answers: starting as primary (first of a whole-cluster restart)"; return; fi
    if [ -z "$healthy_replica" ]; then log "no peer sees a healthy replica of this node: starting as primary"; return; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then log "no failover within ${INIT_WAIT_SECONDS}s: starting anyway (the higher config epoch wins)"; return; fi
    log "a replica of this node is healthy and its slots are still this node's: waiting for the failover (never resume as primary: it would race it)"
    sleep 1
  done
}

deadline=$(( $(date +%s) + INIT_WAIT_SECONDS ))
if [ -s "$NODES_CONF" ]; then hold_back_primary; else log "no nodes.conf: a new node"; fi

mkdir -p "$CONFIG_DIR"
umask 077
{
  echo "# generated by cluster-init.sh"
  conf_base
  echo "cluster-enabled yes"
  echo "cluster-config-file nodes.conf"
  echo "cluster-node-timeout $CLUSTER_NODE_TIMEOUT_MS"
  # A shard without a primary stops only its own slots; the default (yes) stops every shard.
  echo "cluster-require-full-coverage no"
  # Each shard keeps its own replicas: one does not wander off to a shard that lost its last one.
  echo "cluster-allow-replica-migration no"
  echo "cluster-announce-ip $MY_IP"
  echo "cluster-announce-port $REDIS_PORT"
  echo "cluster-announce-bus-port $CLUSTER_BUS_PORT"
  echo "cluster-announce-hostname $MY_HOST"
  echo "cluster-preferred-endpoint-type ip"
  # CLUSTER SLOTS lists a replica only once its offset moved: a ping a second (default 10 s) moves
  # it on an idle shard, so clients discover replicas soon after the start (their reads need them).
  echo "repl-ping-replica-period 1"
  # A shard's durable writes wait for its replica (WAIT): a full sync to a returning replica starts
  # at once instead of after 5 s spent waiting for more replicas to share it.
  echo "repl-diskless-sync-delay 0"
  echo "min-replicas-to-write $MIN_REPLICAS_TO_WRITE"
  echo "min-replicas-max-lag $MIN_REPLICAS_MAX_LAG"
  conf_auth
} > "$CONF"
log "wrote $CONF (announcing $MY_IP, $MY_HOST)"
