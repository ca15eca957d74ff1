"""Who sees which watches: officers their own and their unit's; admins and approvers every one.

A watch names a person of interest and the case behind it: an officer listing every other
officer's watches (500 at once, no paging) was a leak. Lists are paged newest first by id
(`before_id` is the last id of the previous page).
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from checkpoint.core.models import User
from checkpoint.watchlist.models import WatchEntry

SEES_ALL_ROLES = frozenset({"admin", "approver"})  # approvers decide on any watch; admins supervise
DEFAULT_PAGE = 100
MAX_PAGE = 500


def sees_all(user: User) -> bool:
    return bool(SEES_ALL_ROLES & set(user.roles))


def visible(user: User, query: Select[tuple[WatchEntry]]) -> Select[tuple[WatchEntry]]:
    """`query` narrowed to the watches `user` may see."""
    if sees_all(user):
        return query
    if user.unit:
        colleagues = select(User.id).where(User.unit == user.unit)
        return query.where(WatchEntry.requested_by.in_(colleagues))
    return query.where(WatchEntry.requested_by == user.id)


def list_visible(session: Session, user: User, *, status: str | None = None, before_id: int | None = None,
                 limit: int = DEFAULT_PAGE) -> list[WatchEntry]:
    query = visible(user, select(WatchEntry)).order_by(WatchEntry.id.desc()).limit(limit)
    if status:
        query = query.where(WatchEntry.status == status)
    if before_id is not None:
        query = query.where(WatchEntry.id < before_id)
    return list(session.scalars(query))


def may_see(session: Session, user: User, entry: WatchEntry) -> bool:
    if sees_all(user) or entry.requested_by == user.id:
        return True
    if not user.unit:
        return False
    requester = session.get(User, entry.requested_by)
    return requester is not None and requester.unit == user.unit
