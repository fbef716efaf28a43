"""Appends, durability settings, server timestamps and the database's append-only triggers."""

import re

import pytest
from sqlalchemy import text

from audit.canonical import GENESIS_HASH, event_hash, sha256_hex
from audit.errors import InvalidRequest
from audit.log import AuditLog, NewEvent
from audit.signing import public_hex
from audit.verify import verify_log
from tests.audit.conftest import fill

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3,6}Z$")


def test_appends_form_a_chain_with_server_time(log):
    first = log.append("note", "case-1", {"b": 1, "a": [1, 2]})
    batch = log.append_many([NewEvent("x", "y", f"s{i}", {"i": i}) for i in range(3)])
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH
    assert [e.seq for e in batch] == [2, 3, 4]
    assert batch[0].prev_hash == first.hash and batch[1].prev_hash == batch[0].hash
    assert first.payload == '{"a":[1,2],"b":1}'  # canonical JSON, stored verbatim
    assert first.payload_hash == sha256_hex(first.payload)
    assert first.hash == event_hash(1, first.ts, "note", "test", "case-1", first.payload_hash,
                                    GENESIS_HASH)
    assert all(TS.match(e.ts) for e in [first, *batch])
    stored = list(log.events())
    assert [e.hash for e in stored] == [first.hash] + [e.hash for e in batch]
    assert [e.seq for e in log.events(subject_id="s1")] == [3]


def test_bad_events_are_refused_and_nothing_is_written(log):
    with pytest.raises(InvalidRequest, match="not JSON"):
        log.append("x", "s", {"v": float("nan")})
    with pytest.raises(InvalidRequest, match="subject_id"):
        log.append("x", "a\nb", {})
    with pytest.raises(InvalidRequest, match="type"):
        log.append("", "s", {})
    assert log.count() == 0


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET payload = '{}' WHERE seq = 2",
        "DELETE FROM audit_event WHERE seq = 2",
        "UPDATE audit_checkpoint SET root_hash = 'x'",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_database_refuses_updates_and_deletes(log, sql):
    fill(log, 6)
    with pytest.raises(Exception, match="append-only"), log.engine.begin() as conn:
        conn.execute(text(sql))
    assert log.count() == 6 and verify_log(log, {public_hex(log.signing_key)}).ok


def test_emptying_the_table_is_refused(log):
    # PostgreSQL's TRUNCATE skips row triggers (a statement trigger catches it); SQLite's
    # equivalent is an unqualified DELETE, which its truncate optimisation would run fast.
    fill(log, 2)
    sql = "TRUNCATE audit_event" if log.engine.dialect.name == "postgresql" else (
        "DELETE FROM audit_event")
    with pytest.raises(Exception, match="append-only"), log.engine.begin() as conn:
        conn.execute(text(sql))
    assert log.count() == 2


def test_checkpoints_are_periodic_signed_and_extend_each_other(log):
    fill(log, 12)  # checkpoint_every = 5
    sizes = [cp.tree_size for cp in log.checkpoints()]
    assert sizes == [5, 10]
    log.close()  # closing seals the rest
    reopened = AuditLog(log.engine, log.cfg)
    assert [cp.tree_size for cp in reopened.checkpoints()] == [5, 10, 12]
    report = verify_log(reopened, {public_hex(reopened.signing_key)})
    assert report.ok and report.sealed == 12 and report.checkpoints == 3


def test_a_checkpoint_signed_by_another_key_is_not_trusted(log):
    fill(log, 5)
    assert not verify_log(log, {"00" * 32}).ok


def test_sqlite_commits_are_durable_when_they_return(log):
    if log.engine.dialect.name != "sqlite":
        with log.engine.connect() as conn:  # PostgreSQL's default: commit waits for the WAL flush
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        return
    with log.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_reopening_the_log_restores_a_dropped_trigger(log, audit_cfg):
    fill(log, 2)
    drop = ("DROP TRIGGER audit_event_no_update" if log.engine.dialect.name == "sqlite"
            else "DROP TRIGGER audit_event_append_only ON audit_event")
    with log.engine.begin() as conn:
        conn.exec_driver_sql(drop)
    with AuditLog.open(audit_cfg) as reopened, pytest.raises(Exception, match="append-only"), \
            reopened.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'x' WHERE seq = 1"))
