"""Calibrated confidence for the model's item probabilities.

An item is correct when its condition is the note's gold pathology. `fit_calibrator` maps the
model's probability to the observed frequency on the validation split, by Platt scaling or
isotonic regression (more flexible, needs more data). Platt scaling reads two ranks too,
`sigmoid(a * logit(p) + c * log(rank) + d * log(retrieval_rank) + b)`: the item's place in the
differential, and the place of its condition among the note's retrieved candidates (1: the
condition of the best passage; one past the last candidate when retrieval did not propose it).
A small model's stated percentages can be nearly constant while these places still carry the
signal. Both weights are bounded to be <= 0 (a lower place never raises confidence), which
keeps four parameters safe on a few dozen items.

`Calibrator.rerank` turns the model's differential into the one a clinician sees: every item
carries its calibrated probability and the items are ranked by it. The model's own numbers stay
in the audit log (`model_output`). The calibrated top-1 probability is the suggestion's
confidence; below `review_below` the case goes to a clinician.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cds.errors import CdsError
from cds.schemas import Differential

Method = Literal["platt", "isotonic"]
EPS = 1e-4
MIN_ITEMS = 5


class CalibrationError(CdsError):
    exit_code = 2


class Calibrator(BaseModel):
    model_config = ConfigDict(frozen=True)

    method: Method
    a: float = 1.0  # platt: sigmoid(a * logit(p) + c * log(rank) + d * log(retrieval_rank) + b)
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    x: list[float] = Field(default_factory=list)  # isotonic: knots
    y: list[float] = Field(default_factory=list)
    review_below: float = Field(ge=0.0, le=1.0)
    fitted_on: int = Field(ge=0, description="items")
    adapter: str | None = None

    def apply(self, p: float, rank: int = 1, retrieval_rank: int = 1) -> float:
        """Calibrated probability of the item ranked `rank` (1: top) with model probability `p`
        whose condition is candidate `retrieval_rank` of the note's retrieval."""
        p = min(max(p, EPS), 1 - EPS)
        if self.method == "platt":
            z = (
                self.a * math.log(p / (1 - p))
                + self.c * math.log(max(rank, 1))
                + self.d * math.log(max(retrieval_rank, 1))
                + self.b
            )
            return 1 / (1 + math.exp(-z))
        return float(np.interp(p, self.x, self.y))

    def rerank(
        self, differential: Differential, retrieval_rank: Callable[[str], int]
    ) -> Differential:
        """`differential` with each item's probability replaced by its calibrated one and the
        items ranked by it (ties keep the model's order). `retrieval_rank(condition)` is the
        condition's place among the note's candidates. The items are alternative diagnoses, so
        calibrated probabilities that sum past 1 are scaled to sum to 1."""
        calibrated = [
            self.apply(item.probability, rank, retrieval_rank(item.condition))
            for rank, item in enumerate(differential.items, start=1)
        ]
        total = sum(calibrated)
        if total > 1:
            calibrated = [c / total for c in calibrated]
        order = sorted(range(len(calibrated)), key=lambda k: -calibrated[k])
        return Differential(
            items=tuple(
                differential.items[k].model_copy(update={"probability": round(calibrated[k], 4)})
                for k in order
            )
        )


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def fit_calibrator(
    probs: np.ndarray,
    labels: np.ndarray,
    method: Method,
    review_below: float,
    adapter: str | None,
    ranks: np.ndarray | None = None,
    retrieval_ranks: np.ndarray | None = None,
) -> Calibrator:
    """`ranks`: each item's rank in its differential (1: top; None: all 1); `retrieval_ranks`:
    its condition's place among the note's retrieved candidates (None: all 1). Isotonic
    regression reads the probability only."""
    if len(probs) < MIN_ITEMS:
        raise CalibrationError(
            f"cannot calibrate on {len(probs)} items: need at least {MIN_ITEMS} "
            "(generate on more validation notes: calibrate.max_notes)"
        )
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(probs, labels)
        return Calibrator(
            method=method,
            x=[float(v) for v in iso.X_thresholds_],
            y=[float(v) for v in iso.y_thresholds_],
            review_below=review_below,
            fitted_on=len(probs),
            adapter=adapter,
        )
    from scipy.optimize import minimize

    z, y = _logit(probs), labels.astype(float)

    def log_place(places: np.ndarray | None) -> np.ndarray:
        return np.log(np.maximum(places, 1)) if places is not None else np.zeros_like(z)

    log_rank, log_retrieval = log_place(ranks), log_place(retrieval_ranks)

    def loss(params: np.ndarray) -> float:
        logits = params[0] * z + params[2] * log_rank + params[3] * log_retrieval + params[1]
        q = 1 / (1 + np.exp(-logits))
        q = np.clip(q, EPS, 1 - EPS)
        return float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).mean())

    # Bounded: with no correct item at all the fit drives every probability towards 0 (so every
    # case goes to review) instead of diverging. c, d <= 0: the model lists its items most
    # probable first and retrieval its passages best first, so a lower place never raises
    # confidence. Unconstrained, a few dozen items can fit noise the other way (the first demo
    # run did: test ECE 0.24, docs/performance.md).
    res = minimize(
        loss,
        np.array([1.0, 0.0, 0.0, 0.0]),
        method="L-BFGS-B",
        bounds=[(0.05, 20), (-20, 20), (-20, 0), (-20, 0)],
    )
    return Calibrator(
        method=method,
        a=float(res.x[0]),
        b=float(res.x[1]),
        c=float(res.x[2]),
        d=float(res.x[3]),
        review_below=review_below,
        fitted_on=len(probs),
        adapter=adapter,
    )


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict:
    """ECE (equal-width bins, weighted by count), Brier score and the diagram's bins."""
    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if not inside.any():
            continue
        conf, acc = float(probs[inside].mean()), float(labels[inside].mean())
        ece += inside.sum() / len(probs) * abs(conf - acc)
        rows.append(
            {
                "low": round(lo, 2),
                "high": round(hi, 2),
                "count": int(inside.sum()),
                "confidence": round(conf, 4),
                "accuracy": round(acc, 4),
            }
        )
    brier = float(((probs - labels) ** 2).mean()) if len(probs) else float("nan")
    return {
        "items": int(len(probs)),
        "ece": round(float(ece), 4),
        "brier": round(brier, 4),
        "bins": rows,
    }


def reliability_png(curves: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect")
    for label, rel in curves.items():
        xs = [b["confidence"] for b in rel["bins"]]
        ys = [b["accuracy"] for b in rel["bins"]]
        ax.plot(xs, ys, marker="o", label=f"{label} (ECE {rel['ece']:.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=7)
    ax.set_title("Reliability of item probabilities")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def load_calibrator(path: Path) -> Calibrator:
    if not path.exists():
        raise CalibrationError(f"{path}: not found (run `cds calibrate` or `dvc repro calibrate`)")
    try:
        return Calibrator.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, OSError) as e:
        raise CalibrationError(f"{path}: not a calibration file ({type(e).__name__})") from None
