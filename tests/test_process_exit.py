"""A process ended by ``exit_now`` loses nothing that a normal exit would have kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from pathlib import Path
    from posttrainbench._process_exit import exiting_now

    out = Path(sys.argv[1])
    atexit.register(lambda: (out / "atexit").write_text("ran"))

    def late_writer():
        time.sleep(0.3)
        (out / "thread").write_text("joined")

    with exiting_now():
        threading.Thread(target=late_writer).start()
        sys.stdout.write("buffered, never flushed by the script")
        sys.exit(sys.argv[2] if not sys.argv[2].isdigit() else int(sys.argv[2]))
    """
)


def run(tmp_path: Path, exit_with: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path), exit_with],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_threads_atexit_and_buffered_output_survive_and_the_code_is_kept(tmp_path: Path) -> None:
    done = run(tmp_path, "3")
    assert done.returncode == 3
    assert done.stdout == "buffered, never flushed by the script"
    assert (tmp_path / "thread").read_text() == "joined"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_an_exit_message_is_printed_with_code_1(tmp_path: Path) -> None:
    done = run(tmp_path, "no such trial")
    assert done.returncode == 1
    assert "no such trial" in done.stderr
