"""Users, roles, e-signatures and the review queue: what is allowed, what is refused (and
recorded), and what verify proves about signatures."""

import pytest
from sqlalchemy import text

from audit.canonical import canonical_json, sha256_hex
from audit.errors import AccessDenied, InvalidRequest
from audit.review import ReviewQueue
from audit.signing import public_hex
from audit.users import Users
from audit.verify import verify_log
from tests.audit.conftest import raw_sql

PW = {"ada": "admin-password-1", "bob": "clinician-pass-2", "cy": "clinician-pass-3",
      "dee": "auditor-password-4"}
ITEM = {"condition": "Pneumonia", "icd10": "J18.9", "probability": 0.4, "rationale": "fever",
        "citations": [{"kind": "note", "line_start": 1, "line_end": 2}]}


def open_case(log, case_id, route="review", priority="routine", confidence=(0.4,),
              differential=True):
    suggestion = {
        "note_id": case_id, "note_line_count": 3, "route": route, "priority": priority,
        "differential": {"items": [ITEM]} if differential else None,
        "decisions": [{"rail": "confidence", "verdict": "escalate", "reason": "low"}],
        "confidence": list(confidence), "disclaimer": "Decision support only.", "message": None,
    }
    log.append("input_received", case_id, {"deid_text": "line one\nline two\nline three"})
    log.append("route", case_id, {"route": route, "priority": priority, "suggestion": suggestion,
                                  "suggestion_sha256": sha256_hex(canonical_json(suggestion))})


@pytest.fixture
def queue(log):
    users = Users(log)
    users.add("ada", "Ada Admin", "reviewer-admin", PW["ada"])
    admin = users.authenticate("ada", PW["ada"], "setup", "test")
    users.add("bob", "Dr Bob Smith", "clinician", PW["bob"], by=admin)
    users.add("cy", "Dr Cy Jones", "clinician", PW["cy"], by=admin)
    users.add("dee", "Dee Auditor", "auditor", PW["dee"], by=admin)
    return ReviewQueue(log, users)


def denials(log):
    return [e.data for e in log.events(types=["access_denied"])]


def test_first_user_must_be_an_admin_and_others_need_an_admin(log):
    users = Users(log)
    with pytest.raises(InvalidRequest, match="first user"):
        users.add("bob", "Bob", "clinician", PW["bob"])
    users.add("ada", "Ada", "reviewer-admin", PW["ada"])
    with pytest.raises(AccessDenied, match="administrator"):
        users.add("bob", "Bob", "clinician", PW["bob"])
    with pytest.raises(InvalidRequest, match="at least 12"):
        users.add("cy", "Cy", "clinician", "short", by=users.authenticate("ada", PW["ada"], "a",
                                                                          "b"))


def test_queue_orders_crisis_first_then_by_risk(log, queue):
    open_case(log, "c-review-sure", confidence=(0.6,))
    open_case(log, "c-review-unsure", confidence=(0.2,))
    open_case(log, "c-crisis", route="crisis", priority="crisis", differential=False,
              confidence=())
    open_case(log, "c-blocked", route="blocked", differential=False, confidence=())
    open_case(log, "c-urgent", priority="urgent")
    log.append("route", "c-auto", {"route": "auto", "priority": "routine"})
    order = [c.case_id for c in queue.cases()]
    assert order == ["c-crisis", "c-urgent", "c-blocked", "c-review-unsure", "c-review-sure"]


def test_claim_approve_and_history(log, queue):
    open_case(log, "c1")
    queue.claim("c1", "bob", PW["bob"])
    event = queue.approve("c1", "bob", PW["bob"])
    m = event.data["manifest"]
    assert m["printed_name"] == "Dr Bob Smith" and m["meaning"] == "approved"
    assert m["suggestion_sha256"] == queue.case("c1").suggestion_sha256
    assert m["signed_at"].endswith("Z")
    assert queue.case("c1").status == "approved" and queue.cases() == []
    assert [e.type for e in queue.history("c1")] == [
        "input_received", "route", "review_signature", "review_signature"]
    with pytest.raises(InvalidRequest, match="closed"):
        queue.reject("c1", "bob", PW["bob"], "changed my mind")
    report = verify_log(log, {public_hex(log.signing_key)})
    assert report.ok and report.signatures == 2


def test_unauthorised_actions_are_refused_and_recorded(log, queue):
    open_case(log, "c1")
    with pytest.raises(AccessDenied, match="wrong password"):
        queue.claim("c1", "bob", "not-bobs-password")
    with pytest.raises(AccessDenied, match="unknown user"):
        queue.claim("c1", "mallory", "whatever-password")
    with pytest.raises(AccessDenied, match="role auditor"):
        queue.claim("c1", "dee", PW["dee"])
    with pytest.raises(AccessDenied, match="claim the case first"):
        queue.approve("c1", "bob", PW["bob"])
    queue.claim("c1", "bob", PW["bob"])
    with pytest.raises(AccessDenied, match="claimed by bob"):
        queue.approve("c1", "cy", PW["cy"])  # signing someone else's claim
    with pytest.raises(AccessDenied, match="claimed by bob"):
        queue.claim("c1", "cy", PW["cy"])
    reasons = [d["reason"] for d in denials(log)]
    assert reasons == ["wrong password", "unknown user", "role auditor may not sign",
                       "claim the case first", "case is claimed by bob", "case is claimed by bob"]
    assert all("password" not in d or d["reason"] == "wrong password" for d in denials(log))
    assert "not-bobs-password" not in "".join(e.payload for e in log.events())
    assert queue.case("c1").claimed_by == "bob"


def test_override_needs_a_reason_and_a_differential_and_is_bound_by_the_signature(log, queue):
    open_case(log, "c1")
    queue.claim("c1", "bob", PW["bob"])
    with pytest.raises(InvalidRequest, match="reason"):
        queue.override("c1", "bob", PW["bob"], " ", {"items": [ITEM]})
    corrected = {"items": [{**ITEM, "condition": "Bronchitis", "icd10": "J20.9"}]}
    queue.override("c1", "bob", PW["bob"], "exam findings", corrected)
    case = queue.case("c1")
    assert case.outcome == "overridden" and case.actions[-1]["corrected"] == corrected
    assert [c.case_id for c in queue.overrides()] == ["c1"]
    assert verify_log(log, {public_hex(log.signing_key)}).ok
    # Change the corrected differential after signing (and re-seal nothing): verify names it.
    with log.engine.connect() as conn:
        seq, payload = conn.execute(text(
            "SELECT seq, payload FROM audit_event WHERE type = 'review_signature' "
            "ORDER BY seq DESC LIMIT 1")).one()
    forged = payload.replace("Bronchitis", "Asthma")
    raw_sql(log, "UPDATE audit_event SET payload = :p, payload_hash = :h WHERE seq = :s",
            params={"p": forged, "h": sha256_hex(forged), "s": seq})
    report = verify_log(log, {public_hex(log.signing_key)})
    assert any("differs from what bob signed" in p for p in report.problems)


def test_a_signature_moved_to_another_record_fails_verification(log, queue):
    open_case(log, "c1")
    open_case(log, "c2")
    event = queue.claim("c1", "bob", PW["bob"])
    # Re-attach bob's signature to case c2 (and fix the event hash so only the binding is off).
    from audit.canonical import event_hash

    h = event_hash(event.seq, event.ts, event.type, event.actor, "c2", event.payload_hash,
                   event.prev_hash)
    raw_sql(log, "UPDATE audit_event SET subject_id = 'c2', hash = :h WHERE seq = :s",
            params={"h": h, "s": event.seq})
    report = verify_log(log, {public_hex(log.signing_key)})
    assert any("is attached to c2" in p for p in report.problems), report.problems


def test_crisis_cases_are_acknowledged_not_approved(log, queue):
    open_case(log, "c-crisis", route="crisis", priority="crisis", differential=False,
              confidence=())
    queue.claim("c-crisis", "cy", PW["cy"])
    with pytest.raises(InvalidRequest, match="no differential to approve"):
        queue.approve("c-crisis", "cy", PW["cy"])
    queue.acknowledge("c-crisis", "cy", PW["cy"])
    assert queue.case("c-crisis").outcome == "reviewed"


def test_password_change_keeps_the_key_and_deactivation_stops_signing(log, queue):
    users = queue.users
    users.change_password("bob", PW["bob"], "a-new-long-password")
    assert users.authenticate("bob", "a-new-long-password", "t", "t").public_key == \
        users._get("bob").public_key
    with pytest.raises(AccessDenied):
        users.authenticate("bob", PW["bob"], "t", "t")
    users.deactivate("bob", users.authenticate("ada", PW["ada"], "t", "t"))
    open_case(log, "c1")
    with pytest.raises(AccessDenied, match="deactivated"):
        queue.claim("c1", "bob", "a-new-long-password")
    types = [e.type for e in log.events(subject_id="user:bob")]
    assert types == ["user_created", "user_password_changed", "user_deactivated"]
    assert [d["reason"] for d in denials(log)] == ["wrong password", "user is deactivated"]


def test_override_pairs_prompt_lists_the_candidates_the_model_was_offered(log, queue):
    from cds.review import preference_pairs

    open_case(log, "c1")
    log.append("retrieval", "c1", {"passages": [], "candidates": ["Pneumonia", "Bronchitis"],
                                   "candidate_source": "ranker",
                                   "ranker_probabilities": {"Pneumonia": 0.62, "Bronchitis": 0.3}})
    open_case(log, "c2")  # no retrieval event: a prompt without candidates
    corrected = {"items": [{**ITEM, "condition": "Bronchitis", "icd10": "J20.9"}]}
    for case_id in ("c1", "c2"):
        queue.claim(case_id, "bob", PW["bob"])
        queue.override(case_id, "bob", PW["bob"], "exam findings", corrected)
    pairs = {p["case_id"]: p for p in preference_pairs(queue.overrides())}
    offered = pairs["c1"]["prompt"][1]["content"]
    assert "Candidate conditions:\n1. Pneumonia (62%)\n2. Bronchitis (30%)" in offered
    assert "line two" in offered
    assert "Candidate conditions" not in pairs["c2"]["prompt"][1]["content"]
