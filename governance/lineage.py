"""Data lineage of a workspace: which code, which data, which software.

DVC does the hashing; this reads what it recorded (`dvc.lock`) next to the git commit and the
versions of the packages whose behaviour the results depend on. Suggestions and the PDF pack
embed this object, so a reviewer can tie any output to the exact inputs that made it.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from cds.errors import SourceDataError

KEY_PACKAGES = (
    "cds-toolkit",
    "pydantic",
    "dvc",
    "faker",
    "presidio-analyzer",
    "presidio-anonymizer",
    "spacy",
    "torch",
    "transformers",
    "peft",
    "trl",
    "bitsandbytes",
    "outlines",
    "llama-index-core",
    "sentence-transformers",
    "sqlmodel",
    "reportlab",
)


class StageOutput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    md5: str | None
    size: int | None = None
    nfiles: int | None = None


class Lineage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    git_commit: str | None
    git_dirty: bool | None
    stages: dict[str, list[StageOutput]]
    packages: dict[str, str | None]


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.rstrip()  # porcelain lines start with a space: keep it


def read_dvc_lock(path: Path) -> dict[str, list[StageOutput]]:
    """Stage name -> its recorded outputs. A missing lock means nothing has run yet.

    Raises:
        SourceDataError: the lock file exists but is not valid YAML of DVC's schema.
    """
    if not path.exists():
        return {}
    try:
        lock = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        stages = lock.get("stages", {})
        return {
            name: [
                StageOutput(
                    path=o["path"], md5=o.get("md5"), size=o.get("size"), nfiles=o.get("nfiles")
                )
                for o in stage.get("outs", [])
            ]
            for name, stage in sorted(stages.items())
        }
    except (yaml.YAMLError, AttributeError, KeyError, TypeError) as e:
        raise SourceDataError(f"{path}: not a readable dvc.lock ({type(e).__name__})") from e


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def source_changes(status: str, stages: dict[str, list[StageOutput]]) -> list[str]:
    """Paths in `git status --porcelain` output that are not written by `dvc repro` (dvc.lock
    and the stages' outputs and metrics change with every run; they are not source edits)."""
    written = {o.path.rstrip("/") for outs in stages.values() for o in outs} | {"dvc.lock"}
    changed = []
    for line in status.splitlines():
        path = line[3:].split(" -> ")[-1].strip('"').rstrip("/")
        if not any(path == w or path.startswith(w + "/") for w in written):
            changed.append(path)
    return changed


def collect_lineage(root: Path) -> Lineage:
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=all") if commit else None
    stages = read_dvc_lock(root / "dvc.lock")
    return Lineage(
        git_commit=commit,
        git_dirty=None if status is None else bool(source_changes(status, stages)),
        stages=stages,
        packages=package_versions(),
    )
