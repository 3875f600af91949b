#!/usr/bin/env bash
# Runs the test suite. Without flags (the CI command, .ci/run): vet, the Go
# tests under the race detector, and (when present) the @mastra/client-js
# compatibility test, the /docs and /playground pages in headless Chromium
# (tests/browser, which installs Debian chromium when missing:
# scripts/install-browser.sh), the Next.js example (tests/nextjs) and Mastra
# Studio against the binary (tests/studio). It ends with a table of the time
# each stage took.
#
#   scripts/test.sh --quick   # the developer's loop: vet and the Go tests
#                             # with -short and without -race; no container,
#                             # cluster, soak, browser or npm stage
#
# With -short the heavy Go tests skip themselves (tests/container builds an
# image, tests/cluster and bench/cluster run servers behind HAProxy,
# bench/soak runs a minute); MASTRA_CLUSTER_TEST=1 is still needed for
# tests/cluster's killed-instance test in the full run. Further arguments go
# to `go test` (e.g. -run TestX).
#
# Set-up it does itself: installs the plugin toolchains if missing (and
# HAProxy, for the full run), builds the Wasm plugins, and, unless
# TEST_DATABASE_URL is set, starts one throwaway PostgreSQL cluster for the
# whole run (each test package makes its own database in it) and removes it
# at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'test.sh: %s\n' "$*" >&2; }

quick=false
if [ "${1:-}" = "--quick" ]; then
  quick=true
  shift
fi

# stage NAME COMMAND...: runs COMMAND and records how long it took, for
# the table printed at the end (also when a stage fails).
stage_names=()
stage_secs=()
stage() {
  local name="$1" began=$SECONDS
  shift
  log "$name"
  stage_names+=("$name")
  stage_secs+=("-1")
  "$@"
  stage_secs[${#stage_secs[@]}-1]=$((SECONDS - began))
}
print_times() {
  local i s
  [ "${#stage_names[@]}" -gt 0 ] || return 0
  printf '\ntest.sh: time per stage\n' >&2
  for i in "${!stage_names[@]}"; do
    s="${stage_secs[$i]}"
    if [ "$s" -lt 0 ]; then
      printf '  %-58s %s\n' "${stage_names[$i]}" "failed" >&2
    else
      printf '  %-58s %3dm%02ds\n' "${stage_names[$i]}" $((s / 60)) $((s % 60)) >&2
    fi
  done
  printf '  %-58s %3dm%02ds\n' "total" $((SECONDS / 60)) $((SECONDS % 60)) >&2
}
cleanup=()
on_exit() {
  print_times
  local c
  for c in "${cleanup[@]}"; do eval "$c"; done
}
trap on_exit EXIT

stage "plugin toolchains" "$ROOT/scripts/install-plugin-toolchains.sh"
if ! $quick; then
  # HAProxy for tests/cluster (examples/cluster behind a real balancer).
  stage "HAProxy" "$ROOT/scripts/install-haproxy.sh"
fi
# The one plugin build of the run: test packages only check that the .wasm
# files they need are there and up to date (internal/plugintest).
stage "build plugins" "$ROOT/scripts/build-plugins.sh"

start_postgres() {
  PGDIR="$(mktemp -d /tmp/mastra-test-pg.XXXXXX)"
  go build -o "$PGDIR.pgcluster" ./internal/pgtest/pgcluster
  TEST_DATABASE_URL="$("$PGDIR.pgcluster" start "$PGDIR/cluster")"
  export TEST_DATABASE_URL
  cleanup+=('"$PGDIR.pgcluster" stop "$PGDIR/cluster" || true; rm -rf "$PGDIR" "$PGDIR.pgcluster"')
  log "throwaway PostgreSQL cluster: $TEST_DATABASE_URL"
}
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  stage "throwaway PostgreSQL" start_postgres
fi

stage "go vet" go vet ./...
# Tests write only under their temporary directories: anything new in the
# tree after the run (even an ignored file, such as a compile cache left by a
# test that ran in the package directory) fails the run.
tree_state() { git status --porcelain --ignored 2>/dev/null || true; }
before="$(tree_state)"
if $quick; then
  stage "go test -short" go test -short -count=1 ./... "$@"
else
  stage "go test -race" go test -race -count=1 -timeout 30m ./... "$@"
fi
if [ "$(tree_state)" != "$before" ]; then
  log "tests left files in the source tree:"
  diff <(printf '%s\n' "$before") <(tree_state) | grep '^>' >&2 || true
  exit 1
fi

# The allocation guard (tests/ops TestTurnAllocs) skips under the race
# detector, whose counts differ and drift: run it once without.
if ! $quick; then
  stage "allocations per turn (no -race)" go test -count=1 -run TestTurnAllocs ./tests/ops/
fi

# Guest SDK module (its own go.mod).
sdk_tests() { (cd sdk/go && go vet ./... && go test -count=1 ./...); }
stage "guest SDK (sdk/go)" sdk_tests

if $quick; then
  log "quick run passed (the full run, scripts/test.sh, is what CI runs)"
  exit 0
fi

if [ -f "$ROOT/tests/client-js/run.sh" ]; then
  stage "@mastra/client-js compatibility" "$ROOT/tests/client-js/run.sh"
  # Memory and working memory again on PostgreSQL (the workflow tests there
  # wait on River's 5 s scheduler, ~20 s more, and are covered by Go tests).
  clientjs_postgres() {
    MASTRA_CLIENTJS_DB=postgres MASTRA_CLIENTJS_TESTS="client.test.mjs workingmemory.test.mjs" \
      "$ROOT/tests/client-js/run.sh"
  }
  stage "@mastra/client-js on PostgreSQL" clientjs_postgres
fi
if [ -f "$ROOT/tests/mcp-conformance/run.sh" ]; then
  stage "MCP conformance suite and @mastra/mcp MCPClient (npm, Node 22)" "$ROOT/tests/mcp-conformance/run.sh"
fi
if [ -f "$ROOT/tests/mcp-client/run.sh" ]; then
  stage "MCP client against server-everything (stdio, streamable HTTP)" "$ROOT/tests/mcp-client/run.sh"
fi
if [ -f "$ROOT/tests/aisdk/run.sh" ]; then
  stage "AI SDK (npm ai) reading /chat/:agentId" "$ROOT/tests/aisdk/run.sh"
fi
if [ -f "$ROOT/tests/browser/run.sh" ]; then
  stage "/docs and /playground in headless Chromium" "$ROOT/tests/browser/run.sh"
fi
if [ -f "$ROOT/tests/nextjs/run.sh" ]; then
  # Skipped, saying so, when npm is unreachable.
  stage "examples/nextjs built and run against the server" "$ROOT/tests/nextjs/run.sh"
fi
if [ -f "$ROOT/tests/studio/run.sh" ]; then
  stage "Mastra Studio (npm mastra, pinned) in headless Chromium" "$ROOT/tests/studio/run.sh"
fi
log "all tests passed"
