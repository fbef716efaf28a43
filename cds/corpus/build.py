"""The `corpus` stage: DDXPlus patients -> `data/raw/notes.jsonl` (+ quarantine, stats).

Invalid source rows are written to the quarantine file with their reason and counted in the
stats; nothing is dropped silently. Splits are by patient, stratified by pathology, in the
proportions of the config, and depend only on the seed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.progress import Progress

from cds.corpus.ddxplus import Knowledge, Patient, RejectedRow, load_knowledge, read_patients
from cds.corpus.render import patient_key, render_note
from cds.schemas import CorpusRecord, GoldDiagnosis, Note

SplitName = Literal["train", "validation", "test"]


class SplitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    train: float = Field(0.8, gt=0, lt=1)
    validation: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.1, gt=0, lt=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train+validation+test = {total}, must be 1")
        return self


class CorpusConfig(BaseModel):
    """`corpus:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_dir: Path = Path("data/external/ddxplus")
    """DDXPlus release folder (conditions, evidences, patients CSV)."""
    patients_file: str = "release_test_patients_subset.csv"
    """Patient CSV inside `source_dir`, with DDXPlus's columns."""
    out_dir: Path = Path("data/raw")
    """Where notes.jsonl, quarantine.jsonl and corpus_stats.json are written."""
    seed: int = 1234
    """Seeds every random choice: the same seed gives byte-identical output."""
    max_patients: int | None = Field(None, ge=1)
    """Use only the first N valid patients (None: all)."""
    split: SplitConfig = SplitConfig()


class CorpusStats(BaseModel):
    notes: int
    quarantined: int
    quarantine_reasons: dict[str, int]
    per_split: dict[str, int]
    per_pathology: dict[str, int]
    phi_spans_per_type: dict[str, int]


def build_record(patient: Patient, kb: Knowledge, seed: int, split: SplitName) -> CorpusRecord:
    """One patient -> one validated corpus record (also used by external evaluation)."""
    rendered = render_note(patient, kb, seed)
    key = patient_key(seed, patient.row)
    note = Note.from_text(id=f"note-{key[3:]}", patient_id=key, text=rendered.text)
    return CorpusRecord(
        note=note,
        split=split,
        age=patient.age,
        sex=patient.sex,
        pathology=patient.pathology,
        icd10=kb.icd10(patient.pathology),
        differential=tuple(
            GoldDiagnosis(condition=c, probability=p) for c, p in patient.differential
        ),
        evidence_lines=rendered.evidence_lines,
        phi=rendered.phi,
        source_row=patient.row,
    )


def assign_splits(patients: list[Patient], cfg: CorpusConfig) -> dict[int, SplitName]:
    """Stratified by pathology; within a pathology, patients are ordered by a seeded hash."""
    by_pathology: dict[str, list[Patient]] = defaultdict(list)
    for p in patients:
        by_pathology[p.pathology].append(p)
    out: dict[int, SplitName] = {}
    for group in by_pathology.values():
        group.sort(key=lambda p: hashlib.sha256(f"split:{cfg.seed}:{p.row}".encode()).hexdigest())
        n = len(group)
        n_test = round(n * cfg.split.test) if n >= 3 else 0
        n_val = round(n * cfg.split.validation) if n >= 3 else 0
        for i, p in enumerate(group):
            out[p.row] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return out


def _write_jsonl(path: Path, rows: Iterable[str]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(row + "\n")
    tmp.replace(path)


def build_corpus(cfg: CorpusConfig, show_progress: bool = True) -> CorpusStats:
    """Run the corpus stage.

    Raises:
        SourceDataError: a source file is missing or malformed (names the file).
    """
    kb = load_knowledge(cfg.source_dir)
    patients: list[Patient] = []
    rejected: list[RejectedRow] = []
    for item in read_patients(cfg.source_dir / cfg.patients_file, kb):
        if isinstance(item, RejectedRow):
            rejected.append(item)
        elif cfg.max_patients is None or len(patients) < cfg.max_patients:
            patients.append(item)
    splits = assign_splits(patients, cfg)

    records: list[CorpusRecord] = []
    with Progress(disable=not show_progress, transient=True) as progress:
        task = progress.add_task("Rendering notes", total=len(patients))
        for p in patients:
            records.append(build_record(p, kb, cfg.seed, splits[p.row]))
            progress.advance(task)

    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(cfg.out_dir / "notes.jsonl", (r.model_dump_json() for r in records))
    _write_jsonl(
        cfg.out_dir / "quarantine.jsonl",
        (json.dumps({"source_row": r.row, "reason": r.reason}) for r in rejected),
    )
    phi_counts = Counter(span.type.value for r in records for span in r.phi)
    stats = CorpusStats(
        notes=len(records),
        quarantined=len(rejected),
        quarantine_reasons=dict(sorted(Counter(r.reason for r in rejected).items())),
        per_split=dict(sorted(Counter(r.split for r in records).items())),
        per_pathology=dict(sorted(Counter(r.pathology for r in records).items())),
        phi_spans_per_type=dict(sorted(phi_counts.items())),
    )
    (cfg.out_dir / "corpus_stats.json").write_text(stats.model_dump_json(indent=2) + "\n")
    return stats


def spread(records: list[CorpusRecord], limit: int | None = None) -> list[CorpusRecord]:
    """`records` in a fixed pseudo-random order (SHA-256 of the note id), then the first `limit`.

    `notes.jsonl` is grouped by condition, so its first N notes of a split cover only the first
    few conditions of the alphabet. Every consumer that takes a slice (training records,
    calibration, evaluation, benchmarks) takes it from this order instead: it spreads over all
    conditions and is the same on every run and machine.
    """
    ordered = sorted(records, key=lambda r: hashlib.sha256(r.note.id.encode()).hexdigest())
    return ordered if limit is None else ordered[:limit]


def read_corpus(path: Path, split: SplitName | None = None) -> list[CorpusRecord]:
    """Load `notes.jsonl` (optionally one split) as validated records."""
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            record = CorpusRecord.model_validate_json(line)
            if split is None or record.split == split:
                out.append(record)
    return out
