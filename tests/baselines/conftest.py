"""Fixtures of the baseline tests: a stand-in "instruct" model that answers 9 to anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def answering_model(base: Path, out: Path, answer: str = "9") -> Path:
    """A copy of ``base`` rewired to reply ``answer`` then end its turn, whatever it is asked.

    The layers' output projections are zeroed, so the last hidden state is the normalised
    embedding of the current token; the (untied) head then maps every token to ``answer``
    and ``answer`` to the end-of-turn token. It scores above the random base on arith
    (answers equal to ``answer``), like an instruct model would.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    shutil.copytree(base, out)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    answer_id = tokenizer.convert_tokens_to_ids(answer)
    end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert isinstance(answer_id, int) and answer_id != tokenizer.unk_token_id
    hidden = model.config.hidden_size
    to_answer, to_end = torch.zeros(hidden), torch.zeros(hidden)
    to_answer[0], to_end[1] = 1.0, 1.0
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed = model.model.embed_tokens.weight
        embed.copy_(to_answer.expand_as(embed))
        embed[answer_id] = to_end
        model.model.norm.weight.fill_(1.0)
        head = torch.zeros_like(embed)
        head[answer_id] = 50 * to_answer
        head[end_id] = 50 * to_end
    model.config.tie_word_embeddings = False
    model.lm_head = torch.nn.Linear(hidden, head.shape[0], bias=False)
    model.lm_head.weight = torch.nn.Parameter(head)
    model.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def instruct_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in instruct counterpart of ``tiny_model``."""
    return answering_model(tiny_model, tmp_path_factory.mktemp("instruct") / "tiny-instruct")
