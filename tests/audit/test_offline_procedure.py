"""The offline verification procedure printed in docs/audit.md works as printed: it accepts an
export and rejects a tampered one."""

import json
import re
import subprocess
import sys

from audit.export import export_log
from tests.audit.conftest import ROOT, fill


def procedure(tmp_path):
    doc = (ROOT / "docs" / "audit.md").read_text()
    block = re.search(r"<!-- offline-verifier -->\n```python\n(.*?)```", doc, re.S).group(1)
    script = tmp_path / "verify_export.py"
    script.write_text(block)
    return script


def run(script, export):
    return subprocess.run([sys.executable, str(script), str(export)], capture_output=True,
                          text=True, timeout=120)


def test_documented_procedure_accepts_an_export_and_rejects_tampering(log, tmp_path):
    fill(log, 23)
    log.append("route", "c1", {"note": "héllo ✓"})  # non-ASCII survives canonical JSON
    export = tmp_path / "export"
    export_log(log, export)
    script = procedure(tmp_path)
    out = run(script, export)
    assert out.returncode == 0 and out.stdout.startswith("OK: 24 events"), out.stderr

    events = (export / "events.jsonl").read_text().splitlines()
    row = json.loads(events[6])
    row["payload"] = row["payload"].replace('"ok"', '"changed"')
    (export / "events.jsonl").write_text("\n".join([*events[:6], json.dumps(row), *events[7:]])
                                         + "\n")
    out = run(script, export)
    assert out.returncode != 0 and "seq 7: payload changed" in out.stderr

    (export / "events.jsonl").write_text("\n".join(events) + "\n")
    checkpoints = (export / "checkpoints.jsonl").read_text().splitlines()
    cp = json.loads(checkpoints[-1])
    cp["root_hash"] = "00" * 32
    (export / "checkpoints.jsonl").write_text("\n".join([*checkpoints[:-1], json.dumps(cp)])
                                              + "\n")
    out = run(script, export)
    assert out.returncode != 0 and "InvalidSignature" in out.stderr
