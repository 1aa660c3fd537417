"""What an evaluation process imports, imported once by the evaluation zygote.

``posttrainbench.trial.eval_process`` forks each evaluation attempt from a process that
has imported these modules, so that an attempt starts in about a second instead of paying
10 s of imports. The list is a speed hint, not a contract: a module missing here is
imported by the attempt itself, and one that is not installed is skipped.
"""

from __future__ import annotations

from posttrainbench._warm import ML_STACK

__all__ = ["WARM_MODULES"]

WARM_MODULES = (
    *ML_STACK,
    "peft",
    "openai",
    "inspect_ai",
    "inspect_ai.agent._acp.server",
    "inspect_ai.model._openai",
    "inspect_ai.model._providers.hf",
    "posttrainbench.benchmarks",
    "posttrainbench.evaluation.final",
    "posttrainbench.evaluation.engine",
    "posttrainbench.evaluation.batched_hf",
)
"""The ML stack, inspect-ai and its ``hf``/OpenAI providers, the harness's evaluation."""
