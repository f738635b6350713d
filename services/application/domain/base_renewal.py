"""Renewal requests of a designated base (Art. 14), one stream per base.

This service does not own bases: it learns each base's term from review's and assessment's
facts (designated, window opened, term renewed, expired, revoked) and owns only the unit's
written renewal request. The request is accepted inside the window before the term ends, one
at a time; the province may return it for completion (the unit resubmits it); review's grant
or refusal settles it. A request still undecided when the term ends keeps the base designated,
"renewal pending past term"; a grant then starts the new term the day after the old one ended
(terms are continuous), even if assessment had already recorded the term's end.

Facts cross on the bus. A renewal fact (returned, pending past term, granted, refused) that
reaches a base whose life has already ended is a harmless race, recorded as nothing rather
than retried and dead-lettered: a return or "pending past term" of an expired or revoked
base; a refusal of an expired or revoked base (a refusal of the request still pending when
the term's end was recorded is recorded, as above); a grant of a revoked base, or of one that
expired because its request was withdrawn (the grant crossed the revocation or the
withdrawal). A grant of a base that expired on a refusal contradicts it and is refused, and
any fact about a base never designated still raises (it waits for the designation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeAlias, TypeGuard, assert_never

from shared.cst import cst_date
from shared.decider import Decider

from .commands import (
    RecordBaseDesignation,
    RecordBaseExpiry,
    RecordBaseRevocation,
    RecordRenewalGrant,
    RecordRenewalPendingPastTerm,
    RecordRenewalRefusal,
    RecordRenewalReturn,
    RecordRenewalWindow,
    RecordTermRenewal,
    RenewalCommand,
    RequestRenewal,
    ResubmitRenewalRequest,
    WithdrawRenewalRequest,
)
from .errors import (
    BaseAlreadyRecorded,
    BaseNoLongerDesignated,
    BaseNotFound,
    EmptyStatement,
    NoRenewalPending,
    NotBaseUnit,
    RenewalAlreadyPending,
    RenewalNotReturned,
    RenewalWindowClosed,
    RenewalWindowNotOpen,
    refused,
)
from .events import (
    BaseDesignationRecorded,
    BaseExpiryRecorded,
    BaseRevocationRecorded,
    RenewalEvent,
    RenewalGrantRecorded,
    RenewalPendingPastTermRecorded,
    RenewalRefusalRecorded,
    RenewalRequested,
    RenewalRequestResubmitted,
    RenewalRequestWithdrawn,
    RenewalReturnRecorded,
    RenewalWindowRecorded,
    TermRenewalRecorded,
)
from .policy import RenewalPolicy


class Outcome(StrEnum):
    WITHDRAWN = "withdrawn"
    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Settled:
    renewal_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class UnknownBase:
    pass


@dataclass(frozen=True, slots=True)
class Serving:
    base: BaseDesignationRecorded
    term_end: date
    window: RenewalWindowRecorded | None = None
    settled: Settled | None = None  # the last request, to recognise a repeated command


@dataclass(frozen=True, slots=True)
class RenewalPending:
    base: BaseDesignationRecorded
    term_end: date
    window: RenewalWindowRecorded | None
    renewal_id: str
    statement: str = ""
    returned: tuple[str, ...] | None = None  # the province's reasons, until resubmitted
    past_term: bool = False  # the term ended while the request awaits its decision


@dataclass(frozen=True, slots=True)
class Expired:
    base: BaseDesignationRecorded
    expired_on: date
    reason: str = "term_ended"
    renewal_id: str | None = None  # the request still pending when the term was recorded ended
    settled: Outcome | None = None


@dataclass(frozen=True, slots=True)
class Revoked:
    base: BaseDesignationRecorded
    revoked_on: date


State: TypeAlias = UnknownBase | Serving | RenewalPending | Expired | Revoked


def initial_state() -> State:
    return UnknownBase()


def evolve(state: State, event: RenewalEvent) -> State:
    match event:
        case BaseDesignationRecorded():
            return Serving(event, event.term_end)
        case RenewalWindowRecorded():
            return replace(state, window=event) if _serving(state) else state
        case RenewalRequested(renewal_id=renewal_id, statement=statement):
            return _pending(state, renewal_id, statement)
        case RenewalRequestWithdrawn(renewal_id=renewal_id):
            return _settle(state, Settled(renewal_id, Outcome.WITHDRAWN))
        case RenewalReturnRecorded(reasons=reasons):
            return replace(state, returned=reasons) if isinstance(state, RenewalPending) else state
        case RenewalRequestResubmitted(statement=statement):
            if isinstance(state, RenewalPending):
                return replace(state, returned=None, statement=statement)
            return state
        case RenewalPendingPastTermRecorded():
            return replace(state, past_term=True) if isinstance(state, RenewalPending) else state
        case RenewalGrantRecorded(renewal_id=renewal_id, term_end=term_end):
            if isinstance(state, Expired):  # granted after the term's end was recorded
                return Serving(state.base, term_end, None, Settled(renewal_id, Outcome.GRANTED))
            renewed = _new_term(state, term_end)
            return _settle(renewed, Settled(renewal_id, Outcome.GRANTED))
        case RenewalRefusalRecorded(renewal_id=renewal_id):
            if isinstance(state, Expired):
                return replace(state, settled=Outcome.REFUSED)
            return _settle(state, Settled(renewal_id, Outcome.REFUSED))
        case TermRenewalRecorded(term_end=term_end):
            return _new_term(state, term_end)
        case BaseExpiryRecorded(expired_on=on, reason=reason):
            if isinstance(state, RenewalPending):
                return Expired(state.base, on, reason, state.renewal_id)
            return Expired(state.base, on, reason) if isinstance(state, Serving) else state
        case BaseRevocationRecorded(revoked_on=on):
            return Revoked(state.base, on) if _serving(state) else state
        case _:
            assert_never(event)


def decide(command: RenewalCommand, state: State) -> list[RenewalEvent]:
    if isinstance(
        command, RequestRenewal | WithdrawRenewalRequest | ResubmitRenewalRequest
    ) and not (isinstance(state, UnknownBase) or command.by_org == state.base.unit_id):
        raise refused(NotBaseUnit, command, state, "only the base's own unit files for it")
    match (command, state):
        case (RecordBaseDesignation(), UnknownBase()):
            return [_designation(command)]
        case (
            RecordBaseDesignation(),
            Serving(base=base)
            | RenewalPending(base=base)
            | Expired(base=base)
            | Revoked(base=base),
        ) if base == _designation(command):
            return []
        case (RecordBaseDesignation(), _):
            raise refused(BaseAlreadyRecorded, command, state, f"base {command.base_id}")
        case (_, UnknownBase()):
            raise refused(BaseNotFound, command, state, f"no designated base {command.base_id}")

        case (RequestRenewal(), Serving() as serving):
            return [_request(command, serving)]
        case (RequestRenewal(), RenewalPending(renewal_id=pending)):
            if pending == command.renewal_id:
                return []
            why = f"request {pending} is still being decided"
            raise refused(RenewalAlreadyPending, command, state, why, renewal_id=pending)
        case (RequestRenewal(), _):  # Expired or Revoked
            raise refused(BaseNoLongerDesignated, command, state, "nothing left to renew")

        case (WithdrawRenewalRequest(), RenewalPending(base=b, renewal_id=pending)) if (
            pending == command.renewal_id
        ):
            return [RenewalRequestWithdrawn(pending, b.case_id, b.base_id, command.reason)]
        case (WithdrawRenewalRequest(), Serving(settled=Settled(renewal_id=r, outcome=o))) if (
            r == command.renewal_id and o is Outcome.WITHDRAWN
        ):
            return []
        case (WithdrawRenewalRequest(), Serving() | RenewalPending()):
            raise refused(NoRenewalPending, command, state, f"{command.renewal_id} is not pending")
        case (WithdrawRenewalRequest(), _):
            raise refused(BaseNoLongerDesignated, command, state, "nothing left to withdraw")

        case (ResubmitRenewalRequest(), RenewalPending(renewal_id=pending) as p) if (
            pending == command.renewal_id
        ):
            return _resubmit(command, p)
        case (ResubmitRenewalRequest(), Serving() | RenewalPending()):
            raise refused(NoRenewalPending, command, state, f"{command.renewal_id} is not pending")
        case (ResubmitRenewalRequest(), _):
            raise refused(BaseNoLongerDesignated, command, state, "nothing left to resubmit")

        case (RecordRenewalReturn(), RenewalPending(base=b, renewal_id=pending, returned=r)) if (
            pending == command.renewal_id
        ):
            reasons = command.reasons
            if r == reasons:
                return []
            return [RenewalReturnRecorded(pending, b.case_id, b.base_id, reasons)]
        case (RecordRenewalPendingPastTerm(), RenewalPending(base=b, renewal_id=pending) as p) if (
            pending == command.renewal_id
        ):
            if p.past_term:
                return []
            return [RenewalPendingPastTermRecorded(b.base_id, b.case_id, pending, command.term_end)]
        case (
            RecordRenewalReturn() | RecordRenewalPendingPastTerm(),
            Serving(settled=Settled(renewal_id=r)),
        ) if r == command.renewal_id:
            return []  # the request was settled (withdrawn, decided) before this fact arrived
        case (RecordRenewalReturn() | RecordRenewalPendingPastTerm(), Serving() | RenewalPending()):
            raise refused(NoRenewalPending, command, state, f"{command.renewal_id} is not pending")
        case (RecordRenewalGrant(), Expired(reason="term_ended", renewal_id=r, settled=None)) if (
            r == command.renewal_id
        ):  # the decision came after the term's end was recorded: the terms stay continuous
            b = state.base
            term_start, term_end = command.term_start, command.term_end
            return [RenewalGrantRecorded(r, b.case_id, b.base_id, term_start, term_end)]
        case (RecordRenewalRefusal(), Expired(renewal_id=r, settled=settled)) if (
            r == command.renewal_id
        ):
            if settled is Outcome.REFUSED:
                return []
            b = state.base
            return [RenewalRefusalRecorded(r, b.case_id, b.base_id, command.reasons)]

        case (RecordRenewalWindow(), Serving(base=b, window=w) | RenewalPending(base=b, window=w)):
            c = command
            window = RenewalWindowRecorded(
                b.base_id, b.case_id, c.opens_on, c.closes_on, c.term_end, c.policy_version
            )
            return [] if window == w else [window]
        case (
            RecordTermRenewal(),
            Serving(base=b, term_end=end) | RenewalPending(base=b, term_end=end),
        ):
            if command.term_end == end:
                return []
            return [TermRenewalRecorded(b.base_id, b.case_id, command.term_start, command.term_end)]
        case (RecordRenewalGrant(), RenewalPending(base=b, renewal_id=pending)) if (
            pending == command.renewal_id
        ):
            term_start, term_end = command.term_start, command.term_end
            return [RenewalGrantRecorded(pending, b.case_id, b.base_id, term_start, term_end)]
        case (RecordRenewalRefusal(), RenewalPending(base=b, renewal_id=pending)) if (
            pending == command.renewal_id
        ):
            return [RenewalRefusalRecorded(pending, b.case_id, b.base_id, command.reasons)]
        # Already settled: a repeat, or a withdrawal that crossed the decision in flight.
        case (RecordRenewalGrant(), Serving(settled=Settled(renewal_id=r, outcome=o))) if (
            r == command.renewal_id and o in (Outcome.GRANTED, Outcome.WITHDRAWN)
        ):
            return []
        case (RecordRenewalRefusal(), Serving(settled=Settled(renewal_id=r, outcome=o))) if (
            r == command.renewal_id and o in (Outcome.REFUSED, Outcome.WITHDRAWN)
        ):
            return []
        case (RecordRenewalGrant() | RecordRenewalRefusal(), Serving() | RenewalPending()):
            raise refused(NoRenewalPending, command, state, f"{command.renewal_id} is not pending")
        case (RecordBaseExpiry(), Serving(base=b) | RenewalPending(base=b)):
            return [BaseExpiryRecorded(b.base_id, b.case_id, command.expired_on, command.reason)]
        case (RecordBaseExpiry(), Expired(expired_on=on)) if on == command.expired_on:
            return []
        case (RecordBaseRevocation(), Serving(base=b) | RenewalPending(base=b)):
            return [BaseRevocationRecorded(b.base_id, b.case_id, command.revoked_on)]
        case (RecordBaseRevocation(), Revoked(revoked_on=on)) if on == command.revoked_on:
            return []
        # A harmless race: the base's life ended before this renewal fact arrived (every
        # other state met these commands above: only Expired or Revoked reach here).
        case (RecordRenewalReturn() | RecordRenewalPendingPastTerm() | RecordRenewalRefusal(), _):
            return []
        case (RecordRenewalGrant(), Revoked() | Expired(reason="renewal_withdrawn")):
            return []  # the grant crossed the revocation, or the withdrawal, in flight
        case (
            RecordRenewalWindow()
            | RecordTermRenewal()
            | RecordRenewalGrant()
            | RecordBaseExpiry()
            | RecordBaseRevocation(),
            _,
        ):  # Expired or Revoked: the base's life is over
            raise refused(BaseNoLongerDesignated, command, state, "the base's life is over")
        case _:
            assert_never(command)


def window_of(state: Serving | RenewalPending, policy: RenewalPolicy) -> tuple[date, date, str]:
    """Art. 14, "in the 90 days before expiry": the window assessment announced for this
    term, or else the term's last `window_days` days; with the policy version that set it."""
    w = state.window
    if w is not None and w.term_end == state.term_end:
        return w.opens_on, w.closes_on, w.policy_version
    opens_on = state.term_end - timedelta(days=policy.window_days - 1)
    return opens_on, state.term_end, policy.version


def _request(command: RequestRenewal, state: Serving) -> RenewalRequested:
    opens_on, closes_on, policy_version = window_of(state, command.policy)
    today = cst_date(command.at)
    if today < opens_on:
        why = f"the renewal window opens on {opens_on.isoformat()}"
        raise refused(
            RenewalWindowNotOpen,
            command,
            state,
            why,
            opens_on=opens_on.isoformat(),
            closes_on=closes_on.isoformat(),
        )
    if today > closes_on:
        why = f"the renewal window closed on {closes_on.isoformat()}"
        raise refused(RenewalWindowClosed, command, state, why, closed_on=closes_on.isoformat())
    if not command.statement.strip():
        raise refused(EmptyStatement, command, state, "Art. 14 asks for a written request")
    b = state.base
    return RenewalRequested(
        renewal_id=command.renewal_id,
        case_id=b.case_id,
        base_id=b.base_id,
        unit_id=b.unit_id,
        unit_name=b.unit_name,
        province=b.province,
        jurisdiction=b.jurisdiction,
        term_end=state.term_end,
        statement=command.statement,
        policy_version=policy_version,
    )


def _resubmit(command: ResubmitRenewalRequest, state: RenewalPending) -> list[RenewalEvent]:
    if state.returned is None:
        if command.statement == state.statement:
            return []  # a repeated resubmission
        why = "the province has not returned the request: nothing to complete"
        raise refused(RenewalNotReturned, command, state, why)
    if not command.statement.strip():
        raise refused(EmptyStatement, command, state, "Art. 14 asks for a written request")
    b = state.base
    return [RenewalRequestResubmitted(state.renewal_id, b.case_id, b.base_id, command.statement)]


def _designation(c: RecordBaseDesignation) -> BaseDesignationRecorded:
    return BaseDesignationRecorded(
        c.base_id, c.case_id, c.unit_id, c.unit_name, c.province, c.jurisdiction,
        c.term_start, c.term_end,
    )  # fmt: skip


def _serving(state: State) -> TypeGuard[Serving | RenewalPending]:
    return isinstance(state, Serving | RenewalPending)


def _pending(state: State, renewal_id: str, statement: str) -> State:
    if isinstance(state, Serving):
        return RenewalPending(state.base, state.term_end, state.window, renewal_id, statement)
    return state


def _settle(state: State, settled: Settled) -> State:
    if isinstance(state, RenewalPending | Serving):
        return Serving(state.base, state.term_end, state.window, settled)
    return state


def _new_term(state: State, term_end: date) -> State:
    """A new term has its own window, still to be announced."""
    if isinstance(state, Serving | RenewalPending):
        return replace(state, term_end=term_end, window=None)
    return state


decider = Decider(decide=decide, evolve=evolve, initial_state=initial_state)
