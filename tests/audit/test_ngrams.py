"""Normalisation and the vectorised n-gram hashing, checked against plain Python."""

from __future__ import annotations

import random

import numpy as np
import pytest

from posttrainbench.audit._ngrams import GramSet, chunks, normalise, words


def tokens(text: str) -> list[str]:
    return normalise(text.encode("utf-8")).decode("utf-8").split()


@pytest.mark.parametrize(
    ("variant", "original"),
    [
        ("She paid $1,234,567 for it.", "she paid 1234567 for it"),
        ("ＭＩＡ has ２ apples", "mia has 2 apples"),  # NFKC: full-width letters and digits
        ("MIA   has\t2\n\napples!!!", "mia has 2 apples"),
        ('{"q": "Mia has\\n2 \\"apples\\""}', "q mia has 2 apples"),  # JSON escapes
        ('"Caf\\u00e9 au lait"', "café au lait"),
        ("Straße", "strasse"),  # case folding
    ],
)
def test_normalised_variants_tokenise_alike(variant: str, original: str) -> None:
    assert tokens(variant) == original.split()


def test_commas_that_are_not_thousands_separators_split_words() -> None:
    assert tokens("1,2345 and 12,34 and x,123 and [1,2,3]") == (
        "1 2345 and 12 34 and x 123 and 1 2 3".split()
    )


def test_word_hashes_identify_words_of_any_length() -> None:
    text = "a ab abcdefgh abcdefghi abcdefghijklmnopq abcdefghijklmnopr a"
    seq = words(normalise(text.encode()))
    grams = seq.grams(1)
    assert len(seq) == 7
    assert grams[0] == grams[6]
    assert len(set(grams.tolist())) == 6  # long words differing in the 17th byte differ


def test_membership_matches_a_python_set_of_word_tuples() -> None:
    rng = random.Random(1)
    vocab = [f"w{k}" for k in range(30)] + ["x" * 12, "y" * 20, "7", "1,000"]
    indexed = [" ".join(rng.choices(vocab, k=40)) for _ in range(20)]
    query = " ".join([*rng.choices(vocab, k=10_000), indexed[3], *rng.choices(vocab, k=10_000)])
    for n in (3, 5):
        reference = {
            tuple(tokens(text)[i : i + n])
            for text in indexed
            for i in range(len(tokens(text)) - n + 1)
        }
        gram_set = GramSet(np.concatenate([words(normalise(t.encode())).grams(n) for t in indexed]))
        query_tokens = tokens(query)
        expected = [
            tuple(query_tokens[i : i + n]) in reference for i in range(len(query_tokens) - n + 1)
        ]
        found = gram_set.contains(words(normalise(query.encode())).grams(n))
        assert found.tolist() == expected
        assert any(expected)  # the check is not vacuous


def test_chunks_overlap_so_no_ngram_is_lost() -> None:
    rng = random.Random(2)
    text = " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) + str(k) for k in range(40_000))
    data = text.encode()
    whole = set(words(normalise(data)).grams(6).tolist())
    pieces: set[int] = set()
    for piece in chunks(data, size=16_384):
        pieces |= set(words(normalise(piece)).grams(6).tolist())
    assert whole <= pieces
