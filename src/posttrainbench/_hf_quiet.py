"""Keep transformers' own chatter out of the harness's output.

Two kinds of output are dropped in the harness's processes (``ptb``, the evaluation
process, the reference recipe):

- transformers' progress bars (``Loading weights``, ``Writing model shards``): the
  harness reports the progress of its long work itself (:mod:`posttrainbench.progress`);
- its warning that a model's generation config sets sampling flags without sampling
  (``The following generation flags are not valid and may be ignored: ['temperature']``).
  The toy models declare ``temperature: 0.0`` on purpose (vLLM and the paper protocol read
  it as "greedy"), and the harness never decodes with a model's own generation config: it
  pins its own (:mod:`posttrainbench.evaluation.engine`). The declaration stays in the
  file; only the warning about it goes.
"""

from __future__ import annotations

import functools
import logging

__all__ = ["quiet_transformers"]

_SAMPLING_FLAGS_WARNING = "The following generation flags are not valid and may be ignored"
_GENERATION_LOGGER = "transformers.generation.configuration_utils"


def _keep(record: logging.LogRecord) -> bool:
    """False for transformers' warning about a generation config's sampling flags."""
    return not record.getMessage().startswith(_SAMPLING_FLAGS_WARNING)


@functools.cache
def quiet_transformers() -> None:
    """Drop transformers' progress bars and its sampling-flags warning (once per process)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.get_logger(_GENERATION_LOGGER).addFilter(_keep)
