"""Issuing documents from a service's own events, and the routes that issue, list, serve and
verify them: mechanism only, bound by each service to its document kinds and its access rule.

A `DocumentKind` says which events of which streams a document is made of (`pick`) and how
they are laid out (`compose`, pure). Issuing reads those events from the store, builds the
PDF, and records `DocumentIssued` (shared.issuance) with its SHA-256 and the exact events
(`<stream>@<version>` and their chain hashes) — unless the last issue of that kind has the same
hash. Serving regenerates the PDF from the recorded events and refuses if the bytes no longer
hash to what was recorded. Verifying looks an uploaded PDF's (or a pasted) SHA-256 up among
the issues the caller may see.
"""

# No `from __future__ import annotations` here: the routes' parameter types are built per
# service at run time, and FastAPI must see them as objects, not as names to resolve.
import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import UploadFile

from shared.api import (
    PAGING,
    Body,
    IdempotencyKey,
    Page,
    PageParams,
    bad_cursor,
    command_context,
    command_response,
    page_of,
)
from shared.auth import Principal
from shared.codec import EventRegistry
from shared.decider import DomainError, NotFound
from shared.documents import MEDIA_TYPE, PDF_MAGIC, Pdf, sha256_of
from shared.envelope import Envelope, new_id
from shared.issuance import DocumentIssued, IssueDocument, decider, documents_stream
from shared.multipart import BodyTooLarge, bounded_form
from shared.problems import HTTPProblem, jsonable, problem_type
from shared.projection import TableProjection
from shared.usecase import CommandContext, Executor

#: An uploaded document larger than this is not one we issued (ours are tens of kilobytes).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_MULTIPART_ALLOWANCE = 16 * 1024
SHA256_PATTERN = r"^[0-9a-f]{64}$"
DOCUMENT_ID_PATTERN = r"^[0-9A-Z]{26}$"
_DOCUMENT_ID = re.compile(DOCUMENT_ID_PATTERN)

Picked = Sequence[tuple[Envelope, Any]]


class DocumentNotReady(DomainError):
    code = "document-not-ready"
    title = "The facts this document records have not happened yet"


class DocumentNotFound(NotFound):
    code = "document-not-found"
    title = "No such document issued here"


class DocumentNoLongerMatches(DomainError):
    code = "document-no-longer-matches"
    title = "Regenerated from its events, the document no longer has its recorded hash"


@dataclass(frozen=True, slots=True)
class Subject:
    """The object a document is about, and who may read it."""

    subject_id: str
    case_id: str
    jurisdiction: str
    owner: str = ""


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document a service issues.

    `streams(subject_id)`: the streams its facts are in; `related(events)`: more streams those
    events name (the bases on a list); `pick(events)`: the events it is made of, from all those
    streams (raise `DocumentNotReady` when one is missing); `link(events, base)`: the URL it
    prints ("" for none); `compose(events, created, link)`: the PDF, pure."""

    name: str
    title: str
    streams: Callable[[str], Sequence[str]]
    pick: Callable[[Picked], Picked]
    compose: Callable[[Sequence[Any], datetime, str], Pdf]
    link: Callable[[Sequence[Any], str], str] = lambda _events, _base: ""
    related: Callable[[Picked], Sequence[str]] = lambda _events: ()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document built from the events it records, not yet issued."""

    kind: DocumentKind
    pdf: Pdf
    sources: tuple[str, ...]
    source_hashes: tuple[str, ...]
    link: str


def issued_documents_table(metadata: MetaData) -> Table:
    """The read model of a service's issued documents (by subject, and by SHA-256)."""
    return Table(
        "issued_documents",
        metadata,
        Column("document_id", String(40), primary_key=True),
        Column("kind", String(40), nullable=False),
        Column("subject_id", String(64), nullable=False, index=True),
        Column("case_id", String(64), nullable=False),
        Column("jurisdiction", String(12), nullable=False),
        Column("owner", String(64), nullable=False),
        Column("sha256", String(64), nullable=False, index=True),
        Column("size", Integer, nullable=False),
        Column("filename", String(200), nullable=False),
        Column("sources", Text, nullable=False),
        Column("source_hashes", Text, nullable=False),
        Column("link", String(400), nullable=False),
        Column("issued_by", String(200), nullable=False),
        Column("issued_at", String(40), nullable=False),
        Column("event_hash", String(64), nullable=False),
    )


class IssuedDocumentsProjection(TableProjection):
    """One row per `DocumentIssued` (bind a service's table with `for_table`)."""

    name = "issued_documents"

    @classmethod
    def for_table(cls, table: Table) -> "IssuedDocumentsProjection":
        bound: type[IssuedDocumentsProjection] = type(
            "IssuedDocuments", (cls,), {"tables": (table,)}
        )
        return bound()

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: Any) -> None:
        if isinstance(event, DocumentIssued):
            row = {
                "document_id": event.document_id,
                "kind": event.kind,
                "subject_id": event.subject_id,
                "case_id": event.case_id,
                "jurisdiction": event.jurisdiction,
                "owner": event.owner,
                "sha256": event.sha256,
                "size": event.size,
                "filename": event.filename,
                "sources": json.dumps(list(event.sources)),
                "source_hashes": json.dumps(list(event.source_hashes)),
                "link": event.link,
                "issued_by": event.by,
                "issued_at": event.at.isoformat(),
                "event_hash": envelope.hash,
            }
            await self.insert_row(conn, "issued_documents", row)


# --- the use cases ---------------------------------------------------------------------------


@dataclass
class DocumentDesk:
    """Issue, find and regenerate one service's documents. `public_url`: the base of the
    links documents print (the console's public pages)."""

    executor: Executor
    registry: EventRegistry
    table: Table
    kinds: dict[str, DocumentKind]
    public_url: str = ""

    async def prepare(self, kind: DocumentKind, subject_id: str) -> Prepared:
        """The document as the events now stand, built before any transaction opens (a PDF
        takes about a second of CPU: in a thread, holding no lock)."""
        async with self.executor.db.read_engine.connect() as conn:
            picked = await self._picked(conn, kind, subject_id)
        events = [event for _, event in picked]
        link = kind.link(events, self.public_url.rstrip("/"))
        pdf = await asyncio.to_thread(kind.compose, events, _created(picked), link)
        sources = tuple(f"{e.subject}@{e.streamversion}" for e, _ in picked)
        return Prepared(kind, pdf, sources, tuple(e.hash for e, _ in picked), link)

    async def record(
        self, conn: AsyncConnection, prepared: Prepared, subject: Subject, ctx: CommandContext
    ) -> tuple[RowMapping, bool]:
        """Record the issue unless the same document was the last of its kind: (the issued
        document's row, whether this call recorded it)."""
        name = prepared.kind.name
        command = IssueDocument(
            DocumentIssued(
                document_id=new_id(),
                kind=name,
                subject_id=subject.subject_id,
                case_id=subject.case_id,
                jurisdiction=subject.jurisdiction,
                owner=subject.owner,
                sha256=prepared.pdf.sha256,
                size=prepared.pdf.size,
                filename=f"{name}-{subject.subject_id}.pdf",
                sources=prepared.sources,
                source_hashes=prepared.source_hashes,
                by=ctx.actor,
                at=self.executor.clock.now(),
                link=prepared.link,
            )
        )
        result = await self.executor.execute(
            decider,
            documents_stream(subject.subject_id),
            command,
            ctx=ctx,
            case_id=subject.case_id,
            conn=conn,
        )
        last = result.state.last(name)
        assert last is not None
        row = await self.find(last[0], conn)
        assert row is not None
        return row, bool(result.events)

    async def listing(self, subject_id: str, limit: int, after: str | None) -> list[RowMapping]:
        """The subject's issues in the order they were issued (document ids are ULIDs), at
        most `limit` after the document `after`."""
        query = (
            select(self.table)
            .where(self.table.c.subject_id == subject_id)
            .order_by(self.table.c.document_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(self.table.c.document_id > after)
        async with self.executor.db.read_engine.connect() as conn:
            return list((await conn.execute(query)).mappings().all())

    async def find(
        self, document_id: str, conn: AsyncConnection | None = None
    ) -> RowMapping | None:
        query = select(self.table).where(self.table.c.document_id == document_id)
        if conn is not None:
            return (await conn.execute(query)).mappings().first()
        async with self.executor.db.read_engine.connect() as reader:
            return (await reader.execute(query)).mappings().first()

    async def with_sha256(self, sha256: str) -> list[RowMapping]:
        query = (
            select(self.table)
            .where(self.table.c.sha256 == sha256)
            .order_by(self.table.c.issued_at, self.table.c.document_id)
        )
        async with self.executor.db.read_engine.connect() as conn:
            return list((await conn.execute(query)).mappings().all())

    async def regenerate(self, row: RowMapping) -> Pdf:
        """The document again, from the very events its issue recorded; refused when one of
        them changed, or the bytes no longer hash to the recorded SHA-256."""
        kind = self.kinds[row["kind"]]
        sources: list[str] = json.loads(row["sources"])
        hashes: list[str] = json.loads(row["source_hashes"])
        picked: list[tuple[Envelope, Any]] = []
        async with self.executor.db.read_engine.connect() as conn:
            for source, expected in zip(sources, hashes, strict=True):
                stream_id, _, version = source.rpartition("@")
                found = await self.executor.store.read_stream(
                    conn, stream_id, int(version) - 1, limit=1
                )
                if not found or found[0].hash != expected:
                    raise DocumentNoLongerMatches(
                        f"the event {source} this document was made of is no longer in the store"
                        " as it was",
                        document_id=row["document_id"],
                    )
                picked.append((found[0], self.registry.decode(found[0].type, found[0].data)))
        events = [event for _, event in picked]
        pdf = await asyncio.to_thread(kind.compose, events, _created(picked), row["link"])
        if pdf.sha256 != row["sha256"]:
            raise DocumentNoLongerMatches(
                f"regenerated, document {row['document_id']} hashes to {pdf.sha256}, not the"
                f" {row['sha256']} its issue recorded",
                document_id=row["document_id"],
            )
        return pdf

    async def _picked(self, conn: AsyncConnection, kind: DocumentKind, subject_id: str) -> Picked:
        decoded: list[tuple[Envelope, Any]] = []
        for stream_id in kind.streams(subject_id):
            decoded += await self._decoded(conn, stream_id)
        for stream_id in kind.related(decoded):
            decoded += await self._decoded(conn, stream_id)
        return kind.pick(decoded)

    async def _decoded(self, conn: AsyncConnection, stream_id: str) -> list[tuple[Envelope, Any]]:
        found = await self.executor.store.read_stream(conn, stream_id)
        return [(e, self.registry.decode(e.type, e.data)) for e in found]


def _created(picked: Picked) -> datetime:
    """A document is dated by the latest fact it records: the same every time."""
    if not picked:
        raise DocumentNotReady("a document needs at least one event to record")
    return max(envelope.time for envelope, _ in picked)


# --- the routes ------------------------------------------------------------------------------


class DocumentView(BaseModel):
    document_id: str
    kind: str
    subject_id: str
    case_id: str
    sha256: str = Field(description="SHA-256 of the PDF's bytes (hex): its ETag when served")
    size: int
    filename: str
    sources: list[str] = Field(description="`<stream id>@<version>` of each event it records")
    source_hashes: list[str] = Field(description="each source event's hash in the chain")
    link: str = Field(description="the URL it prints (the plaque's QR code), or empty")
    issued_by: str
    issued_at: str
    event_hash: str = Field(description="the hash of its DocumentIssued event")


class IssueResult(BaseModel):
    issued: bool = Field(
        description="true: this call recorded a DocumentIssued; false: the same document"
        " (same events, same hash) was already issued, and nothing new was recorded"
    )
    document: DocumentView


class VerifyByHash(Body):
    sha256: str = Field(pattern=SHA256_PATTERN, description="the document's SHA-256, hex")


class Verification(BaseModel):
    sha256: str
    found: bool = Field(description="an issue you may see has this hash")
    documents: list[DocumentView] = Field(description="each issue with this hash")


def view_of(row: RowMapping) -> DocumentView:
    return DocumentView(
        document_id=row["document_id"],
        kind=row["kind"],
        subject_id=row["subject_id"],
        case_id=row["case_id"],
        sha256=row["sha256"],
        size=row["size"],
        filename=row["filename"],
        sources=json.loads(row["sources"]),
        source_hashes=json.loads(row["source_hashes"]),
        link=row["link"],
        issued_by=row["issued_by"],
        issued_at=row["issued_at"],
        event_hash=row["event_hash"],
    )


@dataclass(frozen=True)
class DocumentRoutes:
    """How one service binds the routes to its objects.

    `base`: the object's route with its id parameter (`/reviews/{review_id}`); `subject`: the
    object, or a 404 problem when the caller may not see it; `may_issue`: raises a 403 problem
    when the caller may not issue this kind; `reader`: the dependency that admits readers;
    `may_see`: whether a caller may see an issued document's row (verify)."""

    base: str
    param: str
    kinds: Sequence[DocumentKind]
    desk: Callable[[Request], DocumentDesk]
    subject: Callable[[Request, Principal, str], Awaitable[Subject]]
    may_issue: Callable[[Principal, DocumentKind], None]
    reader: Callable[..., Awaitable[Principal]]
    may_see: Callable[[Principal, RowMapping], bool]
    tag: str = "documents 文书"


#: The refusals particular to these routes (a service may word them its own way).
PROBLEMS: dict[int | str, Any] = {
    404: {"description": f"`{DocumentNotFound.code}` or the object is not within your reach"},
    409: {
        "description": f"`{DocumentNotReady.code}`: {DocumentNotReady.title}; or"
        f" `{DocumentNoLongerMatches.code}`: {DocumentNoLongerMatches.title}"
    },
    413: {"description": "`document-too-large`: larger than any document issued here"},
    415: {"description": "`not-a-pdf`, or `multipart-required` (neither multipart nor JSON)"},
}


def document_router(
    spec: DocumentRoutes, responses: dict[int | str, Any] | None = None, *, verify: bool = True
) -> APIRouter:
    """The four routes: issue, list, serve (by the object's route) and — unless another router
    of the service has it — verify."""
    responses = responses or PROBLEMS
    router = APIRouter(tags=[spec.tag])
    names = "|".join(kind.name for kind in spec.kinds)
    kinds = {kind.name: kind for kind in spec.kinds}
    reader = Depends(spec.reader)
    subject_path = Path(alias=spec.param, pattern=r"^[0-9A-Za-z_-]{1,64}$")
    kind_path = Path(pattern=f"^({names})$", description=f"one of: {names}")

    @router.post(
        f"{spec.base}/documents/{{kind}}",
        summary="Issue a document (idempotent: the same events give the same document)",
        response_model=IssueResult,
        responses=responses,
    )
    async def issue_document(
        request: Request,
        subject_id: Annotated[str, subject_path],
        kind: Annotated[str, kind_path],
        principal: Annotated[Principal, reader],
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        the_kind = kinds[kind]
        spec.may_issue(principal, the_kind)
        subject = await spec.subject(request, principal, subject_id)
        desk = spec.desk(request)
        ctx = command_context(request, principal)
        prepared = await desk.prepare(the_kind, subject.subject_id)

        async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
            row, issued = await desk.record(conn, prepared, subject, ctx)
            result = IssueResult(issued=issued, document=view_of(row))
            return 200, result.model_dump(mode="json")

        return await command_response(request, desk.executor, principal, key, action)

    @router.get(
        f"{spec.base}/documents",
        summary="The documents issued about this object",
        description="In the order they were issued; the cursor is the last document id read."
        + PAGING,
        responses=responses,
    )
    async def list_documents(
        request: Request,
        subject_id: Annotated[str, subject_path],
        principal: Annotated[Principal, reader],
        page: PageParams,
    ) -> Page[DocumentView]:
        limit, cursor = page
        if cursor is not None and not _DOCUMENT_ID.fullmatch(cursor):
            raise bad_cursor()
        subject = await spec.subject(request, principal, subject_id)
        rows = await spec.desk(request).listing(subject.subject_id, limit + 1, cursor)
        return page_of([view_of(row) for row in rows], limit, lambda view: view.document_id)

    @router.get(
        f"{spec.base}/documents/{{kind}}/{{document_id}}.pdf",
        summary="The document's PDF, regenerated from the events its issue recorded",
        response_class=Response,
        responses={200: {"content": {MEDIA_TYPE: {}}}, **responses},
    )
    async def get_document(
        request: Request,
        subject_id: Annotated[str, subject_path],
        kind: Annotated[str, kind_path],
        document_id: Annotated[str, Path(pattern=DOCUMENT_ID_PATTERN)],
        principal: Annotated[Principal, reader],
    ) -> Response:
        subject = await spec.subject(request, principal, subject_id)
        desk = spec.desk(request)
        row = await desk.find(document_id)
        if row is None or (row["subject_id"], row["kind"]) != (subject.subject_id, kind):
            raise DocumentNotFound(f"no {kind} {document_id} issued about {subject_id}")
        pdf = await desk.regenerate(row)
        return Response(
            pdf.content,
            media_type=MEDIA_TYPE,
            headers={
                "Content-Disposition": _attachment(row["filename"], kinds[row["kind"]].title),
                "ETag": f'"{pdf.sha256}"',
                "Cache-Control": "private, no-store",
            },
        )

    if not verify:
        return router

    @router.post(
        "/documents/verify",
        summary="Which issue is this document? Upload the PDF (multipart, part `file`) or send"
        ' {"sha256": …}',
        responses=responses,
        openapi_extra=_VERIFY_BODY,
    )
    async def verify_document(
        request: Request, principal: Annotated[Principal, reader]
    ) -> Verification:
        sha256 = await _sha256_of_request(request)
        rows = await spec.desk(request).with_sha256(sha256)
        visible = [view_of(row) for row in rows if spec.may_see(principal, row)]
        return Verification(sha256=sha256, found=bool(visible), documents=visible)

    return router


_VERIFY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["sha256"],
                    "properties": {"sha256": {"type": "string", "pattern": SHA256_PATTERN}},
                    "additionalProperties": False,
                }
            },
        },
    }
}


def _attachment(filename: str, title: str) -> str:
    """`Content-Disposition`: the ASCII name, and the Chinese title's for clients that read it."""
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(title + '-' + filename)}"


async def _sha256_of_request(request: Request) -> str:
    """The SHA-256 the caller asks about: of the uploaded PDF, or the one sent as JSON."""
    media = request.headers.get("content-type", "")
    if media.startswith("application/json"):
        try:
            asked = VerifyByHash.model_validate_json(await request.body())
        except ValueError as invalid:
            raise HTTPProblem(
                422,
                "Invalid request",
                'Send {"sha256": "<64 hex digits>"} and nothing else.',
                type_=problem_type("invalid-request"),
                errors=jsonable(getattr(invalid, "errors", lambda: [])()),
            ) from invalid
        return asked.sha256
    if not media.startswith("multipart/form-data"):
        raise HTTPProblem(
            415,
            "Unsupported Media Type",
            "Upload the PDF as multipart/form-data (part 'file'), or send its SHA-256 as JSON.",
            type_=problem_type("multipart-required"),
        )
    content = await _uploaded(request)
    if not content.startswith(PDF_MAGIC):
        raise HTTPProblem(
            415,
            "Unsupported Media Type",
            "The file is not a PDF: only PDF documents are issued here.",
            type_=problem_type("not-a-pdf"),
        )
    return sha256_of(content)


async def _uploaded(request: Request) -> bytes:
    limit = MAX_UPLOAD_BYTES + _MULTIPART_ALLOWANCE
    try:
        form = await bounded_form(request, limit, max_files=1, max_fields=2)
    except BodyTooLarge:
        raise _too_large() from None
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise HTTPProblem(
                422,
                "No file",
                "Send the PDF in the multipart part named 'file'.",
                type_=problem_type("file-missing"),
            )
        content = await part.read(MAX_UPLOAD_BYTES + 1)
    finally:
        await form.close()
    if len(content) > MAX_UPLOAD_BYTES:
        raise _too_large()
    return content


def _too_large() -> HTTPProblem:
    return HTTPProblem(
        413,
        "Content Too Large",
        f"A document to verify may have at most {MAX_UPLOAD_BYTES} bytes.",
        type_=problem_type("document-too-large"),
        max_bytes=MAX_UPLOAD_BYTES,
    )
