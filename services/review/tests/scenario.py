"""What the review API tests share: the service under test, the application service's events
as it would publish them, and the reviewers of each level with their tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from shared.envelope import Envelope, new_id
from shared.schema import inbox
from shared.testkit.bus import foreign_event, publish
from shared.testkit.service import RunningService, eventually

from ..usecases.streams import review_id_for

NOW = datetime(2022, 8, 25, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
FORM_HASH = "f0" * 32
FILES = [
    {
        "slot": slot,
        "name": f"{slot}.pdf",
        "media_type": "application/pdf",
        "size": 1024,
        "sha256": h,
    }
    for slot, h in [
        ("support_letter", "a1" * 32),
        ("construction_plan", "b2" * 32),
        ("overseas_cooperation", "c3" * 32),
        ("local_policies", "d4" * 32),
    ]
]


@dataclass(frozen=True)
class Reviewer:
    role: str
    user: str
    org: str
    jurisdiction: str

    def headers(self, svc: RunningService) -> dict[str, str]:
        return svc.auth(self.role, user=self.user, org=self.org, jurisdictions=[self.jurisdiction])


KUNMING = Reviewer("prefecture_reviewer", "li", "cast-km", "5301")
QUJING = Reviewer("prefecture_reviewer", "he", "cast-qj", "5303")
YUNNAN = Reviewer("province_reviewer", "mao", "cast-yn", "53")
YUNNAN_RANKER = Reviewer("province_reviewer", "zhou", "cast-yn", "53")
GUIZHOU = Reviewer("province_reviewer", "yang", "cast-gz", "52")
NATION = Reviewer("national_reviewer", "qian", "cast-ild", "CN")
GROUP = Reviewer("leading_group", "chen", "haizhi-lg", "CN")
OFFICE = Reviewer("general_office", "gao", "cast-go", "CN")
AUDITOR = Reviewer("auditor", "shen", "audit", "CN")


@dataclass
class Application:
    """One application as the application service publishes it, version by version."""

    route: str = "via_prefecture"
    jurisdiction: str = "530102"
    unit_id: str = "unit-kmust"
    unit_name: str = "昆明理工大学"
    call_id: str = "01HZCALL0000000000000000YN"
    programme: str = "national_base"
    province: str = "53"
    call_opened_on: str | None = "2022-04-01"
    application_id: str = ""
    case_id: str = ""
    version: int = 0
    revision: int = 0

    def __post_init__(self) -> None:
        self.application_id = self.application_id or new_id()
        self.case_id = self.case_id or new_id()

    @property
    def review_id(self) -> str:
        return review_id_for(self.application_id)

    def submission(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "case_id": self.case_id,
            "call_id": self.call_id,
            "call_opened_on": self.call_opened_on,
            "programme": self.programme,
            "unit_id": self.unit_id,
            "unit_name": self.unit_name,
            "credit_code": "12530000431200177H",
            "category": "university",
            "level": "prefecture" if self.route == "via_prefecture" else "provincial",
            "province": self.province,
            "jurisdiction": self.jurisdiction,
            "route": self.route,
            "revision": self.revision,
            "form_hash": FORM_HASH,
            "files": FILES,
            "linked_case_id": None,
            "form": [],
            "submitted_at": "2022-04-20T02:00:00.000000Z",
        }

    def next_event(self, name: str, data: dict[str, Any]) -> Envelope:
        self.version += 1
        return foreign_event(
            "application",
            name,
            data,
            stream_id=f"application-{self.application_id}",
            version=self.version,
            case_id=self.case_id,
        )

    async def submit(self, svc: RunningService) -> Envelope:
        self.revision += 1
        name = "ApplicationSubmitted" if self.revision == 1 else "ApplicationResubmitted"
        event = self.next_event(name, self.submission())
        await publish(svc.bus, event)
        return event

    async def withdraw(self, svc: RunningService) -> Envelope:
        data = {
            "application_id": self.application_id,
            "case_id": self.case_id,
            "reason": "the unit withdrew",
            "revision": self.revision,
        }
        event = self.next_event("ApplicationWithdrawn", data)
        await publish(svc.bus, event)
        return event


async def review_of(svc: RunningService, app: Application, **expected: Any) -> dict[str, Any]:
    """The review's summary, once it shows everything `expected` (it arrives through the bus)."""

    async def shows() -> dict[str, Any] | None:
        read = await svc.client.get(f"/reviews/{app.review_id}", headers=AUDITOR.headers(svc))
        if read.status_code != 200:
            return None
        body: dict[str, Any] = read.json()
        return body if all(body.get(k) == v for k, v in expected.items()) else None

    return await eventually(shows)


async def consumed(svc: RunningService, count: int) -> None:
    """Wait until the consumers have recorded `count` upstream events, none dead-lettered."""

    async def recorded() -> bool:
        async with svc.kernel.db.read_engine.connect() as conn:
            done = (await conn.execute(select(func.count()).select_from(inbox))).scalar()
        return done == count

    await eventually(recorded)
    async with svc.kernel.db.read_engine.connect() as conn:
        outcomes = (await conn.execute(select(inbox.c.outcome))).scalars().all()
    assert set(outcomes) == {"applied"}, outcomes


async def post(
    svc: RunningService, path: str, who: Reviewer, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await svc.client.post(path, json=body or {}, headers=who.headers(svc))


async def act(
    svc: RunningService, path: str, who: Reviewer, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A reviewer's command that must succeed."""
    done = await post(svc, path, who, body)
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


async def declare(svc: RunningService, app: Application, *reviewers: Reviewer) -> None:
    for who in reviewers:
        await act(svc, f"/reviews/{app.review_id}/declarations", who)


async def published(svc: RunningService, case_id: str, name: str, **expected: Any) -> Envelope:
    """The last `name` event of the case in the HAIZHI stream, once the outbox relay sent it
    (and it carries the `expected` data)."""
    js = svc.bus

    async def found() -> Envelope | None:
        try:
            message = await js.get_last_msg("HAIZHI", f"haizhi.review.{case_id}.{name}")
        except Exception:
            return None
        event = Envelope.from_json(message.data or b"")
        return event if all(event.data.get(k) == v for k, v in expected.items()) else None

    return await eventually(found)


async def through_province(svc: RunningService, app: Application) -> None:
    """From wherever the route starts to a candidate of the call's ranking."""
    await review_of(svc, app)
    if app.route == "via_prefecture":
        await declare(svc, app, KUNMING)
        await act(svc, f"/reviews/{app.review_id}/forward", KUNMING, {"level": "prefecture"})
    await declare(svc, app, YUNNAN)
    await act(svc, f"/reviews/{app.review_id}/accept", YUNNAN, {"opinion": "材料齐全"})


async def from_national_to_plaque(svc: RunningService, app: Application) -> dict[str, Any]:
    """National preliminary review, the leading group, the approval and the plaque."""
    review = f"/reviews/{app.review_id}"
    await declare(svc, app, NATION, GROUP, OFFICE)
    await act(svc, f"{review}/forward", NATION, {"level": "national", "opinion": "初审通过"})
    dossier = (await svc.client.get(f"{review}/dossier", headers=GROUP.headers(svc))).json()
    await act(
        svc,
        f"{review}/leading-group-decision",
        GROUP,
        {
            "meeting_ref": "海智领导小组2022年第3次会议",
            "meeting_date": "2022-08-20",
            "members_present": ["chen", "sun", "zhao"],
            "outcome": "approve",
            "form_hash": dossier["form_hash"],
            "file_hashes": [f["sha256"] for f in dossier["files"]],
        },
    )
    return await act(svc, f"{review}/approval", OFFICE, {"approval_no": "科协办函〔2022〕15号"})
