#!/bin/sh
# Exercises files/scripts/redis-init.sh and sentinel-init.sh with real redis-server/redis-sentinel
# processes on loopback IPs; pod DNS names resolve through a private /etc/hosts. Needs root for the
# private mount namespace. test/redis-sims.test.ts runs it (about 30 s) and asserts what it prints:
#   sudo unshare -m --propagation private sh charts/session-auth/test/redis-failover-sim.sh
set -u
S="$(cd "$(dirname "$0")/../files/scripts" && pwd)"
B="${TMPDIR:-/tmp}/redis-failover-sim"; rm -rf $B; mkdir -p $B
D=.ns.svc.local
{
  for i in 0 1 2; do echo "127.0.1.$((i+1)) sa-redis-$i.sa-redis-headless$D"; echo "127.0.2.$((i+1)) sa-sentinel-$i.sa-sentinel-headless$D"; done
} > $B.hosts
mount --bind $B.hosts /etc/hosts
# DOWN_AFTER_MS: the chart's default. At 1000 (docs/kubernetes.md, finding 9: a just-promoted primary
# failed over a second time) a run of this sim showed two primaries at the step-3 check.
export POD_NAMESPACE=ns CLUSTER_DOMAIN=local TOPOLOGY=sentinel REDIS_STS=sa-redis REDIS_HEADLESS=sa-redis-headless REDIS_PORT=6379 REDIS_REPLICAS=3 \
  SENTINEL_STS=sa-sentinel SENTINEL_HEADLESS=sa-sentinel-headless SENTINEL_REPLICAS=3 SENTINEL_PORT=26379 MASTER_NAME=mymaster INIT_WAIT_SECONDS=6 \
  MIN_REPLICAS_TO_WRITE=1 MIN_REPLICAS_MAX_LAG=10 APPENDFSYNC=everysec MAXMEMORY= REDIS_PASSWORD=rpw REDIS_SENTINEL_PASSWORD=spw \
  QUORUM=2 DOWN_AFTER_MS=1500 FAILOVER_TIMEOUT_MS=10000 PARALLEL_SYNCS=1
. "$(dirname "$0")/sim-procs.sh"
# redis_init / sent_init <i> [exec]: the init script of pod i (exec: when run by bg).
redis_init() { ${2:-} env POD_NAME=sa-redis-$1 CONFIG_DIR=$B/r$1/config DATA_DIR=$B/r$1/data sh $S/redis-init.sh; }
redis_start() { sed -i "s/^bind .*/bind 127.0.1.$(($1+1))/" $B/r$1/config/redis.conf; echo "logfile $B/r$1/log" >> $B/r$1/config/redis.conf; bg r$1 redis-server $B/r$1/config/redis.conf; }
sent_init() { ${2:-} env POD_NAME=sa-sentinel-$1 CONFIG_DIR=$B/s$1 sh $S/sentinel-init.sh; }
sent_start() { sed -i "s/^bind .*/bind 127.0.2.$(($1+1))/" $B/s$1/sentinel.conf; echo "logfile $B/s$1/log" >> $B/s$1/sentinel.conf; bg s$1 redis-sentinel $B/s$1/sentinel.conf; }
# par <init function>: pods 0 1 2 at once, and wait for the three.
par() { for i in 0 1 2; do bg init$i $1 $i exec; done; for i in 0 1 2; do wait $(pid_of init$i); rm -f $B/pid/init$i; done; }
role() { REDISCLI_AUTH=rpw redis-cli --no-auth-warning -h 127.0.1.$(($1+1)) INFO replication | tr -d '\r' | grep -E '^(role|master_host|connected_slaves|master_link_status)' | tr '\n' ' '; echo; }
master() { REDISCLI_AUTH=spw redis-cli --no-auth-warning -h 127.0.2.1 -p 26379 SENTINEL get-master-addr-by-name mymaster | tr '\n' ' '; echo; }
# settled: until the primary the Sentinels name has both other nodes linked to it. Not a fixed
# sleep: a returning replica's full sync waits repl-diskless-sync-delay (5 s) before it starts.
settled() {
  for _ in $(seq 1 60); do
    _m=$(master | awk '{print $1}'); _n=0
    for _i in 0 1 2; do
      case "$(role $_i)" in
        "role:master connected_slaves:2 "*) [ "$_m" = "sa-redis-$_i.sa-redis-headless$D" ] && _n=$((_n+1)) ;;
        "role:slave master_host:$_m master_link_status:up "*) _n=$((_n+1)) ;;
      esac
    done
    [ "$_n" = 3 ] && return 0; sleep 0.5
  done
  echo "not settled within 30 s: sentinels name $_m"; return 1
}
for i in 0 1 2; do mkdir -p $B/r$i/data; done

echo "== fresh install: data inits in parallel, then servers, then sentinels"
par redis_init
for i in 0 1 2; do redis_start $i; done
sleep 1
par sent_init
for i in 0 1 2; do sent_start $i; done
sleep 4
for i in 0 1 2; do role $i; done; master
REDISCLI_AUTH=rpw redis-cli --no-auth-warning -h 127.0.1.1 SET k v

echo "== kill primary pod-0 (SIGKILL) and lose its PVC"
kill9 r0; rm -rf $B/r0/data; mkdir -p $B/r0/data
redis_init 0; grep -E '^replicaof|role decided' $B/r0/config/redis.conf
redis_start 0; settled
for i in 0 1 2; do role $i; done; master
echo "key after failover+rejoin (on pod-0 replica): $(REDISCLI_AUTH=rpw redis-cli --no-auth-warning -h 127.0.1.1 GET k)"

echo "== kill current primary, restart it immediately with its data"
P=$(master | awk '{print $1}'); i=${P#sa-redis-}; i=${i%%.*}
kill9 r$i; redis_init $i; grep -E '^replicaof|role decided' $B/r$i/config/redis.conf
redis_start $i; settled
for j in 0 1 2; do role $j; done; master

echo "== restart a sentinel: it must learn the current primary from its peers"
stop s2; rm -rf $B/s2; sent_init 2; grep 'sentinel monitor' $B/s2/sentinel.conf
