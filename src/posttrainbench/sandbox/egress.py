"""The egress log of a trial (``agent/egress.jsonl``): the agent's outbound connections.

Written by the capture that runs in the agent's network namespace
(:mod:`posttrainbench.sandbox._capture`), read here.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["EgressRecord", "read_egress"]


class EgressRecord(BaseModel):
    """One connection the agent opened (a line of ``agent/egress.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    started_at: str
    """UTC time of its first packet (ISO 8601)."""
    ended_at: str
    """UTC time of its last packet seen."""
    protocol: Literal["tcp", "udp"]
    address: str
    """Destination IPv4 address."""
    port: int
    """Destination port."""
    bytes_out: int = 0
    """IP bytes the agent sent."""
    bytes_in: int = 0
    """IP bytes it received."""
    names: list[str] = []
    """DNS names seen resolving to ``address`` before or during the connection, and the
    server name the connection asked for (TLS SNI, HTTP Host)."""
    dns_query: str | None = None
    """For a DNS request: the name asked."""
    dns_answers: list[str] = []
    """For a DNS request: the addresses answered."""
    refused: bool = False
    """The connection was reset before any reply data came back."""


def read_egress(path: Path) -> list[EgressRecord]:
    """The records of an egress log (empty when there is none); bad lines are skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            records.append(EgressRecord.model_validate_json(line))
    return records
