#!/usr/bin/env bash
# System packages the slides use, installed by scripts/setup_env.sh (make setup): Debian's Chromium
# (the slide PDFs and the slide-rendering test drive it through playwright) and Node.js/npm (make
# setup installs reveal.js and KaTeX with npm; the slide build typesets math with KaTeX in Node.js).
# Best effort and idempotent: as root with apt-get it runs `apt-get update` once and installs what
# is missing; otherwise it prints a note and carries on. Without Chromium the browser test skips
# with a reason, except when CI is set, where it fails. Seconds when everything is installed.
set -uo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || command -v google-chrome >/dev/null 2>&1 || [[ -n ${COURSE_CHROMIUM:-} ]] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing system packages with apt-get: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "==> installed: ${missing[*]}"
  else
    echo "note: apt-get could not install ${missing[*]}; the slide build and its browser test need them" \
         "(the test skips, or fails under CI). Try again: bash scripts/system_deps.sh" >&2
  fi
else
  echo "note: not installing ${missing[*]} (needs root and apt-get). Install them yourself" \
       "(e.g. Debian/Ubuntu: sudo apt-get install ${missing[*]}), then run make setup again, to build" \
       "the slides and run their browser test; without Chromium it skips (it fails when CI is set)." >&2
fi
exit 0
