"""Forward new alerts to the provincial platform through a PostgreSQL outbox, so none is lost.

The matcher writes a `webhook_delivery` row in the transaction that stores the alert. A delivery loop
(a thread beside each matcher) posts due rows oldest first, claiming them with FOR UPDATE SKIP LOCKED
so two matchers never post one row at once. A 2xx answer marks it delivered; anything else (refused,
timed out, 4xx/5xx) schedules the next attempt 1, 2, 4 ... s later, at most `max_backoff_s`. A
process killed mid-post leaves the row due, so it is posted again with the same
`X-Checkpoint-Delivery` id: the platform can drop the repeat.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.db import utcnow
from checkpoint.core.metrics import ALERTS_DELIVERED
from checkpoint.watchlist.models import HitAlert, WebhookDelivery

log = logging.getLogger(__name__)
FIRST_BACKOFF_S = 1.0


def backoff_s(attempts: int, max_backoff_s: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones: 1, 2, 4 ... at most max_backoff_s."""
    return min(max_backoff_s, FIRST_BACKOFF_S * float(2 ** min(attempts - 1, 30)))


def enqueue(session: Session, alert: HitAlert, body_json: str) -> WebhookDelivery:
    """Queue an alert for the platform, in the caller's transaction (the one that stores the alert)."""
    delivery = WebhookDelivery(alert_id=alert.id, body=body_json, attempts=0, next_attempt_at=utcnow())
    session.add(delivery)
    return delivery


def list_deliveries(session: Session, pending_only: bool, limit: int) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if pending_only:
        query = query.where(WebhookDelivery.delivered_at.is_(None))
    return list(session.scalars(query))


class WebhookOutbox:
    """Posts due deliveries to the configured URL; `run` loops until stopped, `wake` shortens its wait."""

    def __init__(self, sessions: sessionmaker[Session], url: str, timeout_s: float = 3.0,
                 max_backoff_s: float = 300.0, batch: int = 20, poll_s: float = 1.0) -> None:
        self.sessions, self.url, self.timeout_s = sessions, url, timeout_s
        self.max_backoff_s, self.batch, self.poll_s = max_backoff_s, batch, poll_s
        self.wake = threading.Event()

    def deliver_due(self, now: datetime | None = None) -> int:
        """Attempt each delivery due at `now` (a batch of the oldest); returns how many were attempted."""
        moment = now or utcnow()
        with self.sessions() as session:
            due = list(session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.next_attempt_at <= moment)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(self.batch)
                .with_for_update(skip_locked=True)))
            for delivery in due:
                self._attempt(delivery, moment)
            session.commit()
        return len(due)

    def _attempt(self, delivery: WebhookDelivery, now: datetime) -> None:
        request = urllib.request.Request(self.url, data=delivery.body.encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "X-Checkpoint-Delivery": str(delivery.id)})
        status: int | None = None
        error: str | None = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (configured URL)
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
        except OSError as exc:  # refused, unreachable, timed out
            error = str(exc)[:500] or type(exc).__name__
        delivery.attempts += 1
        delivery.last_attempt_at, delivery.last_status = now, status
        if status is not None and 200 <= status < 300:
            delivery.delivered_at, delivery.last_error = now, None
            ALERTS_DELIVERED.labels("webhook").inc()
            log.info("watchlist.webhook_delivered", extra={"delivery_id": delivery.id, "alert_id": delivery.alert_id})
            return
        delivery.last_error = error or f"HTTP {status}"
        delivery.next_attempt_at = now + timedelta(seconds=backoff_s(delivery.attempts, self.max_backoff_s))
        log.warning("watchlist.webhook_failed", extra={"delivery_id": delivery.id, "attempts": delivery.attempts,
                                                       "error": delivery.last_error[:200]})

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set (set `wake` too, to stop at once)."""
        while not stop.is_set():
            try:
                attempted = self.deliver_due()
            except SQLAlchemyError as exc:  # PostgreSQL away: the rows wait there
                log.warning("watchlist.webhook_outbox_failed", extra={"error": str(exc)[:200]})
                attempted = 0
            if attempted < self.batch:
                self.wake.wait(self.poll_s)
                self.wake.clear()
