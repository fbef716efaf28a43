"""`cds audit proof SEQ`: an RFC 9162 inclusion proof of one event in the latest checkpoint."""

from __future__ import annotations

from typing import Any

from audit.errors import AuditError
from audit.log import AuditLog
from audit.merkle import inclusion_proof, verify_inclusion


def prove(log: AuditLog, seq: int) -> dict[str, Any]:
    checkpoint = log.last_checkpoint()
    if checkpoint is None or seq > checkpoint.tree_size:
        checkpoint = log.checkpoint()
    if checkpoint is None or not 1 <= seq <= checkpoint.tree_size:
        raise AuditError(f"no event {seq} in the log")
    hashes = [bytes.fromhex(e.hash) for e in log.events() if e.seq <= checkpoint.tree_size]
    if len(hashes) != checkpoint.tree_size:
        raise AuditError(f"the log holds {len(hashes)} of the {checkpoint.tree_size} events "
                         "its checkpoint signed: run `cds audit verify`")
    leaf = hashes[seq - 1]
    path = inclusion_proof(seq - 1, hashes)
    ok = verify_inclusion(seq - 1, checkpoint.tree_size, leaf, path,
                          bytes.fromhex(checkpoint.root_hash))
    return {
        "seq": seq,
        "leaf_index": seq - 1,
        "event_hash": leaf.hex(),
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "checkpoint": checkpoint.as_json(),
        "audit_path": [p.hex() for p in path],
        "verified": ok,
    }
