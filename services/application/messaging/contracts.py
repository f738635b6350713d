"""What the application service publishes: its event registry and one example of each event."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.codec import EventRegistry

from ..domain.events import EVENTS, MATERIAL_SLOTS, CallClosed, CallOpened

SERVICE = "application"

registry = EventRegistry(SERVICE, EVENTS)

_DEADLINE = datetime(2022, 4, 30, 16, 0, tzinfo=UTC)  # 2022-05-01 00:00 in Beijing

EXAMPLES: list[object] = [
    CallOpened(
        call_id="01HZCALL0000000000000000YN",
        province="53",
        year=2022,
        title="2022年中国科协海智计划工作基地申报",
        deadline=_DEADLINE,
        required_slots=MATERIAL_SLOTS,
        allows_workstation=True,
        paper_copies=5,
    ),
    CallClosed("01HZCALL0000000000000000YN", "53", _DEADLINE, _DEADLINE),
]
