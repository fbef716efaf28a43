"""The `verify` stage: run the tests that the risk controls and requirements cite, and keep
their JUnit XML, so the pack's FMEA and traceability rest on test results of this very run.

The selection defaults to every test named in `governance/hazards.yaml` and
`governance/requirements.yaml`, less `exclude` (the dvc pipeline test runs `dvc repro` itself;
`make test` runs it). A failing test does not stop the pipeline: it is an anomaly that the pack
lists and the FMEA turns into an open control. A pytest that cannot run at all (bad selection,
internal error) is an error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from cds.errors import CdsError
from governance.fmea import read_junit
from governance.hazards import REGISTRY, load_registry
from governance.lineage import collect_lineage

REQUIREMENTS = Path(__file__).resolve().parent / "requirements.yaml"
# pytest exit codes: 0 all passed, 1 some failed, 5 none collected; others mean it did not run.
_RAN = {0, 1}


class VerifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tests: list[str] | None = Field(
        None, description="pytest paths or node ids; null: every test the registry and the "
        "requirements cite")
    exclude: list[str] = Field(default_factory=lambda: ["tests/test_dvc_pipeline.py"])
    junit: Path = Path("reports/verification/junit.xml")
    summary: Path = Path("reports/verification/verification.json")
    registry: Path = REGISTRY
    requirements: Path = REQUIREMENTS


class VerificationError(CdsError):
    """pytest could not run the selection (not: some tests failed)."""

    exit_code = 2


def cited_tests(registry: Path = REGISTRY, requirements: Path = REQUIREMENTS) -> list[str]:
    """Every test node the hazard controls and the requirements name, without repeats and
    without a node whose file is already selected whole."""
    nodes = {t for c in load_registry(registry).controls for t in c.tests}
    reqs = yaml.safe_load(requirements.read_text(encoding="utf-8"))
    nodes |= {t for r in reqs["requirements"] for t in r["tests"]}
    files = {n for n in nodes if "::" not in n}
    return sorted(n for n in nodes if "::" not in n or n.split("::")[0] not in files)


def selection(cfg: VerifyConfig) -> list[str]:
    tests = cfg.tests if cfg.tests is not None else cited_tests(cfg.registry, cfg.requirements)
    return [t for t in tests if t.split("::")[0] not in cfg.exclude and t not in cfg.exclude]


def run_verification(cfg: VerifyConfig, root: Path, quiet: bool = False) -> dict:
    """Run the selection with pytest in `root`; write the JUnit XML and a summary JSON."""
    tests = selection(cfg)
    if not tests:
        raise VerificationError("verify: no tests selected (check verify.tests and exclude)")
    missing = [t for t in tests if not (root / t.split("::")[0]).exists()]
    if missing:
        raise VerificationError(f"verify: test file not found: {missing[0]}")
    junit, summary_file = root / cfg.junit, root / cfg.summary
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}",
           f"--rootdir={root}", "-q" if quiet else "-v", *tests]
    start = time.perf_counter()
    # pytest's own output is the progress report; it goes to stderr with the other logs.
    code = subprocess.run(cmd, cwd=root, stdout=sys.stderr, check=False).returncode
    seconds = round(time.perf_counter() - start, 1)
    if code not in _RAN or not junit.exists():
        raise VerificationError(f"verify: pytest did not run the selection (exit {code})")
    outcomes = read_junit(junit)
    lineage = collect_lineage(root)
    summary = {
        "selected": tests,
        "excluded": cfg.exclude,
        "tests": len(outcomes),
        "passed": sum(1 for s in outcomes.values() if s == "passed"),
        "failed": sum(1 for s in outcomes.values() if s == "failed"),
        "skipped": sum(1 for s in outcomes.values() if s == "skipped"),
        "pytest_exit_code": code,
        "seconds": seconds,
        "git_commit": lineage.git_commit,
        "git_dirty": lineage.git_dirty,
    }
    summary_file.parent.mkdir(parents=True, exist_ok=True)
    summary_file.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
