"""`lingang-bot intents ...`: the admin's tools to check, test and measure the catalog."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.commandline import fail, settings_or_exit
from bot.config import Settings
from bot.core import answers
from bot.startup import open_encoder, open_knowledge
from intents.catalog import CatalogError
from intents.coverage import COVERAGE_FILE, measure_coverage
from intents.evaluation import DEFAULT_OOS_TARGET, DatasetError, Report, evaluate, load_dataset
from intents.heldout import HeldOut, load_heldout
from intents.knowledge import Knowledge, KnowledgeBase
from intents.quality import TestReport, check, run_tests
from intents.review import ReviewState, locations, review_states, today
from intents.semantic import EmbeddingCache, SemanticUnavailable
from intents.sourcefile import SourceError

intents_cli = typer.Typer(help="Check, test and measure the intent catalog.", no_args_is_help=True)

Directory = Annotated[
    Path | None,
    typer.Argument(help="Catalog folder (catalog.yaml + faq/); default: LINGANG_INTENTS_DIR."),
]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object instead of text.")]


def _knowledge(settings: Settings, directory: Path | None) -> KnowledgeBase:
    try:
        return open_knowledge(settings, directory)
    except CatalogError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        fail(f"{len(exc.problems)} problem(s): the catalog does not load")
    except SemanticUnavailable as exc:
        fail(f"LINGANG_MATCHER=semantic: {exc}", code=2)


@intents_cli.command("check")
def check_command(
    directory: Directory = None,
    listing: Annotated[
        bool,
        typer.Option(
            "--coverage", help="Also list the intents that answer each part of the sources."
        ),
    ] = False,
    on: Annotated[
        datetime | None,
        typer.Option(
            "--today",
            formats=["%Y-%m-%d"],
            help="Warn about the answers due on this day (YYYY-MM-DD) instead of today in "
            "Shanghai.",
        ),
    ] = None,
) -> None:
    """Find schema errors, duplicates, missing languages, long answers, stray examples and
    parts of the fact sheet and seed article (coverage.yaml) that no intent answers.

    Answers past their `valid_until`, overdue for a check or due soon are warned about on
    standard error; they do not fail the check (the bot still answers, with a caveat)."""
    knowledge = _knowledge(settings_or_exit(), directory).current
    catalog = knowledge.catalog
    coverage = measure_coverage(catalog.directory, catalog.intents)
    problems = check(catalog, knowledge.matcher) + (coverage.problems() if coverage else [])
    for problem in problems:
        typer.echo(str(problem))
    due = review_states(catalog, on.date() if on else today())
    where = locations(catalog, due)
    for state in due:
        path, line = where[state.intent_id]
        typer.echo(f"{path}:{line}: warning: {_review_warning(state)}", err=True)
    if listing and coverage:
        typer.echo("\n".join(coverage.listing()))
    intents = len(catalog.intents)
    if problems:
        fail(f"{len(problems)} problem(s) in {intents} intents")
    typer.echo(f"ok: {intents} intents, no problems")
    typer.echo(coverage.summary() if coverage else f"coverage: no {COVERAGE_FILE}, not measured")


def _review_warning(state: ReviewState) -> str:
    if state.status == "expired":
        return (
            f"{state.intent_id}: answer expired, valid until {state.valid_until} "
            "(the bot adds a dated caveat)"
        )
    if state.reviewed is None:
        return f"{state.intent_id}: answer overdue for review, never reviewed"
    when = f"reviewed {state.reviewed}, every {state.every_days} days"
    if state.status == "overdue":
        return f"{state.intent_id}: answer overdue for review since {state.review_due} ({when})"
    if state.ends:
        return f"{state.intent_id}: answer valid until {state.valid_until}, review it before"
    return f"{state.intent_id}: answer due for review by {state.review_due} ({when})"


@intents_cli.command("test")
def held_out_command(
    directory: Directory = None,
    as_json: AsJson = False,
    threshold: Annotated[
        float | None, typer.Option(help="Try another threshold than catalog.yaml's.")
    ] = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="Also show other thresholds.")] = False,
    held_set: Annotated[
        str,
        typer.Option(
            "--set",
            help="`dev`: the development set (tests:, out_of_scope:, heldout/dev/), to tune on; "
            "`sealed`: the sealed test set (heldout/sealed/), only to report.",
        ),
    ] = "dev",
) -> None:
    """Ask the bot every held-out question, out-of-scope question, lead request and follow-up;
    fail under the catalog's bar."""
    if held_set not in ("dev", "sealed"):
        fail(f"--set {held_set}: dev or sealed", code=2)
    knowledge = _knowledge(settings_or_exit(), directory).current
    try:
        held = load_heldout(knowledge.catalog, "sealed" if held_set == "sealed" else "dev")
    except SourceError as exc:
        fail(str(exc))
    report = _run(knowledge, held, threshold)
    if as_json:
        typer.echo(json.dumps(_test_dict(report), ensure_ascii=False))
    else:
        typer.echo(_test_text(report))
    if sweep and not as_json:
        typer.echo("\nthreshold  answered-right (en / zh)  out-of-scope-not-answered")
        for step in range(5, 80, 5):
            at = _run(knowledge, held, step / 100)
            typer.echo(
                f"  {step / 100:.2f}  {at.accuracy('en'):9.1%} / {at.accuracy('zh'):.1%}"
                f"  {at.oos_rejection:25.1%}"
            )
    if not report.passed:
        raise typer.Exit(1)


def _run(knowledge: Knowledge, held: HeldOut, threshold: float | None) -> TestReport:
    catalog = knowledge.catalog
    if threshold is not None:
        matching = catalog.settings.matching.model_copy(update={"threshold": threshold})
        settings = catalog.settings.model_copy(update={"matching": matching})
        knowledge = replace(knowledge, catalog=replace(catalog, settings=settings))
    leads = frozenset(i.id for i in catalog.intents.values() if "lead" in i.tags)
    return run_tests(
        knowledge.catalog,
        held,
        lambda text, previous: answers.handling(knowledge, text, previous),
        semantic=knowledge.matcher.semantic,
        lead_intents=leads,
    )


def _test_dict(report: TestReport) -> dict[str, object]:
    return {
        "set": report.set_name,
        "threshold": report.threshold,
        "margin": report.margin,
        "accuracy": report.accuracy(),
        "accuracy_en": report.accuracy("en"),
        "accuracy_zh": report.accuracy("zh"),
        "oos_rejection": report.oos_rejection,
        "oos_rejection_en": report.oos_rejection_in("en"),
        "oos_rejection_zh": report.oos_rejection_in("zh"),
        "lead_requests": report.count("lead"),
        "lead_rate": report.lead_rate(),
        "lead_rate_en": report.lead_rate("en"),
        "lead_rate_zh": report.lead_rate("zh"),
        "false_form_rate": report.false_form_rate,
        "follow_ups": report.count("follow_up"),
        "follow_up_accuracy": report.follow_up_accuracy(),
        "follow_up_accuracy_en": report.follow_up_accuracy("en"),
        "follow_up_accuracy_zh": report.follow_up_accuracy("zh"),
        "in_scope": dict(report.outcomes(True)),
        "out_of_scope": dict(report.outcomes(False)),
        "confusions": [{"expected": a, "got": b, "count": n} for a, b, n in report.confusions()],
        "min_accuracy": report.min_accuracy,
        "min_oos_rejection": report.min_oos_rejection,
        "passed": report.passed,
    }


def _test_text(report: TestReport) -> str:
    inside, outside = report.outcomes(True), report.outcomes(False)
    lines = [
        f"set {report.set_name}: threshold {report.threshold}, margin {report.margin}",
        f"held-out questions: {sum(inside.values())}",
        f"  answered with their own intent: {report.accuracy():.1%} "
        f"(en {report.accuracy('en'):.1%}, zh {report.accuracy('zh'):.1%}; "
        f"at least {report.min_accuracy:.0%} needed)",
        f"  did-you-mean including it: {inside['clarify']}, wrong intent: {inside['wrong']}, "
        f"not answered: {inside['refused']}",
        f"out-of-scope questions: {sum(outside.values())}",
        f"  not answered: {report.oos_rejection:.1%} (at least {report.min_oos_rejection:.0%} "
        f"needed; refused {outside['refused']}, did-you-mean {outside['clarify']}, "
        f"answered {outside['wrong']})",
    ]
    lines.append(
        f"lead requests: {report.count('lead')}, starting the contact form: "
        f"{_share(report.lead_rate())} (en {_share(report.lead_rate('en'))}, "
        f"zh {_share(report.lead_rate('zh'))}); ordinary questions starting it by mistake: "
        f"{report.false_form_rate:.1%}"
    )
    lines.append(
        f"follow-ups: {report.count('follow_up')}, answered with the intent they need: "
        f"{_share(report.follow_up_accuracy())} (en {_share(report.follow_up_accuracy('en'))}, "
        f"zh {_share(report.follow_up_accuracy('zh'))})"
    )
    if report.confusions():
        lines.append("most frequent wrong answers (expected -> got):")
        lines += [f"  {a} -> {b}: {n}" for a, b, n in report.confusions()]
    lines.append("PASS" if report.passed else "FAIL")
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@intents_cli.command("eval")
def eval_command(
    dataset: Annotated[
        str,
        typer.Option("--dataset", help="clinc150, banking77, or a JSON file in CLINC150's layout."),
    ],
    shots: Annotated[
        int | None, typer.Option("--shots", min=1, help="Train on N examples per intent.")
    ] = None,
    oos_target: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Out-of-scope recall the threshold must reach on validation."
        ),
    ] = DEFAULT_OOS_TARGET,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Keep the benchmark's embeddings in this folder to reuse them (never the "
            "bot's own cache folder); default: embed afresh."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Train the matcher on a public benchmark as if it were a catalog, and measure it."""
    settings = settings_or_exit()
    if cache is not None and cache.resolve() == settings.resolved_cache_dir.resolve():
        fail("--cache: give a folder of its own, not the bot's cache folder", code=2)
    try:
        data = load_dataset(dataset)
        encoder = open_encoder(settings)
    except DatasetError as exc:
        fail(str(exc), code=2)
    except SemanticUnavailable as exc:
        fail(f"LINGANG_MATCHER=semantic: {exc}", code=2)
    progress = (lambda _: None) if as_json else (lambda m: typer.echo(f"... {m}", err=True))
    report = evaluate(
        data,
        shots=shots,
        encoder=encoder,
        oos_target=oos_target,
        cache=EmbeddingCache(cache) if cache else None,
        progress=progress,
    )
    typer.echo(json.dumps(report.as_dict()) if as_json else _eval_text(report))


def _eval_text(report: Report) -> str:
    oos = f"{report.oos_recall:.1%}" if report.oos_recall is not None else "n/a"
    lines = [
        f"{report.dataset}, {report.shots or 'all'} examples per intent, matcher {report.matcher}",
        f"intents {report.intents}, training sentences {report.train_examples}, "
        f"build {report.build_seconds:.2f} s",
        f"top-1 accuracy (no threshold): {report.accuracy:.1%}",
        f"at threshold {report.threshold:.4f} (chosen on validation): in-scope accuracy "
        f"{report.in_scope:.1%}, out-of-scope recall {oos}",
        f"latency per question: p50 {report.latency_p50_ms:.2f} ms, "
        f"p99 {report.latency_p99_ms:.2f} ms",
        "threshold sweep on the test split (threshold: in-scope / out-of-scope recall):",
    ]
    lines += [
        f"  {p.threshold:.3f}: {p.in_scope:.1%} / "
        f"{'n/a' if p.oos_recall is None else f'{p.oos_recall:.1%}'}"
        for p in report.sweep
    ]
    return "\n".join(lines)
