"""Engines for SQLite (default) and PostgreSQL, the schema, and the write lock.

SQLite runs in WAL mode with `synchronous=FULL`, so a commit is on disk when it returns; every
write transaction starts with `BEGIN IMMEDIATE`, which takes the database's write lock up front,
so concurrent processes serialise on the chain head. PostgreSQL takes a transaction-scoped
advisory lock for the same purpose. Both refuse UPDATE and DELETE on the append-only tables with
triggers (PostgreSQL also refuses TRUNCATE).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from audit import tables  # noqa: F401 - registers the tables on SQLModel.metadata
from audit.errors import AuditError

APPEND_ONLY = ("audit_event", "audit_checkpoint")
_LOCK_KEY = 0x43445341  # "CDSA": the advisory lock that serialises appends on PostgreSQL

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"
    for t in APPEND_ONLY
    for op in ("UPDATE", "DELETE")
]
_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END $$",
    *(
        f"CREATE OR REPLACE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        for t in APPEND_ONLY
    ),
    *(
        f"CREATE OR REPLACE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        for t in APPEND_ONLY
    ),
]

NOW_SQL = {
    "sqlite": "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    "postgresql": (
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    ),
}


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` use psycopg 3 (the driver we install)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def open_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            # Writers take the write lock up front; readers get a WAL snapshot.
            readonly = conn.get_execution_options().get("readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True)
    else:
        raise AuditError(f"unsupported database {redacted(url)}: use sqlite:/// or postgresql://")
    try:
        _create_schema(engine)
    except AuditError:
        raise
    except Exception as e:  # noqa: BLE001 - driver errors name the server, not PHI
        raise AuditError(f"cannot open audit database {redacted(url)}: {type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}") from e
    return engine


def _create_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY + 1})
            names = [f"{t}_{kind}" for t in APPEND_ONLY for kind in ("append_only", "no_truncate")]
            installed = conn.execute(
                text("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(:names)"),
                {"names": names},
            ).scalar_one()
            if installed == len(names):
                return  # an existing log: no DDL, so no table locks against running writers
        SQLModel.metadata.create_all(conn)
        for ddl in _SQLITE_TRIGGERS if engine.dialect.name == "sqlite" else _PG_TRIGGERS:
            conn.exec_driver_sql(ddl)


def read_connection(engine: Engine) -> Connection:
    """A connection for reading: one consistent snapshot, no write lock."""
    return engine.connect().execution_options(readonly=True)


def lock_head(conn: Connection) -> None:
    """Serialise writers on the chain head for the rest of this transaction (SQLite already
    holds the write lock from BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def server_now(conn: Connection) -> str:
    return conn.exec_driver_sql(NOW_SQL[conn.dialect.name]).scalar_one()
