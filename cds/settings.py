"""Environment settings for the `cds` package: the only place that reads `os.environ`."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class CdsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDS_")

    debug: bool = False
    """Show Python tracebacks (without local variables) for unexpected errors."""

    database_url: str | None = None
    """`CDS_DATABASE_URL`: the audit database (overrides `audit.database_url` in params.yaml),
    e.g. postgresql://user:password@host/db."""
