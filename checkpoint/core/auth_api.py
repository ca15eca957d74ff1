"""Login, logout, the current user, their password and second factor."""

from __future__ import annotations

import random
from typing import Any

from fastapi import APIRouter, Request, Response

from checkpoint.core import audit, login_sessions, users
from checkpoint.core.deps import COOKIE_NAME, ClaimsDep, CurrentUser, SessionDep, SettingsDep, client_ip
from checkpoint.core.errors import Conflict, InvalidInput, NotAuthenticated
from checkpoint.core.schemas import LoginRequest, LoginResponse, PasswordChange, TotpCode, TotpSetup, UserPublic
from checkpoint.core.security import verify_password

router = APIRouter(prefix="/auth", tags=["auth"])
PRUNE_SHARE = 0.01  # one login in a hundred forgets old throttle pairs and ended sessions
LOCKED: dict[int | str, dict[str, Any]] = {429: {"description": "too many failed logins from this address: wait"}}


@router.post("/login", response_model=LoginResponse, responses=LOCKED)
def login(body: LoginRequest, request: Request, response: Response, session: SessionDep,
          settings: SettingsDep) -> LoginResponse:
    """Check the password (and code); answer a bearer token and set the console's httpOnly cookie.
    The try is counted before the password is checked (login_sessions.reserve_try)."""
    name, source = body.username.strip()[:64], client_ip(request) or "-"
    try:
        login_sessions.reserve_try(session, name, source, settings.auth)
    except login_sessions.LoginLocked:
        audit.record(session, None, "auth.login_locked", actor_name=name, client_ip=source)
        session.commit()
        raise
    if random.random() < PRUNE_SHARE:
        login_sessions.prune(session)
    session.commit()  # the reservation is seen by parallel tries before this password is checked
    try:
        user = users.authenticate(session, name, body.password, source, body.totp)
        login_sessions.clear_tries(session, name, source)
        token, expires_at = login_sessions.open_session(session, user, settings.resolved_secret_key(),
                                                        settings.token_ttl_s, source)
    finally:
        session.commit()  # the audit row of a failed login is kept too
    response.set_cookie(COOKIE_NAME, token, max_age=settings.token_ttl_s, httponly=True, samesite="strict",
                        secure=settings.secure_cookies(), path="/")
    return LoginResponse(access_token=token, expires_at=expires_at, user=UserPublic.model_validate(user))


@router.post("/logout", status_code=204)
def logout(user: CurrentUser, claims: ClaimsDep, request: Request, session: SessionDep,
           settings: SettingsDep) -> Response:
    """End this login: its token is refused from now on, wherever it was copied to."""
    login_sessions.revoke_session(session, claims.session_id)
    audit.record(session, user, "auth.logout", client_ip=client_ip(request))
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", secure=settings.secure_cookies(), httponly=True,
                           samesite="strict")
    return response


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.post("/password", status_code=204)
def change_password(body: PasswordChange, user: CurrentUser, request: Request, session: SessionDep) -> Response:
    """The user sets their own password: every login of theirs ends (log in again with it)."""
    if not verify_password(user.password_hash, body.current_password):
        raise NotAuthenticated("当前密码错误 (the current password is wrong)")
    if body.new_password == body.current_password:
        raise InvalidInput("新密码不能与当前密码相同 (the new password must differ)")
    users.update(session, user, password=body.new_password, set_by=None)
    audit.record(session, user, "auth.password_change", target=user.username, client_ip=client_ip(request))
    session.commit()
    return Response(status_code=204)


@router.post("/totp/setup", response_model=TotpSetup)
def totp_setup(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> TotpSetup:
    """A new TOTP secret for the user's authenticator app; in force after /totp/enable with a code."""
    if user.totp_enabled:
        raise Conflict("动态口令已启用 (a second factor is already enabled)")
    user.totp_secret = login_sessions.new_totp_secret()
    session.commit()
    return TotpSetup(secret=user.totp_secret,
                     uri=login_sessions.totp_uri(user.totp_secret, user.username, settings.auth.totp_issuer))


@router.post("/totp/enable", status_code=204)
def totp_enable(body: TotpCode, user: CurrentUser, request: Request, session: SessionDep) -> Response:
    if not user.totp_secret or not login_sessions.totp_code_ok(user.totp_secret, body.code):
        raise InvalidInput("动态口令错误 (the code does not match; check the device's clock)")
    user.totp_enabled = True
    audit.record(session, user, "auth.totp_enable", target=user.username, client_ip=client_ip(request))
    session.commit()
    return Response(status_code=204)
