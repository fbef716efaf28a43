"""Reading one note from a file or stdin: bad input ends in one clear line, never a traceback,
and the message never quotes the text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from cds.errors import CdsError
from cds.events import EventSink


class InputError(CdsError):
    exit_code = 2


def read_note_bytes(source: str, stdin: BinaryIO) -> tuple[bytes, str]:
    """The raw bytes of `source` (a path, or "-" for `stdin`) and a name for messages."""
    if source == "-":
        return stdin.read(), "stdin"
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source}: file not found")
    try:
        return path.read_bytes(), source
    except OSError as e:
        raise InputError(f"{source}: cannot read ({type(e).__name__})") from None


def decode_note(data: bytes, where: str, max_chars: int | None) -> str:
    """The UTF-8 text of `data`, or InputError naming `where` (never quoting the text)."""
    if b"\x00" in data:
        raise InputError(f"{where}: binary input (NUL bytes), expected UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{where}: not valid UTF-8 (byte {e.start})") from None
    if not text.strip():
        raise InputError(f"{where}: empty note")
    if max_chars is not None and len(text) > max_chars:
        raise InputError(
            f"{where}: {len(text)} characters, more than the limit of {max_chars} (max_chars)"
        )
    return text


def decode_or_reject(
    data: bytes, where: str, max_chars: int | None, sink: EventSink, subject_id: str
) -> str:
    """`decode_note`, and on bad input an `input_rejected` audit event (hash, size and reason,
    never the text) before the InputError goes up."""
    try:
        return decode_note(data, where, max_chars)
    except InputError as e:
        sink.emit(
            "input_rejected",
            subject_id,
            {
                "raw_sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "reason": str(e).split(": ", 1)[-1],
            },
        )
        raise


def record_rejected_file(path: Path, reason: str, sink: EventSink, subject_prefix: str) -> None:
    """An `input_rejected` audit event for an input file a batch command refused: the file's
    hash and size (when it exists) and the reason, never its content."""
    data = path.read_bytes() if path.is_file() else b""
    digest = hashlib.sha256(data).hexdigest()
    sink.emit(
        "input_rejected",
        f"{subject_prefix}-{digest[:12]}",
        {"file": str(path), "raw_sha256": digest, "bytes": len(data), "reason": reason},
    )
