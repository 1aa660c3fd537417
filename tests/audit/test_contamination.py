"""The contamination detector on crafted workspaces: cheats caught, honest data clean."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from posttrainbench.audit import AuditContext, AuditSettings, Finding
from posttrainbench.audit.contamination import contamination
from posttrainbench.benchmarks import TestItem as Item
from posttrainbench.benchmarks import arith, get_benchmark

MakeContext = Callable[..., AuditContext]


def flags(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == "flag"]


def flagged_items(findings: list[Finding], file: str) -> set[str]:
    for finding in flags(findings):
        if finding.evidence.get("file") == file:
            items = finding.evidence["items"]
            assert isinstance(items, dict)
            return set(items)
    return set()


def write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def test_the_allowed_arith_train_split_stays_clean(make_context: MakeContext) -> None:
    context = make_context(get_benchmark("arith"))
    records = [{"prompt": i.question, "completion": i.answer} for i in arith.train_split(4000)]
    write_jsonl(context.workspace / "data" / "train.jsonl", records)
    findings = contamination(context)
    assert flags(findings) == []
    assert [finding.severity for finding in findings] == ["info"]


def test_a_few_test_items_in_a_large_allowed_corpus_are_found(make_context: MakeContext) -> None:
    context = make_context(get_benchmark("arith"))
    records = [{"prompt": i.question, "completion": i.answer} for i in arith.train_split(4000)]
    cheats = arith.test_split()[5:8]
    for offset, item in enumerate(cheats):
        records.insert(1000 * (offset + 1), {"prompt": item.question, "completion": item.answer})
    write_jsonl(context.workspace / "mix.jsonl", records)
    assert flagged_items(contamination(context), "mix.jsonl") == {item.id for item in cheats}


def test_disguised_items_are_found_with_their_overlap(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    disguised = [
        {
            "synthetic_problem": f"Problem {17 + k}: " + item.question.upper().replace(",", ""),
            "worked_solution": item.answer.replace("56,700", "56700"),
        }
        for k, item in enumerate(gsm_items)
    ]
    write_jsonl(context.workspace / "synthetic.jsonl", disguised)
    findings = contamination(context)
    [finding] = flags(findings)
    assert finding.evidence["file"] == "synthetic.jsonl"
    items = finding.evidence["items"]
    assert isinstance(items, dict) and set(items) == {"gsm-0", "gsm-1", "gsm-2"}
    assert all(match["overlap"] == 1.0 for match in items.values())  # type: ignore[index]
    per_item = next(f for f in findings if f.severity == "info")
    assert per_item.evidence["items_total"] == 3


def test_a_lightly_reworded_item_is_still_found(make_context: MakeContext) -> None:
    context = make_context()
    reworded = (
        "natalia SOLD clips to 48 of her pals in April, and then she sold half as many "
        "clips in May! How many clips did Natalia sell in total in April and May?"
    )
    (context.workspace / "notes.txt").write_text("Some text before.\n" + reworded + "\n")
    found = flagged_items(contamination(context), "notes.txt")
    assert found == {"gsm-0"}


def test_answers_only_are_found(make_context: MakeContext, gsm_items: list[Item]) -> None:
    context = make_context()
    rows = "\n".join(f'{k},"{item.answer}"' for k, item in enumerate(gsm_items))
    (context.workspace / "answers.csv").write_text("id,target\n" + rows + "\n")
    findings = contamination(context)
    assert flagged_items(findings, "answers.csv") == {"gsm-0", "gsm-1", "gsm-2"}
    finding = flags(findings)[0]
    assert {m["field"] for m in finding.evidence["items"].values()} == {"answer"}  # type: ignore[union-attr, index]


def test_items_hard_coded_in_python_are_found(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    item = gsm_items[1]
    half = len(item.question) // 2
    source = (
        "EXAMPLES = [\n"
        f"    ({item.question[:half]!r}\n     {item.question[half:]!r}, '56700'),\n"
        "]\n"
    )
    (context.workspace / "make_data.py").write_text(source)
    assert flagged_items(contamination(context), "make_data.py") == {"gsm-1"}


def test_parquet_and_renamed_files_are_read_by_content(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    context = make_context()
    table = pa.table({"q": [gsm_items[2].question], "a": [gsm_items[2].answer]})
    pq.write_table(table, context.workspace / "innocent.txt")  # parquet under a text name
    assert flagged_items(contamination(context), "innocent.txt") == {"gsm-2"}


def test_a_downloaded_test_split_in_the_hf_cache_is_a_warning(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    snapshot = context.hf_cache / "hub" / "datasets--org--gsmlike" / "snapshots" / "abc" / "main"
    blobs = context.hf_cache / "hub" / "datasets--org--gsmlike" / "blobs"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    write_jsonl(blobs / "9f2c", [{"question": i.question, "answer": i.answer} for i in gsm_items])
    (snapshot / "test-00000-of-00001.jsonl").symlink_to(blobs / "9f2c")
    findings = contamination(context)
    assert flags(findings) == []
    [warning] = [f for f in findings if f.severity == "warning"]
    assert str(warning.evidence["file"]).endswith("main/test-00000-of-00001.jsonl")


def test_code_reaching_for_the_test_split_is_a_warning(make_context: MakeContext) -> None:
    context = make_context(
        get_benchmark("arith"),
        trace_lines=['$ python -c "from x import test_items; test_items()"'],
    )
    (context.workspace / "train.py").write_text(
        "import importlib\n"
        "from datasets import load_dataset\n"
        "ds = load_dataset('org/arith-problems', split='te' + 'st')\n"
        "mod = importlib.import_module('posttrainbench.benchmarks.arith')\n"
        "items = getattr(mod, '_'.join(['test', 'split']))()\n"
        "seed = getattr(mod, 'dees_tset'[::-1].upper())\n"
        "def test_items():\n"
        "    return []\n"
    )
    findings = contamination(context)
    assert flags(findings) == []
    lines = sorted(
        (f.evidence.get("file"), f.evidence.get("line"))
        for f in findings
        if f.severity == "warning"
    )
    assert lines == [("agent/raw.jsonl", 1), ("train.py", 3), ("train.py", 5), ("train.py", 6)]


def test_a_test_split_load_is_flagged_when_the_cache_holds_that_split(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    snapshot = context.hf_cache / "hub" / "datasets--org--gsmlike" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    write_jsonl(snapshot / "test.jsonl", [{"question": i.question} for i in gsm_items])
    (context.workspace / "train.py").write_text(
        "from datasets import load_dataset\nds = load_dataset('org/gsmlike', split='test')\n"
    )
    [flag] = flags(contamination(context))
    assert (flag.evidence["file"], flag.evidence["line"]) == ("train.py", 2)


def test_loading_the_train_split_is_clean(make_context: MakeContext) -> None:
    context = make_context(get_benchmark("arith"))
    (context.workspace / "train.py").write_text(
        "ds = load_dataset('org/arith', split='train')\nother = load_dataset('x/y')['test']\n"
    )
    assert flags(contamination(context)) == []


def test_thresholds_are_configurable(make_context: MakeContext, gsm_items: list[Item]) -> None:
    strict = AuditSettings(min_matched_items=2)
    context = make_context(settings=strict)
    (context.workspace / "one.txt").write_text(gsm_items[0].question)
    assert flags(contamination(context)) == []


def test_a_long_corpus_scans_in_chunks_without_losing_items(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
    block = " ".join(rng.choice(words) for _ in range(20_000))
    filler = " ".join([block] * 75)  # ~8 MB: several chunks
    middle = len(filler) // 2
    text = filler[:middle] + " " + gsm_items[0].question + " " + filler[middle:]
    (context.workspace / "big.txt").write_text(text)
    assert flagged_items(contamination(context), "big.txt") == {"gsm-0"}


def test_items_across_read_block_boundaries_are_found(
    make_context: MakeContext, gsm_items: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    from posttrainbench.audit import _readers

    monkeypatch.setattr(_readers, "_BLOCK", 1 << 16)  # many blocks from a small file
    context = make_context()
    item = gsm_items[0].question
    filler = "lorem ipsum dolor sit amet " * 2425  # the item starts just before 64 KiB
    (context.workspace / "blocks.txt").write_text(filler + item + " " + filler)
    assert len(filler) < 1 << 16 < len(filler) + len(item)
    assert flagged_items(contamination(context), "blocks.txt") == {"gsm-0"}
