"""The demo corpus through the real guarded pipeline into a real audit database: every step is
an event, the chain verifies, review cases open, and no gold PHI value appears anywhere in the
database files or the log output.

De-identification runs in redact mode here: surrogates are realistic names and dates, and one
patient's surrogate ("Smith") can equal another patient's real name, which a byte search cannot
tell from a leak. The surrogate path is checked note by note in test_pipeline_integration.py."""

from __future__ import annotations

import json
import logging
import re

import pytest

from audit.log import AuditConfig, AuditLog
from audit.review import ReviewQueue
from audit.signing import public_hex
from audit.users import Users
from audit.verify import verify_log
from cds.guardrails.classifiers import load_models
from cds.pipeline import SuggestConfig, Suggester
from cds.review import FreeTextScrubber
from cds.text_input import InputError
from governance.deid.stage import DeidConfig
from tests.conftest import DDXPLUS

pytestmark = pytest.mark.integration

CRISIS = ("I can't do this anymore. I have been planning to kill myself this weekend. I bought "
          "the pills already and nobody would miss me.")


def phi_values(records) -> set[str]:
    values = set()
    for r in records:
        text = r["note"]["text"]
        values |= {text[p["start"] : p["end"]] for p in r["phi"]}
    return {v for v in values if len(v.strip()) >= 4}


def test_demo_notes_leave_an_audited_phi_free_trail(
    base_model_dir, guardrails_cfg, knowledge_base, corpus_notes_file, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    records = [json.loads(line) for line in corpus_notes_file.read_text().splitlines()]
    cfg = AuditConfig(database_url=f"sqlite:///{tmp_path / 'db' / 'audit.db'}",
                      signing_key=tmp_path / "log.pem", checkpoint_every=200)
    log = AuditLog.open(cfg, actor="pipeline")
    suggester = Suggester(
        SuggestConfig(base_model=base_model_dir, adapter=None, ddxplus_dir=DDXPLUS,
                      guardrails_dir=guardrails_cfg.out_dir,
                      calibration=tmp_path / "no-calibration.json"),
        knowledge_base, load_models(guardrails_cfg.out_dir), log, deid=DeidConfig(mode="redact"),
    )
    # The model runs on a few held-out notes (CPU time); every note goes through de-identification,
    # the input rails and retrieval.
    held_out = [r for r in records if r["split"] != "train"][:4]
    routes = {}
    for r in records:
        note_id, text = suggester.accept_bytes(r["note"]["text"].encode("utf-8"))
        if r in held_out:
            routes[note_id] = suggester.suggest(text, note_id=note_id).route
        else:
            suggester.screen(text, note_id=note_id)
    crisis = suggester.suggest(CRISIS)
    with pytest.raises(InputError):
        suggester.accept_bytes(b"\xff\xfe not utf-8")

    # a clinician overrides one case with a reason that names the patient
    users = Users(log)
    users.add("ada", "Ada Admin", "reviewer-admin", "admin-password-1")
    users.add("bob", "Dr Robin Quillfeather", "clinician", "clinician-pass-2",
              by=users.authenticate("ada", "admin-password-1", "setup", "test"))
    queue = ReviewQueue(log, users)
    cases = queue.cases()
    assert cases[0].route == "crisis" and cases[0].case_id == crisis.note_id
    assert {c.case_id for c in cases} >= {k for k, v in routes.items() if v != "auto"}
    target = next(c for c in cases if c.suggestion.get("differential"))
    scrub = FreeTextScrubber(DeidConfig())
    patient = next(r for r in held_out if any(p["type"] == "NAME" for p in r["phi"]))
    name = next(patient["note"]["text"][p["start"] : p["end"]] for p in patient["phi"]
                if p["type"] == "NAME")
    queue.claim(target.case_id, "bob", "clinician-pass-2")
    queue.reject(target.case_id, "bob", "clinician-pass-2",
                 scrub(f"Spoke with {name} by phone: history does not fit"))
    log.close()

    reopened = AuditLog.open(cfg)
    types = [e.type for e in reopened.events()]
    assert types.count("input_received") == len(records) + 1
    assert types.count("route") == len(held_out) + 1
    assert types.count("model_output") >= 1 and "crisis_alert" in types
    assert "input_rejected" in types and types.count("review_signature") == 2
    report = verify_log(reopened, {public_hex(reopened.signing_key)})
    assert report.ok and report.sealed == report.events, report.problems
    reopened.close()

    values = phi_values(records) | {name}
    assert len(values) > 50
    blobs = [p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "db").iterdir()]
    blobs.append(caplog.text)
    # Bounded by non-alphanumerics: a 5-digit ZIP occurs by chance inside some hex hash; and
    # a number is no ZIP or MRN when it follows a decimal point (a retrieval log's
    # "similarity score: 0.59057" matched a ZIP of the corpus once).
    def bounded(v: str) -> str:
        before = r"(?<![0-9A-Za-z.])" if v.isdigit() else r"(?<![0-9A-Za-z])"
        return rf"{before}{re.escape(v)}(?![0-9A-Za-z])"

    leaked = sorted(v for v in values for b in blobs if re.search(bounded(v), b))
    assert not leaked, f"{len(leaked)} PHI values found in the audit database or logs"
