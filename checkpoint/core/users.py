"""User accounts: create, change, authenticate. Services flush; the caller commits."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.duties import check_duties
from checkpoint.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from checkpoint.core.login_sessions import check_second_factor
from checkpoint.core.models import Role, User
from checkpoint.core.security import hash_password, password_problem, verify_password


def parse_roles(roles: list[str]) -> list[str]:
    if not roles:
        raise InvalidInput("a user needs at least one role")
    known = {role.value for role in Role}
    unknown = [role for role in roles if role not in known]
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(sorted(known))}")
    return check_duties(sorted(set(roles)))


def check_username(username: str) -> str:
    name = username.strip()
    if not (2 <= len(name) <= 64) or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise InvalidInput("username must be 2-64 letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str, username: str | None = None) -> str:
    if (problem := password_problem(password, username)) is not None:
        raise InvalidInput(problem)
    return password


def get_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def create(
    session: Session,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str = "",
    unit: str | None = None,
    created_by: int | None = None,
) -> User:
    """A new account; `created_by` (the admin) also knows its first password until the user changes it."""
    name = check_username(username)
    if get_by_name(session, name) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(
        username=name,
        display_name=display_name or name,
        roles=parse_roles(roles),
        unit=unit,
        password_hash=hash_password(check_password(password, name)),
        active=True,
        token_version=0,
        created_by=created_by,
        password_set_by=created_by,
        totp_enabled=False,
    )
    session.add(user)
    session.flush()
    return user


def update(
    session: Session,
    user: User,
    *,
    roles: list[str] | None = None,
    active: bool | None = None,
    password: str | None = None,
    display_name: str | None = None,
    unit: str | None = None,
    set_by: int | None = None,
) -> list[str]:
    """Apply the given changes; returns the names of the fields changed (for the audit row).
    `set_by`: the admin who resets the password (None: the user themself, or the shell)."""
    changed: list[str] = []
    if roles is not None:
        user.roles = parse_roles(roles)
        changed.append("roles")
    if display_name is not None:
        user.display_name = display_name
        changed.append("display_name")
    if unit is not None:
        user.unit = unit or None
        changed.append("unit")
    if active is not None and active != user.active:
        user.active = active
        user.token_version += 1  # a deactivated user's tokens stop working at once
        changed.append("active")
    if password is not None:
        user.password_hash = hash_password(check_password(password, user.username))
        user.password_set_by = set_by
        user.token_version += 1  # every login of the user ends
        changed.append("password")
    session.flush()
    return changed


def authenticate(session: Session, username: str, password: str, client_ip: str | None,
                 totp_code: str | None = None) -> User:
    """The active user with this password (and second factor, when enrolled); a failure is audited (the
    caller commits either way). The caller has reserved the try (login_sessions.reserve_try)."""
    name = username.strip()[:64]
    user = get_by_name(session, name)
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is not None and password_ok and user.active and not check_second_factor(user, totp_code):
        audit.record(session, None, "auth.login_failed", actor_name=name, client_ip=client_ip,
                     detail={"why": "wrong second factor"})
        raise NotAuthenticated("动态口令错误 (wrong authenticator code)")
    if user is None or not password_ok or not user.active:
        why = "unknown user" if user is None else ("inactive user" if password_ok else "wrong password")
        audit.record(session, None, "auth.login_failed", actor_name=name, client_ip=client_ip, detail={"why": why})
        raise NotAuthenticated("用户名或密码错误 (wrong username or password)")
    audit.record(session, user, "auth.login", client_ip=client_ip)
    return user


def ensure_first_admin(session: Session, password: str) -> User | None:
    """Create the `admin` user when no user exists yet; returns it (None when users exist)."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    user = create(session, username="admin", password=password, roles=[Role.admin.value], display_name="管理员")
    audit.record(session, None, "user.create", target=user.username, actor_name="system",
                 detail={"roles": user.roles, "first_admin": True})
    return user
