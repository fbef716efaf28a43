"""`cds calibrate` (dvc stage `calibrate`): generate on the validation split through the same
screening and prompt as `cds suggest`, fit the calibrator, and report ECE (with a bootstrap
interval over notes), Brier and a reliability diagram on validation and test, every method
fitted on the same items for comparison, and the items themselves (`items.jsonl`: ids, places,
probabilities and outcomes, no note text) so that a fit can be checked without generating."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cds.corpus import read_corpus, spread
from cds.corpus.build import SplitName
from cds.guardrails.calibration import (
    METHODS,
    CalibrationError,
    Method,
    calibrate_lists,
    ece_interval,
    fit_calibrator,
    reliability,
    reliability_png,
    shown_summary,
)
from cds.schemas import CorpusRecord


class CalibrateConfig(BaseModel):
    """`calibrate:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notes_file: Path = Path("data/deid/notes.jsonl")
    fit_split: SplitName = "validation"
    eval_split: SplitName = "test"
    max_notes: int = Field(100, ge=5, description="per split; CPU generation is ~8 s a note")
    method: Method = "listwise"
    review_below: float = Field(
        0.9,
        ge=0,
        le=1,
        description="calibrated top-1 under this -> review: a case skips clinician review "
        "only when its top item is estimated right at least this often",
    )
    out_file: Path = Path("artifacts/calibration.json")
    report_dir: Path = Path("reports/calibration")


class ItemOutcome(BaseModel):
    """One shown item of one note: what the calibrator reads, and whether it was right."""

    note_id: str
    condition: str
    model_probability: float
    rank: int
    candidate_rank: int
    ranker_probability: float = 1.0  # 1.0: no condition ranker configured
    correct: bool


def item_outcomes(suggester, records: list[CorpusRecord], show_progress: bool) -> list[ItemOutcome]:
    """Every item the model wrote on `records`, and every candidate listed after them
    (`Suggester.complete`), as `suggest` shows them, note by note."""
    from rich.progress import track

    out = []
    for r in track(records, description="generating", disable=not show_progress, transient=True):
        s = suggester.screen(r.note.text, note_id=r.note.id, patient_id=r.note.patient_id)
        if s.stop is not None or s.note is None:
            continue
        try:
            generated = suggester.generate(s)
        except Exception:  # noqa: BLE001 - a failed generation has no items to calibrate
            continue
        for rank, item in enumerate(suggester.complete(generated.differential, s).items, start=1):
            out.append(
                ItemOutcome(
                    note_id=r.note.id,
                    condition=item.condition,
                    model_probability=item.probability,
                    rank=rank,
                    candidate_rank=s.candidate_rank(item.condition),
                    ranker_probability=s.ranker_probability(item.condition),
                    correct=item.condition == r.pathology,
                )
            )
    return out


def _arrays(items: list[ItemOutcome]) -> dict[str, np.ndarray]:
    return {
        "probs": np.array([i.model_probability for i in items], dtype=float),
        "ranks": np.array([i.rank for i in items], dtype=int),
        "candidate_ranks": np.array([i.candidate_rank for i in items], dtype=int),
        "ranker_probs": np.array([i.ranker_probability for i in items], dtype=float),
        "lists": np.array([i.note_id for i in items]),
        "labels": np.array([i.correct for i in items], dtype=bool),
    }


def _fit(method: Method, fit: dict[str, np.ndarray], cfg: CalibrateConfig, adapter: str | None):
    return fit_calibrator(
        fit["probs"],
        fit["labels"],
        method,
        cfg.review_below,
        adapter,
        fit["ranks"],
        fit["candidate_ranks"],
        fit["lists"],
        fit["ranker_probs"],
    )


def _calibrated(calibrator, items: dict[str, np.ndarray]) -> np.ndarray:
    return calibrate_lists(
        calibrator,
        items["probs"],
        items["ranks"],
        items["candidate_ranks"],
        items["lists"],
        items["ranker_probs"],
    )


def _scored(probs: np.ndarray, items: dict[str, np.ndarray]) -> dict:
    rel = reliability(probs, items["labels"])
    rel["ece_95ci"] = list(ece_interval(probs, items["labels"], items["lists"]))
    return rel


def run_calibration(cfg: CalibrateConfig, suggester, show_progress: bool = True) -> dict:
    if not cfg.notes_file.exists():
        raise CalibrationError(f"{cfg.notes_file}: not found (run `cds deid run` first)")
    fit_rows = spread(read_corpus(cfg.notes_file, cfg.fit_split), cfg.max_notes)
    eval_rows = spread(read_corpus(cfg.notes_file, cfg.eval_split), cfg.max_notes)
    fit_items = item_outcomes(suggester, fit_rows, show_progress)
    eval_items = item_outcomes(suggester, eval_rows, show_progress)
    fit, held_out = _arrays(fit_items), _arrays(eval_items)
    adapter = str(suggester.cfg.adapter) if suggester.cfg.adapter else None
    calibrator = _fit(cfg.method, fit, cfg, adapter)
    splits = ((cfg.fit_split, fit), (cfg.eval_split, held_out))
    chosen = {split: _calibrated(calibrator, items) for split, items in splits}
    # Every method on the same items: the choice in params.yaml can be checked, not trusted.
    scored = {}  # method -> split -> reliability, each scored once
    for method in METHODS:
        if method == cfg.method:
            probs = chosen
        else:
            other = _fit(method, fit, cfg, adapter)
            probs = {split: _calibrated(other, items) for split, items in splits}
        scored[method] = {split: _scored(probs[split], items) for split, items in splits}
    report = {
        "method": cfg.method,
        "review_below": cfg.review_below,
        "notes": {cfg.fit_split: len(fit_rows), cfg.eval_split: len(eval_rows)},
        "calibrator": calibrator.model_dump(),
        **{
            split: {"raw": _scored(items["probs"], items), "calibrated": scored[cfg.method][split]}
            for split, items in splits
        },
        # What the clinician sees with the chosen method, note by note.
        "shown": {
            split: shown_summary(chosen[split], items["labels"], items["lists"], cfg.review_below)
            for split, items in splits
        },
        "methods": {
            method: {
                split: {k: rel[k] for k in ("ece", "ece_95ci", "brier")}
                for split, rel in by_split.items()
            }
            for method, by_split in scored.items()
        },
    }
    cfg.out_file.parent.mkdir(parents=True, exist_ok=True)
    cfg.out_file.write_text(calibrator.model_dump_json(indent=2) + "\n")
    cfg.report_dir.mkdir(parents=True, exist_ok=True)
    (cfg.report_dir / "calibration.json").write_text(json.dumps(report, indent=2) + "\n")
    with (cfg.report_dir / "items.jsonl").open("w", encoding="utf-8") as f:
        for split, items in ((cfg.fit_split, fit_items), (cfg.eval_split, eval_items)):
            for item in items:
                f.write(json.dumps({"split": split, **item.model_dump()}) + "\n")
    reliability_png(
        {
            f"{cfg.eval_split} raw": report[cfg.eval_split]["raw"],
            f"{cfg.eval_split} calibrated": report[cfg.eval_split]["calibrated"],
        },
        cfg.report_dir / "reliability.png",
    )
    return report
