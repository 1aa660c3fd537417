"""The contamination scan opens every container and encoding an agent can use."""

from __future__ import annotations

import base64
import bz2
import codecs
import gzip
import io
import json
import lzma
import pickle
import sqlite3
import tarfile
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from posttrainbench.audit import AuditContext, Finding
from posttrainbench.audit.contamination import contamination
from posttrainbench.audit.journal import Journal
from posttrainbench.benchmarks import TestItem as Item

MakeContext = Callable[..., AuditContext]


def flagged_files(findings: list[Finding]) -> set[str]:
    return {
        str(f.evidence["file"]) for f in findings if f.severity == "flag" and "items" in f.evidence
    }


def coverage(findings: list[Finding]) -> Finding:
    [found] = [f for f in findings if f.severity == "info" and "containers_opened" in f.evidence]
    return found


def _jsonl(items: list[Item]) -> bytes:
    return "".join(json.dumps({"q": i.question, "a": i.answer}) + "\n" for i in items).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _sqlite(path: Path, items: list[Item]) -> bytes:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER, body TEXT, extra BLOB)")
        for number, item in enumerate(items):
            connection.execute(
                "INSERT INTO notes VALUES (?, ?, ?)",
                (number, item.question, item.answer.encode()),
            )
    connection.close()
    return path.read_bytes()


def _parquet(items: list[Item]) -> bytes:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": [i.question for i in items]}), buffer)
    return buffer.getvalue()


def _feather(items: list[Item]) -> bytes:
    import pyarrow as pa
    import pyarrow.feather as feather  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    feather.write_feather(pa.table({"text": [i.question for i in items]}), buffer)
    return buffer.getvalue()


def _npy(items: list[Item]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([i.question for i in items]))  # '<U' dtype: UTF-32 inside
    return buffer.getvalue()


def _binary(items: list[Item]) -> bytes:
    return b"\x00\x01\x02" * 100 + items[0].question.encode() + b"\x00" * 50


CONTAINERS: dict[str, Callable[[list[Item], Path], bytes]] = {
    "zip": lambda items, _: _zip({"data/train.jsonl": _jsonl(items)}),
    "tar.gz": lambda items, _: _tar({"train.jsonl": _jsonl(items)}, "w:gz"),
    "tar.bz2": lambda items, _: _tar({"train.jsonl": _jsonl(items)}, "w:bz2"),
    "tar.xz": lambda items, _: _tar({"train.jsonl": _jsonl(items)}, "w:xz"),
    "gz": lambda items, _: gzip.compress(_jsonl(items)),
    "bz2": lambda items, _: bz2.compress(_jsonl(items)),
    "xz": lambda items, _: lzma.compress(_jsonl(items)),
    "sqlite": lambda items, tmp: _sqlite(tmp / "made.db", items),
    "sqlite-in-zip": lambda items, tmp: _zip({"cache.db": _sqlite(tmp / "inner.db", items)}),
    "parquet-in-tar": lambda items, _: _tar({"x/part-0": _parquet(items)}, "w"),
    "feather": lambda items, _: _feather(items),
    "npy": lambda items, _: _npy(items),
    "npz": lambda items, _: _zip({"arr.npy": _npy(items)}),
    "pickle": lambda items, _: pickle.dumps({"rows": [i.question for i in items]}),
    "binary-with-nul": lambda items, _: _binary(items),
}


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_containers_are_opened(
    kind: str, make_context: MakeContext, gsm_items: list[Item], tmp_path: Path
) -> None:
    context = make_context()
    (context.workspace / "blob.dat").write_bytes(CONTAINERS[kind](gsm_items, tmp_path))
    assert flagged_files(contamination(context)) == {"blob.dat"}


def test_zstd_is_opened(make_context: MakeContext, gsm_items: list[Item]) -> None:
    zstandard = pytest.importorskip("zstandard")
    context = make_context()
    data = zstandard.ZstdCompressor().compress(_jsonl(gsm_items))
    (context.workspace / "x.zst").write_bytes(data)
    assert flagged_files(contamination(context)) == {"x.zst"}


ENCODINGS: dict[str, Callable[[str], str]] = {
    "base64": lambda text: base64.b64encode(text.encode()).decode(),
    "urlsafe-base64": lambda text: base64.urlsafe_b64encode(text.encode()).decode().rstrip("="),
    "hex": lambda text: text.encode().hex(),
    "url": lambda text: urllib.parse.quote(text),
    "rot13": lambda text: codecs.encode(text, "rot13"),
    "rot7": lambda text: text.translate(
        str.maketrans(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "hijklmnopqrstuvwxyzabcdefgHIJKLMNOPQRSTUVWXYZABCDEFG",
        )
    ),
    "reversed": lambda text: text[::-1],
    "reversed-base64": lambda text: base64.b64encode(text.encode()).decode()[::-1],
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_encoded_literals_in_code_are_decoded(
    encoding: str, make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    encoded = [ENCODINGS[encoding](item.question) for item in gsm_items]
    (context.workspace / "gen.py").write_text(f"DATA = {encoded!r}\nprint(len(DATA))\n")
    cell = {"cell_type": "code", "source": [f"BLOB = {encoded[0]!r}\n"]}
    (context.workspace / "nb.ipynb").write_text(json.dumps({"cells": [cell]}))
    assert flagged_files(contamination(context)) == {"gen.py", "nb.ipynb"}


def test_encodings_of_honest_text_stay_clean(make_context: MakeContext) -> None:
    context = make_context()
    honest = ["The quick brown fox jumps over the lazy dog again and again."] * 3
    blob = base64.b64encode(bytes(range(256)) * 4).decode()
    (context.workspace / "gen.py").write_text(f"A = {honest!r}\nB = {blob!r}\n")
    findings = contamination(context)
    assert flagged_files(findings) == set()
    assert coverage(findings).message.startswith("No file contains any of the 3")


def test_a_pickle_is_read_without_being_run(
    make_context: MakeContext, gsm_items: list[Item], tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    context = make_context()
    payload = pickle.dumps((gsm_items[0].question, _Boom(str(marker))))
    (context.workspace / "state.pkl").write_bytes(payload)
    assert flagged_files(contamination(context)) == {"state.pkl"}
    assert not marker.exists()


class _Boom:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (Path(self.path), "x"))  # type: ignore[return-value]


def test_what_cannot_be_read_is_listed_and_the_coverage_is_stated(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    (context.workspace / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    deep = _jsonl(gsm_items)
    for _ in range(6):
        deep = _zip({"inner.zip": deep})
    (context.workspace / "deep.zip").write_bytes(deep)
    (context.workspace / "tar.tgz").write_bytes(_tar({"a.txt": b"hello world " * 10}, "w:gz"))
    findings = contamination(context)
    stated = coverage(findings)
    not_read = {str(entry["file"]).split("!")[0] for entry in stated.evidence["not_read"]}  # type: ignore[index, union-attr]
    assert {"broken.zip", "deep.zip"} <= not_read
    opened = stated.evidence["containers_opened"]
    assert isinstance(opened, dict) and opened["zip"] >= 4 and opened["gzip"] == 1
    assert stated.evidence["files"] == sum(p.is_file() for p in context.workspace.rglob("*"))
    warning = [f for f in findings if f.severity == "warning"]
    assert warning and "could not be read" in warning[0].message
    assert "not everything" in stated.message and "not read" in stated.message


def test_a_clean_report_lists_exactly_what_was_not_scanned(
    make_context: MakeContext, tmp_path: Path
) -> None:
    """Over the size cap, a FIFO, a link out, an encrypted member: each listed, and said."""
    import os

    from posttrainbench.audit import AuditSettings

    context = make_context(settings=AuditSettings(max_file_bytes=16384))
    workspace = context.workspace
    (workspace / "big.txt").write_text("allowed training text, nothing else. " * 1200)
    os.mkfifo(workspace / "pipe")
    outside = tmp_path / "outside.txt"
    outside.write_text("not in the workspace")
    (workspace / "elsewhere.txt").symlink_to(outside)
    locked = bytearray(_zip({"a.txt": b"hello"}))
    for flags in (6, locked.index(b"PK\x01\x02") + 8):  # local and central headers
        locked[flags] |= 0x01  # the "encrypted" bit
    (workspace / "locked.zip").write_bytes(bytes(locked))
    stated = coverage(contamination(context))
    not_read = {str(entry["file"]) for entry in stated.evidence["not_read"]}  # type: ignore[index, union-attr]
    partly = {str(entry["file"]) for entry in stated.evidence["partly_read"]}  # type: ignore[index, union-attr]
    assert not_read == {"pipe", "elsewhere.txt", "locked.zip!a.txt"}
    assert partly == {"big.txt"}
    assert stated.evidence["files"] == sum(
        p.is_file() and not p.is_symlink() for p in workspace.rglob("*")
    )
    assert not stated.message.startswith("No file contains")
    assert "not everything" in stated.message
    assert "3 files or members not read, 1 read in part" in stated.message
    complete = make_context()
    for path in (workspace / "pipe", workspace / "elsewhere.txt", workspace / "locked.zip"):
        path.unlink()
    (workspace / "big.txt").unlink()
    assert coverage(contamination(complete)).message.startswith("No file contains any of the 3")


def test_git_objects_are_opened(make_context: MakeContext, gsm_items: list[Item]) -> None:
    """A zlib stream (a git object) in a folder once skipped by name is read."""
    import zlib

    context = make_context()
    objects = context.workspace / ".git" / "objects" / "ab"
    objects.mkdir(parents=True)
    blob = b"blob 999\x00" + _jsonl(gsm_items)
    (objects / "cdef0123").write_bytes(zlib.compress(blob))
    findings = contamination(context)
    assert flagged_files(findings) == {".git/objects/ab/cdef0123"}


def test_agent_tmp_home_and_the_journal_are_scanned(
    make_context: MakeContext, gsm_items: list[Item]
) -> None:
    context = make_context()
    root = context.workspace.parent
    tmp, home = root / "agent_tmp", root / "agent_home"
    tmp.mkdir()
    home.mkdir()
    (tmp / "stash.jsonl").write_bytes(_jsonl(gsm_items[:1]))
    (home / ".notes").write_bytes(_jsonl(gsm_items[1:2]))
    deleted = context.workspace / "gone.jsonl"
    deleted.write_bytes(_jsonl(gsm_items[2:]))
    journal = Journal(root / "journal")
    journal.record(deleted)
    journal.record(tmp / "stash.jsonl")  # still there: scanned once, under its own name
    deleted.unlink()
    context = replace(context, writable_dirs=(tmp, home), journal=root / "journal")
    assert flagged_files(contamination(context)) == {
        "agent_tmp/stash.jsonl",
        "agent_home/.notes",
        "journal:workspace/gone.jsonl",
    }


def test_strings_beside_long_zero_runs_are_all_found() -> None:
    """Skipping runs of NULs (a zero-filled file is scanned in a blink) loses no string."""
    from posttrainbench.audit._decode import printable_strings

    def every_string(data: bytes) -> list[bytes]:  # the passes over the whole buffer
        import re

        found = re.findall(rb"[\x20-\x7e\t\n\r]{6,}", data)
        found += [m[::4] for m in re.findall(rb"(?:[\x20-\x7e]\x00\x00\x00){6,}", data)]
        found += [m[3::4] for m in re.findall(rb"(?:\x00\x00\x00[\x20-\x7e]){6,}", data)]
        return found + [m[::2] for m in re.findall(rb"(?:[\x20-\x7e]\x00){6,}", data)]

    question = "Leo has 15 shells. He loses 8."
    pieces = [
        question.encode(),
        question.encode("utf-16-le"),
        question.encode("utf-32-le"),
        question.encode("utf-32-be"),
        b"\x05\x00\x00\x00" * 40,  # no string: short NUL runs are not cut
    ]
    data = bytes(100_000)
    for piece in pieces:
        data += piece + bytes(70_000) + piece[::-1] + bytes(3)
    assert sorted(printable_strings(data)) == sorted(every_string(data))
    assert sum(s == question.encode() for s in printable_strings(data)) >= 4  # each encoding
    assert list(printable_strings(bytes(64 << 20))) == []  # fast: no regex crawls zeros
