"""The redactor's matching rules and the price table's model matching."""

from __future__ import annotations

import json

import pytest

from posttrainbench._redact import Redactor
from posttrainbench.agents.pricing import cost_usd, price_of


def test_redactor_catches_raw_and_json_escaped_secrets() -> None:
    secret = 'tok/with"quote-0123456789'
    redact = Redactor([secret, "short"])
    assert redact(f"key={secret}") == "key=[REDACTED]"
    assert redact(json.dumps({"k": secret})) == '{"k": "[REDACTED]"}'
    assert redact(secret.replace("/", "\\/")) == "[REDACTED]"
    # Values too short to be keys are not treated as secrets (they would blank out text).
    assert redact("a short line") == "a short line"
    assert not Redactor(["", "1234"])


def test_longest_secret_wins() -> None:
    redact = Redactor(["sk-ant-0123456789", "sk-ant-0123456789-and-more"])
    assert redact("x sk-ant-0123456789-and-more y") == "x [REDACTED] y"


def test_price_table_matches_the_longest_prefix() -> None:
    assert price_of("gpt-5-mini-2025-08-07") == price_of("gpt-5-mini")
    assert price_of("gpt-5-mini") != price_of("gpt-5")
    assert price_of("anthropic/claude-opus-4-6") == price_of("claude-opus-4-6")
    assert price_of("my-local-model") is None
    # 1M fresh input at $1.25, 1M cached at $0.125, 1M output at $10 (gpt-5).
    assert cost_usd("gpt-5", 2_000_000, 1_000_000, 1_000_000) == pytest.approx(11.375)
