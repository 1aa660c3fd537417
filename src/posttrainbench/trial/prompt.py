"""Rendering of the agent's prompt and the harness-given task files (Jinja, StrictUndefined)."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

__all__ = ["render"]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("posttrainbench.trial", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **values: Any) -> str:
    """Render ``templates/<template>``; a missing value is an error, never an empty string."""
    return _environment().get_template(template).render(**values)


def hours_text(hours: float) -> str:
    """A budget in words: ``10 hours``, ``1 hour``, ``3 minutes``."""
    if hours >= 1:
        return f"{hours:g} hour" + ("" if hours == 1 else "s")
    minutes = round(hours * 60, 1)
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
