"""The hazard registry (`governance/hazards.yaml`, ISO 14971): hazards, their situations,
harms, causes and severities, each linked to the risk controls that mitigate it; each control
linked to the tests and the measured acceptance criterion that verify it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cds.errors import ConfigError

REGISTRY = Path(__file__).with_name("hazards.yaml")
_NODE = re.compile(r"^tests/[\w/]+\.py(::\w+)?$")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasuredValue(Frozen):
    artifact: Path
    path: str = Field(pattern=r"^[\w.]+$", description="dotted keys into the JSON artifact")


class Occurrence(MeasuredValue):
    divide_by: str | None = Field(None, pattern=r"^[\w.]+$")
    complement: bool = False  # the artifact holds a success rate


class Acceptance(MeasuredValue):
    op: Literal["<=", ">=", "=="]
    value: float


class Control(Frozen):
    id: str = Field(pattern=r"^CT-[A-Z0-9-]+$")
    description: str
    tests: tuple[str, ...] = ()
    acceptance: Acceptance | None = None

    @model_validator(mode="after")
    def _verifiable(self) -> Control:
        if not self.tests and self.acceptance is None:
            raise ValueError(f"{self.id}: a control needs tests or an acceptance criterion")
        bad = [t for t in self.tests if not _NODE.match(t)]
        if bad:
            raise ValueError(f"{self.id}: not a pytest node id: {bad[0]}")
        return self


class Hazard(Frozen):
    id: str = Field(pattern=r"^HZ-[A-Z0-9-]+$")
    hazard: str
    situation: str
    harm: str
    severity: int = Field(ge=1, le=5)
    causes: tuple[str, ...] = Field(min_length=1)
    occurrence_before: int = Field(ge=1, le=5)
    occurrence: Occurrence | None = None
    controls: tuple[str, ...] = ()


class HazardRegistry(Frozen):
    hazards: tuple[Hazard, ...] = Field(min_length=1)
    controls: tuple[Control, ...]

    @model_validator(mode="after")
    def _linked(self) -> HazardRegistry:
        known = {c.id for c in self.controls}
        for kind, ids in (("hazard", [h.id for h in self.hazards]), ("control", list(known))):
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate {kind} id")
        for h in self.hazards:
            missing = [c for c in h.controls if c not in known]
            if missing:
                raise ValueError(f"{h.id}: unknown control {missing[0]}")
        return self

    def control(self, control_id: str) -> Control:
        return next(c for c in self.controls if c.id == control_id)


def load_registry(path: Path = REGISTRY) -> HazardRegistry:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return HazardRegistry.model_validate(data)
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read YAML ({type(e).__name__})") from e
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from e
