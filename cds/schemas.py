"""Pydantic contracts shared by every package.

Everything that crosses a package boundary is defined here, frozen and `extra="forbid"`, so a
producer cannot smuggle an unexpected field (for example raw PHI) past a consumer. The
validators reject values that are impossible rather than merely unusual: a probability outside
[0, 1], a differential whose probabilities sum above one, a citation to a line the note does not
have. Line-range checks need the note, so `Differential` and `DiagnosisItem` accept it through
pydantic's validation context (`model_validate(data, context={"note_line_count": n})`), and
`Suggestion` carries the line count itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

PROBABILITY_SUM_TOLERANCE = 1e-3
"""Slack allowed above 1.0 for rounded probabilities (three decimals times up to 10 items)."""

ICD10_PATTERN = r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$"
"""ICD-10 category (e.g. J93) with an optional subcategory (e.g. J45.909)."""


class Contract(BaseModel):
    """Base for every boundary model: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- notes


class NoteLine(Contract):
    number: int = Field(
        ge=1, description="1-based line number, as shown to the model and clinician"
    )
    text: str


class Note(Contract):
    """A clinical note split into numbered lines (line 1 is the first line of `text`)."""

    id: str = Field(min_length=1, max_length=128)
    patient_id: str = Field(min_length=1, max_length=128, description="pseudonymous patient key")
    text: str
    lines: tuple[NoteLine, ...]

    @classmethod
    def from_text(cls, id: str, patient_id: str, text: str) -> Note:
        lines = tuple(NoteLine(number=i, text=t) for i, t in enumerate(text.split("\n"), start=1))
        return cls(id=id, patient_id=patient_id, text=text, lines=lines)

    @model_validator(mode="after")
    def _lines_match_text(self) -> Note:
        expected = self.text.split("\n")
        if [ln.text for ln in self.lines] != expected:
            raise ValueError("lines do not reproduce text (split on newlines)")
        if [ln.number for ln in self.lines] != list(range(1, len(expected) + 1)):
            raise ValueError("line numbers must run 1..n without gaps")
        return self

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def numbered(self) -> str:
        """The note as the model and the clinician see it: `  12| text`."""
        width = len(str(self.line_count))
        return "\n".join(f"{ln.number:>{width}}| {ln.text}" for ln in self.lines)


# --------------------------------------------------------------------------- citations


class NoteCitation(Contract):
    """Points at an inclusive range of lines of the note the suggestion was made for."""

    kind: Literal["note"] = "note"
    line_start: int = Field(ge=1)
    line_end: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> NoteCitation:
        if self.line_end < self.line_start:
            raise ValueError(f"line_end {self.line_end} < line_start {self.line_start}")
        return self


class PassageCitation(Contract):
    """Points at one passage of the vetted knowledge base, at the version that was read."""

    kind: Literal["kb"] = "kb"
    doc_id: str = Field(min_length=1)
    passage_id: str = Field(min_length=1, description="stable id `doc_id#n`")
    version: str = Field(min_length=1, description="content hash of the document")


Citation = Annotated[NoteCitation | PassageCitation, Field(discriminator="kind")]


def _note_line_count(info: ValidationInfo) -> int | None:
    context = info.context or {}
    count = context.get("note_line_count")
    return int(count) if count is not None else None


def check_citation_lines(citations: tuple[Citation, ...], line_count: int) -> None:
    """Raise ValueError when a note citation points past the end of the note."""
    for c in citations:
        if isinstance(c, NoteCitation) and c.line_end > line_count:
            raise ValueError(
                f"citation to lines {c.line_start}-{c.line_end} but the note has {line_count} lines"
            )


# --------------------------------------------------------------------------- differential


MAX_DIFFERENTIAL_ITEMS = 10


class DiagnosisItem(Contract):
    condition: str = Field(min_length=1, max_length=200)
    icd10: str = Field(pattern=ICD10_PATTERN)
    probability: float = Field(ge=0.0, le=1.0)
    rationale: str = Field(min_length=1, max_length=500)
    citations: tuple[Citation, ...] = ()

    @model_validator(mode="after")
    def _citations_exist(self, info: ValidationInfo) -> DiagnosisItem:
        count = _note_line_count(info)
        if count is not None:
            check_citation_lines(self.citations, count)
        return self


class Differential(Contract):
    """Ranked differential diagnosis: most probable first, probabilities summing to <= 1."""

    items: tuple[DiagnosisItem, ...] = Field(min_length=1, max_length=MAX_DIFFERENTIAL_ITEMS)

    @field_validator("items")
    @classmethod
    def _ranked_and_bounded(cls, items: tuple[DiagnosisItem, ...]) -> tuple[DiagnosisItem, ...]:
        total = sum(i.probability for i in items)
        if total > 1.0 + PROBABILITY_SUM_TOLERANCE:
            raise ValueError(f"probabilities sum to {total:.4f} > 1")
        probs = [i.probability for i in items]
        if probs != sorted(probs, reverse=True):
            raise ValueError("items must be ranked by probability, highest first")
        names = [i.condition.casefold() for i in items]
        if len(set(names)) != len(names):
            raise ValueError("a condition appears more than once")
        return items

    @model_validator(mode="after")
    def _citations_exist(self, info: ValidationInfo) -> Differential:
        count = _note_line_count(info)
        if count is not None:
            for item in self.items:
                check_citation_lines(item.citations, count)
        return self


# --------------------------------------------------------------------------- guardrails


class Verdict(StrEnum):
    ALLOW = "allow"
    MODIFY = "modify"
    BLOCK = "block"
    ESCALATE = "escalate"


class GuardrailDecision(Contract):
    """What one rail decided about one note or one output. Never carries PHI."""

    rail: str = Field(min_length=1)
    stage: Literal["input", "output"]
    verdict: Verdict
    reason: str = Field(max_length=500)
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    latency_ms: float = Field(ge=0.0)
    error: str | None = Field(
        default=None, description="exception class when the rail failed (it then fails closed)"
    )

    @model_validator(mode="after")
    def _errors_fail_closed(self) -> GuardrailDecision:
        if self.error is not None and self.verdict is Verdict.ALLOW:
            raise ValueError(
                f"rail {self.rail} errored ({self.error}) but allowed: must fail closed"
            )
        return self


# --------------------------------------------------------------------------- suggestion

Route = Literal["auto", "review", "blocked", "crisis"]
Priority = Literal["crisis", "urgent", "routine"]

DISCLAIMER = (
    "Decision support only. This differential is generated by software for review by a "
    "licensed clinician; it is not a diagnosis and must not be used as the sole basis for "
    "clinical decisions."
)


class Suggestion(Contract):
    """The pipeline's answer for one note: what the clinician sees and the audit log records."""

    note_id: str = Field(min_length=1)
    note_line_count: int = Field(ge=1)
    differential: Differential | None
    decisions: tuple[GuardrailDecision, ...]
    disclaimer: str = Field(min_length=20)
    route: Route
    message: str | None = Field(
        default=None, description="fixed safe text shown instead of a differential (crisis/blocked)"
    )
    priority: Priority = Field(
        default="routine", description="review-queue order: crisis, then urgent (documented risk)"
    )
    confidence: tuple[float, ...] = Field(
        default=(),
        description=(
            "calibrated probability per differential item; the pipeline has then set the items' "
            "probabilities to these and ranked the items by them (empty: uncalibrated, the items "
            "carry the model's own numbers)"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Suggestion:
        if self.differential is not None:
            for item in self.differential.items:
                check_citation_lines(item.citations, self.note_line_count)
        if self.route in ("blocked", "crisis"):
            if self.differential is not None:
                raise ValueError(f"route {self.route} must not carry model output")
            if not self.message:
                raise ValueError(f"route {self.route} needs a fixed safe message")
        if self.confidence:
            if self.differential is None or len(self.confidence) != len(self.differential.items):
                raise ValueError("one calibrated confidence per differential item")
            if any(not 0.0 <= c <= 1.0 for c in self.confidence):
                raise ValueError("calibrated confidence outside [0, 1]")
        if self.route == "auto":
            if self.differential is None:
                raise ValueError("route auto needs a differential")
            stops = [
                d.rail for d in self.decisions if d.verdict in (Verdict.BLOCK, Verdict.ESCALATE)
            ]
            failed = [d.rail for d in self.decisions if d.error is not None]
            if stops or failed:
                raise ValueError(f"route auto despite blocking/failed rails: {stops + failed}")
        return self


# --------------------------------------------------------------------------- corpus records


class PhiType(StrEnum):
    """Our PHI label set: the HIPAA Safe Harbor identifiers that occur in clinical text."""

    NAME = "NAME"
    DATE = "DATE"
    AGE = "AGE"  # ages over 89 only
    PHONE = "PHONE"
    FAX = "FAX"
    EMAIL = "EMAIL"
    SSN = "SSN"
    MRN = "MRN"
    HEALTH_PLAN = "HEALTH_PLAN"
    ACCOUNT = "ACCOUNT"
    LICENSE = "LICENSE"
    VEHICLE = "VEHICLE"
    DEVICE = "DEVICE"
    URL = "URL"
    IP_ADDRESS = "IP_ADDRESS"
    LOCATION = "LOCATION"  # street, city, ZIP, hospital and other facility names
    OTHER_ID = "OTHER_ID"


class PhiSpan(Contract):
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    type: PhiType

    @model_validator(mode="after")
    def _ordered(self) -> PhiSpan:
        if self.end <= self.start:
            raise ValueError("empty or reversed span")
        return self


class GoldDiagnosis(Contract):
    condition: str
    probability: float = Field(ge=0.0, le=1.0)


class CorpusRecord(Contract):
    """One line of `data/raw/notes.jsonl`: a note with its gold labels and gold PHI spans."""

    note: Note
    split: Literal["train", "validation", "test"]
    age: int = Field(ge=0, le=120)
    sex: Literal["F", "M"]
    pathology: str
    icd10: str = Field(pattern=ICD10_PATTERN)
    differential: tuple[GoldDiagnosis, ...]
    evidence_lines: dict[str, tuple[int, ...]] = Field(
        default_factory=dict, description="evidence code -> note lines that state it"
    )
    phi: tuple[PhiSpan, ...]
    source_row: int = Field(ge=1)

    @model_validator(mode="after")
    def _spans_inside(self) -> CorpusRecord:
        n = len(self.note.text)
        for span in self.phi:
            if span.end > n:
                raise ValueError(f"PHI span {span.start}-{span.end} past end of note ({n})")
        for code, lines in self.evidence_lines.items():
            if any(not 1 <= ln <= self.note.line_count for ln in lines):
                raise ValueError(f"evidence {code} points outside the note")
        return self
