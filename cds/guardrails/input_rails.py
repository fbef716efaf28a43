"""Input rails: they read the note (and the retrieved passages) before the model does.

Order in `cds.pipeline`: PHI scrub first (every later rail, the model and the audit log see
de-identified text only), then crisis, scope, harmful request and prompt injection in the note;
after retrieval, prompt injection in the passages.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from cds.guardrails.base import RailOutcome
from cds.guardrails.classifiers import LinearClassifier
from cds.guardrails.embedding import TextEmbedder, sentences
from cds.schemas import Verdict

# Classic injection phrasing, checked deterministically beside the classifier. "act as" counts
# only as an instruction (sentence start, or after "you"/"please"): prose says "stress can act
# as a trigger". The last two lines catch text that steers the assistant's own output ("in your
# response", "modify your answer"): a note or a KB passage never addresses the reader's reply.
# Matches on BIPIA's attacks and on the repo's 34,984 benign texts (KB documents, notes,
# MedQuAD questions and answers, PhysioNet nursing notes): `python
# benchmarks/injection_pattern.py`, results in benchmarks/results/injection_pattern.json.
_OUTPUT = r"(answer|response|reply|output)s?"
INJECTION_PATTERN = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompt|rules|above|previous)\b"
    r"|\b(you are now|pretend (to be|you are)|role[- ]?play as)\b"
    r"|(^|[.!?:]\s*|\b(you|please|now)\s+((will|must|should|shall|can|to)\s+)?)act as\b"
    r"|\b(system prompt|developer mode|jailbreak)\b"
    r"|^\s*(system|assistant)\s*:"
    rf"|\b(in|into|to|within|throughout|from) your {_OUTPUT}\b"
    rf"|\b(modify|change|rewrite|alter|adjust|end|begin|start|conclude|format|update|make|keep"
    rf"|craft|frame|structure|tailor) your {_OUTPUT}\b",
    re.IGNORECASE | re.MULTILINE,
)
FIRST_PERSON = re.compile(r"\b(i|me|my|myself|mine|i'm|im|i've|ive|i'd|id|i'll)\b", re.IGNORECASE)
# Risk named in clinical documentation: a differential plus an urgent flag, never a refusal.
DOCUMENTED_RISK = re.compile(
    r"\b(suicid\w*|self[- ]harm\w*|self[- ]inflicted|overdos\w*|homicid\w*|SI/HI|"
    r"(?-i:SI|HI)\b|harm (to )?others|intent to (harm|kill)|cutting|hanging)\b",
    re.IGNORECASE,
)


def first_person_rate(text: str) -> float:
    words = len(text.split())
    return len(FIRST_PERSON.findall(text)) / words if words else 0.0


@dataclass(frozen=True)
class PatientText:
    text: str
    patient_id: str  # surrogates are consistent per patient


@dataclass
class PhiScrubRail:
    """De-identifies the text with the de-id engine; the replacement is the scrubbed text."""

    detector: object  # governance.deid.engine.PhiDetector
    anonymizer: object  # governance.deid.anonymize.Anonymizer
    name: str = "phi_scrub"
    stage: str = "input"

    def check(self, subject: PatientText) -> RailOutcome:
        text = subject.text
        found = self.detector.detect(text)
        if not found:
            return RailOutcome(Verdict.ALLOW, "no identifiers found", 0.0, text)
        scrubbed = self.anonymizer.anonymize(text, found, subject.patient_id)
        counts = Counter(d.type for d in found)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        return RailOutcome(
            Verdict.MODIFY, f"{len(found)} identifiers replaced ({summary})", None, scrubbed
        )


@dataclass
class CrisisRail:
    """First-person disclosure of suicidal ideation, behaviour or an attempt -> `crisis` (fixed
    message, human alert, no model output). A clinician's note that documents such risk is a
    clinical case: it goes on to the model with an `urgent` flag and priority review."""

    classifier: LinearClassifier
    embedder: TextEmbedder
    min_first_person_rate: float = 0.02
    name: str = "crisis"
    stage: str = "input"

    def check(self, text: str) -> RailOutcome:
        score = float(self.classifier.scores(self.embedder.pooled([text]))[0])
        rate = first_person_rate(text)
        if score >= self.classifier.threshold and rate >= self.min_first_person_rate:
            return RailOutcome(
                Verdict.ESCALATE,
                f"first-person disclosure of suicide or self-harm risk (score {score:.2f}, "
                f"first-person rate {rate:.3f}): crisis response",
                score,
                flag="crisis",
            )
        documented = len(DOCUMENTED_RISK.findall(text))
        if documented or score >= self.classifier.threshold:
            return RailOutcome(
                Verdict.ESCALATE,
                f"note documents suicide, self-harm or violence risk ({documented} mentions, "
                f"score {score:.2f}): urgent clinician review",
                score,
                flag="urgent",
            )
        return RailOutcome(Verdict.ALLOW, f"no crisis content (score {score:.2f})", score)


@dataclass
class ClassifierRail:
    """Blocks text the classifier scores at or above its threshold (scope, harmful request)."""

    name: str
    classifier: LinearClassifier
    embedder: TextEmbedder
    block_reason: str
    stage: str = "input"

    def check(self, text: str) -> RailOutcome:
        score = float(self.classifier.scores(self.embedder.pooled([text]))[0])
        if score >= self.classifier.threshold:
            return RailOutcome(Verdict.BLOCK, f"{self.block_reason} (score {score:.2f})", score)
        return RailOutcome(Verdict.ALLOW, f"below threshold (score {score:.2f})", score)


def injection_scores(
    text_units: list[str], classifier: LinearClassifier, embedder: TextEmbedder
) -> list[float]:
    """Per unit (line or passage), the highest injection score of its sentences; a pattern hit
    scores 1."""
    unit_segments = [sentences(u) if u.strip() else [] for u in text_units]
    flat = [s for segs in unit_segments for s in segs]
    scores = classifier.scores(embedder.encode(flat)) if flat else np.zeros(0)
    out, i = [], 0
    for unit, segs in zip(text_units, unit_segments, strict=True):
        best = float(scores[i : i + len(segs)].max()) if segs else 0.0
        i += len(segs)
        out.append(1.0 if INJECTION_PATTERN.search(unit) else best)
    return out


REMOVED_LINE = "[line withheld from the model: instruction-like text]"


@dataclass
class NoteInjectionRail:
    """Lines that read as instructions to an assistant are withheld from the model (the line
    numbers stay, so citations still point at the right lines) and the case goes to review."""

    classifier: LinearClassifier
    embedder: TextEmbedder
    name: str = "note_injection"
    stage: str = "input"

    def check(self, text: str) -> RailOutcome:
        lines = text.split("\n")
        scores = injection_scores(lines, self.classifier, self.embedder)
        hits = [i for i, s in enumerate(scores) if s >= self.classifier.threshold]
        top = max(scores, default=0.0)
        if not hits:
            return RailOutcome(Verdict.ALLOW, f"no instruction-like lines (max {top:.2f})", top)
        kept = [REMOVED_LINE if i in hits else ln for i, ln in enumerate(lines)]
        numbers = ", ".join(str(i + 1) for i in hits[:10])
        return RailOutcome(
            Verdict.ESCALATE,
            f"instruction-like text on line(s) {numbers} withheld from the model",
            top,
            "\n".join(kept),
        )


@dataclass
class PassageIntegrityRail:
    """A retrieved passage must read exactly as the vetted KB holds it at its version (the
    version archive of the `kb` stage). Text that differs (a tampered index, a poisoned store)
    is dropped from the prompt and the case goes to review."""

    kb: object  # rag.kb.KnowledgeBase
    name: str = "passage_integrity"
    stage: str = "input"

    def check(self, passages: list) -> RailOutcome:
        bad = [
            p.passage_id
            for p in passages
            if self.kb.archive.passage(p.doc_id, p.version, p.passage_id) != p.text
        ]
        if not bad:
            return RailOutcome(
                Verdict.ALLOW,
                f"{len(passages)} passages match their vetted versions",
                0.0,
                passages,
            )
        return RailOutcome(
            Verdict.ESCALATE,
            f"passage(s) {', '.join(bad)} differ from the vetted text: dropped from the prompt",
            1.0,
            [p for p in passages if p.passage_id not in bad],
        )


@dataclass
class PassageInjectionRail:
    """Retrieved passages that carry instructions are dropped from the prompt and the case goes
    to review: a vetted KB that holds an injection is itself an incident."""

    classifier: LinearClassifier
    embedder: TextEmbedder
    name: str = "passage_injection"
    stage: str = "input"

    def check(self, passages: list) -> RailOutcome:
        if not passages:
            return RailOutcome(Verdict.ALLOW, "no passages retrieved", 0.0, passages)
        scores = injection_scores([p.text for p in passages], self.classifier, self.embedder)
        bad = [
            p.passage_id
            for p, s in zip(passages, scores, strict=True)
            if s >= self.classifier.threshold
        ]
        top = max(scores)
        if not bad:
            return RailOutcome(
                Verdict.ALLOW, f"{len(passages)} passages clean (max {top:.2f})", top, passages
            )
        kept = [p for p in passages if p.passage_id not in bad]
        return RailOutcome(
            Verdict.ESCALATE,
            f"instruction-like text in passage(s) {', '.join(bad)}: dropped from the prompt",
            top,
            kept,
        )
