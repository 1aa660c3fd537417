"""The `vllm serve` launcher against a fake `vllm` executable: command line, health, teardown."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from openai import OpenAI

from posttrainbench.evaluation import VllmServer, VllmServerError, VllmSettings


def server(tmp_path: Path, **settings: float) -> VllmServer:
    template = tmp_path / "template.jinja"
    template.write_text("{{ messages[0]['content'] }}")
    return VllmServer(
        tmp_path / "final_model",
        template,
        tmp_path / "logs" / "vllm.log",
        VllmSettings(**settings),  # type: ignore[arg-type]
        served_model_name="ptb-model",
    )


def wait_dead(alive: Callable[[int], bool], pid: int) -> bool:
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_starts_serves_and_kills_the_whole_process_group(
    fake_vllm: Path, tmp_path: Path, alive: Callable[[int], bool]
) -> None:
    launcher = server(tmp_path, startup_timeout_s=60)
    with launcher:
        record = json.loads((tmp_path / "record.json").read_text())
        argv = record["argv"]
        assert argv[:2] == ["serve", str(tmp_path / "final_model")]
        flags = dict(zip(argv[2::2], argv[3::2], strict=False))
        assert flags["--host"] == "127.0.0.1"
        assert flags["--port"] == str(launcher.port)
        assert flags["--chat-template"] == str(tmp_path / "template.jinja")
        assert record["template"] == "{{ messages[0]['content'] }}"
        assert flags["--generation-config"] == "vllm"  # the submission's sampling is ignored
        assert "--trust-remote-code" not in argv  # the submission's code never runs
        # its own session: a process group that teardown can signal as a whole
        assert record["pgid"] == record["pid"] == launcher.pid
        client = OpenAI(base_url=launcher.base_url, api_key=launcher.api_key)
        models = [m.id for m in client.models.list()]
        assert models == ["ptb-model"]
        assert alive(record["child"])
    assert wait_dead(alive, record["pid"]) and wait_dead(alive, record["child"])
    assert "fake vllm starting" in (tmp_path / "logs" / "vllm.log").read_text()


def test_health_wait_covers_a_slow_start(
    fake_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_STARTUP_S", "2")
    with server(tmp_path, startup_timeout_s=60) as launcher:
        client = OpenAI(base_url=launcher.base_url, api_key=launcher.api_key)
        reply = client.chat.completions.create(
            model="ptb-model", messages=[{"role": "user", "content": "hello"}]
        )
        assert reply.choices[0].message.content == "hello"


def test_a_server_that_dies_while_starting_is_reported_with_its_log(
    fake_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alive: Callable[[int], bool]
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "crash")
    with pytest.raises(VllmServerError, match="exited with status 3") as error:
        server(tmp_path, startup_timeout_s=60).start()
    assert "CUDA out of memory" in str(error.value)
    record = json.loads((tmp_path / "record.json").read_text())
    assert wait_dead(alive, record["child"])  # its worker does not linger


def test_a_server_that_never_gets_healthy_times_out_and_is_killed(
    fake_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alive: Callable[[int], bool]
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "hang")
    with pytest.raises(VllmServerError, match="did not become healthy"):
        server(tmp_path, startup_timeout_s=2, stop_grace_s=1).start()
    record = json.loads((tmp_path / "record.json").read_text())
    assert wait_dead(alive, record["pid"]) and wait_dead(alive, record["child"])


def test_a_missing_executable_is_a_clear_error(tmp_path: Path) -> None:
    launcher = server(tmp_path)
    launcher.settings = VllmSettings(executable=str(tmp_path / "no-such-vllm"))
    with pytest.raises(VllmServerError, match="cannot run"):
        launcher.start()
