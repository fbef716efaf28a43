"""The submission pack: built from a run's artifacts, rendered to PNG pages, every section
present with non-empty tables, and it follows a change in the hazard registry."""

import json
import shutil

import numpy as np
import pypdfium2 as pdfium
import pytest
import yaml

from governance.fmea import ArtifactError
from governance.hazards import load_registry
from governance.pack.contents import ARTIFACTS, PLOTS, gather
from governance.pack.render import SECTIONS, render_pdf
from tests.conftest import ROOT

TRACKED = ("reports/metrics.json", "reports/redteam/redteam.json",
           "reports/calibration/calibration.json", "data/deid/phi_report.json",
           "reports/ranker.json", "dvc.lock")


@pytest.fixture
def run_root(tmp_path):
    """A run's outputs: the tracked reports of this repo, plus small stand-ins for the
    dvc-cached ones a fresh clone lacks (adapter metadata, KB manifest, plots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = tmp_path / "run"
    for rel in TRACKED:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, root / rel)
    for card in (ROOT / "data" / "external").glob("*/*.md"):
        target = root / card.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(card, target)
    meta = {"base_hash": "b" * 64, "data_hash": "d" * 64, "recipe": {"method": "dpo"},
            "seed": 1234, "train_seconds": 12.5}
    stand_ins = {"kb_manifest": {"indexed_documents": 330}, "training_sft": meta,
                 "training_dpo": meta, "guardrail_metrics": {}}
    for name, data in stand_ins.items():
        (root / ARTIFACTS[name]).parent.mkdir(parents=True, exist_ok=True)
        (root / ARTIFACTS[name]).write_text(json.dumps(data))
    for rel in PLOTS.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(4, 2), dpi=80)
        ax.plot([0, 1], [0, 1])
        fig.savefig(root / rel)
        plt.close(fig)
    nodes = {t for c in load_registry().controls for t in c.tests}
    cases = "".join(
        f'<testcase classname="{n.split("::")[0][:-3].replace("/", ".")}" '
        f'name="{n.split("::")[1] if "::" in n else "test_x"}"/>' for n in sorted(nodes))
    cases += '<testcase classname="tests.audit.test_log" name="test_broken"><failure/></testcase>'
    (root / "junit.xml").write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")
    return root


def pages(pdf_path):
    pdf = pdfium.PdfDocument(str(pdf_path))
    texts, images = [], []
    for page in pdf:
        texts.append(page.get_textpage().get_text_range())
        images.append(np.asarray(page.render(scale=1).to_pil().convert("L")))
    return texts, images


def test_pack_has_every_section_with_data_and_renders(run_root, tmp_path):
    contents = gather(run_root, run_root / "junit.xml")
    render_pdf(contents, run_root, tmp_path / "submission.pdf")
    texts, images = pages(tmp_path / "submission.pdf")
    text = "\n".join(texts)
    for title in SECTIONS:
        assert title in text, title
    metrics = json.loads((ROOT / "reports/metrics.json").read_text())
    assert f"{metrics['pipeline']['top1']['value']:.3f}" in text  # the evaluation table
    assert "HZ-CRISIS" in text and "CT-INJECTION" in text  # FMEA and controls tables
    assert "tests.audit.test_log::test_broken" in text  # anomalies list the failed test
    assert "requirements not verified" in text
    assert all(img.std() > 5 for img in images)  # no blank page
    # every artifact, every plot, the JUnit XML and the three governance files
    assert len(contents["inputs"]) == len(ARTIFACTS) + len(PLOTS) + 1 + 3
    arch = contents["architecture"]  # generated from the source tree
    assert ["cds", "audit"] in map(list, arch["imports"])
    assert not [e for e in arch["imports"] if e[0] == "audit"]  # audit imports none of them
    assert all(n > 0 for n in arch["modules"].values())
    cards = {d["folder"]: d for d in contents["lineage"]["datasets"]}
    assert cards["ddxplus"]["licence"] == "CC BY 4.0" and cards["bipia"]["licence"] == "MIT"
    assert all(d["licence_notice"] for d in cards.values())
    assert contents["anomalies"]["failed_tests"] == ["tests.audit.test_log::test_broken"]


def test_pack_follows_the_hazard_registry_and_names_missing_inputs(run_root, tmp_path):
    before = gather(run_root, run_root / "junit.xml")
    data = yaml.safe_load((ROOT / "governance" / "hazards.yaml").read_text())
    data["hazards"][0]["severity"] = 2  # HZ-PHI judged minor
    edited = tmp_path / "hazards.yaml"
    edited.write_text(yaml.safe_dump(data))
    after = gather(run_root, run_root / "junit.xml", registry=edited)
    assert before["fmea"]["hazards"][0]["before"]["rpn"] == 100
    assert after["fmea"]["hazards"][0]["before"]["rpn"] == 50
    render_pdf(after, run_root, tmp_path / "after.pdf")
    assert "50->2" in "\n".join(pages(tmp_path / "after.pdf")[0])
    (run_root / "reports/metrics.json").unlink()
    with pytest.raises(ArtifactError, match="reports/metrics.json: missing"):
        gather(run_root, run_root / "junit.xml")


def test_requirements_trace_to_existing_tests_and_results(run_root):
    import re

    contents = gather(run_root, run_root / "junit.xml")
    reqs = contents["traceability"]["requirements"]
    assert len(reqs) >= 10
    for r in reqs:
        for node in r["tests"]:
            path, _, name = node.partition("::")
            assert (ROOT / path).exists(), node
            assert not name or re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M)
        for design in r["design"]:
            assert (ROOT / design).exists(), design
    # the stand-in JUnit holds only the registry's tests: the others are "not run", not passed
    by_id = {r["id"]: r for r in reqs}
    assert by_id["REQ-CRISIS"]["result"] == "passed"
    assert by_id["REQ-SCHEMA"]["result"] == "not run"
    assert "REQ-SCHEMA (not run)" in contents["anomalies"]["unverified_requirements"]
    assert "REQ-CRISIS (passed)" not in contents["anomalies"]["unverified_requirements"]
    threats = contents["traceability"]["threats"]
    assert any("injection" in t["threat"].lower() for t in threats)
    plan = contents["change_control_plan"]["acceptance"]
    assert plan["phi_leaks"] == 0 and plan["top1_at_least"] is not None
