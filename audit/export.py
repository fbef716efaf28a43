"""`cds audit export`: the log as files that an auditor verifies without our database.

    DIR/events.jsonl        one event per line, every stored field
    DIR/checkpoints.jsonl   the signed checkpoints
    DIR/log_public_key.hex  the checkpoint key's raw Ed25519 public key (hex)

The auditor should compare `log_public_key.hex` with the key they were given out of band; the
procedure is in docs/audit.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from audit.errors import AuditError
from audit.log import CHECKPOINT_FIELDS, EVENT_FIELDS, AuditLog, Checkpoint
from audit.signing import public_hex


def export_log(log: AuditLog, out_dir: Path) -> dict[str, int | str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = log.checkpoint()  # seal everything written so far
    checkpoints = log.checkpoints()
    n = 0
    with (out_dir / "events.jsonl").open("w", encoding="utf-8") as f:
        for e in log.events():
            f.write(json.dumps(e.as_json(), ensure_ascii=False) + "\n")
            n += 1
    with (out_dir / "checkpoints.jsonl").open("w", encoding="utf-8") as f:
        for cp in checkpoints:
            f.write(json.dumps(cp.as_json()) + "\n")
    key = public_hex(log.signing_key)
    (out_dir / "log_public_key.hex").write_text(key + "\n", encoding="ascii")
    return {"events": n, "checkpoints": len(checkpoints),
            "tree_size": checkpoint.tree_size if checkpoint else 0,
            "root_hash": checkpoint.root_hash if checkpoint else "", "public_key": key}


def verify_export(directory: Path, public_key: Path | None = None,
                  anchors: Sequence[Checkpoint] = ()):
    """Verify an export without the database; the key defaults to the export's own
    `log_public_key.hex` (compare it with the one you were given)."""
    from audit.signing import load_public_hex
    from audit.verify import verify

    key = load_public_hex(public_key or directory / "log_public_key.hex")
    return verify(read_events(directory / "events.jsonl"),
                  read_checkpoints(directory / "checkpoints.jsonl"), {key}, anchors)


def read_checkpoints(path: Path) -> list[Checkpoint]:
    try:
        return [
            Checkpoint(**{k: json.loads(line)[k] for k in CHECKPOINT_FIELDS})
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise AuditError(f"{path}: not a checkpoints file ({type(e).__name__})") from e


def read_events(path: Path) -> Iterator[tuple]:
    n = 0
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                n += 1
                if line.strip():
                    row = json.loads(line)
                    yield tuple(row[k] for k in EVENT_FIELDS)
    except (OSError, ValueError, KeyError) as e:
        raise AuditError(f"{path}: unreadable at line {n} ({type(e).__name__})") from e
