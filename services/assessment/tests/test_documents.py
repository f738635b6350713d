"""The rectification notice and the yearly grade list: issued from the streams they document,
their text read back, the same bytes every time, the hash in the stream, and who may issue,
read and verify them."""

from __future__ import annotations

import hashlib

import httpx

from shared.projection import rebuild_and_compare
from shared.testkit import pdf

from ..messaging.contracts import registry
from ..projections import projections
from .world import World

LAB = "unit-kunming-lab"


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(code), response.json()


async def graded_2022(world: World) -> None:
    """b1 (a lab, no report: unqualified, a rectification ordered) and b2 (the park, reported
    and scored high), on the approved list of 2022."""
    await world.designate("b1", unit=LAB, unit_name="昆明物理研究所")
    await world.designate("b2", unit_name="昆明高新技术产业开发区管委会")
    await world.on(2022, 12, 20)
    await world.file_report("b2", 2022)
    await world.on(2023, 1, 5)
    await world.score("b1", 2022, 80)
    await world.score("b2", 2022, 95)
    await world.grade_year(2022, "2023-01-05")


async def test_the_notice_and_the_list_read_back_and_hash_as_the_stream_records(
    world: World,
) -> None:
    await graded_2022(world)
    year = await world.year("b1", 2022)
    rectification_id = year["rectification_id"]
    notice = await world.client.post(
        "/bases/b1/documents/rectification", headers=world.department()
    )
    assert notice.status_code == 200, notice.text
    assert notice.json()["issued"] is True
    document = notice.json()["document"]
    served = await world.client.get(
        f"/bases/b1/documents/rectification/{document['document_id']}.pdf", headers=world.unit(LAB)
    )
    assert served.status_code == 200, served.text
    assert served.headers["etag"] == f'"{document["sha256"]}"'
    event = await world.on_the_bus("case-b1", "DocumentIssued", kind="rectification")
    assert hashlib.sha256(served.content).hexdigest() == event["sha256"] == document["sha256"]
    assert pdf.text(served.content) == pdf.compact(
        "中国科协海智计划工作基地整改通知昆明物理研究所："
        "根据《中国科协海智计划工作基地管理办法（试行）》第十二条，经海智计划领导小组审定，"
        "你单位2022年度考核等次为不合格。"
        f"请你单位于{_chinese(year['rectification_deadline'])}前完成整改，"
        "并通过所在地科协报送整改报告。"
        "连续两年考核不合格的，撤销其中国科协海智计划工作基地资格（第十三条）。"
        f"基地编号b1承担单位昆明物理研究所考核年度2022年考核等次不合格整改编号{rectification_id}"
        f"通知日期2023年1月5日整改期限{_chinese(year['rectification_deadline'])}政策版本2022.1"
        "中国科协国际联络部2023年1月5日（盖章）第1页共1页"
    )
    again = await world.client.post("/bases/b1/documents/rectification", headers=world.department())
    assert again.json() == {"issued": False, "document": document}

    listed = await world.client.post("/grade-lists/2022/documents/list", headers=world.department())
    assert listed.status_code == 200, listed.text
    grade_list = listed.json()["document"]
    assert len(grade_list["sources"]) == 3  # the approval and the two bases' registrations
    content = (
        await world.client.get(
            f"/grade-lists/2022/documents/list/{grade_list['document_id']}.pdf",
            headers=world.auditor(),
        )
    ).content
    event = await world.on_the_bus("grade-list-2022", "DocumentIssued", kind="list")
    assert hashlib.sha256(content).hexdigest() == event["sha256"] == grade_list["sha256"]
    assert pdf.text(content) == pdf.compact(
        "2022年度中国科协海智计划工作基地考核等次名单"
        "经海智计划领导小组审定（LG-2022，2023年1月5日），现公布年度考核等次名单如下。"
        "序号承担单位考核等次"
        "1昆明高新技术产业开发区管委会优秀"
        "2昆明物理研究所不合格"
        "中国科协国际联络部2023年1月5日第1页共1页"
    )
    by_group = await world.client.post(
        "/grade-lists/2022/documents/list", headers=world.leading_group()
    )
    assert by_group.json() == {"issued": False, "document": grade_list}
    assert await rebuild_and_compare(world.svc.kernel.db, registry, projections()) == []


def _chinese(day: str) -> str:
    year, month, date = (int(part) for part in day.split("-"))
    return f"{year}年{month}月{date}日"


async def test_the_unit_and_officials_in_reach_read_and_only_the_department_issues(
    world: World,
) -> None:
    await graded_2022(world)
    document = (
        await world.client.post("/bases/b1/documents/rectification", headers=world.department())
    ).json()["document"]
    one = f"/bases/b1/documents/rectification/{document['document_id']}.pdf"
    for outsider in (world.unit(), world.local_cast("5329"), world.auditor("52")):
        listing = await world.client.get("/bases/b1/documents", headers=outsider)
        problem(listing, 404, "base-not-found")
        problem(await world.client.get(one, headers=outsider), 404, "base-not-found")
    for reader in (world.unit(LAB), world.local_cast(), world.auditor("53")):
        assert (await world.client.get(one, headers=reader)).status_code == 200
    for who in (world.unit(LAB), world.local_cast(), world.auditor()):
        refused = await world.client.post("/bases/b1/documents/rectification", headers=who)
        problem(refused, 403, "role-required")
    listed = await world.client.post("/grade-lists/2022/documents/list", headers=world.unit(LAB))
    problem(listed, 403, "role-required")
    for local in (world.local_cast(), world.auditor("53"), world.unit(LAB)):
        refused = await world.client.get("/grade-lists/2022/documents", headers=local)
        problem(refused, 404, "grade-list-not-found")

    sha = {"sha256": document["sha256"]}
    for who, found in ((world.unit(LAB), True), (world.auditor(), True), (world.unit(), False)):
        answer = await world.client.post("/documents/verify", json=sha, headers=who)
        assert answer.json()["found"] is found


async def test_bad_input_and_unready_documents_are_refused_with_problems(world: World) -> None:
    await graded_2022(world)
    department = world.department()
    for path, status, code in (
        ("/bases/b2/documents/rectification", 409, "document-not-ready"),
        ("/bases/b1/documents/notice", 422, "invalid-request"),
        ("/grade-lists/2023/documents/list", 409, "document-not-ready"),
        ("/grade-lists/1999/documents/list", 422, "invalid-request"),
        ("/grade-lists/twenty/documents/list", 422, "invalid-request"),
        ("/bases/nobody/documents/rectification", 404, "base-not-found"),
    ):
        problem(await world.client.post(path, headers=department), status, code)
    problem(
        await world.client.get(
            "/bases/b1/documents/rectification/not-a-document.pdf", headers=department
        ),
        422,
        "invalid-request",
    )
    upload = {"file": ("list.pdf", b"PK\x03\x04 a zip file", "application/pdf")}
    problem(
        await world.client.post("/documents/verify", files=upload, headers=world.auditor()),
        415,
        "not-a-pdf",
    )
