"""The load every fault scenario runs under: whole cases through all four services.

Each lane (a thread, as one province officer's desk would be) opens a call and plays its
units through application, submission, the review chain, the ranking, the leading group,
the approval and plaque — assessment registers the base, funding plans the subsidy — and
the first instalment's approval and payment. The lanes meet at a barrier before the clock
moves past the calls' deadline, so no lane's submission is overtaken by another's clock.

The people's web clients ride out a restart as real ones do: a call that found no service,
or a 502/503/504, is sent again with the same `Idempotency-Key` and correlation id
(`haizhi.client.ServiceClient.retry_for`). The `Journal` records how every command ended:
the oracle's list of what the system promised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from haizhi.client import Sent
from haizhi.flows import HaiZhi
from haizhi.journeys import (
    Case,
    apply,
    beijing,
    designate,
    pay_instalment,
    recommend,
    to_candidate,
    today,
)
from haizhi.people import CAST, Unit

#: A killed consumer's fetched, unacknowledged messages come back to its successor after the
#: durable consumer's ack wait: 30 s by default, 5 s here so that no case waits on it longer
#: than the driver's patience (30 s).
FAULT_ENV = {"HAIZHI_CONSUMER_ACK_WAIT": "5"}

#: How long a client keeps sending a command again while its service is away: far above a
#: restart on this machine, short enough to fail a test that never recovers.
RIDE_OUT = 120.0


@dataclass
class Journal:
    """Every command the load sent and how it ended, in the order they ended; a thread can
    wait until so many have been answered with a 2xx (`wait_answered`)."""

    sent: list[Sent] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, sent: Sent) -> None:
        with self._changed:
            self.sent.append(sent)
            self._changed.notify_all()

    def answered(self) -> list[Sent]:
        """The commands answered 2xx: what the system promised to have recorded."""
        with self._changed:
            return [s for s in self.sent if s.status is not None and 200 <= s.status < 300]

    def wait_answered(self, count: int, timeout: float = RIDE_OUT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.answered()) >= count, timeout):
                raise TimeoutError(f"fewer than {count} commands answered in {timeout:.0f}s")


def driver(urls: dict[str, str], operator_url: str, journal: Journal) -> HaiZhi:
    """A driver whose every client rides out a restart and writes to `journal`."""
    return HaiZhi.connect(urls, operator_url, retry_for=RIDE_OUT, journal=journal)


def units(tag: str, lane: int, count: int) -> list[Unit]:
    """`count` new units for one lane: provincial ones (direct to the province) and, every
    second one, a Kunming park (via the Kunming CAST)."""
    made = []
    for n in range(count):
        key = f"{tag}-{lane}-{n}"
        park = n % 2 == 1
        made.append(
            Unit.of(
                f"unit-f-{key}",
                f"昆明故障演练园区{key}" if park else f"云南省故障演练单位{key}",
                "park" if park else "provincial_unit",
                "5301" if park else "53",
                address=f"云南省昆明市五华区演练路{n}号",
                postcode="650106" if park else "650000",
                contact=(f"f-{key}", f"联系人{n}"),
                level="prefecture" if park else None,
            )
        )
    return made


@dataclass
class Load:
    """`lanes` × `per_lane` whole cases, tagged `tag` (unit ids are new in each scenario)."""

    hz: HaiZhi
    tag: str
    lanes: int = 2
    per_lane: int = 3
    cases: list[Case] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    def run(self, midway: Callable[[], None] | None = None) -> list[Case]:
        """Play every lane to its first paid instalment; `midway`, if given, runs on its own
        thread when the load is under way (the fault), and must end before this returns."""
        start = today(self.hz) + timedelta(days=1)
        deadline = start + timedelta(days=60)
        self.hz.clock.to(beijing(start.year, start.month, start.day))
        after = beijing(deadline.year, deadline.month, deadline.day) + timedelta(days=1)

        def move_clock() -> None:
            self.hz.clock.to(after)

        past_deadline = threading.Barrier(self.lanes, action=move_clock)
        threads = [
            threading.Thread(target=self._lane, args=(lane, deadline, past_deadline))
            for lane in range(self.lanes)
        ]
        fault = threading.Thread(target=self._guarded(midway)) if midway else None
        for thread in threads:
            thread.start()
        if fault is not None:
            fault.start()
        for thread in threads:
            thread.join()
        if fault is not None:
            fault.join()
        if self.failures:
            raise self.failures[0]
        return self.cases

    def _guarded(self, act: Callable[[], None]) -> Callable[[], None]:
        def guarded() -> None:
            try:
                act()
            except BaseException as failure:  # the test fails with it, after the lanes end
                self.failures.append(failure)

        return guarded

    def _lane(self, lane: int, deadline: date, past_deadline: threading.Barrier) -> None:
        def play() -> None:
            hz = self.hz
            call_id = hz.application.open_call(
                CAST.province_intake,
                province="53",
                year=deadline.year,
                title=f"故障演练 {self.tag} 第{lane}组",
                deadline_on=deadline,
            )
            cases = [apply(hz, unit, call_id) for unit in units(self.tag, lane, self.per_lane)]
            for case in cases:
                to_candidate(hz, case)
            recommend(hz, call_id, cases)
            past_deadline.wait(timeout=RIDE_OUT)
            for n, case in enumerate(cases):
                designate(
                    hz,
                    case,
                    meeting_ref=f"演练会议 {self.tag}-{lane}",
                    approval_no=f"演练〔{deadline.year}〕{self.tag}-{lane}-{n}号",
                )
                pay_instalment(hz, case, 1)
            self.cases.extend(cases)

        try:
            play()
        except BaseException as failure:
            past_deadline.abort()  # the other lanes fail at the barrier instead of hanging
            self.failures.append(failure)
