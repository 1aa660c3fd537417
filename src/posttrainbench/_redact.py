"""Replacing secret values with a marker wherever text is stored.

A secret is matched in every form a program could print it in: as it is, JSON-escaped,
URL-encoded, hex (either case), and base64 (standard and URL-safe alphabets) at each of
the three byte alignments it can have inside a longer encoded blob. :meth:`Redactor.lines`
also finds a secret cut across consecutive records (``echo ${KEY:0:9}; echo ${KEY:9}``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus

__all__ = ["REDACTED", "Redactor", "secret_forms"]

REDACTED = "[REDACTED]"

# Shorter values (a port number, "1") would blank out ordinary text, and are not keys.
_MIN_SECRET_LEN = 8
# An encoded fragment shorter than this is too likely to occur by chance.
_MIN_FORM_LEN = 8


def secret_forms(secret: str) -> set[str]:
    """Every printed form of ``secret`` that :class:`Redactor` replaces."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        secret.replace("/", "\\/"),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        raw.hex(),
        raw.hex().upper(),
    }
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        # Only the characters that depend on the secret's bits alone, whatever surrounds it.
        core = encoded[-(-shift * 8 // 6) : (shift + len(raw)) * 8 // 6]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return {form for form in forms if len(form) >= _MIN_FORM_LEN}


class Redactor:
    """Replaces every occurrence of the given secret values, in each of their forms."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for secret in secrets:
            secret = secret.strip()
            if len(secret) >= _MIN_SECRET_LEN:
                variants |= secret_forms(secret)
        # Longest first, so a secret that contains another is replaced whole.
        self._variants = sorted(variants, key=len, reverse=True)
        self._longest = len(self._variants[0]) if self._variants else 0

    def __bool__(self) -> bool:
        return bool(self._variants)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        for variant in self._variants:
            if variant in text:
                text = text.replace(variant, REDACTED)
        return text

    def lines(self, records: Iterable[str]) -> Iterator[str]:
        """Redact consecutive records (lines), also where a secret is cut across them.

        A match that spans records is replaced by the marker in the record where it
        starts, and its remaining characters are removed from the records after it.
        """
        pending: list[str] = []
        for record in records:
            pending.append(self(record))
            if len(pending) > 1:
                self._across(pending)
            while len(pending) > 1 and sum(map(len, pending[1:])) >= self._longest:
                yield pending.pop(0)
        yield from pending

    def _across(self, pending: list[str]) -> None:
        joined = "".join(pending)
        starts = [0]
        for record in pending:
            starts.append(starts[-1] + len(record))
        spans: list[tuple[int, int]] = []
        for variant in self._variants:
            at = joined.find(variant)
            while at >= 0:
                spans.append((at, at + len(variant)))
                at = joined.find(variant, at + 1)
        limit = len(joined)
        for begin, end in sorted(spans, reverse=True):
            if end > limit:
                continue  # overlaps a match already replaced
            limit = begin
            first = next(i for i in range(len(pending)) if starts[i + 1] > begin)
            last = next(i for i in range(len(pending)) if starts[i + 1] >= end)
            if first == last:
                continue  # inside one record: already redacted, or not a match there
            for index in range(last, first - 1, -1):
                lo = max(begin, starts[index]) - starts[index]
                hi = min(end, starts[index + 1]) - starts[index]
                text = pending[index]
                marker = REDACTED if index == first else ""
                pending[index] = text[:lo] + marker + text[hi:]
