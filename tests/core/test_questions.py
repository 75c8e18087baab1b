"""Grouping misses: nearest head above the threshold, bounded work, meaning across languages."""

from __future__ import annotations

import numpy as np

from bot.core.questions import (
    MAX_QUESTION,
    CharacterGrams,
    assign,
    embed_questions,
    pairwise_quality,
    threshold_for,
    vector_bytes,
    vector_from,
)
from intents.multilingual import UseMultilingualEncoder

GRAMS = CharacterGrams()


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, np.float32)
    return vector / np.linalg.norm(vector)


def test_a_question_joins_the_nearest_head_above_the_threshold() -> None:
    heads = np.stack([unit(1, 0, 0), unit(0.8, 0.6, 0)])
    done = assign(np.stack([unit(0.7, 0.7, 0), unit(1, 0.05, 0)]), heads, 0.9)
    assert done.labels == (1, 0)
    assert done.new_heads == ()


def test_a_question_near_no_head_starts_a_group_that_later_ones_join() -> None:
    heads = np.stack([unit(1, 0, 0)])
    batch = np.stack([unit(0, 0, 1), unit(0, 1, 0), unit(0, 0.1, 1), unit(1, 0, 0.1)])
    done = assign(batch, heads, 0.9)
    assert done.labels == (1, 2, 1, 0)
    assert done.new_heads == (0, 1)


def test_without_heads_every_distinct_question_heads_its_own_group() -> None:
    batch = np.eye(4, dtype=np.float32)
    done = assign(batch, np.zeros((0, 4), np.float32), 0.5)
    assert done.labels == (0, 1, 2, 3)
    assert assign(batch[:0], batch, 0.5).labels == ()


def test_alike_wordings_are_near_and_other_questions_far_with_character_grams() -> None:
    texts = [
        "where can I buy bubble tea near the office",
        "Where can I get bubble tea near the office?",
        "can I bring my pet parrot to the meeting",
        "办公室附近哪里可以买奶茶",
        "办公室附近哪里能买到奶茶？",
    ]
    vectors = embed_questions(GRAMS, texts)
    cosines = vectors @ vectors.T
    limit = threshold_for(GRAMS)
    assert cosines[0, 1] >= limit
    assert cosines[3, 4] >= limit
    assert cosines[0, 2] < limit
    assert cosines[0, 3] < limit
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_only_the_first_characters_count() -> None:
    head = "q" * MAX_QUESTION
    a, b = embed_questions(GRAMS, [head + " tail one", head + " a completely different tail"])
    assert float(a @ b) > 0.999


def test_an_empty_question_is_a_zero_vector_not_an_error() -> None:
    [vector] = embed_questions(GRAMS, [" "])
    assert not vector.any()


def test_an_english_and_a_chinese_wording_meet_with_the_sentence_encoder(
    encoder: UseMultilingualEncoder,
) -> None:
    texts = [
        "How do I open a corporate bank account?",
        "如何开设公司银行账户？",
        "Can I bring my dog to the science park?",
    ]
    done = assign(embed_questions(encoder, texts), np.zeros((0, 512), np.float32), 0.55)
    assert done.labels[0] == done.labels[1]
    assert done.labels[2] != done.labels[0]
    assert threshold_for(encoder) == 0.55


def test_pairwise_quality_counts_pairs() -> None:
    # truth: a a b b; grouped: {0,1,2} {3}: pairs grouped 3, right 1; same-truth pairs 2, met 1
    assert pairwise_quality(["a", "a", "b", "b"], [0, 0, 0, 1]) == (1 / 3, 1 / 2)
    assert pairwise_quality(["a", "b"], [0, 1]) == (1.0, 1.0)


def test_a_stored_head_reads_back_to_three_decimals() -> None:
    vector = embed_questions(GRAMS, ["how big is lingang"])[0]
    assert np.allclose(vector_from(vector_bytes(vector)), vector, atol=1e-3)
