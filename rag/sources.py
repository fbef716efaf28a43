"""Where KB documents come from: one condition sheet per DDXPlus pathology, and the NIH
consumer-health answers of MedQuAD. Each source carries its publisher, licence and approval
(who vetted it, when); see `KbSource` in `rag.build`."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

from cds.corpus.ddxplus import Knowledge
from rag.conditions import ConditionProfile
from rag.documents import Approval, KbDocument
from rag.errors import KbError

DDXPLUS_URL = "https://figshare.com/articles/dataset/DDXPlus_Dataset/20043374"
MEDQUAD_PUBLISHERS = {
    "CancerGov": "National Cancer Institute (NIH)",
    "GARD": "Genetic and Rare Diseases Information Center (NIH)",
    "GHR": "Genetics Home Reference (NIH NLM)",
    "MPlusHealthTopics": "MedlinePlus (NIH NLM)",
    "NIDDK": "National Institute of Diabetes and Digestive and Kidney Diseases (NIH)",
    "NINDS": "National Institute of Neurological Disorders and Stroke (NIH)",
    "NIHSeniorHealth": "NIHSeniorHealth (NIH)",
    "NHLBI": "National Heart, Lung, and Blood Institute (NIH)",
    "CDC": "Centers for Disease Control and Prevention",
}
SEVERITY_TEXT = {
    1: "life-threatening: needs emergency care",
    2: "severe: needs urgent assessment",
    3: "moderate",
    4: "mild",
    5: "minor, usually self-limiting",
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def condition_sheet_text(p: ConditionProfile) -> str:
    """A plain-text sheet in three sections; each becomes at least one passage."""
    names = f" Also called: {', '.join(p.synonyms)}." if p.synonyms else ""
    overview = (
        f"{p.name} (ICD-10 {p.icd10}).{names} Severity: {SEVERITY_TEXT.get(p.severity, 'unknown')}."
    )
    symptoms = " ".join(p.symptoms) or "No typical findings recorded."
    antecedents = " ".join(p.antecedents) or "No typical risk factors recorded."
    described = f" Usually characterised: {'; '.join(p.described)}." if p.described else ""
    return (
        f"{overview}\n\nTypical symptoms and signs of {p.name}: {symptoms}{described}\n\n"
        f"Risk factors and history that make {p.name} more likely: {antecedents}"
    )


def condition_sheets(
    kb: Knowledge,
    profiles: dict[str, ConditionProfile],
    approval: Approval,
    approver: str | None,
    approved_on: str | None,
) -> Iterator[KbDocument]:
    for key in sorted(kb.conditions):
        p = profiles[key]
        title = f"{p.name}: condition sheet"
        text = condition_sheet_text(p)
        yield KbDocument(
            doc_id=f"ddx-{slug(p.name)}",
            title=title,
            text=text,
            source_url=DDXPLUS_URL,
            publisher="DDXPlus (Fansi Tchango et al., NeurIPS 2022)",
            licence="CC BY 4.0",
            version=KbDocument.content_version(title, text),
            approval=approval,
            approver=approver,
            approved_on=approved_on,
            condition=p.name,
            icd10=p.icd10,
        )


def read_medquad(path: Path) -> Iterator[dict]:
    """Records of the MedQuAD JSONL (optionally gzipped) export."""
    if not path.exists():
        raise KbError(f"{path}: file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for i, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise KbError(f"{path}: line {i}: invalid JSON") from e
                if not all(k in rec for k in ("qid", "question", "answer", "url", "source")):
                    raise KbError(f"{path}: line {i}: missing qid/question/answer/url/source")
                yield rec
    except (OSError, UnicodeDecodeError) as e:
        raise KbError(f"{path}: unreadable ({type(e).__name__})") from e


def medquad_documents(
    path: Path,
    profiles: dict[str, ConditionProfile],
    only_conditions: bool,
    approval: Approval,
    approver: str | None,
    approved_on: str | None,
) -> Iterator[KbDocument]:
    """One document per MedQuAD question-answer pair. With `only_conditions`, only pairs whose
    focus names a known condition (or a synonym) are kept, tagged with that condition."""
    by_name = sorted(profiles.values(), key=lambda p: p.name)
    for rec in read_medquad(path):
        focus = rec.get("focus") or ""
        condition = next((p for p in by_name if _focus_matches(focus, p)), None)
        if only_conditions and condition is None:
            continue
        title = rec["question"].strip()
        text = re.sub(r"[ \t]+", " ", rec["answer"]).strip()
        yield KbDocument(
            doc_id=f"medquad-{rec['qid']}",
            title=title,
            text=text,
            source_url=rec["url"],
            publisher=MEDQUAD_PUBLISHERS.get(rec["source"], rec["source"]),
            licence="CC BY 4.0 (MedQuAD, Ben Abacha & Demner-Fushman 2019)",
            version=KbDocument.content_version(title, text),
            approval=approval,
            approver=approver,
            approved_on=approved_on,
            condition=condition.name if condition else None,
            icd10=condition.icd10 if condition else None,
        )


def _focus_matches(focus: str, p: ConditionProfile) -> bool:
    """The page's topic is the condition itself, not a variant that merely contains its name
    ("Fanconi anemia" is not "Anemia"): the focus, minus a parenthesised abbreviation, equals
    one of the condition's names."""
    core = re.sub(r"\s*\(.*?\)\s*", " ", focus).strip().lower()
    return any(core == n.lower() for n in p.names)
