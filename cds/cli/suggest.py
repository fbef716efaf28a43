"""`cds suggest`, `cds guardrails train`, `cds calibrate`, `cds redteam`: the guarded pipeline."""

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from cds.cli._common import console, handle_errors
from cds.config import load_section

guardrails_app = typer.Typer(help="Train the guardrail classifiers.", no_args_is_help=True)
PARAMS = typer.Option(Path("params.yaml"), help="YAML file with the stage's section.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")
JSON = typer.Option(False, "--json", help="One JSON object on stdout.")


@guardrails_app.command("train")
@handle_errors
def train(params: Path = PARAMS, quiet: bool = QUIET) -> None:
    """Fit the safety, scope, injection and crisis classifiers (artifacts/guardrails/)."""
    from cds.guardrails.train import GuardrailsConfig, train_guardrails

    cfg = load_section(params, "guardrails", GuardrailsConfig)
    models = train_guardrails(cfg, show_progress=not quiet)
    for name, c in models.classifiers.items():
        cv = c.cross_validated
        console.print(
            f"{name}: threshold {c.threshold:.3f}, out-of-fold recall {cv.recall:.3f}, "
            f"false-positive rate {cv.false_positive_rate:.4f}, precision {cv.precision:.3f}"
        )


def _show(suggestion, kb) -> None:
    colour = {"auto": "green", "review": "yellow", "blocked": "red", "crisis": "bold red"}
    console.print(
        f"[{colour[suggestion.route]}]route: {suggestion.route}[/] (priority "
        f"{suggestion.priority}) note {suggestion.note_id}"
    )
    if suggestion.message:
        console.print(suggestion.message, markup=False)
    if suggestion.differential is not None:
        table = Table(show_lines=True)
        # Calibrated: the pipeline replaced the model's numbers and re-ranked the items.
        p_column = "calibrated p" if suggestion.confidence else "model p (uncalibrated)"
        for col in ("#", "condition (ICD-10)", p_column, "rationale", "basis"):
            table.add_column(col)
        for i, item in enumerate(suggestion.differential.items):
            basis = []
            for c in item.citations:
                if c.kind == "note":
                    basis.append(
                        f"note line {c.line_start}"
                        + (f"-{c.line_end}" if c.line_end != c.line_start else "")
                    )
                else:
                    doc = kb.documents.get(c.doc_id)
                    basis.append(
                        f"KB {c.passage_id} @{c.version[:8]}" + (f" ({doc.title})" if doc else "")
                    )
            table.add_row(
                str(i + 1),
                f"{item.condition} ({item.icd10})",
                f"{item.probability:.2f}",
                item.rationale,
                "\n".join(basis) or "none",
            )
        console.print(table)
    rails = Table(title="guardrail decisions")
    for col in ("rail", "stage", "verdict", "reason", "ms"):
        rails.add_column(col)
    for d in suggestion.decisions:
        reason = d.reason + (f" [error: {d.error}]" if d.error else "")
        rails.add_row(d.rail, d.stage, d.verdict.value, reason, f"{d.latency_ms:.0f}")
    console.print(rails)
    console.print(suggestion.disclaimer, style="italic", markup=False)


@handle_errors
def suggest(
    note_file: str = typer.Argument(..., help="A UTF-8 note file, or - for standard input."),
    params: Path = typer.Option(
        Path("params.yaml"), help="`suggest:`, `kb:`, `deidentify:` and `audit:` sections."
    ),
    as_json: bool = JSON,
) -> None:
    """One note through the guarded pipeline: rails, retrieval, generation, calibration, route.

    Shows per item the probability (calibrated; the items ranked by it), rationale, cited note
    lines and KB passages, every guardrail decision and the disclaimer. Every step is an event
    in the audit log (`audit:` section or CDS_DATABASE_URL); a note routed review, crisis or
    blocked becomes a case in `cds review list`. Exit code 0 for every route; bad input exits 2
    with one line on stderr (and an `input_rejected` event)."""
    from cds.audit_log import open_audit
    from cds.pipeline import load_suggester
    from cds.text_input import read_note_bytes

    with open_audit(params, "pipeline") as log:
        suggester = load_suggester(params, sink=log)
        note_id, text = suggester.accept_bytes(*read_note_bytes(note_file, sys.stdin.buffer))
        suggestion = suggester.suggest(text, note_id=note_id)
    if as_json:
        typer.echo(suggestion.model_dump_json(indent=2))
        return
    _show(suggestion, suggester.kb)
    if suggestion.route != "auto":
        console.print(f"case {suggestion.note_id} is in the review queue: cds review show "
                      f"{suggestion.note_id}")


@handle_errors
def calibrate(params: Path = PARAMS, quiet: bool = QUIET, as_json: bool = JSON) -> None:
    """Fit the confidence calibrator on the validation split; ECE (95 % interval over notes),
    Brier and a reliability diagram on validation and test, each method's ECE on the same items,
    what suggest shows per split, and the items (reports/calibration/)."""
    from cds.guardrails.calibrate import CalibrateConfig, run_calibration
    from cds.pipeline import load_suggester

    cfg = load_section(params, "calibrate", CalibrateConfig)
    report = run_calibration(cfg, load_suggester(params), show_progress=not quiet)
    if as_json:
        typer.echo(json.dumps(report))
        return
    for split in (cfg.fit_split, cfg.eval_split):
        raw, cal = report[split]["raw"], report[split]["calibrated"]
        low, high = cal["ece_95ci"]
        console.print(
            f"{split}: {raw['items']} items, ECE {raw['ece']:.3f} -> {cal['ece']:.3f} "
            f"[{low:.3f}, {high:.3f}], Brier {raw['brier']:.3f} -> {cal['brier']:.3f}"
        )
        shown = report["shown"][split]
        console.print(
            f"  {shown['notes']} notes as shown: top-1 {shown['shown_top1']}, top-5 "
            f"{shown['shown_top5']} (model's own top-1 {shown['model_top1']}); "
            f"{shown['confident']} clear review_below, {shown['confident_wrong']} of them wrong"
        )
    held_out = {m: r[cfg.eval_split]["ece"] for m, r in report["methods"].items()}
    by_method = ", ".join(f"{m} {e:.3f}" for m, e in held_out.items())
    console.print(f"{cfg.eval_split} ECE by method: {by_method}")


@handle_errors
def redteam(
    prompts: Path | None = typer.Option(None, help="JSONL {prompt, label: harmful|benign}."),
    crisis: Path | None = typer.Option(None, help="CSV with the C-SSRS columns User, Post, Label."),
    injections: Path | None = typer.Option(None, help="BIPIA text_attack JSON."),
    generate: bool | None = typer.Option(
        None,
        "--generate/--screen-only",
        help="Run the model too (default: params redteam.generate).",
    ),
    params: Path = PARAMS,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Refusal, false refusal, crisis recall/precision and injection success. With no set given,
    the held-out dev sets; reports/redteam/redteam.json and redteam.png."""
    from cds.guardrails.redteam import RedteamConfig, run_redteam
    from cds.pipeline import load_suggester

    cfg = load_section(params, "redteam", RedteamConfig)
    if generate is not None:
        cfg = cfg.model_copy(update={"generate": generate})
    report = run_redteam(
        load_suggester(params), cfg, prompts, crisis, injections, show_progress=not quiet
    )
    summary = {k: v for k, v in report.items() if not isinstance(v, dict)}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for key, value in summary.items():
        console.print(f"{key}: {value}")
