"""Sparse n-gram vectors and the inverted index over examples."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from intents.features import NearestExamples, Vectorizer, ngrams


def test_latin_words_give_words_bigrams_and_character_grams() -> None:
    grams = ngrams("big zone")
    assert {"w:big", "w:zone", "b:big zone", "c: bi", "c:big ", "c:zone "} <= set(grams)


def test_chinese_gives_character_one_to_three_grams() -> None:
    assert {"h:临", "h:临港", "h:临港新"} <= set(ngrams("临港新"))
    assert not any(g.startswith("w:") for g in ngrams("临港新"))


def test_vectors_have_unit_length_and_drop_unknown_grams() -> None:
    vectorizer, _ = Vectorizer.fit(["where is lingang", "how big is lingang"])
    vector = vectorizer.vector("how big is pudong")
    assert np.isclose(np.linalg.norm(vector.values), 1.0)
    assert vectorizer.vector("zzzz qqqq").empty


words = st.lists(st.sampled_from(["port", "tax", "chip", "visa", "lake", "fab"]), min_size=1)


@settings(max_examples=60, deadline=None)
@given(documents=st.lists(words.map(" ".join), min_size=1, max_size=8), query=words.map(" ".join))
def test_inverted_index_equals_brute_force_cosine(documents: list[str], query: str) -> None:
    vectorizer, vectors = Vectorizer.fit(documents)
    labels = sorted(i % 3 for i in range(len(documents)))
    nearest = NearestExamples(vectors, labels, vectorizer.size)
    q = vectorizer.vector(query)
    dense = np.zeros((len(vectors), vectorizer.size), np.float32)
    for row, v in enumerate(vectors):
        dense[row, v.indices] = v.values
    qd = np.zeros(vectorizer.size, np.float32)
    qd[q.indices] = q.values
    cosines = dense @ qd
    expected = [
        max(c for c, label in zip(cosines, labels, strict=True) if label == k) for k in set(labels)
    ]
    assert np.allclose(nearest.best(q)[sorted(set(labels))], expected, atol=1e-5)
