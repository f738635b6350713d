"""The assessment service running for real (NATS, database, shared clock), and the people and
facts its API tests need: review's and application's facts on the bus, a Kunming base's unit,
its CASTs.

Instants are Beijing wall-clock times; `move_clock` returns once the scheduler has caught up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import select

from shared.api import MAX_PAGE_SIZE
from shared.clock import set_clock
from shared.envelope import Envelope
from shared.schema import inbox
from shared.testkit.bus import foreign_event, publish
from shared.testkit.pages import every_page
from shared.testkit.service import RunningService, eventually

from ..usecases import AssessmentUseCases
from .examples import cst

KUNMING, KUNMING_UNIT = "5301", "unit-kunming-park"
HASH = "ab" * 32

REPORT: dict[str, Any] = {
    "summary": {
        "talent_introduced": "Three overseas experts joined the park's labs.",
        "projects_landed": "Two battery-recycling projects landed.",
        "academic_exchanges": "One forum with an overseas chemists' society.",
        "technical_innovation": "A pilot line for sodium-ion cells.",
        "difficulties": "Visa delays for visiting experts.",
    },
    "next_year_plan": "Introduce five experts and land three projects.",
    "resource_library": {
        "overseas_societies": 12,
        "haizhi_projects": 7,
        "overseas_talents": 40,
        "last_updated_on": "2022-11-20",
    },
    "attachments": [
        {"name": "summary.pdf", "media_type": "application/pdf", "size": 2048, "sha256": HASH}
    ],
}


def scores(value: int) -> dict[str, int]:
    criteria = (
        "annual_plan",
        "local_activities",
        "resource_library",
        "project_follow_up",
        "overseas_channels",
    )
    return dict.fromkeys(criteria, value)


@dataclass
class World:
    svc: RunningService
    js: JetStreamContext
    _review_streams: int = 0

    @property
    def client(self) -> httpx.AsyncClient:
        return self.svc.client

    @property
    def usecases(self) -> AssessmentUseCases:
        usecases: AssessmentUseCases = self.svc.app.state.usecases
        return usecases

    # --- who acts ----------------------------------------------------------------------------

    def unit(self, org: str = KUNMING_UNIT) -> dict[str, str]:
        return self.svc.auth("applicant", user=f"staff-of-{org}", org=org)

    def local_cast(self, jurisdiction: str = KUNMING) -> dict[str, str]:
        role = "prefecture_reviewer" if len(jurisdiction) > 2 else "province_reviewer"
        return self.svc.auth(role, user=f"cast-{jurisdiction}", jurisdictions=[jurisdiction])

    def department(self) -> dict[str, str]:
        return self.svc.auth("national_reviewer", user="liaison-dept", jurisdictions=["CN"])

    def leading_group(self) -> dict[str, str]:
        return self.svc.auth("leading_group", user="leading-group", jurisdictions=["CN"])

    def auditor(self, *jurisdictions: str) -> dict[str, str]:
        """A nationwide auditor, unless given the jurisdictions they audit."""
        return self.svc.auth("auditor", user="auditor", jurisdictions=jurisdictions or ("CN",))

    # --- time --------------------------------------------------------------------------------

    async def move_clock(self, instant: datetime) -> None:
        """Set the shared clock; return when the service's scheduler has ticked at it."""
        await set_clock(self.js, instant)

        async def caught_up() -> bool:
            return self.usecases.ticked_to == instant

        await eventually(caught_up)

    async def on(self, year: int, month: int, day: int, hour: int = 10) -> None:
        await self.move_clock(cst(year, month, day, hour))

    # --- review's facts on the bus -----------------------------------------------------------

    async def from_review(self, name: str, data: dict[str, Any], *, case_id: str) -> Envelope:
        """One event of review, on a stream of its own (version 1)."""
        return await self._foreign("review", name, data, case_id)

    async def from_application(self, name: str, data: dict[str, Any], *, case_id: str) -> Envelope:
        """One event of application, on a stream of its own (version 1)."""
        return await self._foreign("application", name, data, case_id)

    async def _foreign(
        self, service: str, name: str, data: dict[str, Any], case_id: str
    ) -> Envelope:
        """Stamped with the shared clock's instant, as the producer's own clock would."""
        self._review_streams += 1
        stream = f"{service}-{case_id}-{self._review_streams}"
        event = foreign_event(
            service,
            name,
            data,
            stream_id=stream,
            version=1,
            case_id=case_id,
            time=self.svc.kernel.clock.now(),
        )
        await publish(self.js, event)
        return event

    async def designate(
        self,
        base_id: str,
        *,
        unit: str = KUNMING_UNIT,
        jurisdiction: str = KUNMING,
        term_start: str = "2022-06-15",
        term_end: str = "2027-06-14",
        programme: str = "national_base",
        unit_name: str | None = None,
    ) -> None:
        data = {
            "review_id": f"review-{base_id}",
            "application_id": f"application-{base_id}",
            "case_id": f"case-{base_id}",
            "base_id": base_id,
            "programme": programme,
            "unit_id": unit,
            "unit_name": unit_name or f"Unit {unit}",
            "province": jurisdiction[:2],
            "jurisdiction": jurisdiction,
            "approval_no": "科协函〔2022〕1号",
            "certificate_no": f"HZ-{base_id}",
            "plaque_name": "中国科协海智计划工作基地",
            "approved_on": term_start,
            "term_start": term_start,
            "term_end": term_end,
            "policy_version": "2022.1",
        }
        event = await self.from_review("BaseDesignated", data, case_id=f"case-{base_id}")
        await self.processed(event)

    async def processed(self, event: Envelope) -> str:
        """Wait until the consumer has recorded `event`; its outcome."""

        async def outcome() -> str | None:
            async with self.svc.kernel.db.read_engine.connect() as conn:
                query = select(inbox.c.outcome).where(inbox.c.event_id == event.id)
                value: str | None = (await conn.execute(query)).scalar()
                return value

        return await eventually(outcome)

    async def on_the_bus(self, case_id: str, name: str, **expected: Any) -> dict[str, Any]:
        """The data of the last `name` published for `case_id` on HAIZHI, once it has the
        `expected` field values (waits for it)."""

        async def published() -> dict[str, Any] | None:
            subject = f"haizhi.assessment.{case_id}.{name}"
            try:
                message = await self.js.get_last_msg("HAIZHI", subject)
            except (NotFoundError, NatsError):
                return None
            data: dict[str, Any] = Envelope.from_json(message.data or b"").data
            return data if expected.items() <= data.items() else None

        return await eventually(published)

    # --- reads -------------------------------------------------------------------------------

    async def base(self, base_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/bases/{base_id}", headers=self.auditor())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def year(self, base_id: str, year: int) -> dict[str, Any]:
        years = {row["year"]: row for row in await self.years(base_id)}
        row: dict[str, Any] = years[year]
        return row

    async def years(self, base_id: str) -> list[dict[str, Any]]:
        path = f"/bases/{base_id}/years"
        pages = await every_page(self.client, path, self.auditor(), limit=MAX_PAGE_SIZE)
        return [row for page in pages for row in page]

    async def event_names(self) -> list[str]:
        return [e.name for e in await self.svc.kernel.store.read_all()]

    # --- the yearly cycle --------------------------------------------------------------------

    async def file_report(self, base_id: str, year: int, *, forward: bool = True) -> None:
        """The unit files its report and (unless told not to) its local CAST forwards it."""
        filed = await self.client.post(
            f"/bases/{base_id}/years/{year}/report", json=REPORT, headers=self.unit()
        )
        assert filed.status_code == 200, filed.text
        if forward:
            forwarded = await self.client.post(
                f"/bases/{base_id}/years/{year}/forwarding", headers=self.local_cast()
            )
            assert forwarded.status_code == 200, forwarded.text

    async def score(self, base_id: str, year: int, value: int) -> None:
        scored = await self.client.post(
            f"/bases/{base_id}/years/{year}/score", json=scores(value), headers=self.department()
        )
        assert scored.status_code == 200, scored.text

    async def grade_year(self, year: int, meeting_date: str) -> dict[str, Any]:
        """Propose the year's list of every base due and have the leading group approve it."""
        proposed = await self.client.post(
            f"/grade-lists/{year}/proposal", json={}, headers=self.department()
        )
        assert proposed.status_code == 200, proposed.text
        approval = {"meeting_ref": f"LG-{year}", "meeting_date": meeting_date}
        approved = await self.client.post(
            f"/grade-lists/{year}/approval", json=approval, headers=self.leading_group()
        )
        assert approved.status_code == 200, approved.text
        body: dict[str, Any] = approved.json()
        return body
