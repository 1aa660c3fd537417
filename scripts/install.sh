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

apt_updated=""
# ensure_command CMD "PACKAGES" "what it is for": apt-get install PACKAGES when CMD is missing
# (as root on Debian/Ubuntu), otherwise say what is missing and what that costs.
ensure_command() {
  local command="$1" packages="$2" purpose="$3"
  command -v "$command" >/dev/null 2>&1 && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing $packages ($purpose)"
    [[ -n "$apt_updated" ]] || { apt-get update -qq; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
  else
    echo "!! $command is missing ($purpose). Install it: apt-get install $packages"
  fi
}

ensure_command bwrap bubblewrap \
  "the default sandbox; without it trials fall back to the unisolated 'process' sandbox"
# The agent's network (--network internet, the default, or allow): its own namespace whose
# only way out is a user-mode stack that cannot reach the host's loopback, filtered by nft.
ensure_command slirp4netns slirp4netns "the agent's network stack (--network internet/allow)"
ensure_command nft nftables "the agent's network filter (--network internet/allow)"
ensure_command pasta passt "alternative user-mode network stack (reported by ptb doctor)"
if [[ -n "$extras" ]]; then
  # The site and dashboard tests drive Debian's Chromium with Playwright (Playwright's own
  # browser download is not used); the SLURM executor's tests start a one-node cluster on
  # loopback. Both skip, saying why, where these are missing.
  ensure_command chromium chromium "headless browser for the web tests"
  ensure_command slurmctld "slurm-wlm munge" "loopback cluster for the executor tests"
  ensure_command podman "podman runc" "real containers for the podman sandbox tests"
fi

# The agent CLIs (claude-code, codex, gemini-cli, opencode) install from npm with
# `ptb agents install NAME`; only a hint here, since CI's default tier does not need them.
if ! command -v npm >/dev/null 2>&1; then
  echo "!! npm is missing: 'ptb agents install' needs Node.js 20+ and npm" \
       "(Debian: apt-get install nodejs npm)."
fi

[[ -x .venv/bin/python ]] || "$python" -m venv .venv
torch="${PTB_TORCH:-torch==2.13.0}"
# torch is pinned in the same install as the package, so that no requirement pulls a
# multi-GB CUDA build on a CPU-only machine (override with PTB_TORCH, e.g.
# PTB_TORCH='torch==2.13.0+cu128').
# Bytecode: Python writes it for each module the first time one is imported, unless
# PYTHONDONTWRITEBYTECODE is set; then every new process would compile its imports again
# (about 20 s of CPU for torch, transformers and inspect-ai), so all of site-packages is
# compiled here instead (19k files: about 50 s on 2 cores, most of them never imported).
compile=()
if [[ -n "${PYTHONDONTWRITEBYTECODE:-}" ]]; then compile=(--compile-bytecode); fi
if [[ "${PTB_PIP:-uv}" == uv ]]; then
  # uv (from PyPI) downloads, unpacks and compiles in parallel: several times faster than
  # pip on a fresh machine. It reads no pip configuration, so the local wheel folders that
  # pip is configured with (find-links: where a machine keeps torch's CPU build) are passed.
  .venv/bin/python -m uv --version >/dev/null 2>&1 || .venv/bin/pip install -q "uv>=0.5"
  find_links=()
  for folder in $(.venv/bin/pip config list 2>/dev/null |
                  sed -n "s/^[^.]*\.find-links='\(.*\)'$/\1/p" | tr ' ' '\n' | sort -u); do
    find_links+=(--find-links "$folder")
  done
  .venv/bin/python -m uv pip install -q --python .venv/bin/python "${compile[@]}" \
    "${find_links[@]}" "$torch" -e ".${extras}"
else  # PTB_PIP=pip: pip alone, torch first
  .venv/bin/pip install -q "$torch"
  .venv/bin/pip install -q -e ".${extras}"
fi
# The package itself is installed editable: on a machine that writes no bytecode, compile
# it once here too (else 0.3 s of CPU for each `ptb` command and each worker started cold).
if [[ -n "${compile[*]}" ]]; then .venv/bin/python -m compileall -q src >/dev/null; fi
if [[ -n "$extras" ]]; then
  # Harbor's ATIF models, to validate exported trajectories in the tests. Harbor installs
  # only on Python >= 3.12; its models import on 3.11 from the wheel itself (a zip).
  .venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    -d .venv/harbor-wheel harbor==0.25.0
fi
echo "== ready: .venv/bin/ptb --help"
