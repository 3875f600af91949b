#!/usr/bin/env bash
# Installs what examples/cluster and tests/cluster need: Debian's HAProxy,
# the load balancer in front of the instances.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt-install.sh"
apt_install install-haproxy haproxy haproxy
