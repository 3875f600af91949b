#!/usr/bin/env bash
# Three mastra-server instances on one Postgres behind HAProxy.
#
#   examples/cluster/run.sh                   start; Ctrl-C (or SIGTERM) stops all
#   examples/cluster/run.sh rolling-restart   from another shell: SIGTERM each
#                                             instance in turn, waiting until the
#                                             balancer has it back before the next
#
# Each instance runs under a small supervisor loop that starts it again when
# it exits (as systemd or an orchestrator would), so a SIGTERM is a restart
# and a kill -9 is a crash followed by a restart.
#
# Environment (defaults in brackets):
#   MEMORY_DATABASE_URL     the shared Postgres [postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable]
#   CLUSTER_PORT            the balancer's port [4000]
#   CLUSTER_STATS_PORT      HAProxy's status page, /stats [4001]
#   CLUSTER_INSTANCE_PORTS  the instances' ports on 127.0.0.1 ["4101 4102 4103"]
#   CLUSTER_RUN_DIR         pids, logs, plugin caches [/tmp/mastra-cluster]
#   CLUSTER_TOKEN_A/_B      the two tenants' bearer tokens [dev-token-a, dev-token-b]
#   MASTRA_SERVER_BIN       a built server; unset: built here with go build
# Anything else the server reads (MASTRA_MODEL, OPENAI_API_KEY, …) passes through.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUN="${CLUSTER_RUN_DIR:-/tmp/mastra-cluster}"
PORT="${CLUSTER_PORT:-4000}"
STATS_PORT="${CLUSTER_STATS_PORT:-4001}"
read -r -a PORTS <<<"${CLUSTER_INSTANCE_PORTS:-4101 4102 4103}"
NAMES=(a b c)

log() { printf 'cluster: %s\n' "$*" >&2; }

# healthy URL: true when URL answers 200.
healthy() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# balancer_up NAME: true when HAProxy reports the instance UP.
balancer_up() {
  curl -fsS --max-time 2 "http://127.0.0.1:$STATS_PORT/stats;csv" 2>/dev/null |
    awk -F, -v n="$1" '$1 == "mastra" && $2 == n && $18 == "UP" { found = 1 } END { exit !found }'
}

wait_for() { # wait_for WHAT SECONDS CMD…
  local what="$1" secs="$2"
  shift 2
  for _ in $(seq $((secs * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  log "$what: not within ${secs}s"
  return 1
}

rolling_restart() {
  local i name port old
  for i in "${!NAMES[@]}"; do
    name="${NAMES[$i]}" port="${PORTS[$i]}"
    old="$(cat "$RUN/$name.pid")"
    log "restarting $name (pid $old)"
    kill -TERM "$old"
    wait_for "$name's restart" 60 sh -c "[ \"\$(cat '$RUN/$name.pid')\" != '$old' ]"
    wait_for "$name's health" 30 healthy "http://127.0.0.1:$port/health"
    wait_for "$name back in the balancer" 30 balancer_up "$name"
  done
  log "rolling restart done"
}

# supervise NAME PORT: runs one instance, and again whenever it exits,
# until the cluster stops.
supervise() {
  local name="$1" port="$2"
  while [ ! -e "$RUN/stopping" ]; do
    MASTRA_PORT="$port" MASTRA_PLUGINS__CACHE_DIR="$RUN/cache-$name" \
      "$BIN" serve --config "$HERE/mastra.toml" >>"$RUN/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    local code=0
    wait $! || code=$?
    [ -e "$RUN/stopping" ] && break
    log "$name exited ($code); starting it again"
    sleep 0.5
  done
}

stop_all() {
  touch "$RUN/stopping"
  local name
  for name in "${NAMES[@]}"; do
    [ -f "$RUN/$name.pid" ] && kill -TERM "$(cat "$RUN/$name.pid")" 2>/dev/null || true
  done
  [ -f "$RUN/haproxy.pid" ] && kill -TERM "$(cat "$RUN/haproxy.pid")" 2>/dev/null || true
  wait || true
  log "stopped"
}

if [ "${1:-}" = rolling-restart ]; then
  rolling_restart
  exit 0
fi
[ $# -eq 0 ] || { log "usage: run.sh [rolling-restart]"; exit 2; }

"$ROOT/scripts/install-haproxy.sh"
mkdir -p "$RUN"
rm -f "$RUN/stopping" "$RUN"/*.pid
BIN="${MASTRA_SERVER_BIN:-}"
if [ -z "$BIN" ]; then
  "$ROOT/scripts/install-plugin-toolchains.sh"
  BIN="$RUN/mastra-server"
  log "building $BIN"
  (cd "$ROOT" && go build -o "$BIN" ./cmd/mastra-server)
fi
"$ROOT/scripts/build-plugins.sh" "$ROOT/examples/calc-tool" "$ROOT/examples/notes-kv"

export MEMORY_DATABASE_URL="${MEMORY_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
export CLUSTER_TOKEN_A="${CLUSTER_TOKEN_A:-dev-token-a}" CLUSTER_TOKEN_B="${CLUSTER_TOKEN_B:-dev-token-b}"
trap stop_all EXIT
trap 'exit 0' INT TERM

for i in "${!NAMES[@]}"; do
  supervise "${NAMES[$i]}" "${PORTS[$i]}" &
done
for i in "${!NAMES[@]}"; do
  wait_for "instance ${NAMES[$i]}" 60 healthy "http://127.0.0.1:${PORTS[$i]}/health" || {
    tail -n 20 "$RUN/${NAMES[$i]}.log" >&2
    exit 1
  }
done

CLUSTER_BIND="127.0.0.1:$PORT" CLUSTER_STATS_BIND="127.0.0.1:$STATS_PORT" \
  CLUSTER_A="127.0.0.1:${PORTS[0]}" CLUSTER_B="127.0.0.1:${PORTS[1]}" CLUSTER_C="127.0.0.1:${PORTS[2]}" \
  haproxy -W -db -f "$HERE/haproxy.cfg" 2>>"$RUN/haproxy.log" &
echo $! >"$RUN/haproxy.pid"
for name in "${NAMES[@]}"; do
  wait_for "$name in the balancer" 30 balancer_up "$name" || { tail -n 20 "$RUN/haproxy.log" >&2; exit 1; }
done
log "ready: http://127.0.0.1:$PORT (instances ${PORTS[*]}; logs and pids in $RUN)"
log "try: curl -H 'Authorization: Bearer $CLUSTER_TOKEN_A' http://127.0.0.1:$PORT/api/agents"
# Wait for a signal (the trap), or for HAProxy to end.
wait "$(cat "$RUN/haproxy.pid")"
