"""Every audit test runs on SQLite and on a real PostgreSQL server.

The server is the one `.ci/run` started (`CDS_TEST_POSTGRES_URL`), or, when that is unset, one
this session starts itself with `.ci/postgres` (Debian's `postgresql` package). No server and no
binaries is an error, not a skip: the PostgreSQL path is part of what is tested.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from audit.log import AuditConfig, AuditLog, NewEvent

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str:
    url = os.environ.get("CDS_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    data = Path("/tmp") / f"cds-test-pg-{uuid.uuid4().hex[:8]}"
    script = ROOT / ".ci" / "postgres"
    out = subprocess.run([str(script), "start", str(data), str(_free_port())],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        pytest.fail(f"could not start PostgreSQL for the audit tests: {out.stderr.strip()} "
                    "(set CDS_TEST_POSTGRES_URL or install Debian's postgresql)")
    try:
        yield out.stdout.strip()
    finally:
        subprocess.run([str(script), "stop", str(data)], capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", str(data)], check=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    admin_url = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield admin_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def audit_cfg(database_url, tmp_path) -> AuditConfig:
    return AuditConfig(database_url=database_url, signing_key=tmp_path / "keys" / "log.pem",
                       checkpoint_every=5)


@pytest.fixture
def log(audit_cfg):
    with AuditLog.open(audit_cfg, actor="test") as opened:
        yield opened


def fill(log: AuditLog, n: int, subject: str = "s") -> None:
    """n events, one transaction each, so checkpoints fall every `checkpoint_every`."""
    for i in range(n):
        log.append_many([NewEvent("note", "test", f"{subject}{i}", {"i": i, "text": "ok"})])


def raw_sql(log: AuditLog, *statements: str, params: dict | None = None) -> None:
    """What an attacker with database access does: bypass the append-only triggers and run
    the statements. SQLite: drop the triggers; PostgreSQL: disable them in this session."""
    with log.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for t in ("audit_event", "audit_checkpoint"):
                for op in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {t}_no_{op}")
        else:
            conn.exec_driver_sql("SET session_replication_role = replica")
        from sqlalchemy import text

        for s in statements:
            conn.execute(text(s), params or {})
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET session_replication_role = DEFAULT")
