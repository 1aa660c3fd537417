"""The LLM judge: one settings model and one client, below evaluation and audit.

Judge-scored benchmarks (Arena-Hard writing, HealthBench) and the audit's ``llm_judge``
detector reach the same OpenAI-compatible endpoint with the same settings, retries and
error type.
"""

from posttrainbench.judge.client import OpenAIJudge
from posttrainbench.judge.settings import JUDGE_KEY_VARS, JudgeError, JudgeSettings

__all__ = ["JUDGE_KEY_VARS", "JudgeError", "JudgeSettings", "OpenAIJudge"]
