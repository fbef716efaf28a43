"""Typed audit errors. The CLI turns them into one line and an exit code; messages carry ids,
sequence numbers, user names and hashes, never note text."""


class AuditError(Exception):
    """Root of every expected audit failure."""

    exit_code = 1


class InvalidRequest(AuditError):
    """A malformed request: unknown case, bad differential, missing reason."""

    exit_code = 2


class AccessDenied(AuditError):
    """Wrong password, wrong role, unknown or inactive user, or someone else's claim. Every
    refusal is also recorded as an `access_denied` event."""

    exit_code = 3


class TamperDetected(AuditError):
    """`verify` found the log inconsistent: the message names the first bad sequence number."""

    exit_code = 4
