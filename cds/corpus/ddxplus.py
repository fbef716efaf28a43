"""Reading DDXPlus release files: conditions, evidences and patient rows.

The loaders validate as they read. A missing or malformed *file* is a `SourceDataError` naming
the file (the stage cannot run); a malformed *row* becomes a `RejectedRow` with its reason, so
the caller can quarantine and count it instead of dropping it silently.
"""

from __future__ import annotations

import ast
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cds.errors import SourceDataError

CONDITIONS_FILE = "release_conditions.json"
EVIDENCES_FILE = "release_evidences.json"
PATIENT_COLUMNS = ("age", "top5_diagnoses", "sex", "diagnosis", "features", "feature_id")


class Condition(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: str = Field(alias="condition_name")
    name_en: str = Field(alias="cond-name-eng")
    icd10: str = Field(alias="icd10-id")
    symptoms: dict[str, Any]
    antecedents: dict[str, Any]
    severity: int = Field(ge=1, le=5)


class Evidence(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: str
    code_question: str
    question_en: str
    is_antecedent: bool
    default_value: Any = None
    value_meaning: dict[str, dict[str, str]]
    possible_values: list[Any] = Field(alias="possible-values")
    data_type: Literal["B", "C", "M"]

    def value_text(self, value: str) -> str:
        """English text of a categorical/multi value code (`V_12`), or the number itself."""
        if value in self.value_meaning:
            return self.value_meaning[value]["en"]
        return value


@dataclass(frozen=True)
class Knowledge:
    """The DDXPlus vocabulary: conditions by name and evidences by code."""

    conditions: dict[str, Condition]
    evidences: dict[str, Evidence]

    def icd10(self, condition: str) -> str:
        return normalise_icd10(self.conditions[condition].icd10)


def normalise_icd10(code: str) -> str:
    """DDXPlus writes some codes in lower case (`j45`) and one as a list (`j17, j18`): upper-case
    it and keep the first code of a list."""
    return code.split(",")[0].strip().upper()


@dataclass(frozen=True)
class EvidenceValue:
    code: str
    value: str | None  # None for binary evidences


@dataclass(frozen=True)
class Patient:
    row: int  # 1-based data row number in the CSV (header excluded)
    age: int
    sex: Literal["F", "M"]
    pathology: str
    differential: tuple[tuple[str, float], ...]
    evidences: tuple[EvidenceValue, ...]
    initial_evidence: str


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SourceDataError(f"{path}: file not found") from e
    except UnicodeDecodeError as e:
        raise SourceDataError(f"{path}: not UTF-8 text") from e
    except json.JSONDecodeError as e:
        raise SourceDataError(f"{path}: invalid JSON at line {e.lineno}") from e
    if not isinstance(data, dict) or not data:
        raise SourceDataError(f"{path}: expected a non-empty JSON object")
    return data


def _validate_all(path: Path, data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        try:
            out[key] = model.model_validate(value)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SourceDataError(f"{path}: entry '{key}' field {where}: {first['msg']}") from e
    return out


def load_knowledge(source_dir: Path) -> Knowledge:
    """Load and validate the conditions and evidences files of a DDXPlus release folder.

    Raises:
        SourceDataError: a file is missing, is not JSON, or an entry lacks a required field.
    """
    cond_path = source_dir / CONDITIONS_FILE
    ev_path = source_dir / EVIDENCES_FILE
    conditions = _validate_all(cond_path, _read_json(cond_path), Condition)
    evidences = _validate_all(ev_path, _read_json(ev_path), Evidence)
    return Knowledge(conditions=conditions, evidences=evidences)


def _parse_row(row_no: int, raw: dict[str, str], kb: Knowledge) -> Patient | RejectedRow:
    try:
        age = int(raw["age"])
    except (TypeError, ValueError):
        return RejectedRow(row_no, "age is not an integer")
    if not 0 <= age <= 120:
        return RejectedRow(row_no, f"age {age} outside 0..120")
    sex = (raw.get("sex") or "").strip().upper()
    if sex not in ("F", "M"):
        return RejectedRow(row_no, "sex is not F or M")
    pathology = (raw.get("diagnosis") or "").strip()
    if pathology not in kb.conditions:
        return RejectedRow(row_no, "pathology not in the conditions file")
    try:
        diff = ast.literal_eval(raw["top5_diagnoses"])
        differential = tuple((str(name), float(p)) for name, p in diff)
    except (ValueError, SyntaxError, TypeError):
        return RejectedRow(row_no, "differential is not a list of [name, probability]")
    unknown = [name for name, _ in differential if name not in kb.conditions]
    if unknown:
        return RejectedRow(row_no, f"differential names {len(unknown)} unknown condition(s)")
    if any(not 0.0 <= p <= 1.0 for _, p in differential):
        return RejectedRow(row_no, "differential probability outside [0, 1]")
    try:
        features = ast.literal_eval(raw["features"])
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise ValueError
    except (ValueError, SyntaxError):
        return RejectedRow(row_no, "features is not a list of evidence codes")
    evidences = []
    for feature in features:
        code, _, value = feature.partition("_@_")
        if code not in kb.evidences:
            return RejectedRow(row_no, f"unknown evidence code {code}")
        evidences.append(EvidenceValue(code, value or None))
    initial = (raw.get("feature_id") or "").strip()
    if initial not in kb.evidences:
        return RejectedRow(row_no, "initial evidence code unknown")
    if not evidences:
        return RejectedRow(row_no, "no evidences")
    return Patient(
        row=row_no,
        age=age,
        sex=sex,  # type: ignore[arg-type]
        pathology=pathology,
        differential=differential,
        evidences=tuple(evidences),
        initial_evidence=initial,
    )


def read_patients(path: Path, kb: Knowledge) -> Iterator[Patient | RejectedRow]:
    """Yield each CSV row as a `Patient`, or a `RejectedRow` saying why it is unusable.

    Raises:
        SourceDataError: the file is missing, not UTF-8 CSV, or lacks a required column.
    """
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError as e:
        raise SourceDataError(f"{path}: file not found") from e
    except OSError as e:
        raise SourceDataError(f"{path}: cannot open ({type(e).__name__})") from e
    with handle:
        try:
            reader = csv.DictReader(handle)
            missing = [c for c in PATIENT_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SourceDataError(f"{path}: missing column(s) {', '.join(missing)}")
            for row_no, raw in enumerate(reader, start=1):
                yield _parse_row(row_no, raw, kb)
        except UnicodeDecodeError as e:
            raise SourceDataError(f"{path}: not UTF-8 text") from e
        except csv.Error as e:
            raise SourceDataError(f"{path}: malformed CSV ({e})") from e
