"""Text hidden inside other text or inside binary data, recovered without running anything.

* :func:`printable_strings`: runs of printable characters in any binary (ASCII/UTF-8 and
  UTF-16/UTF-32 little-endian, which is how NumPy stores unicode arrays), like ``strings``.
* :func:`pickle_strings`: the string constants of a pickle, read with ``pickletools``
  (opcodes are listed, never executed).
* :func:`literal_decodings`: the long string literals of a source file (Python through its
  AST, any other text through quoted runs and long tokens) decoded every way an agent can
  hide text cheaply: base64 (standard and URL-safe), hex, URL-encoding, rot-N for every N
  and reversal. A decoding is kept only when it yields mostly printable text, so random
  tokens cost little and add nothing.
"""

from __future__ import annotations

import ast
import base64
import binascii
import io
import pickletools
import re
import urllib.parse
import zlib
from collections.abc import Iterator
from typing import IO

__all__ = ["ZlibStream", "is_zlib", "literal_decodings", "pickle_strings", "printable_strings"]

MIN_LITERAL = 24
"""Literals shorter than this are not decoded: they cannot hide a test item."""
_MIN_RUN = 6
# Run lengths are _MIN_RUN (6) characters; literal lengths MIN_LITERAL (24).
_ASCII_RUN = re.compile(rb"[\x20-\x7e\t\n\r]{6,}")
_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e]\x00){6,}")
_UTF32_RUN = re.compile(rb"(?:[\x20-\x7e]\x00\x00\x00){6,}")
_UTF32BE_RUN = re.compile(rb"(?:\x00\x00\x00[\x20-\x7e]){6,}")
_QUOTED = re.compile(r"""(["'`])((?:(?!\1)[^\\\n]|\\.){24,})\1""")
_TOKEN = re.compile(r"[A-Za-z0-9+/=_%\-]{24,}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){12,}")
_B64 = re.compile(r"[A-Za-z0-9+/_\-]+={0,2}")


_NUL_CUT = bytes(64)
"""A run of NULs this long is skipped by the string passes (see :func:`_nul_runs_cut`)."""
_ZERO_BLOCKS = tuple(bytes(1 << bits) for bits in (16, 12, 8, 4, 0))
_KEPT_NULS = 3
"""NULs kept on each side of a cut: as many as a UTF-32 character carries."""


def printable_strings(data: bytes) -> Iterator[bytes]:
    """Printable runs of ``data`` (UTF-16/32 runs converted to ASCII), one per line."""
    wide = data.count(0) > len(data) // 8  # wide strings are only worth a pass with many NULs
    for part in _nul_runs_cut(data):
        for match in _ASCII_RUN.finditer(part):
            yield match.group()
        if wide:
            for match in _UTF32_RUN.finditer(part):
                yield match.group()[::4]
            for match in _UTF32BE_RUN.finditer(part):
                yield match.group()[3::4]
            for match in _UTF16_RUN.finditer(part):
                yield match.group()[::2]


def _nul_runs_cut(data: bytes) -> Iterator[bytes]:
    """``data`` in parts, long runs of NULs left out: the passes' regexes crawl over zeros.

    No printable run contains four NULs in a row (a UTF-32 character has three), so a run
    of 64 can be cut out; three NULs stay on each side, so that a wide run touching it keeps
    its first or last character. A zero-filled (or sparse) file is then scanned at the
    speed of ``bytes.find``: 2 GiB of zeros took minutes through the regexes.
    """
    start = 0
    while (cut := data.find(_NUL_CUT, start)) >= 0:
        end = cut
        for block in _ZERO_BLOCKS:  # from 64 KiB down to 1 byte, at C speed
            while data.startswith(block, end):
                end += len(block)
        if cut > start:
            yield data[start : cut + _KEPT_NULS]
        start = end - _KEPT_NULS
    if start < len(data):
        yield data[start:]


def pickle_strings(data: bytes) -> Iterator[bytes]:
    """String and bytes constants of a pickle stream, without unpickling it.

    Raises:
        ValueError: ``data`` is not a well-formed pickle (the caller falls back to
            :func:`printable_strings`).
    """
    try:
        for _opcode, argument, _position in pickletools.genops(io.BytesIO(data)):
            if isinstance(argument, str) and len(argument) >= _MIN_RUN:
                yield argument.encode("utf-8", "replace")
            elif isinstance(argument, bytes | bytearray) and len(argument) >= _MIN_RUN:
                yield bytes(argument)
    except Exception as error:  # noqa: BLE001 - any malformed stream is "not a pickle"
        raise ValueError(f"not a pickle: {error}") from error


def literals(text: str, python: bool) -> list[str]:
    """The long string literals of ``text`` (its AST for Python, else quoted runs/tokens)."""
    found: list[str] = []
    if python:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            python = False
        else:
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
                    value = node.value
                    value = value.decode("latin-1") if isinstance(value, bytes) else value
                    if len(value) >= MIN_LITERAL:
                        found.append(value)
    if not python:
        found += [match.group(2) for match in _QUOTED.finditer(text)]
    found += [match.group() for match in _TOKEN.finditer(text)]
    return found


def literal_decodings(text: str, python: bool = False, budget: int = 1 << 25) -> Iterator[str]:
    """Decodings of the long literals of ``text`` that read as text (at most ``budget`` chars).

    Args:
        text: A source or any text file.
        python: Parse ``text`` as Python (falls back to quoted runs on a syntax error).
        budget: Upper bound on the characters yielded (rot-N multiplies a literal by 25).
    """
    spent = 0
    for literal in dict.fromkeys(literals(text, python)):
        for decoded in _decodings(literal):
            if spent >= budget:
                return
            spent += len(decoded)
            yield decoded


def _decodings(literal: str) -> Iterator[str]:
    """The literal reversed, and both ways round: base64/hex/URL-decoded and rotated."""
    for candidate in (literal, literal[::-1]):
        if candidate is not literal:
            yield candidate
        for decoded in (_from_base64(candidate), _from_hex(candidate), _from_url(candidate)):
            if decoded is not None:
                yield decoded
                yield decoded[::-1]
    if sum(char.isalpha() for char in literal) >= len(literal) // 2:
        lowered = literal.lower()  # the scan folds case: a rotation of lowercase is enough
        for shift in range(1, 26):
            yield _rot(lowered, shift)


def _texty(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(char.isprintable() or char in "\n\t\r" for char in text)
    return text if text and printable >= 0.9 * len(text) else None


def _from_base64(literal: str) -> str | None:
    compact = "".join(literal.split())
    if len(compact) < MIN_LITERAL or not _B64.fullmatch(compact):
        return None
    padded = compact + "=" * (-len(compact) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _texty(raw)


def _from_hex(literal: str) -> str | None:
    compact = "".join(literal.split())
    if not _HEX.fullmatch(compact):
        return None
    return _texty(bytes.fromhex(compact))


def _from_url(literal: str) -> str | None:
    if "%" not in literal:
        return None
    decoded = urllib.parse.unquote_plus(literal)
    return decoded if decoded != literal else None


def _rot(text: str, shift: int) -> str:
    return text.translate(_ROTATIONS[shift])


_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ROTATIONS = [str.maketrans(_LOWER, _LOWER[k:] + _LOWER[:k]) for k in range(26)]


def is_zlib(head: bytes) -> bool:
    """A raw zlib stream (git objects, PDF and PNG data) by its two-byte header."""
    return len(head) > 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA)


class ZlibStream(io.RawIOBase):
    """A readable file over a zlib-compressed file (the stdlib has gzip's, not zlib's)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj()
        self._pending = b""

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Decompressed bytes into ``buffer``; 0 at the end of the stream."""
        while not self._pending and not self._inflate.eof:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                break
            self._pending = self._inflate.decompress(chunk, 1 << 20)
            while self._inflate.unconsumed_tail and len(self._pending) < 1 << 20:
                self._pending += self._inflate.decompress(self._inflate.unconsumed_tail, 1 << 20)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        """Close the compressed file too."""
        self._raw.close()
        super().close()
