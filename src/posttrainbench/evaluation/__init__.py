"""Final and agent-facing evaluation on inspect-ai, with pinned templates and sampling."""

from posttrainbench.evaluation.engine import EvaluationError, evaluate_model
from posttrainbench.evaluation.metrics import Metrics

__all__ = ["EvaluationError", "Metrics", "evaluate_model"]
