"""`cds eval` with the real pipeline on a few notes: metrics, baselines, plots, and an external
vignette set through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from cds.eval.run import EvalConfig, evaluate, write_report
from cds.eval.sets import corpus_cases
from cds.guardrails.classifiers import load_models
from cds.pipeline import SuggestConfig, Suggester
from tests.conftest import DDXPLUS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config(base_model_dir, guardrails_cfg, tmp_path_factory) -> SuggestConfig:
    return SuggestConfig(base_model=base_model_dir, adapter=None, ddxplus_dir=DDXPLUS,
                         guardrails_dir=guardrails_cfg.out_dir,
                         calibration=tmp_path_factory.mktemp("cal") / "missing.json")


def test_evaluate_reports_metrics_baselines_and_plots(config, knowledge_base, corpus_notes_file,
                                                      tmp_path):
    suggester = Suggester(config, knowledge_base, load_models(config.guardrails_dir))
    cfg = EvalConfig(notes_file=corpus_notes_file, max_notes=2, bootstrap=200,
                     baselines=("no_retrieval", "frequency_prior"),
                     metrics_file=tmp_path / "metrics.json", plots_dir=tmp_path / "plots")
    cases = corpus_cases(cfg.notes_file, "test", 2)
    report = evaluate(cfg, suggester, cases, "corpus:test", show_progress=False)
    write_report(report, cfg)
    p = report["pipeline"]
    assert report["n"] == 2 and report["phi_leaks"] == 0  # the notes carry gold PHI
    assert p["schema_valid_rate"]["value"] is not None
    assert p["routes"]["auto"] == 0  # no calibration file: everything goes to review
    # the model's own ranking and numbers are read back from its audit event
    assert p["model_top1"]["n"] == 2 and p["calibration"]["model"]["items"] >= 1
    assert {"input_rails", "output_rails", "total"} <= set(p["latency_s"])
    assert p["citation_existence_rate"]["n"] + p["citation_support_rate"]["n"] > 0
    assert set(report["baselines"]) == {"no_retrieval", "frequency_prior"}
    assert set(p["subgroups"]) == {"sex", "age_band"}
    saved = json.loads(cfg.metrics_file.read_text())
    assert saved["top1"] == report["top1"]
    for png in ("accuracy", "subgroups", "reliability", "routes_latency"):
        assert (cfg.plots_dir / f"{png}.png").stat().st_size > 1000


def test_cli_eval_on_external_vignettes(config, tiny_kb, corpus_notes_file, tmp_path):
    vignettes = tmp_path / "vignettes.jsonl"
    vignettes.write_text("\n".join(json.dumps(r) for r in [
        {"case_description": "58-year-old smoker with fever, productive cough and pleuritic "
         "chest pain for three days; crackles at the right base.",
         "correct_diagnosis": "Pneumonia"},
        {"case_description": "A 4-year-old with five days of fever, conjunctival injection, a "
         "strawberry tongue and swollen hands.", "correct_diagnosis": "Kawasaki disease"},
    ]) + "\n")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "kb": json.loads(tiny_kb.model_dump_json()),
        "deidentify": {},
        "suggest": json.loads(config.model_dump_json()),
        "evaluate": {"notes_file": str(corpus_notes_file), "bootstrap": 200},
    }))
    out = subprocess.run(
        [sys.executable, "-m", "cds.cli", "eval", "--vignettes", str(vignettes), "--params",
         str(params), "--no-baselines", "--out", str(tmp_path / "ext"), "--json", "--quiet"],
        capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads(out.stdout)
    assert metrics["n"] == 2 and metrics["out_of_list"] == ["Kawasaki disease"]
    assert {"top1", "top5", "ece", "schema_valid_rate"} <= set(metrics)
    assert metrics["pipeline"]["in_condition_list"] == 1
    assert (tmp_path / "ext" / "metrics.json").exists()
