"""Canonical JSON and SHA-256: the byte forms that hashes and signatures are computed over.

Canonical JSON here is `json.dumps` with sorted keys, no whitespace, UTF-8 and no NaN/Infinity.
It is stored verbatim (payloads are kept as text, not JSONB), so verification hashes the stored
bytes and never depends on a re-serialisation.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def sha256_hex(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def event_hash(
    seq: int, ts: str, type: str, actor: str, subject_id: str, payload_hash: str, prev_hash: str
) -> str:
    """The chain link: SHA-256 over the canonical JSON array of the event's fields."""
    return sha256_hex(canonical_json([seq, ts, type, actor, subject_id, payload_hash, prev_hash]))


GENESIS_HASH = "0" * 64
"""`prev_hash` of event 1."""
