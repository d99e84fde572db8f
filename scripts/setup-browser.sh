#!/usr/bin/env bash
# Headless Chromium for tests/test_browser.py and scripts/bench_report.py: Debian's `chromium` package.
# Idempotent and quiet: does nothing when `chromium` (or $MTQA_CHROMIUM) is already there; `make test` runs it.
# Playwright (pinned in requirements.lock) drives this executable; its own browser download is never used.
set -euo pipefail
if [ -n "${MTQA_CHROMIUM:-}" ] && [ -x "$MTQA_CHROMIUM" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: no chromium and no apt-get; install Chromium and set MTQA_CHROMIUM to its executable" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-browser: installing chromium needs root: run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "setup-browser: installing Debian's chromium for the browser tests (once)" >&2
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-browser: apt-get install chromium failed" >&2
  exit 1
fi
command -v chromium >/dev/null 2>&1 || { echo "setup-browser: chromium still not on PATH after install" >&2; exit 1; }
