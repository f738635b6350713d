"""HTTP: finance's commands on an instalment — approve, confirm the payment, report a return.

The instalment id is the idempotency key finance relies on: a confirmation posted again with
the same payment reference, date and amount changes nothing and answers as the first did.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.api import Body, IdempotencyKey, IfMatch, command_context, command_response
from shared.auth import Principal, require_jurisdiction

from ..domain.subsidy_plan import ActivePlan, ClosedPlan
from ..usecases.plans import InstalmentLocation, PlanResult
from .dependencies import Finance, UseCases

router = APIRouter(prefix="/instalments", tags=["instalments 拨付"])

InstalmentId = Annotated[str, Path(min_length=1, max_length=124)]


class ConfirmPaymentBody(Body):
    payment_ref: str = Field(min_length=1, max_length=100, examples=["YN-2022-0615-001"])
    paid_on: date = Field(description="the day the transfer was made, China Standard Time")
    amount_fen: int = Field(strict=True, gt=0, description="integer fen", examples=[20_000_000])


class ReturnPaymentBody(Body):
    payment_ref: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500, examples=["account closed"])


def _answer(result: PlanResult, at: InstalmentLocation) -> tuple[int, dict[str, Any]]:
    """Where the instalment stands; `events` lists what this command appended (none on a repeat)."""
    stage = None
    if isinstance(result.state, ActivePlan | ClosedPlan):
        found = (i for i in result.state.instalments if i.instalment_id == at.instalment_id)
        stage = type(next(found).stage).__name__.lower()
    body = {
        "plan_id": at.plan_id,
        "instalment_id": at.instalment_id,
        "stage": stage,
        "version": result.version,
        "events": [e.name for e in result.events],
    }
    return 200, body


async def _locate(
    usecases: UseCases, conn: AsyncConnection, principal: Principal, instalment_id: str
) -> InstalmentLocation:
    location = await usecases.plans.locate(conn, instalment_id)
    require_jurisdiction(principal, location.province)  # the province that funds the base
    return location


@router.post("/{instalment_id}/approval", summary="Approve a due instalment (finance)")
async def approve(
    instalment_id: InstalmentId,
    request: Request,
    principal: Finance,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        at = await _locate(usecases, conn, principal, instalment_id)
        ctx = command_context(request, principal)
        result = await usecases.plans.approve(conn, ctx, at, expected_version=expected)
        return _answer(result, at)

    return await command_response(request, usecases.executor, principal, key, action)


@router.post(
    "/{instalment_id}/payment",
    summary="Confirm the payment of an approved instalment (finance, not its approver)",
)
async def confirm_payment(
    instalment_id: InstalmentId,
    body: ConfirmPaymentBody,
    request: Request,
    principal: Finance,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        at = await _locate(usecases, conn, principal, instalment_id)
        result = await usecases.plans.confirm_payment(
            conn,
            command_context(request, principal),
            at,
            payment_ref=body.payment_ref,
            paid_on=body.paid_on,
            amount_fen=body.amount_fen,
            expected_version=expected,
        )
        return _answer(result, at)

    return await command_response(request, usecases.executor, principal, key, action)


@router.post("/{instalment_id}/return", summary="Report a returned (bounced) payment (finance)")
async def return_payment(
    instalment_id: InstalmentId,
    body: ReturnPaymentBody,
    request: Request,
    principal: Finance,
    key: IdempotencyKey,
    expected: IfMatch,
    usecases: UseCases,
) -> JSONResponse:
    async def action(conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        at = await _locate(usecases, conn, principal, instalment_id)
        result = await usecases.plans.return_payment(
            conn,
            command_context(request, principal),
            at,
            payment_ref=body.payment_ref,
            reason=body.reason,
            expected_version=expected,
        )
        return _answer(result, at)

    return await command_response(request, usecases.executor, principal, key, action)
