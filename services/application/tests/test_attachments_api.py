"""Attachments over HTTP: type told by bytes, size limits, content-addressed storage, downloads."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient

from shared.clock import set_clock
from shared.projection import rebuild_and_compare
from shared.testkit.service import RunningService, TestEnvironment, running_service

from ..main import spec
from ..messaging.contracts import registry
from ..projections import projections
from ..usecases.files import DOCX as DOCX_TYPE
from .support import (
    DOCX,
    JPEG,
    MARCH,
    OTHER_UNIT,
    PDF,
    PNG,
    applicant,
    draft,
    event_count,
    http_only,
    open_call,
    reviewer,
    submitted,
    upload,
)

LIMIT = 4096


@pytest.fixture
async def small_limit(
    test_env: TestEnvironment, nats_client: NatsClient, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningService]:
    monkeypatch.setenv("HAIZHI_ATTACHMENT_MAX_BYTES", str(LIMIT))
    await set_clock(nats_client.jetstream(), MARCH)
    async with running_service(http_only(spec()), test_env) as svc:
        yield svc


ACCEPTED = [
    ("support_letter", PDF, "支持函.pdf", "application/pdf"),
    ("construction_plan", DOCX, "方案.docx", "application/octet-stream"),
    ("overseas_cooperation", PNG, "scan.png", "image/png"),
    ("policy_measures", JPEG, "photo.JPG", "image/jpeg"),
]


async def test_each_accepted_type_is_told_by_its_bytes_and_kept_by_its_hash(
    service: RunningService,
) -> None:
    application_id = await draft(service, await open_call(service))
    for slot, content, name, media_type in ACCEPTED:
        added = await upload(service, application_id, slot, content, name, media_type)
        assert added.status_code == 201, added.text
        sha = hashlib.sha256(content).hexdigest()
        assert (added.json()["sha256"], added.json()["size"]) == (sha, len(content))
        kept = service.kernel.settings.data_dir / "attachments" / sha[:2] / sha
        assert kept.read_bytes() == content
        event = (await service.kernel.store.read_all())[-1]
        assert event.name == "AttachmentAdded"
        assert event.data["media_type"] == added.json()["media_type"]
    events = (await service.kernel.store.read_all())[-4:]
    assert [e.data["media_type"] for e in events] == [
        "application/pdf", DOCX_TYPE, "image/png", "image/jpeg",
    ]  # fmt: skip


def _zip_without_word() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


REFUSED = [
    (b"MZ\x90\x00 not a document", "letter.pdf", "application/pdf", 415),
    (b"plain words", "letter.txt", "text/plain", 415),
    (_zip_without_word(), "sheet.docx", "application/octet-stream", 415),
    (b"", "empty.pdf", "application/pdf", 415),
    (PDF, "letter.png", "application/octet-stream", 422),  # named as another type
    (PDF, "letter.pdf", "image/png", 422),  # declared as another type
    (PNG, "photo.jpg", "image/jpeg", 422),
]


async def test_unsupported_or_mislabelled_files_are_refused_and_nothing_is_appended(
    service: RunningService,
) -> None:
    application_id = await draft(service, await open_call(service))
    before = await event_count(service)
    for content, name, media_type, status in REFUSED:
        refused = await upload(service, application_id, "support_letter", content, name, media_type)
        assert refused.status_code == status, (name, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert await event_count(service) == before


async def test_a_file_over_the_limit_is_refused_as_declared_and_as_streamed(
    small_limit: RunningService,
) -> None:
    svc = small_limit
    application_id = await draft(svc, await open_call(svc))
    before = await event_count(svc)
    big = PDF + bytes(LIMIT)
    declared = await upload(svc, application_id, "support_letter", big)
    assert declared.status_code == 413
    assert declared.json()["max_bytes"] == LIMIT

    huge = PDF + bytes(LIMIT + 70 * 1024)  # past the multipart allowance too
    boundary = "haizhi-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="slot"\r\n\r\nsupport_letter\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + huge
        + f"\r\n--{boundary}--\r\n".encode()
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: cut off while streaming
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    streamed = await svc.client.post(
        f"/applications/{application_id}/attachments",
        content=chunks(),
        headers={**applicant(svc), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert streamed.status_code == 413
    assert await event_count(svc) == before


async def test_bad_upload_forms_are_problems_and_append_nothing(service: RunningService) -> None:
    application_id = await draft(service, await open_call(service))
    url = f"/applications/{application_id}/attachments"
    before = await event_count(service)
    pdf = {"file": ("a.pdf", PDF, "application/pdf")}
    unknown_slot = await service.client.post(
        url, data={"slot": "love_letter"}, files=pdf, headers=applicant(service)
    )
    assert unknown_slot.status_code == 422
    no_file = await service.client.post(
        url, data={"slot": "extra"}, files={"other": ("x", b"y")}, headers=applicant(service)
    )
    assert no_file.status_code == 422
    as_json = await service.client.post(url, json={"slot": "extra"}, headers=applicant(service))
    assert as_json.status_code == 415
    assert await event_count(service) == before


async def test_a_file_is_replaced_or_removed_before_submission_only(
    service: RunningService,
) -> None:
    application_id = await draft(service, await open_call(service))
    url = f"/applications/{application_id}/attachments"
    first = (await upload(service, application_id, "support_letter")).json()
    taken = await upload(service, application_id, "support_letter", PNG, "b.png", "image/png")
    assert taken.status_code == 409  # one file per material slot: replace it instead
    replaced = await service.client.put(
        f"{url}/{first['attachment_id']}",
        files={"file": ("新支持函.png", PNG, "image/png")},
        headers=applicant(service),
    )
    assert replaced.status_code == 200, replaced.text
    extra = (await upload(service, application_id, "extra", JPEG, "x.jpg", "image/jpeg")).json()
    removed = await service.client.delete(
        f"{url}/{extra['attachment_id']}", headers=applicant(service)
    )
    assert removed.status_code == 200
    read = await service.client.get(f"/applications/{application_id}", headers=applicant(service))
    assert [(a["slot"], a["name"]) for a in read.json()["attachments"]] == [
        ("support_letter", "新支持函.png")
    ]
    names = [e.name for e in await service.kernel.store.read_all()]
    assert names[-3:] == ["AttachmentReplaced", "AttachmentAdded", "AttachmentRemoved"]
    assert await rebuild_and_compare(service.kernel.db, registry, projections()) == []


async def test_after_submission_files_cannot_change(service: RunningService) -> None:
    application_id = await submitted(service)
    read = await service.client.get(f"/applications/{application_id}", headers=applicant(service))
    attachment_id = read.json()["attachments"][0]["attachment_id"]
    before = await event_count(service)
    url = f"/applications/{application_id}/attachments"
    added = await upload(service, application_id, "extra")
    replaced = await service.client.put(
        f"{url}/{attachment_id}",
        files={"file": ("a.png", PNG, "image/png")},
        headers=applicant(service),
    )
    removed = await service.client.delete(f"{url}/{attachment_id}", headers=applicant(service))
    assert [added.status_code, replaced.status_code, removed.status_code] == [409, 409, 409]
    assert await event_count(service) == before


async def test_the_owner_and_reviewers_in_jurisdiction_download_what_was_submitted(
    service: RunningService,
) -> None:
    call_id = await open_call(service)
    application_id = await submitted(service, call_id)
    read = await service.client.get(f"/applications/{application_id}", headers=applicant(service))
    sha = read.json()["submitted"]["files"][0]["sha256"]
    url = f"/applications/{application_id}/files/{sha}"
    mine = await service.client.get(url, headers=applicant(service))
    assert mine.status_code == 200
    assert mine.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(mine.content).hexdigest() == sha
    kunming = await service.client.get(
        url, headers=reviewer(service, "prefecture_reviewer", "5301")
    )
    assert kunming.content == mine.content
    for stranger in (
        reviewer(service, "prefecture_reviewer", "5303"),
        applicant(service, OTHER_UNIT, "5303"),
    ):
        refused = await service.client.get(url, headers=stranger)
        assert refused.status_code == 404
        assert refused.content != mine.content

    draft_id = await draft(service, call_id, "unit-km-2")  # another unit's draft, same city
    owner = applicant(service, "unit-km-2")
    secret = (
        await upload(service, draft_id, "extra", PNG, "draft.png", "image/png", headers=owner)
    ).json()
    unsubmitted = f"/applications/{draft_id}/files/{secret['sha256']}"
    assert (await service.client.get(unsubmitted, headers=owner)).status_code == 200
    province = reviewer(service, "province_reviewer", "53")
    assert (await service.client.get(unsubmitted, headers=province)).status_code == 404
