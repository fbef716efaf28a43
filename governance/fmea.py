"""FMEA from the hazard registry joined with the run's measurements.

- Severity (S, 1-5): from the registry.
- Occurrence (O, 1-5): before controls, the registry's estimate; after, the class of the
  measured failure rate (<= 0.001: 1, <= 0.01: 2, <= 0.05: 3, <= 0.2: 4, else 5), or the
  estimate again when nothing measures it (no credit without a measurement).
- Detection (D): 5 before controls; after, 1 when every control is verified, 3 when some are,
  5 when none. A control is verified when each named test ran and passed in the JUnit XML of
  the run and its acceptance criterion holds on the measured value; otherwise it is open.
- RPN = S x O x D. ISO 14971 acceptability from the P x S index (P = O): <= 4 acceptable,
  <= 9 ALARP, else unacceptable.
Every input is an artifact of the same run; a missing one is an error that names it.
"""

from __future__ import annotations

import json
import operator
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from cds.errors import CdsError
from governance.hazards import Acceptance, Control, HazardRegistry, Occurrence

OCCURRENCE_CLASSES = ((0.001, 1), (0.01, 2), (0.05, 3), (0.2, 4))
_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


class ArtifactError(CdsError):
    """An input artifact of the run is missing or lacks a value the document needs."""

    exit_code = 2


def occurrence_class(rate: float) -> int:
    return next((c for limit, c in OCCURRENCE_CLASSES if rate <= limit), 5)


def acceptability(probability: int, severity: int) -> str:
    index = probability * severity
    return "acceptable" if index <= 4 else "ALARP" if index <= 9 else "unacceptable"


class Artifacts:
    """JSON artifacts under `root`, read once each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[Path, Any] = {}

    def value(self, artifact: Path, path: str) -> Any:
        if artifact not in self._cache:
            file = self.root / artifact
            if not file.exists():
                raise ArtifactError(f"{artifact}: missing (run `dvc repro`): the FMEA needs it")
            self._cache[artifact] = json.loads(file.read_text(encoding="utf-8"))
        node = self._cache[artifact]
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                raise ArtifactError(f"{artifact}: no value at {path}")
            node = node[key]
        return node

    def rate(self, occ: Occurrence) -> float | None:
        value = self.value(occ.artifact, occ.path)
        if value is None:
            return None
        if occ.divide_by:
            value = value / max(1, self.value(occ.artifact, occ.divide_by))
        return 1 - value if occ.complement else value


Outcomes = dict[tuple[str, str], str]  # (module path, test name) -> passed|failed|skipped


def read_junit(path: Path) -> Outcomes:
    """Every test case of a pytest JUnit XML file, read once for all the documents."""
    if not path.exists():
        raise ArtifactError(f"{path}: missing (run `cds docs verify`, the `verify` stage): "
                            "control verification needs it")
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        tags = {child.tag for child in case}
        status = ("failed" if tags & {"failure", "error"} else
                  "skipped" if "skipped" in tags else "passed")
        outcomes[(module, case.get("name", ""))] = status
    return outcomes


def node_status(node: str, outcomes: Outcomes) -> str:
    module, _, name = node.partition("::")
    ran = [s for (m, n), s in outcomes.items()
           if m == module and (not name or n == name or n.startswith(name + "["))]
    if not ran:
        return "missing"
    return "passed" if all(s == "passed" for s in ran) else "failed"


def _acceptance(acc: Acceptance, artifacts: Artifacts) -> dict:
    measured = artifacts.value(acc.artifact, acc.path)
    met = measured is not None and _OPS[acc.op](measured, acc.value)
    return {"artifact": str(acc.artifact), "path": acc.path, "op": acc.op, "value": acc.value,
            "measured": measured, "met": met}


def control_status(control: Control, outcomes, artifacts: Artifacts) -> dict:
    tests = {t: node_status(t, outcomes) for t in control.tests}
    acceptance = _acceptance(control.acceptance, artifacts) if control.acceptance else None
    verified = all(s == "passed" for s in tests.values()) and (acceptance is None
                                                                or acceptance["met"])
    return {"id": control.id, "description": control.description, "tests": tests,
            "acceptance": acceptance, "status": "verified" if verified else "open"}


def run_fmea(registry: HazardRegistry, root: Path, outcomes: Outcomes) -> dict:
    artifacts = Artifacts(root)
    controls = {c.id: control_status(c, outcomes, artifacts) for c in registry.controls}
    rows = []
    for h in registry.hazards:
        rate = artifacts.rate(h.occurrence) if h.occurrence else None
        o_after = occurrence_class(rate) if rate is not None else h.occurrence_before
        verified = [c for c in h.controls if controls[c]["status"] == "verified"]
        d_after = 1 if h.controls and len(verified) == len(h.controls) else 3 if verified else 5
        rows.append({
            "id": h.id, "hazard": h.hazard, "situation": h.situation, "harm": h.harm,
            "causes": list(h.causes), "severity": h.severity,
            "before": {"occurrence": h.occurrence_before, "detection": 5,
                       "rpn": h.severity * h.occurrence_before * 5,
                       "risk": acceptability(h.occurrence_before, h.severity)},
            "measured_rate": None if rate is None else round(rate, 4),
            "after": {"occurrence": o_after, "detection": d_after,
                      "rpn": h.severity * o_after * d_after,
                      "risk": acceptability(o_after, h.severity)},
            "controls": list(h.controls),
            "open_controls": [c for c in h.controls if controls[c]["status"] != "verified"],
        })
    return {"hazards": rows, "controls": list(controls.values()),
            "open_controls": sorted({c for r in rows for c in r["open_controls"]}),
            "unacceptable_after": [r["id"] for r in rows if r["after"]["risk"] == "unacceptable"]}
