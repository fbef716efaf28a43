"""Citation verification: every citation of every item must exist and support the item.

What LlamaIndex's citation engine leaves unchecked, checked here:
- a note citation must point at lines of the note (`exists`) that state findings the condition
  explains: the cited lines share a content word with the condition's typical symptoms and
  risk factors (`supports`);
- a KB citation must name a passage of the KB at that exact version, current or archived
  (`exists`), and the passage must be about the condition: it names the condition, a synonym or
  its ICD-10 category, or belongs to a document tagged with that condition (`supports`).

Unsupported citations are removed from the item and the item is flagged; an item left with no
citation is flagged for review. Each citation gets a structured verdict for the audit log and the
clinician view.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from cds.schemas import Citation, Differential, Note, NoteCitation, PassageCitation
from rag.conditions import ConditionProfile, mentions

_WORD = re.compile(r"[a-z][a-z0-9\-]+")


class PassageSource(Protocol):
    """Resolves a passage at a version: the KB (current index + version archive)."""

    def passage_at(self, doc_id: str, passage_id: str, version: str) -> PassageRecord | None: ...


class PassageRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    title: str
    condition: str | None
    icd10: str | None


class CitationVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    item: int  # 0-based index in the differential
    condition: str
    citation: Citation
    exists: bool
    supports: bool
    verdict: Literal["supported", "unsupported", "not_found"]
    reason: str


class ItemVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    item: int
    condition: str
    kept: int
    removed: int
    flagged: bool
    needs_review: bool


class Verification(BaseModel):
    model_config = ConfigDict(frozen=True)

    differential: Differential  # with unsupported citations removed
    citations: tuple[CitationVerdict, ...]
    items: tuple[ItemVerdict, ...]

    @property
    def all_supported(self) -> bool:
        return all(c.verdict == "supported" for c in self.citations)

    @property
    def needs_review(self) -> bool:
        return any(i.needs_review for i in self.items)


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 2}


def find_profile(
    condition: str, icd10: str, profiles: dict[str, ConditionProfile]
) -> ConditionProfile | None:
    """The profile named by the item: by name or synonym first, then by ICD-10 code."""
    key = condition.casefold().strip()
    for p in profiles.values():
        if key in (n.casefold() for n in p.names):
            return p
    for p in profiles.values():
        if p.icd10 == icd10.upper():
            return p
    return None


def _check_note(
    c: NoteCitation, note: Note, profile: ConditionProfile | None
) -> tuple[bool, bool, str]:
    if c.line_end > note.line_count:
        return (
            False,
            False,
            f"lines {c.line_start}-{c.line_end} past the note's {note.line_count}",
        )
    if profile is None:
        return True, False, "condition not in the KB vocabulary: findings cannot be checked"
    cited = " ".join(note.lines[i - 1].text for i in range(c.line_start, c.line_end + 1))
    shared = _terms(cited) & {_stem(t) for t in profile.finding_terms()}
    if not shared:
        return True, False, "cited lines state no finding the condition explains"
    return True, True, f"{len(shared)} finding term(s) shared"


def _check_passage(
    c: PassageCitation,
    kb: PassageSource,
    names: tuple[str, ...],
    icd10: str,
    profile: ConditionProfile | None,
) -> tuple[bool, bool, str]:
    if not c.passage_id.startswith(f"{c.doc_id}#"):
        return False, False, "passage id does not belong to the cited document"
    record = kb.passage_at(c.doc_id, c.passage_id, c.version)
    if record is None:
        return False, False, "no such passage at that version"
    if profile is not None and record.condition == profile.name:
        return True, True, "passage belongs to the condition's document"
    if mentions(f"{record.title}\n{record.text}", names, icd10):
        return True, True, "passage names the condition"
    return True, False, "passage is about another condition"


def verify(
    differential: Differential,
    note: Note,
    kb: PassageSource,
    profiles: dict[str, ConditionProfile],
) -> Verification:
    verdicts: list[CitationVerdict] = []
    item_verdicts: list[ItemVerdict] = []
    items = []
    for i, item in enumerate(differential.items):
        profile = find_profile(item.condition, item.icd10, profiles)
        names = profile.names if profile else (item.condition,)
        kept: list[Citation] = []
        for c in item.citations:
            if isinstance(c, NoteCitation):
                exists, supports, reason = _check_note(c, note, profile)
            else:
                exists, supports, reason = _check_passage(c, kb, names, item.icd10, profile)
            verdict = "supported" if supports else ("unsupported" if exists else "not_found")
            verdicts.append(
                CitationVerdict(
                    item=i,
                    condition=item.condition,
                    citation=c,
                    exists=exists,
                    supports=supports,
                    verdict=verdict,
                    reason=reason,
                )
            )
            if supports:
                kept.append(c)
        removed = len(item.citations) - len(kept)
        item_verdicts.append(
            ItemVerdict(
                item=i,
                condition=item.condition,
                kept=len(kept),
                removed=removed,
                flagged=removed > 0 or not kept,
                needs_review=not kept,
            )
        )
        items.append(item.model_copy(update={"citations": tuple(kept)}))
    cleaned = Differential(items=tuple(items))
    return Verification(differential=cleaned, citations=tuple(verdicts), items=tuple(item_verdicts))
