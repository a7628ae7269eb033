#!/usr/bin/env bash
# Runs the whole test suite. As root on Debian/Ubuntu it first installs what the tests need: a CJK font for the
# plot and page tests, Debian's chromium for the browser tests (/usr/bin/chromium; no browser is ever downloaded),
# and the outside checkers of our exports: PyTorch (python3-torch, with libopenblas0-pthread) reads our nanoGPT and
# Hugging Face exports, jinja2 (python3-jinja2) and Go's text/template (golang-go) render our chat templates, and
# node with npm installs Hugging Face's own JavaScript tokenizer, template and GGUF readers (pinned, into a cache).
# Elsewhere install them yourself; a missing outside checker makes its tests skipped, except where
# MINIGLM_REQUIRE_OUTSIDE_CHECKS=1 (CI sets it), where it makes them fail. After the run it lists which outside
# checks ran.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

packages=(fonts-wqy-microhei python3-jinja2 python3-torch libopenblas0-pthread golang-go)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}…"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not installed: ${missing[*]} (their checks will be skipped, some plot checks weaker)" >&2
  fi
fi

log="$(mktemp)"
export MINIGLM_OUTSIDE_CHECKS_LOG="$(mktemp)"
trap 'rm -f "$log" "$MINIGLM_OUTSIDE_CHECKS_LOG"' EXIT
set +e
dotnet test MiniGlm.slnx --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# Which outside checks ran, and which did not (with why): one line per tool.
if [ -s "$MINIGLM_OUTSIDE_CHECKS_LOG" ]; then
  echo "outside checks:"
  sort -u "$MINIGLM_OUTSIDE_CHECKS_LOG" | awk -F'\t' '
    { key = $1 "\t" $2; n[key]++; if ($4 != "") why[key] = $4 }
    END { for (k in n) { split(k, p, "\t"); printf "  %-7s %s: %d test%s%s\n", p[1], p[2], n[k], n[k] == 1 ? "" : "s", (k in why) ? " (" why[k] ")" : "" } }' | sort
fi
# One plain summary line: "N passed, N failed, N skipped".
grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | awk -F'[:,] *' \
  '{f+=$2; p+=$4; s+=$6} END {if (NR) printf "%d passed, %d failed, %d skipped\n", p, f, s}'
exit "$status"
