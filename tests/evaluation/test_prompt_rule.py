"""The agent is told that evaluation uses the base tokenizer, template and sampling."""

from __future__ import annotations

from posttrainbench.trial.prompt import render


def test_the_prompt_states_the_tokenizer_rule() -> None:
    text = render(
        "prompt.md.j2",
        model_name="m",
        model_path="/m",
        benchmark_title="B",
        default_limit=10,
        task_dir="/t",
        final_model="/f",
        workspace="/w",
        gpus=0,
        cpus=2,
        hours_text="1 hour",
        allowed_training_data_line="",
    )
    assert "base model's tokenizer" in text
    assert "only if you resized the embeddings" in text
    assert "generation_config.json are not used" in text
    # The submission-as-code refusals (pickle weights, custom code) are stated up front.
    assert "Weights must be safetensors files" in text
    assert "custom model code are never loaded" in text
