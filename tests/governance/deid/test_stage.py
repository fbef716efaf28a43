"""The deidentify stage on a tiny corpus: outputs, report, residual gate, no PHI in report/logs."""

import json
import logging
import re

import pytest
from typer.testing import CliRunner

from cds.cli import app
from cds.corpus import CorpusConfig, build_corpus, read_corpus
from governance.deid.errors import ResidualPhiError
from governance.deid.stage import DeidConfig, deidentify_corpus


@pytest.fixture
def raw_corpus(tiny_ddxplus, tmp_path, monkeypatch):
    monkeypatch.setenv("CDS_DEID_KEY", "test-key-0123456789abcdef")
    out = tmp_path / "raw"
    build_corpus(CorpusConfig(source_dir=tiny_ddxplus, out_dir=out), show_progress=False)
    return out / "notes.jsonl"


def _gold_values(path):
    return {r.note.text[s.start : s.end] for r in read_corpus(path) for s in r.phi}


def test_stage_removes_every_gold_value_and_keeps_lines(raw_corpus, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    cfg = DeidConfig(in_file=raw_corpus, out_dir=tmp_path / "deid")
    report = deidentify_corpus(cfg, show_progress=False)
    assert report.gold_span_recall == 1.0
    assert report.residual_hits == 0
    raw = read_corpus(raw_corpus)
    deid = read_corpus(tmp_path / "deid" / "notes.jsonl")
    assert [r.note.id for r in raw] == [r.note.id for r in deid]
    gold = {v for v in _gold_values(raw_corpus) if len(v) >= 3}
    report_text = (tmp_path / "deid" / "phi_report.json").read_text()
    for value in gold:
        # Whole words: a ZIP code may occur inside a logged object address ("0x7f5c90412050").
        as_word = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")
        assert not as_word.search(report_text)
        assert not as_word.search(caplog.text)
    for before, after in zip(raw, deid, strict=True):  # per note: surrogates may be others' names
        own = {before.note.text[s.start : s.end] for s in before.phi}
        assert [v for v in own if len(v) >= 3 and v in after.note.text] == []
    for before, after in zip(raw, deid, strict=True):
        assert before.note.line_count == after.note.line_count
        assert after.phi == ()
        assert after.evidence_lines == before.evidence_lines


def test_residual_phi_fails_the_stage(raw_corpus, tmp_path):
    cfg = DeidConfig(in_file=raw_corpus, out_dir=tmp_path / "deid", threshold=1.0)
    with pytest.raises(ResidualPhiError) as err:
        deidentify_corpus(cfg, show_progress=False)
    assert not (tmp_path / "deid" / "notes.jsonl").exists()
    for value in _gold_values(raw_corpus):
        if len(value) >= 4:
            assert value not in str(err.value)


def test_cli_run_exit_code_and_json_report(raw_corpus, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(
        json.dumps({"deidentify": {"in_file": str(raw_corpus), "out_dir": str(tmp_path / "d")}})
    )
    result = CliRunner().invoke(app, ["deid", "run", "--params", str(params), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "d" / "phi_report.json").read_text())
    assert report["notes"] == 40 and report["detected_per_type"]["NAME"] > 40
    params.write_text(
        json.dumps(
            {
                "deidentify": {
                    "in_file": str(raw_corpus),
                    "out_dir": str(tmp_path / "e"),
                    "threshold": 1.0,
                }
            }
        )
    )
    result = CliRunner().invoke(app, ["deid", "run", "--params", str(params), "--quiet"])
    assert result.exit_code == 3
    assert "residual PHI" in result.output and "Traceback" not in result.output
