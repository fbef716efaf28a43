"""Output rails: they read the model's differential before anyone else does.

Order in `cds.pipeline`: schema, citations (KB passages attached by code, then every citation
verified by `rag.verify`), medication/dose filter, safety classifier; the disclaimer rail runs on
the assembled suggestion last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cds.guardrails.base import RailOutcome
from cds.guardrails.classifiers import LinearClassifier
from cds.guardrails.embedding import TextEmbedder
from cds.schemas import (
    DISCLAIMER,
    DiagnosisItem,
    Differential,
    Note,
    PassageCitation,
    Suggestion,
    Verdict,
)

DOSE = re.compile(
    r"\b\d+(\.\d+)?\s*(mg|mcg|µg|ug|g|ml|mL|units?|iu|IU|mEq|mmol|tabs?|tablets?|puffs?)\b"
    r"|\b(q\d+h|bid|tid|qid|qhs|prn|po|iv|im|sc|subq)\b"
    r"|\b(prescrib\w*|administer\w*|dos(e|es|ing|age)|titrat\w*|take \d|start(ed)? on)\b",
    re.IGNORECASE,
)
WITHHELD_RATIONALE = "[rationale withheld: it contained medication or dosing text]"


@dataclass(frozen=True)
class OutputSubject:
    differential: Differential
    note: Note
    passages: tuple = ()  # rag.retrieve.Passage


@dataclass
class SchemaRail:
    """Re-validates the differential against the note and the configured condition list."""

    conditions: dict[str, str]  # name -> ICD-10
    name: str = "schema"
    stage: str = "output"

    def check(self, subject: OutputSubject) -> RailOutcome:
        d = Differential.model_validate(
            subject.differential.model_dump(), context={"note_line_count": subject.note.line_count}
        )
        unknown = [i.condition for i in d.items if self.conditions.get(i.condition) != i.icd10]
        if unknown:
            return RailOutcome(Verdict.BLOCK, f"{len(unknown)} item(s) outside the condition list")
        return RailOutcome(Verdict.ALLOW, f"{len(d.items)} items valid", None, d)


@dataclass
class CitationRail:
    """Adds, per item, the retrieved passages about its condition as KB citations, then verifies
    every citation (`rag.verify`): unsupported ones are removed; an item left without support
    sends the case to review."""

    kb: object  # rag.kb.KnowledgeBase
    name: str = "citations"
    stage: str = "output"

    def check(self, subject: OutputSubject) -> RailOutcome:
        from rag.verify import find_profile

        items = []
        for item in subject.differential.items:
            profile = find_profile(item.condition, item.icd10, self.kb.profiles)
            names = {n.casefold() for n in (profile.names if profile else (item.condition,))}
            kb_citations = tuple(
                PassageCitation(doc_id=p.doc_id, passage_id=p.passage_id, version=p.version)
                for p in subject.passages
                if (p.condition or "").casefold() in names
            )
            items.append(item.model_copy(update={"citations": item.citations + kb_citations}))
        cited = Differential(items=tuple(items))
        result = self.kb.verify(cited, subject.note)
        removed = sum(1 for c in result.citations if c.verdict != "supported")
        total = len(result.citations)
        details = {
            "citations": total,
            "existing": sum(1 for c in result.citations if c.exists),
            "supported": total - removed,
            "note_citations": sum(1 for c in result.citations if c.citation.kind == "note"),
        }
        if result.needs_review:
            flagged = sum(1 for i in result.items if i.needs_review)
            return RailOutcome(
                Verdict.ESCALATE,
                f"{flagged} item(s) without supported citations ({removed}/{total} removed)",
                None,
                result.differential,
                details=details,
            )
        if removed:
            return RailOutcome(
                Verdict.MODIFY,
                f"{removed}/{total} unsupported citations removed",
                None,
                result.differential,
                details=details,
            )
        return RailOutcome(
            Verdict.ALLOW, f"all {total} citations supported", None, result.differential,
            details=details,
        )


@dataclass
class MedicationRail:
    """A diagnostic suggestion carries no doses and no prescribing instructions: such rationale
    text is withheld and the change recorded."""

    name: str = "medication"
    stage: str = "output"

    def check(self, subject: OutputSubject) -> RailOutcome:
        items: list[DiagnosisItem] = []
        hits = 0
        for item in subject.differential.items:
            if DOSE.search(item.rationale) or DOSE.search(item.condition):
                hits += 1
                item = item.model_copy(update={"rationale": WITHHELD_RATIONALE})
            items.append(item)
        if not hits:
            return RailOutcome(
                Verdict.ALLOW, "no medication or dosing text", 0.0, subject.differential
            )
        return RailOutcome(
            Verdict.MODIFY,
            f"{hits} rationale(s) withheld for dosing text",
            None,
            Differential(items=tuple(items)),
        )


@dataclass
class OutputSafetyRail:
    """The safety classifier on everything the model wrote (rationales)."""

    classifier: LinearClassifier
    embedder: TextEmbedder
    name: str = "output_safety"
    stage: str = "output"

    def check(self, subject: OutputSubject) -> RailOutcome:
        text = "\n".join(f"{i.condition}: {i.rationale}" for i in subject.differential.items)
        score = float(self.classifier.scores(self.embedder.pooled([text]))[0])
        if score >= self.classifier.threshold:
            return RailOutcome(Verdict.BLOCK, f"model text scored unsafe ({score:.2f})", score)
        return RailOutcome(
            Verdict.ALLOW, f"model text safe (score {score:.2f})", score, subject.differential
        )


@dataclass
class DisclaimerRail:
    """The disclaimer is added by code; a suggestion without it exactly does not go out."""

    name: str = "disclaimer"
    stage: str = "output"

    def check(self, suggestion: Suggestion) -> RailOutcome:
        if suggestion.disclaimer != DISCLAIMER:
            return RailOutcome(Verdict.BLOCK, "mandatory disclaimer missing or altered")
        return RailOutcome(Verdict.ALLOW, "disclaimer present")
