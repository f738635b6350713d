"""What the API tests share: tokens, registered units, a full form, real files, and the steps to
a submission."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

from faststream.nats import NatsRouter

from shared.runtime import ServiceSpec
from shared.testkit.service import RunningService

from ..domain.unit import CREDIT_CODE_CHARS, credit_code_check_char

MARCH = datetime(2022, 3, 1, 2, 0, tzinfo=UTC)
UNIT, OTHER_UNIT = "unit-km-park", "unit-qj-park"
CALL = {
    "province": "53",
    "year": 2022,
    "title": "2022年海智基地申报",
    "deadline_on": "2022-04-30",
    "allows_workstation": True,
}
FORM: dict[str, Any] = {
    "base_location": "云南省昆明市",
    "host_unit": "昆明高新技术产业开发区管委会",
    "address": "昆明市高新区科高路1号",
    "telephone": "0871-68000000",
    "fax": None,
    "contact_person": "张三",
    "email": "haizhi@example.cn",
    "postcode": "650106",
    "overview_basic_conditions": "具备工作规程、财务制度和专职人员",
    "overview_advantages": "面向南亚东南亚的区位优势",
    "overview_description": "依托园区建设海智工作基地",
    "overview_expected_goals": "三年引进海外高层次人才20名",
    "office_space": "200平方米",
    "matching_funds_wan": "50",
    "self_raised_funds_wan": "30.5",
    "opinion_text": "同意申报，情况属实。",
    "opinion_responsible_person": "李四",
    "opinion_title": "主任",
    "opinion_date": "2022-04-01",
    "declares_organisation": True,
    "declares_overseas_channels": True,
    "declares_government_support": True,
}
SLOTS = (
    "support_letter",
    "construction_plan",
    "overseas_cooperation",
    "policy_measures",
    "signed_form",
)


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32) + b"\xff\xd9"
DOCX = _docx()


def credit_code(seed: str, code: str = "530100") -> str:
    """A valid 统一社会信用代码 for a unit, derived from its id."""
    digest = hashlib.sha256(seed.encode()).digest()
    body = "91" + code.ljust(6, "0")[:6] + "".join(CREDIT_CODE_CHARS[b % 31] for b in digest[:9])
    return body + credit_code_check_char(body)


def registration(unit: str = UNIT, code: str = "5301", **overrides: Any) -> dict[str, Any]:
    return {
        "name": "昆明高新技术产业开发区管委会",
        "credit_code": credit_code(unit, code),
        "category": "park",
        "level": "prefecture",
        "jurisdiction": code,
        "contacts": [{"name": "张三", "phone": "0871-68000000", "email": "haizhi@example.cn"}],
        "address": "昆明市高新区科高路1号",
        **overrides,
    }


def cast_of(svc: RunningService, level: str, code: str) -> dict[str, str]:
    """The CAST that verifies a unit: its prefecture's, or the province's."""
    if level == "prefecture":
        return svc.auth("prefecture_reviewer", user=f"cast-{code[:4]}", jurisdictions=[code[:4]])
    return svc.auth("province_reviewer", user=f"cast-{code[:2]}", jurisdictions=[code[:2]])


async def register_unit(
    svc: RunningService,
    unit: str = UNIT,
    code: str = "5301",
    *,
    verify: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """Registers the unit (once) and, unless told not to, has its CAST verify it."""
    body = registration(unit, code, **overrides)
    headers = applicant(svc, unit, code)
    known = await svc.client.get(f"/units/{unit}", headers=headers)
    if known.status_code == 404:
        registered = await svc.client.post("/units", json=body, headers=headers)
        assert registered.status_code == 201, registered.text
        known = registered
    view: dict[str, Any] = known.json()
    if verify and view["status"] == "pending":
        verified = await svc.client.post(
            f"/units/{unit}/verify", json={}, headers=cast_of(svc, view["level"], code)
        )
        assert verified.status_code == 200, verified.text
        view = verified.json()
    return view


def officer(svc: RunningService, province: str = "53") -> dict[str, str]:
    return svc.auth("province_reviewer", user="mao", jurisdictions=[province])


def applicant(svc: RunningService, unit: str = UNIT, code: str = "5301") -> dict[str, str]:
    return svc.auth("applicant", user=f"clerk-of-{unit}", org=unit, jurisdictions=[code])


def reviewer(svc: RunningService, role: str, code: str) -> dict[str, str]:
    return svc.auth(role, user=f"{role}-{code}", jurisdictions=[code])


async def open_call(svc: RunningService, **terms: Any) -> str:
    opened = await svc.client.post("/calls", json={**CALL, **terms}, headers=officer(svc))
    assert opened.status_code == 201, opened.text
    return str(opened.json()["call_id"])


def draft_body(call_id: str, **overrides: Any) -> dict[str, Any]:
    return {"call_id": call_id, **overrides}


async def draft(
    svc: RunningService, call_id: str, unit: str = UNIT, code: str = "5301", **overrides: Any
) -> str:
    """Drafts for the unit, registered and verified first if it is not yet."""
    await register_unit(svc, unit, code)
    drafted = await svc.client.post(
        "/applications", json=draft_body(call_id, **overrides), headers=applicant(svc, unit, code)
    )
    assert drafted.status_code == 201, drafted.text
    return str(drafted.json()["application_id"])


async def upload(
    svc: RunningService,
    application_id: str,
    slot: str,
    content: bytes = PDF,
    name: str = "材料.pdf",
    media_type: str = "application/pdf",
    headers: dict[str, str] | None = None,
) -> Any:
    return await svc.client.post(
        f"/applications/{application_id}/attachments",
        data={"slot": slot},
        files={"file": (name, content, media_type)},
        headers=headers or applicant(svc),
    )


async def ready(
    svc: RunningService, call_id: str | None = None, unit: str = UNIT, code: str = "5301"
) -> str:
    """A draft with every field filled and every material attached."""
    application_id = await draft(svc, call_id or await open_call(svc), unit, code)
    headers = applicant(svc, unit, code)
    saved = await svc.client.patch(f"/applications/{application_id}", json=FORM, headers=headers)
    assert saved.status_code == 200, saved.text
    for n, slot in enumerate(SLOTS):
        added = await upload(svc, application_id, slot, PDF + bytes([n]), headers=headers)
        assert added.status_code == 201, added.text
    return application_id


async def submitted(
    svc: RunningService, call_id: str | None = None, unit: str = UNIT, code: str = "5301"
) -> str:
    application_id = await ready(svc, call_id, unit, code)
    sent = await svc.client.post(
        f"/applications/{application_id}/submit", headers=applicant(svc, unit, code)
    )
    assert sent.status_code == 200, sent.text
    return application_id


async def application_event_count(svc: RunningService) -> int:
    """Events of calls and applications (not of unit registrations)."""
    return len([e for e in await svc.kernel.store.read_all() if not e.subject.startswith("unit-")])


async def event_count(svc: RunningService) -> int:
    return len(await svc.kernel.store.read_all())


def http_only(spec: ServiceSpec) -> ServiceSpec:
    """The service without its bus consumers, for tests of the HTTP API alone."""
    return dataclasses.replace(spec, messaging=lambda _: NatsRouter(), subscriptions=lambda _: ())
