"""Turning a file into text to scan, whatever its format, opening every container inside.

Formats are sniffed from magic bytes, never from the file name (an agent may rename a
Parquet file ``notes.txt``). What is opened, recursively up to ``Limits.depth``:

* archives: zip (also ``.npz``, torch ``.pt``/``.bin``), tar (any compression);
* compressed streams: gzip, bzip2, xz/lzma, zlib (git objects), zstd (when the
  ``zstandard`` module is installed; else the file is reported as not read);
* databases and tables: SQLite (every column of every table), Parquet, Arrow IPC and
  Feather (every non-numeric column);
* safetensors: the header and every non-float tensor (float tensors are weights, left to
  lineage, and counted as not scanned);
* pickles (and NumPy ``.npy``): string constants listed by ``pickletools``, never unpickled;
* text: read as it is, plus the decodings of its long literals (``_decode``) when the file
  is small enough;
* anything else: its printable strings.

Everything not read, or read only in part, is recorded in :class:`Coverage` with the
reason, so a clean report can say exactly what it covered.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import sqlite3
import struct
import tarfile
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from posttrainbench.audit._decode import (
    ZlibStream,
    is_zlib,
    literal_decodings,
    pickle_strings,
    printable_strings,
)

__all__ = ["Coverage", "Limits", "read_file"]

_SNIFF = 8192
_BLOCK = 1 << 24
_OVERLAP = 1 << 13
_SOURCE_SUFFIXES = frozenset({".py", ".ipynb", ".sh", ".bash", ".js", ".ts", ".r", ".jl"})
_FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x5d\x00\x00": "lzma",
    b"\x28\xb5\x2f\xfd": "zstd",
}


@dataclass(frozen=True)
class Limits:
    """Bounds that keep an adversarial file from stalling the audit."""

    max_file_bytes: int = 2 << 30
    """Bytes read from one top-level file (its members included); the rest is reported."""
    max_member_bytes: int = 256 << 20
    """Bytes taken from one archive member or decompressed stream that must be held whole."""
    max_binary_bytes: int = 256 << 20
    """Bytes of an unknown binary searched for printable strings."""
    max_decoded_bytes: int = 4 << 20
    """Text files up to this size also get their long literals decoded."""
    depth: int = 4
    """Containers opened inside containers, at most."""


@dataclass
class Coverage:
    """What the scan read and what it could not (each with the reason)."""

    files: int = 0
    """Top-level files scanned."""
    bytes_read: int = 0
    """Bytes of those files (and of their members) that were read."""
    text_bytes: int = 0
    """Bytes of text fed to the scanner (decodings and members included)."""
    containers: Counter[str] = field(default_factory=Counter)
    """Containers opened, by kind (zip, tar, gzip, sqlite, parquet, ...)."""
    not_read: list[tuple[str, str]] = field(default_factory=list)
    """(file or member, why) for everything not read at all."""
    partly_read: list[tuple[str, str]] = field(default_factory=list)
    """(file or member, what was left out) for what was read only in part."""
    weights_not_scanned: int = 0
    """Bytes of float tensors (safetensors) left to the lineage detector."""


@dataclass(frozen=True)
class _Blob:
    """A file or an in-memory member, readable as a stream any number of times."""

    label: str
    size: int | None
    opener: Callable[[], IO[bytes]]
    path: Path | None = None
    """The file itself, when the blob is a top-level file (for SQLite and pyarrow)."""

    def head(self) -> bytes:
        with self.opener() as handle:
            return handle.read(_SNIFF)


def read_file(path: Path, label: str, coverage: Coverage, limits: Limits) -> Iterator[bytes]:
    """The text of ``path`` in blocks of bounded size, containers opened recursively.

    Consecutive blocks of one stream overlap by a few KiB so that a test item cut by a
    block boundary is whole in the next block.
    """
    coverage.files += 1
    size = path.stat().st_size
    blob = _Blob(label, size, lambda: path.open("rb"), path)
    budget = [limits.max_file_bytes]
    for block in _extract(blob, coverage, limits, budget, 0):
        coverage.text_bytes += len(block)
        yield block
    if budget[0] <= 0:
        coverage.partly_read.append((label, f"read up to {limits.max_file_bytes} bytes"))


def _kind(blob: _Blob, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    for magic, name in _COMPRESSED.items():
        if head.startswith(magic):
            return name
    if is_zlib(head):
        return "zlib"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"ARROW1", b"\xff\xff\xff\xff", b"FEA1")):
        return "arrow"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if len(head) > 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if _is_safetensors(head, blob.size):
        return "safetensors"
    if b"\x00" in head:
        return "binary"
    return "text"


def _is_safetensors(head: bytes, size: int | None) -> bool:
    if len(head) < 10 or size is None:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 8 + length <= size and head[8:9] == b"{"


def _extract(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    try:
        head = blob.head()
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, tarfile.TarError) as error:
        coverage.not_read.append((blob.label, f"cannot open: {error}"))
        return
    kind = _kind(blob, head)
    if kind not in ("text", "binary", "numpy", "pickle") and depth >= limits.depth:
        coverage.not_read.append((blob.label, f"{kind} nested deeper than {limits.depth}"))
        return
    handler = _HANDLERS[kind]
    try:
        yield from handler(blob, coverage, limits, budget, depth)
    except _NotRead as error:
        coverage.not_read.append((blob.label, str(error)))
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, tarfile.TarError) as error:
        coverage.not_read.append((blob.label, f"cannot read {kind}: {error}"))


class _NotRead(Exception):
    """A container the scan cannot open (the message says why)."""


def _read(handle: IO[bytes], budget: list[int], wanted: int) -> bytes:
    """Up to ``wanted`` bytes of ``handle`` within the budget, charged what was read."""
    data = handle.read(max(0, min(budget[0], wanted)))
    budget[0] -= len(data)
    return data


def _text(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    tail = b""
    whole: list[bytes] | None = []
    kept = 0
    with blob.opener() as handle:
        while block := _read(handle, budget, _BLOCK):
            coverage.bytes_read += len(block)
            kept += len(block)
            if whole is not None:
                whole = whole + [block] if kept <= limits.max_decoded_bytes else None
            yield tail + block
            tail = block[-_OVERLAP:]
    if whole:
        text = b"".join(whole).decode("utf-8", "replace")
        python = blob.label.endswith(".py") or text.startswith("#!/usr/bin/env python")
        decoded = "\n".join(literal_decodings(text, python=python))
        if decoded:
            yield decoded.encode("utf-8")
    elif whole is None and Path(blob.label).suffix.lower() in _SOURCE_SUFFIXES:
        coverage.partly_read.append((blob.label, "literals not decoded (source too large)"))


def _binary(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    with blob.opener() as handle:
        data = _read(handle, budget, limits.max_binary_bytes)
        more = bool(handle.read(1))
    coverage.bytes_read += len(data)
    if more:
        coverage.partly_read.append(
            (blob.label, f"binary: printable strings of the first {len(data)} bytes only")
        )
    yield b"\n".join(printable_strings(data))


def _pickle(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    data = _whole(blob, coverage, limits, budget)
    try:
        yield b"\n".join(pickle_strings(data))
    except ValueError:
        yield b"\n".join(printable_strings(data))


def _whole(blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int]) -> bytes:
    with blob.opener() as handle:
        data = _read(handle, budget, limits.max_member_bytes)
        if handle.read(1):
            coverage.partly_read.append((blob.label, f"only the first {len(data)} bytes read"))
    coverage.bytes_read += len(data)
    return data


def _member(label: str, data: bytes) -> _Blob:
    return _Blob(label, len(data), lambda: io.BytesIO(data))


def _seekable(blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int]) -> IO[bytes]:
    if blob.path is not None:
        return blob.opener()
    return io.BytesIO(_whole(blob, coverage, limits, budget))


def _zip(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    coverage.containers["zip"] += 1
    with _seekable(blob, coverage, limits, budget) as handle, zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            label = f"{blob.label}!{info.filename}"
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                coverage.not_read.append((label, "encrypted zip member"))
                continue
            try:
                with archive.open(info) as member:
                    data = _read(member, budget, limits.max_member_bytes)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as error:
                coverage.not_read.append((label, f"cannot extract: {error}"))
                continue
            if len(data) < info.file_size:
                coverage.partly_read.append((label, f"first {len(data)} bytes only"))
            coverage.bytes_read += len(data)
            yield from _extract(_member(label, data), coverage, limits, budget, depth + 1)


def _tar(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    coverage.containers["tar"] += 1
    with blob.opener() as handle, tarfile.open(fileobj=handle, mode="r|*") as archive:
        for info in archive:
            label = f"{blob.label}!{info.name}"
            if not info.isfile():
                continue
            member = archive.extractfile(info)
            if member is None:
                continue
            data = _read(member, budget, limits.max_member_bytes)
            if len(data) < info.size:
                coverage.partly_read.append((label, f"first {len(data)} bytes only"))
            coverage.bytes_read += len(data)
            yield from _extract(_member(label, data), coverage, limits, budget, depth + 1)


def _decompressor(kind: str) -> Callable[[IO[bytes]], IO[bytes]]:
    if kind == "gzip":
        return lambda raw: gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if kind == "bzip2":
        return lambda raw: bz2.BZ2File(raw)
    if kind in ("xz", "lzma"):
        return lambda raw: lzma.LZMAFile(raw)
    if kind == "zlib":
        return lambda raw: io.BufferedReader(ZlibStream(raw))
    try:
        import zstandard
    except ImportError as error:
        raise _NotRead("zstd stream not read: the zstandard module is not installed") from error
    return lambda raw: zstandard.ZstdDecompressor().stream_reader(raw)


def _compressed(kind: str) -> Callable[..., Iterator[bytes]]:
    def handler(
        blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
    ) -> Iterator[bytes]:
        wrap = _decompressor(kind)
        coverage.containers[kind] += 1

        def opener() -> IO[bytes]:
            return wrap(blob.opener())

        try:
            with opener() as probe:
                probe.read(1)
        except (OSError, EOFError, ValueError, lzma.LZMAError):
            yield from _binary(blob, coverage, limits, budget, depth)  # only looked compressed
            return
        inner = _Blob(f"{blob.label}!{kind}", None, opener)
        yield from _extract(inner, coverage, limits, budget, depth + 1)

    return handler


def _sqlite(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    coverage.containers["sqlite"] += 1
    if blob.path is not None:
        yield from _sqlite_rows(blob.path, blob, coverage, limits, budget, depth)
        return
    data = _whole(blob, coverage, limits, budget)
    with tempfile.TemporaryDirectory(prefix="ptb-audit-") as folder:
        copy = Path(folder) / "member.sqlite"
        copy.write_bytes(data)
        yield from _sqlite_rows(copy, blob, coverage, limits, budget, depth)


def _sqlite_rows(
    path: Path, blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise _NotRead(f"cannot open SQLite database: {error}") from error
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            lines: list[bytes] = []
            for row in connection.execute(f"SELECT * FROM {quoted}"):  # noqa: S608 - read-only
                for value in row:
                    if isinstance(value, str):
                        lines.append(value.encode("utf-8", "replace"))
                    elif isinstance(value, bytes) and len(value) >= 6:
                        label = f"{blob.label}!{table}"
                        lines.extend(
                            _extract(_member(label, value), coverage, limits, budget, depth + 1)
                        )
                if sum(map(len, lines)) >= _BLOCK:
                    yield b"\n".join(lines)
                    lines = []
            yield b"\n".join(lines)
    except sqlite3.Error as error:
        raise _NotRead(f"cannot read SQLite database: {error}") from error
    finally:
        connection.close()


def _table(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.feather as feather  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as error:
        raise _NotRead("pyarrow is not installed: pip install pyarrow") from error
    source: Any = (
        str(blob.path) if blob.path else pa.py_buffer(_whole(blob, coverage, limits, budget))
    )
    head = blob.head()
    kind = "parquet" if head.startswith(b"PAR1") else "arrow"
    coverage.containers[kind] += 1
    try:
        if kind == "parquet":
            batches: Iterator[Any] = pq.ParquetFile(
                source if blob.path else pa.BufferReader(source)
            ).iter_batches(batch_size=4096)
        elif head.startswith(b"FEA1"):
            batches = iter(
                feather.read_table(source if blob.path else pa.BufferReader(source)).to_batches()
            )
        else:
            batches = _arrow_batches(pa, source, blob.path is not None)
        for batch in batches:
            text = _batch_text(pa, batch).encode("utf-8")
            coverage.bytes_read += len(text)
            yield text
    except (pa.ArrowException, OSError) as error:
        raise _NotRead(f"cannot read {kind} table: {error}") from error


def _arrow_batches(pa: Any, source: Any, is_path: bool) -> Iterator[Any]:
    stream = pa.memory_map(source) if is_path else pa.BufferReader(source)
    try:
        reader = pa.ipc.open_file(stream)
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)
    except pa.ArrowInvalid:
        stream.seek(0)
        yield from pa.ipc.open_stream(stream)


def _batch_text(pa: Any, batch: Any) -> str:
    parts: list[str] = []
    for column in batch.columns:
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            continue
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            parts.append("\n".join(value for value in column.to_pylist() if value))
        else:
            parts.append(json.dumps(column.to_pylist(), ensure_ascii=False, default=_bytes_text))
    return "\n".join(parts)


def _bytes_text(value: object) -> str:
    if isinstance(value, bytes):
        return b"\n".join(printable_strings(value)).decode("ascii", "replace")
    return str(value)


def _safetensors(
    blob: _Blob, coverage: Coverage, limits: Limits, budget: list[int], depth: int
) -> Iterator[bytes]:
    coverage.containers["safetensors"] += 1
    with blob.opener() as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header_bytes = handle.read(min(length, limits.max_member_bytes))
        coverage.bytes_read += 8 + len(header_bytes)
        yield header_bytes
        try:
            header = json.loads(header_bytes)
        except ValueError as error:
            raise _NotRead(f"safetensors header is not JSON: {error}") from error
        start = 8 + length
        for name, entry in header.items():
            if name == "__metadata__" or not isinstance(entry, dict):
                continue
            begin, end = entry.get("data_offsets", (0, 0))
            if entry.get("dtype") in _FLOAT_DTYPES:
                coverage.weights_not_scanned += int(end) - int(begin)
                continue
            handle.seek(start + int(begin))
            data = _read(handle, budget, min(int(end) - int(begin), limits.max_member_bytes))
            coverage.bytes_read += len(data)
            yield b"\n".join(printable_strings(data))


_Handler = Callable[[_Blob, Coverage, Limits, list[int], int], Iterator[bytes]]
_HANDLERS: dict[str, _Handler] = {
    "text": _text,
    "binary": _binary,
    "numpy": _binary,
    "pickle": _pickle,
    "zip": _zip,
    "tar": _tar,
    "sqlite": _sqlite,
    "parquet": _table,
    "arrow": _table,
    "safetensors": _safetensors,
    **{kind: _compressed(kind) for kind in {*_COMPRESSED.values(), "zlib"}},
}
