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
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from shared.auth import Role

from ..annex2 import MATERIALS, standalone_labels
from ..declarations import declare, declare_none, declared, declares_none
from ..fields import Id, Refusal, Sha256, Typed, is_id, is_sha256
from ..i18n import N_
from ..paging import PAGE, every
from ..visit import CurrentVisit, Form, NavItem, Visit

router = APIRouter()
NAV: list[NavItem] = [
    NavItem(N_("Decisions"), "/decisions", frozenset({Role.LEADING_GROUP})),
    NavItem(N_("Approvals"), "/approvals", frozenset({Role.GENERAL_OFFICE})),
]

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


#: The leading group's meeting: its decisions here, its grade lists on the assessment pages.
MEETING_DATE = Refusal(
    N_("The meeting date is not a date."),
    N_("Enter the day of the meeting as YYYY-MM-DD, e.g. 2022-05-10."),
)
MEETING_REF = Refusal(
    N_("Enter the meeting's reference (at most 200 characters)."),
    N_("Give the reference of the leading group meeting that decided, then send again."),
)
MEMBERS = Refusal(
    N_("Name the members present at the meeting, one per line."),
    N_("Enter each member's name on its own line, then send again."),
)
OUTCOME = Refusal(
    N_("Choose the meeting's decision."),
    N_("Choose approve, return for revision or do not approve, then send again."),
)
DOSSIER_READ = Refusal(
    N_("The form did not say which dossier you read."),
    N_("Reload the case, read its dossier and send the decision from that page."),
)
APPROVAL_NO = Refusal(
    N_("Enter the approval's document number (at most 100 characters)."),
    N_("Copy the number from the approval document, e.g. 科协办函〔2022〕15号."),
)


async def _declare(visit: Visit, form: FormData, path: str, to: str) -> Response:
    """利益冲突声明: no conflict of interest, or one with its reason (the person is recused)."""
    return await declare(
        visit,
        form,
        path,
        to,
        clear=N_("Your declaration of no conflict of interest is recorded."),
        recused=N_(
            "Your conflict of interest is recorded: you are recused from this case, and a "
            "colleague decides it."
        ),
    )


def _quoted(value: str) -> str:
    return quote(value, safe="")


async def _history(visit: Visit, case_id: str) -> list[dict[str, Any]]:
    """The review's steps worth showing (submitted, forwarded, recommended, decided …)."""
    events = await every(visit, "review", f"/cases/{_quoted(case_id)}/history", items="events")
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
    queue = await visit.get("review", "/queue", limit=PAGE)
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
async def case(visit: CurrentVisit, review_id: Id) -> Response:
    """One case: the declaration first; then the dossier, and the decision's form."""
    visit.require(Role.LEADING_GROUP)
    review, dossier = await asyncio.gather(
        visit.get("review", f"/reviews/{review_id}"),
        declared(visit.get("review", f"/reviews/{review_id}/dossier")),
    )
    context: dict[str, Any] = {}
    if dossier is not None:
        application, scores, history = await asyncio.gather(
            visit.get("application", f"/applications/{_quoted(dossier['application_id'])}"),
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
        annex2=standalone_labels(visit.say, visit.t.language == "en"),
        materials=MATERIALS,
        **context,
        **_labels(),
    )


@router.get("/decisions/{review_id}/files/{sha256}")
async def dossier_file(visit: CurrentVisit, review_id: Id, sha256: Sha256) -> Response:
    """A file of the dossier, fetched with the member's own token (after the declaration)."""
    visit.require(Role.LEADING_GROUP, Role.GENERAL_OFFICE)
    dossier = await visit.get("review", f"/reviews/{review_id}/dossier")
    named = next((f for f in dossier["files"] if f["sha256"] == sha256), None)
    if named is None:
        raise HTTPException(404)
    path = f"/applications/{_quoted(dossier['application_id'])}/files/{sha256}"
    download = await visit.download("application", path)
    return visit.file(download, download.filename or named["name"])


@router.post("/decisions/{review_id}/declaration")
async def declare_for_decision(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(Role.LEADING_GROUP)
    return await _declare(
        visit, form, f"/reviews/{review_id}/declarations", f"/decisions/{review_id}"
    )


@router.post("/decisions/{review_id}/decision")
async def decide(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    """The meeting's decision, on the dossier the member read (its hashes come with the form)."""
    visit.require(Role.LEADING_GROUP)
    here = f"/decisions/{review_id}"
    typed = Typed(visit, form)
    body = {
        "meeting_ref": typed.text("meeting_ref", MEETING_REF, most=200),
        "meeting_date": typed.day("meeting_date", MEETING_DATE).isoformat(),
        "members_present": typed.lines("members_present", MEMBERS, most=100, longest=200),
        "outcome": typed.choice("outcome", OUTCOMES, OUTCOME),
        "form_hash": typed.text("form_hash"),
        "file_hashes": typed.text("file_hashes").split(),
        "reasons": typed.lines("reasons"),
    }
    if not is_sha256(body["form_hash"]) or not all(map(is_sha256, body["file_hashes"])):
        raise typed.refused("form_hash", DOSSIER_READ)
    await visit.send("review", f"/reviews/{review_id}/leading-group-decision", form, json=body)
    if body["outcome"] == "approve":
        return visit.done(
            "The leading group's approval is recorded. The general office now issues the "
            "approval and the plaque.",
            here,
        )
    if body["outcome"] == "return":
        return visit.done(
            "The case is returned to the applicant unit for revision, with your reasons.", here
        )
    return visit.done("The application is not approved; the unit is told your reasons.", here)


# --- the general office: approvals (批复) and plaques, renewals ------------------------------


@router.get("/approvals")
async def approvals(visit: CurrentVisit) -> Response:
    """The cases the leading group approved, and the renewals assessed qualified."""
    visit.require(Role.GENERAL_OFFICE)
    queue = await visit.get("review", "/queue", limit=PAGE)
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
async def approval(visit: CurrentVisit, review_id: Id) -> Response:
    """One case: the declaration, the leading group's decision, then the approval's form;
    once issued, the base and its certificate."""
    visit.require(Role.GENERAL_OFFICE)
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
async def declare_for_approval(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    visit.require(Role.GENERAL_OFFICE)
    return await _declare(
        visit, form, f"/reviews/{review_id}/declarations", f"/approvals/{review_id}"
    )


@router.post("/approvals/{review_id}/approval")
async def issue_approval(visit: CurrentVisit, form: Form, review_id: Id) -> Response:
    """批复 and 授牌: the base is designated; the page then shows its id and certificate."""
    visit.require(Role.GENERAL_OFFICE)
    approval_no = Typed(visit, form).text("approval_no", APPROVAL_NO, most=100)
    await visit.send(
        "review", f"/reviews/{review_id}/approval", form, json={"approval_no": approval_no}
    )
    return visit.done(
        "The approval is issued and the plaque awarded: the base is designated.",
        f"/approvals/{review_id}",
    )


@router.get("/renewal-grants/{renewal_id}")
async def renewal(visit: CurrentVisit, renewal_id: Id) -> Response:
    """A renewal request: the national department's renewal assessment, then the grant."""
    visit.require(Role.GENERAL_OFFICE)
    found = await visit.get("review", f"/renewals/{renewal_id}")
    assessment = None
    if is_id(found["base_id"]):
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
async def declare_for_renewal(visit: CurrentVisit, form: Form, renewal_id: Id) -> Response:
    visit.require(Role.GENERAL_OFFICE)
    return await _declare(
        visit, form, f"/renewals/{renewal_id}/declarations", f"/renewal-grants/{renewal_id}"
    )


@router.post("/renewal-grants/{renewal_id}/grant")
async def grant(visit: CurrentVisit, form: Form, renewal_id: Id) -> Response:
    """The plaque again (重新授牌) for a new five-year term, on the officer's declaration."""
    visit.require(Role.GENERAL_OFFICE)
    declares_none(Typed(visit, form))
    await declare_none(visit, f"/renewals/{renewal_id}/declarations")
    await visit.send("review", f"/renewals/{renewal_id}/grant", form, json={})
    return visit.done(
        "The renewal is granted: the plaque is awarded again for a new term.",
        f"/renewal-grants/{renewal_id}",
    )
