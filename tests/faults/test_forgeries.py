"""Messages put on `HAIZHI` behind the services' backs, while the system works.

The attacker holds the review service's NATS password (so NATS lets it publish on
`haizhi.review.>`), not its signing key: unsigned, re-sealed (changed and hashed again under
the old signature), signed with a key nobody trusts, signed with another service's real key,
and unreadable messages. Then what a broken or split-brained review service with its real
key could do: another event at a version already processed, an event at version 1,000,000
(a gap that never fills), a poison event the handlers refuse every time. And the issue's own
attack: a forged rejection at the next version of a live review, before the real event.

After each, the common oracle (`oracle.check`): nothing injected applied, every injected
message in the dead letters with its reason and reported by the stream audit as what it is,
everything else exactly as if it had not happened.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import nats
import pytest

from haizhi.flows import HaiZhi
from haizhi.journeys import Case, apply, beijing, designate, recommend, to_candidate, today
from haizhi.people import CAST
from shared.envelope import Envelope, new_id
from shared.nats_auth import inbox_prefix
from shared.signing import Signer
from shared.system import System

from .load import Journal, Load, units
from .oracle import Injected, check, read_store

pytestmark = pytest.mark.slow

#: Parked after three deliveries instead of 1,200, so the test need not wait minutes.
SYSTEM_ENV = {"HAIZHI_CONSUMER_MAX_GAP_DELIVERIES": "3"}
SERVICE = "review"


@pytest.fixture(scope="module")
def injected(system: System) -> Injected:
    """Everything this module's tests have injected into this system so far (the oracle is
    cumulative)."""
    return Injected()


@pytest.fixture(scope="module")
def played(system: System, hz: HaiZhi) -> list[Case]:
    """Designated bases to copy real events from."""
    return Load(hz, "forgeries", lanes=1, per_lane=2).run()


def stored(system: System, name: str) -> list[Envelope]:
    """The review service's stored events called `name`, in order."""
    return [e for e in read_store(system, SERVICE).events if e.name == name]


def publish(
    system: System, injected: Injected, subject: str, body: bytes, msg_id: str | None = None
) -> int:
    """Publish as the review service's NATS user would, noting the message's `HAIZHI`
    sequence among what was injected; that sequence."""
    assert system.nats is not None
    as_review = system.nats.url_as(SERVICE)
    msg_id = msg_id or new_id()

    async def send() -> int:
        client = await nats.connect(as_review, inbox_prefix=inbox_prefix(SERVICE))
        try:
            ack = await client.jetstream().publish(subject, body, headers={"Nats-Msg-Id": msg_id})
            return int(ack.seq)
        finally:
            await client.close()

    seq = asyncio.run(send())
    injected.sequences.add(seq)
    injected.ids.add(msg_id)
    return seq


def inject(system: System, injected: Injected, envelope: Envelope) -> int:
    """Publish `envelope` and note it (its id, its sequence) among what was injected."""
    return publish(system, injected, envelope.nats_subject, envelope.to_json(), envelope.id)


def another_base(real: Envelope) -> Envelope:
    """A `BaseDesignated` for a base that was never designated, sealed (a valid hash)."""
    base_id = new_id()
    data: dict[str, Any] = {**real.data, "base_id": base_id}
    return replace(
        real,
        id=new_id(),
        subject=f"base-{base_id}",
        caseid=f"case-{base_id}",
        data=data,
        streamversion=1,
        signature=None,
        sigkeyid=None,
    ).sealed()


def key_of(system: System, service: str) -> Signer:
    return Signer.load(service, system.data_dir / "keys" / f"{service}.key")


def refused_everywhere(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected, forged: Envelope
) -> None:
    """The forged base is nowhere: not in assessment, not in funding; the oracle holds."""
    check(system, hz, journal, injected)
    base_id = forged.data["base_id"]
    assert hz.assessment.find(f"/bases/{base_id}", CAST.auditor) is None
    assert hz.funding.plan(CAST.auditor, base_id) is None


@pytest.fixture
def real_designation(system: System, played: list[Case]) -> Envelope:
    return stored(system, "BaseDesignated")[0]


def test_an_unsigned_designation_is_refused_and_reported(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected, real_designation: Envelope
) -> None:
    forged = another_base(real_designation)
    seq = inject(system, injected, forged)
    injected.untrusted.add(seq)
    injected.unsigned.add(seq)
    injected.unapplied.add(forged.id)

    refused_everywhere(system, hz, journal, injected, forged)
    listed = hz.assessment.every("/audit/dead-letters", CAST.auditor, items="dead_letters")
    assert {(e["event"], e["sequence"]) for e in listed if e.get("sequence") == seq} == {
        ("(untrusted) BaseDesignated", seq)
    }


@pytest.mark.parametrize("how", ["resealed", "unknown key", "another service's key"])
def test_a_wrongly_signed_designation_is_refused_and_reported(
    system: System,
    hz: HaiZhi,
    journal: Journal,
    injected: Injected,
    real_designation: Envelope,
    how: str,
) -> None:
    forged = another_base(real_designation)
    if how == "resealed":  # the real signature, on changed and re-hashed content
        forged = replace(
            forged, signature=real_designation.signature, sigkeyid=real_designation.sigkeyid
        )
    elif how == "unknown key":
        forged = Signer.generate(SERVICE).sign(forged)
    else:
        forged = key_of(system, "application").sign(forged)
    seq = inject(system, injected, forged)
    injected.untrusted.add(seq)
    injected.unapplied.add(forged.id)

    refused_everywhere(system, hz, journal, injected, forged)


def test_an_unreadable_message_is_dead_lettered_and_reported(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected, played: list[Case]
) -> None:
    seq = publish(system, injected, "haizhi.review.case-garbage.Nothing", b"\xff not an envelope")
    injected.untrusted.add(seq)

    check(system, hz, journal, injected)


def test_another_event_at_a_processed_version_is_quarantined_and_reported(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected, real_designation: Envelope
) -> None:
    """The review service's own key, as a split brain would sign it: same stream and
    version as a designation every consumer has applied, another id and base."""
    twin = key_of(system, SERVICE).sign(
        replace(
            real_designation,
            id=new_id(),
            data={**real_designation.data, "base_id": new_id()},
            signature=None,
            sigkeyid=None,
        ).sealed()
    )
    inject(system, injected, twin)
    injected.conflicts.add(twin.id)

    refused_everywhere(system, hz, journal, injected, twin)


def test_a_gap_that_never_fills_is_parked_and_the_rest_flows(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected, real_designation: Envelope
) -> None:
    far = key_of(system, SERVICE).sign(
        replace(
            real_designation,
            id=new_id(),
            streamversion=1_000_000,
            signature=None,
            sigkeyid=None,
        ).sealed()
    )
    inject(system, injected, far)
    injected.unapplied.add(far.id)

    cases = Load(hz, "after-gap", lanes=1, per_lane=2).run()  # the bus still flows

    assert all(case.base_id for case in cases)
    check(system, hz, journal, injected)


def test_a_poison_event_is_dead_lettered_and_the_rest_flows(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected, real_designation: Envelope
) -> None:
    poison = another_base(real_designation)
    poison = key_of(system, SERVICE).sign(replace(poison, data={}, signature=None).sealed())
    inject(system, injected, poison)
    injected.unapplied.add(poison.id)

    cases = Load(hz, "after-poison", lanes=1, per_lane=2).run()

    assert all(case.base_id for case in cases)
    check(system, hz, journal, injected)


def test_a_forged_rejection_ahead_of_the_real_event_is_refused_and_the_real_one_applied(
    system: System, hz: HaiZhi, journal: Journal, injected: Injected, played: list[Case]
) -> None:
    """The issue's attack: a re-sealed `ApplicationRejected` at the next version of a live
    review; the review's real next event, arriving later at that version, is applied."""
    [unit] = units("forged-rejection", 0, 1)
    deadline = today(hz) + timedelta(days=1)
    call_id = hz.application.open_call(
        CAST.province_intake,
        province="53",
        year=deadline.year,
        title="伪造驳回演练",
        deadline_on=deadline,
    )
    case = apply(hz, unit, call_id)
    to_candidate(hz, case)
    recommend(hz, call_id, [case])
    hz.settle()
    hz.clock.to(beijing(deadline.year, deadline.month, deadline.day) + timedelta(days=1))
    of_review = [
        e for e in read_store(system, SERVICE).events if e.data.get("review_id") == case.review_id
    ]
    last = of_review[-1]
    rejected = replace(
        last,
        id=new_id(),
        type=last.type.replace(last.name, "ApplicationRejected"),
        streamversion=last.streamversion + 1,
        data={"review_id": case.review_id, "reasons": ["伪造"]},
        prevhash=last.hash,
    ).sealed()
    seq = inject(
        system, injected, replace(rejected, signature=last.signature, sigkeyid=last.sigkeyid)
    )
    injected.untrusted.add(seq)
    injected.unapplied.add(rejected.id)

    designate(hz, case, meeting_ref="伪造驳回演练会议", approval_no="演练〔伪造〕1号")

    assert case.base_id
    check(system, hz, journal, injected)
