"""The filled Annex 2 form and the receipt record: issued from the application's events, their
text read back, the same bytes every time, the hash in the stream, and who may issue, read and
verify them."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from shared.envelope import Envelope
from shared.projection import rebuild_and_compare
from shared.testkit import pdf
from shared.testkit.service import RunningService, eventually

from ..messaging.contracts import registry
from ..projections import projections
from .support import OTHER_UNIT, UNIT, applicant, officer, reviewer, submitted

FORM_TEXT = (
    "附件2"
    "中国科协海智计划工作基地申报表"
    "申报编号：{application_id}第1版"
    "基地所在地云南省昆明市"
    "承担单位昆明高新技术产业开发区管委会"
    "单位地址昆明市高新区科高路1号"
    "电话0871-68000000传真"
    "常设联系人张三电子信箱haizhi@example.cn"
    "邮编650106办公场地200平方米"
    "概述"
    "1.基础条件具备工作规程、财务制度和专职人员"
    "2.优势面向南亚东南亚的区位优势"
    "3.情况简述依托园区建设海智工作基地"
    "4.预期目标三年引进海外高层次人才20名"
    "资金情况（万元）"
    "配套资金50自筹资金30.5"
    "填表单位意见同意申报，情况属实。"
    "负责人签字李四职务主任"
    "年月日2022年4月1日"
    "申报条件（第六条）"
    "第六条(一)组织机构是"
    "第六条(二)海外渠道是"
    "第六条(三)政府支持是"
    "收件记录收件日期：收件人："
    "表单哈希（SHA-256）：{form_hash}"
    "填表单位（盖章）：负责人（签字）：年月日"
)


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(code), response.json()


async def issued_event(svc: RunningService, document_id: str) -> Envelope:
    async def found() -> Envelope | None:
        for event in await svc.kernel.store.read_all():
            if (
                event.type.endswith("DocumentIssued.v1")
                and event.data["document_id"] == document_id
            ):
                return event
        return None

    return await eventually(found)


async def test_the_annex2_form_and_the_receipt_read_back_and_hash_as_the_stream_records(
    service: RunningService,
) -> None:
    application_id = await submitted(service)
    base = f"/applications/{application_id}/documents"
    submission = [
        e for e in await service.kernel.store.read_all() if e.name == "ApplicationSubmitted"
    ]
    form_hash = submission[-1].data["form_hash"]

    first = await service.client.post(f"{base}/form", headers=applicant(service))
    assert first.status_code == 200, first.text
    assert first.json()["issued"] is True
    form = first.json()["document"]
    served = await service.client.get(
        f"{base}/form/{form['document_id']}.pdf", headers=applicant(service)
    )
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["etag"] == f'"{form["sha256"]}"'
    event = await issued_event(service, form["document_id"])
    assert hashlib.sha256(served.content).hexdigest() == event.data["sha256"] == form["sha256"]
    assert event.data["sources"] == [f"application-{application_id}@{submission[-1].streamversion}"]
    pages = len(pdf.reader(served.content).pages)
    text = pdf.text(served.content)
    for page in range(1, pages + 1):  # each page's footer, where the page ends
        text = text.replace(f"第{page}页共{pages}页", "", 1)
    expected = FORM_TEXT.format(application_id=application_id, form_hash=form_hash)
    assert text == pdf.compact(expected)
    # The officer prints the same form: the same document, nothing new recorded.
    again = await service.client.post(f"{base}/form", headers=officer(service))
    assert again.json() == {"issued": False, "document": form}

    early = await service.client.post(f"{base}/receipt", headers=officer(service))
    problem(early, 409, "document-not-ready")
    received = await service.client.post(
        f"/applications/{application_id}/receipt",
        json={"received_on": "2022-04-22", "recipient": "省科协国际部 王五", "paper_copies": 5},
        headers=officer(service),
    )
    assert received.status_code == 200, received.text
    by_unit = await service.client.post(f"{base}/receipt", headers=applicant(service))
    problem(by_unit, 403, "role-required")
    receipt = (await service.client.post(f"{base}/receipt", headers=officer(service))).json()
    assert receipt["issued"] is True
    content = (
        await service.client.get(
            f"{base}/receipt/{receipt['document']['document_id']}.pdf", headers=applicant(service)
        )
    ).content
    text = pdf.text(content)
    for fact in ("收件记录", "昆明高新技术产业开发区管委会", application_id, "2022年4月22日",
                 "省科协国际部王五", "5份", "签字盖章的申报表", form_hash):  # fmt: skip
        assert fact in text, fact
    listing = await service.client.get(base, headers=reviewer(service, "auditor", "53"))
    assert [d["kind"] for d in listing.json()["items"]] == ["form", "receipt"]
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_only_the_unit_and_reviewers_in_jurisdiction_reach_its_documents(
    service: RunningService,
) -> None:
    application_id = await submitted(service)
    base = f"/applications/{application_id}/documents"
    form = (await service.client.post(f"{base}/form", headers=applicant(service))).json()
    document_id = form["document"]["document_id"]
    other_unit = applicant(service, OTHER_UNIT, "5303")
    guizhou = reviewer(service, "province_reviewer", "52")
    auditor = reviewer(service, "auditor", "CN")
    for who in (other_unit, guizhou):
        problem(await service.client.get(base, headers=who), 404, "application-not-found")
        one = await service.client.get(f"{base}/form/{document_id}.pdf", headers=who)
        problem(one, 404, "application-not-found")
        issued = await service.client.post(f"{base}/form", headers=who)
        problem(issued, 404, "application-not-found")
    problem(await service.client.post(f"{base}/form", headers=auditor), 403, "role-required")
    assert (
        await service.client.get(f"{base}/form/{document_id}.pdf", headers=auditor)
    ).status_code == 200

    async def verify(headers: dict[str, str], **request: Any) -> dict[str, Any]:
        answer = await service.client.post("/documents/verify", headers=headers, **request)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    sha = {"sha256": form["document"]["sha256"]}
    assert (await verify(auditor, json=sha))["found"] is True
    assert (await verify(applicant(service, UNIT), json=sha))["found"] is True
    assert (await verify(other_unit, json=sha))["found"] is False
    assert (await verify(guizhou, json=sha))["found"] is False
    unknown_kind = await service.client.post(f"{base}/annex", headers=applicant(service))
    problem(unknown_kind, 422, "invalid-request")
    malformed = await service.client.get(f"{base}/form/x.pdf", headers=applicant(service))
    problem(malformed, 422, "invalid-request")
