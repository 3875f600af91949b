#!/usr/bin/env bash
# mastra-server's MCP client against the MCP reference server,
# @modelcontextprotocol/server-everything (pinned in package.json), which
# nobody here wrote: over stdio (the binary starts it as a subprocess) and
# over streamable HTTP (started here, stateful, with session ids). An agent
# on a fake OpenAI-compatible model (fake-model.mjs) calls both servers'
# echo tool in one turn; /api/tools lists the remote tools the allow-list
# keeps. Needs Node.js 20+, npm, Go, curl.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf 'mcp-client: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

require_tools node npm go curl

cd "$HERE"
if [ ! -d node_modules/@modelcontextprotocol/server-everything ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
EVERYTHING="$HERE/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

TMP="$(mktemp -d /tmp/mastra-mcp-client.XXXXXX)"
SERVER_PID=""
FAKE_PID=""
EV_PID=""
cleanup() {
  for pid in "$FAKE_PID" "$EV_PID" "$SERVER_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

start_fake_openai "$HERE/fake-model.mjs" "$TMP/fake.log"

# server-everything over streamable HTTP on a free port.
EV_PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
PORT="$EV_PORT" node "$EVERYTHING" streamableHttp >"$TMP/everything.log" 2>&1 &
EV_PID=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$EV_PORT/mcp" && break
  kill -0 "$EV_PID" 2>/dev/null || { log "server-everything exited:"; cat "$TMP/everything.log" >&2; exit 1; }
  sleep 0.1
done

log "go build"
(cd "$ROOT" && go build -o "$TMP/mastra-server" ./cmd/mastra-server)

cat >"$TMP/mastra.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0
[memory]
sqlite_path = "$TMP/mastra.db"
[providers.fake]
kind = "openai"
base_url = "$FAKE_URL"
api_key = "sk-test"
[agents.assistant]
model = "fake/m"
tools = ["mcp:ev_stdio/echo", "mcp:ev_http"]
[mcp_clients.ev_stdio]
command = "node"
args = ["$EVERYTHING", "stdio"]
timeout = "20s"
[mcp_clients.ev_http]
url = "http://127.0.0.1:$EV_PORT/mcp"
tools = ["echo", "get-sum"]
timeout = "20s"
TOML

env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" \
  "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$TMP/server.log" "$SERVER_PID"

status=0
fail() { log "FAIL: $*"; status=1; }

reply="$(curl -fsS -X POST "http://$ADDR/agent/generate" -H 'Content-Type: application/json' -d '{"message":"echo please"}')" ||
  fail "generate: $reply"
text="$(printf '%s' "$reply" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).text))')"
for want in "Echo: hi from ev_stdio_echo" "Echo: hi from ev_http_echo"; do
  case "$text" in *"$want"*) ;; *) fail "reply lacks \"$want\": $text" ;; esac
done

tools="$(curl -fsS "http://$ADDR/api/tools")"
for want in '"ev_http_echo"' '"ev_http_get-sum"' '"ev_stdio_echo"'; do
  case "$tools" in *"$want"*) ;; *) fail "/api/tools lacks $want" ;; esac
done
case "$tools" in *'"ev_http_get-env"'*) fail "/api/tools lists ev_http_get-env, which the allow-list leaves out" ;; esac

sum="$(curl -fsS -X POST "http://$ADDR/api/tools/ev_http_get-sum/execute" -H 'Content-Type: application/json' -d '{"data":{"a":40,"b":2}}')" ||
  fail "execute get-sum: $sum"
case "$sum" in *42*) ;; *) fail "get-sum = $sum; want 42" ;; esac

no_5xx "$TMP/server.log" || status=1
if [ "$status" -ne 0 ]; then
  log "server log:"; tail -n 60 "$TMP/server.log" >&2
else
  log "ok: both echo tools answered in one turn; allow-list and REST execute work"
fi
exit "$status"
