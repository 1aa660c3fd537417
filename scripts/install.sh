#!/usr/bin/env bash
# Set up PostTrainBench on a fresh Linux machine: a virtual environment in .venv with the
# CPU build of torch, the package (editable), and bubblewrap for the default sandbox.
# Usage: bash scripts/install.sh [--dev]     (--dev adds pytest, ruff, mypy)
# Idempotent: running it again only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[[ "${1:-}" == "--dev" ]] && extras="[dev]"
python="${PYTHON:-python3}"

if ! command -v bwrap >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing bubblewrap (the default sandbox)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap
  else
    echo "!! bubblewrap (bwrap) is missing: trials fall back to the unisolated 'process'" \
         "sandbox. Install it with your package manager (Debian: apt-get install bubblewrap)."
  fi
fi

[[ -x .venv/bin/python ]] || "$python" -m venv .venv
# torch first and pinned, so that no later requirement pulls a multi-GB CUDA build on a
# CPU-only machine (override with PTB_TORCH, e.g. PTB_TORCH='torch==2.13.0+cu128').
.venv/bin/pip install -q "${PTB_TORCH:-torch==2.13.0}"
.venv/bin/pip install -q -e ".${extras}"
echo "== ready: .venv/bin/ptb --help"
