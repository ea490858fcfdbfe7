#!/usr/bin/env bash
# Install everything the course needs; the only step that uses the network (apt, PyPI, npm):
#   1. system packages for the slides, best effort (scripts/system_deps.sh: Chromium, Node.js, npm);
#   2. the virtual environment in .venv, pinned versions from pyproject.toml;
#   3. the slides' npm packages (reveal.js, KaTeX), `npm ci` in slides/ from slides/package-lock.json.
# Idempotent: a stamp in .venv records the hash of pyproject.toml and the set-up scripts (steps 1-2),
# slides/node_modules/.course-lock-hash the hash of package-lock.json (step 3); with both unchanged
# a second run returns in well under a second and touches no network.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
hash=$(cat pyproject.toml scripts/setup_env.sh scripts/system_deps.sh | sha256sum | cut -c1-16)
stamp="$VENV/.course-setup-$hash"
if [[ ! -f $stamp ]]; then
  bash scripts/system_deps.sh
  echo "==> setting up $VENV (one time; about 2 minutes on a fast connection)"
  [[ -x $VENV/bin/python ]] || "$PY" -m venv "$VENV"
  log="$VENV/setup.log"
  : >"$log"
  pip_install() {  # quiet, with the full log shown only on failure
    "$VENV/bin/python" -m pip install --quiet "$@" >>"$log" 2>&1 \
      || { tail -30 "$log" >&2; echo "set-up failed: pip install $* (log: $log)" >&2; exit 1; }
  }
  pip_install --upgrade pip
  torch_pin=$(grep -oE '"torch==[^"]+"' pyproject.toml | tr -d '"')
  if command -v nvidia-smi >/dev/null 2>&1; then
    echo "==> NVIDIA GPU found: installing $torch_pin with CUDA"
    pip_install "$torch_pin"
  else
    # No GPU: install the CPU build first, so the pinned version is already satisfied and
    # nothing pulls several GB of CUDA packages. Where pip's default index only has CUDA
    # builds (Linux), set TORCH_INDEX_URL to the CPU wheel index (see README).
    echo "==> no NVIDIA GPU: installing the CPU build of $torch_pin"
    if [[ -n ${TORCH_INDEX_URL:-} ]]; then
      pip_install "$torch_pin" --index-url "$TORCH_INDEX_URL"
    else
      pip_install "$torch_pin"
    fi
  fi
  pip_install -e ".[dev]"
  "$VENV/bin/python" -c "import course_utils, torch, transformers, trl, peft" \
    || { echo "set-up failed: the course package does not import" >&2; exit 1; }
  rm -f "$VENV"/.course-setup-*
  touch "$stamp"
  echo "==> environment ready: $VENV"
fi

lock_hash=$(sha256sum slides/package-lock.json | cut -d' ' -f1)
npm_stamp=slides/node_modules/.course-lock-hash
if [[ $(cat "$npm_stamp" 2>/dev/null) != "$lock_hash" ]]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> npm ci in slides/ (reveal.js, KaTeX; pinned by package-lock.json)"
    (cd slides && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
      || { echo "set-up failed: npm ci in slides/ (is the npm registry reachable?)" >&2; exit 1; }
    printf %s "$lock_hash" >"$npm_stamp"
  else
    echo "note: npm not found, so the slides' reveal.js and KaTeX are not installed (make slides and" \
         "the slide browser test need them): install nodejs and npm, then run make setup again" >&2
  fi
fi
