"""`suggest(note) -> Suggestion`: the one place where the steps are composed.

validate input -> PHI scrub -> crisis, scope, harmful-request and injection rails -> condition
ranker's candidates -> retrieve -> passage integrity and injection rails -> generate
(schema-constrained, among the candidates) -> list the candidates the model left out -> schema,
citation, medication and safety rails -> calibrate (items re-ranked by calibrated probability)
-> disclaimer rail -> route.

Routes: `crisis` (first-person risk disclosure: fixed message, alert, no model call), `blocked`
(a rail blocked the input or the output: fixed message, no model text), `review` (any rail
escalated or failed, generation failed, or calibrated confidence is low) and `auto`. Every step
emits one event to the `EventSink` (the audit log, issue 7); payloads carry hashes, counts, ids
and de-identified text, never the raw note.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from audit.canonical import canonical_json
from cds.config import load_section
from cds.events import EventSink
from cds.guardrails.base import RailRun, run_rail
from cds.guardrails.calibration import CalibrationError, Calibrator, load_calibrator
from cds.guardrails.classifiers import GuardrailModels, load_models
from cds.guardrails.input_rails import (
    ClassifierRail,
    CrisisRail,
    NoteInjectionRail,
    PassageInjectionRail,
    PassageIntegrityRail,
    PatientText,
    PhiScrubRail,
)
from cds.guardrails.output_rails import (
    CitationRail,
    DisclaimerRail,
    MedicationRail,
    OutputSafetyRail,
    OutputSubject,
    SchemaRail,
)
from cds.schemas import (
    DISCLAIMER,
    MAX_DIFFERENTIAL_ITEMS,
    DiagnosisItem,
    Differential,
    GuardrailDecision,
    Note,
    Suggestion,
    Verdict,
)
from cds.text_input import decode_or_reject
from governance.deid.stage import DeidConfig

CRISIS_MESSAGE = (
    "This text may describe a risk of suicide or self-harm. It has been escalated to a clinician "
    "now. If you are in immediate danger, call your local emergency number (in the US, call or "
    "text 988, the Suicide & Crisis Lifeline)."
)
CANDIDATE_RATIONALE = (
    "Not assessed by the model: candidate {rank} for this note ({source}). "
    "Check the cited passage against the note."
)
BLOCKED_MESSAGE = (
    "This request is outside what this tool does: it suggests a differential diagnosis from a "
    "clinical note for a clinician to review. Nothing was generated."
)


class SuggestConfig(BaseModel):
    """`suggest:` section of params.yaml (the `kb:` section of the same file is read too)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_model: Path = Path("artifacts/base")
    adapter: Path | None = Path("artifacts/adapter/dpo")
    ddxplus_dir: Path = Path("data/external/ddxplus")
    guardrails_dir: Path = Path("artifacts/guardrails")
    calibration: Path = Path("artifacts/calibration.json")
    passages: int = Field(2, ge=0, le=10, description="KB passages in the prompt, as in training")
    ranker: Path | None = Field(
        None,
        description="condition ranker (`cds model ranker`): it proposes the candidates; None: "
        "the conditions of the retrieved passages do, in retrieval order",
    )
    ranker_min_probability: float = Field(
        0.2,
        ge=0,
        le=1,
        description="below this top probability the note is unlike the ranker's training notes "
        "(another template or wording): its candidates come from retrieval, which reads meaning "
        "rather than the training notes' words; the ranker's probabilities still feed calibration",
    )
    candidates: int = Field(
        5,
        ge=0,
        le=50,
        description="conditions the model may choose from: the ranker's most probable, or the "
        "distinct conditions of the top `candidate_pool` retrieved passages (0: the whole list)",
    )
    candidate_pool: int = Field(20, ge=1, le=30, description="passages searched for candidates")
    list_all_candidates: bool = Field(
        True,
        description="after the model's items, list the candidates it did not write, with "
        "probability 0, a fixed rationale and their KB passage (calibration ranks them all)",
    )
    max_chars: int = Field(20_000, ge=100)
    rail_timeout_s: float = Field(10.0, gt=0)


class NullSink:
    def emit(self, type: str, subject_id: str, payload: dict[str, Any]) -> None:
        return None


@dataclass
class ListSink:
    """Keeps events in memory (tests, the red-team suite)."""

    events: list[tuple[str, str, dict]] = field(default_factory=list)

    def emit(self, type: str, subject_id: str, payload: dict[str, Any]) -> None:
        self.events.append((type, subject_id, payload))


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass
class Screening:
    """The input half of `suggest`: what the model would read, or why it will not run."""

    note_id: str
    note: Note | None  # de-identified, with withheld lines
    passages: list
    decisions: list[GuardrailDecision]
    stop: str | None  # "crisis" | "blocked" | "review" when the model must not run
    urgent: bool
    candidates: tuple[str, ...] = ()  # conditions the model may write; () = the whole list
    candidate_passages: tuple = ()  # the best retrieved passage of each candidate
    ranker_probabilities: dict[str, float] = field(default_factory=dict)  # {}: no ranker
    candidate_source: str = "retrieval"  # "ranker" | "retrieval"

    def candidate_rank(self, condition: str) -> int:
        """The place of `condition` among the candidates (1: best); one past the last when it
        is not one of them (a calibration feature)."""
        if condition in self.candidates:
            return self.candidates.index(condition) + 1
        return len(self.candidates) + 1

    def ranker_probability(self, condition: str) -> float:
        """The condition ranker's probability of `condition` (a calibration feature); 1.0 for
        every condition when no ranker ran, so that the feature is constant."""
        if not self.ranker_probabilities:
            return 1.0
        return self.ranker_probabilities.get(condition, 0.0)

    @property
    def escalated(self) -> bool:
        return any(
            d.verdict in (Verdict.ESCALATE, Verdict.BLOCK) or d.error for d in self.decisions
        )


class Suggester:
    def __init__(
        self,
        cfg: SuggestConfig,
        kb,  # rag.kb.KnowledgeBase
        models: GuardrailModels,
        sink: EventSink | None = None,
        generator=None,
        deid: DeidConfig | None = None,
    ):
        self.cfg = cfg
        self.deid = deid or DeidConfig()
        self.kb = kb
        self.models = models
        self.sink = sink or NullSink()
        self._generator = generator
        self._passages_on: dict[tuple[str, int], object] = {}

    # ------------------------------------------------------------------ components

    @cached_property
    def embedder(self):
        from cds.guardrails.embedding import shared_embedder

        return shared_embedder(self.kb.cfg.embedding_model)

    @cached_property
    def conditions(self) -> dict[str, str]:
        from cds.model.generate import condition_codes

        return condition_codes(self.cfg.ddxplus_dir)

    @cached_property
    def phi_rail(self) -> PhiScrubRail:
        from governance.deid.anonymize import Anonymizer
        from governance.deid.engine import PhiDetector
        from governance.deid.keys import load_key

        # The same engine settings as the `deidentify` stage the model was trained behind.
        detector = PhiDetector(with_ner=self.deid.ner, threshold=self.deid.threshold)
        return PhiScrubRail(detector, Anonymizer(load_key(), self.deid.mode))

    @cached_property
    def text_rails(self) -> list:
        m, e = self.models, self.embedder
        return [
            CrisisRail(m.get("crisis"), e),
            ClassifierRail("scope", m.get("scope"), e, "not a clinical note or case"),
            ClassifierRail("harmful_request", m.get("safety"), e, "harmful medical request"),
            NoteInjectionRail(m.get("injection"), e),
        ]

    @cached_property
    def passage_rails(self) -> list:
        return [
            PassageIntegrityRail(self.kb),
            PassageInjectionRail(self.models.get("injection"), self.embedder),
        ]

    @cached_property
    def output_rails(self) -> list:
        return [
            SchemaRail(self.conditions),
            CitationRail(self.kb),
            MedicationRail(),
            OutputSafetyRail(self.models.get("safety"), self.embedder),
        ]

    @property
    def generator(self):
        if self._generator is None:
            from cds.model.generate import DifferentialGenerator

            self._generator = DifferentialGenerator(
                self.cfg.base_model, self.conditions, self.cfg.adapter
            )
        return self._generator

    @cached_property
    def ranker(self):
        """The condition ranker (`cds.model.ranker.ConditionRanker`), None when not configured.
        A configured ranker that is missing is an error, not a silent fallback."""
        if self.cfg.ranker is None:
            return None
        from cds.model.ranker import ConditionRanker

        return ConditionRanker.load(self.cfg.ranker)

    @cached_property
    def calibrator(self) -> Calibrator | None:
        try:
            return load_calibrator(self.cfg.calibration)
        except CalibrationError:
            return None

    def _passage_on(self, condition: str, k: int):
        """The KB's best passage about `condition` in a search on its name, or None. It depends on
        the condition and the KB only, so each is searched once per process (a note's missing
        candidates otherwise cost one search each)."""
        key = (condition, k)
        if key not in self._passages_on:
            self._passages_on[key] = _passage_of(condition, self.kb.retrieve(condition, k=k))
        return self._passages_on[key]

    # ------------------------------------------------------------------ steps

    def _run(self, rail, subject, note_id: str) -> RailRun:
        run = run_rail(rail, subject, self.cfg.rail_timeout_s)
        payload = run.decision.model_dump(mode="json")
        if run.outcome is not None and run.outcome.details:
            payload["details"] = run.outcome.details
        self.sink.emit("guardrail_decision", note_id, payload)
        return run

    def accept_bytes(self, data: bytes, where: str = "input") -> tuple[str, str]:
        """Decode and check raw input; a rejection is an audit event and an InputError."""
        # The content hash groups resubmissions; the random suffix makes each submission its own
        # audit subject (and review case).
        note_id = f"note-{sha256(data)[:12]}-{secrets.token_hex(4)}"
        return note_id, decode_or_reject(data, where, self.cfg.max_chars, self.sink, note_id)

    def screen(
        self, text: str, note_id: str | None = None, patient_id: str = "cli", retriever=None
    ) -> Screening:
        """Input rails and retrieval. `retriever` replaces the KB's (the red-team suite uses it
        to plant injections in passages)."""
        note_id = note_id or f"note-{sha256(text)[:16]}"
        decisions: list[GuardrailDecision] = []
        phi = self._run(self.phi_rail, PatientText(text, patient_id), note_id)
        decisions.append(phi.decision)
        if phi.failed or phi.outcome is None:
            return Screening(note_id, None, [], decisions, "review", False)
        clean = phi.outcome.replacement
        self.sink.emit(
            "input_received",
            note_id,
            {
                "raw_sha256": sha256(text),
                "deid_sha256": sha256(clean),
                "chars": len(text),
                "lines": clean.count("\n") + 1,
                "deid_text": clean,
            },
        )
        model_text, urgent = clean, False
        for rail in self.text_rails:
            run = self._run(rail, clean, note_id)
            decisions.append(run.decision)
            outcome = run.outcome
            if outcome is not None and outcome.flag == "crisis":
                self.sink.emit(
                    "crisis_alert", note_id, {"rail": rail.name, "score": run.decision.score}
                )
                return Screening(note_id, None, [], decisions, "crisis", True)
            if outcome is not None and outcome.flag == "urgent":
                urgent = True
            if run.decision.verdict is Verdict.BLOCK:
                return Screening(note_id, None, [], decisions, "blocked", urgent)
            if rail.name == "note_injection" and outcome is not None and outcome.replacement:
                model_text = outcome.replacement
        note = Note.from_text(note_id, patient_id, model_text)
        passages, candidates, candidate_passages = [], (), ()
        ranked: dict[str, float] = {}
        if self.ranker is not None and self.cfg.candidates:
            ranked = {c: p for c, p in self.ranker.rank(model_text) if c in self.conditions}
        source = "retrieval"
        pool_size = max(self.cfg.passages, self.cfg.candidate_pool if self.cfg.candidates else 0)
        if pool_size:
            retrieval_started = time.perf_counter()
            pool = (retriever or self.kb).retrieve(note, k=pool_size)
            passages = pool[: self.cfg.passages]
            # Only the passages' condition labels (from the vetted KB index) leave the pool;
            # its texts never reach the model, so the passage rails check the prompt's only.
            from cds.model.generate import choose_candidates

            candidates, source = choose_candidates(
                ranked,
                pool,
                self.conditions,
                self.cfg.candidates,
                self.cfg.ranker_min_probability,
            )
            # A candidate the pool has no passage about gets the KB's best one on its name.
            candidate_passages = tuple(
                p
                for c in candidates
                if (p := _passage_of(c, pool) or self._passage_on(c, pool_size))
            )
            self.sink.emit(
                "retrieval",
                note_id,
                {
                    "passages": [
                        {
                            "passage_id": p.passage_id,
                            "version": p.version,
                            "score": round(p.score, 6),
                        }
                        for p in passages
                    ],
                    "candidates": list(candidates),
                    "candidate_source": source,
                    "ranker_probabilities": {
                        c: round(ranked.get(c, 0.0), 4) for c in candidates if ranked
                    },
                    "seconds": round(time.perf_counter() - retrieval_started, 4),
                },
            )
            for rail in self.passage_rails:
                run = self._run(rail, passages, note_id)
                decisions.append(run.decision)
                passages = run.outcome.replacement if run.outcome is not None else []
        return Screening(
            note_id,
            note,
            list(passages),
            decisions,
            None,
            urgent,
            candidates,
            candidate_passages,
            ranked,
            source,
        )

    def generate(self, s: Screening):
        """The model's differential for a screened note (`cds.model.generate.Generated`):
        the prompt's passages, and the conditions narrowed to the note's candidates."""
        return self.generator.generate(
            s.note,
            [(p.passage_id, p.text) for p in s.passages],
            candidates=s.candidates,
            candidate_probabilities=s.ranker_probabilities,
        )

    def complete(self, differential: Differential, s: Screening) -> Differential:
        """The model's items, then (with `list_all_candidates`) every candidate the model did
        not write, in candidate order: a small model often leaves out the right one while the
        ranker (or retrieval) proposed it. Such an item says so in its rationale, has
        probability 0 (the model did not assess it) and gets its KB passage from the citation
        rail."""
        if not self.cfg.list_all_candidates or not s.candidates:
            return differential
        written = {i.condition.casefold() for i in differential.items}

        def source(condition: str) -> str:
            from_ranker = s.candidate_source == "ranker" and condition in s.ranker_probabilities
            return "condition ranker" if from_ranker else "knowledge-base retrieval"

        added = tuple(
            DiagnosisItem(
                condition=c,
                icd10=self.conditions[c],
                probability=0.0,
                rationale=CANDIDATE_RATIONALE.format(rank=rank, source=source(c)),
            )
            for rank, c in enumerate(s.candidates, start=1)
            if c.casefold() not in written
        )
        room = MAX_DIFFERENTIAL_ITEMS - len(differential.items)
        return Differential(items=differential.items + added[: max(room, 0)])

    def suggest(
        self, text: str, note_id: str | None = None, patient_id: str = "cli", retriever=None
    ) -> Suggestion:
        started = time.perf_counter()
        s = self.screen(text, note_id, patient_id, retriever)
        if s.stop is not None or s.note is None:
            return self._finish(s, None, (), started)
        decisions = s.decisions
        generation_started = time.perf_counter()
        try:
            generated = self.generate(s)
        except Exception as e:  # noqa: BLE001 - a failed generation fails closed to review
            decisions.append(
                GuardrailDecision(
                    rail="generation",
                    stage="output",
                    verdict=Verdict.ESCALATE,
                    reason="generation failed; failing closed to clinician review",
                    latency_ms=(time.perf_counter() - generation_started) * 1000,
                    error=type(e).__name__,
                )
            )
            self.sink.emit("guardrail_decision", s.note_id, decisions[-1].model_dump(mode="json"))
            return self._finish(s, None, (), started)
        self.sink.emit(
            "model_output",
            s.note_id,
            {
                "differential": json.loads(generated.raw_json),
                "new_tokens": generated.new_tokens,
                "seconds": round(generated.seconds, 3),
                "adapter": str(self.cfg.adapter),
            },
        )
        differential: Differential | None = self.complete(generated.differential, s)
        # Each candidate's own passage joins the prompt's, so the citation rail can attach a
        # vetted KB source to every item the model could write (rag.verify checks each one).
        prompt_ids = {p.passage_id for p in s.passages}
        cited = tuple(s.passages) + tuple(
            p for p in s.candidate_passages if p.passage_id not in prompt_ids
        )
        for rail in self.output_rails:
            run = self._run(rail, OutputSubject(differential, s.note, cited), s.note_id)
            decisions.append(run.decision)
            if run.failed or run.decision.verdict is Verdict.BLOCK:
                differential = None
                break
            if run.outcome is not None and run.outcome.replacement is not None:
                differential = run.outcome.replacement
        calibrated: tuple[float, ...] = ()
        if differential is not None:
            differential, calibrated, decision = self._calibrate(differential, s)
            decisions.append(decision)
            self.sink.emit("guardrail_decision", s.note_id, decision.model_dump(mode="json"))
        return self._finish(s, differential, calibrated, started)

    def _calibrate(
        self, differential: Differential, s: Screening
    ) -> tuple[Differential, tuple[float, ...], GuardrailDecision]:
        """The differential re-ranked by calibrated probability (`Calibrator.rerank`), those
        probabilities, and the routing decision on the top one. Without a calibrator, or when
        calibrating fails, the model's differential goes to review uncalibrated."""
        start = time.perf_counter()

        def decision(verdict: Verdict, reason: str, **extra) -> GuardrailDecision:
            ms = (time.perf_counter() - start) * 1000
            return GuardrailDecision(
                rail="confidence", stage="output", verdict=verdict, reason=reason,
                latency_ms=ms, **extra,
            )  # fmt: skip

        if self.calibrator is None:
            reason = "no calibration file: confidence unknown, clinician review"
            return differential, (), decision(Verdict.ESCALATE, reason)
        try:
            reranked = self.calibrator.rerank(differential, s.candidate_rank, s.ranker_probability)
        except Exception as e:  # noqa: BLE001 - a calibration that fails sends the case to review
            reason = "calibration failed: confidence unknown, clinician review"
            return differential, (), decision(Verdict.ESCALATE, reason, error=type(e).__name__)
        calibrated = tuple(i.probability for i in reranked.items)
        top, threshold = calibrated[0], self.calibrator.review_below
        low = top < threshold
        reason = f"calibrated top-1 {top:.2f} {'<' if low else '>='} review threshold {threshold}"
        verdict = Verdict.ESCALATE if low else Verdict.ALLOW
        return reranked, calibrated, decision(verdict, reason, score=top)

    def _finish(self, s: Screening, differential, calibrated, started: float) -> Suggestion:
        decisions = list(s.decisions)
        if s.stop in ("crisis", "blocked"):
            route = s.stop
        elif differential is None:
            # An output rail blocked, or the model could not run: nothing model-made goes out.
            blocked = any(d.verdict is Verdict.BLOCK and d.stage == "output" for d in decisions)
            route = "blocked" if blocked else "review"
        elif any(d.verdict in (Verdict.ESCALATE, Verdict.BLOCK) or d.error for d in decisions):
            route = "review"
        else:
            route = "auto"
        suggestion = Suggestion(
            note_id=s.note_id,
            note_line_count=s.note.line_count if s.note else 1,
            differential=differential if route not in ("crisis", "blocked") else None,
            decisions=tuple(decisions),
            disclaimer=DISCLAIMER,
            route=route,
            message=CRISIS_MESSAGE
            if route == "crisis"
            else BLOCKED_MESSAGE
            if route == "blocked"
            else None,
            priority="crisis" if route == "crisis" else "urgent" if s.urgent else "routine",
            confidence=tuple(calibrated) if route not in ("crisis", "blocked") else (),
        )
        disclaimer = run_rail(DisclaimerRail(), suggestion, self.cfg.rail_timeout_s)
        if disclaimer.decision.verdict is not Verdict.ALLOW:
            suggestion = suggestion.model_copy(
                update={"route": "review", "differential": None, "confidence": ()}
            )
        suggestion = suggestion.model_copy(
            update={"decisions": suggestion.decisions + (disclaimer.decision,)}
        )
        self.sink.emit("guardrail_decision", s.note_id, disclaimer.decision.model_dump(mode="json"))
        shown = suggestion.model_dump(mode="json")
        self.sink.emit(
            "route",
            s.note_id,
            {
                "route": suggestion.route,
                "priority": suggestion.priority,
                # What a reviewer sees and signs: the e-signature binds this hash.
                "suggestion": shown,
                "suggestion_sha256": sha256(canonical_json(shown)),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return suggestion


def _passage_of(condition: str, passages):
    """The first of `passages` about `condition`, or None."""
    return next((p for p in passages if p.condition == condition), None)


def load_suggester(params: Path, sink: EventSink | None = None, **overrides) -> Suggester:
    from rag.build import KbConfig
    from rag.kb import KnowledgeBase

    cfg = load_section(params, "suggest", SuggestConfig)
    if overrides:
        cfg = cfg.model_copy(update=overrides)
    kb = KnowledgeBase(load_section(params, "kb", KbConfig))
    deid = load_section(params, "deidentify", DeidConfig)
    return Suggester(cfg, kb, load_models(cfg.guardrails_dir), sink, deid=deid)
