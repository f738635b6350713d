"""利益冲突声明: the conflict-of-interest declaration, as the reviewers' pages and the
leading group's and general office's pages ask for it.

The review service shows a case's dossier only to whoever has declared no conflict of interest
with the applicant unit, and recuses whoever declares one (with what ties them to the unit);
an act that carries the declaration (a renewal passed on, a ranking, a grant) sends it first.
The forms are the macros of `web/templates/_declaration.html`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from fastapi.responses import Response
from starlette.datastructures import FormData

from .backend import Json, ServiceProblem
from .fields import Refusal, Typed
from .i18n import N_
from .visit import Visit

T = TypeVar("T")

RECUSAL_WITHOUT_REASON = Refusal(
    N_("A declared conflict of interest needs its reason."),
    N_("Write what links you to the applicant unit, then declare again."),
)
UNDECLARED = Refusal(
    N_("Declare first that you have no conflict of interest."),
    N_(
        "Tick the declaration box if you have no conflict of interest; if you have one, "
        "declare it instead and leave the decision to a colleague."
    ),
)


async def declared(reading: Awaitable[T]) -> T | None:
    """What `reading` of the review service reads, or None while the person has not declared
    their (lack of a) conflict of interest: the service shows a case's content only after it."""
    try:
        return await reading
    except ServiceProblem as problem:
        if problem.status == 403 and problem.code == "conflict-declaration-missing":
            return None
        raise


def recusal(typed: Typed) -> Json:
    """A conflict declared, with what ties the person to the unit (`reason`): recused."""
    return {"conflict": True, "reason": typed.text("reason", RECUSAL_WITHOUT_REASON)}


def declaration(typed: Typed) -> Json:
    """The declaration the form makes (`conflict`: yes or no): none, or a recusal."""
    return recusal(typed) if typed.text("conflict") == "yes" else {"conflict": False}


async def declare(
    visit: Visit, form: FormData, path: str, to: str, *, clear: str, recused: str
) -> Response:
    """The declaration the form makes, sent to `path` (the review service's `…/declarations`);
    the person told at `to` that they are `clear` to read and decide, or `recused` (msgids)."""
    body = declaration(Typed(visit, form))
    await visit.send("review", path, form, json=body)
    return visit.done(recused if body["conflict"] else clear, to)


def declares_none(typed: Typed) -> None:
    """The act's box "I declare that I have no conflict of interest" is ticked, else `BadForm`."""
    typed.ticked("no_conflict", UNDECLARED)


async def declare_none(visit: Visit, path: str) -> None:
    """The declaration of no conflict sent to `path`, before the act that carries it. It is
    repeatable and changes nothing the second time: it goes without the form's key (the act's)."""
    await visit.send("review", path, json={"conflict": False})
