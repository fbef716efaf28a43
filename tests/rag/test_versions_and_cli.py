"""A changed document gets a new version; old citations still resolve; the CLI."""

import json
import shutil

from typer.testing import CliRunner

from cds.cli import app
from cds.schemas import DiagnosisItem, Differential, PassageCitation
from rag.build import build_kb
from rag.kb import KnowledgeBase
from tests.conftest import DDXPLUS
from tests.rag.conftest import kb_config, write_params, write_tiny_medquad
from tests.rag.test_retrieve_and_verify import NOTE

runner = CliRunner()


def test_changing_one_document_changes_only_its_version_and_old_citations_resolve(tmp_path):
    ddx = tmp_path / "ddxplus"
    ddx.mkdir()
    for name in ("release_conditions.json", "release_evidences.json"):
        shutil.copy(DDXPLUS / name, ddx / name)
    write_tiny_medquad(tmp_path / "m.jsonl.gz")
    cfg = kb_config(tmp_path, ddx, tmp_path / "m.jsonl.gz")
    build_kb(cfg, show_progress=False)
    before = KnowledgeBase(cfg)
    old = {d.doc_id: d.version for d in before.documents.values()}
    old_citation = PassageCitation(
        doc_id="ddx-pneumonia", passage_id="ddx-pneumonia#1", version=old["ddx-pneumonia"]
    )
    old_text = before.passage_at("ddx-pneumonia", "ddx-pneumonia#1", old["ddx-pneumonia"]).text

    conditions = json.loads((ddx / "release_conditions.json").read_text())
    conditions["Pneumonia"]["severity"] = 2  # one fact of one document changes
    (ddx / "release_conditions.json").write_text(json.dumps(conditions))
    stats = build_kb(cfg, show_progress=False)
    after = KnowledgeBase(cfg)
    new = {d.doc_id: d.version for d in after.documents.values()}

    changed = {d for d in old if old[d] != new[d]}
    assert changed == {"ddx-pneumonia"}
    assert stats.new_versions == 1
    resolved = after.passage_at("ddx-pneumonia", "ddx-pneumonia#1", old["ddx-pneumonia"])
    assert resolved is not None and resolved.text == old_text
    assert (
        after.passage_at("ddx-pneumonia", "ddx-pneumonia#1", new["ddx-pneumonia"]).text != old_text
    )
    diff = Differential(
        items=(
            DiagnosisItem(
                condition="Pneumonia",
                icd10="J18",
                probability=0.5,
                rationale="r",
                citations=(old_citation,),
            ),
        )
    )
    assert after.verify(diff, NOTE).all_supported


def test_cli_search_show_and_errors(tiny_kb, tmp_path):
    params = write_params(tiny_kb, tmp_path / "params.yaml")
    out = runner.invoke(app, ["kb", "search", "cough and fever", "--json", "--params", str(params)])
    assert out.exit_code == 0, out.output
    passages = json.loads(out.stdout)
    assert len(passages) == 5 and all("#" in p["passage_id"] for p in passages)

    out = runner.invoke(app, ["kb", "show", "ddx-pneumonia#1", "--json", "--params", str(params)])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)
    assert shown["approval"] == "approved" and "ICD-10 J17" in shown["passages"]["ddx-pneumonia#1"]

    out = runner.invoke(app, ["kb", "show", "no-such-doc", "--params", str(params)])
    assert out.exit_code == 2 and "not in the KB manifest" in out.output
    assert "Traceback" not in out.output
    out = runner.invoke(
        app, ["kb", "show", "ddx-pneumonia", "--version", "f" * 16, "--params", str(params)]
    )
    assert out.exit_code == 2 and "no version" in out.output


def test_cli_eval_notes_and_pubmedqa(tiny_kb, tmp_path):
    params = write_params(tiny_kb, tmp_path / "params.yaml")
    from tests.conftest import ROOT

    source = json.loads((ROOT / "data/external/pubmedqa-pqal/ori_pqal.json").read_text())
    small = dict(list(source.items())[:12])
    (tmp_path / "pqal.json").write_text(json.dumps(small))
    out = runner.invoke(
        app,
        [
            "kb",
            "eval",
            "--pubmedqa",
            str(tmp_path / "pqal.json"),
            "--json",
            "--params",
            str(params),
        ],
    )
    assert out.exit_code == 0, out.output
    metrics = json.loads(out.stdout)
    assert metrics["n"] == 12 and metrics["passages"] >= 12
    for key in ("recall_at_1", "recall_at_5", "recall_at_10", "mrr", "p95_ms"):
        assert 0 <= metrics[key] <= (1 if key != "p95_ms" else 1e6)
    assert metrics["recall_at_1"] <= metrics["recall_at_5"] <= metrics["recall_at_10"]
    assert metrics["recall_at_10"] >= 0.9  # 12 abstracts: each question finds its own

    (tmp_path / "bad.json").write_bytes(b"\x00\xff")
    out = runner.invoke(app, ["kb", "eval", "--pubmedqa", str(tmp_path / "bad.json")])
    assert out.exit_code == 2 and "not a JSON file" in out.output
    out = runner.invoke(app, ["kb", "eval", "--params", str(params)])
    assert out.exit_code == 2 and "exactly one" in out.output
