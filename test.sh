#!/usr/bin/env bash
# Runs the whole test suite. As root on Debian/Ubuntu it first installs what the tests need (a CJK font for
# the plot and page tests, Debian's chromium for the browser tests); elsewhere install fonts-wqy-microhei and
# chromium yourself (the browser tests need /usr/bin/chromium; no browser is ever downloaded). python3-jinja2 lets a
# test render the exported chat template as transformers does; the PyTorch checks of our exports run only where
# python3-torch is installed (large, so not installed here) and are reported skipped otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

packages=(fonts-wqy-microhei python3-jinja2)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}…"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not installed: ${missing[*]} (some plot checks will be weaker)" >&2
  fi
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
dotnet test MiniGlm.slnx --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain summary line: "N passed, N failed, N skipped".
grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | awk -F'[:,] *' \
  '{f+=$2; p+=$4; s+=$6} END {if (NR) printf "%d passed, %d failed, %d skipped\n", p, f, s}'
exit "$status"
