"""`AuditLog`: append events to the hash chain, seal them with signed checkpoints, read them.

An append is one transaction: take the head lock, read the head (seq, hash), stamp the batch
with the server's UTC clock, insert, commit. It returns after the commit, so an acknowledged
event is durable and several processes still build one chain. `AuditLog` is also the pipeline's
`EventSink` (`emit`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, insert, text

from audit.canonical import GENESIS_HASH, canonical_json, event_hash, sha256_hex
from audit.database import lock_head, open_engine, read_connection, server_now
from audit.errors import AuditError, InvalidRequest
from audit.merkle import Frontier
from audit.signing import key_id, load_or_create_log_key, public_hex
from audit.tables import AuditCheckpoint, AuditEvent

MAX_FIELD = 200  # type, actor and subject_id are identifiers, not text


class AuditConfig(BaseModel):
    """`audit:` section of params.yaml. `CDS_DATABASE_URL` overrides `database_url`."""

    database_url: str = "sqlite:///var/audit/audit.db"
    signing_key: Path = Field(
        Path(".secrets/audit_ed25519.pem"),
        description="Ed25519 key that signs checkpoints; created on first use",
    )
    checkpoint_every: int = Field(1000, ge=1, description="events between automatic checkpoints")


@dataclass(frozen=True)
class NewEvent:
    type: str
    actor: str
    subject_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str
    type: str
    actor: str
    subject_id: str
    payload: str  # canonical JSON, exactly as stored
    payload_hash: str
    prev_hash: str
    hash: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload)

    def as_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in EVENT_FIELDS}


EVENT_FIELDS = ("seq", "ts", "type", "actor", "subject_id", "payload", "payload_hash",
                "prev_hash", "hash")


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: str
    ts: str
    key_id: str
    public_key: str
    frontier: str
    signature: str

    def statement(self) -> str:
        """What the signature covers (RFC 9162's signed tree head, as canonical JSON)."""
        return checkpoint_statement(self.tree_size, self.root_hash, self.ts, self.key_id)

    def as_json(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in CHECKPOINT_FIELDS}


CHECKPOINT_FIELDS = ("tree_size", "root_hash", "ts", "key_id", "public_key", "frontier",
                     "signature")


def checkpoint_statement(tree_size: int, root_hash: str, ts: str, key: str) -> str:
    return canonical_json({"log": "cds-audit/v1", "tree_size": tree_size, "root_hash": root_hash,
                           "ts": ts, "key_id": key})


def _check_field(name: str, value: str) -> None:
    if not value or len(value) > MAX_FIELD or any(ord(c) < 32 for c in value):
        raise InvalidRequest(f"audit event {name} must be 1-{MAX_FIELD} printable characters")


class AuditLog:
    """The log on one database. Use as a context manager: leaving it seals what this process
    appended with a checkpoint."""

    def __init__(self, engine: Engine, cfg: AuditConfig, actor: str = "system") -> None:
        self.engine = engine
        self.cfg = cfg
        self.actor = actor
        self._unsealed = 0
        self._key = None

    @classmethod
    def open(cls, cfg: AuditConfig, actor: str = "system") -> AuditLog:
        return cls(open_engine(cfg.database_url), cfg, actor)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._unsealed:
            self.checkpoint()
        self.engine.dispose()

    # ------------------------------------------------------------------ writing

    def append(self, type: str, subject_id: str, payload: dict[str, Any],
               actor: str | None = None) -> Event:
        return self.append_many([NewEvent(type, actor or self.actor, subject_id, payload)])[0]

    def emit(self, type: str, subject_id: str, payload: dict[str, Any]) -> None:
        """`cds.events.EventSink`."""
        self.append(type, subject_id, payload)

    def append_many(
        self, batch: Sequence[NewEvent], check: Callable[[Connection], None] | None = None
    ) -> list[Event]:
        """Append `batch` in one transaction; returns the stored events once they are durable.

        `check(conn)` runs under the head lock before the insert and may raise to refuse the
        batch: a precondition (a case is still open, unclaimed) that no other writer can change
        between the check and the append."""
        prepared = []
        for e in batch:
            for name in ("type", "actor", "subject_id"):
                _check_field(name, getattr(e, name))
            try:
                payload = canonical_json(e.payload)
            except (TypeError, ValueError) as err:
                raise InvalidRequest(f"audit payload of {e.type} is not JSON: {err}") from err
            prepared.append((e, payload, sha256_hex(payload)))
        rows: list[Event] = []
        with self.engine.begin() as conn:
            lock_head(conn)
            if check is not None:
                check(conn)
            head = conn.execute(
                text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
            ).first()
            seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
            ts = server_now(conn)
            for e, payload, payload_hash in prepared:
                seq += 1
                h = event_hash(seq, ts, e.type, e.actor, e.subject_id, payload_hash, prev)
                rows.append(Event(seq, ts, e.type, e.actor, e.subject_id, payload, payload_hash,
                                  prev, h))
                prev = h
            conn.execute(insert(AuditEvent.__table__), [r.as_json() for r in rows])
        self._unsealed += len(rows)
        if self._unsealed >= self.cfg.checkpoint_every:
            self.checkpoint()
        return rows

    @property
    def signing_key(self):
        if self._key is None:
            self._key = load_or_create_log_key(self.cfg.signing_key)
        return self._key

    def checkpoint(self) -> Checkpoint | None:
        """Sign the Merkle root of every event so far (extending the last checkpoint's
        frontier). None on an empty log."""
        key = self.signing_key
        pub = public_hex(key)
        with self.engine.begin() as conn:
            lock_head(conn)
            last = self._last_checkpoint(conn)
            frontier = Frontier.from_json(json.loads(last.frontier)) if last else Frontier()
            start = last.tree_size if last else 0
            for (h,) in conn.execute(
                text("SELECT hash FROM audit_event WHERE seq > :s ORDER BY seq"), {"s": start}
            ):
                frontier.append(bytes.fromhex(h))
            self._unsealed = 0
            if frontier.size == 0 or (last and frontier.size == last.tree_size):
                return last
            ts = server_now(conn)
            root = frontier.root().hex()
            kid = key_id(pub)
            signature = key.sign(
                checkpoint_statement(frontier.size, root, ts, kid).encode("utf-8")
            ).hex()
            cp = Checkpoint(frontier.size, root, ts, kid, pub,
                            json.dumps(frontier.to_json()), signature)
            conn.execute(insert(AuditCheckpoint.__table__), [cp.as_json()])
        return cp

    # ------------------------------------------------------------------ reading

    @staticmethod
    def _last_checkpoint(conn) -> Checkpoint | None:
        row = conn.execute(
            text(f"SELECT {', '.join(CHECKPOINT_FIELDS)} FROM audit_checkpoint "
                 "ORDER BY tree_size DESC, id DESC LIMIT 1")
        ).first()
        return Checkpoint(*row) if row else None

    def last_checkpoint(self) -> Checkpoint | None:
        with read_connection(self.engine) as conn:
            return self._last_checkpoint(conn)

    def checkpoints(self) -> list[Checkpoint]:
        with read_connection(self.engine) as conn:
            return [
                Checkpoint(*r)
                for r in conn.execute(
                    text(f"SELECT {', '.join(CHECKPOINT_FIELDS)} FROM audit_checkpoint "
                         "ORDER BY id")
                )
            ]

    def rows(
        self,
        subject_id: str | None = None,
        types: Iterable[str] | None = None,
        after_seq: int = 0,
    ) -> Iterator[tuple]:
        """Stored events as tuples in `EVENT_FIELDS` order, in sequence order, streamed."""
        where, params = ["seq > :after"], {"after": after_seq}
        if subject_id is not None:
            where.append("subject_id = :subject")
            params["subject"] = subject_id
        if types is not None:
            names = list(types)
            where.append("type IN (" + ", ".join(f":t{i}" for i in range(len(names))) + ")")
            params |= {f"t{i}": t for i, t in enumerate(names)}
        sql = f"SELECT {', '.join(EVENT_FIELDS)} FROM audit_event WHERE {' AND '.join(where)} "
        sql += "ORDER BY seq"
        with read_connection(self.engine) as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                text(sql), params
            )
            for row in result:
                yield tuple(row)

    def events(
        self,
        subject_id: str | None = None,
        types: Iterable[str] | None = None,
        after_seq: int = 0,
    ) -> Iterator[Event]:
        for row in self.rows(subject_id, types, after_seq):
            yield Event(*row)

    def count(self) -> int:
        with read_connection(self.engine) as conn:
            return conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()

    def event(self, seq: int) -> Event:
        with read_connection(self.engine) as conn:
            row = conn.execute(
                text(f"SELECT {', '.join(EVENT_FIELDS)} FROM audit_event WHERE seq = :s"),
                {"s": seq},
            ).first()
        if row is None:
            raise AuditError(f"no audit event with seq {seq}")
        return Event(*row)
