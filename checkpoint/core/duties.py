"""Separated duties (三员分立) and the four-eyes rule across accounts.

- 系统管理员 `admin`: creates accounts (with operational roles only), disables them, resets passwords,
  runs devices and checkpoints. Grants no privileged role, approves nothing.
- 安全管理员 `security_admin`: grants and revokes roles. Approves nothing, creates no account.
- 审计管理员 `auditor`: reads and exports the audit log, and holds no other role.
- 审批人 `approver`: approves watches and withdrawals; creates no account, grants no role.

One account never holds two of these four. Across accounts: `approver` takes effect only once a second
security admin confirms the grant, and an approver never approves the watches (or withdrawals) of anyone
who created the account, asked for or confirmed its approver grant, or last set its password: such a
person could act through it, so for them it is not a second pair of eyes.
"""

from __future__ import annotations

from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core import audit
from checkpoint.core.db import utcnow
from checkpoint.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from checkpoint.core.models import Role, RoleGrant, User

SEPARATED = (Role.admin, Role.security_admin, Role.auditor, Role.approver)
OPERATIONAL = (Role.officer, Role.dispatcher, Role.investigator, Role.planner)
NEEDS_SECOND_GRANTOR = (Role.approver,)
ROLE_NAMES = {
    Role.officer: "布控民警", Role.dispatcher: "指挥调度", Role.investigator: "侦查研判", Role.planner: "卡口规划",
    Role.admin: "系统管理员", Role.security_admin: "安全管理员", Role.auditor: "审计管理员", Role.approver: "审批人",
}


class SeparationOfDuties(Forbidden):
    reason = "separation-of-duties"


def duty_conflict(roles: list[str]) -> str | None:
    """Why these roles cannot be held by one account, or None."""
    held = [role for role in SEPARATED if role.value in roles]
    if Role.auditor.value in roles and len(set(roles)) > 1:
        return ("三员分立：审计管理员不兼任其他角色 (the audit admin reads the audit log and holds no other role)")
    for first, second in combinations(held, 2):
        return (f"三员分立：同一账号不能同时担任{ROLE_NAMES[first]}与{ROLE_NAMES[second]} "
                f"(separated duties: {first.value} and {second.value} need two people)")
    return None


def check_duties(roles: list[str]) -> list[str]:
    if (problem := duty_conflict(roles)) is not None:
        raise InvalidInput(problem)
    return roles


def check_creatable(roles: list[str]) -> None:
    """What a system admin may give a new account: operational roles; the rest is a security admin's."""
    privileged = [role for role in roles if role not in {r.value for r in OPERATIONAL}]
    if privileged:
        raise SeparationOfDuties(f"系统管理员只能创建业务角色账号；{', '.join(privileged)} 由安全管理员授予 "
                                 "(a system admin creates accounts with operational roles; a security admin "
                                 "grants the others)")


def people_behind(session: Session, user: User) -> set[int]:
    """Who could act through `user`'s account: its creator, the security admins of its approver grant,
    and whoever last reset its password (until the user sets one of their own)."""
    people = {user.created_by, user.password_set_by}
    grants = session.execute(select(RoleGrant.requested_by, RoleGrant.decided_by).where(
        RoleGrant.user_id == user.id, RoleGrant.role == Role.approver.value, RoleGrant.status == "confirmed"))
    for requested_by, decided_by in grants:
        people |= {requested_by, decided_by}
    return {person for person in people if person is not None}


def check_second_person(session: Session, approver: User, other_ids: list[int | None], what: str) -> None:
    """Refuse when `approver` is, or is an account of, one of the people whose act needs a second person."""
    others = {person for person in other_ids if person is not None}
    if approver.id in others:
        raise SeparationOfDuties(f"四眼原则：不能{what}自己提出的申请 (four eyes: a second person decides)")
    if people_behind(session, approver) & others:
        raise SeparationOfDuties(f"四眼原则：此审批账号由申请人创建、授权或重置密码，不能{what}其申请 "
                                 "(four eyes: this account was created, granted or reset by the requester)")


def set_roles(session: Session, granter: User, user: User, roles: list[str], reason: str,
              client_ip: str | None = None) -> RoleGrant | None:
    """A security admin sets `user`'s roles: removals and most additions at once; an added `approver`
    waits as a pending grant for a second security admin. Returns that pending grant, if any."""
    if user.id == granter.id:
        raise SeparationOfDuties("不能修改自己的角色 (nobody changes their own roles)")
    if not reason.strip():
        raise InvalidInput("请填写修改角色的原因 (say why the roles change)")
    wanted = sorted(set(roles))
    known = {role.value for role in Role}
    if unknown := [role for role in wanted if role not in known]:
        raise InvalidInput(f"未知角色 {', '.join(unknown)} (unknown roles)")
    check_duties(wanted)
    added = [role for role in wanted if role not in user.roles]
    removed = [role for role in user.roles if role not in wanted]
    held_back = [role for role in added if role in {r.value for r in NEEDS_SECOND_GRANTOR}]
    user.roles = [role for role in wanted if role not in held_back]
    grant = None
    for role in held_back:
        grant = RoleGrant(user_id=user.id, role=role, reason=reason.strip(), status="pending",
                          requested_by=granter.id, requested_at=utcnow())
        session.add(grant)
    session.flush()
    audit.record(session, granter, "user.roles", target=user.username, reason=reason, client_ip=client_ip,
                 detail={"added": [r for r in added if r not in held_back], "removed": removed,
                         "pending": held_back, "roles": user.roles})
    return grant


def pending_grants(session: Session) -> list[RoleGrant]:
    return list(session.scalars(select(RoleGrant).where(RoleGrant.status == "pending").order_by(RoleGrant.id)))


def decide_grant(session: Session, grantor: User, grant_id: int, confirm: bool, reason: str,
                 client_ip: str | None = None) -> RoleGrant:
    """A second security admin confirms (or refuses) a pending grant."""
    grant = session.get(RoleGrant, grant_id, with_for_update=True)
    if grant is None:
        raise NotFound(f"授权申请 {grant_id} 不存在 (no such grant)")
    if grant.status != "pending":
        raise Conflict(f"授权申请 {grant_id} 已处理 (already {grant.status})")
    if grantor.id in (grant.requested_by, grant.user_id):
        raise SeparationOfDuties("需由另一名安全管理员确认 (a second security admin must confirm)")
    user = session.get(User, grant.user_id)
    assert user is not None
    if confirm:
        roles = sorted({*user.roles, grant.role})
        check_duties(roles)
        user.roles = roles
    grant.status, grant.decided_by, grant.decided_at = ("confirmed" if confirm else "refused"), grantor.id, utcnow()
    session.flush()
    audit.record(session, grantor, "user.role_grant_" + ("confirm" if confirm else "refuse"), target=user.username,
                 reason=reason or None, client_ip=client_ip,
                 detail={"role": grant.role, "grant": grant.id, "requested_by": grant.requested_by})
    return grant


def modern_roles(roles: list[str]) -> list[str]:
    """Roles as named before migration 0023, as they are now: the supervisor (officer + admin) became
    officer + approver; demo and fixture user lists written the old way still work through this."""
    if "officer" in roles and "admin" in roles:
        return sorted({*roles, Role.approver.value} - {Role.admin.value})
    return sorted(set(roles))
