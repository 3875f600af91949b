#!/usr/bin/env bash
# Reads a real mastra-server's POST /chat/:agentId with the Vercel AI SDK's
# own client code (npm `ai`, pinned in package.json, locked in
# package-lock.json): DefaultChatTransport, the transport useChat uses, and
# readUIMessageStream. Covers the echo model, a tool call (the working-memory
# tool, called by a fake OpenAI-compatible model, fake-openai.mjs), memory
# (only the new message saved), auth scoping and the reconnect route (204,
# and a resumable turn cut mid-stream, replayed by reconnectToStream).
#
# Needs Node.js 20 or newer, npm and Go. Installs the npm packages on first run
# (npm ci), builds the binary, starts it on a free port with a temporary
# SQLite file, runs `node --test`, stops the server. Exits non-zero on any
# failure; the server log is printed then.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf 'aisdk: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

require_tools node npm go curl

cd "$HERE"
if [ ! -d node_modules/ai ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

TMP="$(mktemp -d /tmp/mastra-aisdk.XXXXXX)"
SERVER_PID=""
FAKE_PID=""
cleanup() {
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

start_fake_openai "$HERE/fake-openai.mjs" "$TMP/fake.log"

log "go build"
(cd "$ROOT" && go build -o "$TMP/mastra-server" ./cmd/mastra-server)

ALICE_TOKEN="alice-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
BOB_TOKEN="bob-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$TMP/mastra.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0

[server.auth]
enabled = true
[[server.auth.tokens]]
env = "AISDK_ALICE_TOKEN"
user = "alice"
resource_id = "res-alice"
[[server.auth.tokens]]
env = "AISDK_BOB_TOKEN"
user = "bob"
resource_id = "res-bob"

[memory]
sqlite_path = "$TMP/mastra.db"
last_messages = 10

[agents.assistant]
name = "Assistant"
model = "echo"

[agents.notes]               # calls its working-memory tool on the fake model
name = "Notes"
model = "openai/gpt-test"
[agents.notes.working_memory]
enabled = true
scope = "thread"

[agents.counter]             # counts slowly on the fake model: resumable chats
name = "Counter"
model = "openai/gpt-test"

[providers.openai]
base_url = "$FAKE_URL"

[plugins]
cache_dir = "$TMP/wasm-cache"
TOML

env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" OPENAI_API_KEY=sk-fake \
  AISDK_ALICE_TOKEN="$ALICE_TOKEN" AISDK_BOB_TOKEN="$BOB_TOKEN" \
  "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

wait_ready "$TMP/server.log" "$SERVER_PID"

status=0
MASTRA_URL="http://$ADDR" ALICE_TOKEN="$ALICE_TOKEN" BOB_TOKEN="$BOB_TOKEN" \
  node --test --test-reporter=spec "$HERE"/*.test.mjs || status=$?

no_5xx "$TMP/server.log" || status=1
if [ "$status" -ne 0 ]; then
  log "FAILED; server log:"; tail -n 100 "$TMP/server.log" >&2
  exit "$status"
fi
log "passed"
