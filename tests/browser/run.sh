#!/usr/bin/env bash
# Opens the server's /docs and /playground pages in headless Chromium (Debian
# chromium, installed by scripts/install-browser.sh when missing, driven by
# playwright-core pinned in package.json and locked in package-lock.json):
# one browser launch for every test (browser.test.mjs).
#
# Builds the binary, starts a fake OpenAI-compatible model (fake-openai.mjs)
# and the server on free ports with a temporary SQLite file, auth on (/docs
# and /playground public as the README suggests), the calc
# example tool (run scripts/build-plugins.sh first) and the example
# workflow "publish" copied from mastra.toml. Screenshots are left in
# $BROWSER_ARTIFACTS (default /tmp/mastra-browser-artifacts). Exits non-zero
# on any failure, the server log printed then, and when the run left a file
# in the source tree.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf 'browser: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

require_tools node npm go curl
"$ROOT/scripts/install-browser.sh"

cd "$HERE"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

CALC="$ROOT/examples/calc-tool/calc-tool.wasm"
[ -f "$CALC" ] || { log "$CALC is missing: run scripts/build-plugins.sh"; exit 1; }

TMP="$(mktemp -d /tmp/mastra-browser.XXXXXX)"
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

TOKEN="browser-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$TMP/mastra.toml" <<CONF
[server]
host = "127.0.0.1"
port = 0                     # the OS picks a free port; read back from the log
playground = true

[server.auth]
enabled = true
public = ["/health", "/docs", "/playground"]
[[server.auth.tokens]]
env = "BROWSER_TEST_TOKEN"
user = "browser"
resource_id = "res-browser"

[memory]
sqlite_path = "$TMP/mastra.db"

[agents.assistant]
name = "Assistant"
instructions = "You are a helpful assistant."
model = "echo"
tools = ["calc"]

[agents.calculator]          # calls calc on the fake model
name = "Calculator"
model = "openai/gpt-test"
tools = ["calc"]

[providers.openai]
base_url = "$FAKE_URL"

[plugins]
cache_dir = "$TMP/wasm-cache"

[[tools]]
name = "calc"
description = "Add, subtract, multiply or divide two numbers"
module = "$CALC"
input_schema = '{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},"op":{"enum":["add","subtract","multiply","divide"]}},"required":["a","b","op"],"additionalProperties":false}'
CONF
# The example workflow as mastra.toml has it: its tables, up to the next
# table that is not one of its own.
awk '/^\[+/ { on = ($0 ~ /^\[+workflows\.publish[].]/) } on' "$ROOT/mastra.toml" >>"$TMP/mastra.toml"
grep -q '^\[workflows.publish\]' "$TMP/mastra.toml" || { log "no [workflows.publish] in mastra.toml"; exit 1; }

env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" BROWSER_TEST_TOKEN="$TOKEN" OPENAI_API_KEY=sk-fake \
  "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

wait_ready "$TMP/server.log" "$SERVER_PID"

ARTIFACTS="${BROWSER_ARTIFACTS:-/tmp/mastra-browser-artifacts}"
mkdir -p "$ARTIFACTS"
# Anything new in the source tree after the run (even an ignored file) fails it.
tree_state() { git -C "$ROOT" status --porcelain --ignored 2>/dev/null || true; }
before="$(tree_state)"
status=0
MASTRA_URL="http://$ADDR" MASTRA_TOKEN="$TOKEN" BROWSER_ARTIFACTS="$ARTIFACTS" \
  node --test --test-reporter=spec "$HERE/browser.test.mjs" || status=$?
no_5xx "$TMP/server.log" || status=1
if [ "$(tree_state)" != "$before" ]; then
  log "the run left files in the source tree:"
  diff <(printf '%s\n' "$before") <(tree_state) | grep '^>' >&2 || true
  status=1
fi
if [ "$status" -ne 0 ]; then
  log "FAILED; server log:"; tail -n 50 "$TMP/server.log" >&2
  exit "$status"
fi
log "passed; screenshots in $ARTIFACTS"
