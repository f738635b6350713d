"""The reviewers' pages: the prefecture CAST, the provincial CAST and the national department.

A reviewer's work queue (the review service's `/queue`), the registrations awaiting their
verification, the provincial officer's calls for applications and receipt records (收件记录),
one review — the conflict-of-interest declaration (利益冲突声明) before the dossier, the
dossier with its attachments previewed, the scores and each level's decision — the province's
ranked recommendation (择优推荐) and the renewal requests at the province and the nation.

Every page lives under `/review/`, so that it cannot collide with another part's paths. The
services decide: the console shows what they answer and sends what the person typed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from starlette.datastructures import FormData

from shared.auth import NATIONWIDE, Role

from ..annex2 import MATERIALS, sections
from ..backend import Json
from ..declarations import declare, declare_none, declared, declares_none, recusal
from ..fields import Id, Refusal, Sha256, Typed, is_id, text, ticked
from ..i18n import N_
from ..paging import PAGE, every, record
from ..visit import CurrentVisit, Form, NavItem, Visit, deadline_text, size_text, today

router = APIRouter()

REVIEWERS = (Role.PREFECTURE_REVIEWER, Role.PROVINCE_REVIEWER, Role.NATIONAL_REVIEWER)
#: Who verifies registrations: the unit's prefecture CAST, or the provincial CAST.
OFFICERS = (Role.PREFECTURE_REVIEWER, Role.PROVINCE_REVIEWER)

NAV: list[NavItem] = [
    NavItem("Work queue", "/review/queue", frozenset(REVIEWERS)),
    NavItem("Units to verify", "/review/units", frozenset(OFFICERS)),
    NavItem("Calls", "/review/calls", frozenset({Role.PROVINCE_REVIEWER})),
    NavItem("Rankings", "/review/rankings", frozenset({Role.PROVINCE_REVIEWER})),
]

#: Items per page of the console's lists.
PAGE_SIZE = 20
#: Newest first, the console reads a list through (the services page oldest first): at most
#: this many pages of the services' largest page.
READ_THROUGH_PAGES = 10

#: The services' keyset cursors (`shared.api.KEYSET_CURSOR`).
_KEYSET = re.compile(r"^[0-9A-Za-z:.+_-]{1,64}~[\w-]{1,128}$")
_PROVINCE = re.compile(r"^\d{2}$")
#: Files a browser shows itself; anything else is offered as a download.
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


# --- labels: the services' codes in words ---------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "levels": {
        "prefecture": N_("Prefecture CAST review"),
        "province": N_("Provincial CAST intake"),
        "province_recommendation": N_("Provincial recommendation (ranking)"),
        "provincial_decision": N_("Provincial decision on the work station"),
        "national": N_("National preliminary review"),
        "leading_group": N_("Leading group approval"),
        "general_office": N_("Approval and plaque"),
    },
    "review_status": {
        "in_review": N_("In review"),
        "returned": N_("Returned for revision"),
        "rejected": N_("Rejected (final)"),
        "designated": N_("Designated (approved)"),
        "closed": N_("Closed (withdrawn)"),
    },
    "application_status": {
        "draft": N_("Draft"),
        "submitted": N_("Submitted for review"),
        "returned": N_("Returned for revision"),
        "withdrawn": N_("Withdrawn"),
        "rejected": N_("Rejected (final)"),
        "designated": N_("Designated (approved)"),
    },
    "programmes": {
        "national_base": N_("National work base"),
        "provincial_workstation": N_("Provincial work station"),
    },
    "routes": {
        "direct": N_("Direct to the provincial CAST"),
        "via_prefecture": N_("Via the prefecture CAST"),
    },
    "unit_status": {
        "pending": N_("Awaiting verification"),
        "verified": N_("Registration verified"),
        "returned": N_("Returned to the unit"),
    },
    "unit_levels": {
        "central": N_("Central unit located in the province"),
        "provincial": N_("Provincial-level unit"),
        "prefecture": N_("Prefecture-level unit"),
    },
    "offices": {
        "prefecture": N_("Prefecture CAST"),
        "province": N_("Provincial CAST"),
    },
    "categories": {
        "provincial_unit": N_("Provincial-level unit (category)"),
        "central_unit": N_("Central unit (category)"),
        "university": N_("University"),
        "prefecture_cast": N_("Prefecture CAST (category)"),
        "national_society": N_("National society"),
        "park": N_("Park (high-tech, economic or free-trade zone, industrial park)"),
        "prefecture_institute": N_("Prefecture-owned research institute"),
        "enterprise": N_("Enterprise"),
        "prefecture_institution": N_("Prefecture-owned public institution"),
        "research_institute": N_("Research institute"),
        "institution": N_("Public institution"),
    },
    "renewal_status": {
        "in_review": N_("In review"),
        "returned": N_("Returned for completion"),
        "awaiting_assessment": N_("Awaiting the renewal assessment"),
        "granted": N_("Renewal granted"),
        "refused": N_("Renewal refused"),
        "withdrawn": N_("Withdrawn"),
    },
    "renewal_levels": {
        "province": N_("Provincial CAST"),
        "national": N_("National department"),
        "general_office": N_("CAST general office"),
    },
    "candidate_status": {
        "candidate": N_("Candidate"),
        "withdrawn": N_("Withdrawn"),
        "recommended": N_("Recommended"),
        "not_recommended": N_("Not recommended"),
    },
    "ranking_status": {
        "collecting": N_("Collecting candidates"),
        "submitted": N_("Ranked list submitted"),
        "none": N_("No candidate yet"),
    },
    "call_status": {
        "open": N_("Open for applications"),
        "closed": N_("Closed to applications"),
    },
    "slots": MATERIALS,
}

#: The form's long texts, shown as paragraphs (its 万元 amounts are shown as the unit wrote them,
#: under labels that name the unit).
LONG_FIELDS = frozenset(
    {
        "overview_basic_conditions",
        "overview_advantages",
        "overview_description",
        "overview_expected_goals",
        "opinion_text",
    }
)
DECLARATION_FIELDS = frozenset(
    {"declares_organisation", "declares_overseas_channels", "declares_government_support"}
)

#: What a reviewer scores an application on (0–100 each): the conditions of Art. 6 and the
#: construction plan of Art. 7. The review service takes any named criterion.
SCORE_CRITERIA: tuple[tuple[str, str], ...] = (
    ("organisation", N_("Organisation, rules, staff, office and funds (Art. 6(1))")),
    ("overseas_channels", N_("Overseas channels and landing platform (Art. 6(2))")),
    ("government_support", N_("Local government policy and funding support (Art. 6(3))")),
    ("construction_plan", N_("Construction plan and expected goals (Art. 7)")),
)


def label_of(visit: Visit, table: str, code: object) -> str:
    """A service's code in the visitor's words (the code itself if the console lacks one)."""
    if code is None or code == "":
        return "—"
    found = LABELS.get(table, {}).get(str(code))
    return visit.say(found) if found else str(code)


# --- what the console reads from the URL and the forms --------------------------------------


def _cursor(value: str | None) -> str | None:
    return value if value and _KEYSET.fullmatch(value) else None


def _plain_cursor(value: str | None) -> str | None:
    """The application service's cursors are the last item's id."""
    return value if is_id(value) else None


def _offset(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 7 else 0


LEVEL = Refusal(
    N_("The form does not say at which level it decides."),
    N_("Reload the review's page and use its form."),
)
REASONS = Refusal(
    N_("This decision needs its reasons."),
    N_("Write the reasons, one per line, then send the form again."),
)
WORKSTATION_OUTCOME = Refusal(
    N_("Choose the decision: approve, return for revision or reject."),
    N_("Choose one of the three and send the form again."),
)
NO_SCORE = Refusal(
    N_("Give at least one score."),
    N_("Score the criteria you have assessed, from 0 to 100, and save again."),
)
RECEIPT = Refusal(
    N_("A receipt record needs the recipient and the number of paper copies."),
    N_("Fill in who received the file and how many copies, then save again."),
)
NO_CANDIDATE = Refusal(
    N_("There is no candidate to rank on this page."),
    N_("Reload the page to see the call's candidates."),
)
UNRANKED = Refusal(
    N_("Each candidate is either given an order number or not recommended with reasons."),
    N_("Give the missing order number, or write why the candidate is not recommended."),
)
SAME_RANK = Refusal(
    N_("Two candidates have the same order number."),
    N_("Give each recommended candidate its own order number, 1 for the best."),
)
CALL_PROVINCE = Refusal(
    N_("Choose the province of the call."),
    N_("A call belongs to one province: yours."),
)
CALL_TITLE = Refusal(
    N_("A call needs its year and its title."),
    N_("Fill in the year and the title, then send the form again."),
)
TIME_OF_DAY = Refusal(
    N_("A time of day is written as hours and minutes, for example 17:30."),
    N_("Correct the time, or leave it empty for 24:00, and send the form again."),
)
CONTACT = Refusal(
    N_("Each contact needs a name, a telephone and an email."),
    N_("Complete the contact's row, or empty it, and send the form again."),
)
SUBMISSION_ADDRESS = Refusal(
    N_("The address for the paper copies needs the address, the postcode and the recipient."),
    N_("Complete the address, or leave all three empty, and send the form again."),
)


# --- what the pages show besides the services' answers ------------------------------------


def _provinces(codes: Iterable[str]) -> list[str]:
    """The provinces of a person's jurisdictions; none for a nationwide one (they see all)."""
    found = [] if any(code in NATIONWIDE for code in codes) else [code[:2] for code in codes]
    return sorted({code for code in found if _PROVINCE.fullmatch(code)})


async def _calls_by_id(visit: Visit, call_ids: Iterable[str]) -> dict[str, Json]:
    """The calls named (title and deadline for a list): one read each, at once."""
    wanted = sorted({c for c in call_ids if is_id(c)})
    found = await asyncio.gather(*(visit.find("application", f"/calls/{c}") for c in wanted))
    return {c: call for c, call in zip(wanted, found, strict=True) if call is not None}


def _query(params: Mapping[str, str | None]) -> str:
    kept = {k: v for k, v in params.items() if v}
    return "?" + urlencode(kept) if kept else ""


def _context(visit: Visit, **context: Any) -> dict[str, Any]:
    """What every reviews page's template gets besides the console's own context."""
    person = visit.person
    return {
        "label": lambda table, code: label_of(visit, table, code),
        "deadline": deadline_text,
        "is_prefecture": person.has(Role.PREFECTURE_REVIEWER),
        "is_province": person.has(Role.PROVINCE_REVIEWER),
        "is_national": person.has(Role.NATIONAL_REVIEWER),
        **context,
    }


# --- the work queue -------------------------------------------------------------------------

QUEUE_LISTS = ("reviews", "renewals", "rankings")
#: What each list of the queue is ordered by (the service's keyset).
QUEUE_KEYS = {"reviews": "updated_at", "renewals": "updated_at", "rankings": "call_id"}


@dataclass
class QueuePage:
    items: list[Json]
    next_link: str | None
    first_link: str | None


async def _read_through(visit: Visit, name: str) -> list[Json]:
    """One list of the queue whole (bounded), by following its cursor."""
    return await every(
        visit, "review", "/queue", items=name, cursor=f"{name}_cursor", most=READ_THROUGH_PAGES
    )


@router.get("/review/queue")
async def work_queue(
    visit: CurrentVisit,
    order: str = "oldest",
    reviews_cursor: str | None = None,
    renewals_cursor: str | None = None,
    rankings_cursor: str | None = None,
    reviews_from: str | None = None,
    renewals_from: str | None = None,
    rankings_from: str | None = None,
) -> Response:
    """What waits at the person's levels in their jurisdiction: reviews, renewal requests and
    (the province) rankings still collecting; oldest first by the service's cursors, or newest
    first read through by the console."""
    visit.require(*REVIEWERS)
    newest = order == "newest"
    cursors = {
        "reviews": _cursor(reviews_cursor),
        "renewals": _cursor(renewals_cursor),
        "rankings": _cursor(rankings_cursor),
    }
    starts = {
        "reviews": _offset(reviews_from),
        "renewals": _offset(renewals_from),
        "rankings": _offset(rankings_from),
    }
    pages: dict[str, QueuePage] = {}
    if newest:
        whole = await asyncio.gather(*(_read_through(visit, name) for name in QUEUE_LISTS))
        here = {f"{name}_from": str(starts[name]) if starts[name] else None for name in QUEUE_LISTS}
        for name, items in zip(QUEUE_LISTS, whole, strict=True):
            ordered = sorted(items, key=lambda item: str(item.get(QUEUE_KEYS[name])), reverse=True)
            start = starts[name]
            shown = ordered[start : start + PAGE_SIZE]
            following = start + PAGE_SIZE if len(ordered) > start + PAGE_SIZE else None
            base = {"order": "newest", **here}
            pages[name] = QueuePage(
                shown,
                "/review/queue" + _query({**base, f"{name}_from": str(following)})
                if following is not None
                else None,
                "/review/queue" + _query({**base, f"{name}_from": None}) if start else None,
            )
    else:
        params: dict[str, str | int | None] = {"limit": PAGE_SIZE}
        params.update({f"{name}_cursor": cursors[name] for name in QUEUE_LISTS})
        answer = await visit.get("review", "/queue", **params)
        next_cursors = answer.get("next_cursors") or {}
        here = {f"{name}_cursor": cursors[name] for name in QUEUE_LISTS}
        for name in QUEUE_LISTS:
            after = next_cursors.get(name)
            pages[name] = QueuePage(
                list(answer.get(name) or []),
                "/review/queue" + _query({**here, f"{name}_cursor": after}) if after else None,
                "/review/queue" + _query({**here, f"{name}_cursor": None})
                if cursors[name]
                else None,
            )
    call_ids = [
        item.get("call_id", "") for name in ("reviews", "rankings") for item in pages[name].items
    ]
    calls = await _calls_by_id(visit, call_ids)
    return visit.page(
        "reviews/queue.html",
        **_context(visit, pages=pages, calls=calls, newest=newest),
    )


# --- registrations awaiting verification ----------------------------------------------------


def _office_filter(visit: Visit) -> str | None:
    """The registrations this person's office verifies (both offices: all of them)."""
    person = visit.person
    prefecture, province = (
        person.has(Role.PREFECTURE_REVIEWER),
        person.has(Role.PROVINCE_REVIEWER),
    )
    if prefecture and not province:
        return "prefecture"
    if province and not prefecture:
        return "province"
    return None


@router.get("/review/units")
async def units(
    visit: CurrentVisit, status: str = "pending", cursor: str | None = None
) -> Response:
    """Registrations in the person's jurisdiction that their office verifies."""
    visit.require(*OFFICERS)
    status = status if status in LABELS["unit_status"] else "pending"
    office = _office_filter(visit)
    answer = await visit.get(
        "application",
        "/units",
        status=status,
        office=office,
        limit=PAGE_SIZE,
        cursor=_plain_cursor(cursor),
    )
    following = answer.get("next_cursor")
    return visit.page(
        "reviews/units.html",
        **_context(
            visit,
            units=answer.get("items") or [],
            shown_status=status,
            office=office,
            statuses=list(LABELS["unit_status"]),
            next_link="/review/units" + _query({"status": status, "cursor": following})
            if following
            else None,
            first_link="/review/units" + _query({"status": status}) if cursor else None,
        ),
    )


def _may_verify(visit: Visit, unit: Json) -> bool:
    person = visit.person
    role = (
        Role.PREFECTURE_REVIEWER if unit.get("office") == "prefecture" else Role.PROVINCE_REVIEWER
    )
    return person.has(role)


@router.get("/review/units/{unit_id}")
async def unit_page(visit: CurrentVisit, unit_id: Id) -> Response:
    visit.require(*OFFICERS)
    unit = await visit.get("application", f"/units/{unit_id}")
    return visit.page(
        "reviews/unit.html",
        **_context(visit, unit=unit, may_verify=_may_verify(visit, unit)),
    )


@router.post("/review/units/{unit_id}/verify")
async def verify_unit(visit: CurrentVisit, form: Form, unit_id: Id) -> Response:
    visit.require(*OFFICERS)
    opinion = Typed(visit, form).text("opinion") or None
    await visit.send("application", f"/units/{unit_id}/verify", form, json={"opinion": opinion})
    return visit.done(
        "The registration is verified: the unit may now apply.", f"/review/units/{unit_id}"
    )


@router.post("/review/units/{unit_id}/return")
async def return_unit(visit: CurrentVisit, form: Form, unit_id: Id) -> Response:
    visit.require(*OFFICERS)
    reasons = Typed(visit, form).lines("reasons", REASONS)
    await visit.send("application", f"/units/{unit_id}/return", form, json={"reasons": reasons})
    return visit.done(
        "The registration is returned to the unit with your reasons.", f"/review/units/{unit_id}"
    )


# --- calls for applications (the provincial officer) ----------------------------------------


@router.get("/review/calls")
async def calls(visit: CurrentVisit, cursor: str | None = None) -> Response:
    person = visit.require(Role.PROVINCE_REVIEWER)
    provinces = _provinces(person.jurisdictions)
    answer = await visit.get(
        "application",
        "/calls",
        province=provinces[0] if len(provinces) == 1 else None,
        limit=PAGE_SIZE,
        cursor=_plain_cursor(cursor),
    )
    found = [c for c in answer.get("items") or [] if not provinces or c["province"] in provinces]
    following = answer.get("next_cursor")
    return visit.page(
        "reviews/calls.html",
        **_context(
            visit,
            calls=found,
            next_link="/review/calls" + _query({"cursor": following}) if following else None,
            first_link="/review/calls" if cursor else None,
        ),
    )


@router.get("/review/calls/new")
async def new_call(visit: CurrentVisit) -> Response:
    person = visit.require(Role.PROVINCE_REVIEWER)
    return visit.page(
        "reviews/call_new.html",
        **_context(
            visit,
            provinces=_provinces(person.jurisdictions),
            contact_rows=range(1, 4),
            this_year=getattr(today(visit), "year", None),
        ),
    )


def _call_body(visit: Visit, form: FormData, provinces: list[str]) -> dict[str, Any]:
    """POST /calls from the form: what the officer typed, checked as far as the console can."""
    typed = Typed(visit, form)
    province = typed.text("province")
    if not _PROVINCE.fullmatch(province) or (provinces and province not in provinces):
        raise typed.refused("province", CALL_PROVINCE)
    year = typed.whole("year", 2000, 2100, what=visit.say("Year"))
    copies = typed.whole("paper_copies", 0, 50, what=visit.say("Paper copies asked for"))
    title = typed.text("title")
    if year is None or not title:
        raise typed.refused("title", CALL_TITLE)
    deadline = typed.day("deadline_on")
    raw_time = typed.text("deadline_time")
    try:
        deadline_time = time.fromisoformat(raw_time) if raw_time else None
    except ValueError:
        raise typed.refused("deadline_time", TIME_OF_DAY) from None
    contacts = []
    for row in range(1, 4):
        name, phone, email = (
            typed.text(f"contact_{what}_{row}") for what in ("name", "phone", "email")
        )
        if not (name or phone or email):
            continue
        if not (name and phone and email):
            raise typed.refused(f"contact_name_{row}", CONTACT)
        contacts.append({"name": name, "phone": phone, "email": email})
    address = {k: typed.text(f"submission_{k}") for k in ("address", "postcode", "recipient")}
    if any(address.values()) and not all(address.values()):
        raise typed.refused("submission_address", SUBMISSION_ADDRESS)
    return {
        "province": province,
        "year": year,
        "title": title,
        "deadline_on": deadline.isoformat(),
        "deadline_time": deadline_time.strftime("%H:%M") if deadline_time else None,
        "paper_copies": copies if copies is not None else 0,
        "allows_workstation": ticked(form, "allows_workstation"),
        "additional_materials": typed.lines("additional_materials"),
        "contacts": contacts,
        "submission_address": address if all(address.values()) else None,
    }


@router.post("/review/calls")
async def open_call(visit: CurrentVisit, form: Form) -> Response:
    person = visit.require(Role.PROVINCE_REVIEWER)
    body = _call_body(visit, form, _provinces(person.jurisdictions))
    answer = await visit.send("application", "/calls", form, json=body)
    call_id = str((answer or {}).get("call_id", ""))
    to = f"/review/calls/{call_id}" if is_id(call_id) else "/review/calls"
    return visit.done("The call for applications is open: units of the province may apply.", to)


@router.get("/review/calls/{call_id}")
async def call_page(visit: CurrentVisit, call_id: Id, cursor: str | None = None) -> Response:
    visit.require(Role.PROVINCE_REVIEWER)
    call = await visit.get("application", f"/calls/{call_id}")
    answer = await visit.get(
        "application",
        "/applications",
        call_id=call_id,
        limit=PAGE_SIZE,
        cursor=_plain_cursor(cursor),
    )
    following = answer.get("next_cursor")
    return visit.page(
        "reviews/call.html",
        **_context(
            visit,
            call=call,
            applications=answer.get("items") or [],
            next_link=f"/review/calls/{call_id}" + _query({"cursor": following})
            if following
            else None,
            first_link=f"/review/calls/{call_id}" if cursor else None,
        ),
    )


@router.get("/review/applications/{application_id}")
async def review_of_application(visit: CurrentVisit, application_id: Id) -> Response:
    """The review of an application, found by the application's id."""
    visit.require(*REVIEWERS)
    found = await visit.get("review", "/reviews", application_id=application_id, limit=1)
    items = found.get("items") or []
    if items:
        return visit.redirect(f"/review/cases/{items[0]['review_id']}")
    return visit.page(
        "reviews/no_review.html", status=404, **_context(visit, application_id=application_id)
    )


# --- one review -----------------------------------------------------------------------------


def _acts(visit: Visit, review: Json) -> list[str]:
    """The decisions this person may take on the review where it waits now."""
    person = visit.person
    if review.get("status") != "in_review":
        return []
    level, route = review.get("level"), review.get("route")
    if level == "prefecture" and person.has(Role.PREFECTURE_REVIEWER):
        return ["forward", "return", "reject"]
    if level == "province" and person.has(Role.PROVINCE_REVIEWER):
        back = ["return-to-prefecture"] if route == "via_prefecture" else []
        return ["accept", "return", *back, "reject"]
    if level == "provincial_decision" and person.has(Role.PROVINCE_REVIEWER):
        return ["workstation-decision"]
    if level == "national" and person.has(Role.NATIONAL_REVIEWER):
        return ["forward", "return", "reject"]
    return []


def _receives(visit: Visit, review: Json) -> bool:
    """Whether this person's office records the paper file's receipt (收件记录)."""
    person = visit.person
    if review.get("status") not in ("in_review", "returned"):
        return False
    return person.has(Role.PROVINCE_REVIEWER) or (
        review.get("route") == "via_prefecture" and person.has(Role.PREFECTURE_REVIEWER)
    )


def _form_value(visit: Visit, name: str, value: object) -> str:
    if value is None or value == "":
        return "—"
    if name in DECLARATION_FIELDS:
        return visit.say("Declared") if str(value).lower() == "true" else visit.say("Not declared")
    return str(value)


@router.get("/review/cases/{review_id}")
async def review_page(visit: CurrentVisit, review_id: Id, preview: str | None = None) -> Response:
    visit.require(*REVIEWERS)
    review, dossier = await asyncio.gather(
        visit.get("review", f"/reviews/{review_id}"),
        declared(visit.get("review", f"/reviews/{review_id}/dossier")),
    )
    call = await visit.find("application", f"/calls/{review['call_id']}")
    context: dict[str, Any] = {"review": review, "call": call, "dossier": dossier}
    if dossier is not None:
        application, scores = await asyncio.gather(
            visit.find("application", f"/applications/{dossier['application_id']}"),
            visit.get("review", f"/reviews/{review_id}/scores"),
        )
        submitted = (application or {}).get("submitted") or {}
        form = submitted.get("form") if submitted.get("form_hash") == dossier["form_hash"] else None
        files = {f["sha256"]: f for f in submitted.get("files") or []}
        shown = [
            {
                **f,
                "media_type": files.get(f["sha256"], {}).get("media_type"),
                "size_text": size_text(files.get(f["sha256"], {}).get("size"), unknown=""),
            }
            for f in dossier.get("files") or []
        ]
        previewed = next((f for f in shown if f["sha256"] == preview), None)
        context.update(
            application=application,
            form=form,
            sections=[
                (
                    title,
                    [
                        (f.name, f.label, _form_value(visit, f.name, (form or {}).get(f.name)))
                        for f in fields
                    ],
                )
                for title, fields in sections()
            ],
            long_fields=LONG_FIELDS,
            files=shown,
            previewed=previewed,
            inline_types=INLINE_TYPES,
            scores=scores,
            criteria=SCORE_CRITERIA,
        )
    acts = _acts(visit, review)
    return visit.page(
        "reviews/review.html",
        **_context(
            visit,
            acts=acts,
            scores_open=bool(acts) and review.get("level") != "provincial_decision",
            receives=_receives(visit, review),
            today=str(today(visit) or ""),
            **context,
        ),
    )


@router.get("/review/cases/{review_id}/files/{sha256}")
async def review_file(visit: CurrentVisit, review_id: Id, sha256: Sha256) -> Response:
    """One file of the dossier, from the application service with the reviewer's token: shown
    in the page (PDF, images) or downloaded. Only a file of the dossier under review, and only
    once the reviewer has declared no conflict of interest."""
    visit.require(*REVIEWERS)
    dossier = await visit.get("review", f"/reviews/{review_id}/dossier")
    file = next((f for f in dossier.get("files") or [] if f.get("sha256") == sha256), None)
    if file is None:
        raise HTTPException(status_code=404)
    path = f"/applications/{dossier['application_id']}/files/{sha256}"
    download = await visit.download("application", path)
    media_type = download.media_type.split(";", 1)[0].strip().lower()
    return visit.file(
        replace(download, media_type=media_type),
        str(file.get("name") or download.filename or sha256),
        inline=media_type in INLINE_TYPES,
        headers={
            # Framed by the dossier page of this console, and nowhere else.
            "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'",
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/review/cases/{review_id}/declaration")
async def declare_for_review(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    """利益冲突声明: no conflict opens the dossier; a conflict recuses the reviewer."""
    visit.require(*REVIEWERS)
    return await declare(
        visit,
        form,
        f"/reviews/{review_id}/declarations",
        f"/review/cases/{review_id}",
        clear=N_("You declared no conflict of interest: the dossier is open to you."),
        recused=N_(
            "You declared a conflict of interest and are recused from this review: another "
            "reviewer will take it. You will not see its dossier."
        ),
    )


def _level(visit: CurrentVisit, form: FormData) -> str:
    """The level a decision's form acts at (a hidden field of the review's page)."""
    return Typed(visit, form).choice("level", LABELS["levels"], LEVEL)


@router.post("/review/cases/{review_id}/forward")
async def forward(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(Role.PREFECTURE_REVIEWER, Role.NATIONAL_REVIEWER)
    level = _level(visit, form)
    body = {"level": level, "opinion": text(form, "opinion")}
    await visit.send("review", f"/reviews/{review_id}/forward", form, json=body)
    if level == "national":
        return visit.done(
            "The application is forwarded to the HaiZhi Plan leading group for approval.",
            f"/review/cases/{review_id}",
        )
    return visit.done(
        "The application is forwarded to the provincial CAST.", f"/review/cases/{review_id}"
    )


@router.post("/review/cases/{review_id}/accept")
async def accept(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(Role.PROVINCE_REVIEWER)
    body = {"opinion": text(form, "opinion")}
    await visit.send("review", f"/reviews/{review_id}/accept", form, json=body)
    return visit.done("The application passed provincial intake.", f"/review/cases/{review_id}")


@router.post("/review/cases/{review_id}/return")
async def return_for_revision(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(*REVIEWERS)
    body = {"level": _level(visit, form), "reasons": Typed(visit, form).lines("reasons", REASONS)}
    await visit.send("review", f"/reviews/{review_id}/return", form, json=body)
    return visit.done(
        "The application is returned to the unit for revision, with your reasons.",
        f"/review/cases/{review_id}",
    )


@router.post("/review/cases/{review_id}/return-to-prefecture")
async def return_to_prefecture(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(Role.PROVINCE_REVIEWER)
    body = {"reasons": Typed(visit, form).lines("reasons", REASONS)}
    await visit.send("review", f"/reviews/{review_id}/return-to-prefecture", form, json=body)
    return visit.done(
        "The application is returned to the prefecture CAST, with your reasons.",
        f"/review/cases/{review_id}",
    )


@router.post("/review/cases/{review_id}/reject")
async def reject(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(*REVIEWERS)
    body = {"level": _level(visit, form), "reasons": Typed(visit, form).lines("reasons", REASONS)}
    await visit.send("review", f"/reviews/{review_id}/reject", form, json=body)
    return visit.done(
        "The application is rejected; the unit will see your reasons.", f"/review/cases/{review_id}"
    )


@router.post("/review/cases/{review_id}/workstation-decision")
async def workstation_decision(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    """The provincial CAST's own decision on a provincial work station (Notice §5(3))."""
    visit.require(Role.PROVINCE_REVIEWER)
    typed = Typed(visit, form)
    outcome = typed.choice("outcome", ("approve", "return", "reject"), WORKSTATION_OUTCOME)
    reasons = typed.lines("reasons", REASONS if outcome != "approve" else None)
    body = {"outcome": outcome, "reasons": reasons, "opinion": typed.text("opinion")}
    await visit.send("review", f"/reviews/{review_id}/workstation-decision", form, json=body)
    said = {
        "approve": N_("The provincial work station is approved; its certificate is issued."),
        "return": N_("The application is returned to the unit for revision, with your reasons."),
        "reject": N_("The application is rejected; the unit will see your reasons."),
    }
    return visit.done(said[outcome], f"/review/cases/{review_id}")


@router.post("/review/cases/{review_id}/scores")
async def record_scores(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(*REVIEWERS)
    level = _level(visit, form)
    typed = Typed(visit, form)
    given = [
        (criterion, typed.whole(f"score_{criterion}", 0, 100, what=visit.say(name)))
        for criterion, name in SCORE_CRITERIA
    ]
    scores = [{"criterion": c, "score": s} for c, s in given if s is not None]
    if not scores:
        raise typed.refused("scores", NO_SCORE)
    await visit.send(
        "review", f"/reviews/{review_id}/scores", form, json={"level": level, "scores": scores}
    )
    return visit.done("Your scores are recorded.", f"/review/cases/{review_id}")


@router.post("/review/cases/{review_id}/receipt")
async def record_receipt(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    """收件记录: the receiving office got the paper file."""
    visit.require(Role.PROVINCE_REVIEWER, Role.PREFECTURE_REVIEWER)
    typed = Typed(visit, form)
    received_on = typed.day("received_on")
    copies = typed.whole("paper_copies", 0, 50, what=visit.say("Paper copies received"))
    recipient = typed.text("recipient")
    if not recipient or copies is None:
        raise typed.refused("recipient", RECEIPT)
    review = await visit.get("review", f"/reviews/{review_id}")
    body = {"received_on": received_on.isoformat(), "recipient": recipient, "paper_copies": copies}
    path = f"/applications/{review['application_id']}/receipt"
    await visit.send("application", path, form, json=body)
    return visit.done("The receipt of the paper file is recorded.", f"/review/cases/{review_id}")


# --- the province's ranked recommendation (择优推荐) ------------------------------------------


async def _ranking(visit: Visit, call_id: str) -> Json | None:
    """The call's ranking with every candidate (its pages read through), or None: none yet."""
    path = f"/calls/{call_id}/ranking"
    return await record(visit, "review", path, items="candidates", most=READ_THROUGH_PAGES)


@router.get("/review/rankings")
async def rankings(visit: CurrentVisit) -> Response:
    """The calls of the person's province and where each one's ranking stands."""
    person = visit.require(Role.PROVINCE_REVIEWER)
    provinces = _provinces(person.jurisdictions)
    answer = await visit.get(
        "application",
        "/calls",
        province=provinces[0] if len(provinces) == 1 else None,
        limit=PAGE,
    )
    found = [c for c in answer.get("items") or [] if not provinces or c["province"] in provinces]
    found.sort(key=lambda c: str(c.get("call_id")), reverse=True)
    found = found[:PAGE_SIZE]
    states = await asyncio.gather(
        *(visit.find("review", f"/calls/{c['call_id']}/ranking", limit=1) for c in found)
    )
    rows = [
        {"call": call, "status": (state or {}).get("status") or "none"}
        for call, state in zip(found, states, strict=True)
    ]
    return visit.page("reviews/rankings.html", **_context(visit, rows=rows))


@router.get("/review/rankings/{call_id}")
async def ranking_page(visit: CurrentVisit, call_id: Id) -> Response:
    visit.require(Role.PROVINCE_REVIEWER)
    call = await visit.get("application", f"/calls/{call_id}")
    ranking = await _ranking(visit, call_id)
    candidates = (ranking or {}).get("candidates") or []
    open_ones = [c for c in candidates if c.get("status") == "candidate"]
    ranked = sorted(
        (c for c in candidates if c.get("status") == "recommended"), key=lambda c: c["rank"]
    )
    others = [c for c in candidates if c.get("status") == "not_recommended"]
    return visit.page(
        "reviews/ranking.html",
        **_context(
            visit,
            call=call,
            ranking=ranking,
            open_ones=open_ones,
            ranked=ranked,
            others=others,
            candidate_ids=",".join(c["application_id"] for c in open_ones),
        ),
    )


def _ranked_list(visit: Visit, typed: Typed) -> dict[str, Any]:
    """The ranked list from the form: an order number per recommended candidate, reasons for
    each of the others."""
    listed = [c for c in typed.text("candidates").split(",") if is_id(c)]
    if not listed:
        raise typed.refused("candidates", NO_CANDIDATE)
    ranks: dict[str, int] = {}
    not_recommended = []
    for application_id in listed:
        rank = typed.whole(f"rank_{application_id}", 1, 1000, what=visit.say("The order number"))
        if rank is not None:
            ranks[application_id] = rank
            continue
        reasons = typed.lines(f"reasons_{application_id}", UNRANKED)
        not_recommended.append({"application_id": application_id, "reasons": reasons})
    if len(set(ranks.values())) != len(ranks):
        raise typed.refused("candidates", SAME_RANK)
    quota = typed.whole("quota", 1, 1000, what=visit.say("The quota"))
    return {
        "ranked": sorted(ranks, key=lambda app: ranks[app]),
        "not_recommended": not_recommended,
        "quota": quota,
    }


@router.post("/review/rankings/{call_id}")
async def submit_ranking(visit: CurrentVisit, form: Form, call_id: Id) -> Response:
    visit.require(Role.PROVINCE_REVIEWER)
    typed = Typed(visit, form)
    declares_none(typed)
    body = _ranked_list(visit, typed)
    # The declaration first (a second one changes nothing), then the list, keyed by the form.
    await declare_none(visit, f"/calls/{call_id}/ranking/declarations")
    await visit.send("review", f"/calls/{call_id}/ranking", form, json=body)
    return visit.done(
        "The ranked recommendation list is submitted to the CAST international liaison "
        "department; it is final.",
        f"/review/rankings/{call_id}",
    )


@router.post("/review/rankings/{call_id}/declaration")
async def declare_for_ranking(visit: CurrentVisit, form: Form, call_id: Id) -> Response:
    """A conflict of interest with a candidate: the officer is recused from the ranking."""
    visit.require(Role.PROVINCE_REVIEWER)
    body = recusal(Typed(visit, form))
    await visit.send("review", f"/calls/{call_id}/ranking/declarations", form, json=body)
    return visit.done(
        "You declared a conflict of interest and are recused from this ranking: another "
        "officer will submit it.",
        f"/review/rankings/{call_id}",
    )


# --- renewal requests (Art. 14) ---------------------------------------------------------------


def _renewal_acts(visit: Visit, renewal: Json) -> list[str]:
    person = visit.person
    if renewal.get("status") != "in_review":
        return []
    if renewal.get("level") == "province" and person.has(Role.PROVINCE_REVIEWER):
        return ["forward", "return"]
    if renewal.get("level") == "national" and person.has(Role.NATIONAL_REVIEWER):
        return ["assessment-request"]
    return []


@router.get("/review/renewals/{renewal_id}")
async def renewal_page(visit: CurrentVisit, renewal_id: Id) -> Response:
    visit.require(*REVIEWERS)
    renewal = await visit.get("review", f"/renewals/{renewal_id}")
    return visit.page(
        "reviews/renewal.html",
        **_context(visit, renewal=renewal, acts=_renewal_acts(visit, renewal)),
    )


async def _renewal_act(
    visit: Visit, form: FormData, renewal_id: str, act: str, body: Json, message: str
) -> Response:
    """An act on the renewal request, on the reviewer's declaration of no conflict."""
    declares_none(Typed(visit, form))
    await declare_none(visit, f"/renewals/{renewal_id}/declarations")
    await visit.send("review", f"/renewals/{renewal_id}/{act}", form, json=body)
    return visit.done(message, f"/review/renewals/{renewal_id}")


@router.post("/review/renewals/{renewal_id}/forward")
async def forward_renewal(visit: CurrentVisit, form: Form, renewal_id: Id) -> Response:
    visit.require(Role.PROVINCE_REVIEWER)
    return await _renewal_act(
        visit,
        form,
        renewal_id,
        "forward",
        {"opinion": text(form, "opinion")},
        N_("The renewal request is passed on to the CAST international liaison department."),
    )


@router.post("/review/renewals/{renewal_id}/return")
async def return_renewal(visit: CurrentVisit, form: Form, renewal_id: Id) -> Response:
    visit.require(Role.PROVINCE_REVIEWER)
    return await _renewal_act(
        visit,
        form,
        renewal_id,
        "return",
        {"reasons": Typed(visit, form).lines("reasons", REASONS)},
        N_("The renewal request is returned to the unit for completion, with your reasons."),
    )


@router.post("/review/renewals/{renewal_id}/assessment-request")
async def request_renewal_assessment(visit: CurrentVisit, form: Form, renewal_id: Id) -> Response:
    visit.require(Role.NATIONAL_REVIEWER)
    return await _renewal_act(
        visit,
        form,
        renewal_id,
        "assessment-request",
        {},
        N_("The renewal assessment is asked for: it appears among the renewal assessments."),
    )


@router.post("/review/renewals/{renewal_id}/declaration")
async def declare_for_renewal(visit: CurrentVisit, form: Form, renewal_id: Id) -> Response:
    """A conflict of interest with the unit: the reviewer is recused from the renewal."""
    visit.require(*REVIEWERS)
    body = recusal(Typed(visit, form))
    await visit.send("review", f"/renewals/{renewal_id}/declarations", form, json=body)
    return visit.done(
        "You declared a conflict of interest and are recused from this renewal request: "
        "another reviewer will take it.",
        f"/review/renewals/{renewal_id}",
    )
