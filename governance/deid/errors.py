"""De-identification errors. Messages carry file names, line numbers, counts and types, never
the text that was being processed."""

from cds.errors import CdsError


class DeidError(CdsError):
    exit_code = 2


class DeidInputError(DeidError):
    """The input file cannot be read as the expected records (missing, not UTF-8, wrong
    schema, empty). Commands record it as an `input_rejected` audit event."""


class ResidualPhiError(DeidError):
    """PHI is still present after anonymisation: the stage fails rather than publish it."""

    exit_code = 3
