"""Applications: drafted, filled in, files attached, submitted, withdrawn, received; and the
outcomes of review recorded on them (`when_<event>_then_<action>`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.envelope import new_id
from shared.usecase import Aggregate, CommandContext, CommandResult, Executor

from ..domain import application, form
from ..domain.application import Draft, Returned, Submitted
from ..domain.commands import (
    AddAttachment,
    ApplicationCommand,
    CallSnapshot,
    DraftApplication,
    InitialAttachment,
    RecordDesignation,
    RecordReceipt,
    RecordRejection,
    RecordReturn,
    RecordWorkstationDesignation,
    RemoveAttachment,
    ReplaceAttachment,
    RequestWorkstationApplication,
    SubmitApplication,
    UpdateDraft,
    UploadedFile,
    WithdrawApplication,
)
from ..domain.dossier import Dossier
from ..domain.errors import ApplicationNotFound
from ..domain.events import Programme, Slot
from ..domain.form import FieldValue
from ..projections.applications import INACTIVE, applications
from ..projections.bases import ACTIVE_BASE, bases
from .calls import CallUseCases
from .units import UnitUseCases

Result = CommandResult[application.State]


APPLICATION: Aggregate[ApplicationCommand, application.State, Any] = Aggregate(
    "application", application.decider, lambda command: command.application_id
)


def application_stream(application_id: str) -> str:
    return APPLICATION.stream(application_id)


async def active_application(
    conn: AsyncConnection, unit_id: str, call_id: str, programme: Programme
) -> str | None:
    """The unit's application under the call and programme that is not withdrawn or rejected."""
    t = applications
    query = select(t.c.application_id).where(
        t.c.unit_id == unit_id,
        t.c.call_id == call_id,
        t.c.programme == str(programme),
        t.c.status.not_in(INACTIVE),
    )
    return (await conn.execute(query.limit(1))).scalar()


async def active_base(conn: AsyncConnection, unit_id: str) -> str | None:
    """A designated base of the unit that has neither expired nor been revoked."""
    query = select(bases.c.base_id).where(
        bases.c.unit_id == unit_id, bases.c.status.in_(ACTIVE_BASE)
    )
    return (await conn.execute(query.order_by(bases.c.base_id).limit(1))).scalar()


@dataclass
class FilingUseCases:
    executor: Executor
    calls: CallUseCases
    units: UnitUseCases

    async def draft(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        unit_id: str,
        *,
        call_id: str,
        application_id: str,
        case_id: str,
        content: Mapping[str, FieldValue],
    ) -> Result:
        """A national base application of the unit, as its verified registration describes it.

        The active application and base are read in this transaction; the read model's unique
        index stops a concurrent twin that read before this one committed."""
        programme = Programme.NATIONAL_BASE
        command = DraftApplication(
            application_id=application_id,
            case_id=case_id,
            call=await self.calls.snapshot(call_id, conn),
            programme=programme,
            unit=await self.units.snapshot(unit_id, conn),
            at=self.executor.clock.now(),
            by=ctx.actor,
            by_org=unit_id,
            content=content,
            active_application_id=await active_application(conn, unit_id, call_id, programme),
            active_base_id=await active_base(conn, unit_id),
        )
        return await self._run(conn, ctx, command, case_id=case_id)

    async def update_draft(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        changes: Mapping[str, FieldValue],
        *,
        by_org: str,
        expected_version: int | None = None,
    ) -> Result:
        now = self.executor.clock.now()
        command = UpdateDraft(application_id, changes, now, ctx.actor, by_org)
        return await self._run(conn, ctx, command, expected_version=expected_version)

    async def add_attachment(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        slot: Slot,
        file: UploadedFile,
        *,
        attachment_id: str,
        by_org: str,
        material: str | None = None,
        expected_version: int | None = None,
    ) -> Result:
        now = self.executor.clock.now()
        command = AddAttachment(
            application_id, attachment_id, slot, file, now, ctx.actor, by_org, material
        )
        return await self._run(conn, ctx, command, expected_version=expected_version)

    async def replace_attachment(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        attachment_id: str,
        file: UploadedFile,
        *,
        by_org: str,
        expected_version: int | None = None,
    ) -> Result:
        now = self.executor.clock.now()
        command = ReplaceAttachment(application_id, attachment_id, file, now, ctx.actor, by_org)
        return await self._run(conn, ctx, command, expected_version=expected_version)

    async def remove_attachment(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        attachment_id: str,
        *,
        by_org: str,
        expected_version: int | None = None,
    ) -> Result:
        now = self.executor.clock.now()
        command = RemoveAttachment(application_id, attachment_id, now, ctx.actor, by_org)
        return await self._run(conn, ctx, command, expected_version=expected_version)

    async def submit(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        *,
        by_org: str,
        expected_version: int | None = None,
    ) -> Result:
        """A first submission, or the resubmission of a returned application. The unit's
        active base and registration are read in this transaction."""
        call_id, unit_id = await self._filing_of(conn, application_id)
        command = SubmitApplication(
            application_id,
            await self.calls.snapshot(call_id, conn),
            self.executor.clock.now(),
            ctx.actor,
            by_org,
            active_base_id=await active_base(conn, unit_id),
            unit=await self.units.snapshot(unit_id, conn),
        )
        return await self._run(conn, ctx, command, expected_version=expected_version)

    async def withdraw(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        reason: str,
        *,
        by_org: str,
        expected_version: int | None = None,
    ) -> Result:
        now = self.executor.clock.now()
        command = WithdrawApplication(application_id, reason, now, ctx.actor, by_org)
        return await self._run(conn, ctx, command, expected_version=expected_version)

    async def record_receipt(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        *,
        received_on: date,
        recipient: str,
        paper_copies: int,
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordReceipt(
            application_id, received_on, recipient, paper_copies, now, ctx.actor
        )
        return await self._run(conn, ctx, command)

    async def request_workstation(
        self, conn: AsyncConnection, ctx: CommandContext, application_id: str, *, by_org: str
    ) -> tuple[Result, Result | None]:
        """Notice §5(3): ask for the provincial work station too; the linked draft follows."""
        linked_application_id, linked_case_id = new_id(), new_id()
        command = RequestWorkstationApplication(
            application_id,
            linked_application_id,
            linked_case_id,
            await self._call_of(conn, application_id),
            self.executor.clock.now(),
            ctx.actor,
            by_org,
        )
        national = await self._run(conn, ctx, command)
        if not national.events:
            return national, None
        linked = await self.when_workstation_application_requested_then_draft_linked_application(
            conn, ctx, national, command
        )
        return national, linked

    async def when_workstation_application_requested_then_draft_linked_application(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        national: Result,
        request: RequestWorkstationApplication,
    ) -> Result:
        """The linked application starts from the national one's content and files, in the
        same transaction, and then lives on its own."""
        d = _dossier(national.state)
        content = {e.field: form.decode(form.KINDS[e.field], e.value) for e in form.entries(d.form)}
        programme = Programme.PROVINCIAL_WORKSTATION
        command = DraftApplication(
            application_id=request.linked_application_id,
            case_id=request.linked_case_id,
            call=request.call,
            programme=programme,
            unit=await self.units.snapshot(d.unit_id, conn),
            at=request.at,
            by=request.by,
            by_org=request.by_org,
            linked_case_id=d.case_id,
            content={k: v for k, v in content.items() if v is not None},
            attachments=tuple(
                InitialAttachment(new_id(), a.slot, a.file, a.material) for a in d.files
            ),
            active_application_id=await active_application(conn, d.unit_id, d.call_id, programme),
        )
        return await self._run(conn, ctx, command, case_id=request.linked_case_id)

    async def when_application_returned_then_record_return(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        *,
        review_id: str,
        level: str,
        reasons: tuple[str, ...],
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordReturn(application_id, review_id, level, reasons, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_application_rejected_then_record_rejection(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        *,
        review_id: str,
        level: str,
        reasons: tuple[str, ...],
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordRejection(application_id, review_id, level, reasons, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_base_designated_then_record_designation(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        *,
        review_id: str,
        base_id: str,
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordDesignation(application_id, review_id, base_id, now, ctx.actor)
        return await self._run(conn, ctx, command)

    async def when_workstation_designated_then_record_designation(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        application_id: str,
        *,
        review_id: str,
        station_id: str,
        certificate_no: str,
    ) -> Result:
        now = self.executor.clock.now()
        command = RecordWorkstationDesignation(
            application_id, review_id, station_id, certificate_no, now, ctx.actor
        )
        return await self._run(conn, ctx, command)

    async def _run(
        self,
        conn: AsyncConnection,
        ctx: CommandContext,
        command: ApplicationCommand,
        *,
        case_id: str | None = None,
        expected_version: int | None = None,
    ) -> Result:
        return await self.executor.run(
            APPLICATION,
            command,
            ctx=ctx,
            case_id=case_id,
            expected_version=expected_version,
            conn=conn,
        )

    async def _call_of(self, conn: AsyncConnection, application_id: str) -> CallSnapshot:
        call_id, _ = await self._filing_of(conn, application_id)
        return await self.calls.snapshot(call_id, conn)

    async def _filing_of(self, conn: AsyncConnection, application_id: str) -> tuple[str, str]:
        """The application's call and unit."""
        t = applications
        query = select(t.c.call_id, t.c.unit_id).where(t.c.application_id == application_id)
        row = (await conn.execute(query)).first()
        if row is None:
            raise ApplicationNotFound(f"no application {application_id}")
        return str(row.call_id), str(row.unit_id)


def _dossier(state: application.State) -> Dossier:
    if isinstance(state, Draft | Submitted | Returned):
        return state.dossier
    raise AssertionError(f"{type(state).__name__} holds no dossier")
