"""`cds eval` (dvc stage `evaluate`): the full `suggest` pipeline on a labelled set, beside
baselines on the same cases, written to `reports/metrics.json` and plots.

Baselines: `base_model` (the pipeline with the base model, no adapter), `no_retrieval` (the
fine-tuned pipeline with no passages in the prompt and no candidates: the whole condition
list), `ranker` (the condition ranker's own order on the de-identified note, no language model:
what the model and the calibrator add to it) and `frequency_prior` (always the commonest
conditions of the training split, no model).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cds.corpus import read_corpus
from cds.eval.metrics import CaseResult, accuracy_metrics, pipeline_metrics
from cds.eval.sets import EvalCase
from cds.pipeline import ListSink, Suggester

Baseline = Literal["base_model", "no_retrieval", "ranker", "frequency_prior"]


class EvalConfig(BaseModel):
    """`evaluate:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notes_file: Path = Path("data/raw/notes.jsonl")  # raw notes: `suggest` de-identifies them
    split: Literal["train", "validation", "test"] = "test"
    max_notes: int | None = Field(30, ge=1, description="CPU generation is ~8 s a note")
    baselines: tuple[Baseline, ...] = ("base_model", "no_retrieval", "ranker", "frequency_prior")
    bootstrap: int = Field(1000, ge=100)
    metrics_file: Path = Path("reports/metrics.json")
    plots_dir: Path = Path("reports/eval")


def _phi_leaks(case: EvalCase, shown: str) -> int:
    return sum(
        1 for v in set(case.phi)
        if len(v.strip()) >= 4 and re.search(rf"(?<![0-9A-Za-z]){re.escape(v)}(?![0-9A-Za-z])",
                                             shown)
    )


def _model_differential(suggester: Suggester, events, line_count: int):
    """The model's own differential (its order and numbers, before the output rails and
    calibration re-rank it), rebuilt from the `model_output` event; None when it did not run."""
    from cds.model.prompt import output_model, to_differential

    raw = next((p["differential"] for t, p in events if t == "model_output"), None)
    if raw is None:
        return None
    conditions = suggester.conditions
    parsed = output_model(tuple(conditions), line_count).model_validate(raw)
    return to_differential(parsed, conditions, line_count)


def run_case(suggester: Suggester, case: EvalCase) -> CaseResult:
    sink = ListSink()
    suggester.sink = sink
    start = time.perf_counter()
    suggestion = suggester.suggest(case.text, note_id=case.case_id, patient_id=case.patient_id)
    total = time.perf_counter() - start
    events = [(t, p) for t, _, p in sink.events]
    decisions = [p for t, p in events if t == "guardrail_decision"]
    seconds = {"total": total}
    for stage in ("input", "output"):
        seconds[f"{stage}_rails"] = sum(d["latency_ms"] for d in decisions
                                        if d["stage"] == stage) / 1000
    for t, p in events:
        if t == "retrieval":
            seconds["retrieval"] = p["seconds"]
        elif t == "model_output":
            seconds["generation"] = p["seconds"]
    # What the stages above do not account for: events, the disclaimer, assembling the
    # suggestion. (Building the constrained decoder is inside generation's seconds.)
    seconds["other"] = max(0.0, total - sum(v for k, v in seconds.items() if k != "total"))
    citations = next((d.get("details") or {} for d in decisions if d["rail"] == "citations"), {})
    schema = next((d for d in decisions if d["rail"] == "schema"), None)
    differential = suggestion.differential
    model = _model_differential(suggester, events, suggestion.note_line_count)
    return CaseResult(
        case_id=case.case_id,
        gold=case.pathology,
        predicted=[i.condition for i in differential.items] if differential else [],
        model_predicted=[i.condition for i in model.items] if model else [],
        probabilities=[i.probability for i in model.items] if model else [],
        calibrated=list(suggestion.confidence),
        gold_differential=dict(case.differential),
        route=suggestion.route,
        schema_valid=schema is not None and schema["verdict"] != "block" and not schema["error"],
        citations=citations.get("citations", 0),
        citations_existing=citations.get("existing", 0),
        citations_supported=citations.get("supported", 0),
        phi_leaks=_phi_leaks(case, suggestion.model_dump_json()),
        seconds=seconds,
        sex=case.sex,
        age=case.age,
    )


def frequency_prior(notes_file: Path, k: int = 5) -> list[str]:
    counts = Counter(r.pathology for r in read_corpus(notes_file, "train"))
    return [c for c, _ in counts.most_common(k)]


def ranker_case(suggester: Suggester, case: EvalCase) -> CaseResult:
    """The condition ranker's order for the note as `suggest` screens it (de-identified, input
    rails); nothing when a rail stopped the note or no ranker is configured."""
    suggester.sink = ListSink()
    s = suggester.screen(case.text, note_id=case.case_id, patient_id=case.patient_id)
    return CaseResult(case.case_id, case.pathology, list(s.ranker_probabilities)[:5],
                      gold_differential=dict(case.differential))


def run_pipeline(suggester: Suggester, cases: list[EvalCase], label: str,
                 show_progress: bool) -> list[CaseResult]:
    from rich.progress import track

    return [run_case(suggester, c) for c in track(cases, description=label, transient=True,
                                                    disable=not show_progress)]


def evaluate(cfg: EvalConfig, suggester: Suggester, cases: list[EvalCase], set_name: str,
             show_progress: bool = True) -> dict:
    results = run_pipeline(suggester, cases, "pipeline", show_progress)
    report = {
        "set": set_name,
        "adapter": str(suggester.cfg.adapter) if suggester.cfg.adapter else None,
        "pipeline": pipeline_metrics(results, cfg.bootstrap),
        "baselines": {},
        "out_of_list": [c.gold for c in cases if c.pathology is None],
        "cases": [{"case_id": r.case_id, "gold": r.gold, "predicted": r.predicted[:5],
                   "route": r.route} for r in results],
    }
    for name in cfg.baselines:
        if name == "frequency_prior":
            prior = frequency_prior(cfg.notes_file)
            base = [CaseResult(c.case_id, c.pathology, list(prior),
                               gold_differential=dict(c.differential)) for c in cases]
        elif name == "ranker":
            base = [ranker_case(suggester, c) for c in cases]
        else:
            variant = Suggester(
                suggester.cfg.model_copy(
                    update={"adapter": None}
                    if name == "base_model"
                    else {"passages": 0, "candidates": 0}
                ),
                suggester.kb, suggester.models, ListSink(),
                None if name == "base_model" else suggester.generator, deid=suggester.deid,
            )
            base = run_pipeline(variant, cases, name, show_progress)
        report["baselines"][name] = accuracy_metrics(base, cfg.bootstrap)
    p = report["pipeline"]
    # the headline numbers, flat, for `--json` readers
    report |= {"n": p["n"], "top1": p["top1"]["value"], "top5": p["top5"]["value"],
               "ece": p["ece"], "schema_valid_rate": p["schema_valid_rate"]["value"],
               "phi_leaks": p["phi_leaks"]}
    return report


def write_report(report: dict, cfg: EvalConfig) -> None:
    from cds.eval.plots import write_plots

    cfg.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    cfg.metrics_file.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_plots(report, cfg.plots_dir)
