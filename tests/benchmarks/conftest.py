"""Fixture data in a hub-cache-shaped directory, and a mock model that answers by prompt."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from posttrainbench.benchmarks._lock import LOCK_NAME, DataLock, LockEntry, file_sha256
from posttrainbench.benchmarks.data import CACHE_ENV, HubDataset

# A commit the fake hub cache resolves a branch name (BFCL's "main") to.
FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """A hub-cache-shaped directory the loaders read through ``PTB_DATA_CACHE``.

    ``put`` leaves the cache as ``ptb data fetch`` would: the file at its commit (a branch
    resolved to :data:`FAKE_COMMIT`) and its SHA-256 in the cache's ``data.lock``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def lock_file(self) -> Path:
        return self.root / LOCK_NAME

    def put(self, source: HubDataset, filename: str, content: bytes) -> Path:
        """Write ``filename`` of ``source`` where the hub cache keeps it, and lock it."""
        repo_dir = self.root / f"datasets--{source.repo_id.replace('/', '--')}"
        commit = source.revision
        if len(commit) != 40:  # a branch: the cache maps it to a commit under refs/
            (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
            (repo_dir / "refs" / commit).write_text(FAKE_COMMIT)
            commit = FAKE_COMMIT
        path = repo_dir / "snapshots" / commit / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self._lock(source, commit, filename, path)
        return path

    def _lock(self, source: HubDataset, commit: str, filename: str, path: Path) -> None:
        lock = DataLock.read(self.lock_file) if self.lock_file.is_file() else DataLock()
        previous = lock.entry(source.repo_id)
        files = {**(previous.files if previous else {}), filename: file_sha256(path)}
        entry = LockEntry(
            source=source.repo_id,
            kind="hub",
            requested=source.revision,
            revision=commit,
            files=files,
        )
        lock.with_entry(entry).write(self.lock_file)

    def put_jsonl(self, source: HubDataset, filename: str, records: list[dict[str, Any]]) -> Path:
        text = "".join(json.dumps(record) + "\n" for record in records)
        return self.put(source, filename, text.encode())


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    """An empty data cache that the loaders read (PTB_DATA_CACHE)."""
    root = tmp_path / "hub-cache"
    root.mkdir()
    monkeypatch.setenv(CACHE_ENV, str(root))
    return FakeHub(root)


def _reply_by_prompt(answer: Callable[[str], Any]) -> Any:
    """mockllm ``custom_outputs``: reply to each sample with ``answer(last user text)``.

    ``answer`` returns the completion text, or a ready ``ModelOutput`` (for tool calls).
    Order-independent, unlike a list of outputs, so samples may run concurrently.
    """
    from inspect_ai.model import ChatMessageUser, ModelOutput, ModelUsage

    def generate(messages: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        prompt = [m for m in messages if isinstance(m, ChatMessageUser)][-1].text
        reply = answer(prompt)
        output = (
            reply
            if isinstance(reply, ModelOutput)
            else ModelOutput.from_content(model="mockllm", content=str(reply))
        )
        # With usage unset, mockllm counts tokens with tiktoken, which downloads its tables.
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return output

    return generate


@dataclass(frozen=True)
class Evaluated:
    """The log of one evaluation with a mock model."""

    log: Any

    @property
    def accuracy(self) -> float:
        return float(self.log.results.scores[0].metrics["accuracy"].value)

    @property
    def scores(self) -> dict[str, float]:
        """Score value (1.0 correct, 0.0 not) per sample id."""
        from inspect_ai.scorer import value_to_float

        to_float = value_to_float()
        return {
            str(sample.id): to_float(next(iter(sample.scores.values())).value)
            for sample in self.log.samples
        }

    def sample(self, sample_id: str) -> Any:
        return next(s for s in self.log.samples if str(s.id) == sample_id)


Evaluate = Callable[[Any, Callable[[str], Any]], Evaluated]


@pytest.fixture
def evaluate(tmp_path: Path) -> Evaluate:
    """Evaluate an inspect task with mockllm replying ``answer(prompt)`` to each sample."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    def run(task: Any, answer: Callable[[str], Any]) -> Evaluated:
        model = get_model("mockllm/model", custom_outputs=_reply_by_prompt(answer))
        (log,) = inspect_eval(
            task, model=model, log_dir=str(tmp_path / "logs"), display="none", fail_on_error=True
        )
        assert log.status == "success", log.error
        return Evaluated(log)

    return run
