"""The annual assessment of the designated bases (年度考核, Art. 10–14), as its officials do it.

Each year end a base files its work summary and next year's plan; its local CAST (the
prefecture's on the `via_prefecture` route, else the province's) forwards it to the national
department (Art. 10), which scores the five criteria of Art. 11. The scores suggest a grade
(our policy's weights and thresholds, not the Measures'); the department proposes that grade
or another with a written reason, then the year's list (等次名单); the leading group approves
it or amends grades, each amendment with its reason (Art. 12), and the grades are final. An
unqualified grade orders rectification (整改) by a deadline, which the department accepts or
rejects with reasons; two unqualified years in a row propose the revocation (撤销) the leading
group confirms (Art. 13). Near the term's end the department assesses a renewal (续期考核,
Art. 14), the term's grades as its evidence.

Orders, rectifications and revocations start in the assessment service itself; what they cause
elsewhere (a held or cancelled subsidy instalment, a renewal at the general office) arrives
later, and the pages say so.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from shared.auth import Role

from ..fields import Id, Refusal, Typed, Year, back
from ..i18n import N_
from ..paging import every, record
from ..visit import CurrentVisit, Form, NavItem, Visit
from .decisions import GRADES, MEETING_DATE, MEETING_REF

LOCAL_CAST = (Role.PREFECTURE_REVIEWER, Role.PROVINCE_REVIEWER)
#: Who reads the bases' years: the officials who act on them, and the auditor.
READERS = (*LOCAL_CAST, Role.NATIONAL_REVIEWER, Role.LEADING_GROUP, Role.AUDITOR)
LIST_READERS = (Role.NATIONAL_REVIEWER, Role.LEADING_GROUP, Role.AUDITOR)
RENEWAL_READERS = (Role.NATIONAL_REVIEWER, Role.GENERAL_OFFICE, Role.AUDITOR)

router = APIRouter()
NAV: list[NavItem] = [
    NavItem(N_("Assessment"), "/assessment", frozenset({Role.NATIONAL_REVIEWER})),
    NavItem(N_("Annual reports"), "/assessment", frozenset(LOCAL_CAST)),
    NavItem(
        N_("Grade lists"), "/grade-lists", frozenset({Role.NATIONAL_REVIEWER, Role.LEADING_GROUP})
    ),
]

#: Art. 11's five criteria, in the article's order: the short name, and the criterion.
CRITERIA: dict[str, tuple[str, str]] = {
    "annual_plan": (
        N_("Annual plan"),
        N_(
            "Art. 11(1): an annual talent plan made from the base's construction plan, and its "
            "tasks done"
        ),
    ),
    "local_activities": (
        N_("Local talent activities"),
        N_(
            "Art. 11(2): part taken in the talent activities of the local government and CAST, "
            "and the tasks they assigned done"
        ),
    ),
    "resource_library": (
        N_("HaiZhi resource library"),
        N_(
            "Art. 11(3): the HaiZhi resource library (overseas S&T societies, HaiZhi projects, "
            "overseas high-level talent) built and kept current, secure, accurate and effective"
        ),
    ),
    "project_follow_up": (
        N_("Follow-up of landed projects"),
        N_("Art. 11(4): landed projects followed up and served"),
    ),
    "overseas_channels": (
        N_("Overseas channels"),
        N_("Art. 11(5): channels to overseas S&T organisations widened or deepened"),
    ),
}
REPORT_STATUSES = {
    "not_open": N_("Reporting not open"),
    "open": N_("Open: not yet filed"),
    "filed": N_("Filed: awaiting the local CAST"),
    "forwarded": N_("Forwarded to the national department"),
}
RECTIFICATIONS = {
    "ordered": N_("Ordered: awaiting the unit's rectification report"),
    "reported": N_("Reported: awaiting the department's decision"),
    "accepted": N_("Rectification accepted"),
}
#: A rectification still open when the designation ended: nothing waits for it any more.
ENDED_WITH_DESIGNATION = N_("Closed: the designation has ended")
BASE_STATUSES = {
    "active": N_("Designated"),
    "revoked": N_("Designation revoked"),
    "expired": N_("Designation expired"),
}
ENDINGS = {
    "revoked": N_("Revoked (Art. 13)"),
    "term_ended": N_("The term ended without renewal"),
    "renewal_refused": N_("Renewal refused"),
    "renewal_withdrawn": N_("Renewal request withdrawn after the term"),
}
RENEWAL_STATES = {
    "pending": N_("Awaiting the renewal assessment"),
    "assessed": N_("Assessed"),
    "closed": N_("Closed without an answer"),
}
#: Art. 10: the annual work summary's parts, and the rest of the report.
SUMMARY = {
    "talent_introduced": N_("Talent introduction"),
    "projects_landed": N_("Projects landed"),
    "academic_exchanges": N_("Academic exchanges"),
    "technical_innovation": N_("Technical innovation"),
    "difficulties": N_("Difficulties and problems met"),
}
LIBRARY = {
    "overseas_societies": N_("Overseas S&T societies"),
    "haizhi_projects": N_("HaiZhi projects"),
    "overseas_talents": N_("Overseas high-level talent"),
}
_YEAR = re.compile(r"^[0-9]{4}$")
_BASE_STATUS_FILTERS = ("active", "revoked", "expired")


def _labels() -> dict[str, Any]:
    return {
        "grades": GRADES,
        "criteria": CRITERIA,
        "report_statuses": REPORT_STATUSES,
        "rectifications": RECTIFICATIONS,
        "ended_with_designation": ENDED_WITH_DESIGNATION,
        "base_statuses": BASE_STATUSES,
        "endings": ENDINGS,
        "renewal_states": RENEWAL_STATES,
        "summary_parts": SUMMARY,
        "library_parts": LIBRARY,
    }


#: What the department's and the leading group's forms are refused for.
SCORE = Refusal(
    N_("The score of “%(criterion)s” is not a whole number from 0 to 100."),
    N_("Enter each criterion's score as a whole number from 0 to 100."),
)
GRADE = Refusal(
    N_("Choose the grade to propose."),
    N_("Choose excellent, qualified or unqualified, then send again."),
)
RECTIFICATION_REJECTED = Refusal(
    N_("Give the reasons for rejecting the rectification report, one per line."),
    N_("Say what the unit must still put right (at most 1,000 characters a line)."),
)
#: The leading group's meeting, as its decisions on the designations are refused for: the
#: assessment service keeps a reference of at most 100 characters.
LIST_MEETING_REF = replace(
    MEETING_REF, message=N_("Enter the meeting's reference (at most 100 characters).")
)
AMENDMENT = Refusal(
    N_("The amended grade of %(unit)s needs its reason."),
    N_("State why the leading group sets another grade, or keep the proposed one."),
)
RENEWAL_ANSWER = Refusal(
    N_("Choose whether the base is qualified for renewal."),
    N_("Choose qualified or not qualified, give the reasons and send again."),
)
RENEWAL_REASONS = Refusal(
    N_("Give the assessment's reasons, one per line."),
    N_("Every renewal assessment states its reasons (at most 20 lines)."),
)


def year_of(value: str | None) -> int | None:
    """A year the services know (2000–2100), else None: a filter of the lists."""
    if value is None or not _YEAR.fullmatch(value):
        return None
    year = int(value)
    return year if 2000 <= year <= 2100 else None


def _base_path(base_id: str) -> str:
    return f"/assessment/bases/{quote(base_id, safe='')}"


async def _years(visit: Visit, base_id: str) -> list[dict[str, Any]]:
    return await every(visit, "assessment", f"/bases/{quote(base_id, safe='')}/years")


async def _bases_with_years(
    visit: Visit, status: str | None
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every base in reach (of `status`, or all) with its years: two calls whatever the
    number of bases (the bases, and every base's years in one list), asked at once."""
    bases, years = await asyncio.gather(
        every(visit, "assessment", "/bases", status=status),
        every(visit, "assessment", "/bases/years", status=status),
    )
    by_base: dict[str, list[dict[str, Any]]] = {}
    for row in years:
        by_base.setdefault(row["base_id"], []).append(row)
    return [(base, by_base.get(base["base_id"], [])) for base in bases]


def _current_year(rows: list[dict[str, Any]]) -> int | None:
    """The year the campaign is about by default: the latest whose reporting has opened (or
    that was scored), else the latest year at all."""
    opened = [r["year"] for r in rows if r["report_status"] != "not_open" or r["scores"]]
    every_year = [r["year"] for r in rows]
    return max(opened or every_year) if every_year else None


# --- the year's campaign ------------------------------------------------------------------


@router.get("/assessment")
async def campaign(
    visit: CurrentVisit, year: str | None = None, status: str | None = None
) -> Response:
    """Every base in reach and where its year stands: filed, forwarded, overdue, scored,
    graded; and what waits across years: rectifications, revocations, renewals."""
    person = visit.require(*READERS)
    chosen_status = status if status in _BASE_STATUS_FILTERS else "active"
    found = await _bases_with_years(visit, chosen_status)
    all_rows = [row for _, rows in found for row in rows]
    chosen = year_of(year) or _current_year(all_rows)
    campaign_rows = [
        (base, next((r for r in rows if r["year"] == chosen), None)) for base, rows in found
    ]
    rectifying = [
        (base, row)
        for base, rows in found
        for row in rows
        if row["rectification_status"] in ("ordered", "reported")
    ]
    counts = {
        "bases": len(campaign_rows),
        "open": sum(1 for _, r in campaign_rows if r and r["report_status"] == "open"),
        "filed": sum(1 for _, r in campaign_rows if r and r["report_status"] == "filed"),
        "forwarded": sum(1 for _, r in campaign_rows if r and r["report_status"] == "forwarded"),
        "overdue": sum(1 for _, r in campaign_rows if r and r["report_overdue"]),
        "scored": sum(1 for _, r in campaign_rows if r and r["scores"]),
        "final": sum(1 for _, r in campaign_rows if r and r["final_grade"]),
    }
    pending_renewals = None
    if person.has(Role.NATIONAL_REVIEWER):
        pending_renewals = len(await every(visit, "assessment", "/renewal-assessments"))
    return visit.page(
        "assessment/campaign.html",
        year=chosen,
        years=sorted({r["year"] for r in all_rows}, reverse=True),
        base_status=chosen_status,
        base_filters=_BASE_STATUS_FILTERS,
        rows=campaign_rows,
        counts=counts,
        rectifying=rectifying,
        revocations=[base for base, _ in found if base.get("revocation_proposed_for")],
        pending_renewals=pending_renewals,
        is_national=person.has(Role.NATIONAL_REVIEWER),
        is_local=person.has(*LOCAL_CAST),
        base_path=_base_path,
        **_labels(),
    )


# --- one base, one year -------------------------------------------------------------------


@router.get("/assessment/bases/{base_id}")
async def base(visit: CurrentVisit, base_id: Id) -> Response:
    """The base's term and years; the leading group confirms a proposed revocation here."""
    person = visit.require(*READERS)
    found, rows = await asyncio.gather(
        visit.get("assessment", f"/bases/{base_id}"), _years(visit, base_id)
    )
    return visit.page(
        "assessment/base_detail.html",
        base=found,
        rows=rows,
        # A revoked or expired base has no revocation waiting any more.
        revocation_years=[
            y
            for y in (found.get("revocation_proposed_for") or "").split(",")
            if y and found["status"] == "active"
        ],
        may_revoke=person.has(Role.LEADING_GROUP) and found["status"] == "active",
        base_path=_base_path,
        **_labels(),
    )


def _score_blocked(row: dict[str, Any]) -> str | None:
    """Why the year cannot be scored now (an English msgid), or None."""
    if row["final_grade"]:
        return N_("The year's grade is final: it can no longer be scored.")
    if row["report_status"] == "filed":
        return N_(
            "The report waits for the base's local CAST to forward it (Art. 10): it cannot be "
            "scored before."
        )
    if row["report_status"] in ("open", "not_open") and not row["report_overdue"]:
        return N_(
            "The report is not filed yet. A missing report can be scored (as unqualified) only "
            "after its due day."
        )
    return None


@router.get("/assessment/bases/{base_id}/years/{year}")
async def base_year(visit: CurrentVisit, base_id: Id, year: Year) -> Response:
    """The year's report and what each official may do with it now, or why not."""
    person = visit.require(*READERS)
    found, rows = await asyncio.gather(
        visit.get("assessment", f"/bases/{base_id}"), _years(visit, base_id)
    )
    row = next((r for r in rows if r["year"] == year), None)
    if row is None:
        raise HTTPException(404)
    national = person.has(Role.NATIONAL_REVIEWER)
    active = found["status"] == "active"
    return visit.page(
        "assessment/year.html",
        base=found,
        row=row,
        report=row.get("report") or None,
        may_forward=person.has(*LOCAL_CAST) and active,
        is_national=national and active,
        score_blocked=_score_blocked(row),
        base_path=_base_path,
        **_labels(),
    )


@router.post("/assessment/bases/{base_id}/years/{year}/forwarding")
async def forward(visit: CurrentVisit, form: Form, base_id: Id, year: Year) -> Response:
    """Art. 10: the local CAST passes the base's report on to the national department."""
    visit.require(*LOCAL_CAST)
    await visit.send("assessment", f"/bases/{base_id}/years/{year}/forwarding", form)
    return visit.done(
        "The annual report is forwarded to the national department.",
        f"{_base_path(base_id)}/years/{year}",
    )


@router.post("/assessment/bases/{base_id}/years/{year}/score")
async def score(visit: CurrentVisit, form: Form, base_id: Id, year: Year) -> Response:
    """Art. 11: the five criteria, each 0–100; the service suggests and proposes a grade."""
    visit.require(Role.NATIONAL_REVIEWER)
    typed = Typed(visit, form)
    scores = {
        criterion: typed.whole(criterion, 0, 100, SCORE, required=True, criterion=visit.say(name))
        for criterion, (name, _) in CRITERIA.items()
    }
    await visit.send("assessment", f"/bases/{base_id}/years/{year}/score", form, json=scores)
    return visit.done(
        "The scores are recorded, and the suggested grade is proposed for the year.",
        f"{_base_path(base_id)}/years/{year}",
    )


@router.post("/assessment/bases/{base_id}/years/{year}/grade-proposal")
async def propose_grade(visit: CurrentVisit, form: Form, base_id: Id, year: Year) -> Response:
    """Art. 12: the department's grade; another than the suggestion needs a written reason."""
    visit.require(Role.NATIONAL_REVIEWER)
    typed = Typed(visit, form)
    body = {"grade": typed.choice("grade", GRADES, GRADE), "reason": typed.text("reason")}
    path = f"/bases/{base_id}/years/{year}/grade-proposal"
    await visit.send("assessment", path, form, json=body)
    return visit.done(
        "The grade is proposed. If the year's list was already proposed, propose the list again.",
        f"{_base_path(base_id)}/years/{year}",
    )


@router.post("/assessment/bases/{base_id}/rectifications/{rectification_id}/acceptance")
async def accept_rectification(
    visit: CurrentVisit, form: Form, base_id: Id, rectification_id: Id
) -> Response:
    visit.require(Role.NATIONAL_REVIEWER)
    path = f"/bases/{base_id}/rectifications/{rectification_id}/acceptance"
    await visit.send("assessment", path, form)
    return visit.done(
        "The rectification is accepted. The subsidy held for it is released by the funding "
        "service shortly.",
        back(form, _base_path(base_id)),
    )


@router.post("/assessment/bases/{base_id}/rectifications/{rectification_id}/rejection")
async def reject_rectification(
    visit: CurrentVisit, form: Form, base_id: Id, rectification_id: Id
) -> Response:
    visit.require(Role.NATIONAL_REVIEWER)
    reasons = Typed(visit, form).lines("reasons", RECTIFICATION_REJECTED, longest=1000)
    path = f"/bases/{base_id}/rectifications/{rectification_id}/rejection"
    await visit.send("assessment", path, form, json={"reasons": reasons})
    return visit.done(
        "The rectification report is rejected; the unit is told your reasons and reports again.",
        back(form, _base_path(base_id)),
    )


@router.post("/assessment/bases/{base_id}/revocation")
async def confirm_revocation(visit: CurrentVisit, form: Form, base_id: Id) -> Response:
    """Art. 13: the leading group confirms the revocation the second unqualified year proposed."""
    visit.require(Role.LEADING_GROUP)
    body = {"meeting_ref": Typed(visit, form).text("meeting_ref", LIST_MEETING_REF, most=100)}
    await visit.send("assessment", f"/bases/{base_id}/revocation", form, json=body)
    return visit.done(
        "The revocation is confirmed: the base's designation is revoked. Its unpaid subsidy "
        "instalments are cancelled by the funding service shortly.",
        _base_path(base_id),
    )


# --- the grade lists ----------------------------------------------------------------------


@router.get("/grade-lists")
async def grade_lists(visit: CurrentVisit, year: str | None = None) -> Response:
    """Choose a year; the years with grades proposed or final are offered."""
    visit.require(*LIST_READERS)
    chosen = year_of(year)
    if chosen is not None:
        return visit.redirect(f"/grade-lists/{chosen}")
    found = await _bases_with_years(visit, None)
    graded: dict[int, dict[str, int]] = {}
    for _, rows in found:
        for row in rows:
            if row["proposed_grade"] or row["final_grade"]:
                tally = graded.setdefault(row["year"], {"proposed": 0, "final": 0})
                tally["final" if row["final_grade"] else "proposed"] += 1
    return visit.page(
        "assessment/grade_lists.html",
        graded=sorted(graded.items(), reverse=True),
        asked=year,
        **_labels(),
    )


async def _grade_list(visit: Visit, year: int) -> dict[str, Any] | None:
    """The year's list with all its entries, or None while none is proposed."""
    return await record(visit, "assessment", f"/grade-lists/{year}", items="entries")


@router.get("/grade-lists/{year}")
async def grade_list(visit: CurrentVisit, year: Year) -> Response:
    """The year's list: base, unit, suggested, proposed and final grades, and the acts on it."""
    person = visit.require(*LIST_READERS)
    found = await _grade_list(visit, year)
    due: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if found is None or found["status"] == "proposed":
        # The bases the service will put on the list: active ones whose year has a record.
        for base, rows in await _bases_with_years(visit, "active"):
            row = next((r for r in rows if r["year"] == year), None)
            if row is not None and not row["final_grade"]:
                due.append((base, row))
    unscored = [base for base, row in due if not row["proposed_grade"]]
    return visit.page(
        "assessment/grade_list.html",
        year=year,
        head=found,
        entries=found["entries"] if found is not None else [],
        due=due,
        unscored=unscored,
        is_national=person.has(Role.NATIONAL_REVIEWER),
        is_leading_group=person.has(Role.LEADING_GROUP),
        base_path=_base_path,
        **_labels(),
    )


@router.post("/grade-lists/{year}/proposal")
async def propose_list(visit: CurrentVisit, form: Form, year: Year) -> Response:
    """Art. 12: the department proposes the list of every base due that year."""
    visit.require(Role.NATIONAL_REVIEWER)
    await visit.send("assessment", f"/grade-lists/{year}/proposal", form, json={})
    return visit.done(
        "The grade list is proposed to the leading group for its approval.", f"/grade-lists/{year}"
    )


@router.post("/grade-lists/{year}/approval")
async def approve_list(visit: CurrentVisit, form: Form, year: Year) -> Response:
    """Art. 12: the leading group approves the list, amending grades each with its reason."""
    visit.require(Role.LEADING_GROUP)
    typed = Typed(visit, form)
    meeting_ref = typed.text("meeting_ref", LIST_MEETING_REF, most=100)
    meeting_date = typed.day("meeting_date", MEETING_DATE)
    found = await _grade_list(visit, year)
    amendments = []
    for entry in found["entries"] if found is not None else []:
        grade = typed.text(f"grade-{entry['base_id']}")
        if not grade or grade == entry["grade"]:
            continue
        reason = typed.text(f"reason-{entry['base_id']}")
        if grade not in GRADES or not reason:
            raise typed.refused(f"reason-{entry['base_id']}", AMENDMENT, unit=entry["unit_name"])
        amendments.append({"base_id": entry["base_id"], "grade": grade, "reason": reason})
    body = {
        "meeting_ref": meeting_ref,
        "meeting_date": meeting_date.isoformat(),
        "amendments": amendments,
    }
    await visit.send("assessment", f"/grade-lists/{year}/approval", form, json=body)
    return visit.done(
        "The grade list is approved: the grades are final. Unqualified bases are ordered to "
        "rectify.",
        f"/grade-lists/{year}",
    )


# --- renewal assessments (Art. 14) --------------------------------------------------------


@router.get("/renewal-assessments")
async def renewal_assessments(visit: CurrentVisit, status: str | None = None) -> Response:
    visit.require(*RENEWAL_READERS)
    chosen = status if status in RENEWAL_STATES else "pending"
    items = await every(visit, "assessment", "/renewal-assessments", status=chosen)
    return visit.page("assessment/renewals.html", items=items, renewal_state=chosen, **_labels())


@router.get("/renewal-assessments/{base_id}/{renewal_id}")
async def renewal_assessment(visit: CurrentVisit, base_id: Id, renewal_id: Id) -> Response:
    """The request's evidence — the term's final grades, rectifications still open, a
    proposed revocation — and the department's answer."""
    person = visit.require(*RENEWAL_READERS)
    found = await visit.get("assessment", f"/bases/{base_id}/renewal-assessments/{renewal_id}")
    return visit.page(
        "assessment/renewal.html",
        item=found,
        may_assess=person.has(Role.NATIONAL_REVIEWER) and found["status"] == "pending",
        base_path=_base_path,
        **_labels(),
    )


@router.post("/renewal-assessments/{base_id}/{renewal_id}")
async def assess_renewal(visit: CurrentVisit, form: Form, base_id: Id, renewal_id: Id) -> Response:
    visit.require(Role.NATIONAL_REVIEWER)
    here = f"/renewal-assessments/{base_id}/{renewal_id}"
    typed = Typed(visit, form)
    qualified = typed.choice("qualified", ("yes", "no"), RENEWAL_ANSWER) == "yes"
    reasons = typed.lines("reasons", RENEWAL_REASONS, most=20, longest=2000)
    path = f"/bases/{base_id}/renewal-assessments/{renewal_id}"
    await visit.send("assessment", path, form, json={"qualified": qualified, "reasons": reasons})
    if qualified:
        return visit.done(
            "The renewal assessment is recorded: qualified. The general office awards the plaque "
            "again once the review service has it (being processed).",
            here,
        )
    return visit.done(
        "The renewal assessment is recorded: not qualified. The renewal is refused.", here
    )
