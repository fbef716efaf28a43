"""End to end: `dvc repro` of the real dvc.yaml on tiny data, twice (second is a no-op), then
once more after a hazard and one knowledge-base document changed: the pack follows both."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT, TEST_DEID_KEY
from tests.rag.conftest import write_tiny_medquad


def _run(cmd: list[str], cwd: Path) -> str:
    env = {
        **os.environ,
        "CDS_DEID_KEY": TEST_DEID_KEY,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


def test_dvc_repro_runs_and_second_run_is_up_to_date(tmp_path: Path, tiny_ddxplus: Path):
    work = tmp_path / "project"
    work.mkdir()
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, work / name)
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    for package in ("cds", "governance", "rag", "audit", "tests"):
        shutil.copytree(
            ROOT / package, work / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copytree(tiny_ddxplus, work / "data" / "external" / "ddxplus")
    for name in (
        "medsafetybench",
        "hh-rlhf-harmless-test",
        "counsel-chat",
        "bipia",
        "reddit-cssrs",
        "pubmedqa-pqal",
        "physionet-deid",
    ):
        shutil.copytree(ROOT / "data" / "external" / name, work / "data" / "external" / name)
    medquad = work / "data" / "external" / "medquad" / "medquad_qa_collections_1-9.jsonl.gz"
    medquad.parent.mkdir(parents=True)
    write_tiny_medquad(medquad)
    shutil.copytree(ROOT / "recipes", work / "recipes")
    recipe = yaml.safe_load((work / "recipes" / "sft_demo.yaml").read_text())
    recipe.update(max_records=2, max_steps=1, gradient_accumulation_steps=1, max_length=768)
    (work / "recipes" / "sft_demo.yaml").write_text(yaml.safe_dump(recipe))
    dpo = yaml.safe_load((work / "recipes" / "dpo_demo.yaml").read_text())
    dpo.update(max_records=1, max_steps=1, gradient_accumulation_steps=1, max_length=768)
    (work / "recipes" / "dpo_demo.yaml").write_text(yaml.safe_dump(dpo))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    # 20 of the 40 rows, all of one condition: the ranker learns that one, retrieval proposes
    # the other candidates
    params["corpus"]["max_patients"] = 20
    params["dataset"]["max_records"] = 4
    params["guardrails"]["benign_per_source"] = 20
    # Calibration fits on the 2 validation notes, as the product does; evaluation scores one
    # test note (both generate, ~15 s a note here, and both re-run after the KB edit below).
    params["calibrate"].update(fit_split="validation", max_notes=5)
    params["redteam"].update(benign_notes=2, benign_cases=2, benign_questions=2, limit=4)
    params["evaluate"].update(max_notes=1, bootstrap=100)
    # Two quick cited tests stand in for the verification selection (the full one is ~8 min).
    params["verify"]["tests"] = ["tests/governance/test_lineage.py", "tests/eval/test_metrics.py"]
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    _run(["git", "init", "-q"], work)
    _run([sys.executable, "-m", "dvc", "init", "-q"], work)
    _run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], work)

    _run([sys.executable, "-m", "dvc", "repro"], work)
    notes = (work / "data" / "raw" / "notes.jsonl").read_text().splitlines()
    assert len(notes) == 20
    assert len((work / "data" / "deid" / "notes.jsonl").read_text().splitlines()) == 20
    assert (work / "dvc.lock").exists()

    assert (work / "artifacts" / "index" / "index_meta.json").exists()
    assert (work / "artifacts" / "base" / "model.safetensors").exists()
    assert (work / "data" / "sft" / "sft_train.jsonl").read_text().count("\n") == 4
    assert (work / "artifacts" / "adapter" / "sft" / "adapter_model.safetensors").exists()
    assert (work / "artifacts" / "adapter" / "dpo" / "adapter_model.safetensors").exists()
    assert (work / "artifacts" / "guardrails" / "classifiers.json").exists()
    ranker = json.loads((work / "reports" / "ranker.json").read_text())
    assert ranker["train_notes"] >= 10 and ranker["conditions"] == 1
    assert (work / "artifacts" / "ranker" / "ranker.npz").exists()
    calibration = json.loads((work / "reports" / "calibration" / "calibration.json").read_text())
    fitted = calibration["validation"]["raw"]["items"]
    assert fitted >= 5  # fitted on the model's real items
    assert set(calibration["methods"]) == {"listwise", "platt", "isotonic"}
    items = (work / "reports" / "calibration" / "items.jsonl").read_text().splitlines()
    assert len(items) == fitted + calibration["test"]["raw"]["items"]
    assert (work / "reports" / "calibration" / "reliability.png").stat().st_size > 1000
    metrics = json.loads((work / "reports" / "metrics.json").read_text())
    assert metrics["n"] == 1 and metrics["phi_leaks"] == 0
    assert set(metrics["baselines"]) == {"base_model", "no_retrieval", "ranker", "frequency_prior"}
    for png in ("accuracy", "subgroups", "reliability", "routes_latency"):
        assert (work / "reports" / "eval" / f"{png}.png").stat().st_size > 1000
    redteam = json.loads((work / "reports" / "redteam" / "redteam.json").read_text())
    assert 0 <= redteam["refusal_rate"] <= 1 and redteam["injection_success_rate"] is not None
    manifest = json.loads((work / "data" / "kb" / "manifest.json").read_text())
    assert manifest["indexed_documents"] > 49  # 49 condition sheets + MedQuAD pages
    verification = json.loads((work / "reports" / "verification" / "verification.json").read_text())
    assert verification["failed"] == 0 and verification["passed"] >= 5
    assert (work / "reports" / "submission.pdf").read_bytes()[:5] == b"%PDF-"
    pack = json.loads((work / "reports" / "submission.json").read_text())
    assert pack["verification"]["passed"] == verification["passed"]
    assert pack["evaluation"]["top1"] == metrics["top1"]
    assert pack["audit"]["ok"] is True

    second = _run([sys.executable, "-m", "dvc", "repro"], work)
    assert "up to date" in second
    assert "Running stage" not in second

    # Editing one KB source document re-runs `kb` only, with a new version for that document;
    # the version archive (persisted across runs) still holds the old one.
    with gzip.open(medquad, "rt") as f:
        records = [json.loads(line) for line in f]
    edited = records[0]
    edited["answer"] += " Reviewed and extended."
    with gzip.open(medquad, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    # ... and a hazard's severity changes in the registry.
    hazards_file = work / "governance" / "hazards.yaml"
    hazards = yaml.safe_load(hazards_file.read_text())
    hazard = hazards["hazards"][0]
    hazard["severity"] = 5 if hazard["severity"] != 5 else 4
    hazards_file.write_text(yaml.safe_dump(hazards, sort_keys=False))
    status = _run([sys.executable, "-m", "dvc", "status"], work)
    assert "kb:" in status and "package:" in status and "corpus:" not in status
    third = _run([sys.executable, "-m", "dvc", "repro"], work)
    assert "Running stage 'kb'" in third and "Running stage 'corpus'" not in third
    assert "Running stage 'base_model'" not in third
    assert "Running stage 'package'" in third
    repacked = json.loads((work / "reports" / "submission.json").read_text())
    row = next(r for r in repacked["fmea"]["hazards"] if r["id"] == hazard["id"])
    assert row["severity"] == hazard["severity"]
    kb_manifest = "data/kb/manifest.json"
    assert repacked["inputs"][kb_manifest] != pack["inputs"][kb_manifest]
    new_metrics = json.loads((work / "reports" / "metrics.json").read_text())
    assert repacked["inputs"]["reports/metrics.json"] != pack["inputs"]["reports/metrics.json"]
    # the pack shows the re-measured metrics (latencies differ from run to run)
    assert repacked["evaluation"]["pipeline"]["latency_s"] == new_metrics["pipeline"]["latency_s"]
    doc_id = f"medquad-{edited['qid']}"
    after = json.loads((work / "data" / "kb" / "manifest.json").read_text())
    old = {d["doc_id"]: d["version"] for d in manifest["documents"]}
    new = {d["doc_id"]: d["version"] for d in after["documents"]}
    assert {d for d in old if old[d] != new[d]} == {doc_id}
    archived = [
        json.loads(line)["version"]
        for line in (work / "data" / "kb" / "versions.jsonl").read_text().splitlines()
        if json.loads(line)["doc_id"] == doc_id
    ]
    assert sorted(archived) == sorted([old[doc_id], new[doc_id]])
