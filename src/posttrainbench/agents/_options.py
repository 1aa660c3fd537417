"""The ``--agent`` grammar: ``NAME[:MODEL][?key=value&...]``.

::

    agent   = NAME [ ":" CONFIG ] | NAME "?" QUERY
    NAME    = the text before the first ":" or "?"  (a registry name: claude-code, codex, ...)
    CONFIG  = the agent's own string; for the CLI scaffolds:  [ MODEL ] [ "?" QUERY ]
    MODEL   = any text without "?" (may hold "/" and ":": openrouter/x:free); empty = default
    QUERY   = PAIR { "&" PAIR }      PAIR = KEY "=" VALUE
    KEY     = effort | continue | max_resumes | auth | base_url   (each at most once)
    VALUE   = percent-decoded text; it may hold ":" and "/" (base_url=http://127.0.0.1:8000/v1)

``command:`` and ``reference:`` keep their own CONFIG rules (``command:<shell>?keys=A,B``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from posttrainbench.errors import UserError

__all__ = ["CliOptions", "parse_options", "split_agent"]

_KEYS = ("effort", "continue", "auth", "base_url", "max_resumes")


@dataclass(frozen=True)
class CliOptions:
    """What ``--agent NAME:MODEL?effort=E&continue=M&auth=A&base_url=U`` configures."""

    model: str | None = None
    effort: str | None = None
    continue_min: float | None = None
    """Resume the session when it ends with more than this many minutes left (None: never)."""
    max_resumes: int = 50
    auth: str | None = None
    base_url: str | None = None


def split_agent(text: str) -> tuple[str, str]:
    """``(NAME, CONFIG)`` of an ``--agent`` string; a query right after NAME stays in CONFIG.

    ``claude-code?effort=high`` is ``("claude-code", "?effort=high")``; ``codex:m?x=1`` is
    ``("codex", "m?x=1")``; ``command:ls -l`` is ``("command", "ls -l")``.
    """
    cut = min((i for i in (text.find(":"), text.find("?")) if i >= 0), default=len(text))
    name = text[:cut].strip()
    if not name:
        raise UserError(
            f"Agent '{text}' has no name: use NAME[:MODEL][?key=value&...], e.g. "
            "--agent 'claude-code?effort=high'."
        )
    rest = text[cut:]
    return name, rest[1:] if rest.startswith(":") else rest


def parse_options(scaffold: str, config: str, efforts: tuple[str, ...]) -> CliOptions:
    """Parse ``config``; every mistake is a ``UserError`` naming the right form."""
    model, _, query = config.partition("?")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as error:
        raise UserError(f"Bad agent options '{query}': use key=value&key=value.") from error
    values: dict[str, str] = {}
    for key, value in pairs:
        if key not in _KEYS:
            raise UserError(
                f"Unknown option '{key}' for agent {scaffold}; known: {', '.join(_KEYS)}."
            )
        if key in values:
            raise UserError(f"Agent option {key} is given twice in '{query}'.")
        values[key] = value
    effort = values.get("effort") or None
    if effort is not None and efforts and effort not in efforts:
        raise UserError(f"{scaffold} effort must be one of {', '.join(efforts)}, not '{effort}'.")
    return CliOptions(
        model=model.strip() or None,
        effort=effort,
        continue_min=_number(values, "continue"),
        max_resumes=int(_number(values, "max_resumes") or 50),
        auth=values.get("auth") or None,
        base_url=values.get("base_url") or None,
    )


def _number(values: dict[str, str], key: str) -> float | None:
    if key not in values:
        return None
    try:
        number = float(values[key])
    except ValueError as error:
        raise UserError(f"Agent option {key} must be a number, not '{values[key]}'.") from error
    if number < 0:
        raise UserError(f"Agent option {key} must not be negative.")
    return number
