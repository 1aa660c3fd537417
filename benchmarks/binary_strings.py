"""Printable-string extraction from binaries: runs of NULs skipped vs the passes over all bytes.

Run: python benchmarks/binary_strings.py [--mb 64]

The audit reads non-text files (binaries, padded files, sparse files an agent may create)
through ``audit._decode.printable_strings``, up to ``max_file_bytes`` (2 GiB) per file.
Three buffers of ``--mb`` MiB: all zeros (a sparse or zero-filled file), zeros with a
UTF-8/UTF-16/UTF-32 string every 64 KiB (a padded binary), and random bytes (compressed or
encrypted data, few NULs). Each is scanned by ``printable_strings`` and by the baseline, the
same four regex passes over the whole buffer (the implementation before the skip), in this
process; both must return the same strings. Figures are CPU seconds of this process, and
the ratio baseline / current.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable

from posttrainbench.audit._decode import printable_strings

_PASSES = (
    (re.compile(rb"[\x20-\x7e\t\n\r]{6,}"), slice(None)),
    (re.compile(rb"(?:[\x20-\x7e]\x00\x00\x00){6,}"), slice(None, None, 4)),
    (re.compile(rb"(?:\x00\x00\x00[\x20-\x7e]){6,}"), slice(3, None, 4)),
    (re.compile(rb"(?:[\x20-\x7e]\x00){6,}"), slice(None, None, 2)),
)


def baseline(data: bytes) -> list[bytes]:
    """The four passes over every byte (wide passes only with many NULs, as before)."""
    found = [m.group() for m in _PASSES[0][0].finditer(data)]
    if data.count(0) > len(data) // 8:
        for pattern, step in _PASSES[1:]:
            found += [m.group()[step] for m in pattern.finditer(data)]
    return found


def buffers(mib: int) -> dict[str, bytes]:
    size = mib << 20
    text = "Leo has 15 shells. He loses 8. How many shells does Leo have now?"
    strings = text.encode() + text.encode("utf-16-le") + text.encode("utf-32-le")
    padded = bytearray(size)
    for at in range(0, size - len(strings), 1 << 16):
        padded[at : at + len(strings)] = strings
    return {
        "zeros": bytes(size),
        "padded binary": bytes(padded),
        "random bytes": random.Random(0).randbytes(size),
    }


def cpu(scan: Callable[[bytes], list[bytes]], data: bytes) -> tuple[float, list[bytes]]:
    start = time.process_time()
    found = scan(data)
    return time.process_time() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="MiB per buffer")
    args = parser.parse_args()
    rows = []
    for name, data in buffers(args.mb).items():
        current_s, current = cpu(lambda d: list(printable_strings(d)), data)
        baseline_s, expected = cpu(baseline, data)
        assert sorted(current) == sorted(expected), name
        rows.append(
            {
                "buffer": name,
                "mib": args.mb,
                "strings": len(current),
                "current_cpu_s": round(current_s, 3),
                "baseline_cpu_s": round(baseline_s, 3),
                "speedup": round(baseline_s / max(current_s, 1e-9), 1),
            }
        )
        print(
            f"{name:14} {args.mb} MiB: {current_s:7.3f} s  baseline {baseline_s:7.3f} s  "
            f"x{rows[-1]['speedup']}"
        )
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
