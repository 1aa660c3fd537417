"""``vllm serve`` as a managed subprocess: free port, forced template, health wait, teardown.

The server is started in a session (process group) of its own, its output goes to a log
file, and stopping it signals the whole group (TERM, then KILL after a grace period), so
no worker process outlives an evaluation attempt. The submission's sampling defaults are
ignored (``--generation-config vllm``) and its code is never run (no
``--trust-remote-code``): the harness's chat template is passed with ``--chat-template``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["VllmServer", "VllmServerError", "VllmSettings", "free_port"]


class VllmServerError(Exception):
    """The server did not start, died, or did not become healthy in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class VllmSettings:
    """How to start the server."""

    executable: str = "vllm"
    """The ``vllm`` command (``PTB_VLLM_EXECUTABLE`` overrides it in the engine)."""
    startup_timeout_s: float = 900.0
    """How long to wait for ``/health`` and ``/v1/models`` to answer."""
    stop_grace_s: float = 20.0
    """Seconds between SIGTERM and SIGKILL at teardown."""
    max_model_len: int | None = None
    """``--max-model-len``; None lets vLLM use the model's."""
    gpu_memory_utilization: float = 0.9
    extra_args: tuple[str, ...] = field(default_factory=tuple)
    """Appended to the command line as given."""


class VllmServer:
    """One ``vllm serve`` process for one model directory; use it as a context manager.

    Args:
        model_dir: The model to serve.
        chat_template: Path of the harness's chat template file.
        log_path: Where the server's stdout and stderr go.
        settings: Executable, timeouts and extra flags.
        served_model_name: Name requests must use.
    """

    def __init__(
        self,
        model_dir: Path,
        chat_template: Path,
        log_path: Path,
        settings: VllmSettings | None = None,
        served_model_name: str = "ptb-model",
    ) -> None:
        self.model_dir = model_dir
        self.chat_template = chat_template
        self.log_path = log_path
        self.settings = settings or VllmSettings()
        self.served_model_name = served_model_name
        self.api_key = secrets.token_hex(16)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """OpenAI base URL of the running server."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """Process id of the server (its process group id too), while started."""
        return self._process.pid if self._process else None

    def command(self) -> list[str]:
        """The full command line (``self.port`` must be chosen first)."""
        s = self.settings
        argv = [
            s.executable,
            "serve",
            str(self.model_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--served-model-name",
            self.served_model_name,
            "--api-key",
            self.api_key,
            "--chat-template",
            str(self.chat_template),
            # Ignore the submission's generation_config.json: the benchmark pins sampling.
            "--generation-config",
            "vllm",
            "--seed",
            "0",
            "--gpu-memory-utilization",
            str(s.gpu_memory_utilization),
        ]
        if s.max_model_len:
            argv += ["--max-model-len", str(s.max_model_len)]
        return argv + list(s.extra_args)

    def start(self) -> VllmServer:
        """Start the server and wait until it answers; tears it down on failure."""
        if self._process is not None:
            raise RuntimeError("server already started")
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, VLLM_API_KEY=self.api_key)
        with self.log_path.open("ab") as log:
            try:
                self._process = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as error:
                raise VllmServerError(
                    f"cannot run {self.settings.executable!r}: {error}"
                ) from error
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _get(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), b""

    def _ready(self) -> bool:
        try:
            status, _ = self._get("/health")
            if status != 200:
                return False
            status, body = self._get("/v1/models")
        except (OSError, urllib.error.URLError):
            return False
        if status != 200:
            return False
        try:
            models = [entry.get("id") for entry in json.loads(body).get("data", [])]
        except (ValueError, AttributeError):
            return False
        return self.served_model_name in models

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise VllmServerError(
                    f"vllm serve exited with status {code} while starting; "
                    f"log tail:\n{self.log_tail()}"
                )
            if self._ready():
                return
            time.sleep(0.2)
        raise VllmServerError(
            f"vllm serve did not become healthy within {self.settings.startup_timeout_s:g} s; "
            f"log tail:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Signal the server's process group: TERM, then KILL after the grace period."""
        process, self._process = self._process, None
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=self.settings.stop_grace_s)
        except subprocess.TimeoutExpired:
            pass
        # Workers may ignore TERM or outlive the leader: KILL whatever is left in the group.
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()

    def __enter__(self) -> VllmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
