"""The write journal's watcher: inotify on the agent's writable folders during solve.

Linux inotify through ``ctypes`` (no dependency): a watch on every directory of the
roots, added as directories appear. A file is opened as soon as it is created, so what
the agent writes is still readable when the agent deletes it before the harness reads it;
on ``IN_CLOSE_WRITE``/``IN_MOVED_TO`` (and on deletion) its content goes to the
:class:`~posttrainbench.audit.journal.Journal`. A final sweep on exit records every file
changed since the watcher started that the events missed (a full event queue, more
directories than ``max_watches``). ``summary.json`` in the journal says what happened:
entries, bytes stored, watches, lost events, seconds spent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import stat
import struct
import time
from pathlib import Path
from types import TracebackType

from posttrainbench.audit.journal import Journal, JournalLimits
from posttrainbench.records import JournalSummary
from posttrainbench.trial._drain_thread import DrainThread

__all__ = ["JournalWatcher"]

_IN_CLOSE_WRITE = 0x008
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_Q_OVERFLOW = 0x4000
_IN_ISDIR = 0x40000000
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_MASK = _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
_EVENT = struct.Struct("iIII")
_MAX_HELD = 256
"""Files held open between creation and their last write (bounded: file descriptors)."""


class JournalWatcher:
    """Journals files written under ``roots`` while the ``with`` block runs."""

    def __init__(
        self,
        journal_root: Path,
        roots: list[Path],
        limits: JournalLimits | None = None,
        max_watches: int = 50_000,
    ) -> None:
        self.journal = Journal(journal_root, limits)
        self.roots = [root for root in roots if root.is_dir()]
        self.max_watches = max_watches
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._fd = -1
        self._dirs: dict[int, Path] = {}
        self._held: dict[Path, int] = {}
        self._reader: DrainThread | None = None
        self._started_ns = 0
        self.lost_events = False
        self.unwatched_dirs = 0
        self.busy_s = 0.0

    def __enter__(self) -> JournalWatcher:
        """Start watching (falls back to the final sweep alone when inotify fails)."""
        self._started_ns = _filesystem_now_ns(self.journal.root)
        self._fd = self._libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self._fd >= 0:
            for root in self.roots:
                self._watch_tree(root, record=False)
            self._reader = DrainThread(self._fd, self._drain, "ptb-journal")
            self._reader.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Stop, drain, sweep what was missed, and write ``summary.json``."""
        if self._reader is not None:
            self._reader.stop()
        if self._fd >= 0:
            os.close(self._fd)
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()
        began = time.monotonic()
        swept = self._sweep()
        self.busy_s += time.monotonic() - began
        JournalSummary(
            entries=self.journal.entries,
            stored_bytes=self.journal.stored_bytes,
            watched_dirs=len(self._dirs),
            unwatched_dirs=self.unwatched_dirs,
            lost_events=self.lost_events,
            swept_files=swept,
            busy_s=round(self.busy_s, 3),
            inotify=self._fd >= 0,
        ).save(self.journal.root / "summary.json")

    def _watch_tree(self, top: Path, record: bool) -> None:
        for directory, _dirs, files in os.walk(top):
            path = Path(directory)
            if len(self._dirs) >= self.max_watches:
                self.unwatched_dirs += 1
                continue
            wd = self._libc.inotify_add_watch(self._fd, bytes(path), _MASK)
            if wd >= 0:
                self._dirs[wd] = path
            if record:  # written before the watch existed
                for name in files:
                    self.journal.record(path / name)

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return
            began = time.monotonic()
            self._handle(data)
            self.busy_s += time.monotonic() - began

    def _handle(self, data: bytes) -> None:
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
            raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
            offset += _EVENT.size + length
            if mask & _IN_Q_OVERFLOW:
                self.lost_events = True
                continue
            directory = self._dirs.get(wd)
            if directory is None:
                continue
            path = directory / os.fsdecode(raw.rstrip(b"\0"))
            if mask & _IN_ISDIR:
                if mask & (_IN_CREATE | _IN_MOVED_TO):
                    self._watch_tree(path, record=True)
            elif mask & _IN_CREATE:
                self._hold(path)
            elif mask & (_IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_DELETE):
                fd = self._held.pop(path, None)
                self.journal.record(path, fd=fd)
                if fd is not None:
                    os.close(fd)

    def _hold(self, path: Path) -> None:
        if len(self._held) >= _MAX_HELD or path in self._held:
            return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        if stat.S_ISREG(os.fstat(fd).st_mode):
            self._held[path] = fd
        else:
            os.close(fd)

    def _sweep(self) -> int:
        swept = 0
        for root in self.roots:
            for directory, _dirs, files in os.walk(root):
                for name in files:
                    path = Path(directory) / name
                    try:
                        changed = path.lstat().st_mtime_ns > self._started_ns
                    except OSError:
                        continue
                    if changed:
                        before = self.journal.entries
                        self.journal.record(path)
                        swept += self.journal.entries - before
        return swept


def _filesystem_now_ns(folder: Path) -> int:
    """Now, by the clock that stamps files written in ``folder``; later files are newer.

    A file's mtime comes from the kernel's file timestamps (or a file server's clock), not
    from ``time.time()``; the two disagree by milliseconds either way, and the file clock
    ticks coarsely: a file written just before the start can share its stamp. So a marker
    written in ``folder`` gives the start, and this returns only once the file clock has
    moved past it: every file written from then on is strictly newer (``_sweep``'s ``>``, in
    whole nanoseconds: float seconds round two equal stamps apart).
    """
    marker = folder / ".clock"
    marker.write_bytes(b"")
    try:
        started = marker.stat().st_mtime_ns
        deadline = time.monotonic() + 2.0  # a file server may stamp whole seconds
        while time.monotonic() < deadline:
            os.utime(marker)  # stamped now, by the same clock
            if marker.stat().st_mtime_ns > started:
                break
            time.sleep(0.001)
        return started
    finally:
        marker.unlink()
