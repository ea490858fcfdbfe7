#!/usr/bin/env bash
# System packages the tests use where they can be had: Debian's Chromium (the slide PDFs and the
# slide-rendering test drive it through playwright) and Node.js/npm (the slide build installs
# reveal.js and KaTeX with npm and typesets math with KaTeX).
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
  echo "==> installing test dependencies with apt-get: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "==> installed: ${missing[*]}"
  else
    echo "note: apt-get could not install ${missing[*]}; the slide browser test will skip (or fail under CI)" >&2
  fi
else
  echo "note: not installing ${missing[*]} (needs root and apt-get). Install them yourself" \
       "(e.g. Debian/Ubuntu: sudo apt-get install ${missing[*]}) to run the slide browser test;" \
       "without Chromium it skips (it fails when CI is set)." >&2
fi
exit 0
