"""A unit's registration (单位注册): who it is, and that its CAST vouched for it.

A unit registers once (its id is its token's `org`), amends when it must, and its CAST
verifies the registration or returns it with reasons: the prefecture CAST for a unit a
prefecture owns (`Level.PREFECTURE`), the provincial CAST for provincial-level units and
central units in the province (Notice §3). An application takes the unit's name, category,
level, jurisdiction, credit code and route from the verified registration, never from its body.
A unified social credit code names one legal entity: it registers once, under one unit.
Changing what the verification vouched for (name, code, category, level, jurisdiction) sends
a verified registration back for verification; contacts and address do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias, TypeGuard, assert_never

from shared.decider import Decider

from .commands import (
    AmendUnitRegistration,
    RegisterUnit,
    Registration,
    ReturnUnitRegistration,
    UnitCommand,
    UnitSnapshot,
    VerifyUnit,
)
from .errors import (
    CreditCodeRegistered,
    InvalidCreditCode,
    InvalidRegistration,
    NotTheUnitsCast,
    UnitAlreadyRegistered,
    UnitNotFound,
    UnitNotPending,
    refused,
)
from .events import (
    Category,
    Contact,
    Level,
    Office,
    UnitEvent,
    UnitRegistered,
    UnitRegistrationAmended,
    UnitRegistrationReturned,
    UnitStatus,
    UnitVerified,
)

# --- 统一社会信用代码 (GB 32100-2015) --------------------------------------------------------

CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31


def credit_code_check_char(first17: str) -> str:
    """The 18th character for the first 17: index (31 - Σ value·weight mod 31) mod 31."""
    total = sum(
        CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def normal_credit_code(code: str) -> str:
    """The code as registered: without surrounding spaces, in capitals."""
    return code.strip().upper()


def credit_code_problem(code: str) -> tuple[str, str | None] | None:
    """Why `code` is not a valid credit code, and the expected check character if that is it."""
    if len(code) != 18:
        return f"a unified social credit code has 18 characters, not {len(code)}", None
    wrong = sorted({c for c in code if c not in CREDIT_CODE_CHARS})
    if wrong:
        allowed = "digits and capital letters except I, O, S, V, Z"
        return f"characters not allowed in a credit code: {''.join(wrong)} ({allowed})", None
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        why = f"the check character (the 18th) should be {expected}, not {code[17]}"
        return why, expected
    return None


# --- the decider ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Details:
    unit_id: str
    name: str
    credit_code: str
    category: Category
    level: Level
    province: str
    jurisdiction: str
    contacts: tuple[Contact, ...]
    address: str

    def vouched(self) -> tuple[object, ...]:
        """What a verification vouches for."""
        return (self.name, self.credit_code, self.category, self.level, self.jurisdiction)


@dataclass(frozen=True, slots=True)
class NoUnit:
    pass


@dataclass(frozen=True, slots=True)
class Pending:
    unit: Details


@dataclass(frozen=True, slots=True)
class Verified:
    unit: Details
    opinion: str | None = None


@dataclass(frozen=True, slots=True)
class Returned:
    unit: Details
    reasons: tuple[str, ...]


State: TypeAlias = NoUnit | Pending | Verified | Returned


def initial_state() -> State:
    return NoUnit()


def office_for(level: Level) -> Office:
    """Notice §3: a prefecture-owned unit's CAST is its prefecture's; others the province's."""
    return Office.PREFECTURE if level is Level.PREFECTURE else Office.PROVINCE


def evolve(state: State, event: UnitEvent) -> State:
    match event:
        case UnitRegistered():
            return Pending(_details(event))
        case UnitRegistrationAmended(status=status):
            details = _details(event)
            match status:
                case UnitStatus.PENDING:
                    return Pending(details)
                case UnitStatus.VERIFIED:
                    opinion = state.opinion if isinstance(state, Verified) else None
                    return Verified(details, opinion)
                case UnitStatus.RETURNED:
                    reasons = state.reasons if isinstance(state, Returned) else ()
                    return Returned(details, reasons)
                case _:
                    assert_never(status)
        case UnitVerified(opinion=opinion):
            return Verified(state.unit, opinion) if _registered(state) else state
        case UnitRegistrationReturned(reasons=reasons):
            return Returned(state.unit, reasons) if _registered(state) else state
        case _:
            assert_never(event)


def decide(command: UnitCommand, state: State) -> list[UnitEvent]:
    match (command, state):
        case (RegisterUnit(), NoUnit()):
            if command.by_org != command.unit_id:
                raise refused(InvalidRegistration, command, state, "a unit registers only itself")
            d = _checked(command, state, command.unit_id, command.registration)
            _require_own_credit_code(command, state, d, command.credit_code_held_by)
            return [
                UnitRegistered(
                    d.unit_id,
                    d.name,
                    d.credit_code,
                    d.category,
                    d.level,
                    d.province,
                    d.jurisdiction,
                    d.contacts,
                    d.address,
                )
            ]
        case (RegisterUnit(), Pending() | Verified() | Returned()):
            # A retry carries its Idempotency-Key; a second registration is a mistake.
            why = f"{command.unit_id} is registered: amend it with PATCH /units/{command.unit_id}"
            raise refused(UnitAlreadyRegistered, command, state, why, unit_id=command.unit_id)
        case (_, NoUnit()):
            raise refused(UnitNotFound, command, state, f"no registered unit {command.unit_id}")

        case (AmendUnitRegistration(), Pending(unit=u) | Verified(unit=u) | Returned(unit=u)):
            return _amend(command, state, u)

        case (VerifyUnit(), Pending(unit=u)):
            _require_office(command, state, u)
            opinion = (command.opinion or "").strip() or None
            return [UnitVerified(u.unit_id, u.province, u.jurisdiction, u.level, command.office,
                                 opinion)]  # fmt: skip
        case (VerifyUnit(), Verified()):
            return []
        case (VerifyUnit(), Returned()):
            why = "the registration was returned: the unit amends it first"
            raise refused(UnitNotPending, command, state, why)

        case (ReturnUnitRegistration(), Pending(unit=u)):
            _require_office(command, state, u)
            reasons = tuple(r.strip() for r in command.reasons if r.strip())
            if not reasons:
                raise refused(InvalidRegistration, command, state, "a return gives its reasons")
            return [UnitRegistrationReturned(u.unit_id, command.office, reasons)]
        case (ReturnUnitRegistration(), Returned(reasons=reasons)) if (
            tuple(command.reasons) == reasons
        ):
            return []
        case (ReturnUnitRegistration(), Verified() | Returned()):
            why = "only a registration awaiting verification can be returned"
            raise refused(UnitNotPending, command, state, why)
        case _:  # every (command, state) pair is matched above
            raise refused(UnitNotPending, command, state, "not in this state")


def snapshot(state: State) -> UnitSnapshot | None:
    """The registration as an application command carries it; None if never registered."""
    match state:
        case NoUnit():
            return None
        case Pending(unit=u) | Verified(unit=u) | Returned(unit=u):
            status = {
                Pending: UnitStatus.PENDING,
                Verified: UnitStatus.VERIFIED,
                Returned: UnitStatus.RETURNED,
            }[type(state)]
            return UnitSnapshot(
                u.unit_id, u.name, u.credit_code, u.category, u.level, u.province,
                u.jurisdiction, status,
            )  # fmt: skip
        case _:
            assert_never(state)


def significant(code: str) -> str:
    """Trailing "00" pairs add nothing: 530000 is Yunnan (53), 530100 Kunming (5301)."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


_PHONE = re.compile(r"^[0-9+()\- ]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE = re.compile(r"^\d{2}(\d{2}){0,2}$")


def _checked(command: object, state: State, unit_id: str, r: Registration) -> Details:
    code = normal_credit_code(r.credit_code)
    problem = credit_code_problem(code)
    if problem is not None:
        why, expected = problem
        context = {"expected_check_character": expected} if expected else {}
        raise refused(InvalidCreditCode, command, state, why, credit_code=code, **context)
    problems = []
    if not r.name.strip():
        problems.append("name is empty")
    if not _CODE.match(r.jurisdiction):
        problems.append("jurisdiction must be a division code of 2, 4 or 6 digits")
    elif r.level is Level.PREFECTURE and len(significant(r.jurisdiction)) < 4:
        problems.append("a prefecture-owned unit's jurisdiction names its prefecture (e.g. 5301)")
    if not r.contacts:
        problems.append("at least one contact")
    for n, c in enumerate(r.contacts, start=1):
        if not c.name.strip():
            problems.append(f"contact {n}: name is empty")
        if not _PHONE.match(c.phone):
            problems.append(f"contact {n}: phone {c.phone!r} is not a phone number")
        if not _EMAIL.match(c.email):
            problems.append(f"contact {n}: email {c.email!r} is not an address")
    if not r.address.strip():
        problems.append("address is empty")
    if problems:
        raise refused(InvalidRegistration, command, state, "; ".join(problems), problems=problems)
    contacts = tuple(Contact(c.name.strip(), c.phone.strip(), c.email.strip()) for c in r.contacts)
    return Details(
        unit_id, r.name.strip(), code, r.category, r.level, r.jurisdiction[:2], r.jurisdiction,
        contacts, r.address.strip(),
    )  # fmt: skip


def _amend(command: AmendUnitRegistration, state: State, u: Details) -> list[UnitEvent]:
    c = command
    merged = Registration(
        name=u.name if c.name is None else c.name,
        credit_code=u.credit_code if c.credit_code is None else c.credit_code,
        category=u.category if c.category is None else c.category,
        level=u.level if c.level is None else c.level,
        jurisdiction=u.jurisdiction if c.jurisdiction is None else c.jurisdiction,
        contacts=u.contacts if c.contacts is None else c.contacts,
        address=u.address if c.address is None else c.address,
    )
    d = _checked(command, state, u.unit_id, merged)
    if d.credit_code != u.credit_code:
        _require_own_credit_code(command, state, d, command.credit_code_held_by)
    if d == u:
        return []
    if isinstance(state, Verified) and d.vouched() == u.vouched():
        status = UnitStatus.VERIFIED  # contacts and address: nothing the CAST vouched for
    else:
        status = UnitStatus.PENDING
    return [
        UnitRegistrationAmended(
            d.unit_id,
            d.name,
            d.credit_code,
            d.category,
            d.level,
            d.province,
            d.jurisdiction,
            d.contacts,
            d.address,
            status,
        )
    ]


def _require_own_credit_code(
    command: RegisterUnit | AmendUnitRegistration, state: State, d: Details, holder: str | None
) -> None:
    """One legal entity, one registration: a credit code names one unit."""
    if holder is not None and holder != d.unit_id:
        why = f"unit {holder} is registered under credit code {d.credit_code}"
        raise refused(
            CreditCodeRegistered, command, state, why, unit_id=holder, credit_code=d.credit_code
        )


def _require_office(command: VerifyUnit | ReturnUnitRegistration, state: State, u: Details) -> None:
    expected = office_for(u.level)
    if command.office is not expected:
        why = f"a {u.level} unit is verified by the {expected} CAST, not the {command.office}"
        raise refused(NotTheUnitsCast, command, state, why, office=str(expected))


def _registered(state: State) -> TypeGuard[Pending | Verified | Returned]:
    return isinstance(state, Pending | Verified | Returned)


def _details(e: UnitRegistered | UnitRegistrationAmended) -> Details:
    return Details(
        e.unit_id, e.name, e.credit_code, e.category, e.level, e.province, e.jurisdiction,
        e.contacts, e.address,
    )  # fmt: skip


decider = Decider(decide=decide, evolve=evolve, initial_state=initial_state)
