"""Per-case scores, bootstrap intervals and subgroups on hand-made results."""

import pytest

from cds.eval.metrics import CaseResult, accuracy_metrics, age_band, bootstrap, pipeline_metrics


def case(gold, predicted, **kw):
    return CaseResult(case_id=f"c{len(predicted)}{gold}", gold=gold, predicted=predicted, **kw)


def test_topk_mrr_and_differential_agreement():
    r = case("B", ["A", "B", "C"], gold_differential={"B": 0.5, "C": 0.3, "D": 0.2})
    assert (r.hit(1), r.hit(3)) == (0.0, 1.0)
    assert r.reciprocal_rank() == 0.5
    assert r.ddr() == pytest.approx(2 / 3, abs=1e-4) and r.ddp() == pytest.approx(2 / 3)
    outside = case(None, ["A"])  # gold outside the model's list: always a miss
    assert outside.hit(5) == 0.0 and outside.reciprocal_rank() == 0.0
    assert case("A", []).ddr() is None


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_n():
    small = bootstrap([1, 0] * 10, resamples=2000)
    large = bootstrap([1, 0] * 500, resamples=2000)
    for m in (small, large):
        assert m["value"] == 0.5 and m["ci95"][0] < 0.5 < m["ci95"][1]
    assert large["ci95"][1] - large["ci95"][0] < (small["ci95"][1] - small["ci95"][0]) / 3
    assert bootstrap([None, None])["value"] is None
    assert bootstrap([1.0, 1.0, 1.0])["ci95"] == [1.0, 1.0]


def test_age_bands():
    assert [age_band(a) for a in (None, 5, 18, 64, 65, 95)] == [
        None, "0-17", "18-39", "40-64", "65+", "65+"]


def test_pipeline_metrics_routes_calibration_subgroups_and_leaks():
    results = [
        case("A", ["A", "B"], model_predicted=["B", "A"], probabilities=[0.6, 0.2],
             calibrated=[0.7, 0.3], route="auto",
             schema_valid=True, citations=4, citations_existing=4, citations_supported=3,
             seconds={"total": 2.0, "generation": 1.5}, sex="F", age=30),
        case("B", ["A", "B"], model_predicted=["A", "B"], probabilities=[0.5, 0.4],
             calibrated=[0.5, 0.4], route="review",
             schema_valid=True, citations=2, citations_existing=1, citations_supported=1,
             seconds={"total": 4.0, "generation": 3.5}, sex="M", age=70, phi_leaks=1),
        case("C", [], route="crisis", seconds={"total": 0.5}, sex="F", age=70),
    ]
    m = pipeline_metrics(results, resamples=200)
    assert m["top1"]["value"] == pytest.approx(1 / 3, abs=1e-4)
    # the model put B first for case A: calibration's re-ranking made the shown top-1 right
    assert m["model_top1"]["value"] == 0.0
    assert m["model_top5"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["routes"] == {"auto": 1, "review": 1, "blocked": 0, "crisis": 1}
    assert m["abstention_rate"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["auto_top1"]["value"] == 1.0 and m["wrong_auto"] == 0
    wrong = pipeline_metrics([case("B", ["A"], calibrated=[0.95], route="auto")], resamples=100)
    assert wrong["wrong_auto"] == 1 and wrong["auto_top1"]["value"] == 0.0
    assert m["citation_support_rate"]["value"] == pytest.approx((3 / 4 + 1 / 2) / 2, abs=1e-4)
    assert m["citation_existence_rate"]["value"] == pytest.approx((1 + 1 / 2) / 2, abs=1e-4)
    assert m["schema_valid_rate"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["phi_leaks"] == 1
    assert m["calibration"]["model"]["items"] == 4 and m["ece"] is not None
    low, high = m["ece_95ci"]  # resampled over the cases, not the items
    assert 0 <= low <= high <= 1
    # the model's numbers are scored against its own order: case A's 0.6 went to B (wrong)
    assert m["calibration"]["model"]["brier"] == pytest.approx(
        (0.6**2 + 0.8**2 + 0.5**2 + 0.6**2) / 4, abs=1e-4)
    assert m["latency_s"]["total"]["p50"] == 2.0 and m["latency_s"]["generation"]["n"] == 2
    assert m["overhead_ratio"] == {"p50": round((2.0 / 1.5 + 4.0 / 3.5) / 2, 3), "n": 2}
    assert m["subgroups"]["sex"]["F"]["n"] == 2
    assert m["subgroups"]["age_band"]["65+"]["top1"]["value"] == 0.0
    assert accuracy_metrics(results, 200)["top5"]["value"] == pytest.approx(2 / 3, abs=1e-4)
