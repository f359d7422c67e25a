#!/bin/sh
# Exercises files/scripts/cluster-init.sh, cluster-bootstrap.sh and cluster-prestop.sh with real
# redis-server processes on loopback IPs (one per "pod", as each pod has its Service's ClusterIP);
# the pods' Service names resolve through a private /etc/hosts. Needs root for the private mount
# namespace. test/redis-sims.test.ts runs it (about 12 s) and asserts what it prints; the real-cluster
# e2e runs the scripts on Kubernetes:
#   sudo unshare -m --propagation private sh charts/session-auth/test/redis-cluster-sim.sh
set -u
S="$(cd "$(dirname "$0")/../files/scripts" && pwd)"
B="${TMPDIR:-/tmp}/redis-cluster-sim"; rm -rf "$B"; mkdir -p "$B"
N=6
for i in 0 1 2 3 4 5; do echo "127.0.3.$((i+1)) sa-redis-$i.ns.svc.local"; done > "$B.hosts"
mount --bind "$B.hosts" /etc/hosts
export POD_NAMESPACE=ns CLUSTER_DOMAIN=local TOPOLOGY=cluster REDIS_STS=sa-redis REDIS_HEADLESS=sa-redis-headless REDIS_PORT=7379 \
  REDIS_REPLICAS=$N REDIS_SUBDOMAIN= SENTINEL_STS=sa-sentinel SENTINEL_HEADLESS=sa-sentinel-headless SENTINEL_SUBDOMAIN= \
  SENTINEL_PORT=26379 CLUSTER_BUS_PORT=17379 CLUSTER_PRIMARIES=3 CLUSTER_REPLICAS_PER_PRIMARY=1 CLUSTER_NODE_TIMEOUT_MS=1000 \
  INIT_WAIT_SECONDS=15 MIN_REPLICAS_TO_WRITE=0 MIN_REPLICAS_MAX_LAG=10 APPENDFSYNC=everysec MAXMEMORY= REDIS_PASSWORD=rpw \
  REDISCLI_AUTH=rpw PRESTOP_WAIT_SECONDS=10 PRESTOP_HANDOVER_AFTER_SECONDS=0.5
ip() { echo "127.0.3.$(($1+1))"; }
# init <i> [exec]: cluster-init.sh of pod i (exec: when run by bg).
init() { ${2:-} env POD_NAME="sa-redis-$1" CONFIG_DIR="$B/r$1/config" DATA_DIR="$B/r$1/data" sh "$S/cluster-init.sh"; }
. "$(dirname "$0")/sim-procs.sh"
start() {
  sed -i "s/^bind .*/bind $(ip "$1")/" "$B/r$1/config/redis.conf"
  printf 'logfile %s\n' "$B/r$1/log" >> "$B/r$1/config/redis.conf"
  bg "r$1" redis-server "$B/r$1/config/redis.conf"
}
# The sidecar and the preStop talk to "their" node at SELF_HOST: here each node has its own loopback IP.
bootstrap() { bg "boot$1" env SELF_HOST="$(ip "$1")" POD_NAME="sa-redis-$1" sh "$S/cluster-bootstrap.sh" > "$B/boot$1.log" 2>&1; }
stop_boot() { stop "boot$1"; }
cmd() { h=$(ip "$1"); shift; redis-cli --no-auth-warning -h "$h" -p 7379 "$@"; }
nodes() { cmd 0 CLUSTER NODES | awk '{ split($2, a, "@"); print a[1], $3, ($9 ? $9 : "") }' | sort; }
state() { cmd "$1" CLUSTER INFO | tr -d '\r' | sed -n 's/^cluster_state://p'; }
wait_ok() { for _ in $(seq 1 60); do bad=0; for i in 0 1 2 3 4 5; do [ "$(state "$i")" = ok ] || bad=1; done; [ "$bad" = 0 ] && return 0; sleep 0.5; done; echo "cluster_state not ok everywhere"; return 1; }
# Every replica's replication link up (its initial sync done): a replica that never synced may not be promoted.
wait_linked() {
  for _ in $(seq 1 60); do
    down=0
    for i in 0 1 2 3 4 5; do
      r=$(cmd "$i" INFO replication | tr -d '\r')
      case "$r" in *role:slave*) echo "$r" | grep -q '^master_link_status:up' || down=1 ;; esac
    done
    [ "$down" = 0 ] && return 0; sleep 0.5
  done
  echo "replicas not linked"; return 1
}
for i in 0 1 2 3 4 5; do mkdir -p "$B/r$i/data"; done

echo "== fresh install: every init, every server, every sidecar"
for i in 0 1 2 3 4 5; do bg "init$i" init "$i" exec; done
for i in 0 1 2 3 4 5; do wait "$(pid_of "init$i")"; rm -f "$B/pid/init$i"; done
grep -E '^cluster-announce' "$B/r1/config/redis.conf"
for i in 0 1 2 3 4 5; do start "$i"; bootstrap "$i"; done
wait_ok || exit 1; wait_linked || exit 1; nodes
# A durable write as the app does it: SET, then WAIT for the shard's replica on the same connection.
echo "SET {b}k v + WAIT 1: $(printf 'SET {b}k v\nWAIT 1 2000\n' | cmd 0 -c | tr '\n' ' ')"
cat "$B/boot0.log" | grep -v waiting | tail -3

P=$(cmd 0 CLUSTER NODES | awk '$3 ~ /master/ && $9 ~ /^0-/ { split($2, a, "@"); split(a[1], h, ":"); print h[1] }')
i=$(( ${P##*.} - 1 ))
echo "slot of {b}k: $(cmd 0 CLUSTER KEYSLOT '{b}k')"
echo "== kill -9 the primary of slot 0 (pod $i) and restart it at once with its nodes.conf"
kill9 "r$i"; t0=$(date +%s)
init "$i"; echo "init held it back $(( $(date +%s) - t0 )) s"
start "$i"; wait_ok; wait_linked; nodes

echo "== a replica loses its volume (nodes.conf and AOF) and comes back empty"
R=$(cmd 0 CLUSTER NODES | awk '$3 ~ /slave/ { split($2, a, "@"); split(a[1], h, ":"); print h[1]; exit }')
j=$(( ${R##*.} - 1 ))
kill9 "r$j"; stop_boot "$j"; rm -rf "$B/r$j/data"; mkdir -p "$B/r$j/data"
sleep 3
init "$j"; start "$j"; bootstrap "$j"
for _ in $(seq 1 40); do grep -q joined "$B/boot$j.log" && break; sleep 0.5; done
grep -E 'forgot|joined' "$B/boot$j.log"; wait_ok; wait_linked; nodes

P=$(cmd 0 CLUSTER NODES | awk '$3 ~ /master/ && $9 ~ /^0-/ { split($2, a, "@"); split(a[1], h, ":"); print h[1] }')
k=$(( ${P##*.} - 1 ))
echo "== graceful stop of the primary of slot 0 (pod $k): its preStop hands over"
SELF_HOST=$(ip "$k") POD_NAME=sa-redis-$k sh "$S/cluster-prestop.sh"
nodes
echo "key {b}k: $(cmd 0 -c GET '{b}k')"

