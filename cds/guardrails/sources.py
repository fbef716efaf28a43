"""Texts the rails' classifiers learn from and the red-team suite measures on.

Every set is read from a path in the format of the shared data sets, so the same code runs on
data the project never saw. Held-out parts (`part="dev"`) are never used for training:
- MedSafetyBench: rows whose `row` is a multiple of 5 (20 %);
- BIPIA attacks: the last 3 of the 15 categories (by file order), whole categories;
- C-SSRS users: every 5th user (20 %), stratified by file order.
Harmful and crisis texts are only ever embedded or counted here; nothing prints them.
"""

from __future__ import annotations

import ast
import csv
import gzip
import json
import random
import re
from pathlib import Path
from typing import Literal

from cds.corpus import read_corpus, spread
from cds.corpus.build import SplitName
from cds.errors import SourceDataError

Part = Literal["train", "dev", "all"]
CRISIS_LABELS = frozenset({"Ideation", "Behavior", "Attempt"})
CSSRS_LABELS = CRISIS_LABELS | {"Supportive", "Indicator"}
DEV_BIPIA_CATEGORIES = 3


def _in_part(index: int, part: Part, every: int = 5) -> bool:
    dev = index % every == 0
    return part == "all" or (part == "dev") == dev


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        raise SourceDataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceDataError(f"{path}: not JSON lines ({type(e).__name__})") from None


def medsafetybench_requests(path: Path, part: Part = "train") -> list[str]:
    rows = read_jsonl(path)
    return [r["harmful_medical_request"] for r in rows if _in_part(int(r["row"]), part)]


def hh_rlhf_requests(path: Path) -> list[str]:
    """First human turn of each conversation (red-team prompts on health and self-harm)."""
    out = []
    for r in read_jsonl(path):
        m = re.search(r"Human:(.*?)(?:\n\nAssistant:|$)", r["chosen"], re.S)
        if m and m.group(1).strip():
            out.append(m.group(1).strip())
    return out


def bipia_attacks(path: Path, part: Part = "train") -> list[tuple[str, str]]:
    """(category, instruction) pairs from a BIPIA `text_attack_*.json` file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceDataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceDataError(f"{path}: not JSON ({type(e).__name__})") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise SourceDataError(f"{path}: expected {{category: [instruction, ...]}}")
    categories = list(data)
    if part == "all":
        keep = categories
    elif part == "dev":
        keep = categories[-DEV_BIPIA_CATEGORIES:]
    else:
        keep = categories[:-DEV_BIPIA_CATEGORIES]
    return [(c, str(text)) for c in keep for text in data[c]]


def bipia_emails(path: Path) -> list[str]:
    """E-mail bodies and questions: text that is plainly not a clinical note."""
    out = []
    for r in read_jsonl(path):
        out.append(str(r.get("context", "")).replace("|", "\n"))
        out.append(str(r.get("question", "")))
    return [t for t in out if t.strip()]


def _posts(cell: str) -> list[str]:
    try:
        value = ast.literal_eval(cell)
        if isinstance(value, list | tuple):
            return [str(p) for p in value if str(p).strip()]
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    # A few rows are not valid Python literals: split leniently on the list separators.
    return [p for p in re.split(r"['\"],\s*['\"]", cell.strip("[]'\" ")) if p.strip()]


def cssrs_users(path: Path, part: Part = "all") -> list[tuple[str, str, str]]:
    """(user id, label, posts joined by blank lines) per row of the C-SSRS CSV."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise SourceDataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SourceDataError(f"{path}: not a CSV file ({type(e).__name__})") from None
    if rows and not {"User", "Post", "Label"} <= set(rows[0]):
        raise SourceDataError(f"{path}: needs the columns User, Post, Label")
    out = []
    for i, r in enumerate(rows):
        if r["Label"] not in CSSRS_LABELS:
            raise SourceDataError(f"{path}: row {i + 2}: unknown label {r['Label']!r}")
        if _in_part(i, part):
            out.append((r["User"], r["Label"], "\n\n".join(_posts(r["Post"]))))
    return out


def medquad_questions(path: Path, limit: int, seed: int = 0) -> list[str]:
    questions = sorted({r["question"] for r in read_jsonl(path) if r.get("question")})
    random.Random(seed).shuffle(questions)
    return questions[:limit]


def pubmedqa_questions(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise SourceDataError(f"{path}: cannot read ({type(e).__name__})") from None
    return [v["QUESTION"] for v in data.values()]


def physionet_notes(path: Path, limit: int) -> list[str]:
    return [r["text"] for r in read_jsonl(path)[:limit]]


def corpus_notes(path: Path, split: SplitName, limit: int | None = None) -> list[str]:
    if not path.exists():
        raise SourceDataError(f"{path}: file not found (run `cds deid run` first)")
    return [r.note.text for r in spread(read_corpus(path, split), limit)]


def kb_passages(path: Path) -> list[str]:
    return [r["text"] for r in read_jsonl(path)]
