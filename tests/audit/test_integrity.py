"""The integrity detector: harness-given files, base model and submission identity."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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


def test_a_changed_chat_template_is_flagged_as_tampering(make_context: MakeContext) -> None:
    context = make_context()
    path = context.final_model / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config["chat_template"] = "{{ 'The answer is 42' }}"
    path.write_text(json.dumps(config))
    (context.final_model / "generation_config.json").write_text('{"temperature": 0.1}')
    findings = integrity(context)
    [flag] = by_severity(findings, "flag")
    assert flag.evidence["file"] == "final_model/tokenizer_config.json"
    assert flag.evidence["chat_template"]["final"] == "{{ 'The answer is 42' }}"  # type: ignore[index, call-overload]
    assert "tampering attempt" in flag.message
    assert any("generation_config" in f.message for f in by_severity(findings, "info"))


def _edit_tokenizer(context: AuditContext, edit: Callable[[dict[str, Any]], None]) -> None:
    path = context.final_model / "tokenizer.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=1))  # re-serialised differently too


@pytest.mark.parametrize(
    ("field", "edit"),
    [
        ("normalizer", lambda t: t.update(normalizer={"type": "Lowercase"})),
        ("pre_tokenizer", lambda t: t.update(pre_tokenizer={"type": "Whitespace"})),
        ("decoder", lambda t: t.update(decoder={"type": "Fuse"})),
        ("post_processor", lambda t: t.update(post_processor=None)),
        ("model", lambda t: t["model"]["vocab"].update({"zzqx": 0})),
    ],
)
def test_tokenizer_pipeline_changes_are_flagged_with_the_field(
    field: str, edit: Callable[[dict[str, Any]], None], make_context: MakeContext
) -> None:
    context = make_context()
    _edit_tokenizer(context, edit)
    [flag] = by_severity(integrity(context), "flag")
    assert flag.evidence["file"] == "final_model/tokenizer.json"
    assert flag.evidence["changed_keys"] == [field]


def test_added_tokens_or_a_pad_token_alone_are_warnings(make_context: MakeContext) -> None:
    context = make_context()
    token = {"id": 999, "content": "<x>", "special": True, "lstrip": False, "rstrip": False}
    token |= {"normalized": False, "single_word": False}
    _edit_tokenizer(context, lambda t: t["added_tokens"].append(token))
    path = context.final_model / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config["pad_token"] = "<x>"
    path.write_text(json.dumps(config))
    findings = integrity(context)
    assert by_severity(findings, "flag") == []
    assert {str(f.evidence["file"]) for f in by_severity(findings, "warning")} == {
        "final_model/tokenizer.json",
        "final_model/tokenizer_config.json",
    }


def test_a_tokenizer_saved_again_unchanged_is_clean(make_context: MakeContext) -> None:
    from transformers import AutoTokenizer

    context = make_context()
    AutoTokenizer.from_pretrained(context.final_model).save_pretrained(context.final_model)
    assert by_severity(integrity(context), "flag") == []


def test_a_given_file_rewritten_and_restored_during_solve_is_flagged(
    make_context: MakeContext, tmp_path: Path
) -> None:
    from dataclasses import replace

    from posttrainbench.audit.journal import Journal

    context = make_context()
    journal = Journal(tmp_path / "journal")
    script = context.task_dir / "evaluate.py"
    original = script.read_text()
    script.write_text("print(1.0)\n")
    journal.record(script)
    script.write_text(original)  # restored before solve ended
    journal.record(script)
    findings = integrity(replace(context, journal=tmp_path / "journal"))
    [flag] = by_severity(findings, "flag")
    assert list(flag.evidence["files"]) == ["evaluate.py"]  # type: ignore[call-overload]
