"""The HaiZhi leading group's and the CAST general office's pages (Art. 7(3), 8, 14).

The leading group (海智计划领导小组) decides the cases the national department forwarded: a
member declares no conflict of interest (利益冲突声明) before the dossier is shown, reads it —
the submitted Annex 2 form, the files and their hashes, the opinions of every level so far —
and records the meeting's decision (approve, return for revision 退回修改, or reject 不予通过)
together with the hashes of the dossier it relied on. The general office (中国科协办公厅) then
issues the approval (批复) and awards the plaque (牌匾): the base is designated, with its
certificate number; and after a qualified renewal assessment it awards the plaque again for a
new term (续期).

The leading group's other decisions — the yearly grade lists and the revocations (撤销) —
are on the assessment pages (`web.pages.assessment`); this module's queue links to them.
Helpers both modules use (ids, fields, a refusal of the console's own) are here.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Awaitable
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from shared.auth import Role

from ..backend import ServiceProblem
from ..i18n import N_
from ..visit import CurrentVisit, Form, NavItem, Visit, local_path

T = TypeVar("T")

router = APIRouter()
NAV: list[NavItem] = [
    NavItem(N_("Decisions"), "/decisions", frozenset({Role.LEADING_GROUP})),
    NavItem(N_("Approvals"), "/approvals", frozenset({Role.GENERAL_OFFICE})),
]

#: What the services' ids look like (ULIDs and the like); anything else is no page of ours.
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
_PAGE = 100  # the services' largest page
_MAX_PAGES = 50  # a bound on following cursors, so that a page never loops

LEVELS = {
    "prefecture": N_("Prefecture CAST"),
    "province": N_("Provincial CAST"),
    "province_recommendation": N_("Provincial CAST recommendation"),
    "provincial_decision": N_("Provincial CAST decision"),
    "national": N_("National department"),
    "leading_group": N_("Leading group"),
    "general_office": N_("General office"),
}
ROUTES = {
    "direct": N_("Direct to the provincial CAST"),
    "via_prefecture": N_("Via the prefecture CAST"),
}
REVIEW_STATUSES = {
    "in_review": N_("In review"),
    "returned": N_("Returned for revision"),
    "rejected": N_("Not approved"),
    "designated": N_("Designated"),
    "closed": N_("Closed"),
}
OUTCOMES = {
    "approve": N_("Approve the designation"),
    "return": N_("Return for revision"),
    "reject": N_("Do not approve"),
}
#: Art. 12's grades (优秀, 合格, 不合格): the renewal's evidence here, the assessment pages'.
GRADES = {
    "excellent": N_("Excellent"),
    "qualified": N_("Qualified"),
    "unqualified": N_("Unqualified"),
}
RENEWAL_STATUSES = {
    "in_review": N_("In review"),
    "returned": N_("Returned for completion"),
    "awaiting_assessment": N_("Awaiting the renewal assessment"),
    "granted": N_("Renewed"),
    "refused": N_("Renewal refused"),
    "withdrawn": N_("Withdrawn"),
}
#: The Annex 2 form (附件2 申报表) as it is shown: each field's label as the form writes it.
ANNEX2_FIELDS = {
    "base_location": N_("Base location"),
    "host_unit": N_("Host unit"),
    "address": N_("Address"),
    "telephone": N_("Telephone"),
    "fax": N_("Fax"),
    "contact_person": N_("Standing contact person"),
    "email": N_("Email"),
    "postcode": N_("Postcode"),
    "overview_basic_conditions": N_("Overview 1. Basic conditions"),
    "overview_advantages": N_("Overview 2. Advantages"),
    "overview_description": N_("Overview 3. Brief description"),
    "overview_expected_goals": N_("Overview 4. Expected goals"),
    "office_space": N_("Office space"),
    "matching_funds_wan": N_("Matching funds (10,000 CNY)"),
    "self_raised_funds_wan": N_("Self-raised funds (10,000 CNY)"),
    "opinion_text": N_("Opinion of the filling unit"),
    "opinion_responsible_person": N_("Opinion: responsible person"),
    "opinion_title": N_("Title of the responsible person"),
    "opinion_date": N_("Date of the opinion"),
    "declares_organisation": N_("Art. 6(1): organisation, rules and staff in place"),
    "declares_overseas_channels": N_("Art. 6(2): overseas channels"),
    "declares_government_support": N_("Art. 6(3): local government support"),
}
MATERIALS = {
    "support_letter": N_("Support letter of the local government"),
    "construction_plan": N_("Base construction plan"),
    "overseas_cooperation": N_("Overseas organisations and scientists contacted, with proof"),
    "policy_measures": N_("Supporting policy measures of the local government"),
    "signed_form": N_("Signed and sealed form page"),
}
#: The steps of a review's history worth showing the deciders, and how each is told.
STEPS = {
    "ReviewOpened": N_("Submitted"),
    "ReviewReopened": N_("Resubmitted after revision"),
    "ForwardedToProvince": N_("Reviewed and forwarded by the prefecture CAST"),
    "ReturnedToPrefecture": N_("Returned to the prefecture CAST"),
    "AcceptedAtProvince": N_("Accepted at intake by the provincial CAST"),
    "Recommended": N_("Recommended by the provincial CAST"),
    "ForwardedToLeadingGroup": N_("Preliminary review passed by the national department"),
    "LeadingGroupDecided": N_("Decided by the leading group"),
    "ApplicationReturned": N_("Returned for revision"),
    "ApplicationRejected": N_("Not approved"),
    "BaseDesignated": N_("Approval issued and plaque awarded"),
}


# --- helpers of both modules ----------------------------------------------------------------


def checked_id(value: str) -> str:
    """`value` if it can be a service's id, else this is no page (404), never a call."""
    if not _ID.fullmatch(value):
        raise HTTPException(404)
    return value


def field(form: FormData, name: str) -> str:
    """A field's text as typed, trimmed (never normalised: Chinese punctuation is kept)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def lines(form: FormData, name: str) -> list[str]:
    """A text area's lines, one entry a line, blank lines dropped."""
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def date_of(typed: str) -> date | None:
    """A date typed as YYYY-MM-DD (a date field's value; full-width digits too), else None."""
    typed = unicodedata.normalize("NFKC", typed).strip()
    if not _DATE.fullmatch(typed):
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        return None


def refuse(visit: Visit, form: FormData, message: str, next_step: str, to: str) -> RedirectResponse:
    """The console's own refusal of a field it cannot read (`message` and `next_step` already
    in the visitor's language), told on the page the form came from."""
    visit.session.flash("error", message, next_step)
    back = form.get("back")
    return visit.redirect(local_path(back if isinstance(back, str) else None, to))


def quoted(value: str) -> str:
    return quote(value, safe="")


async def every(
    visit: Visit, service: str, path: str, items: str = "items", **params: str | int | None
) -> list[dict[str, Any]]:
    """Every item of a paged list of a service, following its cursors (within a bound)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = await visit.get(service, path, limit=_PAGE, cursor=cursor, **params)
        found.extend(page[items])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return found


async def declared(reading: Awaitable[T]) -> T | None:
    """What `reading` of the review service reads, or None while the person has not declared
    their (lack of a) conflict of interest: the service shows a case's content only after it."""
    try:
        return await reading
    except ServiceProblem as problem:
        if problem.status == 403 and problem.code == "conflict-declaration-missing":
            return None
        raise


async def _declare(visit: Visit, form: FormData, path: str, to: str) -> Response:
    """利益冲突声明: no conflict of interest, or one with its reason (the person is recused)."""
    conflict = field(form, "conflict") == "yes"
    reason = field(form, "reason")
    if conflict and not reason:
        return refuse(
            visit,
            form,
            visit.say("A declared conflict of interest needs its reason."),
            visit.say("Say what ties you to the unit, then send the declaration again."),
            to,
        )
    body = {"conflict": True, "reason": reason} if conflict else {"conflict": False}
    await visit.send("review", path, form, json=body)
    if conflict:
        return visit.done(
            "Your conflict of interest is recorded: you are recused from this case, and a "
            "colleague decides it.",
            to,
        )
    return visit.done("Your declaration of no conflict of interest is recorded.", to)


async def _history(visit: Visit, case_id: str) -> list[dict[str, Any]]:
    """The review's steps worth showing (submitted, forwarded, recommended, decided …)."""
    events = await every(visit, "review", f"/cases/{quoted(case_id)}/history", items="events")
    return [e for e in events if e["type"] in STEPS]


def _labels() -> dict[str, Any]:
    return {
        "levels": LEVELS,
        "routes": ROUTES,
        "statuses": REVIEW_STATUSES,
        "outcomes": OUTCOMES,
        "steps": STEPS,
        "renewal_statuses": RENEWAL_STATUSES,
    }


# --- the leading group: the cases awaiting its decision ------------------------------------


@router.get("/decisions")
async def decisions(visit: CurrentVisit) -> Response:
    """The cases at the leading group, and the revocations proposed for its confirmation."""
    visit.require(Role.LEADING_GROUP)
    queue = await visit.get("review", "/queue", limit=_PAGE)
    waiting = [r for r in queue["reviews"] if r["level"] == "leading_group"]
    bases = await every(visit, "assessment", "/bases", status="active")
    revocations = [b for b in bases if b.get("revocation_proposed_for")]
    return visit.page(
        "decisions/queue.html",
        waiting=waiting,
        more=bool(queue["next_cursors"].get("reviews")),
        revocations=revocations,
        **_labels(),
    )


@router.get("/decisions/{review_id}")
async def case(visit: CurrentVisit, review_id: str) -> Response:
    """One case: the declaration first; then the dossier, and the decision's form."""
    visit.require(Role.LEADING_GROUP)
    review_id = checked_id(review_id)
    review = await visit.get("review", f"/reviews/{review_id}")
    dossier = await declared(visit.get("review", f"/reviews/{review_id}/dossier"))
    context: dict[str, Any] = {}
    if dossier is not None:
        application, scores, history = await asyncio.gather(
            visit.get("application", f"/applications/{quoted(dossier['application_id'])}"),
            visit.get("review", f"/reviews/{review_id}/scores"),
            _history(visit, review["case_id"]),
        )
        submitted = application.get("submitted") or {}
        context = {
            "form": submitted.get("form") or {},
            "same_revision": submitted.get("revision") == dossier["revision"]
            and submitted.get("form_hash") == dossier["form_hash"],
            "scores": scores["levels"],
            "history": history,
            "file_hashes": " ".join(f["sha256"] for f in dossier["files"]),
        }
    return visit.page(
        "decisions/case.html",
        review=review,
        dossier=dossier,
        deciding=review["status"] == "in_review" and review["level"] == "leading_group",
        annex2=ANNEX2_FIELDS,
        materials=MATERIALS,
        **context,
        **_labels(),
    )


@router.get("/decisions/{review_id}/files/{sha256}")
async def dossier_file(visit: CurrentVisit, review_id: str, sha256: str) -> Response:
    """A file of the dossier, fetched with the member's own token (after the declaration)."""
    visit.require(Role.LEADING_GROUP, Role.GENERAL_OFFICE)
    review_id = checked_id(review_id)
    if not _HASH.fullmatch(sha256):
        raise HTTPException(404)
    dossier = await visit.get("review", f"/reviews/{review_id}/dossier")
    named = next((f for f in dossier["files"] if f["sha256"] == sha256), None)
    if named is None:
        raise HTTPException(404)
    path = f"/applications/{quoted(dossier['application_id'])}/files/{sha256}"
    download = await visit.download("application", path)
    filename = quote(download.filename or named["name"])
    return Response(
        download.content,
        media_type=download.media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


@router.post("/decisions/{review_id}/declaration")
async def declare(visit: CurrentVisit, form: Form, review_id: str) -> Response:
    visit.require(Role.LEADING_GROUP)
    review_id = checked_id(review_id)
    return await _declare(
        visit, form, f"/reviews/{review_id}/declarations", f"/decisions/{review_id}"
    )


@router.post("/decisions/{review_id}/decision")
async def decide(visit: CurrentVisit, form: Form, review_id: str) -> Response:
    """The meeting's decision, on the dossier the member read (its hashes come with the form)."""
    visit.require(Role.LEADING_GROUP)
    review_id = checked_id(review_id)
    here = f"/decisions/{review_id}"
    meeting_ref = field(form, "meeting_ref")
    meeting_date = date_of(field(form, "meeting_date"))
    members = lines(form, "members_present")
    outcome = field(form, "outcome")
    form_hash = field(form, "form_hash")
    file_hashes = field(form, "file_hashes").split()
    if not meeting_ref or len(meeting_ref) > 200:
        return refuse(
            visit,
            form,
            visit.say("Enter the meeting's reference (at most 200 characters)."),
            visit.say(
                "Give the reference of the leading group meeting that decided, then send again."
            ),
            here,
        )
    if meeting_date is None:
        return refuse(
            visit,
            form,
            visit.say("The meeting date is not a date."),
            visit.say("Enter the day of the meeting as YYYY-MM-DD, e.g. 2022-05-10."),
            here,
        )
    if not members or any(len(m) > 200 for m in members) or len(members) > 100:
        return refuse(
            visit,
            form,
            visit.say("Name the members present at the meeting, one per line."),
            visit.say("Enter each member's name on its own line, then send again."),
            here,
        )
    if outcome not in OUTCOMES:
        return refuse(
            visit,
            form,
            visit.say("Choose the meeting's decision."),
            visit.say("Choose approve, return for revision or do not approve, then send again."),
            here,
        )
    if not _HASH.fullmatch(form_hash) or not all(_HASH.fullmatch(h) for h in file_hashes):
        return refuse(
            visit,
            form,
            visit.say("The form did not say which dossier you read."),
            visit.say("Reload the case, read its dossier and send the decision from that page."),
            here,
        )
    body = {
        "meeting_ref": meeting_ref,
        "meeting_date": meeting_date.isoformat(),
        "members_present": members,
        "outcome": outcome,
        "form_hash": form_hash,
        "file_hashes": file_hashes,
        "reasons": lines(form, "reasons"),
    }
    await visit.send("review", f"/reviews/{review_id}/leading-group-decision", form, json=body)
    if outcome == "approve":
        return visit.done(
            "The leading group's approval is recorded. The general office now issues the "
            "approval and the plaque.",
            here,
        )
    if outcome == "return":
        return visit.done(
            "The case is returned to the applicant unit for revision, with your reasons.", here
        )
    return visit.done("The application is not approved; the unit is told your reasons.", here)


# --- the general office: approvals (批复) and plaques, renewals ------------------------------


@router.get("/approvals")
async def approvals(visit: CurrentVisit) -> Response:
    """The cases the leading group approved, and the renewals assessed qualified."""
    visit.require(Role.GENERAL_OFFICE)
    queue = await visit.get("review", "/queue", limit=_PAGE)
    return visit.page(
        "decisions/approvals.html",
        waiting=[r for r in queue["reviews"] if r["level"] == "general_office"],
        renewals=[r for r in queue["renewals"] if r["level"] == "general_office"],
        more=any(queue["next_cursors"].get(k) for k in ("reviews", "renewals")),
        **_labels(),
    )


def _decision_of(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    decided = [e["data"] for e in history if e["type"] == "LeadingGroupDecided"]
    return decided[-1] if decided else None


@router.get("/approvals/{review_id}")
async def approval(visit: CurrentVisit, review_id: str) -> Response:
    """One case: the declaration, the leading group's decision, then the approval's form;
    once issued, the base and its certificate."""
    visit.require(Role.GENERAL_OFFICE)
    review_id = checked_id(review_id)
    review = await visit.get("review", f"/reviews/{review_id}")
    history = await declared(_history(visit, review["case_id"]))
    return visit.page(
        "decisions/approval.html",
        review=review,
        has_declared=history is not None,
        decision=_decision_of(history or []),
        deciding=review["status"] == "in_review" and review["level"] == "general_office",
        **_labels(),
    )


@router.post("/approvals/{review_id}/declaration")
async def declare_for_approval(visit: CurrentVisit, form: Form, review_id: str) -> Response:
    visit.require(Role.GENERAL_OFFICE)
    review_id = checked_id(review_id)
    return await _declare(
        visit, form, f"/reviews/{review_id}/declarations", f"/approvals/{review_id}"
    )


@router.post("/approvals/{review_id}/approval")
async def issue_approval(visit: CurrentVisit, form: Form, review_id: str) -> Response:
    """批复 and 授牌: the base is designated; the page then shows its id and certificate."""
    visit.require(Role.GENERAL_OFFICE)
    review_id = checked_id(review_id)
    here = f"/approvals/{review_id}"
    approval_no = field(form, "approval_no")
    if not approval_no or len(approval_no) > 100:
        return refuse(
            visit,
            form,
            visit.say("Enter the approval's document number (at most 100 characters)."),
            visit.say("Copy the number from the approval document, e.g. 科协办函〔2022〕15号."),
            here,
        )
    await visit.send(
        "review", f"/reviews/{review_id}/approval", form, json={"approval_no": approval_no}
    )
    return visit.done(
        "The approval is issued and the plaque awarded: the base is designated.", here
    )


@router.get("/renewal-grants/{renewal_id}")
async def renewal(visit: CurrentVisit, renewal_id: str) -> Response:
    """A renewal request: the national department's renewal assessment, then the grant."""
    visit.require(Role.GENERAL_OFFICE)
    renewal_id = checked_id(renewal_id)
    found = await visit.get("review", f"/renewals/{renewal_id}")
    assessment = None
    if _ID.fullmatch(found["base_id"]):
        path = f"/bases/{found['base_id']}/renewal-assessments/{renewal_id}"
        assessment = await visit.find("assessment", path)
    return visit.page(
        "decisions/renewal.html",
        renewal=found,
        assessment=assessment,
        granting=found["level"] == "general_office" and found["status"] == "in_review",
        grade_names=GRADES,
        **_labels(),
    )


@router.post("/renewal-grants/{renewal_id}/declaration")
async def declare_for_renewal(visit: CurrentVisit, form: Form, renewal_id: str) -> Response:
    visit.require(Role.GENERAL_OFFICE)
    renewal_id = checked_id(renewal_id)
    return await _declare(
        visit, form, f"/renewals/{renewal_id}/declarations", f"/renewal-grants/{renewal_id}"
    )


@router.post("/renewal-grants/{renewal_id}/grant")
async def grant(visit: CurrentVisit, form: Form, renewal_id: str) -> Response:
    """The plaque again (重新授牌) for a new five-year term."""
    visit.require(Role.GENERAL_OFFICE)
    renewal_id = checked_id(renewal_id)
    here = f"/renewal-grants/{renewal_id}"
    if field(form, "no_conflict") != "yes":
        return refuse(
            visit,
            form,
            visit.say("Declare first that you have no conflict of interest with the unit."),
            visit.say(
                "Tick the declaration and grant again; if you have a conflict, declare it "
                "instead and leave the grant to a colleague."
            ),
            here,
        )
    # The declaration is repeatable and changes nothing the second time: its own key.
    await visit.send("review", f"/renewals/{renewal_id}/declarations", json={"conflict": False})
    await visit.send("review", f"/renewals/{renewal_id}/grant", form, json={})
    return visit.done("The renewal is granted: the plaque is awarded again for a new term.", here)
