"""Evaluation sets, each read from a path in the format of the shared data:

- a corpus split (`data/raw/notes.jsonl`: notes with gold PHI, pathology and differential);
- `--ddxplus FILE.csv`: any CSV with DDXPlus's patient columns; notes are built from it exactly
  as the `corpus` stage builds them (fresh synthetic PHI, same seed rule);
- `--vignettes FILE.jsonl`: free-text cases `{"case_description", "correct_diagnosis"}`. The
  gold diagnosis is matched to the model's condition list (`match_condition`); one outside the
  list stays a case (and a miss) and is counted separately.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cds.corpus import CorpusConfig, build_corpus, read_corpus, spread
from cds.errors import SourceDataError

DDXPLUS_METADATA = ("release_conditions.json", "release_evidences.json")


@dataclass(frozen=True)
class EvalCase:
    case_id: str
    text: str
    patient_id: str
    gold: str  # the gold diagnosis as the set states it
    pathology: str | None  # the same, in the model's condition list; None: outside it
    differential: tuple[tuple[str, float], ...] = ()  # gold differential (DDXPlus), if any
    sex: str | None = None
    age: int | None = None
    phi: tuple[str, ...] = ()  # gold PHI values in `text`


def corpus_cases(notes_file: Path, split: str | None, limit: int | None) -> list[EvalCase]:
    if not notes_file.exists():
        raise SourceDataError(f"{notes_file}: not found (run `cds corpus` first)")
    cases = []
    for r in spread(read_corpus(notes_file, split), limit):
        text = r.note.text
        cases.append(EvalCase(
            case_id=r.note.id, text=text, patient_id=r.note.patient_id, gold=r.pathology,
            pathology=r.pathology,
            differential=tuple((d.condition, d.probability) for d in r.differential),
            sex=r.sex, age=r.age, phi=tuple(text[p.start:p.end] for p in r.phi),
        ))
    return cases


def ddxplus_cases(csv_file: Path, ddxplus_dir: Path, limit: int | None, seed: int = 1234
                  ) -> list[EvalCase]:
    """Notes built from an external DDXPlus-format CSV (all its valid rows, every split)."""
    if not csv_file.is_file():
        raise SourceDataError(f"{csv_file}: not found")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source"
        source.mkdir()
        for name in DDXPLUS_METADATA:
            (source / name).symlink_to((ddxplus_dir / name).resolve())
        _sample_csv(csv_file, source / "patients.csv", limit)
        cfg = CorpusConfig(source_dir=source, patients_file="patients.csv",
                           out_dir=Path(tmp) / "raw", seed=seed)
        build_corpus(cfg, show_progress=False)
        return corpus_cases(cfg.out_dir / "notes.jsonl", None, limit)


def _spread_indices(count: int, limit: int | None) -> list[int]:
    """`limit` of `count` row numbers in a fixed pseudo-random choice (SHA-256 of the number),
    in file order. External files are often sorted by diagnosis, so their first rows would
    cover one or two conditions (`cds.corpus.spread` does the same for our corpus)."""
    if limit is None or limit >= count:
        return list(range(count))
    chosen = sorted(range(count), key=lambda i: hashlib.sha256(str(i).encode()).hexdigest())
    return sorted(chosen[:limit])


def _sample_csv(csv_file: Path, out: Path, limit: int | None) -> None:
    try:
        with csv_file.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:  # one line, as the corpus reader says it
        raise SourceDataError(f"{csv_file}: not a UTF-8 CSV ({type(e).__name__})") from e
    header, body = rows[:1], rows[1:]
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(header + [body[i] for i in _spread_indices(len(body), limit)])


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.casefold()))


def match_condition(gold: str, profiles: dict) -> str | None:
    """The model's condition that a free-text gold diagnosis names, by this rule, first match
    wins: (1) the text equals a condition's name or synonym (case-insensitive); (2) it contains
    the condition's ICD-10 code; (3) every word of one of the condition's names occurs in it
    (the longest such name wins, so "acute pulmonary edema" beats "edema"). None: outside the
    model's list."""
    text = gold.strip().casefold()
    for p in profiles.values():
        if text in {n.casefold() for n in p.names}:
            return p.name
    for p in profiles.values():
        code = p.icd10.casefold()
        if code and re.search(rf"(?<![a-z0-9]){re.escape(code)}(?![0-9])", text):
            return p.name
    words = _words(text)
    best, best_len = None, 0
    for p in profiles.values():
        for n in p.names:
            w = _words(n)
            if w and w <= words and len(w) > best_len:
                best, best_len = p.name, len(w)
    return best


def vignette_cases(path: Path, profiles: dict, limit: int | None) -> list[EvalCase]:
    if not path.is_file():
        raise SourceDataError(f"{path}: not found")
    cases = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, gold = str(row["case_description"]), str(row["correct_diagnosis"])
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise SourceDataError(f"{path}:{n}: needs case_description and "
                                      f"correct_diagnosis ({type(e).__name__})") from e
            cases.append(EvalCase(case_id=str(row.get("id", f"vignette-{n}")), text=text,
                                  patient_id=f"vignette-{n}", gold=gold,
                                  pathology=match_condition(gold, profiles)))
    return [cases[i] for i in _spread_indices(len(cases), limit)]
