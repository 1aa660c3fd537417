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

# --dev: the site and dashboard tests drive Debian's Chromium with Playwright (Playwright's
# own browser download is not used; the tests find the system `chromium`).
if [[ -n "$extras" ]] && ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (headless browser for the web tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "!! chromium is missing: the site and dashboard tests will be skipped" \
         "(Debian: apt-get install chromium)."
  fi
fi

# --dev: the SLURM executor's tests start a one-node cluster on loopback (slurmctld,
# slurmd and munged from Debian; they skip, saying why, where these are missing).
if [[ -n "$extras" ]] && ! command -v slurmctld >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing slurm-wlm and munge (loopback cluster for the executor tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge
  else
    echo "!! slurm-wlm is missing: the SLURM executor tests will be skipped" \
         "(Debian: apt-get install slurm-wlm munge)."
  fi
fi

# The agent CLIs (claude-code, codex, gemini-cli, opencode) install from npm with
# `ptb agents install NAME`; only a hint here, since CI's default tier does not need them.
if ! command -v npm >/dev/null 2>&1; then
  echo "!! npm is missing: 'ptb agents install' needs Node.js 20+ and npm" \
       "(Debian: apt-get install nodejs npm)."
fi

[[ -x .venv/bin/python ]] || "$python" -m venv .venv
# torch first and pinned, so that no later requirement pulls a multi-GB CUDA build on a
# CPU-only machine (override with PTB_TORCH, e.g. PTB_TORCH='torch==2.13.0+cu128').
.venv/bin/pip install -q "${PTB_TORCH:-torch==2.13.0}"
.venv/bin/pip install -q -e ".${extras}"
echo "== ready: .venv/bin/ptb --help"
