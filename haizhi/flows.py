"""A typed driver of the whole life over HTTP: one class per service, one method per act.

Each method is one person's act (an applicant's, a reviewer's, the leading group's, the
general office's, finance's) or one question to a read model; a refused act raises
`CallFailed` with the service's problem detail. Effects that cross the bus are awaited with
the `wait_*` methods, which poll the read side within a bound. `HaiZhi` gathers the four
services, the shared development clock and the auditor's endpoints of a running system.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats

from shared.clock import advance_clock, read_clock, set_clock
from shared.nats_auth import nats_servers
from shared.settings import DEVELOPMENT_JWT_SECRET

from .client import DEFAULT_WAIT, CallFailed, Person, Sent, ServiceClient, eventually
from .settle import DEFAULT_TIMEOUT, wait_settled

Row = dict[str, Any]
Check = Callable[[Row], bool]

__all__ = [
    "DEFAULT_WAIT",
    "Applications",
    "Assessment",
    "Audit",
    "CallFailed",
    "Designation",
    "Draft",
    "Funding",
    "HaiZhi",
    "Person",
    "Reviews",
    "SharedClock",
    "instalment",
    "stages",
]


@dataclass(frozen=True)
class Draft:
    application_id: str
    case_id: str


@dataclass(frozen=True)
class Designation:
    base_id: str
    certificate_no: str


def _matches(row: Row | None, check: Check) -> Row | None:
    return row if row is not None and check(row) else None


class Applications(ServiceClient):
    """The application service: calls, the Annex 2 form, attachments, renewal requests."""

    def open_call(
        self,
        officer: Person,
        *,
        province: str,
        year: int,
        title: str,
        deadline_on: date,
        paper_copies: int = 5,
        details: Mapping[str, Any] | None = None,
    ) -> str:
        """A call; `details` adds further fields of the body as they are (contacts, the
        submission address, required slots, `allows_workstation`)."""
        body = {
            "province": province,
            "year": year,
            "title": title,
            "deadline_on": deadline_on.isoformat(),
            "paper_copies": paper_copies,
            **(details or {}),
        }
        return str(self.post("/calls", officer, body)["call_id"])

    def register_unit(self, unit: Person, registration: Mapping[str, Any]) -> Row:
        """The unit (the token's `org`) registers: name, credit code, category, level,
        jurisdiction, contacts, address. Pending until its CAST verifies it."""
        return dict(self.post("/units", unit, dict(registration)))

    def verify_unit(self, cast: Person, unit_id: str) -> Row:
        """The unit's CAST (its prefecture's, or the province's for provincial-level and
        central units) verifies the registration: applications take their facts from it."""
        return dict(self.post(f"/units/{unit_id}/verify", cast))

    def unit(self, person: Person, unit_id: str) -> Row | None:
        found = self.find(f"/units/{unit_id}", person)
        return dict(found) if found is not None else None

    def draft_application(
        self,
        unit: Person,
        call_id: str,
        *,
        form: Mapping[str, Any] | None = None,
        also_workstation: bool = False,
    ) -> Draft:
        """Draft under `call_id` as the token's unit: its category, jurisdiction and route
        come from the unit's verified registration, never from this body."""
        body: Row = {"call_id": call_id}
        if form is not None:
            body["form"] = dict(form)
        if also_workstation:
            body["also_workstation"] = True
        answer = self.post("/applications", unit, body)
        return Draft(answer["application_id"], answer["case_id"])

    def fill_form(self, unit: Person, application_id: str, fields: Mapping[str, Any]) -> int:
        """Save the given Annex 2 fields (only those); returns the new version."""
        answer = self.call("PATCH", f"/applications/{application_id}", unit, json=dict(fields))
        return int(answer["version"])

    def upload_materials(
        self, unit: Person, application_id: str, files: Mapping[str, tuple[str, bytes]]
    ) -> list[str]:
        """Upload one file per slot (`slot -> (file name, bytes)`); returns their sha256."""
        hashes = []
        for slot, (name, content) in files.items():
            answer = self.call(
                "POST",
                f"/applications/{application_id}/attachments",
                unit,
                data={"slot": slot},
                files={"file": (name, content)},
            )
            hashes.append(str(answer["sha256"]))
        return hashes

    def submit(self, unit: Person, application_id: str) -> int:
        """Submit, or resubmit after a return; returns the revision."""
        return int(self.post(f"/applications/{application_id}/submit", unit)["revision"])

    def record_receipt(
        self, office: Person, application_id: str, *, received_on: date, paper_copies: int
    ) -> None:
        body = {
            "received_on": received_on.isoformat(),
            "recipient": office.name,
            "paper_copies": paper_copies,
        }
        self.post(f"/applications/{application_id}/receipt", office, body)

    def application(self, person: Person, application_id: str) -> Row:
        return dict(self.get(f"/applications/{application_id}", person))

    def wait_application(self, person: Person, application_id: str, check: Check, what: str) -> Row:
        def probe() -> Row | None:
            return _matches(self.find(f"/applications/{application_id}", person), check)

        return eventually(probe, f"application {application_id}: {what}")

    def base(self, person: Person, base_id: str) -> Row:
        return dict(self.get(f"/bases/{base_id}", person))

    def wait_base(self, person: Person, base_id: str, check: Check, what: str) -> Row:
        def probe() -> Row | None:
            return _matches(self.find(f"/bases/{base_id}", person), check)

        return eventually(probe, f"application's base {base_id}: {what}")

    def request_renewal(self, unit: Person, base_id: str, statement: str) -> str:
        body = {"statement": statement}
        return str(self.post(f"/bases/{base_id}/renewal-requests", unit, body)["renewal_id"])

    def withdraw_renewal(self, unit: Person, base_id: str, renewal_id: str, reason: str) -> None:
        path = f"/bases/{base_id}/renewal-requests/{renewal_id}/withdraw"
        self.post(path, unit, {"reason": reason})


class Reviews(ServiceClient):
    """The review service: each level's decisions, the ranking, the approval, renewals."""

    def waiting_review(self, reviewer: Person, case_id: str, level: str) -> Row:
        """The case's review once it waits in `reviewer`'s queue at `level`."""

        def probe() -> Row | None:
            params: dict[str, str | int] = {"limit": 100}
            while True:  # the reviews list of the queue, page by page
                queue = self.get("/queue", reviewer, **params)
                match = (r for r in queue["reviews"] if r["case_id"] == case_id)
                found = next((r for r in match if r["level"] == level), None)
                following = queue["next_cursors"]["reviews"]
                if found is not None or following is None:
                    return found
                params["reviews_cursor"] = following

        return eventually(probe, f"case {case_id} waiting at {level} for {reviewer.name}")

    def review(self, person: Person, review_id: str) -> Row:
        return dict(self.get(f"/reviews/{review_id}", person))

    def declare(self, reviewer: Person, review_id: str) -> None:
        """No conflict of interest with this application: before reading or deciding."""
        self.post(f"/reviews/{review_id}/declarations", reviewer, {"conflict": False})

    def _decide(self, reviewer: Person, review_id: str, act: str, body: Row) -> Row:
        self.declare(reviewer, review_id)
        return dict(self.post(f"/reviews/{review_id}/{act}", reviewer, body))

    def prefecture_forward(self, reviewer: Person, review_id: str, opinion: str) -> None:
        self._decide(reviewer, review_id, "forward", {"level": "prefecture", "opinion": opinion})

    def province_accept(self, reviewer: Person, review_id: str, opinion: str) -> None:
        self._decide(reviewer, review_id, "accept", {"opinion": opinion})

    def return_for_revision(
        self, reviewer: Person, review_id: str, level: str, reasons: Sequence[str]
    ) -> None:
        self._decide(reviewer, review_id, "return", {"level": level, "reasons": list(reasons)})

    def reject(self, reviewer: Person, review_id: str, level: str, reasons: Sequence[str]) -> None:
        self._decide(reviewer, review_id, "reject", {"level": level, "reasons": list(reasons)})

    def rank(
        self,
        reviewer: Person,
        call_id: str,
        ranked: Sequence[str],
        not_recommended: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """择优推荐: once every named application is a candidate, submit the ranked list."""
        others = dict(not_recommended or {})
        named = {*ranked, *others}

        def probe() -> Row | None:
            path = f"/calls/{call_id}/ranking"
            if self.find(path, reviewer, limit=1) is None:
                return None
            pages = list(self.pages(path, reviewer))
            ids = {c["application_id"] for page in pages for c in page["candidates"]}
            return dict(pages[0]) if named <= ids else None

        eventually(probe, f"candidates {sorted(named)} in the ranking of call {call_id}")
        self.post(f"/calls/{call_id}/ranking/declarations", reviewer, {"conflict": False})
        body = {
            "ranked": list(ranked),
            "not_recommended": [
                {"application_id": app, "reasons": list(why)} for app, why in others.items()
            ],
        }
        self.post(f"/calls/{call_id}/ranking", reviewer, body)

    def national_forward(self, reviewer: Person, review_id: str, opinion: str) -> None:
        self._decide(reviewer, review_id, "forward", {"level": "national", "opinion": opinion})

    def leading_group_approve(
        self,
        member: Person,
        review_id: str,
        *,
        meeting_ref: str,
        meeting_date: date,
        members_present: Sequence[str],
    ) -> None:
        """The leading group approves the designation, on the dossier it read."""
        self.declare(member, review_id)
        dossier = self.get(f"/reviews/{review_id}/dossier", member)
        body = {
            "meeting_ref": meeting_ref,
            "meeting_date": meeting_date.isoformat(),
            "members_present": list(members_present),
            "outcome": "approve",
            "form_hash": dossier["form_hash"],
            "file_hashes": [f["sha256"] for f in dossier["files"]],
        }
        self.post(f"/reviews/{review_id}/leading-group-decision", member, body)

    def issue_approval(self, office: Person, review_id: str, approval_no: str) -> Designation:
        """批复 and the plaque: the base is designated."""
        answer = self._decide(office, review_id, "approval", {"approval_no": approval_no})
        return Designation(answer["base_id"], answer["certificate_no"])

    def wait_renewal(self, reviewer: Person, renewal_id: str, check: Check, what: str) -> Row:
        def probe() -> Row | None:
            return _matches(self.find(f"/renewals/{renewal_id}", reviewer), check)

        return eventually(probe, f"renewal {renewal_id}: {what}")

    def _renewal_act(self, reviewer: Person, renewal_id: str, act: str, body: Row) -> Row:
        self.post(f"/renewals/{renewal_id}/declarations", reviewer, {"conflict": False})
        return dict(self.post(f"/renewals/{renewal_id}/{act}", reviewer, body))

    def forward_renewal(self, reviewer: Person, renewal_id: str, opinion: str) -> None:
        self._renewal_act(reviewer, renewal_id, "forward", {"opinion": opinion})

    def request_renewal_assessment(self, reviewer: Person, renewal_id: str) -> None:
        self._renewal_act(reviewer, renewal_id, "assessment-request", {})

    def grant_renewal(self, office: Person, renewal_id: str) -> str:
        """The plaque again for a new term; returns the new certificate number."""
        return str(self._renewal_act(office, renewal_id, "grant", {})["certificate_no"])

    def check_certificate(self, certificate_no: str) -> Row:
        """The public certificate check: no sign-in."""
        return dict(self.get(f"/certificates/{certificate_no}", None))


class Assessment(ServiceClient):
    """The assessment service: bases, annual reports, scores, grade lists, rectification."""

    def base(self, person: Person, base_id: str) -> Row:
        return dict(self.get(f"/bases/{base_id}", person))

    def wait_base(self, person: Person, base_id: str, check: Check, what: str) -> Row:
        def probe() -> Row | None:
            return _matches(self.find(f"/bases/{base_id}", person), check)

        return eventually(probe, f"base {base_id}: {what}")

    def bases(self, person: Person, status: str | None = None) -> list[Row]:
        return self.every("/bases", person, **({"status": status} if status else {}))

    def year(self, person: Person, base_id: str, year: int) -> Row | None:
        rows = self.every(f"/bases/{base_id}/years", person)
        return next((dict(r) for r in rows if r["year"] == year), None)

    def wait_year(self, person: Person, base_id: str, year: int, check: Check, what: str) -> Row:
        def probe() -> Row | None:
            return _matches(self.year(person, base_id, year), check)

        return eventually(probe, f"base {base_id}, {year}: {what}")

    def file_annual_report(self, unit: Person, base_id: str, year: int, report: Row) -> None:
        self.post(f"/bases/{base_id}/years/{year}/report", unit, report)

    def forward_report(self, local_cast: Person, base_id: str, year: int) -> None:
        self.post(f"/bases/{base_id}/years/{year}/forwarding", local_cast)

    def score(self, department: Person, base_id: str, year: int, scores: Mapping[str, int]) -> None:
        self.post(f"/bases/{base_id}/years/{year}/score", department, dict(scores))

    def wait_renewal_assessment(
        self, department: Person, base_id: str, renewal_id: str, check: Check, what: str
    ) -> Row:
        def probe() -> Row | None:
            found = self.find(f"/bases/{base_id}/renewal-assessments/{renewal_id}", department)
            return _matches(found, check)

        return eventually(probe, f"renewal assessment {renewal_id}: {what}")

    def assess_renewal(
        self,
        department: Person,
        base_id: str,
        renewal_id: str,
        *,
        qualified: bool,
        reasons: Sequence[str],
    ) -> Row:
        """Art. 14: the national department's renewal assessment, the term's grades as evidence."""
        body = {"qualified": qualified, "reasons": list(reasons)}
        return dict(
            self.post(f"/bases/{base_id}/renewal-assessments/{renewal_id}", department, body)
        )

    def propose_grades(self, department: Person, year: int) -> list[str]:
        """The year's list: every base due an assessment; returns the bases on it."""
        return list(self.post(f"/grade-lists/{year}/proposal", department)["base_ids"])

    def approve_grades(
        self, member: Person, year: int, *, meeting_ref: str, meeting_date: date
    ) -> dict[str, str]:
        """The leading group approves the list; returns each base's final grade."""
        body = {"meeting_ref": meeting_ref, "meeting_date": meeting_date.isoformat()}
        return dict(self.post(f"/grade-lists/{year}/approval", member, body)["finalised"])

    def file_rectification(
        self, unit: Person, base_id: str, rectification_id: str, summary: str
    ) -> None:
        path = f"/bases/{base_id}/rectifications/{rectification_id}/report"
        self.post(path, unit, {"summary": summary})

    def accept_rectification(self, department: Person, base_id: str, rectification_id: str) -> None:
        self.post(f"/bases/{base_id}/rectifications/{rectification_id}/acceptance", department)

    def confirm_revocation(self, member: Person, base_id: str, meeting_ref: str) -> None:
        self.post(f"/bases/{base_id}/revocation", member, {"meeting_ref": meeting_ref})


class Funding(ServiceClient):
    """The funding service: subsidy plans, instalments, payments, the reconciliation."""

    def plan(self, person: Person, base_id: str) -> Row | None:
        plans = self.find("/plans", person, base_id=base_id)
        return dict(plans["items"][0]) if plans and plans["items"] else None

    def wait_plan(self, person: Person, base_id: str, check: Check, what: str) -> Row:
        return eventually(
            lambda: _matches(self.plan(person, base_id), check), f"plan of {base_id}: {what}"
        )

    def approve_instalment(self, finance: Person, instalment_id: str) -> None:
        self.post(f"/instalments/{instalment_id}/approval", finance)

    def confirm_payment(
        self,
        finance: Person,
        instalment_id: str,
        *,
        payment_ref: str,
        paid_on: date,
        amount_fen: int,
    ) -> None:
        body = {
            "payment_ref": payment_ref,
            "paid_on": paid_on.isoformat(),
            "amount_fen": amount_fen,
        }
        self.post(f"/instalments/{instalment_id}/payment", finance, body)

    def reconciliation(self, person: Person, base_id: str) -> Row:
        return dict(self.get("/reconciliation", person, base_id=base_id))


def instalment(plan: Row, number: int) -> Row:
    return dict(next(i for i in plan["instalments"] if i["number"] == number))


def stages(plan: Row) -> list[str]:
    return [str(i["stage"]) for i in sorted(plan["instalments"], key=lambda i: i["number"])]


class Audit:
    """The auditor's endpoints of every service (read-only)."""

    def __init__(self, services: Mapping[str, ServiceClient]) -> None:
        self.services = dict(services)

    def timeline(self, auditor: Person, case_id: str) -> list[Row]:
        any_service = next(iter(self.services.values()))
        path = f"/audit/cases/{case_id}/timeline"
        return [e for page in any_service.pages(path, auditor) for e in page["events"]]

    def verify(self, auditor: Person) -> dict[str, Row]:
        return {name: s.get("/audit/verify", auditor) for name, s in self.services.items()}

    def rebuild(self, auditor: Person) -> dict[str, Row]:
        return {name: s.get("/audit/rebuild", auditor) for name, s in self.services.items()}

    def as_of(self, auditor: Person, case_id: str, at: datetime) -> dict[str, Row]:
        path, time = f"/audit/cases/{case_id}/as-of", at.isoformat()
        return {name: s.get(path, auditor, time=time) for name, s in self.services.items()}


class SharedClock:
    """The development clock all four services share (JetStream KV), moved only forward."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url

    async def _with_js(self, act: Callable[[Any], Any]) -> datetime:
        client = await nats.connect(nats_servers(self.nats_url))  # one server, or a cluster's
        try:
            result: datetime = await act(client.jetstream())
            return result
        finally:
            await client.close()

    def _run(self, act: Callable[[Any], Any]) -> datetime:
        """`act` on the clock's bucket, on a thread of its own where this one already runs an
        event loop (a synchronous browser driver's, say), where `asyncio.run` may not."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._with_js(act))
        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(asyncio.run, self._with_js(act)).result()

    def now(self) -> datetime:
        return self._run(read_clock)

    def freeze(self, at: datetime) -> datetime:
        """Stop the clock at `at` (a scenario's start on a system with no history yet)."""
        return self._run(lambda js: set_clock(js, at.astimezone(UTC)))

    def advance(self, delta: timedelta) -> datetime:
        return self._run(lambda js: advance_clock(js, delta))

    def to(self, at: datetime) -> datetime:
        """Move the clock forward to `at`; refuses to move it back."""
        now = self.now()
        if at < now:
            raise ValueError(f"the clock only moves forward: it is {now}, asked for {at}")
        return self.advance(at - now)


@dataclass
class HaiZhi:
    """A running system: the four services, the shared clock and the auditor's endpoints."""

    application: Applications
    review: Reviews
    assessment: Assessment
    funding: Funding
    clock: SharedClock
    audit: Audit
    #: Registrations made through this driver: the unit's own id (its token's org) → the
    #: registry's `unit_id`.
    units: dict[str, str] = field(default_factory=dict)

    @classmethod
    def connect(
        cls,
        urls: Mapping[str, str],
        nats_url: str,
        secret: str = DEVELOPMENT_JWT_SECRET,
        *,
        retry_for: float = 0.0,
        journal: Callable[[Sent], None] | None = None,
    ) -> HaiZhi:
        """A driver of the services at `urls`; `retry_for` and `journal` as `ServiceClient`
        takes them (a client that rides out a restart, and a record of every command)."""
        http = httpx.Client(timeout=60.0)
        manners: dict[str, Any] = {"retry_for": retry_for, "journal": journal}
        application = Applications(urls["application"], secret, http, name="application", **manners)
        review = Reviews(urls["review"], secret, http, name="review", **manners)
        assessment = Assessment(urls["assessment"], secret, http, name="assessment", **manners)
        funding = Funding(urls["funding"], secret, http, name="funding", **manners)
        services: dict[str, ServiceClient] = {
            "application": application,
            "review": review,
            "assessment": assessment,
            "funding": funding,
        }
        for name, url in urls.items():  # any other (the notifier): audited like the four
            services.setdefault(name, ServiceClient(url, secret, http, name=name, **manners))
        return cls(application, review, assessment, funding, SharedClock(nats_url), Audit(services))

    @classmethod
    def from_runtime(cls, runtime_file: Path, secret: str = DEVELOPMENT_JWT_SECRET) -> HaiZhi:
        """The system `haizhi up` started, from the file it wrote."""
        info = json.loads(runtime_file.read_text(encoding="utf-8"))
        return cls.connect(info["services"], info["nats"], secret)

    @property
    def urls(self) -> dict[str, str]:
        return {name: s.base_url for name, s in self.audit.services.items()}

    def settle(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until every outbox is empty and every consumer has caught up (`NotSettled`
        after `timeout`): before moving the clock, so reactions carry their cause's time."""
        wait_settled(self.urls, timeout, self.application.http)

    def close(self) -> None:
        self.application.http.close()
