"""The base of every JSON record a trial writes, and the one place old records are migrated.

Each record carries ``schema_version``. A record written before the field existed (the run
format of December 2026 and earlier) reads as version 0. :func:`migrate` brings the raw
JSON of any older version up to :data:`SCHEMA_VERSION`, step by step, before the model
validates it: every JSON read (:meth:`Record.load`, :meth:`Record.parse`, pydantic's
``model_validate_json``) and :meth:`Record.from_data` for JSON already decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from posttrainbench._fileio import atomic_write_text

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Record", "migrate"]

SCHEMA_VERSION = 1
"""The version every record is written in now (0: written before the field existed)."""

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _unchanged(data: dict[str, Any]) -> dict[str, Any]:
    return data


MIGRATIONS: dict[str, dict[int, Migration]] = {}
"""Record class name -> {version v: raw JSON of v -> raw JSON of v + 1}.

A missing step is the identity: version 0 -> 1 only added ``schema_version`` to records
whose fields were already what the models state.
"""


def migrate(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (raw JSON of a ``kind`` record, any version) as the current version."""
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(
            f"{kind} record has schema_version {version!r}; this harness reads versions "
            f"0..{SCHEMA_VERSION}: upgrade posttrainbench to read it."
        )
    steps = MIGRATIONS.get(kind, {})
    for step in range(version, SCHEMA_VERSION):
        data = steps.get(step, _unchanged)(dict(data))
    return {**data, "schema_version": SCHEMA_VERSION}


class Record(BaseModel):
    """A JSON record of a trial folder, read and written by the same class."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(default=SCHEMA_VERSION)
    """The shape the record was written in (see :func:`migrate`)."""

    @model_validator(mode="before")
    @classmethod
    def _migrate_json(cls, data: Any, info: ValidationInfo) -> Any:
        # JSON input is a record read back (``model_validate_json`` included): migrate it.
        # Python input is a record being built, already in the current shape.
        if info.mode == "json" and isinstance(data, dict):
            return migrate(cls.__name__, data)
        return data

    @classmethod
    def parse(cls, text: str | bytes) -> Self:
        """The record in ``text`` (JSON of any version), migrated to the current one."""
        return cls.model_validate_json(text)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        """The record in already-decoded JSON ``data`` (any version)."""
        return cls.model_validate(migrate(cls.__name__, data))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read the record at ``path`` (see :meth:`parse`)."""
        return cls.parse(path.read_text(encoding="utf-8"))

    def save(self, path: Path) -> None:
        """Write the record to ``path`` atomically (indented JSON, ``None`` fields kept)."""
        atomic_write_text(path, self.model_dump_json(indent=2))
