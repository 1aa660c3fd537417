"""The ``hf`` evaluation path on a GPU: eager decoding vs the static cache it now uses.

Loads a random-weight model of the given shape the way inspect-ai's ``hf`` provider does
(``from_pretrained(..., generation_config=...)``, the config built as
``posttrainbench.evaluation.engine`` builds it) and generates greedy batches of varied
prompt lengths, left-padded to a multiple of 64 (``pad_to_multiple_of``, as the engine
asks inspect's tokenizer call on CUDA). The first batch of each mode includes warm-up
(compilation); the figure is decode tokens/s over the other batches.

Run (device): PYTHONUNBUFFERED=1 python benchmarks/hf_eval_decode.py --out $OUT
Run (CPU smoke test): python benchmarks/hf_eval_decode.py --shape tiny --batch 2 --batches 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_sft_throughput import SHAPES  # noqa: E402


def run_mode(model_dir: Path, cache: str | None, args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    vocab = SHAPES[args.shape]["vocab_size"]
    extra = {"cache_implementation": cache} if cache else {}
    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=args.new_tokens,
        eos_token_id=[vocab - 1],
        pad_token_id=vocab - 1,
        **extra,
    )
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), device_map=device, generation_config=config
    )
    generator = torch.Generator().manual_seed(0)
    times, tokens, outputs = [], [], []
    for _ in range(args.batches):
        lengths = torch.randint(args.min_len, args.max_len, (args.batch,), generator=generator)
        width = -(-int(lengths.max()) // 64) * 64  # pad_to_multiple_of=64, left padding
        ids = torch.full((args.batch, width), vocab - 1, dtype=torch.long)
        mask = torch.zeros((args.batch, width), dtype=torch.long)
        for row, length in enumerate(lengths.tolist()):
            ids[row, width - length :] = torch.randint(0, vocab - 2, (length,), generator=generator)
            mask[row, width - length :] = 1
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                return_dict_in_generate=True,
            )
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        new = out.sequences[:, width:]
        tokens.append(int((new != vocab - 1).sum()))
        outputs.append(new.cpu())
    rest = sum(times[1:]) or float("nan")
    return {
        "mode": cache or "eager",
        "cache_implementation_in_config": model.generation_config.cache_implementation,
        "batch_s": [round(t, 3) for t in times],
        "first_batch_s": round(times[0], 2),
        "decode_tokens_per_s_after_first": round(sum(tokens[1:]) / rest, 1),
        "_outputs": outputs,
    }


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen3-4b")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--min-len", type=int, default=150)
    parser.add_argument("--max-len", type=int, default=400)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        config = Qwen3Config(**SHAPES[args.shape], attn_implementation="sdpa")
        dtype = torch.bfloat16 if cuda else torch.float32
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        model.save_pretrained(tmp)
        del model
        rows = [run_mode(Path(tmp), None, args), run_mode(Path(tmp), "static", args)]
    same = all(
        bool(torch.equal(a, b))
        for a, b in zip(rows[0]["_outputs"], rows[1]["_outputs"], strict=True)
    )
    report = {
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "shape": args.shape,
        "batch": args.batch,
        "new_tokens": args.new_tokens,
        "outputs_identical": same,
        "rows": [{k: v for k, v in row.items() if k != "_outputs"} for row in rows],
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "hf_eval_decode.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
