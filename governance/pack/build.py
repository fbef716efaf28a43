"""The `package` stage: gather the run's artifacts, verify the audit trail, write the JSON twin
and render the PDF."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from governance.classification import INTENDED_USE
from governance.hazards import REGISTRY
from governance.verification import REQUIREMENTS


class PackageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out: Path = Path("reports/submission.pdf")
    junit: Path = Field(Path("reports/verification/junit.xml"),
                        description="pytest JUnit XML of this run (the `verify` stage)")
    audit_export: Path | None = Field(
        None, description="a `cds audit export` directory to verify and summarise; null: the "
        "audit database configured in the `audit:` section")
    # The project's own governance files (the installed package's copies by default).
    registry: Path = REGISTRY
    intended_use: Path = INTENDED_USE
    requirements: Path = REQUIREMENTS


def audit_summary(params: Path, export_dir: Path | None) -> dict:
    """The verification report of the audit trail, never the database URL (it may hold a
    password)."""
    if export_dir is not None:
        from audit.export import verify_export

        return verify_export(export_dir).summary() | {"source": f"export {export_dir}"}
    from cds.audit_log import verify_configured_log

    report, dialect = verify_configured_log(params, "cli:docs")
    return report.summary() | {"source": f"the configured {dialect} audit database"}


def build_pack(cfg: PackageConfig, root: Path, audit: dict | None) -> dict:
    from governance.pack.contents import gather
    from governance.pack.render import render_pdf

    out = cfg.out
    contents = gather(root, cfg.junit, audit, cfg.registry, cfg.intended_use, cfg.requirements)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(contents, indent=2) + "\n", encoding="utf-8")
    render_pdf(contents, root, out)
    return contents
