"""Environment settings of `governance`: the only place it reads `os.environ`."""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeidSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDS_DEID_")

    key: SecretStr | None = None
    """Surrogate key material (>= 16 characters). Takes precedence over `key_file`."""
    key_file: Path = Path(".secrets/deid.key")
    """Key file, created with 32 random bytes and mode 0600 when missing. Keep it out of git,
    out of DVC outputs and away from the de-identified data."""
