"""End to end: `dvc repro` of the real dvc.yaml on tiny data, twice (second is a no-op)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT


def _run(cmd: list[str], cwd: Path) -> str:
    env = {
        **os.environ,
        "CDS_DEID_KEY": "pipeline-test-key-0123456789",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


def test_dvc_repro_runs_and_second_run_is_up_to_date(tmp_path: Path, tiny_ddxplus: Path):
    work = tmp_path / "project"
    work.mkdir()
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, work / name)
    for package in ("cds", "governance"):
        shutil.copytree(
            ROOT / package, work / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copytree(tiny_ddxplus, work / "data" / "external" / "ddxplus")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["corpus"]["max_patients"] = 20
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    _run(["git", "init", "-q"], work)
    _run([sys.executable, "-m", "dvc", "init", "-q"], work)
    _run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], work)

    _run([sys.executable, "-m", "dvc", "repro"], work)
    notes = (work / "data" / "raw" / "notes.jsonl").read_text().splitlines()
    assert len(notes) == 20
    assert len((work / "data" / "deid" / "notes.jsonl").read_text().splitlines()) == 20
    assert (work / "dvc.lock").exists()

    second = _run([sys.executable, "-m", "dvc", "repro"], work)
    assert "up to date" in second
    assert "Running stage" not in second
