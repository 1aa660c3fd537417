"""The ``contamination`` detector: benchmark test items inside the agent's data and code.

Every file the agent could write is scanned: the workspace (which holds the trial's HF
cache), its /tmp and $HOME folders, and the write journal's copies of files deleted or
changed later. Each file is opened through every container and encoding the agent could
use (``_readers``) and its text matched against an index of the benchmark's test
questions and answers as hashed word n-grams (``_index``); a file that contains a test
text (enough of its n-grams, by the thresholds of :class:`AuditSettings`) is reported with
the items it contains and their overlap. An ``info`` finding states exactly what was
covered (files, bytes, containers) and a warning lists what could not be read. The agent's
code is parsed for reaches into the test split (``_code_check``): warnings unless
corroborated.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from pydantic import JsonValue

from posttrainbench.audit._code_check import code_hits
from posttrainbench.audit._files import NOT_AGENT_CODE_DIRS, relative, walk
from posttrainbench.audit._index import TestIndex
from posttrainbench.audit._readers import Coverage, Limits, read_file
from posttrainbench.audit.context import AuditContext, AuditSettings
from posttrainbench.audit.journal import blob_path, read_journal
from posttrainbench.audit.report import Finding, Severity
from posttrainbench.audit.test_access import evaluate_outputs
from posttrainbench.benchmarks import Benchmark

__all__ = ["benchmark_index", "contamination"]

NAME = "contamination"
_MAX_LISTED = 50
_MAX_LISTED_SKIPS = 200
_CODE_SUFFIXES = frozenset({".py", ".ipynb", ".sh", ".bash", ".js", ".ts", ".r", ".jl"})
_TEST_SPLIT_NAME = re.compile(r"(^|[/_.\-])(test|testing)([/_.\-]|$)", re.IGNORECASE)
_HARNESS_TEST_API = re.compile(r"(?<!def )\b(test_split|test_items|iter_test_texts)\s*\(")
_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4)
def benchmark_index(benchmark: Benchmark, settings: AuditSettings) -> TestIndex:
    """The n-gram index of ``benchmark``'s test split (cached per process)."""
    items = benchmark.test_items()
    known = {text for item in items for text in (item.question, item.answer)}
    extra = [text for text in benchmark.iter_test_texts() if text not in known]
    return TestIndex(items, extra, settings)


def contamination(context: AuditContext) -> list[Finding]:
    """Files holding test items, and code or trace lines reaching for the test split."""
    index = benchmark_index(context.benchmark, context.settings)
    coverage = Coverage()
    findings = list(_scan_files(context, index, coverage))
    downloaded = any(f.evidence.get("downloaded_test_split") for f in findings)
    findings += _split_loads(context, corroborated=downloaded)
    matched = any("matched_items" in finding.evidence for finding in findings)
    findings += _coverage_findings(context, index, coverage, flagged=matched)
    return findings


def _sources(context: AuditContext, coverage: Coverage) -> Iterator[tuple[list[str], Path]]:
    """(names the agent saw, file to read) for every file of every folder it could write.

    What the walk cannot read (special files, links leaving the folder) goes to
    ``coverage.not_read``.
    """
    trial_root = context.workspace.parent
    current: dict[str, int] = {}
    for root in (context.workspace, *context.writable_dirs):
        unread: list[tuple[Path, str]] = []
        for entry in walk(root, unread=unread):
            current[str(entry.path)] = entry.path.stat().st_size
            yield [_label(name, context) for name in entry.names], entry.path
        coverage.not_read += [(_label(path, context), why) for path, why in unread]
    if context.journal is None:
        return
    by_hash: dict[str, list[str]] = {}
    for record in read_journal(context.journal):
        if record.stored and record.sha256:
            by_hash.setdefault(record.sha256, []).append(record.path)
    for sha256, paths in by_hash.items():
        if all(_unchanged(Path(path), sha256, current) for path in paths):
            continue  # every path still holds this content: scanned above
        names = [f"journal:{relative(Path(path), trial_root)}" for path in dict.fromkeys(paths)]
        yield names, blob_path(context.journal, sha256)


def _by_evaluator(names: list[str], context: AuditContext, written: frozenset[str]) -> bool:
    """Every name is a path evaluate.py wrote (SQLite's -wal/-shm/-journal files included).

    Paths are recorded as the sandbox saw them: the agent's /tmp folder is mapped back.
    """
    if not written:
        return False
    root = context.workspace.parent
    tmp = next((d for d in context.writable_dirs if d.name == "agent_tmp"), None)
    seen = set(written)
    if tmp is not None:
        seen |= {str(tmp) + p[4:] for p in written if p.startswith("/tmp/")}
    for name in names:
        relative_name = name.removeprefix("journal:")
        hosts = {str((root / relative_name).resolve())}
        if not name.startswith("journal:"):
            hosts.add(str((context.workspace / relative_name).resolve()))
        if not any(h == p or h.startswith(p + "-") for h in hosts for p in seen):
            return False
    return True


def _unchanged(path: Path, sha256: str, current: dict[str, int]) -> bool:
    if str(path) not in current:
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest() == sha256


def _label(path: Path, context: AuditContext) -> str:
    if path.is_relative_to(context.workspace):
        return relative(path, context.workspace)
    return relative(path, context.workspace.parent)


def _scan_files(context: AuditContext, index: TestIndex, coverage: Coverage) -> Iterator[Finding]:
    settings = context.settings
    evaluator_wrote = evaluate_outputs(context)
    limits = Limits(max_file_bytes=settings.max_file_bytes)
    items_seen: dict[str, list[JsonValue]] = {}
    for names, path in _sources(context, coverage):
        scanner = index.scanner()
        for block in read_file(path, names[0], coverage, limits):
            scanner.feed(block)
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
        for item_id, (overlap, field) in best.items():
            items_seen.setdefault(item_id, []).append(
                {"file": names[-1], "field": field, "overlap": round(overlap, 3)}
            )
        finding = _file_finding(context, names, matched, index, scanner.bytes)
        if _by_evaluator(names, context, evaluator_wrote):
            # evaluate.py's own logs hold the items it evaluated; the agent may read them.
            finding = finding.model_copy(
                update={
                    "severity": "warning",
                    "message": finding.message + " Written by the harness's evaluate.py.",
                }
            )
        yield finding
    if items_seen:
        yield _per_item_finding(items_seen, index)


def _coverage_findings(
    context: AuditContext, index: TestIndex, coverage: Coverage, flagged: bool
) -> list[Finding]:
    """What the scan covered, stated exactly; what it could not read, as a warning."""
    folders = ["workspace", *(path.name for path in context.writable_dirs)]
    if context.journal is not None:
        folders.append("journal")
    listed = coverage.not_read[:_MAX_LISTED_SKIPS]
    evidence: dict[str, JsonValue] = {
        "folders": list[JsonValue](folders),
        "files": coverage.files,
        "bytes_read": coverage.bytes_read,
        "text_bytes_scanned": coverage.text_bytes,
        "containers_opened": dict[str, JsonValue](sorted(coverage.containers.items())),
        "not_read": [{"file": name, "why": why} for name, why in listed],
        "not_read_total": len(coverage.not_read),
        "partly_read": [
            {"file": name, "what": what} for name, what in coverage.partly_read[:_MAX_LISTED_SKIPS]
        ],
        "partly_read_total": len(coverage.partly_read),
        "float_weight_bytes_not_scanned": coverage.weights_not_scanned,
        "test_items_indexed": index.items,
    }
    containers = sum(coverage.containers.values())
    summary = (
        f"scanned {coverage.files} files in {', '.join(folders)} ({coverage.bytes_read} bytes "
        f"read, {containers} containers opened); {len(coverage.not_read)} files or members "
        f"not read, {len(coverage.partly_read)} read in part (listed); float weights "
        "are left to lineage"
    )
    complete = not (coverage.not_read or coverage.partly_read)
    if flagged:
        message = f"Coverage: {summary}."
    elif complete:
        message = f"No file contains any of the {index.items} indexed test items: {summary}."
    else:  # never claim more than was read
        message = (
            f"None of the {index.items} indexed test items is in what could be read, which is "
            f"not everything: {summary}."
        )
    findings = [Finding(detector=NAME, severity="info", message=message, evidence=evidence)]
    if not complete:
        gaps = [f"{name} ({why})" for name, why in coverage.not_read[:3]]
        gaps += [f"{name} ({what})" for name, what in coverage.partly_read[:3]]
        findings.append(
            Finding(
                detector=NAME,
                severity="warning",
                message=(
                    f"{len(coverage.not_read)} files or members could not be read and "
                    f"{len(coverage.partly_read)} were read only in part: {', '.join(gaps)}"
                ),
                evidence={"not_read": evidence["not_read"], "partly_read": evidence["partly_read"]},
            )
        )
    return findings


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
        evidence["downloaded_test_split"] = True
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


def _split_loads(context: AuditContext, corroborated: bool) -> list[Finding]:
    """Code of the agent (parsed) and its trace (lines) that reach for the test split.

    What code says is not what ran: these are warnings, unless the test split the code
    loads is also in the trial's HF cache (``corroborated``).
    """
    key = _ALNUM.sub("", context.benchmark.id.lower())
    given = set(context.given_files or {})
    findings: list[Finding] = []
    for entry in walk(context.workspace, skip=NOT_AGENT_CODE_DIRS):
        path = entry.path
        if path.suffix.lower() not in _CODE_SUFFIXES or path.stat().st_size > 1 << 24:
            continue
        if path.is_relative_to(context.task_dir) and relative(path, context.task_dir) in given:
            continue  # the harness's own files (integrity checks they are unchanged)
        source = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix.lower() == ".ipynb":
            source = _notebook_code(source)
        name = relative(path, context.workspace)
        for hit in code_hits(source, key):
            severity: Severity = (
                "flag" if corroborated and hit.what == "test-split-load" else "warning"
            )
            what = (
                "reaches for the harness's held-out test items"
                if hit.what == "harness-test-api"
                else "loads the benchmark's test split"
            )
            note = " (corroborated by the test split in the HF cache)" if severity == "flag" else ""
            findings.append(
                Finding(
                    detector=NAME,
                    severity=severity,
                    message=f"{name}:{hit.line} {what}{note}.",
                    evidence={"file": name, "line": hit.line, "text": hit.text, "kind": hit.what},
                )
            )
    if context.trace.is_file():
        findings += _trace_findings(
            relative(context.trace, context.workspace.parent), _trace_lines(context.trace)
        )
    return findings


def _notebook_code(source: str) -> str:
    try:
        cells = json.loads(source).get("cells", [])
    except (ValueError, AttributeError):
        return source
    return "\n".join(
        "".join(cell.get("source", [])) for cell in cells if cell.get("cell_type") == "code"
    )


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


def _trace_findings(name: str, lines: Iterable[str]) -> list[Finding]:
    """Trace lines calling the harness's test API: warnings (a trace also shows reads)."""
    return [
        Finding(
            detector=NAME,
            severity="warning",
            message=f"{name}:{number} shows a call of the harness's held-out test items.",
            evidence={"file": name, "line": number, "text": line.strip()[:300]},
        )
        for number, line in enumerate(lines, start=1)
        if _HARNESS_TEST_API.search(line)
    ]
