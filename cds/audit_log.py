"""Opening the audit log from params.yaml's `audit:` section (`CDS_DATABASE_URL` wins)."""

from __future__ import annotations

from pathlib import Path

from audit.log import AuditConfig, AuditLog
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
