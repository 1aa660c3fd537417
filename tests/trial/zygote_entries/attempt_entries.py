"""Functions the zygote tests run as attempts (imported in the attempt, by name)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

_calls = 0
"""Set by ``count_calls``: a fresh attempt always starts from 0."""


def report(argv: list[str]) -> int:
    """Print what the attempt sees, then exit with the status given in ``argv[0]``."""
    global _calls
    _calls += 1
    print(f"argv={argv[1:]}")
    print(f"calls={_calls}")
    print(f"variable={os.environ.get('ZYGOTE_TEST_VARIABLE')}")
    print(f"cwd={Path.cwd()}")
    print(f"pid={os.getpid()} zygote={os.getppid()} group={os.getpgid(0)}", flush=True)
    return int(argv[0])


def fail(argv: list[str]) -> int:
    """Raise: the attempt exits with status 1 and its traceback in the log."""
    raise ValueError(f"broken attempt {argv}")


def hang_with_child(argv: list[str]) -> int:
    """Start a long-lived child, write both pids to ``argv[0]``, then hang."""
    child = subprocess.Popen(["sleep", "600"])
    Path(argv[0] + ".part").write_text(f"{os.getpid()} {child.pid}")
    Path(argv[0] + ".part").rename(argv[0])  # whole when it appears
    while True:
        time.sleep(1)


def cuda_work(argv: list[str]) -> int:
    """Use CUDA from a forked attempt: a matmul, then a tiny transformers model generating."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    x = torch.randn(512, 512, device="cuda")
    print(f"matmul on {torch.cuda.get_device_name()}: {float((x @ x).sum()):.3f}")
    config = Qwen3Config(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
    )
    model = Qwen3ForCausalLM(config).to("cuda", torch.bfloat16)
    out = model.generate(torch.tensor([[1, 2, 3]], device="cuda"), max_new_tokens=8)
    print(f"generated {out.shape[1] - 3} tokens", flush=True)
    return 0


def identify_and_wait(argv: list[str]) -> int:
    """Write ``pid parent group session`` to ``argv[0]``, wait for ``argv[1]`` to exist."""
    line = f"{os.getpid()} {os.getppid()} {os.getpgid(0)} {os.getsid(0)}"
    Path(argv[0] + ".part").write_text(line)
    Path(argv[0] + ".part").rename(argv[0])
    while not Path(argv[1]).exists():
        time.sleep(0.05)
    return int(argv[2]) if len(argv) > 2 else 0


def report_modules(argv: list[str]) -> int:
    """Print, for each module named in ``argv``, whether it was imported before this call."""
    import sys

    for name in argv:
        print(f"{name} {'already imported' if name in sys.modules else 'not imported'}")
    return 0
