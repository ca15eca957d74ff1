"""Logins: the throttle before a password is checked, the session each token names, the second factor.

Throttle: each (name, source) pair reserves a try in one atomic upsert *before* the password is
checked, so parallel tries cannot pass the limit (the row lock orders them). Past the limit a pair
waits a delay that doubles with each further failure. A source locks only its own pair: a wrong
password from elsewhere never locks the real user out. A successful login clears the pair.

Sessions: every token names a row here; logout revokes it, a password change or disabling revokes all
(token_version), and a session unused for `idle_timeout_s` ends.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session

from checkpoint.core.db import utcnow
from checkpoint.core.errors import DomainError, NotAuthenticated
from checkpoint.core.models import LoginSession, LoginThrottle, User
from checkpoint.core.security import TokenClaims, issue_token
from checkpoint.core.settings_groups import AuthSettings

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often per session
FORGET_AFTER = timedelta(days=1)  # a pair quiet this long starts again from zero


class LoginLocked(DomainError):
    status = 429
    reason = "login-locked"


class SecondFactorNeeded(NotAuthenticated):
    reason = "totp-required"


RESERVE_SQL = text("""
INSERT INTO login_throttle AS t (username, source, attempts, blocked_until, last_attempt_at)
VALUES (:username, :source, 1, CASE WHEN :limit <= 1 THEN :now + make_interval(secs => :delay) END, :now)
ON CONFLICT (username, source) DO UPDATE SET
    attempts = CASE WHEN t.last_attempt_at < :forget_before THEN 1 ELSE t.attempts + 1 END,
    blocked_until = CASE
        WHEN t.last_attempt_at < :forget_before THEN NULL
        WHEN t.attempts + 1 >= :limit
            THEN :now + make_interval(secs => least(:delay * power(2, t.attempts + 1 - :limit), :max_delay))
        ELSE t.blocked_until END,
    last_attempt_at = :now
WHERE t.last_attempt_at < :forget_before OR t.attempts < :limit OR t.blocked_until <= :now
RETURNING attempts
""")


def reserve_try(session: Session, username: str, source: str, auth: AuthSettings,
                now: datetime | None = None) -> int:
    """Count one try of (name, source) before its password is checked; LoginLocked when it must wait.
    The caller commits at once, so parallel tries see it."""
    moment = now or utcnow()
    attempts = session.execute(RESERVE_SQL, {
        "username": username, "source": source, "limit": auth.lockout_limit, "now": moment,
        "delay": float(auth.lockout_delay_s), "max_delay": float(auth.lockout_max_delay_s),
        "forget_before": moment - FORGET_AFTER}).scalar()
    if attempts is None:
        row = session.get(LoginThrottle, (username, source), populate_existing=True)
        wait_s = max(1, int((row.blocked_until - moment).total_seconds())) if row and row.blocked_until else 1
        raise LoginLocked(f"登录失败次数过多，请 {wait_s} 秒后再试 (too many failed logins for {username!r} "
                          f"from this address; try again in {wait_s} s)")
    return int(attempts)


def prune(session: Session, now: datetime | None = None) -> None:
    """Forget quiet throttle pairs and ended logins (run now and then at a login: both tables stay small)."""
    moment = now or utcnow()
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_attempt_at < moment - FORGET_AFTER,
                                                (LoginThrottle.blocked_until.is_(None))
                                                | (LoginThrottle.blocked_until < moment)))
    session.execute(delete(LoginSession).where(LoginSession.expires_at < moment - FORGET_AFTER))


def clear_tries(session: Session, username: str, source: str) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.username == username,
                                                LoginThrottle.source == source))


def open_session(session: Session, user: User, secret: str, ttl_s: int,
                 client_ip: str | None = None) -> tuple[str, datetime]:
    """A new login of `user`: its row and a token naming it."""
    session_id = secrets.token_hex(16)
    token, expires_at = issue_token(secret, user.id, user.token_version, ttl_s, session_id)
    now = utcnow()
    session.add(LoginSession(id=session_id, user_id=user.id, created_at=now, last_seen_at=now,
                             expires_at=expires_at, client_ip=client_ip))
    session.flush()
    return token, expires_at


def check_session(session: Session, claims: TokenClaims, idle_timeout_s: int) -> None:
    """Refuse a token whose login was revoked, ended idle, or is unknown; note the use otherwise."""
    row = session.get(LoginSession, claims.session_id) if claims.session_id else None
    if row is None or row.user_id != claims.user_id or row.revoked_at is not None:
        raise NotAuthenticated("登录已注销，请重新登录 (the session has ended; log in again)")
    now = utcnow()
    if now - row.last_seen_at > timedelta(seconds=idle_timeout_s):
        raise NotAuthenticated("长时间未操作，登录已超时，请重新登录 (idle too long; log in again)")
    if now - row.last_seen_at > TOUCH_EVERY:
        session.execute(update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now))
        session.commit()  # before the route's own work: a read-only route never commits


def revoke_session(session: Session, session_id: str | None) -> None:
    if session_id:
        session.execute(update(LoginSession).where(LoginSession.id == session_id,
                                                   LoginSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def check_second_factor(user: User, code: str | None) -> bool:
    """True when the user has no second factor or `code` is its current TOTP (one step of clock drift)."""
    if not user.totp_enabled or not user.totp_secret:
        return True
    if not code:
        raise SecondFactorNeeded("请输入动态口令 (enter the code from your authenticator app)")
    return pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def totp_code_ok(secret: str, code: str) -> bool:
    return pyotp.TOTP(secret).verify(code.strip(), valid_window=1)
