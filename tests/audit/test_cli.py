"""The commands a reviewer and an auditor type: users, review, audit verify/proof/export/tail,
with passwords on standard input."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from audit.log import AuditConfig, AuditLog
from tests.audit.conftest import ROOT
from tests.audit.test_review import ITEM, PW, open_case


@pytest.fixture
def params(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({
        "audit": {"database_url": f"sqlite:///{tmp_path / 'audit.db'}",
                  "signing_key": str(tmp_path / "log.pem"), "checkpoint_every": 1000},
        "deidentify": {},
    }))
    return path


def cds(params, *args, stdin="", env=None):
    return subprocess.run(
        [sys.executable, "-m", "cds.cli", *args, "--params", str(params)],
        input=stdin, capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_review_round_trip_and_offline_verification(params, tmp_path):
    out = cds(params, "users", "add", "ada", "--name", "Ada Admin", "--role", "reviewer-admin",
              "--password-stdin", stdin=PW["ada"] + "\n")
    assert out.returncode == 0, out.stderr
    out = cds(params, "users", "add", "bob", "--name", "Dr Bob Smith", "--role", "clinician",
              "--admin", "ada", "--password-stdin", stdin=f"{PW['bob']}\n{PW['ada']}\n")
    assert out.returncode == 0, out.stderr
    cfg = AuditConfig(**yaml.safe_load(params.read_text())["audit"])
    with AuditLog.open(cfg, "test") as log:
        open_case(log, "c1")
        open_case(log, "c2", confidence=(0.1,))

    listed = json.loads(cds(params, "review", "list", "--json").stdout)
    assert [c["case_id"] for c in listed] == ["c2", "c1"]
    shown = cds(params, "review", "show", "c2").stdout
    # one probability column: the calibrated number the clinician saw, not the model's 0.40
    assert "calibrated p" in shown and "0.10" in shown and "0.40" not in shown
    out = cds(params, "review", "claim", "c1", "--user", "bob", "--password-stdin",
              stdin="wrong-password-here\n")
    assert out.returncode == 3 and out.stderr.count("\n") == 1
    assert "wrong password" in out.stderr and "Traceback" not in out.stderr
    for verb in ("claim", "approve"):
        out = cds(params, "review", verb, "c1", "--user", "bob", "--password-stdin",
                  stdin=PW["bob"] + "\n")
        assert out.returncode == 0, out.stderr
        assert "Dr Bob Smith" in out.stdout
    # override with a corrected differential (validated) and a reason naming a person
    cds(params, "review", "claim", "c2", "--user", "bob", "--password-stdin",
        stdin=PW["bob"] + "\n")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"items": [{**ITEM, "citations": [
        {"kind": "note", "line_start": 9, "line_end": 9}]}]}))
    out = cds(params, "review", "override", "c2", "--user", "bob", "--reason", "x",
              "--differential", str(bad), "--password-stdin", stdin=PW["bob"] + "\n")
    assert out.returncode == 2 and "3 lines" in out.stderr
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"items": [{**ITEM, "condition": "Bronchitis",
                                           "icd10": "J20.9"}]}))
    out = cds(params, "review", "override", "c2", "--user", "bob", "--reason",
              "Called John Hargreaves at 617-555-0199: symptoms began after the trip",
              "--differential", str(good), "--password-stdin", stdin=PW["bob"] + "\n")
    assert out.returncode == 0, out.stderr
    history = json.loads(cds(params, "review", "history", "c2", "--json").stdout)
    logged = json.dumps(history)
    assert "617-555-0199" not in logged and "Hargreaves" not in logged
    pairs = tmp_path / "pairs.jsonl"
    assert cds(params, "review", "export-pairs", str(pairs)).returncode == 0
    pair = json.loads(pairs.read_text().splitlines()[0])
    assert "Bronchitis" in pair["chosen"][0]["content"]
    assert "Pneumonia" in pair["rejected"][0]["content"]
    assert "line two" in pair["prompt"][1]["content"]

    verified = json.loads(cds(params, "audit", "verify", "--json").stdout)
    assert verified["ok"] and verified["signatures"] == 4
    proof = json.loads(cds(params, "audit", "proof", "3", "--json").stdout)
    assert proof["verified"] and proof["tree_size"] == verified["events"]
    assert proof["event_hash"] == json.loads(cds(params, "audit", "tail", "-n", "100", "--json")
                                             .stdout)[2]["hash"]
    export = tmp_path / "export"
    out = cds(params, "audit", "export", str(export), "--user", "bob", "--password-stdin",
              stdin=PW["bob"] + "\n")
    assert out.returncode == 3 and "role clinician may not export" in out.stderr
    out = cds(params, "audit", "export", str(export), "--user", "ada", "--password-stdin",
              stdin=PW["ada"] + "\n")
    assert out.returncode == 0, out.stderr
    offline = cds(params, "audit", "verify", "--export", str(export), "--json")
    assert offline.returncode == 0 and json.loads(offline.stdout)["ok"]
    lines = (export / "events.jsonl").read_text().splitlines()
    row = json.loads(lines[4])
    row["actor"] = "someone-else"
    lines[4] = json.dumps(row)
    (export / "events.jsonl").write_text("\n".join(lines) + "\n")
    tampered = cds(params, "audit", "verify", "--export", str(export), "--json")
    assert tampered.returncode == 4 and json.loads(tampered.stdout)["first_bad_seq"] == 5
    tail = json.loads(cds(params, "audit", "tail", "-n", "3", "--json").stdout)
    assert len(tail) == 3


def test_database_url_from_the_environment(params, postgres_url):
    out = cds(params, "audit", "checkpoint", "--json", env={"CDS_DATABASE_URL": postgres_url})
    assert out.returncode == 0, out.stderr
    out = cds(params, "audit", "verify", "--json", env={"CDS_DATABASE_URL": postgres_url})
    assert out.returncode == 0 and json.loads(out.stdout)["ok"], out.stdout + out.stderr
    out = cds(params, "audit", "verify", env={"CDS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"})
    assert out.returncode == 1 and "cannot open audit database" in out.stderr
    assert out.stderr.count("\n") == 1
