#!/usr/bin/env bash
# Runs the server on its embedded defaults: SQLite file, the offline echo
# model, the example plugins from mastra.toml. Installs the plugin
# toolchains if missing and builds the plugins first.
#
#   scripts/run.sh [mastra-server flags…]    e.g. scripts/run.sh --config my.toml
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/install-plugin-toolchains.sh"
"$ROOT/scripts/build-plugins.sh"
exec go run ./cmd/mastra-server "$@"
