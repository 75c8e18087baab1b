"""Lead requests that start the contact form, and ordinary questions that start it by mistake.

    .venv/bin/python bench/lead_requests.py [--set dev|sealed] [--matcher lexical|semantic]
        [--show-misses]

Asks the bot (`bot.core.answers.form_starts`: the answer a message gets at the start of a
conversation) every lead request of the held-out set, per language, and every ordinary question
of it (the questions of intents not tagged `lead` and the out-of-scope questions; on `dev`
these include every intent's `tests:` and catalog.yaml's `out_of_scope:`). Prints the share of
requests that start the form and the count and share of questions that start it by mistake;
`--show-misses` lists both kinds of error. The lead-request cues (intents/lead_requests.yaml)
are tuned on `dev`; `sealed` is only reported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.answers import form_starts  # noqa: E402
from intents.catalog import PACKAGED_DIR  # noqa: E402
from intents.heldout import load_heldout  # noqa: E402
from intents.knowledge import Knowledge, build_knowledge  # noqa: E402
from intents.multilingual import UseMultilingualEncoder  # noqa: E402
from intents.semantic import EmbeddingCache  # noqa: E402


def _knowledge(matcher: str) -> Knowledge:
    if matcher == "lexical":
        return build_knowledge(PACKAGED_DIR)
    cache = ROOT / "var" / "bench-cache"  # not the bot's own cache folder
    cache.mkdir(parents=True, exist_ok=True)
    return build_knowledge(PACKAGED_DIR, UseMultilingualEncoder(cache), EmbeddingCache(cache))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("dev", "sealed"), default="dev")
    parser.add_argument("--matcher", choices=("lexical", "semantic"), default="lexical")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    knowledge = _knowledge(args.matcher)
    catalog = knowledge.catalog
    held = load_heldout(catalog, args.set)
    leads = {intent.id for intent in catalog.intents.values() if "lead" in intent.tags}

    print(f"set {args.set}, {args.matcher} matcher")
    for lang in ("en", "zh"):
        requests = [q.text for q in held.lead_requests if q.lang == lang]
        started = form_starts(knowledge, requests)
        count = sum(intent is not None for intent in started)
        share = count / len(requests) if requests else 0.0
        print(f"lead requests ({lang}): {count}/{len(requests)} start the form ({share:.1%})")
        if args.show_misses:
            for text, intent in zip(requests, started, strict=True):
                if intent is None:
                    print(f"  not started: {text}")

    ordinary = [q for q in held.questions if q.intent not in leads] + held.out_of_scope
    started = form_starts(knowledge, [q.text for q in ordinary])
    wrong = [(q, intent) for q, intent in zip(ordinary, started, strict=True) if intent]
    share = len(wrong) / len(ordinary) if ordinary else 0.0
    print(
        f"ordinary questions starting the form by mistake: {len(wrong)}/{len(ordinary)} "
        f"({share:.2%}; at most 1%)"
    )
    if args.show_misses:
        for question, intent in wrong:
            print(f"  {question.intent or 'out of scope'}: {question.text} -> {intent}")


if __name__ == "__main__":
    main()
