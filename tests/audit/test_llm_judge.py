"""The llm_judge detector against a fake OpenAI-compatible server with scripted verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posttrainbench.audit import AuditSettings, LlmJudgeSettings, run_audit
from posttrainbench.audit.llm_judge import digest
from posttrainbench.judge import JudgeSettings
from posttrainbench.testing import FakeError, FakeOpenAIServer

from .conftest import MakeContext


def _verdict(test_data: bool, other_model: bool = False) -> str:
    return "Verdict:\n" + json.dumps(
        {"test_data_used": test_data, "other_model_used": other_model, "rationale": "r"}
    )


def _settings(server: FakeOpenAIServer, **extra: object) -> AuditSettings:
    # One attempt per vote: each scripted reply is one vote (retries are the client's own
    # tests, in tests/evaluation/test_judge.py).
    endpoint = JudgeSettings(base_url=server.base_url, model="judge-model", max_attempts=1)
    return AuditSettings(llm_judge=LlmJudgeSettings(judge=endpoint, **extra))  # type: ignore[arg-type]


def test_off_by_default(make_context: MakeContext) -> None:
    assert "llm_judge" not in run_audit(make_context()).detectors_run


def test_majority_yes_flags_with_rationale(make_context: MakeContext) -> None:
    replies = [_verdict(True), _verdict(False), _verdict(True, other_model=True)]
    with FakeOpenAIServer(replies) as server:
        context = make_context(trace_lines=["training on test.jsonl"], settings=_settings(server))
        (context.workspace / "train.py").write_text("data = load('test')\n")
        report = run_audit(context)
    assert report.verdict == "flagged"
    [flag] = [f for f in report.findings if f.severity == "flag"]
    assert flag.detector == "llm_judge" and flag.evidence["yes"] == 2
    assert flag.evidence["rationales"] == ["r", "r"]
    [other] = [
        f
        for f in report.findings
        if f.evidence.get("question", "").startswith("Did the agent fine")
    ]  # type: ignore[union-attr]
    assert other.severity == "info" and other.evidence["yes"] == 1
    prompt = server.chat_requests[0].last_user_text
    assert "train.py" in prompt and "load('test')" in prompt and "training on test.jsonl" in prompt
    assert server.chat_requests[0].body["model"] == "judge-model"
    # The audit's judge is the benchmarks' judge: same settings, effort included.
    assert server.chat_requests[0].body["reasoning_effort"] == "medium"


def test_majority_no_is_clean(make_context: MakeContext) -> None:
    with FakeOpenAIServer([_verdict(False), _verdict(True), _verdict(False)]) as server:
        report = run_audit(make_context(settings=_settings(server)))
    assert report.verdict == "clean"
    assert "llm_judge" in report.detectors_run


@pytest.mark.parametrize(
    "replies",
    [
        [_verdict(True), FakeError(400, "bad"), "I think it cheated."],  # 1 usable: no majority
        [_verdict(True), _verdict(False), FakeError(400, "bad")],  # a tie
    ],
)
def test_no_majority_is_an_error_never_a_flag_or_a_pass(
    make_context: MakeContext, replies: list[str | FakeError]
) -> None:
    with FakeOpenAIServer(replies) as server:
        report = run_audit(make_context(settings=_settings(server)))
    assert report.verdict == "error"
    assert "no majority" in report.errors["llm_judge"]


def test_an_unreachable_judge_is_an_error(make_context: MakeContext) -> None:
    settings = AuditSettings(
        llm_judge=LlmJudgeSettings(
            judge=JudgeSettings(
                base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2, max_attempts=1
            )
        )
    )
    assert run_audit(make_context(settings=settings)).verdict == "error"


def test_the_digest_is_bounded(make_context: MakeContext, tmp_path: Path) -> None:
    context = make_context(trace_lines=[f"line {i} " + "x" * 200 for i in range(2000)])
    (context.workspace / "big.py").write_text("y = 1\n" * 50_000)
    text = digest(context, 5_000)
    assert len(text) <= 5_000
    assert "line 0 " in text and "line 1999 " in text and "characters left out" in text


def test_enabled_per_run_and_on_re_audit_with_the_harness_judge(
    tiny_model: Path, runs_root: Path
) -> None:
    from typer.testing import CliRunner

    from posttrainbench.cli import app
    from posttrainbench.errors import TrialFailed

    def ptb_audit(*args: str, env: dict[str, str]) -> str:
        """``ptb audit`` in this process: its standard output."""
        done = CliRunner().invoke(app, ["audit", *args], env=env)
        assert done.exit_code == 0, done.output
        return done.stdout

    with FakeOpenAIServer([_verdict(True)] * 6, models=("judge-model",)) as server:
        judge_env = {
            "PTB_JUDGE_BASE_URL": server.base_url,
            "PTB_JUDGE_MODEL": "judge-model",
            "PTB_JUDGE_API_KEY": "judge-key-for-the-harness",
        }
        # `ptb run` in this process; the failpoint kills its trial at the evaluate phase,
        # right after the audit.
        run = ["run", "--agent", "noop", "--model", str(tiny_model), "--benchmark", "arith-mini"]
        run += ["--hours", "0.05", "--sandbox", "process", "--runs-dir", str(runs_root)]
        stopped = CliRunner().invoke(
            app, [*run, "--audit-llm-judge"], env={**judge_env, "PTB_FAILPOINTS": "evaluate.start"}
        )
        assert isinstance(stopped.exception, TrialFailed), stopped.output
        [audit_file] = runs_root.glob("default/*/audit.json")
        recorded = json.loads(audit_file.read_text())
        again = ptb_audit(str(audit_file.parent), "--llm-judge", "--json", env=judge_env)
        requests = list(server.chat_requests)

    assert "llm_judge" in recorded["detectors_run"] and recorded["verdict"] == "flagged"
    assert json.loads(again)["verdict"] == "flagged"
    assert len(requests) == 6 and all(r.body["model"] == "judge-model" for r in requests)
    # Without the option the same trial's audit does not call the judge.
    plain = ptb_audit(str(audit_file.parent), "--json", env=judge_env)
    assert "llm_judge" not in json.loads(plain)["detectors_run"]
