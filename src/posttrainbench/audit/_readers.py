"""Turning a workspace file into text to scan, whatever its format (sniffed, not trusted).

Text-like files are read as they are (JSON, JSONL, CSV, Python source with its string
literals, ...); Parquet and Arrow files (what ``datasets`` writes to its cache) through
pyarrow; gzip files are opened. The file name is never trusted: an agent may rename a
Parquet file ``notes.txt``, so formats are recognised by their magic bytes.
"""

from __future__ import annotations

import gzip
import json
import mmap
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from posttrainbench.audit._files import WEIGHT_SUFFIXES

__all__ = ["Unreadable", "file_kind", "read_blocks"]

_SNIFF = 8192
_BLOCK = 1 << 24
_OVERLAP = 1 << 13


class Unreadable(Exception):
    """A data file that could not be decoded (reported, never silently skipped)."""


def file_kind(path: Path) -> str | None:
    """``text``, ``parquet``, ``arrow``, ``gzip`` or None (binary, weights: not scanned)."""
    if path.suffix.lower() in WEIGHT_SUFFIXES:
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF)
    except OSError:
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):
        return "arrow"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if b"\x00" in head:
        return None
    return "text"


def read_blocks(path: Path, kind: str, max_bytes: int) -> Iterator[bytes]:
    """The text of ``path`` in blocks of bounded size, at most ``max_bytes`` in all.

    Consecutive blocks overlap by a few KiB so that a test item cut by a block boundary
    is whole in the next block.
    """
    if kind == "text":
        yield from _text_blocks(path, max_bytes)
    elif kind == "gzip":
        with gzip.open(path, "rb") as handle:
            blocks = iter(lambda: handle.read(_BLOCK), b"")
            yield from _overlapping(_bounded(blocks, max_bytes))
    else:
        yield from _overlapping(_bounded(_table_blocks(path, kind), max_bytes))


def _text_blocks(path: Path, max_bytes: int) -> Iterator[bytes]:
    size = min(path.stat().st_size, max_bytes)
    if size == 0:
        return
    with (
        path.open("rb") as handle,
        closing(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)) as mapped,
    ):
        for start in range(0, size, _BLOCK):
            yield mapped[max(0, start - _OVERLAP) : min(size, start + _BLOCK)]


def _overlapping(blocks: Iterator[bytes]) -> Iterator[bytes]:
    tail = b""
    for block in blocks:
        yield tail + block
        tail = block[-_OVERLAP:]


def _bounded(blocks: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    seen = 0
    for block in blocks:
        if seen >= max_bytes:
            return
        yield block[: max_bytes - seen]
        seen += len(block)


def _table_blocks(path: Path, kind: str) -> Iterator[bytes]:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as error:
        raise Unreadable("pyarrow is not installed: pip install pyarrow") from error
    try:
        if kind == "parquet":
            batches: Iterator[Any] = pq.ParquetFile(path).iter_batches(batch_size=4096)
        else:
            batches = _arrow_batches(pa, path)
        for batch in batches:
            yield _batch_text(pa, batch).encode("utf-8")
    except (pa.ArrowException, OSError) as error:
        raise Unreadable(f"cannot read {kind} file: {error}") from error


def _arrow_batches(pa: Any, path: Path) -> Iterator[Any]:
    source = pa.memory_map(str(path))
    try:
        reader = pa.ipc.open_file(source)
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)
    except pa.ArrowInvalid:
        source.seek(0)
        yield from pa.ipc.open_stream(source)


def _batch_text(pa: Any, batch: Any) -> str:
    parts: list[str] = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            parts.append("\n".join(value for value in column.to_pylist() if value))
        elif pa.types.is_nested(column.type):
            parts.append(json.dumps(column.to_pylist(), ensure_ascii=False, default=str))
    return "\n".join(parts)
