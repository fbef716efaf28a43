"""The audit tables (sqlmodel). Events and checkpoints are append-only: the database refuses
UPDATE and DELETE on them (triggers, see `database.py`) and `verify` detects changes made behind
its back. Users are the one mutable table (password change, deactivation); every change to a user
is also an event, and signatures are checked against the public key the chain recorded."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    ts: str = Field(description="server-side UTC, ISO 8601 with Z")
    type: str = Field(index=True)
    actor: str
    subject_id: str = Field(index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False), description="canonical JSON")
    payload_hash: str
    prev_hash: str
    hash: str


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    tree_size: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    root_hash: str
    ts: str
    key_id: str
    public_key: str = Field(sa_column=Column(Text, nullable=False), description="raw, hex")
    frontier: str = Field(sa_column=Column(Text, nullable=False), description="JSON")
    signature: str = Field(description="Ed25519 over the canonical statement, hex")


class AuditUser(SQLModel, table=True):
    __tablename__ = "audit_user"

    username: str = Field(primary_key=True)
    full_name: str
    role: str
    password_hash: str = Field(description="argon2id")
    public_key: str = Field(description="raw Ed25519 public key, hex")
    encrypted_private_key: str = Field(
        sa_column=Column(Text, nullable=False),
        description="PKCS#8 PEM encrypted with the user's password",
    )
    active: bool = True
    created_at: str
