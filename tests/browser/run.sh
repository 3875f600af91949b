#!/usr/bin/env bash
# Opens the server's /docs page in headless Chromium (Debian chromium,
# installed by scripts/install-browser.sh when missing, driven by
# playwright-core pinned in package.json and locked in package-lock.json)
# and checks that it shows the routes of the OpenAPI document.
#
# Builds the binary, starts it on a free port with a temporary SQLite file
# and auth on (/docs public, the document behind a token, as the README
# suggests), runs docs.test.mjs, stops the server. The screenshot is left in
# $BROWSER_ARTIFACTS (default /tmp/mastra-browser-artifacts). Exits non-zero
# on any failure; the server log is printed then.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf 'browser: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

for tool in node npm go curl; do
  command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
done
"$ROOT/scripts/install-browser.sh"

cd "$HERE"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

TMP="$(mktemp -d /tmp/mastra-browser.XXXXXX)"
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

TOKEN="docs-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$TMP/mastra.toml" <<CONF
[server]
host = "127.0.0.1"
port = 0                     # the OS picks a free port; read back from the log

[server.auth]
enabled = true
public = ["/health", "/docs"]
[[server.auth.tokens]]
env = "BROWSER_TEST_TOKEN"
user = "docs-reader"
resource_id = "res-docs"

[memory]
sqlite_path = "$TMP/mastra.db"

[agents.assistant]
name = "Assistant"
instructions = "You are a helpful assistant."
model = "echo"

[plugins]
cache_dir = "$TMP/wasm-cache"

[workflows.hello]
description = "One map step"
[[workflows.hello.steps]]
id = "greet"
map = '{"greeting": "hello"}'
CONF

env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" BROWSER_TEST_TOKEN="$TOKEN" \
  "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

wait_ready "$TMP/server.log" "$SERVER_PID"

ARTIFACTS="${BROWSER_ARTIFACTS:-/tmp/mastra-browser-artifacts}"
mkdir -p "$ARTIFACTS"
status=0
MASTRA_URL="http://$ADDR" MASTRA_TOKEN="$TOKEN" BROWSER_ARTIFACTS="$ARTIFACTS" BROWSER_PROFILE="$TMP/profile" \
  node --test --test-reporter=spec "$HERE"/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  log "FAILED; server log:"; tail -n 50 "$TMP/server.log" >&2
  exit "$status"
fi
log "passed; screenshot in $ARTIFACTS/docs.png"
