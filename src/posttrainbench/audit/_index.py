"""The index of a benchmark's test texts as hashed word n-grams, and scanning against it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from posttrainbench.audit._ngrams import GramSet, HashArray, Words, chunks, normalise, words
from posttrainbench.audit.context import AuditSettings
from posttrainbench.benchmarks import TestItem

__all__ = ["FILTER_N", "IndexedText", "Scanner", "TestIndex", "gram_length"]

FILTER_N = 4
"""Every indexed n-gram starts with an indexed 4-gram: positions whose 4-gram is not in
the index are skipped for every n (most of a clean file)."""
_SHORT_TEXT_WORDS = 18


def gram_length(words_in_text: int, settings: AuditSettings) -> int:
    """The n of a text: 4 below 18 words, else ``max_ngram`` (two values: two passes)."""
    return FILTER_N if words_in_text < _SHORT_TEXT_WORDS else settings.max_ngram


@dataclass(frozen=True)
class IndexedText:
    """One indexed test text (a question or an answer of a test item)."""

    item_id: str
    field: str
    """``question``, ``answer`` or ``text`` (an extra text the benchmark yields)."""
    words: int
    n: int
    grams: int
    """Distinct n-grams of the text: the denominator of its overlap."""
    min_overlap: float
    """Overlap at which a file counts as containing this text."""


class TestIndex:
    """Hashed n-grams of every test text, attributable back to their items."""

    __test__ = False  # not a pytest class

    def __init__(
        self, items: Sequence[TestItem], extra_texts: Iterable[str], settings: AuditSettings
    ):
        self.settings = settings
        self.texts: list[IndexedText] = []
        hashes: list[HashArray] = []
        owners: list[npt.NDArray[np.int64]] = []
        filters: list[HashArray] = []
        places: list[npt.NDArray[np.int64]] = []
        sources = [(item.id, "question", item.question) for item in items]
        sources += [(item.id, "answer", item.answer) for item in items]
        sources += [(f"text-{k}", "text", text) for k, text in enumerate(extra_texts)]
        for item_id, field, text in sources:
            seq = words(normalise(text.encode("utf-8")))
            if len(seq) < max(settings.min_item_tokens, FILTER_N):
                continue
            n = gram_length(len(seq), settings)
            grams, first = np.unique(seq.grams(n), return_index=True)
            short = len(seq) < settings.short_text_tokens
            self.texts.append(
                IndexedText(
                    item_id,
                    field,
                    len(seq),
                    n,
                    len(grams),
                    settings.short_min_overlap if short else settings.min_overlap,
                )
            )
            hashes.append(grams)
            owners.append(np.full(len(grams), len(self.texts) - 1, dtype=np.int64))
            places.append(first.astype(np.int64))
            filters.append(seq.grams(FILTER_N))
        all_hashes = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
        all_owners = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
        all_places = np.concatenate(places) if places else np.empty(0, dtype=np.int64)
        order = np.argsort(all_hashes, kind="stable")
        self._pair_hashes = all_hashes[order]
        self._pair_owners = all_owners[order]
        self._pair_places = all_places[order]
        self._grams = GramSet(all_hashes)
        self._filter = GramSet(np.concatenate(filters) if filters else all_hashes)
        self._lengths = sorted({text.n for text in self.texts})
        self.items = len({text.item_id for text in self.texts})

    def scanner(self) -> Scanner:
        """A scanner that accumulates the matches of one file, chunk by chunk."""
        return Scanner(self)

    def _aligned(self, seq: Words) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Per text with hits: the most n-grams found in their own order at one place.

        A hit is (text, n-gram number k in the text, word position p in the chunk); hits
        of one occurrence share the diagonal ``p - k`` (give or take a few words added or
        removed by rewording). N-grams scattered over many places (templated items whose
        pieces all occur somewhere in a large honest corpus) do not add up.
        """
        empty = np.empty(0, dtype=np.int64)
        if len(seq) < FILTER_N:
            return empty, empty
        positions = np.flatnonzero(self._filter.maybe(seq.grams(FILTER_N)))
        hit_positions, hit_hashes = [], []
        for n in self._lengths:
            at = positions[positions <= len(seq) - n]
            if not len(at):
                continue
            grams = seq.grams(n, at)
            mask = self._grams.contains(grams)
            hit_positions.append(at[mask])
            hit_hashes.append(grams[mask])
        if not hit_positions:
            return empty, empty
        where = np.concatenate(hit_positions).astype(np.int64)
        hashes = np.concatenate(hit_hashes)
        low = np.searchsorted(self._pair_hashes, hashes, side="left")
        counts = np.searchsorted(self._pair_hashes, hashes, side="right") - low
        total = int(counts.sum())
        if not total:
            return empty, empty
        pairs = np.repeat(low - np.cumsum(counts) + counts, counts) + np.arange(total)
        owners = self._pair_owners[pairs]
        diagonal = np.repeat(where, counts) - self._pair_places[pairs] + _DIAGONAL_OFFSET
        keys, per_key = np.unique(owners * _DIAGONAL_SPAN + diagonal, return_counts=True)
        cumulative = np.concatenate(([0], np.cumsum(per_key)))
        lo = np.searchsorted(keys, keys - _DRIFT, side="left")
        hi = np.searchsorted(keys, keys + _DRIFT, side="right")
        return keys // _DIAGONAL_SPAN, cumulative[hi] - cumulative[lo]


_DRIFT = 2
"""Words that rewording may add or remove inside one occurrence of a test text."""
_DIAGONAL_OFFSET = 1 << 30
_DIAGONAL_SPAN = 1 << 32


class Scanner:
    """Feeds raw bytes of one file through the index; ``overlaps()`` at the end."""

    def __init__(self, index: TestIndex) -> None:
        self._index = index
        self._best = np.zeros(len(index.texts), dtype=np.int64)
        self.bytes = 0

    def feed(self, data: bytes) -> None:
        """Scan ``data`` (any size: it is cut into overlapping chunks)."""
        self.bytes += len(data)
        for piece in chunks(data):
            owners, aligned = self._index._aligned(words(normalise(piece)))
            if len(owners):
                np.maximum.at(self._best, owners, aligned)

    def overlaps(self) -> dict[int, float]:
        """Per text found: the fraction of its n-grams found in order at one place."""
        texts = self._index.texts
        return {
            int(k): min(1.0, int(self._best[k]) / texts[k].grams)
            for k in np.flatnonzero(self._best)
        }
