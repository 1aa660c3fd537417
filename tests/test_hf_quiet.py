"""transformers' progress bars and its sampling-flags warning stay out of the harness's output."""

from __future__ import annotations

import logging

from posttrainbench._hf_quiet import quiet_transformers


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_the_sampling_flags_warning_is_dropped_and_others_kept() -> None:
    from transformers.utils import logging as hf_logging

    quiet_transformers()
    logger = hf_logging.get_logger("transformers.generation.configuration_utils")
    collect = _Collect()
    logger.addHandler(collect)
    try:
        logger.warning(
            "The following generation flags are not valid and may be ignored: ['temperature']."
        )
        logger.warning("another warning")
    finally:
        logger.removeHandler(collect)
    assert collect.messages == ["another warning"]
    assert not hf_logging.is_progress_bar_enabled()
