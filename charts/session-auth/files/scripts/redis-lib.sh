# Shared by redis-init.sh, sentinel-init.sh and cluster-*.sh (sourced, not run): the pods' DNS
# names and bounded redis-cli calls to data nodes and Sentinels. Needs POD_NAMESPACE CLUSTER_DOMAIN REDIS_STS
# REDIS_HEADLESS REDIS_PORT SENTINEL_STS SENTINEL_HEADLESS SENTINEL_PORT [REDIS_PASSWORD]
# [REDIS_SENTINEL_PASSWORD] [DNS_SUFFIX] [REDIS_SUBDOMAIN] [SENTINEL_SUBDOMAIN].

# DNS_SUFFIX lets a local test replace ".<ns>.svc.<domain>" with something resolvable.
DNS_SUFFIX="${DNS_SUFFIX-.${POD_NAMESPACE}.svc.${CLUSTER_DOMAIN}}"
# REDIS_SUBDOMAIN/SENTINEL_SUBDOMAIN: ".<headless service>" for <pod>.<headless>.<ns>.svc names, empty
# for the per-pod Services (<pod>.<ns>.svc, see redis.podServices); unset means the headless form.
REDIS_SUBDOMAIN="${REDIS_SUBDOMAIN-.$REDIS_HEADLESS}"
SENTINEL_SUBDOMAIN="${SENTINEL_SUBDOMAIN-.$SENTINEL_HEADLESS}"

redis_host() { echo "${REDIS_STS}-$1${REDIS_SUBDOMAIN}${DNS_SUFFIX}"; }
sentinel_host() { echo "${SENTINEL_STS}-$1${SENTINEL_SUBDOMAIN}${DNS_SUFFIX}"; }

# cli <password> <host> <port> <args...>: one command, bounded in time, raw output; empty on failure.
# sh has no local variables: these names are the lib's own, so no caller's variable changes.
cli() {
  _cli_pw="$1"; _cli_host="$2"; _cli_port="$3"; shift 3
  if [ -n "$_cli_pw" ]; then
    REDISCLI_AUTH="$_cli_pw" timeout 3 redis-cli --no-auth-warning -h "$_cli_host" -p "$_cli_port" --raw "$@" 2>/dev/null || true
  else
    timeout 3 redis-cli -h "$_cli_host" -p "$_cli_port" --raw "$@" 2>/dev/null || true
  fi
}

# sentinel_cmd / redis_cmd <host> <args...>: a Sentinel, a data node.
sentinel_cmd() { _cli_to="$1"; shift; cli "${REDIS_SENTINEL_PASSWORD:-}" "$_cli_to" "$SENTINEL_PORT" "$@"; }
redis_cmd() { _cli_to="$1"; shift; cli "${REDIS_PASSWORD:-}" "$_cli_to" "$REDIS_PORT" "$@"; }

# resolve_ip <name>: the first IPv4/IPv6 address of a name (a per-pod Service's ClusterIP); an IP
# literal as it is; empty when it does not resolve (yet).
resolve_ip() {
  case "$1" in
    *[!0-9.]*) ;;
    *) echo "$1"; return ;;
  esac
  getent hosts "$1" 2>/dev/null | awk 'NR == 1 { print $1 }'
}

# info_field <name>: value of <name> in INFO / CLUSTER INFO text ("name:value" lines) read from stdin.
info_field() { tr -d '\r' | sed -n "s/^$1://p"; }

# conf_base / conf_auth: the redis.conf lines every data node has, whatever the topology (the first
# goes before the topology's own lines, the second after them). Need REDIS_PORT DATA_DIR APPENDFSYNC
# [MAXMEMORY] [REDIS_PASSWORD] [EXTRA_CONFIG_FILE].
conf_base() {
  echo "port $REDIS_PORT"
  echo "bind * -::*"
  echo "protected-mode no"
  echo "dir $DATA_DIR"
  echo "appendonly yes"
  echo "appendfsync $APPENDFSYNC"
  echo "save \"\""
  echo "maxmemory-policy noeviction"
  if [ -n "${MAXMEMORY:-}" ]; then echo "maxmemory $MAXMEMORY"; fi
}
conf_auth() {
  if [ -n "${REDIS_PASSWORD:-}" ]; then
    echo "requirepass \"$REDIS_PASSWORD\""
    echo "masterauth \"$REDIS_PASSWORD\""
  fi
  if [ -n "${EXTRA_CONFIG_FILE:-}" ] && [ -s "$EXTRA_CONFIG_FILE" ]; then cat "$EXTRA_CONFIG_FILE"; fi
}
