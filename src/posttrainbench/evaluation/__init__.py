"""Final and agent-facing evaluation on inspect-ai, with pinned templates and sampling."""

from posttrainbench.evaluation.engine import EvaluationError, evaluate_model
from posttrainbench.evaluation.metrics import Metrics
from posttrainbench.evaluation.providers import Endpoint, Provider, select_provider
from posttrainbench.evaluation.vllm_server import VllmServer, VllmServerError, VllmSettings

__all__ = [
    "Endpoint",
    "EvaluationError",
    "Metrics",
    "Provider",
    "VllmServer",
    "VllmServerError",
    "VllmSettings",
    "evaluate_model",
    "select_provider",
]
