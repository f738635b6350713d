"""The applicant unit's pages: its registration, the open calls, its applications (the Annex 2
form, the materials, submission, the timeline) and, once designated, its base.

Everything here acts as the signed-in applicant (role `applicant`, the token's `org` is the
unit) through the application, review, assessment and funding services' HTTP APIs. The Annex 2
form saves with a plain "Save" button and, where JavaScript runs, field by field
(`static/autosave.js` posts the changed fields to the same route with `X-Requested-With` and
gets JSON back). Materials upload as plain multipart forms; `static/upload.js` sends the same
form with upload progress. The console reads an upload once (spooled to disk past 1 MB by
Starlette) and streams it on to the service in chunks, so no file is held in memory twice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect

from shared.auth import Role
from shared.multipart import BodyTooLarge, bounded_form
from shared.settings import ServiceSettings

from ..annex2 import (
    ANNEX2,
    FIELDS,
    GROUPS_ZH,
    LAYOUT,
    MATERIALS,
    OPTIONAL_FIELDS,
    SIGNED_FORM,
    FormField,
)
from ..backend import Json, ServiceProblem
from ..errors import Explanation, explain
from ..fields import Id, Sha256, Year, back, day_of, text, ticked, whole_of
from ..i18n import N_
from ..paging import PAGE, every
from ..session import CSRF_FIELD
from ..visit import (
    CST,
    CsrfRefused,
    CurrentVisit,
    Form,
    NavItem,
    Visit,
    deadline_text,
    local_path,
    size_text,
)

router = APIRouter()
_APPLICANT = frozenset({Role.APPLICANT})
NAV: list[NavItem] = [
    NavItem(N_("My unit"), "/unit", _APPLICANT),
    NavItem(N_("Calls"), "/apply", _APPLICANT),
    NavItem(N_("My applications"), "/applications", _APPLICANT),
    NavItem(N_("My base"), "/unit/bases", _APPLICANT),
]

#: The services' default attachment limit (`HAIZHI_ATTACHMENT_MAX_BYTES`): the console refuses
#: larger files itself, before sending a byte on; a service configured lower still answers 413.
UPLOAD_MAX_BYTES: int = ServiceSettings.model_fields["attachment_max_bytes"].default
_MULTIPART_ALLOWANCE = 64 * 1024  # boundaries, part headers and the small fields
_DRAIN_LIMIT = 4 * UPLOAD_MAX_BYTES  # read (and drop) a refused body up to this, then hang up


_WAN = re.compile(r"^\d{1,12}(\.\d{1,6})?$")  # 万元 to the fen: 1 fen = 0.000001 万元
_FEN_PER_WAN = Decimal(1_000_000)


# --- the registry (单位注册) -------------------------------------------------------------------

CATEGORIES: dict[str, str] = {
    "university": N_("University"),
    "enterprise": N_("Enterprise"),
    "institution": N_("Public institution"),
    "research_institute": N_("Research institute"),
    "park": N_("Park (high-tech zone, development zone, free-trade zone, industrial park)"),
    "prefecture_cast": N_("Prefecture CAST"),
    "national_society": N_("National society"),
    "provincial_unit": N_("Provincial-level unit"),
    "central_unit": N_("Central unit in the province"),
    "prefecture_institute": N_("Research institute owned by a prefecture"),
    "prefecture_institution": N_("Institution owned by a prefecture"),
}
LEVELS: dict[str, str] = {
    "provincial": N_("Provincial (provincial departments and provincial-owned units)"),
    "central": N_("Central (central units located in the province)"),
    "prefecture": N_("Prefecture (owned by a prefecture or city)"),
}
UNIT_FIELDS: dict[str, str] = {
    "name": N_("Unit name"),
    "credit_code": N_("Unified social credit code"),
    "category": N_("Category of unit"),
    "level": N_("Administrative level"),
    "jurisdiction": N_("Jurisdiction (area code)"),
    "address": N_("Unit address"),
    "contacts": N_("Contacts"),
    "phone": N_("Telephone"),
    "email": N_("Email"),
}
_CONTACT_ROWS = 3
_JURISDICTION = re.compile(r"^\d{2}(\d{2}){0,2}$")


# --- what the services' statuses mean to the unit ----------------------------------------------

STATUS: dict[str, str] = {
    # applications
    "draft": N_("Draft"),
    "submitted": N_("Submitted for review"),
    "returned": N_("Returned for revision"),
    "withdrawn": N_("Withdrawn"),
    "rejected": N_("Not approved"),
    "designated": N_("Approved and designated"),
    # calls
    "open": N_("Open"),
    "closed": N_("Closed"),
}
UNIT_STATUS: dict[str, str] = {
    "pending": N_("Awaiting verification"),
    "verified": N_("Registration verified"),
    "returned": N_("Returned for amendment"),
}
BASE_STATUS: dict[str, str] = {
    "serving": N_("Designated, within its term"),
    "renewal_pending": N_("Renewal requested"),
    "renewal_pending_past_term": N_("Term ended; still designated until the renewal decision"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
}
END_REASONS: dict[str, str] = {
    "term_ended": N_("the term ended"),
    "renewal_refused": N_("the renewal was refused"),
    "renewal_withdrawn": N_("the renewal request was withdrawn"),
    "revoked": N_("the designation was revoked"),
}
RENEWAL_STATUS: dict[str, str] = {
    "pending": N_("Being reviewed"),
    "returned": N_("Returned for completion"),
    "withdrawn": N_("Withdrawn"),
    "granted": N_("Renewal granted"),
    "refused": N_("Renewal refused"),
}
REPORT_STATUS: dict[str, str] = {
    "not_open": N_("Not open yet"),
    "open": N_("Open for filing"),
    "filed": N_("Filed; waiting for the local CAST to forward it"),
    "forwarded": N_("Forwarded"),
}
GRADES: dict[str, str] = {
    "excellent": N_("Excellent"),
    "qualified": N_("Qualified"),
    "unqualified": N_("Unqualified"),
}
RECTIFICATION_STATUS: dict[str, str] = {
    "ordered": N_("Rectification ordered"),
    "reported": N_("Rectification report filed"),
    "accepted": N_("Rectification accepted"),
}
STAGES: dict[str, str] = {
    "scheduled": N_("Scheduled"),
    "due": N_("Due for payment"),
    "approved": N_("Approved for payment"),
    "paid": N_("Paid"),
    "held": N_("Withheld while a rectification is open"),
    "cancelled": N_("Cancelled"),
}
LEVEL_NAMES: dict[str, str] = {
    "prefecture": N_("Prefecture CAST"),
    "province": N_("Provincial CAST"),
    "national": N_("CAST International Liaison Department"),
    "leading_group": N_("HaiZhi Plan leading group"),
    "general_office": N_("CAST General Office"),
}
EVENTS: dict[str, str] = {
    "ApplicationDrafted": N_("Application drafted"),
    "DraftUpdated": N_("Form saved"),
    "AttachmentAdded": N_("Material uploaded"),
    "AttachmentReplaced": N_("Material replaced"),
    "AttachmentRemoved": N_("Material removed"),
    "ApplicationSubmitted": N_("Submitted"),
    "ApplicationResubmitted": N_("Resubmitted"),
    "ReceiptRecorded": N_("Paper file received (receipt record)"),
    "ReturnRecorded": N_("Returned for revision"),
    "RejectionRecorded": N_("Not approved"),
    "ApplicationWithdrawn": N_("Withdrawn"),
    "DesignationRecorded": N_("Approved: the base is designated"),
    "WorkstationApplicationRequested": N_("Also applied for the provincial work station"),
    "WorkstationDesignationRecorded": N_("Provincial work station approved"),
}
REPORT_FIELDS: dict[str, str] = {
    "talent_introduced": N_("Talent introduced"),
    "projects_landed": N_("Projects landed"),
    "academic_exchanges": N_("Academic exchanges"),
    "technical_innovation": N_("Technical innovation"),
    "difficulties": N_("Difficulties and problems met"),
    "next_year_plan": N_("Next year's plan"),
    "overseas_societies": N_("Overseas S&T societies in the resource library"),
    "haizhi_projects": N_("HaiZhi projects in the resource library"),
    "overseas_talents": N_("Overseas high-level talent in the resource library"),
    "last_updated_on": N_("Resource library last updated on"),
    "summary": N_("Summary of the rectification"),
    "statement": N_("Written request"),
    "reason": N_("Reason"),
}


# --- small helpers ----------------------------------------------------------------------------


def _xhr(request: Request) -> bool:
    """Sent by the console's own scripts (autosave, upload), which want JSON back."""
    return bool(request.headers.get("x-requested-with"))


def wan_to_fen(text: str | None) -> int | None:
    """万元 as written (an exact decimal) in fen: "30.5" → 30,500,000."""
    if not text:
        return None
    try:
        return int(Decimal(text) * _FEN_PER_WAN)
    except (InvalidOperation, ValueError):
        return None


def _unit_id(visit: Visit) -> str:
    """The unit the applicant acts for (the token's `org`)."""
    org = visit.require(Role.APPLICANT).org
    if not org or not re.match(r"^[0-9A-Za-z_.@-]{1,64}$", org):
        raise ServiceProblem("application", 403, {"code": "applicant-without-unit"})
    return org


def _labeller(visit: Visit) -> Callable[[str], str]:
    """A field's or material's name as the page calls it, for the explanations."""

    def label(name: str) -> str:
        key = name if name in _LABELS else name.rsplit(".", 1)[-1]
        parts = _LABELS.get(key)
        return " ".join(visit.say(part) for part in parts) if parts else name

    return label


_LABELS: dict[str, tuple[str, ...]] = {
    **{k: (v,) for k, v in UNIT_FIELDS.items()},
    **{k: (v,) for k, v in REPORT_FIELDS.items()},
    **{k: (v,) for k, v in MATERIALS.items()},
    **{f.name: f.names for f in ANNEX2},
}


def _field_namer(visit: Visit) -> Callable[[FormField], str]:
    """A field's name in the visitor's language, for the pages' lists of what is missing."""
    return lambda f: " ".join(visit.say(part) for part in f.names)


def _explained(visit: Visit, problem: ServiceProblem) -> Explanation:
    return explain(problem.status, problem.problem, visit.t.gettext, label=_labeller(visit))


def _invalid(fields: Iterable[str]) -> ServiceProblem:
    """The console's own refusal of fields it could not read, told as a service's would be."""
    errors = [{"location": ["body", name], "message": "invalid"} for name in fields]
    return ServiceProblem("console", 422, {"code": "invalid-request", "errors": errors})


def _told(visit: Visit, problem: ServiceProblem, to: str) -> Response:
    """A refusal told on the page the form came from (or, to a script, as JSON)."""
    if problem.status == 401:
        raise problem  # the sign-in has ended: web.failures signs the person in again
    explanation = _explained(visit, problem)
    visit.session.flash(
        "error", explanation.message, explanation.next_step, explanation.detail or ""
    )
    if _xhr(visit.request):
        return JSONResponse({"location": to}, status_code=problem.status)
    return visit.redirect(to)


def _finished(visit: Visit, message: str, to: str) -> Response:
    """`visit.done`, or for a script the place to go next (the message waits there)."""
    if _xhr(visit.request):
        visit.session.flash("success", visit.t.gettext(message))
        return JSONResponse({"location": local_path(to)})
    return visit.done(message, to)


async def _command(
    visit: Visit, to: str, act: Callable[[], Awaitable[Json]]
) -> tuple[Json, Response | None]:
    """Run a command; a refusal becomes the answer to send back instead."""
    try:
        return await act(), None
    except ServiceProblem as problem:
        return None, _told(visit, problem, to)


async def _text_command(
    visit: Visit,
    form: FormData,
    to: str,
    name: str,
    service: str,
    path: str,
    *,
    most: int | None = None,
    **also: Any,
) -> tuple[Json, Response | None]:
    """The command at `path` whose body is what the unit wrote in `name` (and `also`); refused
    and told at `to` when it is left empty, or longer than `most`."""
    said = text(form, name)
    if not said or (most is not None and len(said) > most):
        return None, _told(visit, _invalid([name]), to)
    body = {name: said, **also}
    return await _command(visit, to, lambda: visit.send(service, path, form, json=body))


# --- my unit (单位注册) ------------------------------------------------------------------------


@router.get("/unit")
async def my_unit(visit: CurrentVisit) -> Response:
    unit_id = _unit_id(visit)
    unit = await visit.find("application", f"/units/{quote(unit_id)}")
    return visit.page(
        "applicant/unit.html",
        unit=unit,
        unit_id=unit_id,
        statuses=UNIT_STATUS,
        categories=CATEGORIES,
        levels=LEVELS,
        contact_rows=_CONTACT_ROWS,
    )


def _unit_form(visit: Visit, unit: Json, values: Mapping[str, Any], status: int = 200) -> Response:
    return visit.page(
        "applicant/unit_form.html",
        status,
        registered=unit is not None,
        reasons=(unit or {}).get("reasons") if (unit or {}).get("status") == "returned" else None,
        values=values,
        categories=CATEGORIES,
        levels=LEVELS,
        contact_rows=_CONTACT_ROWS,
    )


def _retold(visit: Visit, problem: ServiceProblem) -> int:
    """A refusal told on the page rendered now (the form again, with what was typed)."""
    if problem.status == 401:
        raise problem  # the sign-in has ended: web.failures signs the person in again
    explanation = _explained(visit, problem)
    visit.session.flash(
        "error", explanation.message, explanation.next_step, explanation.detail or ""
    )
    return problem.status if 400 <= problem.status < 500 else 422


@router.get("/unit/edit")
async def edit_unit(visit: CurrentVisit) -> Response:
    unit_id = _unit_id(visit)
    unit = await visit.find("application", f"/units/{quote(unit_id)}")
    jurisdiction = next(iter(visit.person.jurisdictions), "")
    values = unit or {"jurisdiction": jurisdiction if jurisdiction != "CN" else ""}
    return _unit_form(visit, unit, values)


def _registration(form: FormData) -> tuple[dict[str, Any], list[str]]:
    """The registration as typed, and the fields the console could not read."""
    body: dict[str, Any] = {
        name: text(form, name)
        for name in ("name", "credit_code", "category", "level", "jurisdiction", "address")
    }
    body["credit_code"] = body["credit_code"].upper()
    invalid = [name for name, value in body.items() if not value]
    if body["category"] and body["category"] not in CATEGORIES:
        invalid.append("category")
    if body["level"] and body["level"] not in LEVELS:
        invalid.append("level")
    if body["jurisdiction"] and not _JURISDICTION.match(body["jurisdiction"]):
        invalid.append("jurisdiction")
    contacts = []
    for row in range(_CONTACT_ROWS):
        contact = {key: text(form, f"contact_{row}_{key}") for key in ("name", "phone", "email")}
        if any(contact.values()):
            contacts.append(contact)
            invalid += [f"contacts.{row}.{key}" for key, value in contact.items() if not value]
    if not contacts:
        invalid.append("contacts")
    body["contacts"] = contacts
    return body, list(dict.fromkeys(invalid))


@router.post("/unit")
async def register_unit(visit: CurrentVisit, form: Form) -> Response:
    _unit_id(visit)
    body, invalid = _registration(form)
    try:
        if invalid:
            raise _invalid(invalid)
        await visit.send("application", "/units", form, json=body)
    except ServiceProblem as problem:
        # Told on the form again, with what was typed: nothing to type twice.
        return _unit_form(visit, None, body, _retold(visit, problem))
    return visit.done("Your unit is registered. Its CAST will verify the registration.", "/unit")


@router.post("/unit/edit")
async def amend_unit(visit: CurrentVisit, form: Form) -> Response:
    unit_id = _unit_id(visit)
    path = f"/units/{quote(unit_id)}"
    unit = await visit.get("application", path)
    body, invalid = _registration(form)
    # Only what changed: a verified unit goes back to verification only for who it is.
    changes = {name: value for name, value in body.items() if value != unit.get(name)}
    if not changes and not invalid:
        return visit.done("Nothing was changed.", "/unit")
    try:
        if invalid:
            raise _invalid(invalid)
        await visit.send("application", path, form, method="PATCH", json=changes)
    except ServiceProblem as problem:
        return _unit_form(visit, unit, body, _retold(visit, problem))
    return visit.done("The registration is amended.", "/unit")


# --- calls (申报通知) ---------------------------------------------------------------------------


@router.get("/apply")
async def open_calls(visit: CurrentVisit) -> Response:
    unit_id = _unit_id(visit)
    unit = await visit.find("application", f"/units/{quote(unit_id)}")
    # The unit applies in its own province (Notice §1): its registration says which.
    province = unit.get("province") if unit else None
    calls = await every(visit, "application", "/calls", status="open", province=province)
    mine = await every(visit, "application", "/applications")
    active = {
        app["call_id"]: app
        for app in mine
        if app["status"] not in ("withdrawn", "rejected") and app["programme"] == "national_base"
    }
    return visit.page(
        "applicant/calls.html",
        unit=unit,
        calls=calls,
        active=active,
        slots=MATERIALS,
        statuses=STATUS,
        deadline=deadline_text,
        field_name=_field_namer(visit),
    )


@router.post("/apply/{call_id}")
async def draft_application(visit: CurrentVisit, form: Form, call_id: Id) -> Response:
    _unit_id(visit)
    body = {"call_id": call_id, "also_workstation": ticked(form, "also_workstation")}
    answer, refused = await _command(
        visit, "/apply", lambda: visit.send("application", "/applications", form, json=body)
    )
    if refused:
        return refused
    return visit.done(
        "The application is drafted. Fill in the form and upload the materials.",
        f"/applications/{answer['application_id']}/form",
    )


# --- my applications (申报) ---------------------------------------------------------------------


@router.get("/applications")
async def my_applications(visit: CurrentVisit) -> Response:
    _unit_id(visit)
    applications = await every(visit, "application", "/applications")
    applications.sort(key=lambda a: a.get("updated_at", ""), reverse=True)
    calls = {c["call_id"]: c for c in await every(visit, "application", "/calls")}
    return visit.page(
        "applicant/applications.html", applications=applications, calls=calls, statuses=STATUS
    )


@dataclass
class Material:
    """One line of the checklist: a required material (or a file besides them)."""

    slot: str
    label: str  # an English msgid, or the call's own name of an additional material
    translate: bool
    required: bool
    material: str | None = None
    attachment: Json = None


@dataclass
class Checklist:
    """What a submission still needs, computed from the application and its call."""

    missing_fields: list[FormField] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)
    deadline_passed: bool = False

    @property
    def missing_materials(self) -> list[Material]:
        return [m for m in self.materials if m.required and m.attachment is None]

    @property
    def complete(self) -> bool:
        return not self.missing_fields and not self.missing_materials


def checklist(application: Json, call: Json | None) -> Checklist:
    form: Mapping[str, Any] = application.get("form") or {}
    missing = [
        f
        for f in ANNEX2
        if f.name not in OPTIONAL_FIELDS
        and (form.get(f.name) != "true" if f.kind == "declaration" else not form.get(f.name))
    ]
    attachments: list[Json] = list(application.get("attachments") or [])
    required = [*((call or {}).get("required_slots") or []), SIGNED_FORM]
    materials: list[Material] = []
    for slot in dict.fromkeys(required):
        found = next((a for a in attachments if a["slot"] == slot), None)
        materials.append(
            Material(slot, MATERIALS.get(slot, slot), slot in MATERIALS, True, None, found)
        )
    for name in (call or {}).get("additional_materials") or []:
        found = next(
            (a for a in attachments if a["slot"] == "extra" and a.get("material") == name), None
        )
        materials.append(Material("extra", name, False, True, name, found))
    listed = {id(m.attachment) for m in materials if m.attachment is not None}
    for attachment in attachments:
        if id(attachment) not in listed:
            slot = attachment["slot"]
            materials.append(
                Material(
                    slot,
                    attachment.get("material") or MATERIALS.get(slot, slot),
                    not attachment.get("material") and slot in MATERIALS,
                    False,
                    attachment.get("material"),
                    attachment,
                )
            )
    closed = call is not None and call.get("status") == "closed"
    # The deadline binds the first submission only: a returned application may be resubmitted.
    return Checklist(missing, materials, closed and application.get("status") == "draft")


async def _application(visit: Visit, application_id: str) -> tuple[Json, Json | None]:
    _unit_id(visit)
    application = await visit.get("application", f"/applications/{application_id}")
    call = await visit.find("application", f"/calls/{quote(application['call_id'])}")
    return application, call


def _editable(application: Json) -> bool:
    return application.get("status") in ("draft", "returned")


def _timeline(entries: list[Json]) -> list[dict[str, Any]]:
    """The history as the unit reads it; consecutive saves of the form are one line."""
    lines: list[dict[str, Any]] = []
    for entry in entries:
        data: Mapping[str, Any] = entry.get("data") or {}
        kind = str(entry.get("type", ""))
        if kind == "DraftUpdated" and lines and lines[-1]["type"] == kind:
            last = lines[-1]
            last["count"] += 1
            last["time"], last["actor"] = entry.get("time"), entry.get("actor")
            last["fields"] = list(
                dict.fromkeys([*last["fields"], *(c["field"] for c in data.get("changes", []))])
            )
            continue
        lines.append(
            {
                "type": kind,
                "label": EVENTS.get(kind),
                "time": entry.get("time"),
                "actor": entry.get("actor"),
                "data": data,
                "count": 1,
                "fields": [c["field"] for c in data.get("changes", [])],
            }
        )
    return lines


@router.get("/applications/{application_id}")
async def application_page(visit: CurrentVisit, application_id: Id) -> Response:
    (application, call), history = await asyncio.gather(
        _application(visit, application_id),
        every(visit, "application", f"/applications/{application_id}/history"),
    )
    return visit.page(
        "applicant/application.html",
        app=application,
        call=call,
        check=checklist(application, call),
        editable=_editable(application),
        timeline=_timeline(history),
        statuses=STATUS,
        levels=LEVEL_NAMES,
        slots=MATERIALS,
        fields=FIELDS,
        deadline=deadline_text,
        field_name=_field_namer(visit),
    )


@router.get("/applications/{application_id}/form")
async def form_page(visit: CurrentVisit, application_id: Id) -> Response:
    application, call = await _application(visit, application_id)
    values: Mapping[str, Any] = application.get("form") or {}
    fen = {f.name: wan_to_fen(values.get(f.name)) for f in ANNEX2 if f.kind == "wan"}
    return visit.page(
        "applicant/form.html",
        app=application,
        call=call,
        values=values,
        fen=fen,
        fields=FIELDS,
        layout=LAYOUT,
        groups_zh=GROUPS_ZH,
        editable=_editable(application),
        statuses=STATUS,
        check=checklist(application, call),
        deadline=deadline_text,
        field_name=_field_namer(visit),
    )


def form_changes(
    form: FormData, current: Mapping[str, Any], *, whole: bool
) -> tuple[dict[str, Any], list[str]]:
    """What the form changes in the working copy (only those fields: the PATCH leaves the rest
    alone), and the fields it could not read. `whole`: the plain form, where a checkbox left
    unticked is not sent at all; a script sends only what changed, a checkbox as true/false."""
    changes: dict[str, Any] = {}
    invalid: list[str] = []
    for f in ANNEX2:
        raw = form.get(f.name)
        if f.kind == "declaration":
            if whole:
                made = isinstance(raw, str) and raw not in ("", "false")
            elif isinstance(raw, str):
                made = raw in ("true", "on", "yes")
            else:
                continue
            if made != (current.get(f.name) == "true") and (made or current.get(f.name)):
                changes[f.name] = made
            continue
        if not isinstance(raw, str):
            continue
        value: str | None = text(form, f.name) or None
        if value is not None and f.kind == "wan":
            value = value.replace(",", "").replace("，", "")
            if not _WAN.match(value):
                invalid.append(f.name)
                continue
            old = current.get(f.name)
            if old is not None and Decimal(old) == Decimal(value):
                continue
        elif value is not None and f.kind == "date":
            day = day_of(value)
            if day is None:
                invalid.append(f.name)
                continue
            value = day.isoformat()
        elif value is not None and len(value) > f.max_length:
            invalid.append(f.name)
            continue
        if value != current.get(f.name):
            changes[f.name] = value
    return changes, invalid


@router.post("/applications/{application_id}/form")
async def save_form(visit: CurrentVisit, form: Form, application_id: Id) -> Response:
    """The plain Save button, and autosave's field-by-field posts (`X-Requested-With`)."""
    _unit_id(visit)
    page = f"/applications/{application_id}/form"
    script = _xhr(visit.request)
    try:
        application = await visit.get("application", f"/applications/{application_id}")
        changes, invalid = form_changes(
            form,
            application.get("form") or {},
            whole=form.get("whole_form") == "yes" and not script,
        )
        if changes:  # the fields it could read are kept even when another one was not
            await visit.send(
                "application", f"/applications/{application_id}", form, method="PATCH", json=changes
            )
        if invalid:
            raise _invalid(invalid)
    except ServiceProblem as problem:
        if not script:
            return _told(visit, problem, back(form, page))
        if problem.status == 401:
            raise
        explanation = _explained(visit, problem)
        return JSONResponse(
            {"saved": False, "message": explanation.message, "next_step": explanation.next_step},
            status_code=problem.status,
        )
    if script:
        at = datetime.now(CST).strftime("%H:%M")
        return JSONResponse(
            {"saved": True, "fields": sorted(changes), "time": at,
             "message": visit.say("Saved at %(time)s", time=at)}
        )  # fmt: skip
    message = N_("The form is saved.") if changes else N_("Nothing was changed.")
    return visit.done(message, back(form, page))


@router.get("/applications/{application_id}/materials")
async def materials_page(visit: CurrentVisit, application_id: Id) -> Response:
    application, call = await _application(visit, application_id)
    return visit.page(
        "applicant/materials.html",
        app=application,
        call=call,
        check=checklist(application, call),
        editable=_editable(application),
        slots=MATERIALS,
        statuses=STATUS,
        size=size_text,
        max_bytes=UPLOAD_MAX_BYTES,
        max_size=size_text(UPLOAD_MAX_BYTES),
        deadline=deadline_text,
        field_name=_field_namer(visit),
    )


def _too_large() -> ServiceProblem:
    detail = f"An attachment may have at most {UPLOAD_MAX_BYTES} bytes."
    problem = {"code": "attachment-too-large", "detail": detail, "max_bytes": UPLOAD_MAX_BYTES}
    return ServiceProblem("console", 413, problem)


async def _drain(request: Request) -> None:
    """Read what is left of a refused body (up to a bound), so the browser hears the answer."""
    read = 0
    try:
        async for chunk in request.stream():
            read += len(chunk)
            if read > _DRAIN_LIMIT:
                break
    except (ClientDisconnect, RuntimeError):
        pass


async def _upload_form(visit: Visit) -> FormData:
    """The multipart form of an upload, read once: refused early when larger than an
    attachment may be, its file spooled to disk, its CSRF token checked."""
    request = visit.request
    limit = UPLOAD_MAX_BYTES + _MULTIPART_ALLOWANCE
    try:
        form = await bounded_form(request, limit, max_files=1, max_fields=10)
    except BodyTooLarge:
        await _drain(request)
        raise _too_large() from None
    request.state.form = form  # for the failure pages, as `Form` does
    if not visit.session.csrf_matches(form.get(CSRF_FIELD)):
        await form.close()
        raise CsrfRefused
    return form


def _file_of(form: FormData) -> UploadFile:
    part = form.get("file")
    if not isinstance(part, UploadFile) or not (part.filename or part.size):
        raise ServiceProblem("console", 422, {"code": "file-missing"})
    if (part.size or 0) > UPLOAD_MAX_BYTES:
        raise _too_large()
    return part


async def _send_file(
    visit: Visit, form: FormData, method: str, path: str, data: dict[str, str]
) -> Json:
    part = _file_of(form)
    # httpx reads the spooled file in chunks as it sends: the file is never in memory whole.
    files = {
        "file": (
            part.filename or "attachment",
            part.file,
            part.content_type or "application/octet-stream",
        )
    }
    return await visit.send("application", path, form, method=method, data=data, files=files)


@router.post("/applications/{application_id}/materials")
async def upload_material(visit: CurrentVisit, application_id: Id) -> Response:
    _unit_id(visit)
    page = f"/applications/{application_id}/materials"
    try:
        form = await _upload_form(visit)
    except ServiceProblem as problem:
        return _told(visit, problem, page)
    try:
        data = {"slot": text(form, "slot")}
        if text(form, "material"):
            data["material"] = text(form, "material")
        await _send_file(visit, form, "POST", f"/applications/{application_id}/attachments", data)
    except ServiceProblem as problem:
        return _told(visit, problem, back(form, page))
    finally:
        await form.close()
    return _finished(visit, N_("The file is uploaded."), back(form, page))


@router.post("/applications/{application_id}/materials/{attachment_id}")
async def replace_material(visit: CurrentVisit, application_id: Id, attachment_id: Id) -> Response:
    _unit_id(visit)
    page = f"/applications/{application_id}/materials"
    try:
        form = await _upload_form(visit)
    except ServiceProblem as problem:
        return _told(visit, problem, page)
    try:
        path = f"/applications/{application_id}/attachments/{attachment_id}"
        await _send_file(visit, form, "PUT", path, {})
    except ServiceProblem as problem:
        return _told(visit, problem, back(form, page))
    finally:
        await form.close()
    return _finished(visit, N_("The file is replaced."), back(form, page))


@router.post("/applications/{application_id}/materials/{attachment_id}/remove")
async def remove_material(
    visit: CurrentVisit, form: Form, application_id: Id, attachment_id: Id
) -> Response:
    _unit_id(visit)
    to = back(form, f"/applications/{application_id}/materials")
    path = f"/applications/{application_id}/attachments/{attachment_id}"
    _, refused = await _command(
        visit, to, lambda: visit.send("application", path, form, method="DELETE")
    )
    return refused or visit.done("The file is removed.", to)


@router.get("/applications/{application_id}/files/{sha256}")
async def download_file(visit: CurrentVisit, application_id: Id, sha256: Sha256) -> Response:
    _unit_id(visit)
    got = await visit.download("application", f"/applications/{application_id}/files/{sha256}")
    return visit.file(got, got.filename or sha256)


@router.post("/applications/{application_id}/submit")
async def submit_application(visit: CurrentVisit, form: Form, application_id: Id) -> Response:
    _unit_id(visit)
    to = back(form, f"/applications/{application_id}")
    path = f"/applications/{application_id}/submit"
    answer, refused = await _command(visit, to, lambda: visit.send("application", path, form))
    if refused:
        return refused
    message = (
        N_("The application is resubmitted.")
        if (answer or {}).get("revision", 1) > 1
        else N_("The application is submitted.")
    )
    return visit.done(message, f"/applications/{application_id}")


@router.post("/applications/{application_id}/withdraw")
async def withdraw_application(visit: CurrentVisit, form: Form, application_id: Id) -> Response:
    _unit_id(visit)
    to = back(form, f"/applications/{application_id}")
    path = f"/applications/{application_id}/withdraw"
    _, refused = await _text_command(visit, form, to, "reason", "application", path)
    return refused or visit.done("The application is withdrawn.", f"/applications/{application_id}")


@router.post("/applications/{application_id}/workstation")
async def also_workstation(visit: CurrentVisit, form: Form, application_id: Id) -> Response:
    _unit_id(visit)
    to = back(form, f"/applications/{application_id}")
    path = f"/applications/{application_id}/workstation"
    _, refused = await _command(visit, to, lambda: visit.send("application", path, form))
    return refused or visit.done(
        "The provincial work station application is drafted beside this one.", "/applications"
    )


# --- my base (工作基地) --------------------------------------------------------------------------


@router.get("/unit/bases")
async def my_bases(visit: CurrentVisit) -> Response:
    _unit_id(visit)
    bases = await every(visit, "application", "/bases")
    return visit.page("applicant/bases.html", bases=bases, statuses=BASE_STATUS)


def _certificate_no(value: str | None) -> str | None:
    text = (value or "").strip()
    return text if 0 < len(text) <= 60 and "/" not in text else None


@router.get("/unit/bases/{base_id}")
async def base_page(
    visit: CurrentVisit,
    base_id: Id,
    certificate_no: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    _unit_id(visit)
    number = _certificate_no(certificate_no)

    async def checked() -> Json | None:
        if not number:
            return None
        return await visit.find("review", f"/certificates/{quote(number, safe='')}")

    # None needs another's answer: asked at once. What assessment and funding know of the
    # base comes over the bus: maybe not yet.
    base, years_page, funding, assessed, certificate = await asyncio.gather(
        visit.get("application", f"/bases/{base_id}", limit=PAGE),
        visit.find("assessment", f"/bases/{base_id}/years", limit=PAGE),
        visit.find("funding", f"/bases/{base_id}/funding"),
        visit.find("assessment", f"/bases/{base_id}"),
        checked(),
    )
    ours = certificate is not None and (
        certificate.get("base_name") == base.get("unit_name")
        and certificate.get("programme") == "national_base"
    )
    requests = base.get("renewal_requests") or []
    open_request = next((r for r in requests if r["status"] in ("pending", "returned")), None)
    return visit.page(
        "applicant/base.html",
        base=base,
        assessed=assessed,
        years=None if years_page is None else years_page.get("items", []),
        funding=funding,
        certificate=certificate,
        certificate_asked=certificate_no,
        certificate_ours=ours,
        open_request=open_request,
        statuses=BASE_STATUS,
        end_reasons=END_REASONS,
        renewal_statuses=RENEWAL_STATUS,
        report_statuses=REPORT_STATUS,
        grades=GRADES,
        rectification_statuses=RECTIFICATION_STATUS,
        stages=STAGES,
    )


@router.post("/unit/bases/{base_id}/renewal")
async def request_renewal(visit: CurrentVisit, form: Form, base_id: Id) -> Response:
    _unit_id(visit)
    to = back(form, f"/unit/bases/{base_id}")
    path = f"/bases/{base_id}/renewal-requests"
    _, refused = await _text_command(visit, form, to, "statement", "application", path)
    return refused or visit.done(
        "The renewal request is filed. The provincial CAST passes it on to the national "
        "department.",
        f"/unit/bases/{base_id}",
    )


@router.post("/unit/bases/{base_id}/renewal/{renewal_id}/{act}")
async def renewal_act(
    visit: CurrentVisit,
    form: Form,
    base_id: Id,
    renewal_id: Id,
    act: Annotated[str, Path(pattern="^(withdraw|resubmit)$")],
) -> Response:
    _unit_id(visit)
    to = back(form, f"/unit/bases/{base_id}")
    key = "reason" if act == "withdraw" else "statement"
    path = f"/bases/{base_id}/renewal-requests/{renewal_id}/{act}"
    _, refused = await _text_command(visit, form, to, key, "application", path)
    if refused:
        return refused
    if act == "withdraw":
        return visit.done("The renewal request is withdrawn.", f"/unit/bases/{base_id}")
    return visit.done("The completed renewal request is resubmitted.", f"/unit/bases/{base_id}")


async def _year(visit: Visit, base_id: str, year: int) -> Json:
    years = await every(visit, "assessment", f"/bases/{base_id}/years")
    found = next((y for y in years if y.get("year") == year), None)
    if found is None:
        raise ServiceProblem("assessment", 404, {"code": "not-found"})
    return found


async def _report_form(
    visit: Visit, base_id: str, year: int, values: Mapping[str, Any], status: int = 200
) -> Response:
    base = await visit.get("application", f"/bases/{base_id}", limit=1)
    row = await _year(visit, base_id, year)
    return visit.page(
        "applicant/report.html",
        status,
        base=base,
        year=row,
        values=values,
        labels=REPORT_FIELDS,
        report_statuses=REPORT_STATUS,
    )


@router.get("/unit/bases/{base_id}/years/{year}/report")
async def report_page(visit: CurrentVisit, base_id: Id, year: Year) -> Response:
    _unit_id(visit)
    return await _report_form(visit, base_id, year, {})


_SUMMARY = ("talent_introduced", "projects_landed", "academic_exchanges", "technical_innovation",
            "difficulties")  # fmt: skip
_LIBRARY = ("overseas_societies", "haizhi_projects", "overseas_talents")


def annual_report(form: FormData) -> tuple[dict[str, Any], list[str]]:
    """Art. 10's summary and plan, and Art. 11(3)'s resource library, as the form gives them."""
    invalid = [name for name in (*_SUMMARY, "next_year_plan") if not text(form, name)]
    invalid += [n for n in (*_SUMMARY, "next_year_plan") if len(text(form, n)) > 5000]
    library: dict[str, Any] = {}
    for name in _LIBRARY:
        count = whole_of(text(form, name), 0, 999_999_999)
        if count is None:
            invalid.append(name)
        else:
            library[name] = count
    updated = day_of(text(form, "last_updated_on"))
    if updated is None:
        invalid.append("last_updated_on")
    else:
        library["last_updated_on"] = updated.isoformat()
    report = {
        "summary": {name: text(form, name) for name in _SUMMARY},
        "next_year_plan": text(form, "next_year_plan"),
        "resource_library": library,
        "attachments": [],
    }
    return report, list(dict.fromkeys(invalid))


@router.post("/unit/bases/{base_id}/years/{year}/report")
async def file_report(visit: CurrentVisit, form: Form, base_id: Id, year: Year) -> Response:
    _unit_id(visit)
    report, invalid = annual_report(form)
    try:
        if invalid:
            raise _invalid(invalid)
        await visit.send("assessment", f"/bases/{base_id}/years/{year}/report", form, json=report)
    except ServiceProblem as problem:
        # The report again as typed, with why it was refused: a long text is never lost.
        typed = {name: text(form, name) for name in REPORT_FIELDS}
        return await _report_form(visit, base_id, year, typed, _retold(visit, problem))
    return visit.done(
        "The annual report is filed. Your local CAST forwards it to the national department.",
        f"/unit/bases/{base_id}",
    )


@router.post("/unit/bases/{base_id}/rectifications/{rectification_id}/report")
async def file_rectification(
    visit: CurrentVisit, form: Form, base_id: Id, rectification_id: Id
) -> Response:
    _unit_id(visit)
    to = back(form, f"/unit/bases/{base_id}")
    path = f"/bases/{base_id}/rectifications/{rectification_id}/report"
    _, refused = await _text_command(
        visit, form, to, "summary", "assessment", path, most=5000, attachments=[]
    )
    return refused or visit.done(
        "The rectification report is filed. The national department will review it.",
        f"/unit/bases/{base_id}",
    )
