"""Ed25519 keys: the log's checkpoint key (a PEM file whose path is in the config) and helpers
shared with the users' e-signature keys."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.canonical import sha256_hex
from audit.errors import AuditError


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def key_id(public_key_hex: str) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return sha256_hex(bytes.fromhex(public_key_hex))[:16]


def load_public_hex(path: Path) -> str:
    """A public key file: raw hex (what `cds audit export` writes) or PEM."""
    data = path.read_bytes()
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
            if not isinstance(key, Ed25519PublicKey):
                raise AuditError(f"{path}: not an Ed25519 public key")
            return public_hex(key)
        text = data.decode("ascii").strip()
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
        return text
    except (ValueError, UnicodeDecodeError) as e:
        raise AuditError(f"{path}: cannot read an Ed25519 public key") from e


def load_or_create_log_key(path: Path) -> Ed25519PrivateKey:
    """The checkpoint signing key. Created (mode 0600) on first use; keep it outside the
    outputs, like the de-identification key."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError as e:
            raise AuditError(f"{path}: not a PEM private key") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditError(f"{path}: not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)  # atomic; another process that won the race keeps its key
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return load_or_create_log_key(path)


def verify_signature(public_key_hex: str, signature_hex: str, message: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(
            bytes.fromhex(signature_hex), message.encode("utf-8")
        )
        return True
    except (InvalidSignature, ValueError):
        return False
