"""`cds generate`, `cds train` and `cds model` refuse bad input with one line (no model load)."""

import json

import pytest
from typer.testing import CliRunner

from cds.cli import app

runner = CliRunner()


@pytest.fixture
def audit_params(tmp_path):
    """A params file whose audit log is a temporary database (never the project's)."""
    params = tmp_path / "params.yaml"
    params.write_text(
        f"audit:\n  database_url: sqlite:///{tmp_path}/audit.db\n"
        f"  signing_key: {tmp_path}/key.pem\n"
    )
    return params


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty note"),
        (b"   \n\n", "empty note"),
        (b"Pt seen\x00\x01", "binary input"),
        (b"Pt \xff\xfe seen", "not valid UTF-8"),
        (b"x" * 50, "more than the limit"),
    ],
)
def test_generate_refuses_bad_notes(tmp_path, audit_params, content, message):
    note = tmp_path / "note.txt"
    note.write_bytes(content)
    args = ["generate", str(note), "--max-chars", "40", "--params", str(audit_params)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    from cds.audit_log import open_audit

    with open_audit(audit_params, "test") as log:
        events = list(log.rows(types=["input_rejected"]))
    assert len(events) == 1
    assert "seen" not in json.dumps([list(map(str, row)) for row in events])


def test_generate_missing_file_and_stdin(tmp_path, audit_params):
    result = runner.invoke(app, ["generate", str(tmp_path / "none.txt")])
    assert result.exit_code == 2 and "file not found" in result.output
    result = runner.invoke(app, ["generate", "-", "--params", str(audit_params)], input=b"")
    assert result.exit_code == 2 and "stdin: empty note" in result.output


def test_bad_recipe_and_base_path_are_one_line_errors(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: x\nmethod: int8\ntrain_file: a\noutput_dir: b\n")
    result = runner.invoke(app, ["train", "sft", "--recipe", str(recipe)])
    assert result.exit_code == 2 and "method" in result.output
    params = tmp_path / "params.yaml"
    params.write_text(f"base_model:\n  path: {tmp_path / 'nowhere'}\n  out_dir: {tmp_path / 'o'}\n")
    result = runner.invoke(app, ["model", "base", "--params", str(params)])
    assert result.exit_code == 2 and "not a local Hugging Face model directory" in result.output
