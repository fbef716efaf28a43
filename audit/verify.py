"""Verification of a log, from the database or from an export, by one procedure:

1. the chain: seq runs 1, 2, 3, ... with no gap; each payload hashes to its `payload_hash`;
   each `prev_hash` is the previous event's `hash`; each `hash` recomputes (`canonical.event_hash`);
2. checkpoints: each is signed by a trusted key, covers no more events than the log holds, and
   its signed Merkle root equals the root recomputed over the first `tree_size` event hashes
   (this catches a rewrite that re-hashed the chain after the point it changed);
3. e-signatures: each review signature verifies under the signer's key as the chain recorded it
   at enrolment, and is bound to this case and to the hash of this case's suggestion.

The report names the first bad sequence number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from audit.canonical import GENESIS_HASH, event_hash, sha256_hex
from audit.esign import SignatureLedger
from audit.log import Checkpoint
from audit.merkle import Frontier
from audit.signing import verify_signature

EventRow = Sequence  # (seq, ts, type, actor, subject_id, payload, payload_hash, prev_hash, hash)


@dataclass
class VerifyReport:
    ok: bool = True
    events: int = 0
    checkpoints: int = 0
    signatures: int = 0
    head_hash: str = GENESIS_HASH
    sealed: int = 0
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, seq: int, problem: str) -> None:
        if self.ok or seq < (self.first_bad_seq or seq + 1):
            self.first_bad_seq = seq
        self.ok = False
        self.problems.append(f"seq {seq}: {problem}")

    def summary(self) -> dict:
        return {
            "ok": self.ok,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "signatures": self.signatures,
            "sealed_events": self.sealed,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problems": self.problems[:20],
        }


def verify(
    events: Iterable[EventRow],
    checkpoints: Sequence[Checkpoint],
    trusted_keys: set[str],
    anchors: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Verify a whole log. `trusted_keys`: raw public keys (hex) allowed to sign checkpoints.
    `anchors`: checkpoints kept outside the database (an earlier export); the log must still
    contain the tree each one signed."""
    report = VerifyReport()
    due: dict[int, list[Checkpoint]] = {}
    for cp in (*checkpoints, *anchors):
        if cp.public_key not in trusted_keys:
            report.fail(max(cp.tree_size, 1), f"checkpoint at {cp.tree_size} signed by an "
                        f"untrusted key {cp.key_id}")
        elif not verify_signature(cp.public_key, cp.signature, cp.statement()):
            report.fail(max(cp.tree_size, 1), f"checkpoint at {cp.tree_size}: bad signature")
        else:
            due.setdefault(cp.tree_size, []).append(cp)
    report.checkpoints = len(checkpoints)
    frontier = Frontier()
    ledger = SignatureLedger()
    expected, prev, good_until = 1, GENESIS_HASH, 0
    for seq, ts, type_, actor, subject, payload, payload_hash, prev_hash, hash_ in events:
        if seq != expected:
            report.fail(expected, f"sequence jumps to {seq} (events missing or reordered)")
            expected = seq
        if sha256_hex(payload) != payload_hash:
            report.fail(seq, "payload does not match its hash")
        if prev_hash != prev:
            report.fail(seq, "prev_hash does not link to the previous event")
        if event_hash(seq, ts, type_, actor, subject, payload_hash, prev_hash) != hash_:
            report.fail(seq, "event hash does not recompute")
        if type_ in SignatureLedger.TYPES:
            try:
                problem = ledger.feed(type_, subject, json.loads(payload))
            except (ValueError, KeyError, TypeError) as e:
                problem = f"malformed {type_} payload ({type(e).__name__})"
            if problem:
                report.fail(seq, problem)
        prev, expected = hash_, seq + 1
        frontier.append(bytes.fromhex(hash_))
        for cp in due.pop(frontier.size, ()):
            if frontier.root().hex() != cp.root_hash:
                # The chain may already name the exact event; otherwise the first one that no
                # good checkpoint vouches for is the first that cannot be trusted.
                chain_found = report.first_bad_seq is not None and report.first_bad_seq > good_until
                report.fail(report.first_bad_seq if chain_found else good_until + 1,
                            f"events {good_until + 1}..{cp.tree_size} differ from the signed "
                            f"checkpoint at {cp.tree_size}")
            else:
                good_until = cp.tree_size
        report.events += 1
    for size in sorted(due):
        report.fail(frontier.size + 1, f"checkpoint at {size} but the log ends at "
                    f"{frontier.size} (events deleted or truncated)")
    report.head_hash = prev
    report.signatures = ledger.signatures
    report.sealed = good_until
    return report


def verify_log(log, trusted_keys: set[str], anchors: Sequence[Checkpoint] = ()) -> VerifyReport:
    """Verify the log in its database: checkpoints first, then the events streamed in order
    (a checkpoint never covers an event that is not yet committed)."""
    checkpoints = log.checkpoints()
    return verify(log.rows(), checkpoints, trusted_keys, anchors)
