"""De-identification errors. Messages carry file names, line numbers, counts and types, never
the text that was being processed."""

from cds.errors import CdsError


class DeidError(CdsError):
    exit_code = 2


class ResidualPhiError(DeidError):
    """PHI is still present after anonymisation: the stage fails rather than publish it."""

    exit_code = 3
