#!/usr/bin/env bash
# Installs Debian's wrk (the HTTP load generator of the throughput benchmark) when missing.
# Exits non-zero when it cannot; the benchmark then falls back to its Python client.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install_wrk: wrk is missing and this is not root; run: apt-get install -y wrk" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
