"""Per-tensor distances between one checkpoint and several references, in one pass.

The target is read once, block by block; each block is compared with the same rows of
every reference whose tensor has the same shape, so checking a submission against the
base and any number of candidates costs one read of the submission.

The pass is cut into tasks of a few consecutive blocks that a pool of threads runs (file
reads and torch kernels release the GIL, so one thread reads while another computes);
each task's sums are added in task order, so the result does not depend on the number of
threads or their timing.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from posttrainbench.audit._tensors import BLOCK_ELEMENTS, TensorSource, row_blocks

if TYPE_CHECKING:
    import torch

__all__ = ["Comparison", "ShapeMismatch", "TensorDistance", "compare_sources", "default_workers"]

TASK_BLOCKS = 16
"""Blocks per task of the threaded pass (16 blocks of 1M elements: 32 MB of bf16): enough
work that handing tasks out costs nothing, small enough that the largest tensor (a
150k-token embedding is ~400M elements) spreads over every thread."""
_MAX_WORKERS = 8


class TensorDistance(BaseModel):
    """Distance of one tensor of ``a`` from the same tensor of ``b``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    shape: list[int]
    distance: float
    """Euclidean norm of ``a - b`` over all elements (NaN if either holds NaN/inf)."""
    reference_norm: float
    """Euclidean norm of ``b``."""

    @property
    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def relative(self) -> float:
        """``||a - b|| / ||b||`` (0 when both are 0, infinite when only ``b`` is 0)."""
        if self.reference_norm > 0:
            return self.distance / self.reference_norm
        return 0.0 if self.distance == 0 else math.inf


class ShapeMismatch(BaseModel):
    """A tensor present in both checkpoints with different shapes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    shape_a: list[int]
    shape_b: list[int]


class Comparison(BaseModel):
    """How far checkpoint ``a`` is from checkpoint ``b``, tensor by tensor."""

    model_config = ConfigDict(extra="forbid")

    a: str
    """Path of the compared checkpoint."""
    b: str
    """Path of the reference checkpoint (distances are relative to its norms)."""
    tensors: list[TensorDistance] = Field(default_factory=list)
    """Tensors of equal shape in both, by name."""
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)
    shape_mismatches: list[ShapeMismatch] = Field(default_factory=list)

    @property
    def architecture_matches(self) -> bool:
        """Same tensor names with the same shapes (tied heads resolved)."""
        return not (self.only_in_a or self.only_in_b or self.shape_mismatches)

    @property
    def compared_parameters(self) -> int:
        """Elements compared."""
        return sum(tensor.numel for tensor in self.tensors)

    @property
    def non_finite(self) -> list[str]:
        """Tensors whose distance is NaN or infinite (NaN/inf weights)."""
        return [t.name for t in self.tensors if not math.isfinite(t.distance)]

    @property
    def identical(self) -> bool:
        """Same architecture and every value equal."""
        return self.architecture_matches and all(t.distance == 0 for t in self.tensors)

    @property
    def relative_distance(self) -> float:
        """Overall ``||a - b|| / ||b||`` over all compared tensors as one vector."""
        return _overall(self.tensors)

    @property
    def matrix_relative_distance(self) -> float:
        """Overall relative distance over the weight matrices (tensors of 2+ dimensions).

        Norm scales initialised to ones would otherwise dominate the norm of a small
        model and hide that its matrices are unrelated.
        """
        return _overall([t for t in self.tensors if len(t.shape) >= 2])

    @property
    def median_relative_distance(self) -> float:
        """Median of the per-tensor relative distances (0 with no tensor)."""
        values = [t.relative for t in self.tensors]
        return statistics.median(values) if values else 0.0

    @property
    def max_relative_distance(self) -> float:
        """Largest per-tensor relative distance (0 with no tensor)."""
        return max((t.relative for t in self.tensors), default=0.0)

    @property
    def identical_fraction(self) -> float:
        """Fraction of compared elements in tensors that are exactly equal."""
        total = self.compared_parameters
        same = sum(t.numel for t in self.tensors if t.distance == 0)
        return same / total if total else 0.0

    def farthest(self, count: int = 5) -> list[TensorDistance]:
        """The ``count`` tensors with the largest relative distance."""
        return sorted(self.tensors, key=lambda t: -t.relative)[:count]


def _overall(tensors: list[TensorDistance]) -> float:
    distance = math.sqrt(sum(t.distance**2 for t in tensors))
    norm = math.sqrt(sum(t.reference_norm**2 for t in tensors))
    if norm > 0:
        return distance / norm
    return 0.0 if distance == 0 else math.inf


@dataclass
class _Plan:
    """Which tensors of the target one reference can be compared on, and sums so far."""

    reference: TensorSource
    shared: set[str] = field(default_factory=set)
    only_in_target: list[str] = field(default_factory=list)
    only_in_reference: list[str] = field(default_factory=list)
    mismatches: list[ShapeMismatch] = field(default_factory=list)
    tensors: list[TensorDistance] = field(default_factory=list)


def compare_sources(
    target: TensorSource,
    references: Sequence[TensorSource],
    *,
    target_label: str,
    reference_labels: Sequence[str],
    block_elements: int = BLOCK_ELEMENTS,
    workers: int | None = None,
) -> list[Comparison]:
    """Compare ``target`` with each reference, reading ``target`` once.

    Args:
        target: The checkpoint compared (``a`` of each comparison).
        references: The checkpoints compared with (``b``); norms are theirs.
        target_label: Path or name recorded as ``a``.
        reference_labels: Paths or names recorded as ``b``, one per reference.
        block_elements: Elements read per block (the memory bound, per thread).
        workers: Threads of the pass (default :func:`default_workers`); one when a source
            does not support concurrent reads.

    Returns:
        One :class:`Comparison` per reference, in order, with ``a`` = the target.
    """
    plans = [_plan(target, reference) for reference in references]
    names = sorted(set().union(*(plan.shared for plan in plans))) if plans else []
    threads = workers or default_workers()
    if not all(source.concurrent_reads for source in (target, *references)):
        threads = 1
    totals = _squared_sums(target, plans, names, block_elements, threads)
    for name in names:
        shape = list(target.info(name).shape)
        active = [plans[i] for i, plan in enumerate(plans) if name in plan.shared]
        for plan, (diff_sq, norm_sq) in zip(active, totals[name], strict=True):
            plan.tensors.append(
                TensorDistance(
                    name=name,
                    shape=shape,
                    distance=math.sqrt(diff_sq),
                    reference_norm=math.sqrt(norm_sq),
                )
            )
    return [
        Comparison(
            a=target_label,
            b=label,
            tensors=plan.tensors,
            only_in_a=plan.only_in_target,
            only_in_b=plan.only_in_reference,
            shape_mismatches=plan.mismatches,
        )
        for plan, label in zip(plans, reference_labels, strict=True)
    ]


def _squared_sums(
    target: TensorSource,
    plans: list[_Plan],
    names: list[str],
    block_elements: int,
    threads: int,
) -> dict[str, list[list[float]]]:
    """Tensor name -> ``[||a - b||², ||b||²]`` per plan sharing it, summed in task order."""
    tasks = [
        _Task(name, blocks, tuple(i for i, plan in enumerate(plans) if name in plan.shared))
        for name in names
        for blocks in _task_blocks(target.info(name).shape, block_elements)
    ]
    totals: dict[str, list[list[float]]] = {}
    with _one_thread(), _mapper(threads) as mapper:
        results = mapper(lambda task: _task_sums(target, plans, task), tasks)
        for task, sums in zip(tasks, results, strict=True):
            total = totals.setdefault(task.name, [[0.0, 0.0] for _ in task.plans])
            for running, (diff_sq, norm_sq) in zip(total, sums, strict=True):
                running[0] += diff_sq
                running[1] += norm_sq
    return totals


def default_workers() -> int:
    """Threads of the distance pass: the CPUs this process may run on, at most 8."""
    return max(1, min(_MAX_WORKERS, len(os.sched_getaffinity(0))))


@dataclass(frozen=True)
class _Task:
    """Consecutive row blocks of one tensor, compared with the references in ``plans``."""

    name: str
    blocks: tuple[range, ...]
    plans: tuple[int, ...]
    """Indexes of the plans (references) that share this tensor."""


def _task_blocks(shape: tuple[int, ...], block_elements: int) -> Iterator[tuple[range, ...]]:
    blocks = list(row_blocks(shape, block_elements))
    for begin in range(0, len(blocks), TASK_BLOCKS):
        yield tuple(blocks[begin : begin + TASK_BLOCKS])


_Mapper = Callable[
    [Callable[[_Task], list[tuple[float, float]]], Iterable[_Task]],
    Iterator[list[tuple[float, float]]],
]


@contextlib.contextmanager
def _mapper(threads: int) -> Iterator[_Mapper]:
    """``map`` on this thread, or an ordered map over a pool of ``threads`` threads."""
    if threads <= 1:
        yield map
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="ptb-lineage")
    try:
        yield pool.map
    finally:
        # On an error (an unreadable shard) the queued tasks are dropped, not run.
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread for the duration (the setting is process-wide).

    These memory-bound ops on cache-sized blocks gain nothing from more threads, and on a
    shared CPU intra-op threads spinning for cores made the pass 8x slower (measured by
    ``benchmarks/lineage_speed.py --threads 2``).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _task_sums(target: TensorSource, plans: list[_Plan], task: _Task) -> list[tuple[float, float]]:
    """``(||a - b||², ||b||²)`` over the task's rows, for each of its references."""
    sums = [[0.0, 0.0] for _ in task.plans]
    for block in task.blocks:
        rows = target.read_rows(task.name, block.start, block.stop)
        for index, running in zip(task.plans, sums, strict=True):
            reference_rows = plans[index].reference.read_rows(task.name, block.start, block.stop)
            diff, norm = _block_norms(rows, reference_rows)
            running[0] += diff**2
            running[1] += norm**2
    return [(diff_sq, norm_sq) for diff_sq, norm_sq in sums]


def _block_norms(rows: torch.Tensor, reference_rows: torch.Tensor) -> tuple[float, float]:
    """``||rows - reference_rows||`` and ``||reference_rows||`` of one block.

    Two bf16 (or float32/64) blocks are compared in their own dtype: the difference of
    two floats is 0 only when they are equal, so exact copies stay exact, norms accumulate
    in float32 and only the block's result is rounded (0.4% for bf16, far below any
    threshold), and skipping the float32 copies makes the pass about 3x faster. Other
    dtypes (fp16 could overflow, float8 and integers lack arithmetic) go through float32.
    """
    import torch

    native = (torch.bfloat16, torch.float32, torch.float64)
    if rows.dtype != reference_rows.dtype or rows.dtype not in native:
        rows, reference_rows = rows.float(), reference_rows.float()
    norm = float(torch.linalg.vector_norm(reference_rows))
    if torch.equal(rows, reference_rows):  # frozen or copied rows: no difference to take
        return 0.0, norm
    return float(torch.linalg.vector_norm(rows - reference_rows)), norm


def _plan(target: TensorSource, reference: TensorSource) -> _Plan:
    plan = _Plan(reference)
    for name in sorted(set(target.names()) | set(reference.names())):
        in_target, in_reference = target.resolve(name), reference.resolve(name)
        if in_target is None:
            plan.only_in_reference.append(name)
        elif in_reference is None:
            plan.only_in_target.append(name)
        else:
            shape_a, shape_b = target.info(name).shape, reference.info(name).shape
            if shape_a == shape_b:
                plan.shared.add(name)
            else:
                plan.mismatches.append(
                    ShapeMismatch(name=name, shape_a=list(shape_a), shape_b=list(shape_b))
                )
    return plan
