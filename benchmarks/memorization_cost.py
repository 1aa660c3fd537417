"""Cost of the memorization test for a Qwen3-4B-shaped model on a full test set (GPU).

Random weights stand in for Qwen3-4B-Base (the real ones cannot be downloaded here): the
cost of a forward pass depends on the shape, not the values. The test set is GSM8K-sized
(1,319 items + 1,319 twins = 2,638 sequences) with token lengths drawn uniformly from
60 to 260 (mean 160; GSM8K's chat-formatted question + answer average about 80 tokens,
so this is twice the real work). The timing covers what the detector does: load the
base and score every sequence, free it, load the submission and score again, then the
sign-flip test. Prints a table and writes JSON (to ``$OUT`` when set, else
``benchmarks/results/``).

    python benchmarks/memorization_cost.py --shape qwen3-4b --items 1319   # on a GPU
    python benchmarks/memorization_cost.py --shape tiny --items 200        # CPU smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from posttrainbench.audit._likelihood import Encoded, free, item_log_likelihoods, load_scorer
from posttrainbench.audit.memorization import MemorizationSettings, paired_gain_test

SHAPES = {
    # Qwen/Qwen3-4B-Base's config.json.
    "qwen3-4b": {
        "hidden_size": 2560,
        "intermediate_size": 9728,
        "num_hidden_layers": 36,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 151936,
        "tie_word_embeddings": True,
    },
    "tiny": {
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "vocab_size": 512,
        "tie_word_embeddings": True,
    },
}


def _write_model(shape: str, directory: Path, device: str) -> float:
    """A random model of ``shape`` saved to ``directory``; returns its parameter count."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(**SHAPES[shape], max_position_embeddings=4096)
    config.architectures = ["Qwen3ForCausalLM"]
    torch.set_default_dtype(torch.bfloat16 if device == "cuda" else torch.float32)
    with torch.device(device):
        model = Qwen3ForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    model.save_pretrained(str(directory))
    count = sum(p.numel() for p in model.parameters())
    del model
    return float(count)


def _sequences(items: int, vocab: int) -> list[Encoded]:
    rng = random.Random(0)
    sequences = []
    for _ in range(2 * items):
        length = rng.randint(60, 260)
        ids = tuple(rng.randrange(vocab) for _ in range(length))
        sequences.append(Encoded(ids, tuple(index >= 12 for index in range(length))))
    return sequences


def main() -> None:
    """Time the test and print/write the figures."""
    import numpy as np
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen3-4b")
    parser.add_argument("--items", type=int, default=1319)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    settings = MemorizationSettings()
    sequences = _sequences(args.items, int(SHAPES[args.shape]["vocab_size"]))
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ptb-memo-cost-") as scratch:
        params = _write_model(args.shape, Path(scratch), device)
        started = time.perf_counter()
        scores = []
        for role in ("base", "submission"):
            tick = time.perf_counter()
            scorer = load_scorer(Path(scratch), device, settings.tokens_per_batch)
            figures[f"load_{role}_s"] = time.perf_counter() - tick
            tick = time.perf_counter()
            scores.append(item_log_likelihoods(scorer, sequences))
            if device == "cuda":
                torch.cuda.synchronize()
            figures[f"score_{role}_s"] = time.perf_counter() - tick
            free(scorer)
        tick = time.perf_counter()
        change = scores[1] - scores[0]
        paired_gain_test(np.asarray(change[: args.items] - change[args.items :]))
        figures["test_s"] = time.perf_counter() - tick
        figures["total_s"] = time.perf_counter() - started
    tokens = sum(len(s.ids) for s in sequences)
    record = {
        "command": f"python benchmarks/memorization_cost.py --shape {args.shape} "
        f"--items {args.items}",
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor(),
        "parameters": params,
        "sequences": len(sequences),
        "tokens_per_model": tokens,
        "tokens_per_batch": settings.tokens_per_batch,
        **{key: round(value, 2) for key, value in figures.items()},
    }
    for key, value in record.items():
        print(f"{key:<20} {value}")
    out = Path(os.environ.get("OUT") or Path(__file__).parent / "results")
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"memorization_cost_{args.shape}_{device}.json"
    target.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
