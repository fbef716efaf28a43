"""`cds eval`: the evaluation suite (dvc stage `evaluate`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cds.cli._common import console, handle_errors
from cds.config import load_section


def _fmt(m: dict) -> str:
    if m.get("value") is None:
        return "-"
    lo, hi = m["ci95"]
    return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"


@handle_errors
def evaluate(
    ddxplus: Path | None = typer.Option(
        None, help="External CSV with DDXPlus's patient columns: notes are built from it."
    ),
    vignettes: Path | None = typer.Option(
        None, help="External JSONL of {case_description, correct_diagnosis}."
    ),
    limit: int | None = typer.Option(None, help="At most this many cases (default: params)."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines",
                                   help="Also run the base model, no-retrieval and frequency "
                                   "baselines."),
    out: Path | None = typer.Option(
        None, help="Directory for metrics.json and the plots (external sets default to "
        "reports/eval-external/; the corpus split to the params' paths)."
    ),
    params: Path = typer.Option(Path("params.yaml"), help="`evaluate:`, `suggest:`, `kb:`, "
                                "`deidentify:` sections."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    as_json: bool = typer.Option(False, "--json", help="The metrics as one JSON object."),
) -> None:
    """Run `suggest` on a labelled set and report top-1/3/5, MRR, differential agreement
    (DDR/DDP/DDF1), schema-valid and citation rates, calibration, routes, abstention, PHI
    leakage, latency per stage and subgroups by sex and age band, each with a 95% bootstrap CI,
    beside the baselines. Writes reports/metrics.json and PNG plots."""
    from cds.eval.run import EvalConfig, evaluate, write_report
    from cds.eval.sets import corpus_cases, ddxplus_cases, vignette_cases
    from cds.pipeline import load_suggester

    if ddxplus is not None and vignettes is not None:
        raise typer.BadParameter("give --ddxplus or --vignettes, not both")
    cfg = load_section(params, "evaluate", EvalConfig)
    updates = {}
    if not baselines:
        updates["baselines"] = ()
    external = ddxplus is not None or vignettes is not None
    target = out or (Path("reports/eval-external") if external else None)
    if target is not None:
        updates |= {"metrics_file": target / "metrics.json", "plots_dir": target}
    cfg = cfg.model_copy(update=updates)
    n = limit if limit is not None else cfg.max_notes
    suggester = load_suggester(params)
    if ddxplus is not None:
        cases, name = ddxplus_cases(ddxplus, suggester.cfg.ddxplus_dir, n), f"ddxplus:{ddxplus}"
    elif vignettes is not None:
        cases = vignette_cases(vignettes, suggester.kb.profiles, n)
        name = f"vignettes:{vignettes}"
    else:
        cases, name = corpus_cases(cfg.notes_file, cfg.split, n), f"{cfg.notes_file}:{cfg.split}"
    if not cases:
        raise typer.BadParameter(f"{name}: no cases")
    report = evaluate(cfg, suggester, cases, name, show_progress=not quiet)
    write_report(report, cfg)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in report.items() if k != "cases"}))
        return
    p = report["pipeline"]
    table = Table(title=f"{name}: {p['n']} cases ({p['in_condition_list']} in the model's list)")
    for col in ("run", "top-1", "top-3", "top-5", "MRR", "DDF1"):
        table.add_column(col)
    for run, m in {"pipeline": p, **report["baselines"]}.items():
        table.add_row(run, *(_fmt(m[k]) for k in ("top1", "top3", "top5", "mrr", "ddf1")))
    console.print(table)
    console.print(
        f"schema-valid {_fmt(p['schema_valid_rate'])}, citations supported "
        f"{_fmt(p['citation_support_rate'])}, ECE {p['ece']} {p['ece_95ci']}, "
        f"routes {p['routes']}, "
        f"abstention {_fmt(p['abstention_rate'])}, PHI leaks {p['phi_leaks']}; "
        f"-> {cfg.metrics_file}, {cfg.plots_dir}/"
    )
