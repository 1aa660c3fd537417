"""The agent's network policy, attacked by a real trial's agent.

A ``command:`` agent on arith-mini probes, from inside its sandbox: a server on the host's
127.0.0.1 (the dashboard, judge and evaluation servers listen there), the same port through
the user-mode stack's gateway (which maps to the host's loopback unless disabled), a server
bound to every host address (reached through the host's own address), and two "internet"
hosts: TEST-NET-1 addresses served from a network namespace of their own
(:mod:`posttrainbench.testing.stand_in_internet`); the first also answers DNS, saying that
``api.openai.com`` is itself. Nothing leaves this machine.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from posttrainbench.errors import TrialFailed
from posttrainbench.executors import run_trials
from posttrainbench.sandbox import BwrapSandbox, NetworkPolicy, network_tools
from posttrainbench.sandbox.network import host_addresses
from posttrainbench.testing.stand_in_internet import (
    StandInInternet,
    stand_in_internet,
    stand_in_unavailable_reason,
)
from posttrainbench.trial import TrialPaths, TrialSpec, trial_dir

pytestmark = pytest.mark.timeout(300)

PROBE = r"""
import json, socket, sys
seen = {}
name = b"".join(bytes([len(part)]) + part for part in (b"api", b"openai", b"com"))
question = bytes.fromhex("123401000001000000000000") + name + bytes.fromhex("0000010001")
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.settimeout(2)
try:
    dns.sendto(question, (sys.argv[1], 53))
    seen["dns"] = socket.inet_ntoa(dns.recv(512)[-4:])
except OSError as error:
    seen["dns"] = error.strerror or str(error)
for target in sys.argv[2:]:
    host, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=3) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
            reply = b""
            while chunk := conn.recv(4096):  # HTTP/1.0: the server closes after the body
                reply += chunk
            seen[target] = reply.split(b"\r\n\r\n", 1)[-1].decode()
    except OSError as error:
        seen[target] = "unreachable: " + (error.strerror or str(error))
print(json.dumps(seen))
"""


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"host service"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandInInternet]:
    for reason in (
        stand_in_unavailable_reason(),
        network_tools().unavailable_reason(),
        BwrapSandbox().unavailable_reason(),
    ):
        if reason:
            pytest.skip(reason)
    with stand_in_internet(lifetime_s=600) as internet:
        yield internet


@pytest.fixture(scope="module")
def host_services() -> Iterator[dict[str, str]]:
    """A server on the host's loopback and one on every host address; their targets."""
    loopback = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    everywhere = http.server.ThreadingHTTPServer(("0.0.0.0", 0), _Quiet)
    for server in (loopback, everywhere):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    port, wide_port = loopback.server_address[1], everywhere.server_address[1]
    address = str(host_addresses()[0].network_address)
    yield {
        "loopback": f"127.0.0.1:{port}",
        "gateway": f"10.0.2.2:{port}",
        "host address": f"{address}:{wide_port}",
    }
    for server in (loopback, everywhere):
        server.shutdown()
        server.server_close()


def run_trial(
    tiny_model: Path, runs_root: Path, targets: list[str], dns: str, network: NetworkPolicy
) -> TrialPaths:
    script = base64.b64encode(PROBE.encode()).decode()
    command = (
        f'{{python}} -c "$(echo {script} | base64 -d)" {dns} {" ".join(targets)} > network.json; '
        "cp -r {base_model} {final_model}"
    )
    spec = TrialSpec(
        agent="command",
        agent_config=command,
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
        sandbox="bwrap",
        network=network,
    )
    # On the local queue, as `ptb run` does; its worker is stopped (SIGKILL, as a crash)
    # once the audit is written: evaluation is not at stake.
    armed = {"PTB_FAILPOINTS": "evaluate.start"}
    with mock.patch.dict(os.environ, armed), pytest.raises(TrialFailed, match="code -9"):
        run_trials([spec], runs_root, log=lambda _: None)
    # This harness's namespaces (named after the pid of the queue's worker that ran the
    # trial) are gone; other runs' are not ours.
    worker = json.loads(
        (runs_root / "default" / "_executor" / "jobs" / f"{spec.trial_id}.json").read_text()
    )["pid"]
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not re.search(rf"^ptb-{worker}-\d+", namespaces, re.MULTILINE), namespaces
    return TrialPaths(trial_dir(runs_root, spec))


@pytest.mark.parametrize("mode", ["internet", "none", "allow"])
def test_the_policy_holds_against_the_agent(
    mode: str,
    stand_in: StandInInternet,
    host_services: dict[str, str],
    tiny_model: Path,
    runs_root: Path,
) -> None:
    listed, other = f"{stand_in.listed}:{stand_in.port}", f"{stand_in.other}:{stand_in.port}"
    policy = NetworkPolicy.from_options(mode, [listed] if mode == "allow" else [])
    targets = [*host_services.values(), listed, other]
    paths = run_trial(tiny_model, runs_root, targets, stand_in.listed, policy)

    seen = json.loads((paths.workspace / "network.json").read_text())
    for name, target in host_services.items():
        assert seen[target].startswith("unreachable"), (name, seen)
    if mode == "none":
        assert seen[listed].startswith("unreachable"), seen
    else:
        assert seen[listed] == f"stand-in {stand_in.listed}", seen
    assert seen[other].startswith("unreachable") is (mode != "internet")
    record = json.loads(paths.trial_json.read_text())
    assert record["spec"]["network"]["mode"] == mode

    lines = paths.egress.read_text().splitlines() if paths.egress.exists() else []
    egress = [json.loads(line) for line in lines]
    connections = {(r["address"], r["port"]) for r in egress if r["dns_query"] is None}
    findings = json.loads(paths.audit.read_text())["findings"]
    flagged = [f for f in findings if f["detector"] == "api_usage" and f["severity"] == "flag"]
    if mode == "none":
        assert egress == [] and flagged == []
    elif mode == "allow":
        # The listed port only: DNS to the same address was refused, so no name is known.
        assert connections == {(stand_in.listed, stand_in.port)}
        assert flagged == []
        assert any(listed in f["message"] for f in findings if f["severity"] == "info")
    else:
        assert connections == {(stand_in.listed, stand_in.port), (stand_in.other, stand_in.port)}
        assert seen["dns"] == stand_in.listed
        openai = [r for r in egress if "api.openai.com" in r["names"]]
        assert openai and openai[0]["bytes_in"] > 0
        assert [f["evidence"]["host"] for f in flagged] == ["api.openai.com"]
        assert json.loads(paths.audit.read_text())["verdict"] == "flagged"


def test_spec_identity_keeps_default_ids_and_separates_policies(tiny_model: Path) -> None:
    from posttrainbench.sandbox import NO_NETWORK

    base = TrialSpec(agent="noop", model=str(tiny_model), benchmark="arith-mini", hours=1)
    assert "network" not in base.identity()
    isolated = base.model_copy(update={"network": NO_NETWORK})
    allowed = base.model_copy(update={"network": NetworkPolicy(mode="allow", allow=("x.org",))})
    assert len({base.trial_id, isolated.trial_id, allowed.trial_id}) == 3
    assert trial_dir(Path("/r"), base).name == base.trial_id


def test_experiment_files_set_the_policy_and_report_mistakes(tmp_path: Path) -> None:
    from posttrainbench.config import load_experiment
    from posttrainbench.errors import UserError

    text = 'name = "e"\nagents = ["noop"]\nmodels = ["m"]\nbenchmarks = ["arith"]\nhours = 1\n'
    allowed = tmp_path / "allowed.toml"
    allowed.write_text(text + 'network = "allow"\nallow_hosts = ["pypi.org:443", "192.0.2.0/24"]\n')
    (spec,) = load_experiment(allowed, check_names=False).trial_specs()
    assert spec.network.mode == "allow" and spec.network.allow == ("pypi.org:443", "192.0.2.0/24")
    default = tmp_path / "default.toml"
    default.write_text(text)
    (plain,) = load_experiment(default, check_names=False).trial_specs()
    assert plain.network.mode == "internet"
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text + 'network = "none"\nallow_hosts = ["pypi.org"]\n')
    with pytest.raises(UserError, match="only with network 'allow'"):
        load_experiment(wrong, check_names=False)
