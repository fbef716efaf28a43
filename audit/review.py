"""The clinician review queue, derived from the log itself.

A `route` event whose route is `review`, `crisis` or `blocked` opens a case (its subject id is
the case id). Every action is a new, e-signed `review_signature` event; nothing is updated in
place. A case's state is the fold of its events: open -> claimed (by one clinician) -> closed
(approved, overridden, rejected or, for a case with no differential, reviewed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

from audit.errors import AccessDenied, InvalidRequest
from audit.esign import SIGNATURE_EVENT, Meaning, build_manifest, signature_payload
from audit.log import AuditLog, Event, NewEvent
from audit.users import Users

QUEUED_ROUTES = ("crisis", "blocked", "review")
VERBS = {"claimed": "claim", "reviewed": "acknowledge", "approved": "approve",
         "overridden": "override", "rejected": "reject"}
CLOSING = ("approved", "overridden", "rejected", "reviewed")
_RANK = {"crisis": 0, "urgent": 1, "blocked": 2, "review": 3}


@dataclass
class Case:
    case_id: str
    opened_seq: int
    opened_at: str
    route: str
    priority: str
    suggestion: dict[str, Any]
    suggestion_sha256: str
    deid_text: str | None = None
    # The candidate conditions the model was offered and the ranker's probabilities for them
    # ({} when no ranker ran), from the case's `retrieval` event.
    candidates: list[str] = field(default_factory=list)
    candidate_probabilities: dict[str, float] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def claimed_by(self) -> str | None:
        claims = [a for a in self.actions if a["meaning"] == "claimed"]
        return claims[-1]["username"] if claims else None

    @property
    def outcome(self) -> str | None:
        closing = [a for a in self.actions if a["meaning"] in CLOSING]
        return closing[-1]["meaning"] if closing else None

    @property
    def status(self) -> str:
        if self.outcome:
            return self.outcome
        return f"claimed by {self.claimed_by}" if self.claimed_by else "open"

    @property
    def top_confidence(self) -> float | None:
        conf = self.suggestion.get("confidence") or ()
        return conf[0] if conf else None

    @property
    def risk_key(self) -> tuple:
        """Crisis first, then urgent, blocked, review; least confident first; oldest first."""
        rank = _RANK["crisis"] if "crisis" in (self.route, self.priority) else (
            _RANK["urgent"] if self.priority == "urgent" else _RANK[self.route]
        )
        conf = self.top_confidence
        return (rank, conf if conf is not None else -1.0, self.opened_seq)


def _action(event_data: dict[str, Any], seq: int) -> dict[str, Any]:
    m = event_data["manifest"]
    return {
        "seq": seq,
        "meaning": m["meaning"],
        "username": m["username"],
        "printed_name": m["printed_name"],
        "role": m["role"],
        "signed_at": m["signed_at"],
        "reason": event_data.get("reason"),
        "corrected": event_data.get("corrected"),
    }


def _case_from_route(e: Event) -> Case | None:
    data = e.data
    if data.get("route") not in QUEUED_ROUTES or "suggestion" not in data:
        return None
    return Case(e.subject_id, e.seq, e.ts, data["route"], data.get("priority", "routine"),
                data["suggestion"], data["suggestion_sha256"])


class ReviewQueue:
    def __init__(self, log: AuditLog, users: Users | None = None) -> None:
        self.log = log
        self.users = users or Users(log)

    # ------------------------------------------------------------------ reading

    def cases(self, include_closed: bool = False) -> list[Case]:
        cases: dict[str, Case] = {}
        for e in self.log.events(types=("route", SIGNATURE_EVENT)):
            if e.type == "route":
                case = _case_from_route(e)
                if case:
                    cases[case.case_id] = case
            elif e.subject_id in cases:
                cases[e.subject_id].actions.append(_action(e.data, e.seq))
        found = [c for c in cases.values() if include_closed or c.outcome is None]
        return sorted(found, key=lambda c: c.risk_key)

    def case(self, case_id: str) -> Case:
        case = None
        deid_text = None
        retrieval: dict[str, Any] = {}
        for e in self.log.events(subject_id=case_id):
            if e.type == "input_received":
                deid_text = e.data.get("deid_text")
            elif e.type == "retrieval":
                retrieval = e.data
            elif e.type == "route":
                case = _case_from_route(e)
            elif e.type == SIGNATURE_EVENT and case is not None:
                case.actions.append(_action(e.data, e.seq))
        if case is None:
            raise InvalidRequest(f"no review case {case_id}")
        case.deid_text = deid_text
        case.candidates = list(retrieval.get("candidates") or ())
        case.candidate_probabilities = dict(retrieval.get("ranker_probabilities") or {})
        return case

    def history(self, case_id: str) -> list[Event]:
        events = list(self.log.events(subject_id=case_id))
        if not events:
            raise InvalidRequest(f"no events for {case_id}")
        return events

    # ------------------------------------------------------------------ actions

    def claim(self, case_id: str, username: str, password: str) -> Event:
        return self._sign(case_id, username, password, "claimed")

    def approve(self, case_id: str, username: str, password: str) -> Event:
        return self._sign(case_id, username, password, "approved")

    def acknowledge(self, case_id: str, username: str, password: str) -> Event:
        return self._sign(case_id, username, password, "reviewed")

    def reject(self, case_id: str, username: str, password: str, reason: str) -> Event:
        return self._sign(case_id, username, password, "rejected", reason=reason)

    def override(self, case_id: str, username: str, password: str, reason: str,
                 corrected: dict[str, Any]) -> Event:
        """`corrected` must already be a schema-valid differential (the caller validates it
        with `cds.schemas.Differential`; audit imports nothing of `cds`)."""
        return self._sign(case_id, username, password, "overridden", reason=reason,
                          corrected=corrected)

    def _sign(self, case_id: str, username: str, password: str, meaning: Meaning,
              reason: str | None = None, corrected: dict[str, Any] | None = None) -> Event:
        action = f"review {VERBS[meaning]}"
        case = self.case(case_id)
        user = self.users.authenticate(username, password, action, case_id)
        self.users.authorise(user, "sign", action, case_id)
        if meaning in ("overridden", "rejected") and not (reason and reason.strip()):
            raise InvalidRequest(f"{meaning} needs a reason")
        has_differential = case.suggestion.get("differential") is not None
        if meaning == "approved" and not has_differential:
            raise InvalidRequest(
                f"case {case_id} has no differential to approve (route {case.route}): "
                "acknowledge it, or override with a corrected differential"
            )
        if meaning == "reviewed" and has_differential:
            raise InvalidRequest(f"case {case_id} has a differential: approve, override or reject")
        manifest = build_manifest(
            case_id=case_id, suggestion_sha256=case.suggestion_sha256, meaning=meaning,
            username=user.username, printed_name=user.full_name, role=user.role,
            signed_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            reason=reason, corrected=corrected, public_key=user.public_key,
        )
        payload = signature_payload(user.key, manifest, reason, corrected)
        refusal: list[str] = []

        def still_allowed(conn: Connection) -> None:
            # Under the head lock: no one else can claim or close between this check and the
            # append.
            state = self._state(conn, case_id)
            if state["outcome"]:
                raise InvalidRequest(f"case {case_id} is closed ({state['outcome']})")
            holder = state["claimed_by"]
            if meaning == "claimed" and holder:
                if holder == user.username:
                    raise InvalidRequest(f"you already hold case {case_id}")
                refusal.append(f"case is claimed by {holder}")
                raise AccessDenied(refusal[-1])
            if meaning != "claimed" and holder != user.username:
                refusal.append(f"case is claimed by {holder}" if holder
                               else "claim the case first")
                raise AccessDenied(refusal[-1])

        try:
            return self.log.append_many(
                [NewEvent(SIGNATURE_EVENT, f"user:{user.username}", case_id, payload)],
                check=still_allowed,
            )[0]
        except AccessDenied:
            raise self.users.deny(user.username, action, case_id, refusal[-1]) from None

    @staticmethod
    def _state(conn: Connection, case_id: str) -> dict[str, str | None]:
        claimed_by = outcome = None
        for (payload,) in conn.execute(
            text("SELECT payload FROM audit_event WHERE subject_id = :c AND type = :t "
                 "ORDER BY seq"),
            {"c": case_id, "t": SIGNATURE_EVENT},
        ):
            m = json.loads(payload)["manifest"]
            if m["meaning"] == "claimed":
                claimed_by = m["username"]
            elif m["meaning"] in CLOSING:
                outcome = m["meaning"]
        return {"claimed_by": claimed_by, "outcome": outcome}

    def overrides(self) -> list[Case]:
        """Closed cases a clinician overrode, with the note text: the next round's DPO pairs."""
        out = []
        for c in self.cases(include_closed=True):
            if c.outcome == "overridden" and c.suggestion.get("differential") is not None:
                out.append(self.case(c.case_id))
        return out
