#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/webmap), only when /usr/bin/chromium is
# missing: Playwright drives it through `executable_path`. Never runs `playwright install` (that
# downloads a browser build of Playwright's own, which this project does not use).
# Quick when Chromium is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-browser: $CHROMIUM is missing; run as root or 'apt-get install chromium'" >&2
  exit 1
fi
echo "install-browser: installing Debian's chromium"
apt-get update -qq
# fonts-wqy-zenhei (7 MB): Chinese labels render in screenshots instead of empty boxes.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium fonts-wqy-zenhei >/dev/null
if [[ ! -x "$CHROMIUM" ]]; then
  echo "install-browser: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
