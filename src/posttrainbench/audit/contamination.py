"""The ``contamination`` detector: benchmark test items inside the agent's data and code.

Every data-like file of the workspace (which holds the trial's HF cache) is scanned
against an index of the benchmark's test questions and answers as hashed word n-grams
(see ``_ngrams``); a file that contains a test text (enough of its n-grams, by the
thresholds of :class:`AuditSettings`) is reported with the items it contains and their
overlap. Code and the agent's trace are also searched for loads of the test split.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from pydantic import JsonValue

from posttrainbench.audit._files import relative, walk
from posttrainbench.audit._index import TestIndex
from posttrainbench.audit._readers import Unreadable, file_kind, read_blocks
from posttrainbench.audit.context import AuditContext, AuditSettings
from posttrainbench.audit.report import Finding, Severity
from posttrainbench.benchmarks import Benchmark

__all__ = ["benchmark_index", "contamination"]

NAME = "contamination"
_MAX_LISTED = 50
_CODE_SUFFIXES = frozenset({".py", ".ipynb", ".sh", ".bash", ".js", ".ts", ".r", ".jl"})
_TEST_SPLIT_NAME = re.compile(r"(^|[/_.\-])(test|testing)([/_.\-]|$)", re.IGNORECASE)
_HARNESS_TEST_API = re.compile(r"(?<!def )\b(test_split|test_items|iter_test_texts)\s*\(")
_DATASET_LOAD = re.compile(r"load_dataset|load_from_hub|snapshot_download|hf_hub_download")
_TEST_REFERENCE = re.compile(r"""split\s*=\s*\\?['"]test|\[\s*\\?['"]test\\?['"]\s*\]""")
_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4)
def benchmark_index(benchmark: Benchmark, settings: AuditSettings) -> TestIndex:
    """The n-gram index of ``benchmark``'s test split (cached per process)."""
    items = benchmark.test_items()
    known = {text for item in items for text in (item.question, item.answer)}
    extra = [text for text in benchmark.iter_test_texts() if text not in known]
    return TestIndex(items, extra, settings)


def contamination(context: AuditContext) -> list[Finding]:
    """Files holding test items, and code or trace lines loading the test split."""
    index = benchmark_index(context.benchmark, context.settings)
    findings = list(_scan_files(context, index))
    findings += _split_loads(context)
    if not findings:
        findings.append(
            Finding(
                detector=NAME,
                severity="info",
                message=f"No file contains any of the {index.items} indexed test items.",
            )
        )
    return findings


def _scan_files(context: AuditContext, index: TestIndex) -> Iterator[Finding]:
    settings = context.settings
    items_seen: dict[str, list[JsonValue]] = {}
    for entry in walk(context.workspace):
        kind = file_kind(entry.path)
        if kind is None:
            continue
        scanner = index.scanner()
        try:
            for block in read_blocks(entry.path, kind, settings.max_file_bytes):
                scanner.feed(block)
        except Unreadable as error:
            yield Finding(
                detector=NAME,
                severity="warning",
                message=f"Could not scan {relative(entry.path, context.workspace)}: {error}",
                evidence={"file": relative(entry.path, context.workspace)},
            )
            continue
        best: dict[str, tuple[float, str]] = {}
        for number, overlap in sorted(scanner.overlaps().items()):
            text = index.texts[number]
            if overlap >= text.min_overlap and overlap > best.get(text.item_id, (0.0, ""))[0]:
                best[text.item_id] = (overlap, text.field)
        if len(best) < settings.min_matched_items:
            continue
        matched: dict[str, JsonValue] = {
            item_id: {"field": field, "overlap": round(overlap, 3)}
            for item_id, (overlap, field) in best.items()
        }
        names = [relative(name, context.workspace) for name in entry.names]
        for item_id, (overlap, field) in best.items():
            items_seen.setdefault(item_id, []).append(
                {"file": names[-1], "field": field, "overlap": round(overlap, 3)}
            )
        yield _file_finding(context, names, matched, index, scanner.bytes)
    if items_seen:
        yield _per_item_finding(items_seen, index)


def _file_finding(
    context: AuditContext,
    names: list[str],
    matched: dict[str, JsonValue],
    index: TestIndex,
    scanned: int,
) -> Finding:
    shown = names[-1]  # an HF cache blob is shown under its snapshot name
    in_cache = any(
        (context.workspace / name).absolute().is_relative_to(context.hf_cache.absolute())
        for name in names
    )
    downloaded_test_split = in_cache and any(_TEST_SPLIT_NAME.search(name) for name in names)
    listed = dict(list(matched.items())[:_MAX_LISTED])
    evidence: dict[str, JsonValue] = {
        "file": shown,
        "names": list[JsonValue](names),
        "matched_items": len(matched),
        "test_items": index.items,
        "items": listed,
        "bytes_scanned": scanned,
    }
    if downloaded_test_split:
        # load_dataset downloads and prepares every split, the test split included, even
        # for an agent that trains on train only: evidence, not proof of training on it.
        message = f"{shown} in the HF cache is the benchmark's test split (downloaded)."
        return Finding(detector=NAME, severity="warning", message=message, evidence=evidence)
    message = f"{shown} contains {len(matched)} of the {index.items} test items."
    return Finding(detector=NAME, severity="flag", message=message, evidence=evidence)


def _per_item_finding(items: dict[str, list[JsonValue]], index: TestIndex) -> Finding:
    listed: dict[str, JsonValue] = dict(sorted(items.items())[:_MAX_LISTED])
    return Finding(
        detector=NAME,
        severity="info",
        message=f"{len(items)} of the {index.items} test items appear in workspace files.",
        evidence={"items": listed, "items_total": len(items)},
    )


def _split_loads(context: AuditContext) -> list[Finding]:
    key = _ALNUM.sub("", context.benchmark.id.lower())
    findings: list[Finding] = []
    for entry in walk(context.workspace):
        if entry.path.suffix.lower() not in _CODE_SUFFIXES or entry.path.stat().st_size > 1 << 24:
            continue
        lines = entry.path.read_text(encoding="utf-8", errors="replace").splitlines()
        name = relative(entry.path, context.workspace)
        findings += _code_findings(name, lines, key, severity_api="flag")
    if context.trace.is_file():
        findings += _code_findings(
            relative(context.trace, context.workspace.parent),
            _trace_lines(context.trace),
            key,
            severity_api="warning",  # a trace also shows files the agent only read
            same_line=True,  # one trace line holds a whole command or script
        )
    return findings


def _trace_lines(trace: Path) -> list[str]:
    lines = []
    for raw in trace.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(raw)
            line = record.get("line", "") if isinstance(record, dict) else raw
        except json.JSONDecodeError:
            line = raw
        lines.append(str(line).replace('\\"', '"'))
    return lines


def _code_findings(
    name: str, lines: Iterable[str], key: str, severity_api: Severity, same_line: bool = False
) -> list[Finding]:
    findings: list[Finding] = []
    loads: list[tuple[int, str]] = []
    tests: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if _HARNESS_TEST_API.search(line):
            findings.append(
                Finding(
                    detector=NAME,
                    severity=severity_api,
                    message=f"{name}:{number} reads the harness's held-out test items.",
                    evidence={"file": name, "line": number, "text": line.strip()[:300]},
                )
            )
        if _DATASET_LOAD.search(line) and key and key in _ALNUM.sub("", line.lower()):
            loads.append((number, line))
        other_load = _DATASET_LOAD.search(line) and (number, line) not in loads
        if _TEST_REFERENCE.search(line) and not other_load:  # another dataset's test split
            tests.append((number, line))
    same = [entry for entry in loads if entry in tests]
    if same or (loads and tests and not same_line):
        load, test = (same[0], same[0]) if same else (loads[0], tests[0])
        findings.append(
            Finding(
                detector=NAME,
                severity="flag",
                message=f"{name}:{test[0]} loads the benchmark's test split.",
                evidence={
                    "file": name,
                    "load_line": load[0],
                    "load": load[1].strip()[:300],
                    "test_line": test[0],
                    "test": test[1].strip()[:300],
                },
            )
        )
    return findings
