#!/bin/sh
# preStop of a Redis Cluster node: a graceful stop of a primary (a rollout, a drain, `kubectl delete
# pod`) becomes a planned switchover instead of an outage detected by timeout. If this node is a
# primary with a linked replica, ask that replica for CLUSTER FAILOVER (the coordinated kind: this
# primary pauses its clients, the replica catches up to its offset, the primaries vote, and this one
# turns into the new primary's replica: no acknowledged write is lost) and wait, bounded, for this
# node to report itself a replica; only then does the kubelet send SIGTERM. Any failure only falls
# back to the crash path (node timeout, then an election): the script always exits 0.
#
# As for Sentinel (redis-prestop.sh), the hook first touches nothing for
# PRESTOP_HANDOVER_AFTER_SECONDS: a forced delete gives it 1 s and leaves a plain crash, which is
# what `--grace-period=0` is asked to be.
#
# Environment: POD_NAME REDIS_PORT PRESTOP_WAIT_SECONDS PRESTOP_HANDOVER_AFTER_SECONDS [REDISCLI_AUTH] [SELF_HOST].
set -u
WAIT="${PRESTOP_WAIT_SECONDS:-15}"
HANDOVER_AFTER="${PRESTOP_HANDOVER_AFTER_SECONDS:-1.5}"
log() { echo "cluster-prestop[$POD_NAME]: $*" >&2; }
here() { timeout 2 redis-cli --no-auth-warning -h "${SELF_HOST:-127.0.0.1}" -p "$REDIS_PORT" --raw "$@" 2>/dev/null | tr -d '\r'; }

[ "$(here ROLE | sed -n 1p)" = "master" ] || { log "not a primary: nothing to hand over"; exit 0; }
my_id="$(here CLUSTER MYID)"
replica="$(here CLUSTER NODES | awk -v id="$my_id" '$4 == id && $3 ~ /slave/ && $3 !~ /fail|noaddr|handshake/ && $8 == "connected" { split($2, x, "@"); print x[1]; exit }')"
[ -n "$replica" ] || { log "no linked replica: stopping without a handover"; exit 0; }

sleep "$HANDOVER_AFTER"
if here INFO server | grep -q '^shutdown_in_milliseconds:'; then log "redis-server is already shutting down: no handover"; exit 0; fi
answer="$(timeout 2 redis-cli --no-auth-warning -h "${replica%:*}" -p "${replica##*:}" CLUSTER FAILOVER 2>&1)"
[ "$answer" = "OK" ] || { log "$replica refused CLUSTER FAILOVER ($answer): stopping without a handover"; exit 0; }
log "asked $replica for CLUSTER FAILOVER; waiting up to ${WAIT}s to become its replica"
deadline=$(( $(date +%s) + WAIT ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ "$(here ROLE | sed -n 1p)" = "slave" ]; then log "handed over to $replica"; exit 0; fi
  sleep 0.2
done
log "still a primary after ${WAIT}s: stopping anyway"
exit 0
