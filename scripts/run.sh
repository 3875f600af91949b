#!/usr/bin/env bash
# Builds and runs the server, saying what each stage does and how long it
# takes the first time.
#
#   scripts/run.sh [mastra-server command and flags…]        e.g. scripts/run.sh dev
#       mastra.toml: SQLite, the offline echo model, the example Wasm plugins.
#       Installs the plugin toolchains if missing (Debian/Ubuntu: apt, npm)
#       and builds the plugins first.
#   scripts/run.sh --no-plugins [command and flags…]
#       examples/minimal.toml (unless --config is given): needs only Go.
#
# The server is built into bin/mastra-server; go build rebuilds it only when
# a source changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

started=$SECONDS
stage() { printf 'run.sh [%3ss] %s\n' "$((SECONDS - started))" "$*" >&2; }

plugins=1
if [ "${1:-}" = "--no-plugins" ]; then
  plugins=0
  shift
fi

# The subcommand, if any, comes first; flags follow it.
cmd=()
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  cmd=("$1")
  shift
fi
args=("$@")
if [ "$plugins" -eq 0 ]; then
  has_config=0
  for a in "$@"; do
    case "$a" in --config | --config=* | -config | -config=*) has_config=1 ;; esac
  done
  case "${cmd[0]-serve}" in
    serve | dev | migrate | config | validate | healthcheck)
      [ "$has_config" -eq 1 ] || args=(--config "$ROOT/examples/minimal.toml" "$@") ;;
  esac
fi

if [ "$plugins" -eq 1 ]; then
  stage "checking the plugin toolchains (a first install: a few minutes of apt and npm; --no-plugins skips this)…"
  "$ROOT/scripts/install-plugin-toolchains.sh"
  stage "building the Wasm plugins (first build: about a minute; then only the changed ones)…"
  "$ROOT/scripts/build-plugins.sh"
fi

if [ -x "$ROOT/bin/mastra-server" ]; then
  stage "building the server into bin/mastra-server (seconds when little changed)…"
else
  stage "building the server into bin/mastra-server (first build: about 4 CPU-minutes, so 2-4 minutes on 2 cores; later builds take seconds)…"
fi
built=$SECONDS
go build -o "$ROOT/bin/mastra-server" ./cmd/mastra-server
stage "server built in $((SECONDS - built))s; starting it (its ready line lists the URLs)…"
# ${a[@]+"${a[@]}"}: an empty array under set -u, in the bash 3.2 of macOS too.
exec "$ROOT/bin/mastra-server" ${cmd[@]+"${cmd[@]}"} ${args[@]+"${args[@]}"}
