#!/usr/bin/env bash
# Mastra Studio, unchanged, against the real binary in headless Chromium.
#
# Takes Studio's static files from the pinned `mastra` npm package (npm pack,
# no install of its dependencies; cached under $STUDIO_CACHE), builds the
# binary, starts it on a free port with a temporary SQLite file, token auth,
# the echo agent, a forecaster agent whose fake model calls the weather tool,
# scorers, the weather tool, a workflow and CORS for Studio's origin (Studio
# sends credentials: "include", so the origin must be named and credentials
# allowed), then runs studio.test.mjs: it serves Studio as `mastra studio`
# does (index.html with the server's URL and /api filled in) and drives it.
# The test reads the server's access log: no 404, no route polled faster
# than a person clicks, no 5xx (agent thread subscriptions are a 405, which
# Studio reads as "not supported" and does not retry). approval.test.mjs,
# beside it, approves and declines a tool call of the approver agent (the forecaster's fake
# OpenAI-compatible model that calls the weather tool). Skips, saying so, only when npm cannot reach the
# registry.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MASTRA_VERSION="1.31.0" # the Studio release this server is checked against
log() { printf 'studio: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

require_tools node npm go curl tar

CACHE="${STUDIO_CACHE:-/tmp/mastra-studio-cache}/mastra-$MASTRA_VERSION"
if [ ! -f "$CACHE/package/dist/studio/index.html" ]; then
  if ! timeout 30 npm view "mastra@$MASTRA_VERSION" version >/dev/null 2>&1; then
    log "SKIPPED: npm cannot reach the registry to fetch mastra@$MASTRA_VERSION (Studio's files)"
    exit 0
  fi
  rm -rf "$CACHE" && mkdir -p "$CACHE"
  log "npm pack mastra@$MASTRA_VERSION"
  (cd "$CACHE" && npm pack --silent "mastra@$MASTRA_VERSION" >/dev/null && tar xzf "mastra-$MASTRA_VERSION.tgz")
fi
STUDIO_DIR="$CACHE/package/dist/studio"

"$ROOT/scripts/install-browser.sh"
cd "$HERE"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

TMP="$(mktemp -d /tmp/mastra-studio.XXXXXX)"
SERVER_PID=""
FAKE_PID=""
cleanup() {
  for pid in "$SERVER_PID" "$FAKE_PID"; do
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

# The forecaster agent's model: calls the weather tool, then answers.
start_fake_openai "$HERE/fake-openai.mjs" "$TMP/fake.log"

# Studio's own origin: the test serves it on this port.
STUDIO_PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
STUDIO_ORIGIN="http://127.0.0.1:$STUDIO_PORT"
cat >"$TMP/mastra.toml" <<CONF
[server]
host = "127.0.0.1"
port = 0

[server.auth]                  # Studio sends the token as a header it is given
enabled = true
[[server.auth.tokens]]
env = "STUDIO_TEST_TOKEN"
user = "ada"
resource_id = "res-ada"

[server.cors]
origins = ["$STUDIO_ORIGIN"]
credentials = true
max_age = "10m"                # browsers cache the preflight instead of asking before each request

[memory]
sqlite_path = "$TMP/mastra.db"

[observability]                # traces with their content, scores, logs
enabled = true
capture_content = true
flush_interval = "200ms"

[providers.fake]
kind = "openai"
base_url = "$FAKE_URL"
api_key = "sk-fake"
max_retries = 0

[agents.assistant]
name = "Assistant"
instructions = "You are a helpful assistant."
model = "echo"
tools = ["weather"]

[agents.approver]              # approval.test.mjs: every tool call waits for approval
name = "Approver"
instructions = "Say the weather."
model = "fake/forecast-1"
tools = ["weather"]
require_approval = true

[agents.forecaster]
name = "Forecaster"
instructions = "Say the weather."
model = "fake/forecast-1"
tools = ["weather"]
scorers = ["used-weather", "quick"]

[scorers.used-weather]
name = "Used weather"
description = "The turn called the weather tool"
kind = "tool_called"
tool = "weather"

[scorers.quick]
name = "Quick"
description = "The turn or run took at most 30 s"
kind = "latency"
max_ms = 30000
workflows = ["hello"]

[plugins]
cache_dir = "$TMP/wasm-cache"

[[tools]]
name = "weather"
description = "Current weather of a city"
module = "$ROOT/examples/weather-tool/weather-tool.wasm"
timeout = "5s"
[tools.input_schema]
type = "object"
required = ["city"]
[tools.input_schema.properties.city]
type = "string"

[workflows.hello]
description = "One map step"
[[workflows.hello.steps]]
id = "greet"
map = '{"greeting": "hello"}'
CONF

[ -f "$ROOT/examples/weather-tool/weather-tool.wasm" ] || "$ROOT/scripts/build-plugins.sh" >&2

TOKEN="studio-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" STUDIO_TEST_TOKEN="$TOKEN" \
  "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$TMP/server.log" "$SERVER_PID"

ARTIFACTS="${STUDIO_ARTIFACTS:-/tmp/mastra-studio-artifacts}"
mkdir -p "$ARTIFACTS"
status=0
MASTRA_URL="http://$ADDR" MASTRA_TOKEN="$TOKEN" STUDIO_DIR="$STUDIO_DIR" STUDIO_PORT="$STUDIO_PORT" SERVER_LOG="$TMP/server.log" \
  STUDIO_ARTIFACTS="$ARTIFACTS" BROWSER_PROFILE="$TMP/profile" \
  node --test --test-reporter=spec "$HERE"/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  log "FAILED; server log tail:"; tail -n 40 "$TMP/server.log" >&2
  exit "$status"
fi
log "passed; screenshots in $ARTIFACTS"
