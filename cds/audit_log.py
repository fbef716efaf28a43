"""Opening the audit log from params.yaml's `audit:` section (`CDS_DATABASE_URL` wins)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from audit.log import AuditConfig, AuditLog, Checkpoint
from audit.verify import VerifyReport
from cds.config import load_section
from cds.settings import CdsSettings


def audit_config(params: Path | None) -> AuditConfig:
    """The `audit:` section, or the defaults when the file has none (a user's own params file
    for `cds suggest` need not configure the audit log) or when there is no file (None)."""
    cfg = AuditConfig() if params is None else load_section(params, "audit", AuditConfig, True)
    url = CdsSettings().database_url
    return cfg.model_copy(update={"database_url": url}) if url else cfg


def open_audit(params: Path | None, actor: str) -> AuditLog:
    return AuditLog.open(audit_config(params), actor)


def verify_configured_log(
    params: Path,
    actor: str,
    trusted_key: str | None = None,
    anchors: Sequence[Checkpoint] = (),
) -> tuple[VerifyReport, str]:
    """Verify the configured audit database against `trusted_key` (hex; default: the
    configured signing key's public half). Returns the report and the database dialect (never
    the URL: it may hold a password)."""
    from audit.signing import public_hex
    from audit.verify import verify_log

    log = open_audit(params, actor)
    try:
        key = trusted_key or public_hex(log.signing_key)
        return verify_log(log, {key}, anchors), log.engine.dialect.name
    finally:
        log.close()


class OnDemandAuditSink:
    """An `EventSink` that opens the audit log only when an event comes (a command whose
    good path writes nothing, e.g. `cds deid text`, needs no database until input is bad)."""

    def __init__(self, params: Path | None, actor: str) -> None:
        self.params = params
        self.actor = actor

    def emit(self, type: str, subject_id: str, payload: dict) -> None:
        with open_audit(self.params, self.actor) as log:
            log.emit(type, subject_id, payload)
