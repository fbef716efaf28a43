"""Several writer processes build one valid chain; a writer killed with SIGKILL loses no event
it acknowledged."""

import os
import signal
import subprocess
import sys

from audit.log import AuditLog
from audit.signing import public_hex
from audit.verify import verify_log
from tests.audit.conftest import ROOT


def _writer(audit_cfg, name, count, max_batch):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.audit.writer", audit_cfg.database_url,
         str(audit_cfg.signing_key), name, str(count), str(max_batch)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_four_concurrent_writers_make_one_valid_chain(audit_cfg):
    AuditLog.open(audit_cfg).close()  # schema and key exist before the race
    procs = [_writer(audit_cfg, f"w{k}", 150, 8) for k in range(4)]
    acks = {}
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        for line in out.splitlines():
            seq, name, i = line.split()
            acks[int(seq)] = (name, int(i))
    log = AuditLog.open(audit_cfg)
    events = list(log.events())
    assert len(events) == len(acks) == 600
    assert {e.seq: (e.actor, e.data["i"]) for e in events} == acks
    for k in range(4):  # each writer's own events keep their order
        mine = [e.data["i"] for e in events if e.actor == f"w{k}"]
        assert mine == list(range(150))
    report = verify_log(log, {public_hex(log.signing_key)})
    assert report.ok and report.events == 600, report.problems
    log.close()


def test_sigkill_mid_stream_loses_no_acknowledged_event(audit_cfg):
    AuditLog.open(audit_cfg).close()
    proc = _writer(audit_cfg, "victim", 100_000, 1)
    acked = []
    for line in proc.stdout:
        acked.append(tuple(line.split()))
        if len(acked) == 150:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    log = AuditLog.open(audit_cfg)
    stored = {e.seq: e for e in log.events()}
    for seq, name, i in acked:
        assert int(seq) in stored and stored[int(seq)].data == {"writer": name, "i": int(i)}
    assert len(stored) >= len(acked)  # at most the in-flight commit landed without its ack
    report = verify_log(log, {public_hex(log.signing_key)})
    assert report.ok, report.problems
    log.append("after_crash", "s", {"ok": True})  # the chain goes on after the crash
    assert verify_log(log, {public_hex(log.signing_key)}).ok
    log.close()
