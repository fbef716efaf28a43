"""Bad source data: one clear line naming the file, exit 2, no traceback; bad rows quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from cds.cli import app
from cds.corpus import CorpusConfig, build_corpus

runner = CliRunner()


def _params(tmp_path: Path, source: Path) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(
        yaml.safe_dump({"corpus": {"source_dir": str(source), "out_dir": str(tmp_path / "out")}})
    )
    return p


def _run(tmp_path: Path, source: Path):
    return runner.invoke(app, ["corpus", "--params", str(_params(tmp_path, source)), "--quiet"])


def _assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    out = result.output.strip()
    assert len(out.splitlines()) == 1, out
    assert "Traceback" not in out
    for needle in needles:
        assert needle in out


def test_missing_conditions_file(tiny_ddxplus, tmp_path):
    (tiny_ddxplus / "release_conditions.json").unlink()
    _assert_one_line_error(_run(tmp_path, tiny_ddxplus), "release_conditions.json", "not found")


def test_malformed_evidences_json(tiny_ddxplus, tmp_path):
    (tiny_ddxplus / "release_evidences.json").write_text('{"E_1": {"name": ')
    _assert_one_line_error(_run(tmp_path, tiny_ddxplus), "release_evidences.json", "invalid JSON")


def test_evidence_entry_missing_field(tiny_ddxplus, tmp_path):
    data = json.loads((tiny_ddxplus / "release_evidences.json").read_text())
    del data["E_91"]["question_en"]
    (tiny_ddxplus / "release_evidences.json").write_text(json.dumps(data))
    _assert_one_line_error(_run(tmp_path, tiny_ddxplus), "E_91", "question_en")


def test_patients_file_not_utf8(tiny_ddxplus, tmp_path):
    (tiny_ddxplus / "release_test_patients_subset.csv").write_bytes(b"age,sex\n\xff\xfe\x00\x81")
    _assert_one_line_error(_run(tmp_path, tiny_ddxplus), "release_test_patients_subset.csv")


def test_patients_file_missing_column(tiny_ddxplus, tmp_path):
    (tiny_ddxplus / "release_test_patients_subset.csv").write_text("age,sex\n40,F\n")
    _assert_one_line_error(_run(tmp_path, tiny_ddxplus), "missing column", "diagnosis")


def test_missing_params_section(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("other: 1\n")
    result = runner.invoke(app, ["corpus", "--params", str(p)])
    _assert_one_line_error(result, "corpus")


def test_invalid_rows_are_quarantined_and_counted(tiny_ddxplus, tmp_path):
    csv_path = tiny_ddxplus / "release_test_patients_subset.csv"
    lines = csv_path.read_text().splitlines()
    good = lines[1]
    bad_rows = [
        good.replace("56,", "abc,", 1),  # age not an integer
        good.replace(",M,", ",X,", 1),  # sex not F/M
        good.replace("'E_31'", "'E_99999'", 1),  # unknown evidence code
        '56,"not a list",M,Bronchitis,"[\'E_31\']",E_31',  # bad differential
    ]
    csv_path.write_text("\n".join([lines[0], *bad_rows, *lines[2:12]]) + "\n")
    stats = build_corpus(
        CorpusConfig(source_dir=tiny_ddxplus, out_dir=tmp_path / "out"), show_progress=False
    )
    assert stats.quarantined == 4
    assert stats.notes == 10
    quarantined = [
        json.loads(x) for x in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()
    ]
    assert [q["source_row"] for q in quarantined] == [1, 2, 3, 4]
    reasons = " ".join(q["reason"] for q in quarantined)
    for needle in ("age", "sex", "unknown evidence", "differential"):
        assert needle in reasons
    assert sum(stats.quarantine_reasons.values()) == 4
