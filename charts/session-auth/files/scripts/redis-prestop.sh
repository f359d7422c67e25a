#!/bin/sh
# preStop of a Redis data node (Sentinel topology): a graceful stop of the primary (a rollout, a
# node drain, `kubectl delete pod`) becomes a planned switchover instead of an outage detected by
# timeout. If this node is the primary, ask a Sentinel to fail over now (SENTINEL FAILOVER: no
# quorum vote, the best replica is promoted) and wait, bounded, until the Sentinels name another
# node; only then does the kubelet send SIGTERM. Without it the primary just exits and the
# Sentinels need down-after-milliseconds + an election before anyone can write again, while the
# StatefulSet is already starting the pod again. Any failure here only falls back to that path:
# the script always exits 0 so the pod is never stuck terminating.
#
# Environment: the init step's (redis-init.sh) plus PRESTOP_WAIT_SECONDS.
set -u
DNS_SUFFIX="${DNS_SUFFIX-.${POD_NAMESPACE}.svc.${CLUSTER_DOMAIN}}"
REDIS_SUBDOMAIN="${REDIS_SUBDOMAIN-.$REDIS_HEADLESS}"
SENTINEL_SUBDOMAIN="${SENTINEL_SUBDOMAIN-.$SENTINEL_HEADLESS}"
MY_HOST="${POD_NAME}${REDIS_SUBDOMAIN}${DNS_SUFFIX}"
WAIT="${PRESTOP_WAIT_SECONDS:-15}"

log() { echo "redis-prestop[$POD_NAME]: $*" >&2; }
[ "$TOPOLOGY" = "sentinel" ] || exit 0

role="$(timeout 2 redis-cli --no-auth-warning -p "$REDIS_PORT" --raw ROLE 2>/dev/null | sed -n 1p)"
[ "$role" = "master" ] || { log "role '${role:-unknown}': nothing to hand over"; exit 0; }

sentinel_cmd() {
  h="$1"; shift
  if [ -n "${REDIS_SENTINEL_PASSWORD:-}" ]; then
    REDISCLI_AUTH="$REDIS_SENTINEL_PASSWORD" timeout 3 redis-cli --no-auth-warning -h "$h" -p "$SENTINEL_PORT" --raw "$@" 2>/dev/null
  else
    timeout 3 redis-cli -h "$h" -p "$SENTINEL_PORT" --raw "$@" 2>/dev/null
  fi
}
sentinel_host() { echo "${SENTINEL_STS}-$1${SENTINEL_SUBDOMAIN}${DNS_SUFFIX}"; }

# First stop taking writes, then let the replicas catch up, then hand over. Without the pause the
# old primary keeps acknowledging writes until Sentinel demotes it, after the promoted replica
# stopped replicating from it; another replica can still confirm them (WAIT), and they vanish
# when it resyncs from the new primary (seen on a real cluster: acknowledged sessions lost and
# revocations undone). Paused writes block; clients give up at their deadline and get an error,
# never a lost acknowledgement. Replication, INFO and Sentinel's REPLICAOF are not paused.
pause_ms=$(( (WAIT + 5) * 1000 ))
timeout 2 redis-cli --no-auth-warning -p "$REDIS_PORT" CLIENT PAUSE "$pause_ms" WRITE >/dev/null 2>&1 || log "CLIENT PAUSE failed: handing over without it"
caught_up=""
n=0
while [ "$n" -lt 20 ]; do
  info="$(timeout 2 redis-cli --no-auth-warning -p "$REDIS_PORT" --raw INFO replication 2>/dev/null | tr -d '\r')"
  master_off="$(printf '%s\n' "$info" | sed -n 's/^master_repl_offset://p')"
  lagging="$(printf '%s\n' "$info" | sed -n 's/^slave[0-9]*:.*offset=\([0-9]*\).*/\1/p' | awk -v m="$master_off" '$1 != m' | wc -l)"
  if [ -n "$master_off" ] && [ "$lagging" -eq 0 ]; then caught_up=1; break; fi
  sleep 0.1
  n=$((n + 1))
done
[ -n "$caught_up" ] || log "replicas not caught up within 2s: Sentinel picks the most up-to-date one"

asked=""
i=0
while [ "$i" -lt "$SENTINEL_REPLICAS" ]; do
  s="$(sentinel_host "$i")"
  if [ "$(sentinel_cmd "$s" SENTINEL FAILOVER "$MASTER_NAME")" = "OK" ]; then asked="$s"; break; fi
  i=$((i + 1))
done
[ -n "$asked" ] || { log "no sentinel accepted SENTINEL FAILOVER: stopping without a handover"; exit 0; }
log "primary: asked $asked for a failover; waiting up to ${WAIT}s for another primary"

deadline=$(( $(date +%s) + WAIT ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  named="$(sentinel_cmd "$asked" SENTINEL get-master-addr-by-name "$MASTER_NAME" | sed -n 1p)"
  if [ -n "$named" ] && [ "$named" != "$MY_HOST" ]; then
    log "sentinels name $named: handed over"
    exit 0
  fi
  sleep 0.2
done
log "no new primary within ${WAIT}s: stopping anyway"
exit 0
