"""HTTP: the application's attachments — upload per slot, replace, remove, download."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import IdempotencyKey, IfMatch, command_context, command_response
from shared.auth import CurrentPrincipal
from shared.envelope import new_id
from shared.problems import HTTPProblem, problem_type

from ..domain.commands import UploadedFile
from ..domain.events import Slot
from ..usecases.queries import Scope
from .access import ApplicantUnit, ReaderScope
from .dependencies import UseCases
from .uploads import MULTIPART_SCHEMA, read_upload, upload_response

router = APIRouter(prefix="/applications/{application_id}", tags=["attachments 附件"])


@router.post(
    "/attachments",
    status_code=201,
    openapi_extra=MULTIPART_SCHEMA,
    summary="Upload a file into a slot (multipart: `slot`, `file`)",
)
async def add_attachment(
    application_id: str,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    expected: IfMatch,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.application(Scope(unit_id=unit), application_id)
    upload, form = await read_upload(request, usecases.attachment_max_bytes)
    try:
        slot = _slot(upload.fields.get("slot", ""))
        material = upload.fields.get("material", "").strip() or None
        stored = await asyncio.to_thread(usecases.files.put, upload.file)
    finally:
        await form.close()
    file = UploadedFile(upload.name, upload.media_type, stored.size, stored.sha256)
    attachment_id = new_id()
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.filing.add_attachment(
            conn, ctx, application_id, slot, file, attachment_id=attachment_id,
            by_org=unit, material=material, expected_version=expected,
        )  # fmt: skip
        return 201, {"attachment_id": attachment_id, **_described(file), "version": result.version}

    identity = f"{slot}:{material}:{file.name}:{file.sha256}"
    return await upload_response(request, usecases.executor, principal, key, identity, action)


@router.put(
    "/attachments/{attachment_id}",
    openapi_extra=MULTIPART_SCHEMA,
    summary="Replace an attachment's file (multipart: `file`), before submission",
)
async def replace_attachment(
    application_id: str,
    attachment_id: str,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    expected: IfMatch,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.application(Scope(unit_id=unit), application_id)
    upload, form = await read_upload(request, usecases.attachment_max_bytes)
    try:
        stored = await asyncio.to_thread(usecases.files.put, upload.file)
    finally:
        await form.close()
    file = UploadedFile(upload.name, upload.media_type, stored.size, stored.sha256)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.filing.replace_attachment(
            conn, ctx, application_id, attachment_id, file, by_org=unit,
            expected_version=expected,
        )  # fmt: skip
        return 200, {"attachment_id": attachment_id, **_described(file), "version": result.version}

    identity = f"{attachment_id}:{file.name}:{file.sha256}"
    return await upload_response(request, usecases.executor, principal, key, identity, action)


@router.delete("/attachments/{attachment_id}", summary="Remove an attachment, before submission")
async def remove_attachment(
    application_id: str,
    attachment_id: str,
    request: Request,
    principal: CurrentPrincipal,
    unit: ApplicantUnit,
    expected: IfMatch,
    key: IdempotencyKey,
    usecases: UseCases,
) -> JSONResponse:
    await usecases.queries.application(Scope(unit_id=unit), application_id)
    ctx = command_context(request, principal)

    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        result = await usecases.filing.remove_attachment(
            conn, ctx, application_id, attachment_id, by_org=unit, expected_version=expected
        )
        return 200, {"attachment_id": attachment_id, "version": result.version}

    return await command_response(request, usecases.executor, principal, key, action)


@router.get(
    "/files/{sha256}",
    response_class=FileResponse,
    summary="Download a file the application holds or held (its unit, or reviewers)",
)
async def download(
    application_id: str,
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="the file's SHA-256")],
    scope: ReaderScope,
    usecases: UseCases,
) -> FileResponse:
    row = await usecases.queries.file(scope, application_id, sha256)
    path = usecases.files.open(sha256)
    if path is None:  # the event says we kept it: a missing file is our fault
        raise HTTPProblem(500, "File missing", f"stored file {sha256} is missing")
    return FileResponse(path, media_type=row["media_type"], filename=row["name"])


def _described(file: UploadedFile) -> dict[str, Any]:
    return {"name": file.name, "media_type": file.media_type, "size": file.size,
            "sha256": file.sha256}  # fmt: skip


def _slot(value: str) -> Slot:
    try:
        return Slot(value)
    except ValueError:
        raise HTTPProblem(
            422, "Unknown slot", f"slot must be one of: {', '.join(Slot)}",
            type_=problem_type("unknown-slot"),
        ) from None  # fmt: skip
