"""Contamination scan throughput: the numpy n-gram scanner vs a plain Python set of n-grams.

Run: HF_HUB_OFFLINE=1 /work/venv/bin/python benchmarks/contamination_throughput.py
     [--mb 200] [--naive-mb 20] [--extra-items 5000]

The index holds the union of the test sets of every registered benchmark that loads
offline, plus ``--extra-items`` generated GSM8K-sized items (question ~50 words, answer
~40 words) standing in for the benchmarks whose data is not cached here. The corpus is
``--mb`` MB of generated JSONL training text (word-problem sentences with grouped numbers)
with 50 test items planted in it. Both scanners run on one core in this process; the
naive one on the first ``--naive-mb`` MB only (it is slow), and both must find the
planted items there. Rates are MB per second of this process's CPU time (MB/s/core),
which a busy shared machine does not distort as it does wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
import unicodedata

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: numpy must not spread work over threads

from posttrainbench.audit import AuditSettings  # noqa: E402
from posttrainbench.audit._index import TestIndex, gram_length  # noqa: E402
from posttrainbench.benchmarks import BENCHMARKS, TestItem, get_benchmark  # noqa: E402

_WORDS = (
    "the a of and to in how many much each every more than less total remaining after "
    "before she he they buys sells gives gets has had bought sold apples books coins "
    "marbles dollars hours minutes pages crates boxes tickets students teachers friends "
    "week day month year store farm school train car bike price cost pay earn spend save "
    "twice half third double triple percent per left over altogether what is the answer"
).split()
_NAMES = "Mia Leo Ava Sam Zoe Max Emma Noah Lily Omar Nina Ben Ruth Ivan Sara Tom".split()


def sentence(rng: random.Random, words: int) -> str:
    parts = []
    for _ in range(words):
        roll = rng.random()
        if roll < 0.08:
            parts.append(f"{rng.randint(1, 99_999):,}")
        elif roll < 0.14:
            parts.append(rng.choice(_NAMES))
        else:
            parts.append(rng.choice(_WORDS))
    return " ".join(parts).capitalize() + "."


def test_items(extra: int, rng: random.Random) -> list[TestItem]:
    items: list[TestItem] = []
    for name in BENCHMARKS.names():
        try:
            items += get_benchmark(name).test_items()
        except Exception as error:  # noqa: BLE001 - a benchmark without cached data
            print(f"  (skipping {name}: {type(error).__name__})")
    for k in range(extra):
        question = " ".join(sentence(rng, rng.randint(10, 16)) for _ in range(4))
        answer = " ".join(sentence(rng, rng.randint(8, 14)) for _ in range(3))
        items.append(TestItem(f"gen-{k}", question, answer))
    return items


def corpus(megabytes: int, planted: list[TestItem], rng: random.Random) -> bytes:
    pool = [
        json.dumps({"question": sentence(rng, rng.randint(25, 60)), "answer": sentence(rng, 30)})
        for _ in range(20_000)
    ]
    lines: list[str] = []
    size, target = 0, megabytes * 1_000_000
    while size < target:
        batch = rng.choices(pool, k=10_000)
        lines += batch
        size += sum(len(line) + 1 for line in batch)
    step = max(1, len(lines) // (len(planted) + 1))
    for k, item in enumerate(planted, start=1):
        lines.insert(k * step, json.dumps({"question": item.question, "answer": item.answer}))
    return ("\n".join(lines) + "\n").encode("utf-8")


_ESCAPES = re.compile(r"\\[ntr\"']")
_GROUPED = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_WORD = re.compile(r"[^\W_]+")


def naive_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", _ESCAPES.sub("  ", text)).casefold()
    return _WORD.findall(_GROUPED.sub("", text))


class NaiveIndex:
    """The straightforward way: a Python set of word-tuple n-grams, looked up one by one."""

    def __init__(self, items: list[TestItem], settings: AuditSettings) -> None:
        self.grams: dict[tuple[str, ...], set[str]] = {}
        self.lengths: set[int] = set()
        for item in items:
            for text in (item.question, item.answer):
                words = naive_words(text)
                if len(words) < settings.min_item_tokens:
                    continue
                n = gram_length(len(words), settings)
                self.lengths.add(n)
                for i in range(len(words) - n + 1):
                    self.grams.setdefault(tuple(words[i : i + n]), set()).add(item.id)

    def scan(self, data: bytes, min_hits: int = 5) -> set[str]:
        hits: dict[str, int] = {}
        for line in data.decode("utf-8").splitlines():
            words = naive_words(line)
            for n in self.lengths:
                for i in range(len(words) - n + 1):
                    for item_id in self.grams.get(tuple(words[i : i + n]), ()):
                        hits[item_id] = hits.get(item_id, 0) + 1
        return {item_id for item_id, count in hits.items() if count >= min_hits}


def fast_scan(index: TestIndex, data: bytes) -> set[str]:
    scanner = index.scanner()
    block = 1 << 24
    for start in range(0, len(data), block):
        scanner.feed(data[start : start + block])
    return {
        index.texts[k].item_id
        for k, overlap in scanner.overlaps().items()
        if overlap >= index.texts[k].min_overlap
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--naive-mb", type=int, default=20)
    parser.add_argument("--extra-items", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    settings = AuditSettings()

    items = test_items(args.extra_items, rng)
    started = time.process_time()
    index = TestIndex(items, [], settings)
    print(
        f"index: {len(items)} test items, {len(index.texts)} texts "
        f"in {time.process_time() - started:.1f} s"
    )
    planted = rng.sample(items, 50)
    data = corpus(args.mb, planted, rng)
    megabytes = len(data) / 1e6
    print(f"corpus: {megabytes:.0f} MB of JSONL, 50 test items planted")

    fast_scan(index, data[:1_000_000])  # warm-up: numpy dispatch, power tables
    started = time.process_time()
    found = fast_scan(index, data)
    fast_s = time.process_time() - started
    fast_rate = megabytes / fast_s
    print(
        f"fast:  {fast_s:6.1f} s  {fast_rate:7.1f} MB/s/core  "
        f"found {len(found & {i.id for i in planted})}/50 planted, {len(found)} in all"
    )

    cut = data.rfind(b"\n", 0, args.naive_mb * 1_000_000) + 1
    naive_index = NaiveIndex(items, settings)
    started = time.process_time()
    naive_found = naive_index.scan(data[:cut])
    naive_s = time.process_time() - started
    naive_rate = cut / 1e6 / naive_s
    slice_found = fast_scan(index, data[:cut])
    in_slice = {
        i.id for i in planted if 0 <= data.find(json.dumps(i.question)[1:60].encode()) < cut
    }
    print(
        f"naive: {naive_s:6.1f} s  {naive_rate:7.1f} MB/s/core  on the first {cut / 1e6:.0f} MB "
        f"(of the {len(in_slice)} planted there, fast found {len(slice_found & in_slice)}, "
        f"naive {len(naive_found & in_slice)})"
    )
    print(f"ratio: {fast_rate / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
