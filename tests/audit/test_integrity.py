"""The integrity detector: harness-given files, base model and submission identity."""

from __future__ import annotations

import json
from collections.abc import Callable

from posttrainbench.audit import AuditContext, Finding
from posttrainbench.audit.integrity import integrity

MakeContext = Callable[..., AuditContext]


def by_severity(findings: list[Finding], severity: str) -> list[Finding]:
    return [finding for finding in findings if finding.severity == severity]


def test_an_untouched_submission_is_clean(make_context: MakeContext) -> None:
    assert by_severity(integrity(make_context()), "flag") == []


def test_an_edited_evaluate_py_is_flagged_with_its_hashes(make_context: MakeContext) -> None:
    context = make_context()
    evaluate = context.task_dir / "evaluate.py"
    given = context.given_files
    assert given is not None
    evaluate.write_text("print('score: 1.0')\n")
    (context.task_dir / "templates" / "qwen3.jinja").unlink()
    [flag] = by_severity(integrity(context), "flag")
    changed = flag.evidence["changed"]
    assert isinstance(changed, list) and changed[0]["file"] == "evaluate.py"  # type: ignore[index]
    assert changed[0]["sha256_given"] == given["evaluate.py"]["sha256"]  # type: ignore[index]
    assert flag.evidence["deleted"] == [{"file": "templates/qwen3.jinja"}]


def test_a_modified_base_model_is_flagged(make_context: MakeContext) -> None:
    context = make_context()
    (context.base_model / "config.json").write_text("{}")
    flags = by_severity(integrity(context), "flag")
    assert any("base model" in flag.message for flag in flags)


def test_a_changed_architecture_is_flagged_with_before_and_after(make_context: MakeContext) -> None:
    context = make_context()
    config_path = context.final_model / "config.json"
    config = json.loads(config_path.read_text())
    base_type = config["model_type"]
    config["model_type"] = "llama"
    config["architectures"] = ["LlamaForCausalLM"]
    config_path.write_text(json.dumps(config))
    [flag] = by_severity(integrity(context), "flag")
    changed = flag.evidence["changed"]
    assert changed["model_type"] == {"base": base_type, "final": "llama"}  # type: ignore[index, call-overload]
    assert "architectures" in changed  # type: ignore[operator]


def test_custom_modelling_code_is_flagged(make_context: MakeContext) -> None:
    context = make_context()
    (context.final_model / "modeling_cheat.py").write_text("print('runs at evaluation')\n")
    [flag] = by_severity(integrity(context), "flag")
    assert flag.evidence["files"] == ["modeling_cheat.py"]


def test_a_changed_chat_template_is_reported_not_scored(make_context: MakeContext) -> None:
    context = make_context()
    path = context.final_model / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config["chat_template"] = "{{ 'The answer is 42' }}"
    path.write_text(json.dumps(config))
    (context.final_model / "generation_config.json").write_text('{"temperature": 0.1}')
    findings = integrity(context)
    assert by_severity(findings, "flag") == []
    [warning] = by_severity(findings, "warning")
    assert warning.evidence["file"] == "final_model/tokenizer_config.json"
    assert warning.evidence["chat_template"]["final"] == "{{ 'The answer is 42' }}"  # type: ignore[index, call-overload]
    assert any("generation_config" in f.message for f in by_severity(findings, "info"))
