"""Reading one uploaded file from a multipart request, refusing early what cannot be accepted.

The route declares no body parameter, so FastAPI reads nothing before we look: a declared
`Content-Length` over the limit is refused before a byte is read, and a body that grows past
it while streaming is cut off there. The file part spools to a temporary file; its type is
told from its bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import FormData, UploadFile

from shared.api import idempotency_scope
from shared.auth import Principal
from shared.idempotency import once, request_fingerprint
from shared.multipart import BodyTooLarge, bounded_form
from shared.problems import HTTPProblem, jsonable, problem_type
from shared.usecase import Executor

from ..usecases.files import MislabelledFile, UnsupportedFileType, check_label, detect_media_type

MULTIPART_ALLOWANCE = 64 * 1024  # boundaries, part headers and the small fields
MULTIPART_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "slot": {
                            "type": "string",
                            "description": "when adding: the slot (support_letter, "
                            "construction_plan, overseas_cooperation, policy_measures, "
                            "signed_form 签字盖章的申报表, extra)",
                        },
                        "material": {
                            "type": "string",
                            "description": "slot extra only: the call's additional material "
                            "this file answers (its name, as GET /calls lists it)",
                        },
                    },
                }
            }
        },
    }
}


@dataclass
class Upload:
    file: BinaryIO
    name: str
    media_type: str
    size: int
    fields: dict[str, str]


def _too_large(max_bytes: int) -> HTTPProblem:
    return HTTPProblem(
        413,
        "Content Too Large",
        f"An attachment may have at most {max_bytes} bytes.",
        type_=problem_type("attachment-too-large"),
        max_bytes=max_bytes,
    )


async def read_upload(request: Request, max_bytes: int) -> tuple[Upload, FormData]:
    """The file part `file` and the text fields; the caller closes the FormData."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPProblem(
            415,
            "Unsupported Media Type",
            "Upload the file as multipart/form-data, in the part named 'file'.",
            type_=problem_type("multipart-required"),
        )
    try:
        form = await bounded_form(
            request, max_bytes + MULTIPART_ALLOWANCE, max_files=1, max_fields=8
        )
    except BodyTooLarge:
        raise _too_large(max_bytes) from None
    try:
        return await _file_of(form, max_bytes), form
    except BaseException:
        await form.close()
        raise


async def _file_of(form: FormData, max_bytes: int) -> Upload:
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise HTTPProblem(
            422, "No file", "Send the file in the multipart part named 'file'.",
            type_=problem_type("file-missing"),
        )  # fmt: skip
    size = part.size or 0
    if size > max_bytes:
        raise _too_large(max_bytes)
    name = (part.filename or "").strip() or "attachment"
    try:
        media_type = await asyncio.to_thread(detect_media_type, part.file)
        check_label(name, part.content_type, media_type)
    except UnsupportedFileType as refused:
        raise HTTPProblem(
            415, "Unsupported Media Type", str(refused), type_=problem_type("unsupported-file")
        ) from refused
    except MislabelledFile as refused:
        raise HTTPProblem(
            422, "Mislabelled file", str(refused), type_=problem_type("mislabelled-file")
        ) from refused
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    return Upload(part.file, name, media_type, size, fields)


async def upload_response(
    request: Request,
    executor: Executor,
    principal: Principal,
    key: str | None,
    identity: str,
    action: Callable[[AsyncConnection], Awaitable[tuple[int, dict[str, Any]]]],
) -> JSONResponse:
    """`command_response` for uploads: a retry re-encodes the multipart body with another
    boundary, so the request is recognised by what it means (`identity`), not its bytes."""
    fingerprint = request_fingerprint(request.method, request.url.path, identity.encode())
    scope = idempotency_scope(request, principal)
    stored = await once(executor.db, executor.transaction, scope, key, fingerprint, action)
    headers = {"Idempotency-Replayed": "true"} if stored.replayed else {}
    if isinstance(stored.body, dict) and "version" in stored.body:
        headers["ETag"] = f'"{stored.body["version"]}"'
    return JSONResponse(jsonable(stored.body), status_code=stored.status_code, headers=headers)
