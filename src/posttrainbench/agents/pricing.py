"""USD prices of the models agents run on: the one place to update when prices change.

Used only when a stream does not report cost itself (Claude Code and OpenCode do).
Prices are US dollars per million tokens, list prices for standard (non-batch) API use
as published by the providers; a model matches its longest listed prefix.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PRICES", "Price", "cost_usd", "price_of"]


class Price(NamedTuple):
    """Dollars per million tokens."""

    input: float
    cached_input: float
    output: float


PRICES: dict[str, Price] = {
    # Anthropic
    "claude-opus-4-6": Price(5.0, 0.5, 25.0),
    "claude-opus-4-5": Price(5.0, 0.5, 25.0),
    "claude-opus-4": Price(15.0, 1.5, 75.0),
    "claude-sonnet-4": Price(3.0, 0.3, 15.0),
    "claude-haiku-4": Price(1.0, 0.1, 5.0),
    "claude-3-5-haiku": Price(0.8, 0.08, 4.0),
    # OpenAI
    "gpt-5.2": Price(1.75, 0.175, 14.0),
    "gpt-5.1": Price(1.25, 0.125, 10.0),
    "gpt-5-mini": Price(0.25, 0.025, 2.0),
    "gpt-5-nano": Price(0.05, 0.005, 0.4),
    "gpt-5": Price(1.25, 0.125, 10.0),
    "gpt-4.1": Price(2.0, 0.5, 8.0),
    "o3": Price(2.0, 0.5, 8.0),
    "o4-mini": Price(1.1, 0.275, 4.4),
    # Google
    "gemini-3-pro": Price(2.0, 0.2, 12.0),
    "gemini-2.5-pro": Price(1.25, 0.31, 10.0),
    "gemini-2.5-flash-lite": Price(0.1, 0.025, 0.4),
    "gemini-2.5-flash": Price(0.3, 0.075, 2.5),
}


def price_of(model: str) -> Price | None:
    """The price of ``model`` (provider prefixes like ``anthropic/`` ignored), or None."""
    name = model.rsplit("/", 1)[-1].lower()
    matches = [prefix for prefix in PRICES if name.startswith(prefix)]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(
    model: str, prompt_tokens: int, cached_tokens: int, completion_tokens: int
) -> float | None:
    """Cost of a call; ``cached_tokens`` is the cached part of ``prompt_tokens``."""
    price = price_of(model)
    if price is None:
        return None
    fresh = max(prompt_tokens - cached_tokens, 0)
    total = (
        fresh * price.input + cached_tokens * price.cached_input + completion_tokens * price.output
    )
    return total / 1_000_000
