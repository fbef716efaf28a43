"""Calibrated confidence for the model's item probabilities.

An item is correct when its condition is the note's gold pathology. `fit_calibrator` maps the
model's probability to the observed frequency on the validation split. Each item has a score
`s = a * logit(p) + c * log(rank) + d * log(candidate_rank) + e * log(q) + b`: the model's
probability `p`, the item's place in the differential, the place of its condition among the
note's candidates (1: the best; one past the last when it is not a candidate) and the condition
ranker's probability `q` of it (`cds.model.ranker`; 1 for every item when no ranker ran). A
small model's stated percentages can be nearly constant while these carry the signal. The place
weights are bounded to be <= 0 and the ranker's to be >= 0 (a lower place or a less probable
condition never raises confidence), which keeps five parameters safe on a few hundred items.

- `listwise` (default): the items of one differential are alternatives (at most one is the
  gold condition), so they share one softmax with a "none of these" option of score 0:
  `P(item i) = exp(s_i) / (1 + sum_j exp(s_j))`. The probabilities of a list never sum past 1
  and are fitted by the likelihood of the list's outcome, so what is fitted is what is shown.
- `platt`: `sigmoid(s)` per item, then scaled to sum to 1 when a list sums past 1.
- `isotonic`: isotonic regression of the probability alone (more flexible, needs more data).

For a one-item list `listwise` and `platt` agree. `Calibrator.rerank` turns the model's
differential into the one a clinician sees: every item carries its calibrated probability and
the items are ranked by it. The model's own numbers stay in the audit log (`model_output`). The
calibrated top-1 probability is the suggestion's confidence; below `review_below` the case goes
to a clinician.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from cds.errors import CdsError
from cds.schemas import Differential

Method = Literal["listwise", "platt", "isotonic"]
METHODS: tuple[Method, ...] = ("listwise", "platt", "isotonic")
EPS = 1e-4
RANKER_FLOOR = 1e-6  # a condition the ranker never saw still gets a finite score
MIN_ITEMS = 5


class ItemFeatures(NamedTuple):
    """What the calibrator reads of one item of a differential."""

    probability: float  # the model's
    rank: int  # place in the differential (1: top)
    candidate_rank: int  # place of its condition among the note's candidates
    ranker_probability: float = 1.0  # the condition ranker's; 1.0 when none ran


class CalibrationError(CdsError):
    exit_code = 2


class Calibrator(BaseModel):
    model_config = ConfigDict(frozen=True)

    method: Method
    a: float = 1.0  # score a * logit(p) + c * log(rank) + d * log(candidate_rank) + e * log(q) + b
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    e: float = 0.0
    x: list[float] = Field(default_factory=list)  # isotonic: knots
    y: list[float] = Field(default_factory=list)
    review_below: float = Field(ge=0.0, le=1.0)
    fitted_on: int = Field(ge=0, description="items")
    adapter: str | None = None

    def _score(self, f: ItemFeatures) -> float:
        p = min(max(f.probability, EPS), 1 - EPS)
        return (
            self.a * math.log(p / (1 - p))
            + self.c * math.log(max(f.rank, 1))
            + self.d * math.log(max(f.candidate_rank, 1))
            + self.e * math.log(max(f.ranker_probability, RANKER_FLOOR))
            + self.b
        )

    def probabilities(self, items: Sequence[ItemFeatures]) -> list[float]:
        """Calibrated probabilities of one differential's items."""
        items = [ItemFeatures(*f) for f in items]
        if self.method == "isotonic":
            out = [float(np.interp(f.probability, self.x, self.y)) for f in items]
        elif self.method == "platt":
            out = [1 / (1 + math.exp(-self._score(f))) for f in items]
        else:
            scores = [self._score(f) for f in items]
            top = max([0.0, *scores])  # log-sum-exp shift
            weights = [math.exp(z - top) for z in scores]
            total = math.exp(-top) + sum(weights)
            return [w / total for w in weights]
        total = sum(out)
        return [q / total for q in out] if total > 1 else out

    def apply(
        self, p: float, rank: int = 1, candidate_rank: int = 1, ranker_probability: float = 1.0
    ) -> float:
        """Calibrated probability of an item alone in its differential (`ItemFeatures`)."""
        return self.probabilities([ItemFeatures(p, rank, candidate_rank, ranker_probability)])[0]

    def rerank(
        self,
        differential: Differential,
        candidate_rank: Callable[[str], int],
        ranker_probability: Callable[[str], float] = lambda condition: 1.0,
    ) -> Differential:
        """`differential` with each item's probability replaced by its calibrated one and the
        items ranked by it (ties keep the model's order). `candidate_rank(condition)` is the
        condition's place among the note's candidates, `ranker_probability(condition)` the
        condition ranker's probability (`probabilities`: they never sum past 1)."""
        calibrated = self.probabilities(
            [
                ItemFeatures(
                    item.probability,
                    rank,
                    candidate_rank(item.condition),
                    ranker_probability(item.condition),
                )
                for rank, item in enumerate(differential.items, start=1)
            ]
        )
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
    candidate_ranks: np.ndarray | None = None,
    lists: np.ndarray | None = None,
    ranker_probs: np.ndarray | None = None,
) -> Calibrator:
    """`ranks`: each item's rank in its differential (1: top; None: all 1); `candidate_ranks`:
    its condition's place among the note's candidates (None: all 1); `lists`: the differential
    each item belongs to, as consecutive equal ids (None: each item alone); `ranker_probs`: the
    condition ranker's probability of its condition (None: all 1). Isotonic regression reads
    the model's probability only."""
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

    log_rank, log_candidate = log_place(ranks), log_place(candidate_ranks)
    log_ranker = (
        np.log(np.maximum(ranker_probs, RANKER_FLOOR)) if ranker_probs is not None else 0 * z
    )

    def scores(params: np.ndarray) -> np.ndarray:
        return (
            params[0] * z
            + params[2] * log_rank
            + params[3] * log_candidate
            + params[4] * log_ranker
            + params[1]
        )

    def platt_loss(params: np.ndarray) -> float:
        q = np.clip(1 / (1 + np.exp(-scores(params))), EPS, 1 - EPS)
        return float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).mean())

    # listwise: each list's outcome (its gold item, or none of them) under one softmax whose
    # "none" option has score 0; the mean negative log-likelihood per list.
    starts = _list_starts(lists, len(z))
    owner = _owner(starts, len(z))

    def listwise_loss(params: np.ndarray) -> float:
        s = scores(params)
        top = np.maximum(np.maximum.reduceat(s, starts), 0.0)  # log-sum-exp shift per list
        log_norm = top + np.log(np.exp(-top) + np.add.reduceat(np.exp(s - top[owner]), starts))
        chosen = np.add.reduceat(np.where(y > 0, s, 0.0), starts)
        return float((log_norm - chosen).mean())

    loss = listwise_loss if method == "listwise" else platt_loss

    # Bounded: with no correct item at all the fit drives every probability towards 0 (so every
    # case goes to review) instead of diverging. c, d <= 0: the model lists its items most
    # probable first and the candidates come best first, so a lower place never raises
    # confidence; e >= 0: a condition the ranker finds more probable never lowers it.
    # Unconstrained, a few dozen items can fit noise the other way (the first demo run did:
    # test ECE 0.24, docs/performance.md).
    res = minimize(
        loss,
        np.array([1.0, 0.0, 0.0, 0.0, 0.0]),
        method="L-BFGS-B",
        bounds=[(0.05, 20), (-20, 20), (-20, 0), (-20, 0), (0, 20)],
    )
    return Calibrator(
        method=method,
        a=float(res.x[0]),
        b=float(res.x[1]),
        c=float(res.x[2]),
        d=float(res.x[3]),
        e=float(res.x[4]),
        review_below=review_below,
        fitted_on=len(probs),
        adapter=adapter,
    )


def _list_starts(lists: np.ndarray | None, n: int) -> np.ndarray:
    """Index of the first item of each list (`lists`: consecutive equal ids)."""
    if lists is None:
        return np.arange(n)
    lists = np.asarray(lists)
    return np.flatnonzero(np.r_[True, lists[1:] != lists[:-1]])


def _owner(starts: np.ndarray, n: int) -> np.ndarray:
    """For each item, the number of the list it belongs to."""
    return np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))


def calibrate_lists(
    calibrator: Calibrator,
    probs: np.ndarray,
    ranks: np.ndarray,
    candidate_ranks: np.ndarray,
    lists: np.ndarray,
    ranker_probs: np.ndarray | None = None,
) -> np.ndarray:
    """Calibrated probability of every item, each list calibrated as `suggest` shows it."""
    starts = _list_starts(lists, len(probs))
    ranker = ranker_probs if ranker_probs is not None else np.ones(len(probs))
    out: list[float] = []
    for a, b in zip(starts, [*starts[1:], len(probs)], strict=True):
        out += calibrator.probabilities(
            [
                ItemFeatures(
                    float(probs[i]), int(ranks[i]), int(candidate_ranks[i]), float(ranker[i])
                )
                for i in range(a, b)
            ]
        )
    return np.array(out, dtype=float)


def shown_summary(
    calibrated: np.ndarray, labels: np.ndarray, lists: np.ndarray, review_below: float
) -> dict:
    """Per note, what `suggest` shows after calibration: its items ordered by calibrated
    probability (ties keep the model's order). `shown_top1`/`shown_top5`: share of notes whose
    right condition is first / among the first five shown; `model_top1`: whose model-written
    first item is right; `confident`: notes whose first shown item reaches `review_below` (the
    confidence rail lets them through; other rails may still send them to review) and
    `confident_wrong`: those among them whose first shown item is wrong."""
    starts = _list_starts(lists, len(calibrated))[: len(calibrated)]  # no items: no notes
    shown_top1 = shown_top5 = model_top1 = confident = confident_wrong = 0
    for a, b in zip(starts, [*starts[1:], len(calibrated)], strict=False):
        order = a + np.argsort(-calibrated[a:b], kind="stable")
        right = labels[order]
        shown_top1 += bool(right[0])
        shown_top5 += bool(right[:5].any())
        model_top1 += bool(labels[a])
        if calibrated[order[0]] >= review_below:
            confident += 1
            confident_wrong += not right[0]
    notes = len(starts)
    share = (lambda k: round(k / notes, 4)) if notes else (lambda k: None)
    return {
        "notes": notes,
        "shown_top1": share(shown_top1),
        "shown_top5": share(shown_top5),
        "model_top1": share(model_top1),
        "confident": confident,
        "confident_wrong": confident_wrong,
    }


def ece_interval(
    probs: np.ndarray,
    labels: np.ndarray,
    lists: np.ndarray,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """95 % bootstrap percentile interval of the ECE, resampling whole lists (the notes): how
    much the number moves with the sample. With a few hundred items the ECE of a perfectly
    calibrated model is itself a few hundredths (it is biased upward), so read a target
    against the interval, not the point alone."""
    if not len(probs):
        return (float("nan"), float("nan"))
    starts = _list_starts(lists, len(probs))
    members = np.split(np.arange(len(probs)), starts[1:])
    rng = np.random.default_rng(seed)
    eces = []
    for _ in range(resamples):
        pick = np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))])
        eces.append(reliability(probs[pick], labels[pick])["ece"])
    low, high = np.percentile(eces, [2.5, 97.5])
    return (round(float(low), 4), round(float(high), 4))


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
