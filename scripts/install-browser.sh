#!/usr/bin/env bash
# Installs what tests/browser needs: Debian's chromium (driven there by
# playwright-core from npm, which downloads no browser of its own).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"
apt_install install-browser /usr/bin/chromium chromium
