"""Match a question to an intent, or decide honestly that none fits.

Three views of a question are combined:

* lexical: a naive Bayes model over word and character n-grams (`intents.lexical`), which
  knows which words and word pieces tell the intents apart;
* fuzzy: rapidfuzz's similarity between the question and each candidate intent's examples,
  which is what recognises typos, very short questions and names;
* semantic: a multilingual sentence-embedding model (`intents.semantic`, the model in
  `intents.multilingual`), which recognises paraphrases that share no words, in English and
  Chinese, and a Chinese question asked like an English example (and the other way round).

An intent's probability is a weighted average of the models' probabilities; its similarity is
the best of the fuzzy, n-gram and semantic similarities to its examples; its score is
`probability ** exponent * similarity`, so a confident model on a question unlike
every example still scores low (that is how out-of-scope questions are caught). Scores are in
0..1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from intents.catalog import Catalog, MatchingSettings
from intents.features import FloatArray, NearestExamples, Vectorizer
from intents.lexical import NaiveBayes
from intents.semantic import EmbeddingCache, Encoder, SoftmaxRegression
from intents.text import han_count, normalize

CANDIDATES = 8
# How much the models' probability weighs against the similarity to the nearest examples,
# without and with the embedding model (chosen on CLINC150's and BANKING77's validation data
# and the catalog's development set; docs/benchmarks.md).
PROBABILITY_EXPONENT = 0.5
SEMANTIC_PROBABILITY_EXPONENT = 0.3
# The embedding classifier's share of an intent's probability (naive Bayes has the rest): it
# generalises better to paraphrases, so it weighs more than the n-gram model.
SEMANTIC_WEIGHT = 0.7
# An intent's semantic similarity is the mean of its best few cosines: a question close to a
# single example (often a near miss, such as the same question about another city) scores
# lower than one close to several.
TOP_COSINES = 2


@dataclass(frozen=True, slots=True)
class Candidate:
    """An intent and how well the question fits it."""

    intent_id: str
    score: float


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's verdict, with the runner-ups that explain it.

    `intent_id` is None when no intent is good enough (out of scope) or when the best two are
    too close to pick one (`ambiguous`); `candidates` are the best intents, best first.
    """

    intent_id: str | None
    score: float
    candidates: tuple[Candidate, ...]
    ambiguous: bool = False

    @property
    def alternatives(self) -> tuple[Candidate, ...]:
        """The candidates other than the chosen intent."""
        return tuple(c for c in self.candidates if c.intent_id != self.intent_id)


@dataclass(frozen=True, slots=True)
class Example:
    """One training sentence of an intent; a negative one says what the intent is not."""

    intent_id: str
    text: str
    negative: bool = False


@dataclass(frozen=True, slots=True)
class _Semantic:
    encoder: Encoder
    head: SoftmaxRegression
    # Embedded examples, grouped by intent; half precision (cosines to 3 decimals) halves
    # what a replica holds for them.
    vectors: npt.NDArray[np.float16]
    bounds: npt.NDArray[np.intp]  # per intent: its rows are vectors[bounds[i]:bounds[i + 1]]

    def similarity(self, embedded: FloatArray, label: int) -> float:
        """The mean of the best `TOP_COSINES` cosines between the question and one intent's
        embedded examples (all of them when it has fewer)."""
        rows = self.vectors[self.bounds[label] : self.bounds[label + 1]]
        if not rows.size:
            return 0.0
        cosines = (rows @ embedded.astype(np.float16)).astype(np.float32)
        if cosines.size > TOP_COSINES:
            cosines = np.partition(cosines, -TOP_COSINES)[-TOP_COSINES:]
        return float(cosines.mean())


def _fuzzy(query: str, examples: Sequence[str]) -> float:
    """Best similarity (0..1) of `query` to any of `examples`."""
    if not examples:
        return 0.0
    chinese = han_count(query) > 0
    scorer = fuzz.ratio if chinese else fuzz.token_sort_ratio
    processor = (lambda s: s.replace(" ", "")) if chinese else None
    best = process.extractOne(query, examples, scorer=scorer, processor=processor)
    return float(best[1]) / 100 if best else 0.0


class Matcher:
    """Scores questions against one set of examples; build a new one for new examples."""

    def __init__(
        self,
        examples: Sequence[Example],
        settings: MatchingSettings,
        encoder: Encoder | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self._settings = settings
        positives = [e for e in examples if not e.negative]
        self.intents = sorted({e.intent_id for e in positives})
        index = {intent: i for i, intent in enumerate(self.intents)}
        pairs = sorted((index[e.intent_id], normalize(e.text)) for e in positives)
        labels = [label for label, _ in pairs]
        texts = [text for _, text in pairs]
        self._vectorizer, vectors = Vectorizer.fit(texts)
        self._bayes = NaiveBayes(vectors, labels, len(self.intents), self._vectorizer.size)
        self._nearest = NearestExamples(vectors, labels, self._vectorizer.size)

        self._examples: list[list[str]] = [[] for _ in self.intents]
        for text, label in zip(texts, labels, strict=True):
            self._examples[label].append(text)
        self._negatives: list[list[str]] = [[] for _ in self.intents]
        for example in examples:
            if example.negative and example.intent_id in index:
                self._negatives[index[example.intent_id]].append(normalize(example.text))
        self._semantic = self._embed(encoder, cache, texts, labels) if encoder else None

    @classmethod
    def for_catalog(
        cls, catalog: Catalog, encoder: Encoder | None = None, cache: EmbeddingCache | None = None
    ) -> Matcher:
        """A matcher trained on a catalog's examples (and told its negative examples)."""
        examples = [
            Example(intent.id, text, negative)
            for intent in catalog.intents.values()
            for negative, phrases in ((False, intent.examples), (True, intent.negatives))
            for _, text in phrases.items()
        ]
        return cls(examples, catalog.settings.matching, encoder, cache)

    @property
    def semantic(self) -> bool:
        """Whether a sentence-embedding model takes part."""
        return self._semantic is not None

    def _embed(
        self,
        encoder: Encoder,
        cache: EmbeddingCache | None,
        texts: list[str],
        labels: list[int],
    ) -> _Semantic | None:
        if not texts:
            return None
        vectors = cache.vectors(encoder, texts) if cache else encoder.encode(texts)
        row_labels = labels  # sorted: each intent's examples are one block
        bounds = np.searchsorted(np.array(row_labels), np.arange(len(self.intents) + 1))
        head = (
            cache.classifier(encoder, vectors, row_labels, len(self.intents))
            if cache
            else SoftmaxRegression(vectors, row_labels, len(self.intents))
        )
        return _Semantic(encoder, head, vectors.astype(np.float16), bounds)

    def known_share(self, text: str) -> float:
        """Share of the question's words (Chinese: characters) that occur in the examples."""
        return self._vectorizer.known_share(normalize(text))

    def rank(self, text: str) -> list[Candidate]:
        """The best-scoring intents for `text`, best first (empty for an empty question)."""
        return self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> list[list[Candidate]]:
        """`rank` of each text, the sentence encoder run once for all of them (a catalog
        check ranks hundreds of examples)."""
        queries = [normalize(text) for text in texts]
        semantic = self._semantic
        wanted = [query for query in queries if query]
        embedded = iter(semantic.encoder.encode(wanted) if semantic and wanted else ())
        return [
            self._rank(query, next(embedded) if semantic else None) if query else []
            for query in queries
        ]

    def _rank(self, query: str, embedded: FloatArray | None) -> list[Candidate]:
        vector = self._vectorizer.vector(query)
        probability = self._bayes.probabilities(vector)
        overlap = self._nearest.best(vector)
        semantic = self._semantic
        if semantic is not None and embedded is not None:
            learnt = semantic.head.probabilities(embedded[None])[0]
            probability = (1 - SEMANTIC_WEIGHT) * probability + SEMANTIC_WEIGHT * learnt
        exponent = PROBABILITY_EXPONENT if semantic is None else SEMANTIC_PROBABILITY_EXPONENT
        ranked: list[Candidate] = []
        for label in np.argsort(-probability)[:CANDIDATES].tolist():
            similarity = max(_fuzzy(query, self._examples[label]), float(overlap[label]))
            if semantic is not None and embedded is not None:
                similarity = max(similarity, semantic.similarity(embedded, label))
            against = _fuzzy(query, self._negatives[label])
            if against > similarity:  # closer to what this intent is not than to what it is
                similarity *= similarity / against
            score = float(probability[label]) ** exponent * max(similarity, 0.0)
            ranked.append(Candidate(self.intents[label], round(score, 4)))
        ranked.sort(key=lambda c: (-c.score, c.intent_id))
        return ranked

    def match(self, text: str) -> Match:
        """The intent that answers `text`, or an explained refusal to pick one."""
        return decide(self.rank(text), self._settings)


def decide(ranked: Sequence[Candidate], settings: MatchingSettings) -> Match:
    """The verdict on ranked candidates: a threshold for out of scope, a margin for a tie."""
    candidates = tuple(ranked[: settings.alternatives + 1])
    if not candidates or candidates[0].score < settings.threshold:
        return Match(None, candidates[0].score if candidates else 0.0, candidates)
    top = candidates[0]
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if runner_up >= settings.threshold and top.score - runner_up < settings.margin:
        return Match(None, top.score, candidates, ambiguous=True)
    return Match(top.intent_id, top.score, candidates)
