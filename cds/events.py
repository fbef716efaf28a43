"""Where audit events go: the one protocol the pipeline and the CLI write to (`audit.log.AuditLog`
implements it; `cds.pipeline.ListSink` keeps events in memory for tests)."""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    def emit(self, type: str, subject_id: str, payload: dict[str, Any]) -> None: ...
