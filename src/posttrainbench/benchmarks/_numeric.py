r"""The numeric answer rules of the published final evaluation (GSM8K and AIME).

Both read the *last number* of a text the way inspect-ai's ``match(numeric=True)`` does:
case-folded, numeric punctuation stripped (``$ £ € , * _``, LaTeX-escaped ``\$``, a ``.``
not followed by a digit), split on whitespace, the last word that is a number. What differs:

- **GSM8K** (upstream ``exact_numeric_match.signed_last_number_exact``): the whole
  completion; a leading ``-`` belongs to the number; the word must be numeric once its
  sign and dots are removed (``str.isnumeric``, so ``5²`` and ``½`` count); compared with
  the target *by value*. A last number that does not parse (``1.2.3``) is wrong.
- **AIME** (inspect_evals' ``aime_scorer``): only the last line that is not a lone
  delimiter (``$$``, ``**``, ``---``), with ``\boxed{..}`` unwrapped; the last word that
  parses as a finite number (sentence punctuation such as ``(42)`` or ``42!`` trimmed);
  both sides normalised to 5 significant digits and compared as strings — equality, not
  the ``str.endswith`` of older inspect releases (``711`` is not ``11``).

Numbers in other scripts (``١٢``, ``十二``, ``2½``) are parsed with inspect-ai's own Unicode
number reader, so the verdict matches upstream's there too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from inspect_ai.scorer import Scorer

__all__ = [
    "NumericVerdict",
    "aime_verdict",
    "gsm8k_verdict",
    "strip_numeric_punctuation",
    "verdict_scorer",
]

_ESCAPED = re.compile(r"\\([$,£€*_])")
_PUNCTUATION = re.compile(r"[$,£€*_]")
_DANGLING_DOT = re.compile(r"\.(?=\s|$|\D)")
_SIGNED_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_SENTENCE_PUNCTUATION = "!?:;()[]{}'\"`"
_DELIMITER_ONLY = re.compile(r"^[\$\*\-#\s]*$")
_BOXED = re.compile(r"\\boxed\{(.+)\}")


class NumericVerdict(NamedTuple):
    """The answer a scorer read and whether it is correct."""

    answer: str
    correct: bool


def strip_numeric_punctuation(text: str) -> str:
    """``text`` without currency signs, thousands separators, emphasis and dangling dots."""
    text = _PUNCTUATION.sub("", _ESCAPED.sub(r"\1", text))
    return _DANGLING_DOT.sub("", text)


def _parse(word: str) -> float:
    """The value of one number word; raises ValueError or OverflowError when it has none."""
    try:
        return float(word)
    except ValueError:
        from inspect_ai.scorer._unicode import unicode_number_to_float

        return unicode_number_to_float(word)


def _parse_finite(word: str) -> float | None:
    try:
        value = _parse(word.strip(_SENTENCE_PUNCTUATION))
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _unicode_fraction_value(word: str) -> float:
    """A word that passes ``isnumeric`` but not ``float`` (``5²``, ``½``)."""
    from inspect_ai._util.text import str_to_float

    try:
        return str_to_float(word)
    except ValueError:
        from inspect_ai.scorer._unicode import unicode_number_to_float

        return unicode_number_to_float(word)


def gsm8k_verdict(completion: str, target: str) -> NumericVerdict:
    """Upstream's GSM8K rule: the signed last number of ``completion`` equals ``target``."""
    wanted = strip_numeric_punctuation(target.strip())
    if not _SIGNED_NUMBER.fullmatch(wanted):
        raise ValueError(f"GSM8K target {target!r} is not a number")
    words = re.split(r"\s+", strip_numeric_punctuation(completion.strip().casefold()))
    for word in reversed(words):
        negative = word.startswith("-")
        digits = word[1:] if negative else word
        if not digits.replace(".", "").isnumeric():
            continue
        try:
            value = _unicode_fraction_value(digits) * (-1.0 if negative else 1.0)
        except (ValueError, OverflowError):
            return NumericVerdict(word, False)
        return NumericVerdict(format(value, ".12g"), abs(value - float(wanted)) < 1e-9)
    return NumericVerdict(words[-1], False)


def _last_substantive_line(text: str) -> str:
    lines = text.strip().splitlines()
    for line in reversed(lines):
        if line.strip() and not _DELIMITER_ONLY.match(line):
            return line
    return lines[-1] if lines else ""


def _five_digits(word: str) -> str:
    value = _parse_finite(word)
    return word if value is None else format(value, ".5g")


def aime_verdict(completion: str, target: str) -> NumericVerdict:
    """inspect_evals' AIME rule: the last number of the last line equals ``target``."""
    if not completion.strip().splitlines():
        return NumericVerdict("", False)
    line = _BOXED.sub(r"\1", _last_substantive_line(completion)).strip()
    wanted = strip_numeric_punctuation(target.strip().casefold())
    if _parse_finite(wanted) is None:
        raise ValueError(f"AIME target {target!r} is not a number")
    words = re.split(r"\s+", strip_numeric_punctuation(line.casefold()))
    number = next((word for word in reversed(words) if _parse_finite(word) is not None), None)
    answer = _five_digits(number) if number is not None else ""
    return NumericVerdict(answer, answer == _five_digits(wanted))


def verdict_scorer(name: str, verdict: Callable[[str, str], NumericVerdict]) -> Scorer:
    """A scorer (accuracy, stderr) from a ``verdict(completion, target)`` rule."""
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer, stderr
    from inspect_ai.solver import TaskState

    @scorer(metrics=[accuracy(), stderr()], name=name)
    def numeric_verdict() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            completion = state.output.completion
            answer, correct = verdict(completion, target.text)
            return Score(
                value=CORRECT if correct else INCORRECT, answer=answer, explanation=completion
            )

        return score

    return numeric_verdict()
