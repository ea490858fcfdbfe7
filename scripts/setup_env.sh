#!/usr/bin/env bash
# Create (or reuse) the course's virtual environment in .venv.
# Idempotent: a stamp file records the hash of pyproject.toml; a second run with an
# unchanged pyproject.toml returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
hash=$(cat pyproject.toml scripts/setup_env.sh | sha256sum | cut -c1-16)
stamp="$VENV/.course-setup-$hash"
if [[ -f $stamp ]]; then
  exit 0
fi
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
