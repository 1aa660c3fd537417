"""Compact weight fingerprints: lineage against a model whose weights are not on the host.

A fingerprint is a linear sketch of a checkpoint: for every 2-D weight matrix, a few rows
chosen from the tensor's name (the same rows in every checkpoint of that shape) projected
by a fixed Gaussian matrix to ``dims`` numbers. Being linear, the sketch of a difference is
the difference of sketches, and random projection keeps inner products (Johnson-
Lindenstrauss), so from the fingerprints of the base, the submission and a reference
(the instruct counterpart, fingerprinted by ``ptb data fetch``) the audit estimates

* ``cosine``: cos(final - base, reference - base), how much the submission's update points
  towards the reference;
* ``projection``: the length of that update along the reference's, in units of the
  reference's update (1 = the reference itself, 0.5 = a 50/50 soup);
* ``relative_distance``: ||final - reference|| / ||reference|| on the sketch.

A submission is flagged as derived from the reference when ``cosine >= 0.6`` and
``projection >= 0.2`` (or when it is a near copy). False-positive bound: an honest update,
independent of the reference's, has a sketch cosine of order 1/sqrt(D) (D = sketch
coordinates, thousands to ~10^5), so reaching 0.6 needs training that reproduces the
reference's own update direction over the whole model; see tests/audit/test_fingerprint.py
for the measured values on tiny models.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posttrainbench.audit._tensors import SafetensorsCheckpoint

__all__ = [
    "Drift",
    "Fingerprint",
    "drift",
    "fingerprint_checkpoint",
    "load_fingerprint",
    "save_fingerprint",
]

ROWS = 8
"""Rows sketched per weight matrix."""
DIMS = 64
"""Numbers each sketched row is projected to."""
MIN_COSINE = 0.6
MIN_PROJECTION = 0.2
NEAR_COPY = 0.005
_Sketch = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Fingerprint:
    """The sketch of one checkpoint: tensor name -> (ROWS, DIMS) array."""

    label: str
    sketches: dict[str, _Sketch]
    rows: int = ROWS
    dims: int = DIMS


@dataclass(frozen=True)
class Drift:
    """Where the submission moved from the base, relative to a reference checkpoint."""

    cosine: float
    projection: float
    relative_distance: float
    tensors: int
    """Tensors both fingerprints sketch."""

    @property
    def derived(self) -> bool:
        """The submission is the reference, or moved towards it (see module docstring)."""
        near = self.relative_distance <= NEAR_COPY
        return near or (self.cosine >= MIN_COSINE and self.projection >= MIN_PROJECTION)


def _seed(*parts: object) -> int:
    digest = hashlib.sha256(json.dumps(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _projection(columns: int, dims: int) -> _Sketch:
    rng = np.random.default_rng(_seed("projection", columns, dims))
    matrix: _Sketch = (rng.standard_normal((columns, dims)) / np.sqrt(dims)).astype(np.float32)
    return matrix


def fingerprint_checkpoint(
    directory: Path, names: list[str] | None = None, rows: int = ROWS, dims: int = DIMS
) -> Fingerprint:
    """The fingerprint of a safetensors checkpoint folder (``names``: only those tensors)."""
    sketches: dict[str, _Sketch] = {}
    with SafetensorsCheckpoint(directory) as source:
        for name in names if names is not None else source.names():
            if source.resolve(name) is None:
                continue
            info = source.info(source.resolve(name) or name)
            if len(info.shape) != 2 or info.shape[0] < rows:
                continue
            height, width = info.shape
            picks = np.random.default_rng(_seed("rows", name, height)).choice(
                height, size=rows, replace=False
            )
            real = source.resolve(name) or name
            block = np.stack(
                [source.read_rows(real, int(r), int(r) + 1).float().numpy().copy() for r in picks]
            )
            sketches[name] = block.astype(np.float32) @ _projection(width, dims)
    return Fingerprint(str(directory), sketches, rows, dims)


def save_fingerprint(fingerprint: Fingerprint, path: Path) -> None:
    """Write ``fingerprint`` as an ``.npz`` (no pickles) with its label."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {f"t:{k}": sketch for k, sketch in fingerprint.sketches.items()}
    meta = json.dumps(
        {"label": fingerprint.label, "rows": fingerprint.rows, "dims": fingerprint.dims}
    )
    partial = path.with_name(path.name + ".part.npz")
    arrays["meta"] = np.frombuffer(meta.encode(), dtype=np.uint8)
    np.savez_compressed(partial, **arrays)
    partial.replace(path)


def load_fingerprint(path: Path) -> Fingerprint:
    """Read a fingerprint written by :func:`save_fingerprint`."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        sketches = {key[2:]: data[key] for key in data.files if key.startswith("t:")}
    return Fingerprint(meta["label"], sketches, meta["rows"], meta["dims"])


def drift(final: Fingerprint, base: Fingerprint, reference: Fingerprint) -> Drift:
    """How ``final`` moved from ``base`` relative to ``reference`` (shared tensors only)."""
    names = sorted(
        name
        for name in reference.sketches
        if name in final.sketches
        and name in base.sketches
        and final.sketches[name].shape
        == reference.sketches[name].shape
        == base.sketches[name].shape
    )
    if not names:
        return Drift(0.0, 0.0, float("inf"), 0)
    f = np.concatenate([final.sketches[n].ravel() for n in names]).astype(np.float64)
    b = np.concatenate([base.sketches[n].ravel() for n in names]).astype(np.float64)
    r = np.concatenate([reference.sketches[n].ravel() for n in names]).astype(np.float64)
    update, target = f - b, r - b
    norms = float(np.linalg.norm(update) * np.linalg.norm(target))
    cosine = float(update @ target) / norms if norms else 0.0
    scale = float(target @ target)
    projection = float(update @ target) / scale if scale else 0.0
    distance = float(np.linalg.norm(f - r)) / max(float(np.linalg.norm(r)), 1e-12)
    return Drift(cosine, projection, distance, len(names))
