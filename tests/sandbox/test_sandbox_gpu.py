"""On a host with 2+ NVIDIA GPUs: the bwrap sandbox shows a trial exactly its GPUs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from posttrainbench.sandbox import BwrapSandbox, Mount, SandboxRequest

pytestmark = [pytest.mark.gpu, pytest.mark.timeout(300)]

CUDA_PROBE = """
import json, torch
print(json.dumps([torch.cuda.device_count(), str(torch.cuda.get_device_properties(0).uuid)]))
"""


def host_gpu_uuids() -> list[str]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    listed = subprocess.run(
        [smi, "--query-gpu=uuid", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def run_in_sandbox(tmp_path: Path, argv: list[str], name: str) -> list[str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CUDA_VISIBLE_DEVICES": "1",  # host numbering, as the executor sets it
        **{key: os.environ[key] for key in ("LD_LIBRARY_PATH",) if key in os.environ},
    }
    output = tmp_path / f"{name}.jsonl"
    request = SandboxRequest(
        argv=argv,
        cwd=tmp_path,
        env=env,
        time_limit_s=120,
        output_path=output,
        mounts=[Mount(tmp_path, writable=True)],
        gpus=(1,),
    )
    result = BwrapSandbox().run(request)
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert result.exit_code == 0, lines
    return [record["line"] for record in lines if record["stream"] == "stdout"]


def test_a_trial_given_gpu_1_sees_only_that_gpu_as_device_0(tmp_path: Path) -> None:
    uuids = host_gpu_uuids()
    if len(uuids) < 2:
        pytest.skip("needs a host with at least 2 NVIDIA GPUs")
    reason = BwrapSandbox().unavailable_reason()
    if reason:
        pytest.skip(reason)
    smi = shutil.which("nvidia-smi")
    assert smi is not None
    seen = run_in_sandbox(tmp_path, [smi, "--query-gpu=uuid", "--format=csv,noheader"], "smi")
    assert [line.strip() for line in seen] == [uuids[1]]
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        [line] = run_in_sandbox(tmp_path, [sys.executable, "-c", CUDA_PROBE], "cuda")
        count, uuid = json.loads(line)
        assert count == 1 and uuids[1].endswith(uuid)
