"""What every rail shares: the outcome it returns, the registry it lives in, and `run_rail`,
which times it and turns any exception or timeout into a fail-closed decision."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from cds.schemas import GuardrailDecision, Verdict

Stage = Literal["input", "output"]
Flag = Literal["crisis", "urgent"]
SubjectT = TypeVar("SubjectT", contravariant=True)

DEFAULT_TIMEOUT_S = 10.0
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rail")


@dataclass(frozen=True)
class RailOutcome:
    verdict: Verdict
    reason: str
    score: float | None = None
    replacement: Any = None  # the modified subject (text, passages, differential), if any
    flag: Flag | None = None
    details: dict[str, int | float] | None = None  # counts for the audit event and `cds eval`


class Rail(Protocol, Generic[SubjectT]):
    name: str
    stage: Stage

    def check(self, subject: SubjectT) -> RailOutcome: ...


class RailTimeout(Exception):
    pass


@dataclass
class RailRun:
    decision: GuardrailDecision
    outcome: RailOutcome | None = field(default=None)

    @property
    def failed(self) -> bool:
        return self.decision.error is not None


def run_rail(rail: Rail, subject: Any, timeout_s: float = DEFAULT_TIMEOUT_S) -> RailRun:
    """Run one rail. An exception or a timeout yields verdict `escalate` with the error class
    (never its message: it may quote the note), so the caller routes the note to review."""
    start = time.perf_counter()
    try:
        outcome = _EXECUTOR.submit(rail.check, subject).result(timeout=timeout_s)
    except FutureTimeout:
        outcome, error = None, RailTimeout.__name__
    except Exception as e:  # noqa: BLE001 - fail closed on anything
        outcome, error = None, type(e).__name__
    else:
        error = None
    latency_ms = (time.perf_counter() - start) * 1000
    if outcome is None:
        decision = GuardrailDecision(
            rail=rail.name,
            stage=rail.stage,
            verdict=Verdict.ESCALATE,
            reason="rail failed; failing closed to clinician review",
            latency_ms=latency_ms,
            error=error,
        )
        return RailRun(decision)
    decision = GuardrailDecision(
        rail=rail.name,
        stage=rail.stage,
        verdict=outcome.verdict,
        reason=outcome.reason[:500],
        score=None if outcome.score is None else min(max(float(outcome.score), 0.0), 1.0),
        latency_ms=latency_ms,
    )
    return RailRun(decision, outcome)
