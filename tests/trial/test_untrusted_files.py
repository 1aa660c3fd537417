"""The primitives every read of agent-written files goes through, and the redactor's forms."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from posttrainbench._redact import REDACTED, Redactor
from posttrainbench._safe_files import (
    FileBounds,
    UntrustedFileError,
    WalkBudget,
    open_dir,
    read_bounded,
    walk,
)
from posttrainbench.audit._files import file_hashes
from posttrainbench.audit._files import walk as audit_walk


def test_links_and_fifos_are_refused_never_followed_or_waited_on(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "ok.txt").write_text("fine")
    (tmp_path / "ws" / "etc").symlink_to("/etc")
    os.mkfifo(tmp_path / "ws" / "pipe")
    assert read_bounded(tmp_path, "ws/ok.txt") == b"fine"
    with pytest.raises(UntrustedFileError, match="links are not followed"):
        read_bounded(tmp_path, "ws/etc/hostname")
    with pytest.raises(UntrustedFileError, match="not a regular file"):
        read_bounded(tmp_path, "ws/pipe")  # a FIFO with no writer: would block a plain open
    with pytest.raises(UntrustedFileError, match="leaves its folder"):
        read_bounded(tmp_path, "ws/../ws/ok.txt")
    # The audit's walk sees the file only; file_hashes of a linked folder reads nothing.
    assert [entry.path.name for entry in audit_walk(tmp_path / "ws")] == ["ok.txt"]
    assert file_hashes(tmp_path / "ws" / "etc") == {}


def test_walk_stops_at_its_bounds(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d"] * 10)
    deep.mkdir(parents=True)
    for index in range(20):
        (tmp_path / f"f{index}").write_text("x")
    fd = open_dir(tmp_path)
    try:
        with pytest.raises(UntrustedFileError, match="nested deeper than 5"):
            list(walk(fd, WalkBudget(FileBounds(max_depth=5))))
        with pytest.raises(UntrustedFileError, match="more than 15 files"):
            list(walk(fd, WalkBudget(FileBounds(max_files=15))))
        with pytest.raises(UntrustedFileError, match="longer than 12 characters"):
            list(walk(fd, WalkBudget(FileBounds(max_path_chars=12))))
        assert len(list(walk(fd))) == 30
    finally:
        os.close(fd)


def test_bounds_from_the_environment() -> None:
    bounds = FileBounds.from_env({"PTB_MAX_SUBMISSION_GB": "0.5", "PTB_MAX_AGENT_OUTPUT_MB": "3"})
    assert bounds.max_submission_bytes == 1 << 29 and bounds.max_output_bytes == 3 << 20
    from posttrainbench.errors import UserError

    with pytest.raises(UserError, match="PTB_MAX_SUBMISSION_GB must be a positive number"):
        FileBounds.from_env({"PTB_MAX_SUBMISSION_GB": "lots"})


@pytest.mark.parametrize("pad", [b"", b"x", b"xy", b"xyz"])
def test_base64_of_a_secret_is_found_at_every_alignment(pad: bytes) -> None:
    secret = "tok-9f8e7d6c5b4a3210/+zz"
    blob = base64.b64encode(pad + secret.encode() + b"--tail--").decode()
    redacted = Redactor([secret])(f"data={blob}")
    assert REDACTED in redacted
    assert base64.b64encode(secret.encode()).decode()[4:20] not in redacted


def test_a_secret_cut_across_many_records_is_redacted_in_all() -> None:
    secret = "sk-live-0123456789abcdef"
    records = ["start " + secret[:3], secret[3:9], secret[9:] + " end", "after"]
    assert list(Redactor([secret]).lines(records)) == ["start " + REDACTED, "", " end", "after"]
