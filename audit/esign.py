"""Electronic signatures (21 CFR Part 11, 11.50, 11.70): the signed manifest and its check.

A review action signs a manifest that shows the signer's printed name, the UTC time and the
meaning of the signature, bound to the case id and to the SHA-256 of the exact suggestion under
review, and to the hash of the action's details (reason, corrected differential). The signature
is Ed25519 with the signer's own key, which only their password decrypts. Because the case id
and suggestion hash are inside what is signed, a signature copied onto another record fails
verification (11.70).
"""

from __future__ import annotations

from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.canonical import canonical_json, sha256_hex
from audit.signing import key_id, public_hex, verify_signature

Meaning = Literal["claimed", "reviewed", "approved", "overridden", "rejected"]
MEANINGS: dict[str, str] = {
    "claimed": "I take responsibility for reviewing this case",
    "reviewed": "I have reviewed this case and acted on it (no differential to approve)",
    "approved": "I approve this differential for clinical use as shown",
    "overridden": "I replace this differential with my corrected differential",
    "rejected": "I reject this differential; it must not be used",
}
SIGNATURE_EVENT = "review_signature"


def detail_hash(reason: str | None, corrected: dict[str, Any] | None) -> str:
    return sha256_hex(canonical_json({"reason": reason, "corrected": corrected}))


def build_manifest(
    *,
    case_id: str,
    suggestion_sha256: str,
    meaning: Meaning,
    username: str,
    printed_name: str,
    role: str,
    signed_at: str,
    reason: str | None,
    corrected: dict[str, Any] | None,
    public_key: str,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "suggestion_sha256": suggestion_sha256,
        "meaning": meaning,
        "meaning_text": MEANINGS[meaning],
        "username": username,
        "printed_name": printed_name,
        "role": role,
        "signed_at": signed_at,
        "detail_sha256": detail_hash(reason, corrected),
        "key_id": key_id(public_key),
    }


def sign_manifest(key: Ed25519PrivateKey, manifest: dict[str, Any]) -> str:
    return key.sign(canonical_json(manifest).encode("utf-8")).hex()


def signature_payload(
    key: Ed25519PrivateKey, manifest: dict[str, Any], reason: str | None,
    corrected: dict[str, Any] | None,
) -> dict[str, Any]:
    assert manifest["key_id"] == key_id(public_hex(key))
    return {
        "manifest": manifest,
        "signature": sign_manifest(key, manifest),
        "reason": reason,
        "corrected": corrected,
    }


class SignatureLedger:
    """What verification needs to check signatures while streaming the chain: each user's
    enrolled key and each case's suggestion hash."""

    TYPES = frozenset({"user_created", "route", SIGNATURE_EVENT})

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.suggestions: dict[str, str] = {}
        self.signatures = 0

    def feed(self, type_: str, subject_id: str, payload: dict[str, Any]) -> str | None:
        """Record or check one event; returns a problem, or None."""
        if type_ == "user_created":
            if payload["username"] in self.keys:
                return f"user {payload['username']} enrolled twice"
            self.keys[payload["username"]] = payload["public_key"]
            return None
        if type_ == "route":
            if "suggestion_sha256" in payload:
                self.suggestions[subject_id] = payload["suggestion_sha256"]
            return None
        self.signatures += 1
        manifest = payload["manifest"]
        who = manifest["username"]
        if who not in self.keys:
            return f"signature by {who}, who is not enrolled in the log"
        if manifest["key_id"] != key_id(self.keys[who]):
            return f"signature by {who} names a key that is not theirs"
        if not verify_signature(self.keys[who], payload["signature"], canonical_json(manifest)):
            return f"e-signature by {who} does not verify"
        if manifest["case_id"] != subject_id:
            return f"signature for case {manifest['case_id']} is attached to {subject_id}"
        if manifest["suggestion_sha256"] != self.suggestions.get(subject_id):
            return f"signature by {who} does not bind this case's suggestion"
        details = detail_hash(payload.get("reason"), payload.get("corrected"))
        if manifest["detail_sha256"] != details:
            return f"reason or corrected differential differs from what {who} signed"
        return None
