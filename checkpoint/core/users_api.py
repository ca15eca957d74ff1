"""User administration split by duty (core/duties.py): the system admin keeps accounts (create with
operational roles, disable, reset a password), the security admin grants roles, and a second
security admin confirms an approver grant. Every change is audited."""

from __future__ import annotations

from fastapi import APIRouter, Request

from checkpoint.core import audit, duties, users
from checkpoint.core.deps import AdminUser, SecurityAdminUser, SessionDep, UserAdminUser, client_ip
from checkpoint.core.schemas import (
    GrantDecision,
    PasswordReset,
    RoleGrantPublic,
    RolesUpdate,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from checkpoint.core.security import generate_password

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserPublic])
def list_users(_admin: UserAdminUser, session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(user) for user in users.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, admin: AdminUser, request: Request, session: SessionDep) -> UserPublic:
    """A system admin creates an account with operational roles; a security admin grants any other."""
    duties.check_creatable(users.parse_roles(body.roles))
    user = users.create(session, username=body.username, password=body.password, roles=body.roles,
                        display_name=body.display_name, unit=body.unit, created_by=admin.id)
    audit.record(session, admin, "user.create", target=user.username, client_ip=client_ip(request),
                 detail={"roles": user.roles})
    session.commit()
    return UserPublic.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(user_id: int, body: UserUpdate, admin: AdminUser, request: Request,
                session: SessionDep) -> UserPublic:
    """Disable or enable, rename, move unit, set a password; roles are a security admin's (PUT .../roles)."""
    if body.roles is not None:
        raise duties.SeparationOfDuties("角色由安全管理员授予 (roles are granted by a security admin: "
                                        "PUT /users/{id}/roles)")
    user = users.get(session, user_id)
    if user.id == admin.id and body.active is False:
        raise duties.SeparationOfDuties("不能停用自己的账号 (nobody disables their own account)")
    changed = users.update(session, user, active=body.active, password=body.password,
                           display_name=body.display_name, unit=body.unit, set_by=admin.id)
    audit.record(session, admin, "user.update", target=user.username, client_ip=client_ip(request),
                 detail={"changed": changed, "roles": user.roles, "active": user.active})
    session.commit()
    return UserPublic.model_validate(user)


@router.post("/users/{user_id}/password-reset", response_model=PasswordReset)
def reset_password(user_id: int, admin: AdminUser, request: Request, session: SessionDep) -> PasswordReset:
    """A generated password, answered once; the user's logins end. Until they set their own, the admin
    counts as a person behind the account (duties.people_behind)."""
    user = users.get(session, user_id)
    password = generate_password()
    users.update(session, user, password=password, set_by=admin.id)
    audit.record(session, admin, "user.password_reset", target=user.username, client_ip=client_ip(request))
    session.commit()
    return PasswordReset(username=user.username, password=password)


@router.put("/users/{user_id}/roles", response_model=UserPublic)
def set_roles(user_id: int, body: RolesUpdate, granter: SecurityAdminUser, request: Request,
              session: SessionDep) -> UserPublic:
    """A security admin sets the roles; an added approver waits for a second security admin."""
    user = users.get(session, user_id)
    duties.set_roles(session, granter, user, body.roles, body.reason, client_ip(request))
    session.commit()
    return UserPublic.model_validate(user)


@router.get("/role-grants", response_model=list[RoleGrantPublic])
def list_pending_grants(_admin: SecurityAdminUser, session: SessionDep) -> list[RoleGrantPublic]:
    return [RoleGrantPublic.model_validate(grant) for grant in duties.pending_grants(session)]


@router.post("/role-grants/{grant_id}/decision", response_model=RoleGrantPublic)
def decide_grant(grant_id: int, body: GrantDecision, granter: SecurityAdminUser, request: Request,
                 session: SessionDep) -> RoleGrantPublic:
    grant = duties.decide_grant(session, granter, grant_id, body.confirm, body.reason, client_ip(request))
    session.commit()
    return RoleGrantPublic.model_validate(grant)
