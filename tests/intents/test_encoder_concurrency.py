"""The model embeds one batch at a time, whatever the number of threads asking."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from intents.multilingual import UseMultilingualEncoder


def test_concurrent_questions_are_embedded_one_at_a_time(encoder: UseMultilingualEncoder) -> None:
    model = encoder._model
    encode = model.encode
    lock = threading.Lock()
    running = [0, 0]  # now, most

    def counted(texts: list[str]) -> Any:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        try:
            time.sleep(0.02)  # long enough for another thread to come in, were it let in
            return encode(texts)
        finally:
            with lock:
                running[0] -= 1

    model.encode = counted
    try:
        with ThreadPoolExecutor(8) as pool:
            vectors = list(pool.map(lambda n: encoder.encode([f"question {n}"]), range(16)))
    finally:
        del model.encode  # the instance attribute: the class's method again
    assert running[1] == 1
    assert all(v.shape == (1, 512) for v in vectors)
    assert np.array_equal(vectors[3], encoder.encode(["question 3"]))
