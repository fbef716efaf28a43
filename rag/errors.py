"""Errors of the knowledge base, with the CLI exit code they map to."""

from cds.errors import CdsError


class KbError(CdsError):
    """Bad KB input or a missing artifact: one line, exit 2."""

    exit_code = 2
