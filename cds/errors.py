"""Typed errors. Library code raises them; only the CLI turns them into a message and an exit
code. Messages carry file names, ids, counts and hashes, never patient text."""


class CdsError(Exception):
    """Root of every expected failure. `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(CdsError):
    """A params/recipe file is missing or does not validate."""

    exit_code = 2


class SourceDataError(CdsError):
    """An input data file is missing, unreadable or malformed."""

    exit_code = 2
