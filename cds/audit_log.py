"""Opening the audit log from params.yaml's `audit:` section (`CDS_DATABASE_URL` wins)."""

from __future__ import annotations

from pathlib import Path

import yaml

from audit.log import AuditConfig, AuditLog
from cds.config import load_section
from cds.settings import CdsSettings


def audit_config(params: Path) -> AuditConfig:
    """The `audit:` section, or the defaults when the file has none (a user's own params file
    for `cds suggest` need not configure the audit log)."""
    has_section = False
    if params.exists():
        try:
            has_section = "audit" in (yaml.safe_load(params.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, TypeError):
            has_section = True  # let load_section report the problem
    cfg = load_section(params, "audit", AuditConfig) if has_section else AuditConfig()
    url = CdsSettings().database_url
    return cfg.model_copy(update={"database_url": url}) if url else cfg


def open_audit(params: Path, actor: str) -> AuditLog:
    return AuditLog.open(audit_config(params), actor)
