"""A daemon thread that drains a descriptor whenever it is readable, until stopped.

The journal watcher (inotify), the access recorder (a FIFO) and the kernel watch
(fanotify) each read a non-blocking descriptor on a thread of their own; this is that
thread. ``stop`` wakes it through a pipe, waits for it, then drains once more, so nothing
written before the stop is left unread.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable

__all__ = ["DrainThread"]


class DrainThread:
    """Calls ``drain`` each time ``fd`` becomes readable, on a daemon thread named ``name``."""

    def __init__(self, fd: int, drain: Callable[[], None], name: str) -> None:
        self.fd = fd
        self.drain = drain
        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        """Start draining."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (if it ran), drain what is left, and release the wake-up pipe."""
        if self._thread.is_alive():
            os.write(self._stop_write, b"x")
            self._thread.join()
        self.drain()
        os.close(self._stop_read)
        os.close(self._stop_write)

    def _loop(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd, self._stop_read], [], [])
            if self._stop_read in ready:
                return
            self.drain()
