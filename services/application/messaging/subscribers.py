"""What the application service reads from review and assessment, and what it does with it.

Each handler reads only the `data` fields it needs (docs/contracts.md) and hands them to a
`when_<event>_then_<action>` policy, inside the consumer's transaction. Repeats and races the
rules call harmless (a return crossing a withdrawal) are no-ops in the deciders; a fact about a
base not yet known waits for its designation; anything else raises, is retried and, if it
keeps failing, dead-lettered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from faststream.nats import NatsRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.consumer import Handler, Subscription
from shared.edge import Consumers, service_edge
from shared.envelope import Envelope
from shared.usecase import CommandContext

from ..domain.errors import BaseNotFound
from ..usecases import ApplicationUseCases
from ..usecases.renewals import Term
from .contracts import EXAMPLES, SERVICE, registry


def _ctx(envelope: Envelope) -> CommandContext:
    return CommandContext.reacting_to(envelope, SERVICE)


def _reasons(data: Mapping[str, Any]) -> tuple[str, ...]:
    reasons = data.get("reasons") or ()
    return (reasons,) if isinstance(reasons, str) else tuple(str(r) for r in reasons)


def _day(data: Mapping[str, Any], name: str) -> date:
    return date.fromisoformat(data[name])


def _term(data: Mapping[str, Any]) -> Term:
    return Term(_day(data, "term_start"), _day(data, "term_end"))


def from_review(usecases: ApplicationUseCases) -> dict[str, Handler]:
    filing, renewals = usecases.filing, usecases.renewals

    async def returned(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await filing.when_application_returned_then_record_return(
            conn, _ctx(e), d["application_id"], review_id=d["review_id"], level=d["level"],
            reasons=_reasons(d),
        )  # fmt: skip

    async def rejected(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await filing.when_application_rejected_then_record_rejection(
            conn, _ctx(e), d["application_id"], review_id=d["review_id"], level=d["level"],
            reasons=_reasons(d),
        )  # fmt: skip

    async def designated(conn: AsyncConnection, e: Envelope) -> None:
        d, ctx = e.data, _ctx(e)
        await filing.when_base_designated_then_record_designation(
            conn, ctx, d["application_id"], review_id=d["review_id"], base_id=d["base_id"]
        )
        await renewals.when_base_designated_then_record_base(
            conn, ctx, d["base_id"], case_id=d["case_id"], unit_id=d["unit_id"],
            unit_name=d["unit_name"], province=d["province"], jurisdiction=d["jurisdiction"],
            term=_term(d),
        )  # fmt: skip

    async def station_designated(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await filing.when_workstation_designated_then_record_designation(
            conn, _ctx(e), d["application_id"], review_id=d["review_id"],
            station_id=d["station_id"], certificate_no=d["certificate_no"],
        )  # fmt: skip

    async def renewal_returned(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await renewals.when_renewal_returned_then_record_return(
            conn, _ctx(e), d["base_id"], d["renewal_id"], _reasons(d)
        )

    async def granted(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await renewals.when_renewal_granted_then_record_grant(
            conn, _ctx(e), d["base_id"], d["renewal_id"], _term(d)
        )

    async def refused(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await renewals.when_renewal_refused_then_record_refusal(
            conn, _ctx(e), d["base_id"], d["renewal_id"], _reasons(d)
        )

    return {
        "ApplicationReturned": returned,
        "ApplicationRejected": rejected,
        "BaseDesignated": designated,
        "WorkstationDesignated": station_designated,
        "RenewalReturned": renewal_returned,
        "RenewalGranted": granted,
        "RenewalRefused": refused,
    }


def from_assessment(usecases: ApplicationUseCases) -> dict[str, Handler]:
    renewals = usecases.renewals

    async def window_opened(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await renewals.when_renewal_window_opened_then_record_window(
            conn, _ctx(e), d["base_id"], opens_on=_day(d, "opens_on"),
            closes_on=_day(d, "closes_on"), term_end=_day(d, "term_end"),
            policy_version=d["policy_version"],
        )  # fmt: skip

    async def term_renewed(conn: AsyncConnection, e: Envelope) -> None:
        await renewals.when_term_renewed_then_record_term(
            conn, _ctx(e), e.data["base_id"], _term(e.data)
        )

    async def pending_past_term(conn: AsyncConnection, e: Envelope) -> None:
        d = e.data
        await renewals.when_renewal_pending_past_term_then_record_it(
            conn, _ctx(e), d["base_id"], d["renewal_id"], _day(d, "term_end")
        )

    async def expired(conn: AsyncConnection, e: Envelope) -> None:
        reason = str(e.data.get("reason") or "term_ended")
        await renewals.when_base_expired_then_record_expiry(
            conn, _ctx(e), e.data["base_id"], _day(e.data, "expired_on"), reason
        )

    async def revoked(conn: AsyncConnection, e: Envelope) -> None:
        await renewals.when_base_revoked_then_record_revocation(
            conn, _ctx(e), e.data["base_id"], _day(e.data, "revoked_on")
        )

    return {
        "RenewalWindowOpened": window_opened,
        "RenewalPendingPastTerm": pending_past_term,
        "TermRenewed": term_renewed,
        "BaseExpired": expired,
        "BaseRevoked": revoked,
    }


def subscriptions(usecases: ApplicationUseCases) -> list[Subscription]:
    # A base's facts wait for its designation, which comes from review on another stream.
    waits = (BaseNotFound,)
    return [
        Subscription(f"{SERVICE}-from-review", "review", from_review(usecases), waits),
        Subscription(f"{SERVICE}-from-assessment", "assessment", from_assessment(usecases), waits),
    ]


#: For the AsyncAPI document: (upstream service, the event names read).
CONSUMES: Sequence[tuple[str, Sequence[str]]] = (
    ("review", ("ApplicationReturned", "ApplicationRejected", "BaseDesignated",
                "WorkstationDesignated", "RenewalReturned", "RenewalGranted", "RenewalRefused")),
    ("assessment", ("RenewalWindowOpened", "RenewalPendingPastTerm", "TermRenewed",
                    "BaseExpired", "BaseRevoked")),
)  # fmt: skip


def edge(consumers: Consumers) -> NatsRouter:
    """This service on the bus, declared with FastStream: every event type it publishes, and a
    durable pull subscriber per upstream service feeding the consumer of `subscriptions`."""
    return service_edge(consumers, registry, EXAMPLES, CONSUMES)
