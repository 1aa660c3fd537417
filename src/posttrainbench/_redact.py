"""Replacing secret values with a marker wherever text is stored."""

from __future__ import annotations

import json
from collections.abc import Iterable

__all__ = ["REDACTED", "Redactor"]

REDACTED = "[REDACTED]"

# Shorter values (a port number, "1") would blank out ordinary text, and are not keys.
_MIN_SECRET_LEN = 8


class Redactor:
    """Replaces every occurrence of the given secret values in text.

    Besides the raw value it also matches the value as JSON escapes it, so a secret
    that a CLI echoed inside a JSON string (with ``/`` or ``"`` escaped) is caught too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for secret in secrets:
            secret = secret.strip()
            if len(secret) < _MIN_SECRET_LEN:
                continue
            variants.add(secret)
            variants.add(json.dumps(secret)[1:-1])
            variants.add(secret.replace("/", "\\/"))
        # Longest first, so a secret that contains another is replaced whole.
        self._variants = sorted(variants, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._variants)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        for variant in self._variants:
            if variant in text:
                text = text.replace(variant, REDACTED)
        return text
