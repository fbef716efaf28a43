import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cds.cli import app
from cds.errors import SourceDataError
from governance.lineage import collect_lineage, read_dvc_lock

LOCK = """schema: '2.0'
stages:
  corpus:
    cmd: cds corpus
    outs:
    - path: data/raw/notes.jsonl
      hash: md5
      md5: 0123456789abcdef0123456789abcdef
      size: 42
"""


def test_lineage_reads_lock_commit_and_packages(tmp_path: Path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.lock").write_text(LOCK)
    subprocess.run(["git", "add", "dvc.lock"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"],
        cwd=tmp_path,
        check=True,
    )
    lineage = collect_lineage(tmp_path)
    assert lineage.git_commit and len(lineage.git_commit) == 40
    assert lineage.git_dirty is False
    assert lineage.stages["corpus"][0].md5 == "0123456789abcdef0123456789abcdef"
    assert lineage.packages["pydantic"]

    # What `dvc repro` rewrites (dvc.lock, stage outputs) is not a source change; a code edit is.
    (tmp_path / "dvc.lock").write_text(LOCK + "# rerun\n")
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "notes.jsonl").write_text("{}\n")
    assert collect_lineage(tmp_path).git_dirty is False
    (tmp_path / "code.py").write_text("x = 1\n")
    assert collect_lineage(tmp_path).git_dirty is True


def test_lineage_cli_prints_json(tmp_path: Path):
    (tmp_path / "dvc.lock").write_text(LOCK)
    result = CliRunner().invoke(app, ["lineage", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"git_commit", "git_dirty", "stages", "packages"}
    assert data["stages"]["corpus"][0]["size"] == 42


def test_unreadable_lock_is_a_clear_error(tmp_path: Path):
    (tmp_path / "dvc.lock").write_text("stages: [not, a, mapping")
    with pytest.raises(SourceDataError, match="dvc.lock"):
        read_dvc_lock(tmp_path / "dvc.lock")
    result = CliRunner().invoke(app, ["lineage", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "dvc.lock" in result.output and "Traceback" not in result.output
