#!/usr/bin/env bash
# Builds examples/nextjs as a user would (npm ci, next build), starts it
# (next start on a free port) in front of the real server binary on the echo
# model with auth on, and runs nextjs.test.mjs: the example's two routes from
# Node (the useChat one read by the AI SDK's own parser) and its pages in
# headless Chromium (Debian chromium, installed by scripts/install-browser.sh
# when missing, driven by playwright-core pinned here).
#
# When npm packages must be installed and the npm registry does not answer,
# it prints SKIPPED with the reason and exits 0. node_modules stay (git
# ignores them); the build output (.next, next-env.d.ts) is removed unless it
# was there before. Screenshots go to $BROWSER_ARTIFACTS (default
# /tmp/mastra-browser-artifacts). Exits non-zero on any failure, printing the
# logs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
EXAMPLE="$ROOT/examples/nextjs"
log() { printf 'nextjs: %s\n' "$*" >&2; }
. "$ROOT/scripts/lib/test-server.sh"

require_tools node npm go curl

# needs_ci DIR PACKAGE: true when DIR's node_modules are missing or older
# than its lock file.
needs_ci() { [ ! -d "$1/node_modules/$2" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; }
install=()
needs_ci "$EXAMPLE" next && install+=("$EXAMPLE")
needs_ci "$HERE" playwright-core && install+=("$HERE")
if [ "${#install[@]}" -gt 0 ] && ! timeout 30 npm ping --loglevel=error >/dev/null 2>&1; then
  log "SKIPPED: the npm registry does not answer (npm ping), so examples/nextjs cannot be installed; not built, not tested"
  echo "nextjs: SKIPPED (npm registry unreachable)"
  exit 0
fi
for dir in "${install[@]}"; do
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
done
"$ROOT/scripts/install-browser.sh"

TMP="$(mktemp -d /tmp/mastra-nextjs.XXXXXX)"
SERVER_PID=""
NEXT_PID=""
# The build output is the test's own unless a developer's was there already.
LEAVE=()
for f in .next next-env.d.ts; do [ -e "$EXAMPLE/$f" ] && LEAVE+=("$f"); done
stop() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$NEXT_PID"
  stop "$SERVER_PID"
  for f in .next next-env.d.ts; do
    [[ " ${LEAVE[*]} " == *" $f "* ]] || rm -rf "${EXAMPLE:?}/$f"
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

export NEXT_TELEMETRY_DISABLED=1
log "next build"
(cd "$EXAMPLE" && ./node_modules/.bin/next build >"$TMP/build.log" 2>&1) || {
  log "next build failed:"; cat "$TMP/build.log" >&2; exit 1
}

log "go build"
(cd "$ROOT" && go build -o "$TMP/mastra-server" ./cmd/mastra-server)

# The app's token is an admin one: the app, not the token, names the
# resource (its signed-in user) on each request.
TOKEN="next-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$TMP/mastra.toml" <<CONF
[server]
host = "127.0.0.1"
port = 0

[server.auth]
enabled = true
[[server.auth.tokens]]
env = "NEXT_APP_TOKEN"
user = "next-app"
admin = true

[memory]
sqlite_path = "$TMP/mastra.db"

[agents.assistant]
name = "Assistant"
model = "echo"

[plugins]
cache_dir = "$TMP/wasm-cache"
CONF

env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" NEXT_APP_TOKEN="$TOKEN" \
  "$TMP/mastra-server" serve --config "$TMP/mastra.toml" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "$TMP/server.log" "$SERVER_PID"

# next start on port 0 takes a free port and prints it.
: >"$TMP/next.log"
(cd "$EXAMPLE" && exec env -i PATH="$PATH" HOME="${HOME:-$TMP}" TMPDIR="${TMPDIR:-/tmp}" NEXT_TELEMETRY_DISABLED=1 \
  MASTRA_API_URL="http://$ADDR" MASTRA_API_TOKEN="$TOKEN" \
  ./node_modules/.bin/next start -H 127.0.0.1 -p 0) >"$TMP/next.log" 2>&1 &
NEXT_PID=$!
NEXT_URL=""
for _ in $(seq 1 200); do
  NEXT_URL="$(sed -n 's/.*Local: *\(http:[^ ]*\).*/\1/p' "$TMP/next.log" | head -n1)"
  [ -n "$NEXT_URL" ] && curl -fsS -o /dev/null "$NEXT_URL/" 2>/dev/null && break
  kill -0 "$NEXT_PID" 2>/dev/null || { log "next start exited:"; cat "$TMP/next.log" >&2; exit 1; }
  NEXT_URL=""
  sleep 0.1
done
[ -n "$NEXT_URL" ] || { log "next start not ready after 20s:"; cat "$TMP/next.log" >&2; exit 1; }
log "app on $NEXT_URL"

ARTIFACTS="${BROWSER_ARTIFACTS:-/tmp/mastra-browser-artifacts}"
status=0
NEXT_URL="$NEXT_URL" MASTRA_URL="http://$ADDR" MASTRA_TOKEN="$TOKEN" EXAMPLE_DIR="$EXAMPLE" \
  BROWSER_ARTIFACTS="$ARTIFACTS" BROWSER_PROFILE="$TMP/profile" \
  node --test --test-reporter=spec "$HERE"/*.test.mjs || status=$?

no_5xx "$TMP/server.log" || status=1
if [ "$status" -ne 0 ]; then
  log "FAILED; app log:"; tail -n 50 "$TMP/next.log" >&2
  log "server log:"; tail -n 50 "$TMP/server.log" >&2
  exit "$status"
fi
log "passed; screenshots in $ARTIFACTS/nextjs-*.png"
