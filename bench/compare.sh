#!/usr/bin/env bash
# Issue 26's before/after comparison, in one command, on this machine:
#
#   bench/compare.sh [BEFORE_REF]     # default 4614e02: main when bench/peer was built
#
# Builds cmd/mastra-server of BEFORE_REF (git archive, nothing checked out)
# and of the work tree, then ROUNDS times runs bench/load's generate and
# stream phases (CLIENTS closed-loop clients) and its open phase (each of
# RATE turns/s, mastra_server_overhead_seconds p50/p99 from /metrics) on the
# before binary and on the after one, alternated (before/after, then
# after/before, …) so the machine's noise falls on both; then the peer phase: the after binary against the Mastra
# 1.x app of bench/peer, alternated, CPU per turn. 20-token replies, every
# thread warmed to 20 messages. Postgres as for bench/load
# (TEST_DATABASE_URL, else a throwaway cluster). The whole log goes to
# $LOG, a summary (ranges over the rounds) to stdout. About 20 minutes with
# the defaults (ROUNDS=3 CLIENTS=50 RATE=100,500 DURATION=10s
# PEER_ROUNDS=3); ROUNDS=2 takes about 14.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BEFORE_REF="${1:-4614e02}"
ROUNDS="${ROUNDS:-3}"
CLIENTS="${CLIENTS:-50}"
RATE="${RATE:-100,500}"
DURATION="${DURATION:-10s}"
PEER_ROUNDS="${PEER_ROUNDS:-3}"
LOG="${LOG:-/tmp/mastra-compare-$(date -u +%Y%m%dT%H%M%S).log}"
log() { printf 'compare: %s\n' "$*" >&2; }

TMP="$(mktemp -d /tmp/mastra-compare.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

cd "$ROOT"
log "building $BEFORE_REF ($(git rev-parse --short "$BEFORE_REF")) and the work tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' || echo ', with changes'))"
mkdir -p "$TMP/before-src"
git archive "$BEFORE_REF" | tar -x -C "$TMP/before-src"
(cd "$TMP/before-src" && go build -o "$TMP/before" ./cmd/mastra-server)
go build -o "$TMP/after" ./cmd/mastra-server
go build -o "$TMP/load" ./bench/load

: >"$LOG"
run() { # label, then bench/load's arguments
  local label="$1"; shift
  log "$label: bench/load $*"
  "$TMP/load" "$@" 2>&1 | sed "s/^/[$label] /" | tee -a "$LOG" >/dev/null
}
# Before, after; after, before; …: a drift in the machine's load over the
# run falls on both sides alike.
for r in $(seq 1 "$ROUNDS"); do
  order="before after"
  [ $((r % 2)) -eq 0 ] && order="after before"
  for side in $order; do
    run "$side $r" -bin "$TMP/$side" -phases generate,stream,open -clients "$CLIENTS" -tokens 20 \
      -duration "$DURATION" -rate "$RATE"
  done
done
run "peer" -bin "$TMP/after" -phases peer -tokens 20 -peer-rounds "$PEER_ROUNDS"

echo "# bench/compare.sh $BEFORE_REF: $ROUNDS alternated rounds, $CLIENTS clients, open loop at $RATE/s, $DURATION each; log $LOG"
"$TMP/load" -summarize "$LOG"
grep -E 'first error' "$LOG" | sort | uniq -c | head -n 10 || true
