"""The approval (批复) and the plaque certificate: issued from the review's events, their text
read back, the same bytes every time, the hash in the stream, the QR code to the public check,
and who may issue, read and verify them."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from sqlalchemy import update

from shared.documents import qr_modules
from shared.projection import rebuild_and_compare
from shared.testkit import pdf
from shared.testkit.service import RunningService

from ..messaging.contracts import registry
from ..projections import projections
from ..projections.documents import issued_documents
from .scenario import (
    AUDITOR,
    GUIZHOU,
    OFFICE,
    YUNNAN,
    YUNNAN_RANKER,
    Application,
    Reviewer,
    act,
    from_national_to_plaque,
    published,
    through_province,
)

CHECK_URL = "http://127.0.0.1:8000/certificates/HZJD-2022-0001"
APPROVAL_TEXT = (
    "中国科学技术协会办公厅"
    "关于同意昆明理工大学建设中国科协海智计划工作基地的批复"
    "科协办函〔2022〕15号"
    "昆明理工大学："
    "你单位申报中国科协海智计划工作基地的材料收悉。经海智计划领导小组审议"
    "（海智领导小组2022年第3次会议，2022年8月20日），同意你单位建设中国科协海智计划工作基地，"
    "并授予牌匾，证书编号HZJD-2022-0001。有效期自2022年8月25日至2027年8月24日。"
    "请你单位按照《中国科协海智计划工作基地管理办法（试行）》的要求，于每年年底前通过"
    "所在地科协报送年度工作总结和下一年度工作计划；有效期满前90日内可提出续期申请。"
    "特此批复。"
    "中国科学技术协会办公厅2022年8月25日（盖章）"
    "第1页共1页"
)
CERTIFICATE_TEXT = (
    "中国科协海智计划工作基地证书"
    "证书编号HZJD-2022-0001承担单位昆明理工大学牌匾名称中国科协海智计划工作基地"
    "有效期2022年8月25日至2027年8月24日批准文号科协办函〔2022〕15号"
    "经海智计划领导小组审议批准，昆明理工大学为中国科协海智计划工作基地，特发此证。"
    "中国科学技术协会办公厅2022年8月25日"
    f"扫码查验证书Scantocheck:{CHECK_URL}"
    "第1页共1页"
)


async def designated(svc: RunningService) -> Application:
    app = Application(route="direct", jurisdiction="5301")
    await app.submit(svc)
    await through_province(svc, app)
    ranking = f"/calls/{app.call_id}/ranking"
    await act(svc, f"{ranking}/declarations", YUNNAN_RANKER)
    await act(svc, ranking, YUNNAN_RANKER, {"ranked": [app.application_id]})
    await from_national_to_plaque(svc, app)
    return app


async def issue(svc: RunningService, app: Application, kind: str, who: Reviewer) -> httpx.Response:
    return await svc.client.post(
        f"/reviews/{app.review_id}/documents/{kind}", headers=who.headers(svc)
    )


async def download(
    svc: RunningService, app: Application, document_id: str, kind: str
) -> httpx.Response:
    path = f"/reviews/{app.review_id}/documents/{kind}/{document_id}.pdf"
    return await svc.client.get(path, headers=AUDITOR.headers(svc))


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(code), response.json()


async def test_the_approval_and_the_certificate_read_back_and_hash_as_the_stream_records(
    service: RunningService,
) -> None:
    app = await designated(service)
    issued: dict[str, dict[str, Any]] = {}
    for kind, expected in (("approval", APPROVAL_TEXT), ("certificate", CERTIFICATE_TEXT)):
        first = await issue(service, app, kind, OFFICE)
        assert first.status_code == 200, first.text
        assert first.json()["issued"] is True
        document = first.json()["document"]
        event = await published(service, app.case_id, "DocumentIssued", kind=kind)
        served = await download(service, app, document["document_id"], kind)
        assert served.status_code == 200, served.text
        assert served.headers["content-type"] == "application/pdf"
        assert served.headers["etag"] == f'"{document["sha256"]}"'
        assert f'filename="{kind}-{app.review_id}.pdf"' in served.headers["content-disposition"]
        digest = hashlib.sha256(served.content).hexdigest()
        assert digest == event.data["sha256"] == document["sha256"]
        assert event.data["size"] == len(served.content)
        assert event.data["sources"][-1].startswith(f"review-{app.review_id}@")
        assert pdf.text(served.content) == pdf.compact(expected)
        # Nothing changed: the same document, the same hash, nothing recorded.
        again = await issue(service, app, kind, OFFICE)
        assert again.json() == {"issued": False, "document": document}
        assert (
            await download(service, app, document["document_id"], kind)
        ).content == served.content
        issued[kind] = document

    certificate = await download(service, app, issued["certificate"]["document_id"], "certificate")
    assert pdf.drawn_qr(certificate.content) == qr_modules(CHECK_URL)
    assert issued["certificate"]["link"] == CHECK_URL
    assert pdf.metadata(certificate.content)["/CreationDate"] == "D:20220825020000Z"

    listing = await service.client.get(
        f"/reviews/{app.review_id}/documents", headers=YUNNAN.headers(service)
    )
    assert [d["kind"] for d in listing.json()["items"]] == ["approval", "certificate"]
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_the_auditor_finds_an_issued_pdf_and_not_a_changed_one(
    service: RunningService,
) -> None:
    app = await designated(service)
    document = (await issue(service, app, "approval", OFFICE)).json()["document"]
    content = (await download(service, app, document["document_id"], "approval")).content

    async def verify(who: Reviewer, **request: Any) -> httpx.Response:
        headers = who.headers(service) | request.pop("headers", {})
        return await service.client.post("/documents/verify", headers=headers, **request)

    found = await verify(AUDITOR, files={"file": ("批复.pdf", content, "application/pdf")})
    assert found.status_code == 200, found.text
    assert found.json() == {"sha256": document["sha256"], "found": True, "documents": [document]}
    by_hash = await verify(AUDITOR, json={"sha256": document["sha256"]})
    assert by_hash.json()["documents"] == [document]
    changed = content.replace(b"/Title", b"/Titlf", 1)
    refused = await verify(AUDITOR, files={"file": ("批复.pdf", changed, "application/pdf")})
    assert refused.json()["found"] is False
    # Outside the caller's jurisdiction an issue is as good as none.
    elsewhere = await verify(GUIZHOU, json={"sha256": document["sha256"]})
    assert elsewhere.json() == {"sha256": document["sha256"], "found": False, "documents": []}

    problem(
        await verify(AUDITOR, files={"file": ("a.pdf", b"GIF89a", "application/pdf")}),
        415,
        "not-a-pdf",
    )
    too_large = b"%PDF-" + b"0" * (5 * 1024 * 1024)
    problem(
        await verify(AUDITOR, files={"file": ("a.pdf", too_large, "application/pdf")}),
        413,
        "document-too-large",
    )
    problem(await verify(AUDITOR, json={"sha256": "XYZ"}), 422, "invalid-request")
    problem(
        await verify(AUDITOR, json={"sha256": document["sha256"], "x": 1}), 422, "invalid-request"
    )
    plain = await verify(AUDITOR, content=b"sha256", headers={"content-type": "text/plain"})
    problem(plain, 415, "multipart-required")
    no_file = await verify(AUDITOR, data={"not": "a file"}, files={"other": ("x", b"1")})
    problem(no_file, 422, "file-missing")


async def test_documents_are_issued_by_the_office_and_read_in_jurisdiction(
    service: RunningService,
) -> None:
    app = await designated(service)
    problem(await issue(service, app, "approval", AUDITOR), 403, "role-required")
    problem(await issue(service, app, "approval", YUNNAN), 403, "role-required")
    outside = Reviewer("general_office", "gz-office", "cast-gz", "52")
    problem(await issue(service, app, "approval", outside), 404, "review-not-found")
    document = (await issue(service, app, "approval", OFFICE)).json()["document"]
    path = f"/reviews/{app.review_id}/documents"
    for who in (GUIZHOU, outside):
        listing = await service.client.get(path, headers=who.headers(service))
        problem(listing, 404, "review-not-found")
        one = f"{path}/approval/{document['document_id']}.pdf"
        problem(
            await service.client.get(one, headers=who.headers(service)), 404, "review-not-found"
        )
    applicant = service.auth("applicant", user="u", org=app.unit_id, jurisdictions=["5301"])
    problem(await service.client.get(path, headers=applicant), 403, "role-required")
    assert (await service.client.get(path, headers=AUDITOR.headers(service))).status_code == 200


async def test_bad_input_and_unready_documents_are_refused_with_problems(
    service: RunningService,
) -> None:
    app = Application(route="direct", jurisdiction="5301")
    await app.submit(service)
    await through_province(service, app)  # in review: nothing approved yet
    problem(await issue(service, app, "certificate", OFFICE), 409, "document-not-ready")
    problem(await issue(service, app, "plaque", OFFICE), 422, "invalid-request")
    path = f"/reviews/{app.review_id}/documents"
    for bad in ("not-an-id", "01HZ", "0" * 64):
        served = await service.client.get(
            f"{path}/certificate/{bad}.pdf", headers=AUDITOR.headers(service)
        )
        problem(served, 422, "invalid-request")
    unknown = f"{path}/certificate/01HZDOC0000000000000000001.pdf"
    problem(
        await service.client.get(unknown, headers=AUDITOR.headers(service)),
        404,
        "document-not-found",
    )


async def test_a_document_whose_bytes_no_longer_match_its_issue_is_not_served(
    service: RunningService,
) -> None:
    app = await designated(service)
    document = (await issue(service, app, "certificate", OFFICE)).json()["document"]
    as_another_kind = await download(service, app, document["document_id"], "approval")
    problem(as_another_kind, 404, "document-not-found")
    async with service.kernel.db.engine.begin() as conn:
        await conn.execute(
            update(issued_documents)
            .where(issued_documents.c.document_id == document["document_id"])
            .values(link="http://elsewhere.example/certificates/HZJD-2022-0001")
        )
    served = await download(service, app, document["document_id"], "certificate")
    problem(served, 409, "document-no-longer-matches")
