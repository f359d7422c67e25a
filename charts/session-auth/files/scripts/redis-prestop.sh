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
# A handover is only safe when the old primary outlives it. SENTINEL FAILOVER is not voted: the
# other Sentinels learn the new primary from hello messages (every 2 s) and, if the old primary
# dies first, they see it down after down-after-milliseconds and elect a second failover of their
# own (seen on a real cluster under `kubectl delete --force`). A forced delete gives the hook
# 1 s (the kubelet's floor) before redis-server gets SIGTERM, and the hook dies with it. So the
# hook first waits PRESTOP_HANDOVER_AFTER_SECONDS without touching anything: a hook cut short
# there leaves a plain crash, which the Sentinels handle with one voted failover. Past it, the
# hook hands over and keeps the primary alive until every reachable Sentinel names the new one.
#
# Environment: the init step's (redis-init.sh) plus PRESTOP_WAIT_SECONDS and
# PRESTOP_HANDOVER_AFTER_SECONDS.
set -u
DNS_SUFFIX="${DNS_SUFFIX-.${POD_NAMESPACE}.svc.${CLUSTER_DOMAIN}}"
REDIS_SUBDOMAIN="${REDIS_SUBDOMAIN-.$REDIS_HEADLESS}"
SENTINEL_SUBDOMAIN="${SENTINEL_SUBDOMAIN-.$SENTINEL_HEADLESS}"
MY_HOST="${POD_NAME}${REDIS_SUBDOMAIN}${DNS_SUFFIX}"
WAIT="${PRESTOP_WAIT_SECONDS:-15}"
HANDOVER_AFTER="${PRESTOP_HANDOVER_AFTER_SECONDS:-1.5}"

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

# The kubelet's floor for a forced delete is 1 s for this hook: outliving HANDOVER_AFTER means the
# grace is a real one (terminationGracePeriodSeconds, or a delete that asked for more than 1 s).
sleep "$HANDOVER_AFTER"
# A short grace of 2-3 s can also end the hook's wait with redis-server already shutting down on
# SIGTERM (waiting for lagging replicas, writes paused): then it is a crash too, not a handover.
if timeout 2 redis-cli --no-auth-warning -p "$REDIS_PORT" --raw INFO server 2>/dev/null | grep -q '^shutdown_in_milliseconds:'; then
  log "redis-server is already shutting down: no handover"; exit 0
fi

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

# Every reachable Sentinel, not just the one asked, must name the new primary before this one
# may stop: until then a Sentinel that sees it die can start a competing failover.
others_know() {
  j=0
  while [ "$j" -lt "$SENTINEL_REPLICAS" ]; do
    named="$(sentinel_cmd "$(sentinel_host "$j")" SENTINEL get-master-addr-by-name "$MASTER_NAME" | sed -n 1p)"
    # An unreachable Sentinel cannot see this node die either; one that still names it must wait.
    if [ "$named" = "$MY_HOST" ]; then return 1; fi
    j=$((j + 1))
  done
  return 0
}
deadline=$(( $(date +%s) + WAIT ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  named="$(sentinel_cmd "$asked" SENTINEL get-master-addr-by-name "$MASTER_NAME" | sed -n 1p)"
  if [ -n "$named" ] && [ "$named" != "$MY_HOST" ] && others_know; then
    log "every sentinel names $named: handed over"
    exit 0
  fi
  sleep 0.2
done
log "no agreed new primary within ${WAIT}s: stopping anyway"
exit 0
