"""Base models, their families and the harness's chat templates."""

from posttrainbench.catalog.models import (
    CATALOG,
    BaseModelEntry,
    ModelFamily,
    ResolvedModel,
    family_of,
    resolve_model,
)
from posttrainbench.catalog.templates import chat_template, template_files

__all__ = [
    "CATALOG",
    "BaseModelEntry",
    "ModelFamily",
    "ResolvedModel",
    "chat_template",
    "family_of",
    "resolve_model",
    "template_files",
]
