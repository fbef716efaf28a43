"""The surrogate key: a secret kept outside every output (env var or key file)."""

from __future__ import annotations

import os
import secrets

from governance.deid.errors import DeidError
from governance.settings import DeidSettings


def load_key(settings: DeidSettings | None = None) -> bytes:
    """Key bytes from CDS_DEID_KEY, else from the key file (created on first use).

    Raises:
        DeidError: the key is shorter than 16 bytes or the key file cannot be read/created.
    """
    settings = settings or DeidSettings()
    if settings.key is not None:
        key = settings.key.get_secret_value().encode()
    else:
        path = settings.key_file
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(32))
            key = path.read_bytes()
        except OSError as e:
            raise DeidError(
                f"{path}: cannot read or create the key file ({type(e).__name__})"
            ) from e
    if len(key) < 16:
        raise DeidError("de-identification key is shorter than 16 bytes")
    return key
