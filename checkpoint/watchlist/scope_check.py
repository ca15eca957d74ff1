"""Districts and checkpoints named in a watch's scope or a dispatcher's scope must exist.

`PUT /watchlist/scopes` once stored junk districts, ids that name no checkpoint and scopes for users
who receive no alerts: a scope that can never match is a silent mistake, refused here with a 422.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput
from checkpoint.core.models import Role, User
from checkpoint.sites.models import Checkpoint


def check_districts(session: Session, districts: Iterable[str]) -> None:
    wanted = set(districts)
    if not wanted:
        return
    known = set(session.scalars(select(Checkpoint.district).where(Checkpoint.district.in_(wanted)).distinct()))
    if unknown := sorted(wanted - known):
        raise InvalidInput(f"没有这些辖区的卡口 (unknown district(s): {', '.join(unknown)})")


def check_checkpoints(session: Session, checkpoint_ids: Iterable[int]) -> None:
    wanted = set(checkpoint_ids)
    if not wanted:
        return
    found = set(session.scalars(select(Checkpoint.id).where(Checkpoint.id.in_(wanted))))
    if missing := sorted(wanted - found):
        raise InvalidInput(f"没有这些卡口 (unknown checkpoint id(s): {', '.join(map(str, missing))})")


def check_dispatcher_scope(session: Session, target: User, districts: Iterable[str],
                           checkpoint_ids: Iterable[int]) -> None:
    """A scope is for a dispatcher (who receives alerts) and names only what exists."""
    if Role.dispatcher.value not in target.roles:
        raise InvalidInput(f"用户 {target.username} 不是调度员，不接收预警，不能设置范围 "
                           f"(user {target.username} is not a dispatcher)")
    check_districts(session, districts)
    check_checkpoints(session, checkpoint_ids)
