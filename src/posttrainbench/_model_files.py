"""What of a submitted model folder the harness loads, and the check before it loads it.

A submission is code-shaped data: a pickle weight file (``pytorch_model.bin``, ``*.pt``)
runs code when unpickled, a ``config.json`` or ``tokenizer_config.json`` with an
``auto_map`` names Python files of the submission to import, and a ``config.json`` that
declares absurd sizes (a vocabulary of 10^9, a million layers) makes a loader allocate,
or initialise, far more than the weights hold. The harness (evaluation, and the audit's
likelihood scorer) therefore loads only :data:`LOADED_FILES` (the configuration and
safetensors weights; never ``trust_remote_code``), and :func:`check_loadable` runs first:
the weights must be safetensors with well-formed headers, and the configuration may not
describe more parameters than the weights hold (counted on PyTorch's ``meta`` device,
which allocates nothing, within :data:`CHECK_SECONDS`).
"""

from __future__ import annotations

import json
import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "CHECK_SECONDS",
    "LOADED_FILES",
    "PICKLE_SUFFIXES",
    "UnloadableModel",
    "check_loadable",
    "is_loaded_file",
]

LOADED_FILES = frozenset({"config.json", "model.safetensors.index.json"})
"""Files of a submission the harness's loaders read, besides ``*.safetensors``."""
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"})
"""Weight files in a pickle format: never loaded."""
CHECK_SECONDS = 120
"""Time to build the configuration's model on the ``meta`` device before it is refused."""
_MAX_CONFIG_BYTES = 4 << 20
_SLACK = 1.01
"""Declared parameters may exceed the stored ones by this factor (buffers, rounding)."""
_PACKED = 8.0
"""... or by this one with a ``quantization_config`` (4-bit values packed in int32)."""


class UnloadableModel(Exception):
    """The model folder must not be loaded; the message says why and what to do."""


def is_loaded_file(name: str) -> bool:
    """True for the files of a model folder that the harness loads."""
    return name in LOADED_FILES or name.endswith(".safetensors")


def check_loadable(model_dir: Path) -> None:
    """Refuse a model folder whose loading could run code, exhaust memory or hang.

    Raises:
        UnloadableModel: No safetensors weights, a malformed header, or a configuration
            that describes more parameters than the weights hold (or takes longer than
            :data:`CHECK_SECONDS` to build on the ``meta`` device).
    """
    stored = _stored_parameters(model_dir)
    declared, quantized = _declared_parameters(model_dir)
    # A quantized checkpoint packs several parameters into one stored element.
    if declared > stored * (_PACKED if quantized else _SLACK) + 1024:
        raise UnloadableModel(
            f"config.json describes {declared:,} parameters but the weights hold only "
            f"{stored:,}: the configuration must describe the weights it ships with"
        )


def _stored_parameters(model_dir: Path) -> int:
    """Elements in the safetensors files (headers only; the library bounds their size)."""
    from safetensors import safe_open

    files = sorted(p for p in model_dir.iterdir() if p.name.endswith(".safetensors"))
    if not files:
        pickles = sorted(p.name for p in model_dir.iterdir() if p.suffix in PICKLE_SUFFIXES)
        found = f" (found {', '.join(pickles[:3])}: pickles are never loaded)" if pickles else ""
        raise UnloadableModel(
            f"no safetensors weights{found}; save the model with "
            "save_pretrained(..., safe_serialization=True)"
        )
    total = 0
    for file in files:
        try:
            with safe_open(str(file), framework="pt") as weights:
                for name in weights.keys():  # noqa: SIM118 - safe_open has no __iter__
                    total += math.prod(weights.get_slice(name).get_shape())
        except Exception as error:  # noqa: BLE001 - any malformed file is refused
            problem = f"{file.name} is not a valid safetensors file: {error}"
            raise UnloadableModel(problem) from error
    return total


def _declared_parameters(model_dir: Path) -> tuple[int, bool]:
    """Parameters ``config.json`` describes (on the ``meta`` device); whether it is quantized."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config_file = model_dir / "config.json"
    if config_file.stat().st_size > _MAX_CONFIG_BYTES:
        raise UnloadableModel(f"config.json is larger than {_MAX_CONFIG_BYTES >> 20} MiB")
    try:
        raw = json.loads(config_file.read_text(encoding="utf-8"))
        # Explicitly False: left unset, transformers asks on stdin for an unknown model type.
        config = AutoConfig.from_pretrained(str(model_dir), trust_remote_code=False)
        with _deadline(CHECK_SECONDS), torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    except TimeoutError as error:
        raise UnloadableModel(
            f"config.json describes a model that takes over {CHECK_SECONDS} s to build"
        ) from error
    except Exception as error:  # noqa: BLE001 - a config transformers cannot build
        raise UnloadableModel(f"config.json does not describe a loadable model: {error}") from error
    quantized = isinstance(raw, dict) and "quantization_config" in raw
    return sum(parameter.numel() for parameter in model.parameters()), quantized


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Raise TimeoutError in the block after ``seconds`` (main thread only; else no limit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
