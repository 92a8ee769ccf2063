#!/usr/bin/env bash
# Install Debian's chromium (used headless by the browser check) if it is missing and we are allowed to.
# Never downloads a browser of its own: the test drives the system /usr/bin/chromium with the network off.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "chromium is not installed and this user cannot install it: the browser check will be skipped." >&2
    echo "Install it with: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is not installed and apt-get is not available: the browser check will be skipped." >&2
  exit 1
fi
echo "Installing Debian's chromium for the browser check..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
