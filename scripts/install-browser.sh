#!/usr/bin/env bash
# Installs what tests/browser needs: Debian's chromium (driven there by
# playwright-core from npm, which downloads no browser of its own).
#
# Idempotent: it installs only what is missing. As root it runs apt-get
# directly; otherwise it uses sudo if available, else prints the command to
# run and fails.
set -euo pipefail

log() { printf 'install-browser: %s\n' "$*" >&2; }

if [ -x /usr/bin/chromium ]; then
  log "chromium: present"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  log "chromium is missing; run as root: apt-get update && apt-get install -y --no-install-recommends chromium"
  exit 1
fi
log "installing Debian chromium"
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium
