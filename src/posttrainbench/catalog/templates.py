"""Chat templates owned by the harness, one per model family."""

from __future__ import annotations

from importlib import resources

from posttrainbench.catalog.models import ModelFamily

__all__ = ["chat_template", "template_files"]


def chat_template(family: ModelFamily) -> str:
    """The harness's chat template (Jinja source) for ``family``."""
    try:
        return (
            resources.files("posttrainbench.catalog")
            .joinpath(f"templates/{family.value}.jinja")
            .read_text(encoding="utf-8")
        )
    except FileNotFoundError as error:
        raise NotImplementedError(f"No chat template for family {family} yet") from error


def template_files() -> dict[str, str]:
    """All shipped templates by file name, for copying into an agent's task/templates/."""
    folder = resources.files("posttrainbench.catalog").joinpath("templates")
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".jinja")
    }
