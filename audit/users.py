"""Users, roles and authentication (21 CFR Part 11, 11.100, 11.200, 11.300).

Each user has a role, an argon2id password hash and an Ed25519 signing key whose private half is
stored encrypted under their password, so a signature needs both the identity and the password.
Every enrolment, password change, deactivation and every refused attempt is an audit event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from audit.errors import AccessDenied, InvalidRequest
from audit.log import AuditLog
from audit.signing import key_id, public_hex
from audit.tables import AuditUser

ROLES = ("clinician", "reviewer-admin", "auditor")
PERMISSIONS: dict[str, frozenset[str]] = {
    "sign": frozenset({"clinician", "reviewer-admin"}),  # claim, approve, override, reject
    "manage_users": frozenset({"reviewer-admin"}),
    "export": frozenset({"auditor", "reviewer-admin"}),  # the whole log leaves the database
}
MIN_PASSWORD = 12
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class SignedInUser:
    """A user whose password was checked; holds their decrypted signing key."""

    username: str
    full_name: str
    role: str
    key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return public_hex(self.key)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _subject(username: str) -> str:
    return f"user:{username}"


class Users:
    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def _get(self, username: str) -> AuditUser | None:
        with Session(self.log.engine) as s:
            return s.get(AuditUser, username)

    def all(self) -> list[AuditUser]:
        with Session(self.log.engine) as s:
            return list(s.exec(select(AuditUser).order_by(AuditUser.username)))

    def deny(self, username: str, action: str, subject_id: str, reason: str) -> AccessDenied:
        """Record a refused attempt and return the error to raise."""
        self.log.append(
            "access_denied", subject_id,
            {"username": username, "action": action, "reason": reason},
            actor=f"user:{username}" if USERNAME.match(username or "") else "user:?",
        )
        return AccessDenied(f"{action} refused for {username!r}: {reason}")

    def authenticate(self, username: str, password: str, action: str, subject_id: str
                     ) -> SignedInUser:
        """Both components of the signature (11.200(a)(1)); a refusal is an event."""
        user = self._get(username)
        if user is None or not user.active:
            raise self.deny(username, action, subject_id,
                            "unknown user" if user is None else "user is deactivated")
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise self.deny(username, action, subject_id, "wrong password") from None
        key = serialization.load_pem_private_key(
            user.encrypted_private_key.encode("ascii"), password=password.encode("utf-8")
        )
        assert isinstance(key, Ed25519PrivateKey)
        return SignedInUser(user.username, user.full_name, user.role, key)

    def authorise(self, user: SignedInUser, permission: str, action: str, subject_id: str
                  ) -> None:
        if user.role not in PERMISSIONS[permission]:
            raise self.deny(user.username, action, subject_id,
                            f"role {user.role} may not {permission.replace('_', ' ')}")

    def add(self, username: str, full_name: str, role: str, password: str,
            by: SignedInUser | None = None) -> AuditUser:
        """Enrol a user. The first user needs no one's credentials and must be a
        reviewer-admin; after that, a reviewer-admin enrols the others."""
        if role not in ROLES:
            raise InvalidRequest(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if not USERNAME.match(username):
            raise InvalidRequest("user name: 2-64 of a-z 0-9 . _ -, starting with a letter")
        if not full_name.strip() or len(full_name) > 200:
            raise InvalidRequest("full name (the printed name on signatures) is required")
        check_password(password)
        first = not self.all()
        if first and role != "reviewer-admin":
            raise InvalidRequest("the first user must be a reviewer-admin")
        if not first:
            if by is None:
                raise self.deny("?", "users add", _subject(username),
                                "an administrator's credentials are required")
            self.authorise(by, "manage_users", "users add", _subject(username))
        if self._get(username) is not None:
            raise InvalidRequest(f"user {username} exists")
        key = Ed25519PrivateKey.generate()
        user = AuditUser(
            username=username,
            full_name=full_name.strip(),
            role=role,
            password_hash=_hasher.hash(password),
            public_key=public_hex(key),
            encrypted_private_key=_encrypt(key, password),
            active=True,
            created_at=_now(),
        )
        with Session(self.log.engine) as s:
            s.add(user)
            s.commit()
            s.refresh(user)
        self.log.append(
            "user_created", _subject(username),
            {"username": username, "full_name": user.full_name, "role": role,
             "public_key": user.public_key, "key_id": key_id(user.public_key),
             "by": by.username if by else None},
            actor=f"user:{by.username}" if by else f"user:{username}",
        )
        return user

    def change_password(self, username: str, old: str, new: str) -> None:
        me = self.authenticate(username, old, "users passwd", _subject(username))
        check_password(new)
        with Session(self.log.engine) as s:
            user = s.get(AuditUser, username)
            user.password_hash = _hasher.hash(new)
            user.encrypted_private_key = _encrypt(me.key, new)
            s.add(user)
            s.commit()
        self.log.append("user_password_changed", _subject(username), {"username": username},
                        actor=f"user:{username}")

    def deactivate(self, username: str, by: SignedInUser) -> None:
        self.authorise(by, "manage_users", "users deactivate", _subject(username))
        with Session(self.log.engine) as s:
            user = s.get(AuditUser, username)
            if user is None:
                raise InvalidRequest(f"no user {username}")
            user.active = False
            s.add(user)
            s.commit()
        self.log.append("user_deactivated", _subject(username),
                        {"username": username, "by": by.username}, actor=f"user:{by.username}")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"password must have at least {MIN_PASSWORD} characters")


def _encrypt(key: Ed25519PrivateKey, password: str) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    ).decode("ascii")
