#!/usr/bin/env bash
# Drives a real mastra-server binary with @mastra/client-js (pinned in
# package.json, locked in package-lock.json) through every call a Mastra app
# makes: agents, generate, stream, client tools and tool approval (against a
# fake OpenAI-compatible model, fake-openai.mjs), memory threads and messages, workflows and runs
# (workflows.test.mjs), working memory (workingmemory.test.mjs), structured
# output and refused options (structured.test.mjs), stored traces, scores,
# feedback, logs and metrics (observability.test.mjs), MCP servers
# (mcp.test.mjs, with @modelcontextprotocol/sdk's client too), the legacy agent
# network (network.test.mjs), and a
# cross-tenant check with two auth tokens.
#
# Needs Node.js 20 or newer and npm, and Go to build the server. Installs the npm
# packages on first run (npm ci), builds the binary, starts it on a free port
# with a temporary SQLite file and a generated config (echo model, auth with
# two tokens), runs `node --test`, stops the server. Exits non-zero on any
# failure; the server log is printed then.
#
# MASTRA_CLIENTJS_DB=postgres runs the same on PostgreSQL instead: a fresh
# database on TEST_DATABASE_URL's server (needs psql), dropped at the end.
# MASTRA_CLIENTJS_TESTS names the test files to run (default: *.test.mjs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf 'client-js: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

require_tools node npm go curl

cd "$HERE"
if [ ! -d node_modules/@mastra/client-js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

DB="${MASTRA_CLIENTJS_DB:-sqlite}"
case "$DB" in
  sqlite) ;;
  postgres)
    [ -n "${TEST_DATABASE_URL:-}" ] || { log "MASTRA_CLIENTJS_DB=postgres needs TEST_DATABASE_URL"; exit 1; }
    command -v psql >/dev/null || { log "psql is required for MASTRA_CLIENTJS_DB=postgres"; exit 1; }
    ;;
  *) log "MASTRA_CLIENTJS_DB=$DB: want sqlite or postgres"; exit 1 ;;
esac

TMP="$(mktemp -d /tmp/mastra-client-js.XXXXXX)"
SERVER_PID=""
FAKE_PID=""
PG_DB=""
cleanup() {
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$PG_DB" ]; then
    psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

MEMORY_TOML="sqlite_path = \"$TMP/mastra.db\""
if [ "$DB" = postgres ]; then
  PG_DB="clientjs_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  PG_URL="$(printf '%s' "$TEST_DATABASE_URL" | sed -E "s#^(postgres(ql)?://[^/?]+)(/[^?]*)?#\1/$PG_DB#")"
  psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $PG_DB" >/dev/null
  MEMORY_TOML="database_url = \"$PG_URL\""
  log "PostgreSQL database $PG_DB"
fi

# A fake OpenAI-compatible model for the client-tool round trip.
start_fake_openai "$HERE/fake-openai.mjs" "$TMP/fake.log"

log "go build"
(cd "$ROOT" && go build -o "$TMP/mastra-server" ./cmd/mastra-server)
# The server tool of the approval test (approval.test.mjs).
"$ROOT/scripts/build-plugins.sh" "$ROOT/examples/weather-tool" >&2

ALICE_TOKEN="alice-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
BOB_TOKEN="bob-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
CAROL_TOKEN="carol-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
DAVE_TOKEN="dave-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
ERIN_TOKEN="erin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$TMP/mastra.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0                     # the OS picks a free port; read back from the log

[server.cors]
origins = ["http://localhost:5173"]
credentials = true

[server.auth]
enabled = true
[[server.auth.tokens]]
env = "CLIENT_JS_ALICE_TOKEN"
user = "alice"
resource_id = "res-alice"
[[server.auth.tokens]]
env = "CLIENT_JS_BOB_TOKEN"
user = "bob"
resource_id = "res-bob"
[[server.auth.tokens]]        # client-tools.test.mjs runs as carol, apart from the others
env = "CLIENT_JS_CAROL_TOKEN"
user = "carol"
resource_id = "res-carol"
[[server.auth.tokens]]        # approval.test.mjs runs as dave, apart from the others
env = "CLIENT_JS_DAVE_TOKEN"
user = "dave"
resource_id = "res-dave"
[[server.auth.tokens]]        # observability.test.mjs runs as erin, apart from the others
env = "CLIENT_JS_ERIN_TOKEN"
user = "erin"
resource_id = "res-erin"

# Stored traces, logs, metrics and scores (observability.test.mjs).
[observability]
enabled = true
capture_content = true
flush_interval = "50ms"

[scorers.echoes]
name = "Echoes"
description = "The reply says observe"
kind = "contains"
text = "observe"

[memory]
$MEMORY_TOML
last_messages = 10

[agents.assistant]
name = "Assistant"
description = "Repeats what it is told"
instructions = "You are a helpful assistant."
model = "echo"
scorers = ["echoes"]

# The MCP server (mcp.test.mjs): the assistant and the publish workflow.
[mcp_servers.main]
name = "Main"
version = "1.2.0"
description = "The assistant and the publish workflow"
agents = ["assistant"]
workflows = ["publish"]

[agents.ctool]               # a real OpenAI client against the fake model
name = "CTool"
model = "openai/gpt-test"

[agents.wmres]               # working memory (workingmemory.test.mjs): one per user
model = "echo"
[agents.wmres.working_memory]
enabled = true
scope = "resource"
template = "# User\n- Name:\n- City:"

[agents.wmthread]            # working memory: one per thread
model = "echo"
[agents.wmthread.working_memory]
enabled = true
scope = "thread"

[agents.approver]            # approval.test.mjs: every tool call waits for approval
model = "openai/gpt-test"
tools = ["weather"]
require_approval = true

[agents.netboss]             # network.test.mjs: routes to the assistant
model = "openai/gpt-test"
agents = ["assistant"]

[agents.netapprover]         # network.test.mjs: its tool primitive waits for approval
model = "openai/gpt-test"
tools = ["weather"]
require_approval = true

[[tools]]
name = "weather"
description = "Current weather of a city"
module = "$ROOT/examples/weather-tool/weather-tool.wasm"
input_schema = '{"type":"object","required":["city"],"properties":{"city":{"type":"string"}}}'

[providers.openai]
base_url = "$FAKE_URL"

[plugins]
cache_dir = "$TMP/wasm-cache"

# The README's publish example (workflows.test.mjs), with a short sleep.
[workflows.publish]
description = "Drafts a post on a topic, waits for approval, publishes it"
step_timeout = "30s"
input_schema = '{"type":"object","required":["topic"],"properties":{"topic":{"type":"string"}}}'
[[workflows.publish.steps]]
id = "draft"
agent = "assistant"
prompt = "Write a short post about \${input.topic}."
[[workflows.publish.steps]]
id = "approve"
suspend = '{"draft": steps.draft.text}'
resume_schema = '{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}'
[[workflows.publish.steps]]
id = "wait"
sleep = "100ms"
[[workflows.publish.steps]]
id = "publish"
map = 'steps.approve.approved ? {"published": true, "text": steps.draft.text} : {"published": false}'

# A nested workflow (review runs as a step of outer) and workflow state.
[workflows.review]
input_schema = '{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}'
[[workflows.review.steps]]
id = "check"
suspend = '{"text": input.text}'
resume_schema = '{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"}}}'
[[workflows.review.steps]]
id = "verdict"
map = '{"ok": steps.check.ok, "text": input.text}'
[workflows.outer]
[[workflows.outer.steps]]
id = "draft"
agent = "assistant"
prompt = "Draft \${input.topic}"
[[workflows.outer.steps]]
id = "review"
workflow = "review"
input = '{"text": steps.draft.text}'
[workflows.tally]
state_schema = '{"type":"object","required":["count"],"properties":{"count":{"type":"integer"}}}'
[[workflows.tally.steps]]
id = "inc"
map = "state.count + input.by"
set_state = '{"count": output}'
EOF

# A clean environment: no MASTRA_*, MEMORY_DATABASE_URL or ALLOWED_ORIGINS
# from the caller's shell can change the generated config.
env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" \
  CLIENT_JS_ALICE_TOKEN="$ALICE_TOKEN" CLIENT_JS_BOB_TOKEN="$BOB_TOKEN" CLIENT_JS_CAROL_TOKEN="$CAROL_TOKEN" CLIENT_JS_DAVE_TOKEN="$DAVE_TOKEN" \
  CLIENT_JS_ERIN_TOKEN="$ERIN_TOKEN" "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

wait_ready "$TMP/server.log" "$SERVER_PID"

TESTS=()
for f in ${MASTRA_CLIENTJS_TESTS:-*.test.mjs}; do
  [ -f "$HERE/$f" ] || { log "no test file $f"; exit 1; }
  TESTS+=("$HERE/$f")
done
status=0
MASTRA_URL="http://$ADDR" ALICE_TOKEN="$ALICE_TOKEN" BOB_TOKEN="$BOB_TOKEN" CAROL_TOKEN="$CAROL_TOKEN" DAVE_TOKEN="$DAVE_TOKEN" ERIN_TOKEN="$ERIN_TOKEN" \
  node --test --test-reporter=spec "${TESTS[@]}" || status=$?

no_5xx "$TMP/server.log" || status=1
if [ "$status" -ne 0 ]; then
  log "FAILED; server log:"; tail -n 100 "$TMP/server.log" >&2
  exit "$status"
fi
log "passed ($DB)"
