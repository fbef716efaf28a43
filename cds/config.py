"""Loading run parameters: `params.yaml` sections validated by their pydantic models."""

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cds.errors import ConfigError

ConfigT = TypeVar("ConfigT", bound=BaseModel)


def load_section(
    path: Path, section: str | None, model: type[ConfigT], missing_ok: bool = False
) -> ConfigT:
    """Read `section` of the YAML file at `path` (the whole file when None) into `model`.

    Raises:
        ConfigError: the file is missing, is not YAML, lacks the section, or fails validation.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read YAML ({type(e).__name__})") from e
    if section is not None and (not isinstance(data, dict) or section not in data):
        if missing_ok:
            return model()  # the section is optional: its defaults
        raise ConfigError(f"{path}: no '{section}' section")
    try:
        return model.model_validate(data if section is None else data[section])
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in (section, *first["loc"]) if p is not None)
        raise ConfigError(f"{path}: {where}: {first['msg']}") from e
