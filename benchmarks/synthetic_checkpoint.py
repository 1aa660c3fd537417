"""Qwen3-4B-shaped random checkpoints for the audit benchmarks, written once and cached.

``cached_pair(root)`` returns ``(base, final)``: two sharded bf16 safetensors folders of the
Qwen3-4B shape (36 layers, hidden 2560, MLP 9728, 32/8 heads of 128, vocabulary 151,936,
tied embeddings: 4.02 B parameters, 8.0 GB each), with an index, a Qwen3 ``config.json``
and the tiny model's tokenizer. ``final`` is ``base`` plus a 1 % update (a stand-in
fine-tune). Tensors are generated and written a slice of rows at a time, so writing takes
a few hundred MB of memory whatever the size; a ``done.json`` marker makes later calls
reuse the files (delete the folder to rebuild).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

HIDDEN, INTERMEDIATE, LAYERS, VOCAB = 2560, 9728, 36, 151_936
HEADS, KV_HEADS, HEAD_DIM = 32, 8, 128
SHARDS = 3
"""Shards per checkpoint (Qwen/Qwen3-4B ships three)."""
UPDATE = 0.01
"""Relative size of final's update from base."""
_VERSION = 1
_SLICE_ELEMENTS = 16 << 20
_POOL_ELEMENTS = 64 << 20
_CONFIG = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": HIDDEN,
    "intermediate_size": INTERMEDIATE,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS,
    "num_key_value_heads": KV_HEADS,
    "head_dim": HEAD_DIM,
    "vocab_size": VOCAB,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "max_position_embeddings": 40960,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000,
}


def qwen3_4b_shapes() -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of Qwen3-4B (tied head: no ``lm_head.weight``)."""
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (VOCAB, HIDDEN)}
    for index in range(LAYERS):
        prefix = f"model.layers.{index}"
        shapes |= {
            f"{prefix}.self_attn.q_proj.weight": (HEADS * HEAD_DIM, HIDDEN),
            f"{prefix}.self_attn.k_proj.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
            f"{prefix}.self_attn.v_proj.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
            f"{prefix}.self_attn.o_proj.weight": (HIDDEN, HEADS * HEAD_DIM),
            f"{prefix}.self_attn.q_norm.weight": (HEAD_DIM,),
            f"{prefix}.self_attn.k_norm.weight": (HEAD_DIM,),
            f"{prefix}.mlp.gate_proj.weight": (INTERMEDIATE, HIDDEN),
            f"{prefix}.mlp.up_proj.weight": (INTERMEDIATE, HIDDEN),
            f"{prefix}.mlp.down_proj.weight": (HIDDEN, INTERMEDIATE),
            f"{prefix}.input_layernorm.weight": (HIDDEN,),
            f"{prefix}.post_attention_layernorm.weight": (HIDDEN,),
        }
    shapes["model.norm.weight"] = (HIDDEN,)
    return shapes


def cached_pair(root: Path, tokenizer_from: Path | None = None) -> tuple[Path, Path]:
    """``(base, final)`` under ``root``, written on the first call (minutes, 16 GB)."""
    base, final = root / "base", root / "final"
    marker = root / "done.json"
    expected = {"version": _VERSION, "shape": "qwen3-4b", "update": UPDATE}
    if marker.is_file() and json.loads(marker.read_text()) == expected:
        return base, final
    shutil.rmtree(root, ignore_errors=True)
    shapes = qwen3_4b_shapes()
    shards = _shards(shapes)
    for folder in (base, final):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps(_CONFIG, indent=2) + "\n")
        if tokenizer_from is not None:
            for path in tokenizer_from.glob("*token*"):
                shutil.copy2(path, folder / path.name)
        weight_map = {name: file for file, names in shards.items() for name in names}
        total_size = 2 * sum(map(math.prod, shapes.values()))
        index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
        (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    for number, (file, names) in enumerate(shards.items()):
        print(f"writing shard {number + 1}/{len(shards)} of base and final ...", flush=True)
        _write_shard(base / file, final / file, {name: shapes[name] for name in names})
    marker.write_text(json.dumps(expected))
    return base, final


def weight_files(folder: Path) -> list[Path]:
    """The shard files of a checkpoint folder written here."""
    return sorted(folder.glob("*.safetensors"))


def _shards(shapes: dict[str, tuple[int, ...]]) -> dict[str, list[str]]:
    """Names per shard file, in order, each shard about a third of the bytes."""
    total = sum(map(math.prod, shapes.values()))
    shards: dict[str, list[str]] = {}
    done = 0
    for name, shape in shapes.items():
        number = min(SHARDS - 1, done * SHARDS // total)
        shards.setdefault(f"model-{number + 1:05d}-of-{SHARDS:05d}.safetensors", []).append(name)
        done += math.prod(shape)
    return shards


def _header(shapes: dict[str, tuple[int, ...]]) -> bytes:
    entries: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in shapes.items():
        size = 2 * math.prod(shape)
        entries[name] = {
            "dtype": "BF16",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(entries).encode()
    return raw + b" " * (-len(raw) % 8)


def _write_shard(base: Path, final: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    import torch

    header = _header(shapes)
    generator = torch.Generator().manual_seed(len(header))
    # Slices of one pool of Gaussian draws at random offsets: drawing 4 B numbers afresh
    # would take most of the writing time, and the checks only need weight-like values.
    pool = torch.randn(_POOL_ELEMENTS, generator=generator) * 0.02
    with base.open("wb") as out_base, final.open("wb") as out_final:
        for out in (out_base, out_final):
            out.write(len(header).to_bytes(8, "little") + header)
        for shape in shapes.values():
            for rows in _slices(shape):
                count = math.prod(rows)
                start = int(torch.randint(0, _POOL_ELEMENTS - count + 1, (1,), generator=generator))
                weight = pool[start : start + count]
                update = UPDATE * pool[(start + 7919) % (_POOL_ELEMENTS - count) :][:count]
                if len(shape) == 1:
                    weight = weight + 1.0  # norm scales start at one
                out_base.write(weight.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
                moved = (weight + update).to(torch.bfloat16)
                out_final.write(moved.view(torch.int16).numpy().tobytes())


def _slices(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Shapes of consecutive row slices of a tensor, each at most ``_SLICE_ELEMENTS``."""
    row = math.prod(shape[1:])
    step = max(1, _SLICE_ELEMENTS // row)
    for begin in range(0, shape[0], step):
        yield (min(step, shape[0] - begin), *shape[1:])
