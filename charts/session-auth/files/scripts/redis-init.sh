#!/bin/sh
# Init step of a Redis data node: decide whether this pod starts as the primary or as a replica,
# and write /config/redis.conf (an emptyDir: Sentinel's CONFIG REWRITE must be able to write it).
#
# The rule that matters: a restarted pod must rejoin as a replica of whatever the Sentinels elected
# meanwhile, and must NEVER come back as an empty primary (an empty primary would replicate its
# emptiness to every replica). Decision table (also in the chart README):
#
#   Sentinels answer? | primary they name   | local AOF/RDB | decision
#   ------------------|---------------------|---------------|------------------------------------------
#   yes               | another pod         | any           | replica of that pod
#   yes               | this pod, flagged   | any           | wait for the new primary, then replica;
#                     | s_down/o_down/      |               | exit 1 (restart, retry) if none in time
#                     | failover            |               |
#   yes               | this pod            | any, replicas | wait for the failover, then replica
#                     |                     | known         | (see below)
#   yes               | this pod            | any, none     | primary (fresh install, or a single node)
#                     |                     | known         |
#
# Why a restarted primary never resumes as primary while replicas exist, even with its data: on
# Kubernetes the StatefulSet recreates a deleted pod within a second or two, before the Sentinels
# have even flagged it down (down-after-milliseconds). Resuming then races the failover they are
# about to start: for a moment two nodes accept writes, and what the clients wrote to the loser is
# dropped when Sentinel demotes it (seen on a real cluster: acknowledged sessions lost and
# revocations undone after a forced delete of the primary pod). Its process is gone, so the
# Sentinels will fail over; waiting costs nothing that failover does not already cost.
#   no (after wait)   | -                   | pod-0, none   | primary (bootstrap; pod-0 does not wait)
#   no (after wait)   | -                   | pod-0, data   | primary (whole-cluster restart; see README)
#   no (after wait)   | -                   | pod-N (N>0)   | replica of pod-0 (Sentinels fix it later)
#
# Environment: POD_NAME POD_NAMESPACE CLUSTER_DOMAIN TOPOLOGY REDIS_STS REDIS_HEADLESS REDIS_PORT
#   SENTINEL_STS SENTINEL_HEADLESS SENTINEL_REPLICAS SENTINEL_PORT MASTER_NAME INIT_WAIT_SECONDS
#   MIN_REPLICAS_TO_WRITE MIN_REPLICAS_MAX_LAG APPENDFSYNC MAXMEMORY [REDIS_PASSWORD]
#   [REDIS_SENTINEL_PASSWORD] [CONFIG_DIR] [DATA_DIR] [EXTRA_CONFIG_FILE] [DNS_SUFFIX]
set -eu

CONFIG_DIR="${CONFIG_DIR:-/config}"
DATA_DIR="${DATA_DIR:-/data}"
CONF="$CONFIG_DIR/redis.conf"
. "$(dirname "$0")/redis-lib.sh"
ORDINAL="${POD_NAME##*-}"
MY_HOST="${POD_NAME}${REDIS_SUBDOMAIN}${DNS_SUFFIX}"
POD0_HOST="$(redis_host 0)"

log() { echo "redis-init[$POD_NAME]: $*" >&2; }

has_data() {
  if [ -d "$DATA_DIR/appendonlydir" ] && [ -n "$(ls -A "$DATA_DIR/appendonlydir" 2>/dev/null)" ]; then return 0; fi
  [ -s "$DATA_DIR/dump.rdb" ]
}

# field <name>: value following the line <name> in a raw key/value reply read from stdin.
field() { awk -v k="$1" 'found { print; exit } $0 == k { found = 1 }'; }

# ask_sentinels: sets PRIMARY_HOST PRIMARY_PORT PRIMARY_FLAGS PRIMARY_REPLICAS from the first
# Sentinel that knows the master; returns 1 when none answers.
ask_sentinels() {
  i=0
  while [ "$i" -lt "$SENTINEL_REPLICAS" ]; do
    s="$(sentinel_host "$i")"
    out="$(sentinel_cmd "$s" SENTINEL get-master-addr-by-name "$MASTER_NAME")"
    h="$(printf '%s\n' "$out" | sed -n 1p)"
    p="$(printf '%s\n' "$out" | sed -n 2p)"
    if [ -n "$h" ] && [ -n "$p" ] && [ "$p" -eq "$p" ] 2>/dev/null; then
      info="$(sentinel_cmd "$s" SENTINEL master "$MASTER_NAME")"
      PRIMARY_HOST="$h"; PRIMARY_PORT="$p"
      PRIMARY_FLAGS="$(printf '%s\n' "$info" | field flags)"
      PRIMARY_REPLICAS="$(printf '%s\n' "$info" | field num-slaves)"
      PRIMARY_REPLICAS="${PRIMARY_REPLICAS:-0}"
      return 0
    fi
    i=$((i + 1))
  done
  return 1
}

ROLE=""
REPLICAOF=""

decide() {
  if [ "$TOPOLOGY" != "sentinel" ]; then
    ROLE=primary; log "standalone topology: primary"; return
  fi
  deadline=$(( $(date +%s) + INIT_WAIT_SECONDS ))
  while :; do
    if ask_sentinels; then
      if [ "$PRIMARY_HOST" != "$MY_HOST" ]; then
        ROLE=replica; REPLICAOF="$PRIMARY_HOST $PRIMARY_PORT"
        log "sentinels name $PRIMARY_HOST:$PRIMARY_PORT as primary: starting as its replica"; return
      fi
      case "$PRIMARY_FLAGS" in
        *s_down*|*o_down*|*failover*)
          log "sentinels still name this pod but flag it '$PRIMARY_FLAGS': waiting for the new primary" ;;
        *)
          if [ "$PRIMARY_REPLICAS" -gt 0 ] 2>/dev/null; then
            log "sentinels name this pod and know $PRIMARY_REPLICAS replica(s): waiting for their failover (never resume as primary: it would race it)"
          else
            ROLE=primary; log "sentinels name this pod and know no replica: primary (fresh install or a single node)"; return
          fi ;;
      esac
    else
      if [ "$ORDINAL" = "0" ] && ! has_data; then
        ROLE=primary; log "no sentinel answers, pod-0 without data: bootstrap primary"; return
      fi
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then break; fi
    sleep 2
  done
  # Timed out.
  if ask_sentinels; then
    log "timed out waiting for a failover away from this pod (primary still $PRIMARY_HOST, flags '$PRIMARY_FLAGS'): exiting to retry"
    exit 1
  fi
  if [ "$ORDINAL" = "0" ]; then
    ROLE=primary; log "no sentinel answered within ${INIT_WAIT_SECONDS}s: pod-0 with data starts as primary"
  else
    ROLE=replica; REPLICAOF="$POD0_HOST $REDIS_PORT"
    log "no sentinel answered within ${INIT_WAIT_SECONDS}s: replica of pod-0"
  fi
}

decide

mkdir -p "$CONFIG_DIR"
umask 077
{
  echo "# generated by redis-init.sh: role decided at start = $ROLE"
  conf_base
  if [ "$TOPOLOGY" = "sentinel" ]; then
    echo "replica-announce-ip $MY_HOST"
    echo "replica-announce-port $REDIS_PORT"
    echo "replica-read-only yes"
    echo "min-replicas-to-write $MIN_REPLICAS_TO_WRITE"
    echo "min-replicas-max-lag $MIN_REPLICAS_MAX_LAG"
  fi
  conf_auth
  if [ "$ROLE" = "replica" ]; then echo "replicaof $REPLICAOF"; fi
} > "$CONF"
log "wrote $CONF"
