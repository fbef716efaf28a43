"""The condition vocabulary shared by the KB, the citation verifier and evaluation: each
DDXPlus condition's name, ICD-10 code, synonyms and the findings it explains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from cds.corpus.ddxplus import Knowledge, normalise_icd10
from cds.corpus.phrasing import Pronouns, statement

SYNONYMS_FILE = Path(__file__).parent / "data" / "condition_synonyms.yaml"
NEUTRAL = Pronouns("the patient", "the patient", "their")
_WORD = re.compile(r"[a-z][a-z0-9\-]+")
# Words of evidence questions that say nothing about a finding.
_FINDING_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "the patient their have has had does did are is was were you your any other than more "
        "less with without from into that this these those what which when where who how about "
        "been being some such very also there they them then over under after before during "
        "while because since usual usually recently recent last month week days ever currently "
        "previously still often significant significantly feel feels felt like pain "
        "characterize describe intensity scale",
    )
)


@dataclass(frozen=True)
class ConditionProfile:
    name: str
    icd10: str
    severity: int
    synonyms: tuple[str, ...]
    symptoms: tuple[str, ...]  # English statements of its typical findings
    antecedents: tuple[str, ...]
    described: tuple[str, ...] = ()  # what is usually characterised ("how intense the pain is")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)

    def finding_terms(self) -> frozenset[str]:
        """Content words of the findings it explains (for checking cited note lines)."""
        return frozenset(
            w
            for s in (*self.symptoms, *self.antecedents, *self.described)
            for w in _WORD.findall(s.lower())
            if w not in _FINDING_STOPWORDS and len(w) > 2
        )


@lru_cache(maxsize=1)
def synonyms() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8"))
    return {k: tuple(v or ()) for k, v in data.items()}


def profiles(kb: Knowledge) -> dict[str, ConditionProfile]:
    """One profile per condition of a DDXPlus release, keyed by condition name."""
    out = {}
    syn = synonyms()
    for name, c in kb.conditions.items():
        out[name] = ConditionProfile(
            name=c.name_en,
            icd10=normalise_icd10(c.icd10),
            severity=c.severity,
            synonyms=syn.get(c.name_en, ()),
            symptoms=tuple(_statements(kb, c.symptoms)),
            antecedents=tuple(_statements(kb, c.antecedents)),
            described=tuple(_described(kb, {**c.symptoms, **c.antecedents})),
        )
    return out


def _statements(kb: Knowledge, codes: dict) -> list[str]:
    """Yes/no evidences the phrasing rules can state as findings ("The patient has a cough.")."""
    out = []
    for code in codes:
        ev = kb.evidences.get(code)
        if ev is not None and ev.data_type == "B":
            text = statement(ev.question_en, NEUTRAL)
            if not text.startswith("Answered yes"):
                out.append(text)
    return out


def _described(kb: Knowledge, codes: dict) -> list[str]:
    """Everything else as what gets characterised: categorical and multi-valued evidences
    ("How intense is the pain?" -> "how intense the pain is") and yes/no questions the rules
    cannot state ("is their BMI less than 18.5, or are the patient underweight")."""
    out = []
    for code in codes:
        ev = kb.evidences.get(code)
        if ev is None:
            continue
        if ev.data_type == "B" and not statement(ev.question_en, NEUTRAL).startswith("Answered"):
            continue
        q = ev.question_en.strip().rstrip("?:").strip()
        q = re.sub(r"\byour\b", "their", q)
        q = re.sub(r"\byou\b", "the patient", q)
        m = re.match(r"^(How \w+|Where|What \w+|When) (is|are) (.+)$", q)
        if m:
            q = f"{m.group(1)} {m.group(3)} {m.group(2)}"
        out.append(q[0].lower() + q[1:])
    return out


def mentions(text: str, names: tuple[str, ...], icd10: str | None = None) -> bool:
    """Whether `text` names the condition (any of `names`, whole words, any case) or its
    ICD-10 code (category level: "J18.9" matches "J18")."""
    lowered = text.lower()
    for n in names:
        if re.search(rf"(?<![a-z0-9]){re.escape(n.lower())}(?![a-z0-9])", lowered):
            return True
    if icd10:
        category = icd10.split(".")[0].upper()
        if re.search(rf"\b{re.escape(category)}(?:\.\d+)?\b", text):
            return True
    return False
