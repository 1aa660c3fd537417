"""The lineage detector on tiny models: honest submissions stay clean, each cheat is flagged."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import threading
from pathlib import Path
from typing import cast

import pytest

from posttrainbench.audit import Finding
from posttrainbench.audit._compare import compare_sources
from posttrainbench.audit._tensors import SafetensorsCheckpoint
from posttrainbench.audit.lineage import (
    compare_checkpoints,
    find_candidate_checkpoints,
    lineage_findings,
)
from posttrainbench.errors import UserError
from posttrainbench.testing import LineageScenarios, build_lineage_scenarios
from posttrainbench.testing.lineage_scenarios import fine_tune_lora

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> LineageScenarios:
    return build_lineage_scenarios(tmp_path_factory.mktemp("lineage"))


def flags(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == "flag"]


def problems(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity != "info"]


def save_variant(source: Path, out: Path, **save_kwargs: object) -> Path:
    """Re-save a checkpoint with transformers (another dtype, shards, untied head...)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = save_kwargs.pop("dtype", torch.float32)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    model.save_pretrained(out, **save_kwargs)
    return out


# --- honest submissions -------------------------------------------------------------


def test_honest_fine_tune_is_clean_with_distances_as_evidence(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    base_copy = shutil.copytree(scenarios.base, tmp_path / "base-copy")
    candidates = [scenarios.instruct, scenarios.other_init, base_copy]
    findings = lineage_findings(scenarios.honest, scenarios.base, candidates)

    assert problems(findings) == []
    (info,) = findings
    assert info.detector == "lineage"
    distance = float(cast(float, info.evidence["matrix_relative_distance_to_base"]))
    assert 0 < distance < 0.1
    assert info.evidence["tensors_compared"] == len(SafetensorsCheckpoint(scenarios.base).names())


def test_unchanged_base_is_clean(scenarios: LineageScenarios) -> None:
    findings = lineage_findings(scenarios.base, scenarios.base, [scenarios.instruct])
    assert problems(findings) == []
    assert "unchanged" in findings[0].message


def test_honest_lora_adapter_is_clean(scenarios: LineageScenarios, tmp_path: Path) -> None:
    adapter = fine_tune_lora(scenarios.base, tmp_path / "adapter", steps=20)
    findings = lineage_findings(adapter, scenarios.base, [scenarios.instruct])
    assert problems(findings) == []
    assert float(cast(float, findings[0].evidence["matrix_relative_distance_to_base"])) > 0


# --- cheats -------------------------------------------------------------------------


def test_copy_of_instruct_is_flagged_as_exact_copy(scenarios: LineageScenarios) -> None:
    (flag,) = flags(lineage_findings(scenarios.instruct_copy, scenarios.base, [scenarios.instruct]))
    assert "exact copy" in flag.message
    assert flag.evidence["candidate"] == str(scenarios.instruct)
    assert flag.evidence["matrix_relative_distance_to_candidate"] == 0
    assert flag.evidence["identical_parameter_fraction_with_candidate"] == 1


def test_instruct_in_bf16_is_a_near_copy(scenarios: LineageScenarios, tmp_path: Path) -> None:
    import torch

    bf16 = save_variant(scenarios.instruct, tmp_path / "bf16", dtype=torch.bfloat16)
    (flag,) = flags(lineage_findings(bf16, scenarios.base, [scenarios.instruct]))
    assert "near copy" in flag.message
    assert 0 < float(cast(float, flag.evidence["matrix_relative_distance_to_candidate"])) < 0.005


def test_fine_tuned_instruct_is_flagged_as_derived(scenarios: LineageScenarios) -> None:
    findings = lineage_findings(
        scenarios.instruct_finetuned, scenarios.base, [scenarios.other_init, scenarios.instruct]
    )
    (flag,) = flags(findings)
    assert "derived from" in flag.message
    assert flag.evidence["candidate"] == str(scenarios.instruct)
    to_candidate = float(cast(float, flag.evidence["matrix_relative_distance_to_candidate"]))
    to_base = float(cast(float, flag.evidence["matrix_relative_distance_to_base"]))
    assert to_candidate < 0.5 * to_base
    assert float(cast(float, flag.evidence["parameter_fraction_closer_to_candidate"])) > 0.9


def test_instruct_layer_grafted_onto_the_base_is_flagged(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    from safetensors.torch import load_file, save_file

    grafted = shutil.copytree(scenarios.honest, tmp_path / "grafted")
    tensors = load_file(grafted / "model.safetensors")
    instruct = load_file(scenarios.instruct / "model.safetensors")
    for name in tensors:
        if name.startswith("model.layers.1."):
            tensors[name] = instruct[name]
    save_file(tensors, grafted / "model.safetensors")

    (flag,) = flags(lineage_findings(grafted, scenarios.base, [scenarios.instruct]))
    assert "derived from" in flag.message
    fraction = float(cast(float, flag.evidence["parameter_fraction_closer_to_candidate"]))
    assert 0.25 <= fraction < 0.6


def test_other_random_init_is_not_a_fine_tune(scenarios: LineageScenarios) -> None:
    (flag,) = flags(lineage_findings(scenarios.other_init, scenarios.base))
    assert "not a fine-tune" in flag.message
    assert float(cast(float, flag.evidence["matrix_relative_distance_to_base"])) > 1.0


def test_added_layer_is_an_architecture_change(scenarios: LineageScenarios) -> None:
    (flag,) = flags(lineage_findings(scenarios.architecture_change, scenarios.base))
    assert "architecture differs" in flag.message
    added = flag.evidence["only_in_final_model"]
    assert isinstance(added, list) and len(added) == 11
    assert all(str(name).startswith("model.layers.2.") for name in added)


def test_resized_vocabulary_is_a_shape_mismatch(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(scenarios.base)
    model.resize_token_embeddings(model.config.vocab_size + 8)
    model.save_pretrained(tmp_path / "resized")
    (flag,) = flags(lineage_findings(tmp_path / "resized", scenarios.base))
    assert flag.evidence["shape_mismatches"] == [
        "model.embed_tokens.weight: [328, 64] vs base [320, 64]"
    ]


def test_adapter_declaring_the_instruct_model_as_base_is_flagged(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    adapter = fine_tune_lora(
        scenarios.instruct, tmp_path / "adapter", steps=5, base_reference="Qwen/Qwen3-1.7B"
    )
    (flag,) = flags(lineage_findings(adapter, scenarios.base, [scenarios.instruct]))
    assert "Qwen/Qwen3-1.7B" in flag.message
    assert flag.evidence["base_model_name_or_path"] == "'Qwen/Qwen3-1.7B'"


# --- reading checkpoints ------------------------------------------------------------


def test_sharded_and_untied_saves_compare_as_the_same_weights(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    sharded = save_variant(scenarios.honest, tmp_path / "sharded", max_shard_size="100KB")
    assert (sharded / "model.safetensors.index.json").is_file()
    assert len(list(sharded.glob("*.safetensors"))) > 1
    assert compare_checkpoints(sharded, scenarios.honest).identical

    # An explicitly stored head equal to the embeddings matches the tied base exactly.
    untied = shutil.copytree(scenarios.base, tmp_path / "untied")
    _store_untied_head(untied / "model.safetensors")
    comparison = compare_checkpoints(untied, scenarios.base)
    assert comparison.architecture_matches
    assert "lm_head.weight" in {t.name for t in comparison.tensors}
    assert comparison.identical


def _store_untied_head(file: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(file)
    tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"].clone()
    save_file(tensors, file)


def test_block_streaming_matches_whole_tensor_arithmetic(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    import torch
    from safetensors.torch import load_file

    bf16 = save_variant(scenarios.honest, tmp_path / "bf16", dtype=torch.bfloat16)
    with SafetensorsCheckpoint(bf16) as a, SafetensorsCheckpoint(scenarios.base) as b:
        (blocks,) = compare_sources(
            a, [b], target_label="a", reference_labels=["b"], block_elements=100
        )
    first, second = (
        load_file(bf16 / "model.safetensors"),
        load_file(scenarios.base / "model.safetensors"),
    )
    assert len(blocks.tensors) == len(second)
    for tensor in blocks.tensors:
        x, y = first[tensor.name].float(), second[tensor.name].float()
        assert math.isclose(tensor.distance, float((x - y).norm()), rel_tol=1e-4, abs_tol=1e-6)
        assert math.isclose(tensor.reference_norm, float(y.norm()), rel_tol=1e-5)


def test_threaded_pass_equals_the_one_thread_pass(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    """Threads share the files but not the buffers; sums are added in task order."""
    import torch
    from safetensors.torch import load_file

    bf16 = save_variant(scenarios.honest, tmp_path / "bf16", dtype=torch.bfloat16)
    results = []
    for workers in (1, 4):
        with (
            SafetensorsCheckpoint(bf16) as a,
            SafetensorsCheckpoint(scenarios.base) as b,
            SafetensorsCheckpoint(scenarios.instruct) as c,
        ):
            results.append(
                compare_sources(
                    a,
                    [b, c],
                    target_label="a",
                    reference_labels=["b", "c"],
                    block_elements=64,  # many tasks per tensor, run out of order
                    workers=workers,
                )
            )
    assert results[0] == results[1]
    first, base = (
        load_file(bf16 / "model.safetensors"),
        load_file(scenarios.base / "model.safetensors"),
    )
    for tensor in results[1][0].tensors:
        x, y = first[tensor.name].float(), base[tensor.name].float()
        assert math.isclose(tensor.distance, float((x - y).norm()), rel_tol=1e-4, abs_tol=1e-6)


def test_on_the_fly_merge_equals_peft_merge(scenarios: LineageScenarios, tmp_path: Path) -> None:
    from peft import PeftModel
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM

    adapter = fine_tune_lora(
        scenarios.base,
        tmp_path / "adapter",
        steps=10,
        target_modules=("q_proj", "down_proj", "embed_tokens"),
    )
    base_model = AutoModelForCausalLM.from_pretrained(scenarios.base)
    merged = PeftModel.from_pretrained(base_model, adapter).merge_and_unload()
    # PEFT's own save of a merged tied-embedding model is unreliable (it warns so), so its
    # in-memory merge is written as is; the head is tied, hence left out as in the base.
    state = {k: v.detach().contiguous() for k, v in merged.state_dict().items()}
    state.pop("lm_head.weight")
    (tmp_path / "merged").mkdir()
    save_file(state, tmp_path / "merged" / "model.safetensors")

    comparison = compare_checkpoints(adapter, tmp_path / "merged", adapter_base=scenarios.base)
    assert comparison.architecture_matches
    assert comparison.max_relative_distance < 1e-5
    changed = compare_checkpoints(adapter, scenarios.base, adapter_base=scenarios.base)
    assert {"model.embed_tokens.weight", "model.layers.0.mlp.down_proj.weight"} <= {
        t.name for t in changed.tensors if t.distance > 0
    }


# --- adversarial files --------------------------------------------------------------


def test_unreadable_submissions_are_flagged_unverifiable(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    cases: dict[str, Path] = {}
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}})
    cases["offsets past the end"] = _weights(tmp_path / "past-end", header.encode(), b"\0" * 16)
    cases["huge header"] = _weights(tmp_path / "huge", b"{}", b"", header_size=2**60)
    cases["not safetensors"] = _weights(tmp_path / "pickle", b"", b"", raw=b"PK\x03\x04zip")
    escape = tmp_path / "escape"
    escape.mkdir()
    index = {"weight_map": {"w": "../../etc/passwd"}}
    (escape / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")
    cases["index escaping the folder"] = escape
    cases["no weights"] = tmp_path / "empty"
    cases["no weights"].mkdir()
    for case, final_model in cases.items():
        found = flags(lineage_findings(final_model, scenarios.base))
        assert len(found) == 1 and "cannot be verified" in found[0].message, case


def test_fifo_weights_do_not_hang_the_audit(scenarios: LineageScenarios, tmp_path: Path) -> None:
    final_model = tmp_path / "fifo"
    final_model.mkdir()
    os.mkfifo(final_model / "model.safetensors")
    result: list[list[Finding]] = []
    worker = threading.Thread(
        target=lambda: result.append(lineage_findings(final_model, scenarios.base)), daemon=True
    )
    worker.start()
    worker.join(timeout=60)
    assert result, "the lineage check blocked on a FIFO"
    assert "cannot be verified" in flags(result[0])[0].message


def _weights(
    directory: Path, header: bytes, data: bytes, *, header_size: int | None = None, raw: bytes = b""
) -> Path:
    directory.mkdir()
    size = len(header) if header_size is None else header_size
    content = raw or struct.pack("<Q", size) + header + data
    (directory / "model.safetensors").write_bytes(content)
    return directory


def test_unreadable_base_is_a_user_error(scenarios: LineageScenarios, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="base model"):
        lineage_findings(scenarios.honest, tmp_path / "missing")


def test_unreadable_candidate_is_skipped_with_a_warning(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    broken = _weights(tmp_path / "broken", b"", b"", raw=b"garbage!")
    findings = lineage_findings(scenarios.honest, scenarios.base, [broken])
    assert flags(findings) == []
    assert [f.evidence["candidate"] for f in findings if f.severity == "warning"] == [str(broken)]


# --- finding candidates -------------------------------------------------------------


def test_candidates_are_downloaded_checkpoints_only(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    blobs = workspace / ".cache/huggingface/hub/models--Qwen--Qwen3-1.7B/blobs"
    snapshot = workspace / ".cache/huggingface/hub/models--Qwen--Qwen3-1.7B/snapshots/abc123"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for file in scenarios.instruct.iterdir():  # the hub cache stores symlinks to blobs
        shutil.copy2(file, blobs / file.name)
        (snapshot / file.name).symlink_to(blobs / file.name)
    local_dir = shutil.copytree(scenarios.instruct, workspace / "downloaded")
    (local_dir / ".cache/huggingface/download").mkdir(parents=True)
    own_checkpoint = shutil.copytree(scenarios.honest, workspace / "out/checkpoint-30")
    final_model = shutil.copytree(scenarios.honest, workspace / "final_model")

    found = find_candidate_checkpoints([workspace], exclude=[final_model])
    assert sorted(found) == sorted([snapshot, local_dir])
    every = find_candidate_checkpoints([workspace], exclude=[final_model], include_local=True)
    assert own_checkpoint in every and final_model not in every

    # The agent's own intermediate checkpoint is not a candidate, so no false flag; the
    # instruct snapshot found in its cache is, and catches a copy.
    assert flags(lineage_findings(final_model, scenarios.base, found)) == []
    copied = shutil.copytree(scenarios.instruct, tmp_path / "copied")
    copy_flags = flags(lineage_findings(copied, scenarios.base, found))
    assert {flag.evidence["candidate"] for flag in copy_flags} == {str(snapshot), str(local_dir)}
    assert all("exact copy" in flag.message for flag in copy_flags)


def test_adapter_with_a_regex_pattern_is_refused_not_run(
    scenarios: LineageScenarios, tmp_path: Path
) -> None:
    adapter = fine_tune_lora(scenarios.base, tmp_path / "adapter", steps=2)
    config_path = adapter / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["alpha_pattern"] = {"(a+)+$": 4}  # catastrophic backtracking if ever run
    config_path.write_text(json.dumps(config), encoding="utf-8")
    (flag,) = flags(lineage_findings(adapter, scenarios.base))
    assert "cannot be verified" in flag.message
    assert "not a plain module name" in str(flag.evidence["error"])


def test_cli_exits_1_on_a_flag_and_prints_json_findings(scenarios: LineageScenarios) -> None:
    from typer.testing import CliRunner

    from posttrainbench.cli import app

    runner = CliRunner()
    honest = runner.invoke(
        app, ["lineage", str(scenarios.honest), str(scenarios.base), "-c", str(scenarios.instruct)]
    )
    assert honest.exit_code == 0, honest.output
    copied = runner.invoke(
        app,
        ["lineage", str(scenarios.instruct_copy), str(scenarios.base)]
        + ["--candidate", str(scenarios.instruct), "--json"],
    )
    assert copied.exit_code == 1
    findings = json.loads(copied.stdout)
    assert [f["severity"] for f in findings] == ["info", "flag"]
    assert findings[1]["evidence"]["candidate"] == str(scenarios.instruct)
