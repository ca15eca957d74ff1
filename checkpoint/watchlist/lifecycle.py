"""The alert lifecycle (缉查布控): its states and steps, written once; the console renders it from the API.

new -> signed (签收, due sign_due_s after the hit) -> valid or false_read (研判) -> instructed (拦截指令)
-> feedback (处置反馈, due feedback_due_h after the instruction) -> closed; a false read may be closed
straight away. `alerts.act` moves an alert along `STEPS`; `GET /watchlist/alerts/lifecycle` serves
them with the site's deadlines, so the buttons, labels and timers of the console follow this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.watchlist.models import AlertStatus

DueField = Literal["sign_due_at", "feedback_due_at"]


@dataclass(frozen=True)
class Step:
    """One action on an alert: the states it may follow, the state it leads to, what it needs."""

    action: str
    label_zh: str
    label_en: str
    follows: frozenset[AlertStatus]
    leads_to: AlertStatus
    note_required: bool = False  # the instruction or the outcome, in the note
    due: DueField | None = None  # the alert's field holding this step's deadline


STEPS: tuple[Step, ...] = (
    Step("sign", "签收", "Sign for", frozenset({AlertStatus.new}), AlertStatus.signed, due="sign_due_at"),
    Step("valid", "研判有效", "Valid", frozenset({AlertStatus.signed}), AlertStatus.valid),
    Step("false_read", "误识", "False read", frozenset({AlertStatus.signed}), AlertStatus.false_read),
    Step("instruct", "下达拦截", "Instruct intercept", frozenset({AlertStatus.valid}), AlertStatus.instructed,
         note_required=True),
    Step("feedback", "处置反馈", "Feedback", frozenset({AlertStatus.instructed}), AlertStatus.feedback,
         note_required=True, due="feedback_due_at"),
    Step("close", "结案", "Close", frozenset({AlertStatus.feedback, AlertStatus.false_read}), AlertStatus.closed),
)
STEP_BY_ACTION = {step.action: step for step in STEPS}

STATE_LABELS: dict[AlertStatus, tuple[str, str]] = {
    AlertStatus.new: ("新", "new"),
    AlertStatus.signed: ("已签收", "signed"),
    AlertStatus.valid: ("有效", "valid"),
    AlertStatus.false_read: ("误识", "false read"),
    AlertStatus.instructed: ("已指令", "instructed"),
    AlertStatus.feedback: ("已反馈", "feedback"),
    AlertStatus.closed: ("已结案", "closed"),
}


class StepPublic(BaseModel):
    action: str
    label_zh: str
    label_en: str
    follows: list[AlertStatus]
    leads_to: AlertStatus
    note_required: bool
    due: DueField | None  # the alert's field with this step's deadline (shown as a countdown)
    deadline_s: int | None  # the time allowed for the step, from the site's settings


class StatePublic(BaseModel):
    state: AlertStatus
    label_zh: str
    label_en: str


class LifecyclePublic(BaseModel):
    states: list[StatePublic]
    steps: list[StepPublic]
    sign_due_s: int
    feedback_due_h: int


def deadline_s(step: Step, settings: WatchlistSettings) -> int | None:
    if step.due == "sign_due_at":
        return settings.sign_due_s
    if step.due == "feedback_due_at":
        return settings.feedback_due_h * 3600
    return None


def lifecycle(settings: WatchlistSettings) -> LifecyclePublic:
    """The whole table, with this site's deadlines."""
    return LifecyclePublic(
        states=[StatePublic(state=state, label_zh=zh, label_en=en) for state, (zh, en) in STATE_LABELS.items()],
        steps=[StepPublic(action=s.action, label_zh=s.label_zh, label_en=s.label_en,
                          follows=sorted(s.follows), leads_to=s.leads_to, note_required=s.note_required,
                          due=s.due, deadline_s=deadline_s(s, settings)) for s in STEPS],
        sign_due_s=settings.sign_due_s, feedback_due_h=settings.feedback_due_h)
