"""`cds calibrate` (dvc stage `calibrate`): generate on the validation split through the same
screening and prompt as `cds suggest`, fit the calibrator, and report ECE, Brier and a
reliability diagram on validation and test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cds.corpus import read_corpus, spread
from cds.corpus.build import SplitName
from cds.guardrails.calibration import (
    CalibrationError,
    Method,
    fit_calibrator,
    reliability,
    reliability_png,
)
from cds.schemas import CorpusRecord


class CalibrateConfig(BaseModel):
    """`calibrate:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notes_file: Path = Path("data/deid/notes.jsonl")
    fit_split: SplitName = "validation"
    eval_split: SplitName = "test"
    max_notes: int = Field(50, ge=5, description="per split; CPU generation is ~7 s a note")
    method: Method = "platt"
    review_below: float = Field(
        0.9,
        ge=0,
        le=1,
        description="calibrated top-1 under this -> review: a case skips clinician review "
        "only when its top item is estimated right at least this often",
    )
    out_file: Path = Path("artifacts/calibration.json")
    report_dir: Path = Path("reports/calibration")


def item_outcomes(
    suggester, records: list[CorpusRecord], show_progress: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(model probability, rank, retrieval rank, correct) for every item the model wrote on
    `records`, and every candidate listed after them (`Suggester.complete`), as `suggest`
    shows them."""
    from rich.progress import track

    probs, ranks, retrieval_ranks, labels = [], [], [], []
    for r in track(records, description="generating", disable=not show_progress, transient=True):
        s = suggester.screen(r.note.text, note_id=r.note.id, patient_id=r.note.patient_id)
        if s.stop is not None or s.note is None:
            continue
        try:
            generated = suggester.generate(s)
        except Exception:  # noqa: BLE001 - a failed generation has no items to calibrate
            continue
        for rank, item in enumerate(suggester.complete(generated.differential, s).items, start=1):
            probs.append(item.probability)
            ranks.append(rank)
            retrieval_ranks.append(s.retrieval_rank(item.condition))
            labels.append(item.condition == r.pathology)
    return (
        np.array(probs, dtype=float),
        np.array(ranks, dtype=int),
        np.array(retrieval_ranks, dtype=int),
        np.array(labels, dtype=bool),
    )


def run_calibration(cfg: CalibrateConfig, suggester, show_progress: bool = True) -> dict:
    if not cfg.notes_file.exists():
        raise CalibrationError(f"{cfg.notes_file}: not found (run `cds deid run` first)")
    fit_rows = spread(read_corpus(cfg.notes_file, cfg.fit_split), cfg.max_notes)
    eval_rows = spread(read_corpus(cfg.notes_file, cfg.eval_split), cfg.max_notes)
    p_fit, k_fit, r_fit, y_fit = item_outcomes(suggester, fit_rows, show_progress)
    p_eval, k_eval, r_eval, y_eval = item_outcomes(suggester, eval_rows, show_progress)
    adapter = str(suggester.cfg.adapter) if suggester.cfg.adapter else None
    calibrator = fit_calibrator(p_fit, y_fit, cfg.method, cfg.review_below, adapter, k_fit, r_fit)
    cal_fit = np.array([calibrator.apply(*f) for f in zip(p_fit, k_fit, r_fit, strict=True)])
    cal_eval = np.array([calibrator.apply(*f) for f in zip(p_eval, k_eval, r_eval, strict=True)])
    report = {
        "method": cfg.method,
        "review_below": cfg.review_below,
        "notes": {cfg.fit_split: len(fit_rows), cfg.eval_split: len(eval_rows)},
        "calibrator": calibrator.model_dump(),
        cfg.fit_split: {
            "raw": reliability(p_fit, y_fit),
            "calibrated": reliability(cal_fit, y_fit),
        },
        cfg.eval_split: {
            "raw": reliability(p_eval, y_eval),
            "calibrated": reliability(cal_eval, y_eval),
        },
    }
    cfg.out_file.parent.mkdir(parents=True, exist_ok=True)
    cfg.out_file.write_text(calibrator.model_dump_json(indent=2) + "\n")
    cfg.report_dir.mkdir(parents=True, exist_ok=True)
    (cfg.report_dir / "calibration.json").write_text(json.dumps(report, indent=2) + "\n")
    reliability_png(
        {
            f"{cfg.eval_split} raw": report[cfg.eval_split]["raw"],
            f"{cfg.eval_split} calibrated": report[cfg.eval_split]["calibrated"],
        },
        cfg.report_dir / "reliability.png",
    )
    return report
