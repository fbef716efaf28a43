"""`cds deid run|eval|text`: de-identification (dvc stage `deidentify`) and its measurement."""

import hashlib
import json
import sys
from pathlib import Path

import typer

from cds.cli._common import console, handle_errors
from cds.config import load_section
from cds.text_input import decode_or_reject, read_note_bytes, record_rejected_file

app = typer.Typer(help="De-identify notes and measure PHI detection.", no_args_is_help=True)


def _config(params: Path):
    from governance.deid.stage import DeidConfig

    return load_section(params, "deidentify", DeidConfig)


def _reject(file: Path, error: Exception, params: Path) -> None:
    from cds.audit_log import OnDemandAuditSink

    sink = OnDemandAuditSink(params if params.exists() else None, "cli:deid")
    record_rejected_file(file, str(error).split(": ", 1)[-1], sink, "deid-file")


@app.command("run")
@handle_errors
def run(
    params: Path = typer.Option(
        Path("params.yaml"), help="YAML file with a `deidentify:` section."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """De-identify the corpus; fail (exit 3) if any PHI survives. Writes the PHI report."""
    from governance.deid.errors import DeidInputError
    from governance.deid.stage import deidentify_corpus

    cfg = _config(params)
    try:
        report = deidentify_corpus(cfg, show_progress=not quiet)
    except DeidInputError as e:
        _reject(cfg.in_file, e, params)
        raise
    if not quiet:
        console.print(
            f"deidentify: {report.notes} notes, {sum(report.detected_per_type.values())} spans "
            f"masked, gold token recall {report.gold_token_recall:.4f}, residual PHI 0 "
            f"-> {cfg.out_dir}"
        )


@app.command("eval")
@handle_errors
def evaluate(
    file: Path = typer.Argument(
        ..., help="Labelled JSONL/JSON (PhysioNet, presidio-research or corpus format)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as one JSON object."),
    params: Path = typer.Option(Path("params.yaml"), help="YAML with the `deidentify:` section."),
    baseline: bool = typer.Option(False, "--baseline", help="Also run presidio's default engine."),
    limit: int | None = typer.Option(None, min=1, help="Score only the first N records."),
) -> None:
    """Token- and span-level recall, precision and F2, per type, and notes/s."""
    from governance.deid.engine import PhiDetector
    from governance.deid.errors import DeidInputError
    from governance.deid.evaluate import evaluate as run_eval
    from governance.deid.evaluate import load_labelled, presidio_default_detect_batch

    cfg = _config(params) if params.exists() else None
    try:
        corpus = load_labelled(file)[:limit]
    except DeidInputError as e:
        _reject(file, e, params)
        raise
    detector = PhiDetector(
        with_ner=cfg.ner if cfg else False, threshold=cfg.threshold if cfg else 0.3
    )
    ours = run_eval(corpus, detector.detect_batch, engine="cds")
    result = ours.model_dump()
    if baseline:
        base = run_eval(corpus, presidio_default_detect_batch(), engine="presidio-default")
        result["baseline"] = base.model_dump()
        result["recall_ratio"] = (
            ours.token_recall / base.token_recall if base.token_recall else None
        )
        result["speed_ratio"] = ours.notes_per_s / base.notes_per_s
    if as_json:
        typer.echo(json.dumps(result))
        return
    console.print(
        f"{file.name}: n={ours.n_notes} token recall {ours.token_recall:.4f} precision "
        f"{ours.token_precision:.4f} F2 {ours.f2:.4f}; span recall {ours.span_recall:.4f}; "
        f"{ours.notes_per_s:.1f} notes/s"
    )
    for label, row in ours.per_type.items():
        console.print(f"  {label:<20} recall {row['token_recall']:.4f}  tokens {row['tokens']}")
    if baseline:
        b = result["baseline"]
        console.print(
            f"presidio default: token recall {b['token_recall']:.4f} precision "
            f"{b['token_precision']:.4f}; {b['notes_per_s']:.1f} notes/s"
        )


@app.command("text")
@handle_errors
def text(
    file: str = typer.Argument(..., help="A UTF-8 text file, or - for standard input."),
    patient_id: str = typer.Option(
        "adhoc", help="Pseudonymous key: same patient, same surrogates."
    ),
    params: Path = typer.Option(Path("params.yaml"), help="YAML with the `deidentify:` section."),
) -> None:
    """De-identify one text and print it. Bad input (empty, binary, invalid UTF-8, over
    `deidentify.max_chars`) exits 2 with one line and an `input_rejected` audit event."""
    from cds.audit_log import OnDemandAuditSink
    from governance.deid.stage import DeidConfig, deidentify_text

    cfg = _config(params) if params.exists() else DeidConfig()
    data, where = read_note_bytes(file, sys.stdin.buffer)
    sink = OnDemandAuditSink(params if params.exists() else None, "cli:deid")
    subject = f"deid-{hashlib.sha256(data).hexdigest()[:12]}"
    body = decode_or_reject(data, where, cfg.max_chars, sink, subject)
    out, _ = deidentify_text(body, patient_id, cfg)
    typer.echo(out)
