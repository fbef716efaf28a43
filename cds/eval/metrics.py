"""Per-case scores and their aggregation with 95% bootstrap confidence intervals.

Each case yields a `CaseResult`; a metric is the mean of a per-case value over the cases where
it is defined, and its interval is the 2.5th-97.5th percentile of that mean over `resamples`
bootstrap resamples of the cases (seeded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cds.guardrails.calibration import ece_interval, reliability

AGE_BANDS = ((0, 17, "0-17"), (18, 39, "18-39"), (40, 64, "40-64"), (65, 200, "65+"))


@dataclass
class CaseResult:
    case_id: str
    gold: str | None  # pathology in the model's list; None: outside it
    predicted: list[str] = field(default_factory=list)  # ranked conditions (empty: none shown)
    # the model's own ranking and numbers, before the output rails and calibration re-rank
    model_predicted: list[str] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)  # model, per model_predicted item
    calibrated: list[float] = field(default_factory=list)  # per predicted item
    gold_differential: dict[str, float] = field(default_factory=dict)
    route: str = "review"
    schema_valid: bool = False
    citations: int = 0
    citations_existing: int = 0
    citations_supported: int = 0
    phi_leaks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    sex: str | None = None
    age: int | None = None

    def hit(self, k: int) -> float:
        return float(self.gold is not None and self.gold in self.predicted[:k])

    def reciprocal_rank(self) -> float:
        if self.gold is None or self.gold not in self.predicted:
            return 0.0
        return 1.0 / (self.predicted.index(self.gold) + 1)

    def ddr(self) -> float | None:
        """DDXPlus's differential recall: gold differential conditions the prediction names."""
        if not self.gold_differential:
            return None
        return len(set(self.predicted) & set(self.gold_differential)) / len(self.gold_differential)

    def ddp(self) -> float | None:
        """Differential precision: predicted conditions that are in the gold differential."""
        if not self.gold_differential or not self.predicted:
            return None if not self.gold_differential else 0.0
        return len(set(self.predicted) & set(self.gold_differential)) / len(self.predicted)


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    return next(name for lo, hi, name in AGE_BANDS if lo <= age <= hi)


def bootstrap(values: Sequence[float], resamples: int = 1000, seed: int = 0) -> dict:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return {"value": None, "ci95": [None, None], "n": 0}
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"value": round(float(v.mean()), 4), "ci95": [round(float(lo), 4), round(float(hi), 4)],
            "n": int(v.size)}


def calibration_of(probs: Sequence[float], correct: Sequence[bool],
                   cases: Sequence[int]) -> dict | None:
    """ECE, Brier and the reliability bins (`cds.guardrails.calibration.reliability`), and the
    ECE's 95 % interval over cases (`cases`: each item's case, consecutive)."""
    if not probs:
        return None
    p, y = np.asarray(probs, dtype=float), np.asarray(correct, dtype=bool)
    return reliability(p, y) | {"ece_95ci": list(ece_interval(p, y, np.asarray(cases)))}


def _per_case(results: Sequence[CaseResult], fn: Callable[[CaseResult], float | None],
              resamples: int) -> dict:
    return bootstrap([fn(r) for r in results], resamples)


def accuracy_metrics(results: Sequence[CaseResult], resamples: int = 1000) -> dict:
    """Top-k, MRR and differential agreement: the part every baseline also gets."""
    def ddf1(r: CaseResult) -> float | None:
        rec, prec = r.ddr(), r.ddp()
        if rec is None or prec is None:
            return None
        return 0.0 if rec + prec == 0 else 2 * rec * prec / (rec + prec)

    out = {
        "n": len(results),
        "in_condition_list": sum(r.gold is not None for r in results),
        "top1": _per_case(results, lambda r: r.hit(1), resamples),
        "top3": _per_case(results, lambda r: r.hit(3), resamples),
        "top5": _per_case(results, lambda r: r.hit(5), resamples),
        "mrr": _per_case(results, CaseResult.reciprocal_rank, resamples),
        "ddr": _per_case(results, CaseResult.ddr, resamples),
        "ddp": _per_case(results, CaseResult.ddp, resamples),
        "ddf1": _per_case(results, ddf1, resamples),
    }
    if any(r.model_predicted for r in results):
        # the model's own items, before re-ranking and the listing of the candidates it left out
        for k in (1, 5):
            out[f"model_top{k}"] = _per_case(
                results, lambda r, k=k: float(r.gold in r.model_predicted[:k]), resamples)
    return out


def pipeline_metrics(results: Sequence[CaseResult], resamples: int = 1000) -> dict:
    """Everything `suggest` adds: validity, citations, calibration, routing, PHI, latency and
    subgroups."""
    out = accuracy_metrics(results, resamples)
    items_p = [p for r in results for p in r.probabilities]
    items_c = [p for r in results for p in r.calibrated]
    items_y = [c == r.gold for r in results for c in r.model_predicted]
    items_yc = [c == r.gold for r in results for c in r.predicted[: len(r.calibrated)]]
    case_p = [i for i, r in enumerate(results) for _ in r.probabilities]
    case_c = [i for i, r in enumerate(results) for _ in r.calibrated]
    routes = [r.route for r in results]
    auto = [r for r in results if r.route == "auto"]
    out |= {
        "schema_valid_rate": _per_case(results, lambda r: float(r.schema_valid), resamples),
        "citation_existence_rate": _per_case(
            results, lambda r: r.citations_existing / r.citations if r.citations else None,
            resamples),
        "citation_support_rate": _per_case(
            results, lambda r: r.citations_supported / r.citations if r.citations else None,
            resamples),
        "calibration": {"model": calibration_of(items_p, items_y, case_p),
                        "calibrated": calibration_of(items_c, items_yc, case_c)},
        "routes": {k: routes.count(k) for k in ("auto", "review", "blocked", "crisis")},
        "abstention_rate": _per_case(results, lambda r: float(r.route != "auto"), resamples),
        "auto_top1": bootstrap([r.hit(1) for r in auto], resamples),
        # cases released without mandatory review whose first item is wrong (HZ-WRONG-AUTO)
        "wrong_auto": sum(1 for r in auto if not r.hit(1)),
        "phi_leaks": sum(r.phi_leaks for r in results),
        "latency_s": _latency(results),
        # end-to-end time over the generation inside it, per case (what the rails, retrieval,
        # de-identification and decoder set-up add to the model)
        "overhead_ratio": _overhead(results),
        "subgroups": _subgroups(results, resamples),
    }
    shown = out["calibration"]["calibrated"] or out["calibration"]["model"]
    out["ece"] = shown["ece"] if shown else None
    out["ece_95ci"] = shown["ece_95ci"] if shown else [None, None]
    return out


def _latency(results: Sequence[CaseResult]) -> dict:
    stages = sorted({s for r in results for s in r.seconds})
    out = {}
    for s in stages:
        v = np.asarray([r.seconds[s] for r in results if s in r.seconds])
        out[s] = {"p50": round(float(np.percentile(v, 50)), 4),
                  "p95": round(float(np.percentile(v, 95)), 4), "n": int(v.size)}
    return out


def _overhead(results: Sequence[CaseResult]) -> dict | None:
    ratios = [r.seconds["total"] / r.seconds["generation"] for r in results
              if r.seconds.get("generation")]
    if not ratios:
        return None
    return {"p50": round(float(np.median(ratios)), 3), "n": len(ratios)}


def _subgroups(results: Sequence[CaseResult], resamples: int) -> dict:
    groups: dict[str, dict[str, list[CaseResult]]] = {"sex": {}, "age_band": {}}
    for r in results:
        if r.sex:
            groups["sex"].setdefault(r.sex, []).append(r)
        band = age_band(r.age)
        if band:
            groups["age_band"].setdefault(band, []).append(r)
    return {
        kind: {name: {"n": len(rs), "top1": bootstrap([r.hit(1) for r in rs], resamples),
                      "top5": bootstrap([r.hit(5) for r in rs], resamples)}
               for name, rs in sorted(members.items())}
        for kind, members in groups.items()
    }
