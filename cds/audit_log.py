"""Opening the audit log from params.yaml's `audit:` section (`CDS_DATABASE_URL` wins)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from audit.log import AuditConfig, AuditLog, Checkpoint
from audit.verify import VerifyReport
from cds.config import load_section
from cds.settings import CdsSettings


def audit_config(params: Path) -> AuditConfig:
    """The `audit:` section, or the defaults when the file has none (a user's own params file
    for `cds suggest` need not configure the audit log)."""
    cfg = load_section(params, "audit", AuditConfig, missing_ok=True)
    url = CdsSettings().database_url
    return cfg.model_copy(update={"database_url": url}) if url else cfg


def open_audit(params: Path, actor: str) -> AuditLog:
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
