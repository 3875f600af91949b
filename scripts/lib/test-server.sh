# Shared by the Node test runners (tests/client-js, tests/aisdk,
# tests/browser, tests/nextjs, tests/studio), which start the built binary on
# port 0 and read its address from the start-up log line. Source it; it
# defines functions only, which need a log function.

# require_tools TOOL...: exits saying which one is missing.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
  done
}

# start_fake_openai SCRIPT LOG: starts the runner's fake OpenAI-compatible
# model (a Node script that prints FAKE_URL=<base url>), sets FAKE_PID (the
# caller's cleanup kills it) and FAKE_URL; exits with its log when it printed
# no URL within 5 s.
start_fake_openai() {
  local script="$1" logfile="$2"
  # Created here: the background shell may open it after the first look.
  : >"$logfile"
  node "$script" >"$logfile" 2>&1 &
  FAKE_PID=$!
  FAKE_URL=""
  for _ in $(seq 1 100); do
    FAKE_URL="$(sed -n 's/^FAKE_URL=//p' "$logfile")"
    [ -n "$FAKE_URL" ] && return 0
    sleep 0.05
  done
  log "fake model did not start"; cat "$logfile" >&2; exit 1
}

# wait_ready LOG PID: sets ADDR to host:port once the server logged its
# address and /health answers; exits with the log when the server died or
# was not healthy within 20 s. Needs a log function.
wait_ready() {
  local logfile="$1" pid="$2"
  ADDR=""
  for _ in $(seq 1 200); do
    # The log is created by the background shell that starts the server,
    # perhaps after the first look.
    [ -f "$logfile" ] && ADDR="$(sed -n 's/.*mastra-server listening.*addr=\([0-9.]*:[0-9]*\).*/\1/p' "$logfile" | head -n1)"
    if [ -n "$ADDR" ] && curl -fsS "http://$ADDR/health" >/dev/null 2>&1; then
      log "server on http://$ADDR"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server exited before it was ready:"; cat "$logfile" >&2; exit 1
    fi
    ADDR=""
    sleep 0.1
  done
  log "server not healthy after 20s:"; cat "$logfile" >&2; exit 1
}

# no_5xx LOG: fails (returns 1) when the server answered any 5xx, printing
# those lines: client mistakes must be 4xx, and clients retry 5xx.
no_5xx() {
  if grep -q 'status=5[0-9][0-9]' "$1"; then
    log "the server answered 5xx during the run:"; grep 'status=5[0-9][0-9]' "$1" >&2
    return 1
  fi
}
