"""The semantic path's model: the pinned wheel gives the vectors it gave when it was chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intents import multilingual
from intents.multilingual import UseMultilingualEncoder
from intents.semantic import SemanticUnavailable

GOLDEN = Path(__file__).parent / "golden"


def _sentences() -> list[str]:
    lines = (GOLDEN / "sentences.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line]


def test_golden_vectors_are_reproduced(encoder: UseMultilingualEncoder) -> None:
    stored = np.load(GOLDEN / "use-m3-vectors.npy")
    vectors = encoder.encode(_sentences())
    assert vectors.shape == stored.shape == (20, multilingual.DIMENSIONS)
    cosines = np.sum(vectors * stored, axis=1)
    assert cosines.min() > 0.9999, cosines


def test_vectors_are_unit_length(encoder: UseMultilingualEncoder) -> None:
    vectors = encoder.encode(["how big is lingang", "临港有多大", "x"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_each_english_sentence_is_nearest_to_its_chinese_translation(
    encoder: UseMultilingualEncoder,
) -> None:
    vectors = encoder.encode(_sentences())
    english, chinese = vectors[:10], vectors[10:]
    assert (english @ chinese.T).argmax(axis=1).tolist() == list(range(10))
    assert (chinese @ english.T).argmax(axis=1).tolist() == list(range(10))


def test_traditional_and_simplified_chinese_land_together(encoder: UseMultilingualEncoder) -> None:
    simplified, traditional, other = encoder.encode(
        ["临港有哪些晶圆厂", "臨港有哪些晶圓廠", "明天天气"]
    )
    assert simplified @ traditional > simplified @ other + 0.3


def test_memory_mapped_table_gives_the_same_vectors(tmp_path: Path) -> None:
    in_memory = UseMultilingualEncoder()
    mapped = UseMultilingualEncoder(tmp_path)
    assert list(tmp_path.glob("use-m3-*-table.npy"))
    texts = _sentences()
    assert np.allclose(in_memory.encode(texts), mapped.encode(texts), atol=1e-6)
    again = UseMultilingualEncoder(tmp_path)  # reads the file written by the first one
    assert np.allclose(again.encode(texts[:3]), mapped.encode(texts[:3]), atol=1e-6)


def test_a_changed_model_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = dict(multilingual.FILE_SHA256, **{"resources/weights.npz": "0" * 64})
    monkeypatch.setattr(multilingual, "FILE_SHA256", changed)
    with pytest.raises(SemanticUnavailable, match="not the expected file"):
        UseMultilingualEncoder()


def test_another_version_of_the_package_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(multilingual, "VERSION", "9.9.9")
    with pytest.raises(SemanticUnavailable, match=r"9\.9\.9 expected"):
        UseMultilingualEncoder()


def test_an_empty_batch_gives_no_rows(encoder: UseMultilingualEncoder) -> None:
    assert encoder.encode([]).shape == (0, multilingual.DIMENSIONS)
