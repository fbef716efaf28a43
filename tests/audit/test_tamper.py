"""Every kind of tampering, done behind the database layer's back, is caught by verify, which
names the first bad sequence number."""

import json

import pytest
from sqlalchemy import text

from audit.canonical import event_hash, sha256_hex
from audit.export import export_log, read_checkpoints
from audit.signing import public_hex
from audit.verify import verify_log
from tests.audit.conftest import fill, raw_sql

N = 30  # checkpoints every 5 events


@pytest.fixture
def filled(log):
    fill(log, N)
    assert verify_log(log, {public_hex(log.signing_key)}).ok
    return log


def check(log, first_bad):
    report = verify_log(log, {public_hex(log.signing_key)})
    assert not report.ok
    assert report.first_bad_seq == first_bad, report.problems
    return report


def row(log, seq):
    with log.engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM audit_event WHERE seq = :s"),
                                 {"s": seq}).mappings().one())


def rehash_from(log, start):
    """The attacker's best move: recompute every hash from `start` on so the chain links."""
    with log.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            text("SELECT * FROM audit_event WHERE seq >= :s - 1 ORDER BY seq"), {"s": start}
        ).mappings()]
    prev = rows[0]["hash"]
    stmts = []
    for r in rows[1:]:
        h = event_hash(r["seq"], r["ts"], r["type"], r["actor"], r["subject_id"],
                       r["payload_hash"], prev)
        stmts.append((r["seq"], prev, h))
        prev = h
    for seq, p, h in stmts:
        raw_sql(log, "UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s",
                params={"p": p, "h": h, "s": seq})


def test_edited_payload(filled):
    raw_sql(filled, "UPDATE audit_event SET payload = :p WHERE seq = 10",
            params={"p": '{"i":9,"text":"changed"}'})
    report = check(filled, 10)
    assert "payload does not match" in report.problems[0]


def test_edited_payload_with_its_hash_recomputed(filled):
    payload = '{"i":9,"text":"changed"}'
    raw_sql(filled, "UPDATE audit_event SET payload = :p, payload_hash = :h WHERE seq = 10",
            params={"p": payload, "h": sha256_hex(payload)})
    check(filled, 10)


def test_edited_hash(filled):
    raw_sql(filled, "UPDATE audit_event SET hash = :h WHERE seq = 10", params={"h": "ab" * 32})
    check(filled, 10)


def test_deleted_event(filled):
    raw_sql(filled, "DELETE FROM audit_event WHERE seq = 10")
    report = check(filled, 10)
    assert "sequence jumps" in report.problems[0]


def test_inserted_event(filled):
    nine = row(filled, 9)
    payload = '{"i":99,"text":"forged"}'
    ph = sha256_hex(payload)
    forged_hash = event_hash(10, nine["ts"], "note", "test", "forged", ph, nine["hash"])
    raw_sql(
        filled,
        "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 10",
        "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1000",
        "INSERT INTO audit_event (seq, ts, type, actor, subject_id, payload, payload_hash, "
        "prev_hash, hash) VALUES (10, :ts, 'note', 'test', 'forged', :p, :ph, :prev, :h)",
        params={"ts": nine["ts"], "p": payload, "ph": ph, "prev": nine["hash"],
                "h": forged_hash},
    )
    # The forged event links, so the chain first breaks at 11; the signed root at 10 already
    # disagrees, and no good checkpoint vouches for anything after 5: that is the first bad seq.
    report = check(filled, 6)
    assert any(p.startswith("seq 11: prev_hash") for p in report.problems)


def test_reordered_events(filled):
    raw_sql(
        filled,
        "UPDATE audit_event SET seq = 1000 WHERE seq = 10",
        "UPDATE audit_event SET seq = 10 WHERE seq = 11",
        "UPDATE audit_event SET seq = 11 WHERE seq = 1000",
    )
    check(filled, 10)


def test_truncated_tail(filled):
    raw_sql(filled, "DELETE FROM audit_event WHERE seq > 26")
    report = check(filled, 27)
    assert "log ends at 26" in " ".join(report.problems)


def test_truncated_and_rehashed_tail_is_caught_by_the_signed_checkpoints(filled):
    # Rewrite event 18 and re-hash everything after it: the chain is consistent again, only the
    # signed Merkle roots at 20, 25 and 30 disagree. Events up to 15 are vouched for.
    payload = '{"i":17,"text":"rewritten"}'
    raw_sql(filled, "UPDATE audit_event SET payload = :p, payload_hash = :h WHERE seq = 18",
            params={"p": payload, "h": sha256_hex(payload)})
    rehash_from(filled, 18)
    report = check(filled, 16)
    assert all("checkpoint" in p for p in report.problems)


def test_rewrite_that_also_drops_checkpoints_is_caught_by_an_exported_anchor(filled, tmp_path):
    export_log(filled, tmp_path / "export")  # handed to compliance earlier
    anchors = read_checkpoints(tmp_path / "export" / "checkpoints.jsonl")
    raw_sql(filled, "DELETE FROM audit_event WHERE seq > 12",
            "DELETE FROM audit_checkpoint WHERE tree_size > 10")
    key = {public_hex(filled.signing_key)}
    assert verify_log(filled, key).ok  # consistent on its own ...
    report = verify_log(filled, key, anchors)  # ... but not with what was exported
    assert not report.ok and report.first_bad_seq == 13


def test_verify_reads_the_stored_payload_bytes(filled):
    # Same JSON value, different bytes (key order): still a change to the record.
    raw_sql(filled, "UPDATE audit_event SET payload = :p WHERE seq = 5",
            params={"p": '{"text":"ok","i":4}'})
    assert json.loads(row(filled, 5)["payload"]) == {"i": 4, "text": "ok"}
    check(filled, 5)
