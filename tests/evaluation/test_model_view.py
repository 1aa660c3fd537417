"""Evaluation tokenizes with the base model's tokenizer, never the submission's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from posttrainbench.benchmarks import arith, get_benchmark
from posttrainbench.catalog import ModelFamily
from posttrainbench.evaluation import evaluate_model
from posttrainbench.evaluation.model_view import build_model_view


def _rewriting_submission(tiny_model: Path, target: Path) -> Path:
    """The tiny model whose tokenizer.json rewrites every question (issue #12's attack)."""
    shutil.copytree(tiny_model, target)
    path = target / "tokenizer.json"
    data = json.loads(path.read_text())
    data["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Replace", "pattern": {"String": str(digit)}, "content": "7"}
            for digit in range(10)
        ],
    }
    path.write_text(json.dumps(data))
    return target


def _tokens(model_dir: Path, text: str) -> list[int]:
    from transformers import AutoTokenizer

    return list(AutoTokenizer.from_pretrained(str(model_dir))(text)["input_ids"])


def test_a_rewriting_normalizer_is_not_used(tiny_model: Path, tmp_path: Path) -> None:
    submission = _rewriting_submission(tiny_model, tmp_path / "submission")
    question = arith.test_split()[0].question
    assert _tokens(submission, question) != _tokens(tiny_model, question)  # the attack bites
    use = build_model_view(submission, tiny_model, tmp_path / "view")
    assert _tokens(tmp_path / "view", question) == _tokens(tiny_model, question)
    assert use.source == "base" and "tokenizer.json" in use.ignored_files


def test_the_rewriting_submission_scores_like_the_base(tiny_model: Path, tmp_path: Path) -> None:
    submission = _rewriting_submission(tiny_model, tmp_path / "submission")
    runs = {}
    for name, model in (("base", tiny_model), ("submission", submission)):
        runs[name] = evaluate_model(
            model,
            get_benchmark("arith-mini"),
            ModelFamily.QWEN3,
            log_dir=tmp_path / name,
            limit=3,
            base_dir=tiny_model,
            protocol="greedy",
        )
    assert runs["submission"].accuracy == runs["base"].accuracy
    assert runs["submission"].tokenizer == runs["base"].tokenizer | {
        "ignored_files": runs["submission"].tokenizer["ignored_files"]  # type: ignore[index]
    }


def _with_added_token(tiny_model: Path, target: Path, *, resize: bool) -> Path:
    from transformers import AutoTokenizer

    shutil.copytree(tiny_model, target)
    tokenizer = AutoTokenizer.from_pretrained(str(target))
    tokenizer.add_tokens(["<ptb_new>"])
    tokenizer.save_pretrained(str(target))
    if resize:
        config = json.loads((target / "config.json").read_text())
        config["vocab_size"] = len(tokenizer)
        (target / "config.json").write_text(json.dumps(config))
    return target


def test_added_tokens_only_with_a_resized_embedding(tiny_model: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    for resize in (True, False):
        submission = _with_added_token(tiny_model, tmp_path / f"sub-{resize}", resize=resize)
        view = tmp_path / f"view-{resize}"
        use = build_model_view(submission, tiny_model, view)
        vocab = AutoTokenizer.from_pretrained(str(view)).get_vocab()
        wanted = AutoTokenizer.from_pretrained(str(submission)).get_vocab()["<ptb_new>"]
        if resize:
            assert use.added_tokens == ["<ptb_new>"] and vocab["<ptb_new>"] == wanted
        else:
            assert use.added_tokens == [] and "<ptb_new>" not in vocab
