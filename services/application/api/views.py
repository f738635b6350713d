"""What the read endpoints answer: applications, their history, bases and renewal requests.

A reviewer sees an application as it was submitted; only its own unit also sees the working
copy (`form`, `attachments`) it is editing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.envelope import Envelope, format_time


class ApplicationSummary(BaseModel):
    application_id: str
    case_id: str
    call_id: str
    programme: str
    unit_id: str
    unit_name: str
    category: str
    province: str
    jurisdiction: str
    route: str
    status: str
    revision: int
    linked_case_id: str | None
    base_id: str | None
    updated_at: str
    version: int
    level: str | None = None  # null: drafted before the registry
    credit_code: str | None = None
    station_id: str | None = None  # a designated provincial work station
    certificate_no: str | None = None


class ApplicationView(ApplicationSummary):
    created_at: str
    form: dict[str, str | None] | None  # the working copy: its own unit only
    attachments: list[dict[str, Any]] | None
    submitted: dict[str, Any] | None
    receipt: dict[str, Any] | None
    decision: dict[str, Any] | None


class HistoryEntry(BaseModel):
    version: int
    event_id: str
    type: str
    time: str
    actor: str
    correlation_id: str
    causation_id: str | None
    policy_version: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, e: Envelope) -> HistoryEntry:
        return cls(
            version=e.streamversion, event_id=e.id, type=e.name, time=format_time(e.time),
            actor=e.actor, correlation_id=e.correlationid, causation_id=e.causationid,
            policy_version=e.policyversion, data=e.data,
        )  # fmt: skip


class RenewalRequestView(BaseModel):
    renewal_id: str
    term_end: str
    statement: str
    status: str = Field(description="pending, returned, withdrawn, granted or refused")
    requested_at: str
    requested_by: str
    settled_at: str | None
    reasons: list[str] | None


class BaseView(BaseModel):
    base_id: str
    case_id: str
    unit_id: str
    unit_name: str
    province: str
    jurisdiction: str
    term_start: str
    term_end: str
    status: str = Field(
        description="serving, renewal_pending, renewal_pending_past_term (the term ended while "
        "a request filed in the window awaits its decision: still designated), expired, revoked"
    )
    window_opens_on: str
    window_closes_on: str
    window_announced: bool
    pending_renewal_id: str | None
    ended_on: str | None
    end_reason: str | None = None  # term_ended, renewal_refused, renewal_withdrawn, revoked
    version: int
    renewal_requests: list[RenewalRequestView] | None = None


class BaseDetailView(BaseView):
    """One base, with a page of its renewal requests (by id: the oldest first)."""

    next_cursor: str | None = Field(
        None, description="pass as `cursor` for the next page of renewal requests; null: no more"
    )


def summary(row: dict[str, Any]) -> ApplicationSummary:
    return ApplicationSummary.model_validate({k: row[k] for k in ApplicationSummary.model_fields})


def detail(row: dict[str, Any], *, owner: bool) -> ApplicationView:
    fields = {k: row[k] for k in ApplicationView.model_fields}
    if not owner:
        fields.update(form=None, attachments=None)
    return ApplicationView.model_validate(fields)


def base_view(row: dict[str, Any]) -> BaseView:
    return BaseView.model_validate({k: row[k] for k in BaseView.model_fields if k in row})
