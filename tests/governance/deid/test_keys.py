"""The surrogate key: env var first, else a key file created once with owner-only access."""

from __future__ import annotations

import stat

import pytest
from pydantic import SecretStr

from governance.deid.errors import DeidError
from governance.deid.keys import load_key
from governance.settings import DeidSettings


def test_key_file_is_created_once_with_owner_only_mode(tmp_path):
    path = tmp_path / "nested" / "deid.key"
    settings = DeidSettings(key=None, key_file=path)
    first = load_key(settings)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(settings) == first  # read back, not regenerated


def test_env_key_wins_over_the_key_file(tmp_path):
    path = tmp_path / "deid.key"
    path.write_bytes(b"f" * 32)
    settings = DeidSettings(key=SecretStr("0123456789abcdef-env"), key_file=path)
    assert load_key(settings) == b"0123456789abcdef-env"


def test_short_key_file_is_refused(tmp_path):
    path = tmp_path / "deid.key"
    path.write_bytes(b"short")
    with pytest.raises(DeidError, match="shorter than 16 bytes"):
        load_key(DeidSettings(key=None, key_file=path))


def test_unreadable_key_path_is_a_one_line_error_without_the_key(tmp_path):
    path = tmp_path / "a-directory"
    path.mkdir()  # exists, but reading it as a file fails
    with pytest.raises(DeidError, match="cannot read or create the key file") as info:
        load_key(DeidSettings(key=None, key_file=path))
    assert "\n" not in str(info.value)
