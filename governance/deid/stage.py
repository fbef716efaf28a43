"""The `deidentify` stage: raw corpus -> de-identified corpus + PHI report, with a residual scan.

The residual scan is the stage's last gate: after anonymisation, every gold PHI value and every
detected value must be gone from the output text (whole-word, exact case). If one remains, the
stage fails with the note ids and types involved (never the values) and writes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.progress import Progress

from cds.schemas import CorpusRecord, Note
from governance.deid.anonymize import Anonymizer
from governance.deid.engine import GENERIC_PLACE_WORDS, SCORE_THRESHOLD, Detection, PhiDetector
from governance.deid.errors import DeidError, DeidInputError, ResidualPhiError
from governance.deid.evaluate import GoldSpan, LabelledText, score
from governance.deid.keys import load_key
from governance.deid.recognizers.base import NOT_A_NAME


class DeidConfig(BaseModel):
    """`deidentify:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_file: Path = Path("data/raw/notes.jsonl")
    """Corpus records with gold PHI spans (`cds corpus` output)."""
    out_dir: Path = Path("data/deid")
    """Where notes.jsonl (de-identified records, no PHI spans) and phi_report.json go."""
    mode: Literal["surrogate", "redact"] = "surrogate"
    """Surrogates keep the note readable for training; redact writes [TYPE] tags."""
    ner: bool = False
    """Add spaCy NER to the patterns (slower; more false positives on ALL-CAPS notes)."""
    threshold: float = Field(SCORE_THRESHOLD, ge=0.0, le=1.0)
    """Minimum recognizer score for a span to be masked."""
    max_chars: int = Field(1_000_000, ge=1000)
    """Notes longer than this are refused with an error (no silent truncation)."""


class PhiReport(BaseModel):
    notes: int
    mode: str
    ner: bool
    detected_per_type: dict[str, int]
    gold_per_type: dict[str, int]
    gold_token_recall: float
    gold_span_recall: float
    residual_hits: int


def _values(text: str, spans: list[tuple[int, int]]) -> set[str]:
    """Identifying values of spans: at least 3 characters and not only generic words
    ("Clinic", "Emergency Department"), which surrogates may legitimately keep."""
    out = set()
    for a, b in spans:
        value = text[a:b].strip()
        words = {w.lower() for w in re.findall(r"[A-Za-z']+", value)}
        if len(value) >= 3 and not (words and words <= GENERIC_PLACE_WORDS | NOT_A_NAME):
            out.add(value)
    return out


def residual_hits(output: str, values: set[str]) -> int:
    """How many of `values` still occur in `output` as whole words (exact case)."""
    return sum(
        1 for v in values if re.search(rf"(?<![\w]){re.escape(v)}(?![\w])", output) is not None
    )


def _read_records(path: Path) -> list[CorpusRecord]:
    if not path.exists():
        raise DeidInputError(f"{path}: file not found (run `cds corpus` first)")
    records = []
    with path.open("rb") as f:
        for i, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DeidInputError(f"{path}: line {i}: not valid UTF-8") from None
            if not line.strip():
                continue
            try:
                records.append(CorpusRecord.model_validate_json(line))
            except ValidationError as e:
                raise DeidInputError(
                    f"{path}: line {i}: not a corpus record ({e.error_count()} errors)"
                ) from None
    if not records:
        raise DeidInputError(f"{path}: no records")
    return records


def deidentify_corpus(cfg: DeidConfig, show_progress: bool = True) -> PhiReport:
    """Run the stage. Raises DeidError on bad input, ResidualPhiError if PHI survives."""
    records = _read_records(cfg.in_file)
    for r in records:
        if len(r.note.text) > cfg.max_chars:
            raise DeidInputError(
                f"note {r.note.id}: {len(r.note.text)} chars > max_chars {cfg.max_chars}"
            )
    detector = PhiDetector(with_ner=cfg.ner, threshold=cfg.threshold)
    anonymizer = Anonymizer(load_key(), mode=cfg.mode)

    detections: list[list[Detection]] = []
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("Detecting PHI", total=len(records))
        batch = 64
        for i in range(0, len(records), batch):
            chunk = records[i : i + batch]
            detections.extend(detector.detect_batch([r.note.text for r in chunk]))
            progress.advance(task, len(chunk))

    out_records, leaks = [], []
    for r, found in zip(records, detections, strict=True):
        text = anonymizer.anonymize(r.note.text, found, r.note.patient_id)
        if text.count("\n") != r.note.text.count("\n"):
            raise DeidError(f"note {r.note.id}: anonymisation changed the line count")
        values = _values(r.note.text, [(s.start, s.end) for s in r.phi])
        values |= _values(r.note.text, [(d.start, d.end) for d in found])
        hits = residual_hits(text, values)
        if hits:
            leaks.append((r.note.id, hits))
        note = Note.from_text(r.note.id, r.note.patient_id, text)
        out_records.append(r.model_copy(update={"note": note, "phi": ()}))
    if leaks:
        ids = ", ".join(f"{nid} ({n})" for nid, n in leaks[:10])
        raise ResidualPhiError(
            f"residual PHI after anonymisation in {len(leaks)} note(s): {ids}; nothing written"
        )

    gold = [
        LabelledText(
            r.note.text, tuple(GoldSpan(s.start, s.end, s.type.value, s.type.value) for s in r.phi)
        )
        for r in records
    ]
    tokens, spans, _ = score(gold, detections)
    report = PhiReport(
        notes=len(records),
        mode=cfg.mode,
        ner=cfg.ner,
        detected_per_type=dict(sorted(Counter(d.type for ds in detections for d in ds).items())),
        gold_per_type=dict(sorted(Counter(s.type.value for r in records for s in r.phi).items())),
        gold_token_recall=tokens.recall,
        gold_span_recall=spans.recall,
        residual_hits=0,
    )
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    tmp = cfg.out_dir / "notes.jsonl.tmp"
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        for rec in out_records:
            f.write(rec.model_dump_json() + "\n")
    tmp.replace(cfg.out_dir / "notes.jsonl")
    (cfg.out_dir / "phi_report.json").write_text(report.model_dump_json(indent=2) + "\n")
    return report


def deidentify_text(text: str, patient_id: str, cfg: DeidConfig) -> tuple[str, list[Detection]]:
    """One text through detection and anonymisation (for `cds deid text`)."""
    if not text.strip():
        raise DeidError("empty input: nothing to de-identify")
    if len(text) > cfg.max_chars:
        raise DeidError(f"input is {len(text)} chars > max_chars {cfg.max_chars}")
    detector = PhiDetector(with_ner=cfg.ner, threshold=cfg.threshold)
    found = detector.detect(text)
    return Anonymizer(load_key(), mode=cfg.mode).anonymize(text, found, patient_id), found
