"""The ``reference`` agent's fixed recipe: supervised fine-tuning with TRL on allowed data.

Non-agentic and deterministic for a seed: it reads the benchmark's explicitly allowed
training data, fine-tunes the base model on it (loss on the answer tokens only), stops
early when the trial's deadline approaches, and always leaves a loadable model behind.
Torch and TRL are imported inside the functions that need them, so importing this module
is instant.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posttrainbench._hf_quiet import quiet_transformers
from posttrainbench._process_exit import exit_now
from posttrainbench.agents import _packing
from posttrainbench.agents._sft_settings import (
    TrainSettings,
    checkpoint_fraction_for,
    decoder_layers,
    micro_batch_for,
    prepare_model,
    train_settings,
    use_one_gpu,
)
from posttrainbench.errors import UserError

if TYPE_CHECKING:
    import datasets
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback

__all__ = [
    "TrainSettings",
    "build_trainer",
    "checkpoint_fraction_for",
    "default_learning_rate",
    "load_model",
    "lora_rank_for",
    "main",
    "prepare_model",
    "train_sft",
    "train_settings",
    "use_one_gpu",
]

# Models this small are trained from scratch (the toy demo) and want a large step size;
# real base models are fine-tuned, where such a step would wreck them.
_SMALL_MODEL_PARAMS = 50_000_000
_END_OF_TURN = "<|im_end|>"


def default_learning_rate(num_parameters: int) -> float:
    """A learning rate suited to the model's size: large for toy models, small for real ones."""
    return 2e-3 if num_parameters < _SMALL_MODEL_PARAMS else 1e-5


def train_sft(
    base_model: Path,
    records: list[dict[str, Any]],
    output_dir: Path,
    *,
    deadline: float | None = None,
    max_steps: int = 500,
    epochs: float = 3.0,
    learning_rate: float | None = None,
    batch_size: int = 32,
    seed: int = 0,
    save_margin_s: float = 5.0,
    settings: TrainSettings | None = None,
    checkpoint_every_s: float | None = None,
    cut_short_file: Path | None = None,
) -> Path:
    """Fine-tune ``base_model`` on prompt-completion ``records`` and save it to ``output_dir``.

    The learning rate warms up, then follows a cosine decay over whichever runs out first,
    the steps or the time left before the deadline, so a slow machine still ends training
    with an annealed model rather than one cut off at full learning rate.

    Args:
        base_model: Hugging Face model directory (weights, tokenizer, chat template).
        records: Conversational prompt-completion records, as TRL's SFTTrainer takes them.
        output_dir: Where the trained model and tokenizer are written (replaced if present).
        deadline: Epoch seconds by which the model must be saved; training stops
            ``save_margin_s`` earlier. None: no time limit.
        max_steps: Upper bound on optimizer steps (-1: only ``epochs`` bounds training).
        epochs: Passes over ``records`` when ``max_steps`` is -1.
        learning_rate: Peak learning rate; None picks ``default_learning_rate``.
        batch_size: Records per optimizer step.
        seed: Seed of the data order.
        save_margin_s: Seconds before ``deadline`` at which training stops.
        settings: How to train; None picks ``train_settings()`` for this machine.
        checkpoint_every_s: Write a loadable model to ``output_dir`` this often while
            training, so a run killed before its final save still leaves one (None: only
            at the end).
        cut_short_file: Where to say so when the deadline stops training early.

    Returns:
        ``output_dir``.
    """
    import datasets
    from transformers import AutoTokenizer, PrinterCallback

    datasets.disable_progress_bars()
    settings = settings or train_settings()
    model = load_model(base_model, settings)
    _one_thread_for_toys(model, settings)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    own_template = tokenizer.chat_template
    # Train on the prompt format the harness evaluates with; submit the model's own file.
    tokenizer.chat_template = _harness_template(base_model) or own_template
    lr = learning_rate or default_learning_rate(model.num_parameters())
    steps = max_steps if max_steps > 0 else math.ceil(epochs * len(records) / batch_size)
    stop_at = None if deadline is None else deadline - save_margin_s
    with tempfile.TemporaryDirectory(prefix="ptb-sft-") as scratch:
        trainer = build_trainer(
            model,
            tokenizer,
            datasets.Dataset.from_list(records),
            settings,
            scratch=Path(scratch),
            max_steps=max_steps,
            epochs=epochs,
            learning_rate=lr,
            batch_size=batch_size,
            seed=seed,
            schedule=_Schedule(steps, time.time(), stop_at),
            callbacks=[_progress_callback(stop_at, steps, cut_short_file)],
        )
        if checkpoint_every_s is not None:
            trainer.add_callback(
                _checkpoint_callback(tokenizer, own_template, output_dir, checkpoint_every_s)
            )
        # Our callback prints one compact line per log; drop the raw dict printer.
        trainer.remove_callback(PrinterCallback)
        print(f"sft: {len(records)} records, lr {lr:g}, up to {steps} steps", flush=True)
        print(f"sft: {_describe(settings, model)}", flush=True)
        trainer.train()
    tokenizer.chat_template = own_template
    _save(trainer.model, tokenizer, output_dir)
    print(f"sft: saved to {output_dir}", flush=True)
    return output_dir


def _one_thread_for_toys(model: PreTrainedModel, settings: TrainSettings) -> None:
    """Train a toy model on one CPU thread.

    Its matrices are too small to gain from intra-op threads, and those threads spin-wait
    for each other when the machine is busy: 40 steps of the demo model took 267 s with
    two threads and 36 s with one at a load average of 12 on 2 cores.
    """
    if not settings.on_gpu and model.num_parameters() < _SMALL_MODEL_PARAMS:
        import torch

        torch.set_num_threads(1)


def load_model(base_model: Path | str, settings: TrainSettings) -> PreTrainedModel:
    """Load ``base_model`` in the settings' precision, on their device, kernels applied."""
    from transformers import AutoModelForCausalLM

    dtype = "bfloat16" if settings.bf16 else "float32"
    device_map = "cuda" if settings.on_gpu else None
    model = AutoModelForCausalLM.from_pretrained(
        str(base_model), dtype=dtype, device_map=device_map
    )
    prepare_model(model, settings)
    return model


def build_trainer(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: datasets.Dataset,
    settings: TrainSettings,
    *,
    scratch: Path,
    max_steps: int,
    learning_rate: float,
    batch_size: int,
    schedule: _Schedule | None = None,
    epochs: float = 1.0,
    seed: int = 0,
    callbacks: list[TrainerCallback] | None = None,
) -> Any:
    """The recipe's TRL ``SFTTrainer`` for ``model`` (from ``load_model``) on ``dataset``.

    ``batch_size`` rows make one optimizer step (packed: as many rows of ``max_length``
    as hold about ``batch_size`` records); a micro-batch smaller than that accumulates
    gradients over several forward passes. ``schedule`` defaults to warm-up
    and cosine decay over ``max_steps``.
    """
    if settings.packing:
        rows = _packing.packed_rows_per_step(tokenizer, dataset, batch_size, settings.max_length)
        batch_size = _packing.rows_in_whole_micro_batches(rows, settings.micro_batch)
        _packing.use_packed_attention(model)
    if settings.lora_rank is not None:
        model = _with_lora(model, settings.lora_rank)
    micro = micro_batch_for(batch_size, settings.micro_batch)
    schedule = schedule or _Schedule(max_steps, time.time(), None)
    trainer_class = _trainer_class(settings)
    return trainer_class(
        model=model,
        args=_sft_config(
            scratch, settings, max_steps, epochs, learning_rate, batch_size, micro, seed
        ),
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
        optimizers=_optimizers(model, learning_rate, schedule, fused=settings.fused_adamw),
    )


def _trainer_class(settings: TrainSettings) -> Any:
    """TRL's ``SFTTrainer``; on a CPU without packing, one that takes the model's own loss.

    TRL computes the loss with a chunked, fused LM head that also yields entropy and token
    accuracy for its logs. On a CPU, for the toy model, that head costs a quarter of each
    step (150 demo steps: 26.0 s against 18.7 s) for the same loss: the model's own
    cross-entropy over the same ``-100``-masked labels. The GPU path keeps TRL's head
    (or Liger's, which the settings apply there).
    """
    from trl import SFTTrainer

    if settings.on_gpu or settings.packing:
        return SFTTrainer

    class _ModelLossSFTTrainer(SFTTrainer):  # type: ignore[misc]
        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            from transformers import Trainer

            if model.training:  # the token count behind the progress line's tok/s
                self._total_train_tokens += int(inputs["attention_mask"].sum())
                self._metrics["train"]["num_tokens"] = [self._total_train_tokens]
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    return _ModelLossSFTTrainer


def _with_lora(model: PreTrainedModel, rank: int) -> Any:
    """``model`` wrapped with a trainable LoRA adapter on every linear layer."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _describe(settings: TrainSettings, model: PreTrainedModel) -> str:
    """One line naming the settings as applied to ``model``, for the log."""
    layers = decoder_layers(model)
    recomputed = sum(bool(layer.gradient_checkpointing) for layer in layers)
    parts = [
        "cuda" if settings.on_gpu else "cpu",
        "bf16" if settings.bf16 else "fp32",
        f"micro-batch {settings.micro_batch or 'full'}",
        f"checkpointing {recomputed}/{len(layers)} layers",
    ]
    if settings.liger:
        parts.append("liger")
    if settings.fused_adamw:
        parts.append("fused adamw")
    if settings.lora_rank is not None:
        parts.append(f"lora r={settings.lora_rank}")
    if settings.packing:
        parts.append(f"packed rows of {settings.max_length}")
    return ", ".join(parts)


def _harness_template(model_dir: Path) -> str | None:
    """The chat template the harness scores this model's family with (None: unknown family)."""
    from posttrainbench.catalog import chat_template, family_of

    try:
        return chat_template(family_of(model_dir))
    except (UserError, NotImplementedError):
        return None


@dataclass(frozen=True)
class _Schedule:
    """Learning-rate factor: linear warm-up, then cosine decay to zero at the budget's end."""

    total_steps: int
    start: float
    """Epoch seconds when the time budget starts."""
    stop_at: float | None
    """Epoch seconds when training must stop (None: steps only)."""
    warmup_steps: int = 10

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = step / max(self.total_steps, 1)
        if self.stop_at is not None:
            elapsed = time.time() - self.start
            progress = max(progress, elapsed / max(self.stop_at - self.start, 1e-6))
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def _optimizers(
    model: Any, lr: float, schedule: _Schedule, *, fused: bool = False
) -> tuple[Any, Any]:
    """AdamW and the time-aware schedule, in the form ``Trainer(optimizers=...)`` takes."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=fused or None)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def _sft_config(
    scratch: Path,
    settings: TrainSettings,
    max_steps: int,
    epochs: float,
    lr: float,
    batch_size: int,
    micro_batch: int,
    seed: int,
) -> Any:
    """Training arguments: no checkpoints, no reporting; precision and batching from settings."""
    from trl import SFTConfig

    with warnings.catch_warnings():
        # Renamed to activation_checkpointing in transformers 5; the old name works on 4.x too.
        warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*deprecated")
        return SFTConfig(
            output_dir=str(scratch),
            max_steps=max_steps,
            num_train_epochs=epochs,
            learning_rate=lr,
            per_device_train_batch_size=micro_batch,
            gradient_accumulation_steps=batch_size // micro_batch,
            use_cpu=not settings.on_gpu,
            bf16=settings.bf16,
            torch_compile=settings.compile,
            # prepare_model enables it per layer; the trainer must not enable it on all.
            gradient_checkpointing=False,
            completion_only_loss=True,
            max_length=settings.max_length,
            packing=settings.packing,
            packing_strategy="bfd",
            logging_steps=10,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=seed,
            data_seed=seed,
            dataloader_num_workers=0,
        )


def _progress_callback(
    stop_at: float | None, total_steps: int = 0, cut_short_file: Path | None = None
) -> TrainerCallback:
    """A callback that reports progress with an ETA, and stops training at ``stop_at``.

    Progress goes through :class:`posttrainbench.progress.Progress`: a bar on a terminal,
    else a line every few seconds, ``sft: 120/500 steps · loss 0.4100 · 2,310 tok/s ·
    budget left 27m04s · 3.1/s · ETA 2m06s``. When the deadline stops training before
    ``total_steps``, the reason is printed and written to ``cut_short_file`` (the harness
    records it in the trial's result).
    """
    from transformers import TrainerCallback

    from posttrainbench.progress import Progress

    class _Progress(TrainerCallback):  # type: ignore[misc]
        started = time.time()
        logs: dict[str, Any] = {}  # noqa: RUF012 (replaced, never mutated)
        bar: Progress | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.time()  # rates and ETA count training, not loading
            self.bar = Progress("sft", total_steps or state.max_steps, unit="steps").__enter__()

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs = kwargs.get("logs") or {}
            if "loss" in logs:
                self.logs = logs
            if "train_runtime" in logs:
                if self.bar is not None:
                    self.bar.close()
                    self.bar = None
                seconds = logs["train_runtime"]
                print(f"sft: {state.global_step} steps in {seconds:.1f}s", flush=True)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                info = _progress_info(state.global_step, self.logs, self.started, stop_at)
                self.bar.update(state.global_step, info)
            if stop_at is not None and time.time() > stop_at and not control.should_training_stop:
                at = f"step {state.global_step} of {total_steps or state.max_steps}"
                reason = f"time budget: training stopped at {at}"
                print(f"sft: deadline near, stopping at {at} (cut short)", flush=True)
                if cut_short_file is not None:
                    cut_short_file.write_text(reason + "\n", encoding="utf-8")
                control.should_training_stop = True

    return _Progress()


def _progress_info(step: int, logs: dict[str, Any], started: float, stop_at: float | None) -> str:
    """Beside the step counts: the last logged loss, tokens/s, and the time left in the budget."""
    from posttrainbench.progress import duration

    elapsed = max(time.time() - started, 1e-6)
    parts = []
    if "loss" in logs:
        parts.append(f"loss {logs['loss']:.4f}")
    if "num_tokens" in logs and step:
        parts.append(f"{logs['num_tokens'] / elapsed:,.0f} tok/s")
    if stop_at is not None:
        parts.append(f"budget left {duration(max(stop_at - time.time(), 0.0))}")
    return " · ".join(parts)


def _checkpoint_callback(
    tokenizer: PreTrainedTokenizerBase, template: str | None, output_dir: Path, every_s: float
) -> TrainerCallback:
    """A callback that saves a loadable model to ``output_dir`` every ``every_s`` seconds."""
    from transformers import TrainerCallback

    class _Checkpoint(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.last = time.time()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if time.time() - self.last < every_s or control.should_training_stop:
                return
            model = kwargs["model"]
            # A LoRA model is merged on save: merge a copy, keep training the adapter.
            snapshot = copy.deepcopy(model) if hasattr(model, "merge_and_unload") else model
            harness_template = tokenizer.chat_template
            tokenizer.chat_template = template
            try:
                _save(snapshot, tokenizer, output_dir)
            finally:
                tokenizer.chat_template = harness_template
            print(f"sft: checkpoint at step {state.global_step} saved", flush=True)
            self.last = time.time()

    return _Checkpoint()


_LORA_RANK = 16
# Share of the GPU's memory full fine-tuning state (weights, gradients, AdamW) may take.
_FULL_STATE_SHARE = 0.6


def lora_rank_for(num_parameters: int, gpu_memory_bytes: int | None) -> int | None:
    """LoRA's rank for a model this size, or None for full fine-tuning.

    Full fine-tuning holds about 8 bytes a parameter (bf16 weights and gradients, AdamW
    moments); when that exceeds 60 % of the GPU's memory the recipe trains a rank-16 LoRA
    adapter instead. On a CPU (``gpu_memory_bytes`` None) it always trains fully.
    """
    if gpu_memory_bytes is None:
        return None
    full_state = num_parameters * 8
    return _LORA_RANK if full_state > _FULL_STATE_SHARE * gpu_memory_bytes else None


def _save(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, output_dir: Path) -> None:
    """Write model and tokenizer atomically; generation stops at the end-of-turn token."""
    end_of_turn = tokenizer.convert_tokens_to_ids(_END_OF_TURN)
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        # The recipe teaches the model to end its turn with <|im_end|>: declare it a stop.
        eos = model.generation_config.eos_token_id
        stops = [eos] if isinstance(eos, int) else list(eos or [])
        if end_of_turn not in stops:
            model.generation_config.eos_token_id = [end_of_turn, *stops]
    if hasattr(model, "merge_and_unload"):
        # A LoRA adapter: submit the merged full model, which every evaluator loads.
        model = model.merge_and_unload()
    staging = output_dir.with_name(output_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(str(staging))
    tokenizer.save_pretrained(str(staging))
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)


def _training_records(benchmark: str, n: int, seed: int) -> list[dict[str, Any]]:
    """The benchmark's allowed training data as prompt-completion records."""
    from posttrainbench.benchmarks import get_benchmark
    from posttrainbench.benchmarks.arith import TRAIN_SEED, Arith, training_messages

    bench = get_benchmark(benchmark)
    if not isinstance(bench, Arith):
        raise UserError(
            f"Without --data the reference recipe generates data for arith only, not '{benchmark}' "
            "(supported: arith)."
        )
    return training_messages(bench.train_items(n, seed=TRAIN_SEED + seed))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m posttrainbench.agents.sft_recipe --base-model P ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-model", type=Path, required=True)
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--deadline", type=float, default=None, help="epoch seconds")
    parser.add_argument("--steps", type=int, default=500, help="max optimizer steps")
    parser.add_argument("--train-size", type=int, default=2000, help="training records")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--data", type=Path, default=None, help="prepared JSON-lines records (else: arith's)"
    )
    parser.add_argument(
        "--cut-short-file",
        type=Path,
        default=None,
        help="written when the deadline stops training before --steps (says at which step)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=float,
        default=None,
        help="seconds between checkpoints to --output-dir (default: a tenth of the budget)",
    )
    args = parser.parse_args(argv)
    use_one_gpu()
    quiet_transformers()
    try:
        if args.data is not None:
            records = _read_records(args.data)
        else:
            records = _training_records(args.benchmark, args.train_size, args.seed)
    except UserError as error:
        print(f"sft: {error}", file=sys.stderr, flush=True)
        return 2
    every = args.checkpoint_every
    if every is None and args.deadline is not None:
        every = max(60.0, (args.deadline - time.time()) / 10)
    train_sft(
        args.base_model,
        records,
        args.output_dir,
        deadline=args.deadline,
        max_steps=args.steps,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        settings=_settings_for(args.base_model),
        checkpoint_every_s=every,
        cut_short_file=args.cut_short_file,
    )
    return 0


def _read_records(path: Path) -> list[dict[str, Any]]:
    """Prompt-completion records from the JSON-lines file the harness prepared."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"Cannot read the training records {path}: {error}") from error
    records = [json.loads(line) for line in lines if line.strip()]
    if not records:
        raise UserError(f"{path} holds no training records.")
    return records


def _settings_for(base_model: Path) -> TrainSettings:
    """This machine's settings, with LoRA when full fine-tuning would not fit the GPU."""
    from dataclasses import replace

    settings = train_settings()
    if not settings.on_gpu:
        return settings
    import torch

    config = json.loads((base_model / "config.json").read_text(encoding="utf-8"))
    config = config.get("text_config", config)
    hidden, layers = int(config["hidden_size"]), int(config["num_hidden_layers"])
    vocab = int(config.get("vocab_size", 0))
    # 12 h^2 per layer (attention and MLP at the usual widths) plus the embeddings.
    params = 12 * hidden * hidden * layers + vocab * hidden
    memory = torch.cuda.get_device_properties(0).total_memory
    return replace(settings, lora_rank=lora_rank_for(params, memory))


if __name__ == "__main__":
    exit_now(main())
