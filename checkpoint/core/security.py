"""Password hashing (argon2) and signed, expiring access tokens (JWT, HS256)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A real hash of a random password: verifying against it when the user does not exist keeps
# the time of a failed login the same for known and unknown names.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password(length: int = 20) -> str:
    """A random password that always passes password_problem() (letters and digits both present)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(password) is None:
            return password


# Passwords people pick first; refused whatever their length (with digits appended, still refused).
COMMON_PASSWORDS = frozenset({
    "password", "passw0rd", "admin", "administrator", "qwerty", "qwertyuiop", "abc123", "letmein", "welcome",
    "iloveyou", "changeme", "huizhou", "checkpoint", "police", "gongan", "woaini", "1qaz2wsx", "zaq12wsx",
    "asdfghjkl", "admin123", "p@ssw0rd", "test", "root",
})


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a password is not acceptable (Chinese first), or None: length, letters and digits/symbols
    mixed, not the user's name, not a common password with digits or symbols appended."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 (password must have at least {MIN_PASSWORD_LENGTH} characters)"
    if len(password) > 256:
        return "密码不能超过 256 个字符 (password longer than 256 characters)"
    if not any(ch.isalpha() for ch in password) or all(ch.isalpha() for ch in password):
        return "密码须同时包含字母和数字或符号 (password must mix letters with digits or symbols)"
    if any(ord(ch) < 32 for ch in password):
        return "密码不能包含控制字符 (password contains control characters)"
    if username and len(username) >= 3 and username.lower() in password.lower():
        return "密码不能包含用户名 (password must not contain the user name)"
    if password.lower().rstrip("0123456789!@#$%^&*._-") in COMMON_PASSWORDS or len(set(password)) < 5:
        return "密码过于常见或简单 (password is too common or simple)"
    return None


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    token_version: int
    expires_at: datetime
    session_id: str | None = None  # the login (core/login_sessions.py); tokens without one are refused


def issue_token(secret: str, user_id: int, token_version: int, ttl_s: int,
                session_id: str | None = None) -> tuple[str, datetime]:
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl_s)
    payload = {"sub": str(user_id), "ver": token_version, "exp": expires_at, "jti": secrets.token_hex(8)}
    if session_id is not None:
        payload["sid"] = session_id
    return jwt.encode(payload, secret, algorithm="HS256"), expires_at


def read_token(secret: str, token: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        payload = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        return TokenClaims(
            user_id=int(payload["sub"]),
            token_version=int(payload.get("ver", 0)),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            session_id=str(payload["sid"]) if "sid" in payload else None,
        )
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
