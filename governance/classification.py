"""Regulatory classification from the intended use and the hazard registry:

- IMDRF SaMD category (N12 table: state of the healthcare situation x significance of the
  information);
- IEC 62304 software safety class: C when a hazard the software can contribute to has severity
  >= 4 (serious injury or death) and its risk is not acceptable without the software's own
  controls (`before` in the FMEA), B for severity 3, else A;
- FDA documentation level (2023 premarket software guidance): Enhanced when a failure could
  present a probable risk of death or serious injury before mitigation (the same test as class
  C), else Basic;
- the FDA CDS criteria: Non-Device CDS only if all four are met.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from cds.errors import ConfigError

INTENDED_USE = Path(__file__).with_name("intended_use.yaml")
IMDRF = {
    "critical": {"treat_or_diagnose": "IV", "drive": "III", "inform": "II"},
    "serious": {"treat_or_diagnose": "III", "drive": "II", "inform": "I"},
    "non-serious": {"treat_or_diagnose": "II", "drive": "I", "inform": "I"},
}


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    criterion: str
    met: bool
    reason: str


class IntendedUse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    device: str
    intended_use: str
    indications: str
    contraindications: str
    users: tuple[str, ...]
    healthcare_situation: Literal["critical", "serious", "non-serious"]
    significance: Literal["treat_or_diagnose", "drive", "inform"]
    cds_criteria: tuple[Criterion, ...]


def load_intended_use(path: Path = INTENDED_USE) -> IntendedUse:
    try:
        return IntendedUse.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read ({type(e).__name__})") from e
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from e


def classify(use: IntendedUse, fmea: dict) -> dict:
    serious = [h for h in fmea["hazards"]
               if h["severity"] >= 4 and h["before"]["risk"] != "acceptable"]
    moderate = [h for h in fmea["hazards"] if h["severity"] == 3]
    safety_class = "C" if serious else "B" if moderate else "A"
    non_device = all(c.met for c in use.cds_criteria)
    return {
        "imdrf_category": IMDRF[use.healthcare_situation][use.significance],
        "imdrf_rationale": f"{use.healthcare_situation} healthcare situation x information that "
                           f"{use.significance.replace('_', ' ')}s clinical management",
        "iec62304_class": safety_class,
        "iec62304_rationale": (
            f"hazards of severity >= 4 not acceptable without software controls: "
            f"{', '.join(h['id'] for h in serious)}" if serious else
            "no hazard of severity >= 4 unacceptable before software controls"),
        "fda_documentation_level": "Enhanced" if serious else "Basic",
        "cds_non_device": non_device,
        "cds_rationale": "all four CDS criteria met: Non-Device CDS" if non_device else
            "criteria not met: " + "; ".join(c.criterion for c in use.cds_criteria if not c.met)
            + " -> a device software function (SaMD)",
    }
