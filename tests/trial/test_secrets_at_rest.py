"""A key given to the agent is in no form in anything the trial keeps, exports or publishes."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from posttrainbench.cli import app
from posttrainbench.trial import TrialPaths, TrialRunner, TrialSpec, trial_dir

KEY = "sk-proj-Zq9/fake+KEY_0123456789abcdefXYZ"

# The agent prints the key in every form, cut across two lines, and writes the same into
# workspace files, the CLI state folder a scaffold would keep, and a checkpoint folder.
AGENT_SCRIPT = r"""
import base64, json, os, pathlib, urllib.parse
k = os.environ["AGENT_TEST_KEY"]
forms = [k, json.dumps(k).replace("/", "\\/"), urllib.parse.quote(k, safe=""),
         k.encode().hex(), k.encode().hex().upper()]
forms += [base64.b64encode((pad + k + "!").encode()).decode() for pad in ("", "a", "ab")]
forms += [base64.urlsafe_b64encode(("x" + k).encode()).decode()]
for form in forms:
    print("form:", form, flush=True)
print("cut:", k[:15], flush=True)
print(k[15:], "end", flush=True)
ws = pathlib.Path.cwd()
(ws / "notes.txt").write_text("\n".join(forms) + "\n" + k[:20] + "\n" + k[20:] + "\n")
(ws / ".claude" / "projects").mkdir(parents=True)
(ws / ".claude" / "projects" / "s.jsonl").write_text(json.dumps({"key": k}) + "\n")
(ws / "ckpt").mkdir()
(ws / "ckpt" / "model.safetensors").write_bytes(b"weights")
"""


def forbidden() -> list[str]:
    """Every form of KEY (computed here, independently of the redactor) and its two halves."""
    raw = KEY.encode()
    forms = [KEY, KEY.replace("/", "\\/"), quote(KEY, safe=""), raw.hex(), raw.hex().upper()]
    for pad in (b"", b"a", b"ab"):
        encoded = base64.b64encode(pad + raw + b"!").decode()
        forms.append(encoded[len(pad) * 2 : len(pad) * 2 + 40])  # the key's own characters
    forms.append(base64.urlsafe_b64encode(b"x" + raw).decode()[4:40])
    return [*forms, KEY[:15], KEY[15:], KEY[:20], KEY[20:]]


def leaks(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {form}" for form in forbidden() if form.encode() in data]
    return found


@pytest.fixture(scope="module")
def finished(trial_runs: Path, tiny_model: Path) -> TrialPaths:
    script = base64.b64encode(AGENT_SCRIPT.encode()).decode()
    command = f"echo {script} | base64 -d > /tmp/agent.py && {{python}} /tmp/agent.py"
    spec = TrialSpec(
        agent="command",
        agent_config=f"{command}?keys=AGENT_TEST_KEY",
        model=str(tiny_model),
        benchmark="arith-mini",
        hours=0.05,
        experiment="secrets",
    )
    os.environ["AGENT_TEST_KEY"] = KEY
    try:
        TrialRunner(spec, trial_runs, log=lambda _: None).run()
    finally:
        del os.environ["AGENT_TEST_KEY"]
    return TrialPaths(trial_dir(trial_runs, spec))


def test_no_form_of_the_key_is_kept_anywhere_in_the_run_folder(finished: TrialPaths) -> None:
    stream = finished.raw_stream.read_text()
    assert stream.count("form: ") == 9 and "[REDACTED]" in stream  # the agent did print them
    assert leaks(finished.root) == []


def test_cli_state_and_extra_checkpoints_are_dropped(finished: TrialPaths) -> None:
    assert (finished.workspace / "notes.txt").is_file()  # other workspace files are kept
    assert not (finished.workspace / ".claude").exists()
    assert not (finished.workspace / "ckpt").exists()
    kept = json.loads(finished.events.read_text().splitlines()[-1])["data"]["kept"]
    assert "workspace/.claude" in kept["dropped"] and "workspace/ckpt" in kept["dropped"]


def test_site_and_harbor_export_hold_no_form_of_the_key(
    finished: TrialPaths, trial_runs: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    site = runner.invoke(app, ["site", str(tmp_path / "site"), "--runs-dir", str(trial_runs)])
    assert site.exit_code == 0, site.output
    harbor = runner.invoke(app, ["export", "harbor", str(finished.root), str(tmp_path / "harbor")])
    assert harbor.exit_code == 0, harbor.output
    assert any((tmp_path / "site").rglob("*.html")) and any((tmp_path / "harbor").rglob("*"))
    assert leaks(tmp_path) == []
