# Sourced by redis-cluster-sim.sh and redis-failover-sim.sh after they set B: every process a sim
# starts in the background is its own child, its PID taken from $! into $B/pid/<name>. Not the
# pidfile of a daemonized redis-server/redis-sentinel: that one is written after the command has
# returned and deleted by redis when it stops, and the sims rm -rf some of the directories.
# stop/kill9 end a process by that PID and wait until it is gone; on every exit path (the end,
# `exit 1`, HUP/INT/TERM: dash runs no EXIT trap when a signal kills it) all the others are.
mkdir -p "$B/pid"
# bg <name> <command...>: start it in the background. A shell function run with & is a subshell
# whose $! is not the command's PID: such a function must `exec` its command.
bg() { name=$1; shift; "$@" & echo $! > "$B/pid/$name"; }
pid_of() { cat "$B/pid/$1" 2>/dev/null; }
# gone <pid>...: wait until each has exited (SIGKILL to any left 20 s after the first) and reap it.
gone() {
  n=0
  for p in "$@"; do
    while kill -0 "$p" 2>/dev/null && [ "$n" -lt 200 ]; do sleep 0.1; n=$((n+1)); done
    if kill -0 "$p" 2>/dev/null; then echo "pid $p still there 20 s after SIGTERM: SIGKILL" >&2; kill -9 "$p"; fi
    wait "$p" 2>/dev/null
  done
}
# stop / kill9 <name>...: SIGTERM / SIGKILL to its PID, wait until it is gone, forget it.
stop() {
  pids=""; names=""
  for x in "$@"; do p=$(pid_of "$x") || continue; kill "$p" 2>/dev/null; pids="$pids $p"; names="$names $x"; done
  gone $pids
  for x in $names; do rm -f "$B/pid/$x"; done
}
kill9() { for x in "$@"; do p=$(pid_of "$x") || continue; kill -9 "$p" 2>/dev/null; gone "$p"; rm -f "$B/pid/$x"; done; }
cleanup() { trap '' HUP INT TERM; stop $(ls "$B/pid"); }
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
