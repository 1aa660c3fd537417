"""Fast hashed word n-grams over normalised text, vectorised with numpy.

Normalisation (the same for test texts and scanned files): JSON/Python string escapes
become spaces, Unicode NFKC and case folding, thousands separators dropped ("1,234" ->
"1234"), every character other than a letter or digit becomes a space.

Hashing is polynomial mod 2**64 twice over: a word's hash from prefix sums of
``byte * B**i`` (B odd, hence invertible mod 2**64, so any substring's hash is
``(P[end] - P[start]) * B**-start``), then an n-gram's hash the same way over word hashes.
Every n-gram of a chunk therefore costs a few array operations whatever n is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["CHUNK_BYTES", "GramSet", "HashArray", "Words", "chunks", "normalise", "words"]

HashArray = npt.NDArray[np.uint64]
Positions = npt.NDArray[np.intp]

CHUNK_BYTES = 1 << 22
"""Bytes hashed per step: bounds memory (a few 8-byte arrays of this length)."""
_OVERLAP_BYTES = 4096
"""Chunks overlap so that n-grams across a boundary are whole in the next chunk."""

_BASE = 0x100000001B3
_MIX = np.uint64(0x9E3779B97F4A7C15)
_MASK64 = (1 << 64) - 1
_SPACE = 32
_PAD = 16
_MIX_LONG = np.uint64(0xC2B2AE3D27D4EB4F)
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_COMMA = 44

_SEPARATORS = bytes(
    byte if (97 <= byte <= 122 or 48 <= byte <= 57 or byte >= 0x80) else _SPACE
    for byte in range(256)
)
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_SIMPLE_ESCAPE = re.compile(rb"\\[ntr\"']")
_UNICODE_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})")
_GROUPED_NUMBER = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NON_WORD = re.compile(r"[\W_]+")


def _unescape(match: re.Match[bytes]) -> bytes:
    return chr(int(match.group(1), 16)).encode("utf-8", "replace")


def normalise(data: bytes) -> bytes:
    """Lower-case words (ASCII letters and digits, or any Unicode word) separated by spaces."""
    if b"\\" in data:  # most text has no backslash at all: one scan decides
        data = _SIMPLE_ESCAPE.sub(b"  ", data)
        if b"\\u" in data:
            data = _UNICODE_ESCAPE.sub(_unescape, data)
    if not data.isascii():
        text = unicodedata.normalize("NFKC", data.decode("utf-8", "replace")).casefold()
        text = _NON_WORD.sub(" ", _GROUPED_NUMBER.sub("", text))
        return text.encode("utf-8")
    data = data.lower()
    if b"," in data:
        data = _drop_thousands_separators(data)
    return data.translate(_SEPARATORS)


def _drop_thousands_separators(data: bytes) -> bytes:
    raw = np.frombuffer(data, dtype=np.uint8)
    commas = np.flatnonzero(raw == _COMMA)
    commas = commas[(commas >= 1) & (commas + 3 < len(raw))]
    after = np.minimum(commas + 4, len(raw) - 1)  # past the end reads as "not a digit"
    grouped = commas[
        _DIGIT[raw[commas - 1]]
        & _DIGIT[raw[commas + 1]]
        & _DIGIT[raw[commas + 2]]
        & _DIGIT[raw[commas + 3]]
        & ~(_DIGIT[raw[after]] & (commas + 4 < len(raw)))
    ]
    if not len(grouped):
        return data
    return np.delete(raw, grouped).tobytes()


class _Powers:
    """Powers of the base and of its inverse, grown on demand and shared by all calls."""

    def __init__(self) -> None:
        self.pow: HashArray = np.ones(1, dtype=np.uint64)
        self.inv: HashArray = np.ones(1, dtype=np.uint64)

    def ensure(self, size: int) -> None:
        if size <= len(self.pow):
            return
        size = max(size, 2 * len(self.pow), CHUNK_BYTES + _OVERLAP_BYTES + 16)
        self.pow = _geometric(_BASE, size)
        self.inv = _geometric(pow(_BASE, -1, 1 << 64), size)


def _geometric(ratio: int, size: int) -> HashArray:
    """``ratio**i mod 2**64`` for i < size, by doubling (log2(size) vector multiplies)."""
    powers = np.ones(size, dtype=np.uint64)
    if size > 1:
        powers[1] = ratio & _MASK64
    filled = min(2, size)
    while filled < size:
        step = min(filled, size - filled)
        factor = np.uint64(pow(ratio, filled, 1 << 64))
        powers[filled : filled + step] = powers[:step] * factor  # wraps mod 2**64
        filled += step
    return powers


_POWERS = _Powers()


def _prefix(values: HashArray) -> HashArray:
    _POWERS.ensure(len(values) + 1)
    prefix = np.zeros(len(values) + 1, dtype=np.uint64)
    np.cumsum(values * _POWERS.pow[: len(values)], out=prefix[1:])
    return prefix


@dataclass(frozen=True)
class Words:
    """The words of one normalised chunk, as prefix sums of their hashes."""

    prefix: HashArray

    def __len__(self) -> int:
        return len(self.prefix) - 1

    def grams(self, n: int, at: Positions | None = None) -> HashArray:
        """Hashes of the word n-grams starting at ``at`` (default: every position).

        Positions must leave room for ``n`` words (``at <= len(self) - n``).
        """
        if at is None:  # every position: contiguous slices, no gathers
            count = max(0, len(self) - n + 1)
            raw = (self.prefix[n : n + count] - self.prefix[:count]) * _POWERS.inv[:count]
        else:
            raw = (self.prefix[at + n] - self.prefix[at]) * _POWERS.inv[at]
        return raw * _MIX  # spreads the entropy into the top bits the bitmap reads


def words(normalised: bytes) -> Words:
    """Hash every word of ``normalised`` (the output of :func:`normalise`).

    A word's hash comes from its bytes read 8 at a time (one unaligned 64-bit load per
    word and per further 8 bytes of long words) and its length: no per-byte arithmetic.
    """
    size = len(normalised) + 2
    buffer = b" " + normalised + b" " + bytes(_PAD)
    raw = np.frombuffer(buffer, dtype=np.uint8, count=size)
    is_word = raw != _SPACE
    # The text starts and ends with a space: edges alternate, word start then word end.
    edges = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    loads = np.ndarray((size,), dtype="<u8", buffer=buffer, strides=(1,))  # any offset
    hashes = _block(loads, starts, lengths) ^ lengths.astype(np.uint64)
    longer = np.flatnonzero(lengths > 8)
    offset = 8
    while len(longer):
        block = _block(loads, starts[longer] + offset, lengths[longer] - offset)
        hashes[longer] = hashes[longer] * _MIX_LONG + block
        offset += 8
        longer = longer[lengths[longer] > offset]
    return Words(_prefix(hashes * _MIX))


def _block(loads: HashArray, at: Positions, remaining: Positions) -> HashArray:
    """The next (up to) 8 bytes of words at ``at``, bytes past their end zeroed."""
    return loads[at] & _LOW_BYTES[np.minimum(remaining, 8)]


def chunks(data: bytes, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``data`` in pieces of about ``size`` bytes cut at spaces, overlapping a little.

    Each piece after the first starts at a space at least ``_OVERLAP_BYTES`` before the
    end of the previous one, so an n-gram cut by one boundary is whole in the next piece.
    """
    start, total = 0, len(data)
    while True:
        end = min(total, start + size)
        if end < total:
            cut = data.rfind(b" ", start + size // 2, end)
            end = cut if cut > start else end
        yield data[start:end]
        if end >= total:
            return
        back = data.rfind(b" ", start + 1, end - _OVERLAP_BYTES)
        start = back if back > start else end


class GramSet:
    """A sorted set of n-gram hashes behind a bitmap of 2**25 bits (4 MiB, cache-friendly)."""

    _BITS = 25
    _WORD_SHIFT = np.uint64(64 - _BITS + 6)
    _BIT_SHIFT = np.uint64(64 - _BITS)
    _BIT_MASK = np.uint64(63)

    def __init__(self, hashes: HashArray) -> None:
        self.keys: HashArray = np.unique(hashes)
        bitmap = np.zeros(1 << (self._BITS - 6), dtype=np.uint64)
        bits = np.left_shift(np.uint64(1), (self.keys >> self._BIT_SHIFT) & self._BIT_MASK)
        np.bitwise_or.at(bitmap, self.keys >> self._WORD_SHIFT, bits)
        self._bitmap = bitmap

    def __len__(self) -> int:
        return len(self.keys)

    def maybe(self, hashes: HashArray) -> npt.NDArray[np.bool_]:
        """A mask that is True for every member (and for a few others)."""
        words = self._bitmap[hashes >> self._WORD_SHIFT]
        mask: npt.NDArray[np.bool_] = (
            words >> ((hashes >> self._BIT_SHIFT) & self._BIT_MASK)
        ) & 1 != 0
        return mask

    def contains(self, hashes: HashArray) -> npt.NDArray[np.bool_]:
        """Exact membership mask of ``hashes``."""
        mask = np.zeros(len(hashes), dtype=bool)
        if not len(self.keys) or not len(hashes):
            return mask
        candidates = np.flatnonzero(self.maybe(hashes))
        where = np.searchsorted(self.keys, hashes[candidates])
        where[where == len(self.keys)] = 0
        mask[candidates[self.keys[where] == hashes[candidates]]] = True
        return mask
