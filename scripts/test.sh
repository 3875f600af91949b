#!/usr/bin/env bash
# Runs the whole test suite: vet, the Go tests under the race detector, and
# (when present) the @mastra/client-js compatibility test, the /docs and
# /playground pages in headless Chromium (tests/browser, which installs
# Debian chromium when missing: scripts/install-browser.sh), the Next.js
# example (tests/nextjs) and Mastra Studio against the binary (tests/studio).
#
# Set-up it does itself: installs the plugin toolchains if missing, builds
# the Wasm plugins, and, unless TEST_DATABASE_URL is set, starts one
# throwaway PostgreSQL cluster for the whole run (each test package makes
# its own database in it) and removes it at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'test.sh: %s\n' "$*" >&2; }

"$ROOT/scripts/install-plugin-toolchains.sh"
# HAProxy for tests/cluster (examples/cluster behind a real balancer).
"$ROOT/scripts/install-haproxy.sh"
# The one plugin build of the run: test packages only check that the .wasm
# files they need are there and up to date (internal/plugintest).
"$ROOT/scripts/build-plugins.sh"

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  PGDIR="$(mktemp -d /tmp/mastra-test-pg.XXXXXX)"
  go build -o "$PGDIR.pgcluster" ./internal/pgtest/pgcluster
  TEST_DATABASE_URL="$("$PGDIR.pgcluster" start "$PGDIR/cluster")"
  export TEST_DATABASE_URL
  trap '"$PGDIR.pgcluster" stop "$PGDIR/cluster" || true; rm -rf "$PGDIR" "$PGDIR.pgcluster"' EXIT
  log "throwaway PostgreSQL cluster: $TEST_DATABASE_URL"
fi

log "go vet"
go vet ./...
# Tests write only under their temporary directories: anything new in the
# tree after the run (even an ignored file, such as a compile cache left by a
# test that ran in the package directory) fails the run.
tree_state() { git status --porcelain --ignored 2>/dev/null || true; }
before="$(tree_state)"
log "go test -race"
go test -race -count=1 ./... "$@"
if [ "$(tree_state)" != "$before" ]; then
  log "tests left files in the source tree:"
  diff <(printf '%s\n' "$before") <(tree_state) | grep '^>' >&2 || true
  exit 1
fi

# Guest SDK module (its own go.mod).
(cd sdk/go && go vet ./... && go test -count=1 ./...)

if [ -f "$ROOT/tests/client-js/run.sh" ]; then
  log "@mastra/client-js compatibility"
  "$ROOT/tests/client-js/run.sh"
  # Memory and working memory again on PostgreSQL (the workflow tests there
  # wait on River's 5 s scheduler, ~20 s more, and are covered by Go tests).
  MASTRA_CLIENTJS_DB=postgres MASTRA_CLIENTJS_TESTS="client.test.mjs workingmemory.test.mjs" \
    "$ROOT/tests/client-js/run.sh"
fi
if [ -f "$ROOT/tests/aisdk/run.sh" ]; then
  log "AI SDK (npm ai) reading /chat/:agentId"
  "$ROOT/tests/aisdk/run.sh"
fi
if [ -f "$ROOT/tests/browser/run.sh" ]; then
  log "/docs and /playground in headless Chromium"
  "$ROOT/tests/browser/run.sh"
fi
if [ -f "$ROOT/tests/nextjs/run.sh" ]; then
  log "examples/nextjs built and run against the server (skipped, saying so, when npm is unreachable)"
  "$ROOT/tests/nextjs/run.sh"
fi
if [ -f "$ROOT/tests/studio/run.sh" ]; then
  log "Mastra Studio (npm mastra, pinned) in headless Chromium"
  "$ROOT/tests/studio/run.sh"
fi
log "all tests passed"
