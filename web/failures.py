"""What the person sees when something goes wrong: a page in their language, never a trace.

A service's refusal of a form is told on the page the form came from (the form's `back`
field, else where it was posted from), with what to do next (`web.errors.explain`); a page
that cannot be shown is an error page with the same explanation and the right status. An
expired sign-in leads back to the sign-in page, and then to where the person was.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import get_logger

from .backend import ServiceProblem
from .errors import Explanation, explain
from .visit import (
    BadForm,
    CsrfRefused,
    NotAllowed,
    NotSignedIn,
    Visit,
    _visit,
    local_path,
    sign_in_path,
)

log = get_logger(__name__)


def _back(request: Request, form_back: object) -> str:
    if isinstance(form_back, str) and form_back:
        return local_path(form_back)
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    return local_path("/" + referer[len(base) :] if referer.startswith(base) else "/")


async def _told(visit: Visit, explanation: Explanation, status: int) -> Response:
    """On a form: the message where the form was, after a redirect; else an error page."""
    request = visit.request
    if request.method == "POST":
        form = getattr(request.state, "form", None)
        back = form.get("back") if form is not None else None
        visit.session.flash(
            "error", explanation.message, explanation.next_step, explanation.detail or ""
        )
        return visit.redirect(_back(request, back))
    return visit.page("error.html", status=status, explanation=explanation)


def install_failure_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _sign_in(request: Request, _: Exception) -> Response:
        visit = _visit(request)
        if visit.session.person is not None:  # expired: say so on the sign-in page
            visit.session.sign_out()
            visit.session.flash(
                "error", visit.t.gettext("Your sign-in has expired. Please sign in again.")
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(sign_in_path(target if request.method == "GET" else "/"), 303)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _: Exception) -> Response:
        return await _told(_visit(request), _own(request, 403, "forbidden"), 403)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: Exception) -> Response:
        visit = _visit(request)
        explanation = Explanation(
            visit.t.gettext("This form has expired or did not come from this console."),
            visit.t.gettext("Go back, reload the page and send the form again."),
            "csrf-refused",
            403,
            None,
        )
        return visit.page("error.html", status=403, explanation=explanation)

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, error: Exception) -> Response:
        assert isinstance(error, BadForm)
        visit = _visit(request)
        problem = {"code": "validation-failed", "errors": [{"loc": [error.field]}]}
        explained = explain(422, problem, visit.t.gettext)
        return await _told(visit, replace(explained, message=error.message), 422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in error.errors()]
        visit = _visit(request)
        return await _told(
            visit,
            explain(422, {"code": "validation-failed", "errors": errors}, visit.t.gettext),
            422,
        )

    @app.exception_handler(ServiceProblem)
    async def _refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, ServiceProblem)
        visit = _visit(request)
        if error.status == 401:  # the token ended before the cookie did, or was refused
            visit.session.sign_out()
            visit.session.flash(
                "error", visit.t.gettext("Your sign-in has expired. Please sign in again.")
            )
            return RedirectResponse(
                sign_in_path(request.url.path if request.method == "GET" else "/"), 303
            )
        log.info("service_refused", service=error.service, status=error.status, code=error.code)
        return await _told(
            visit, explain(error.status, error.problem, visit.t.gettext), error.status
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        return await _told(
            _visit(request), _own(request, error.status_code, None), error.status_code
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("page_failed", path=request.url.path)
        return await _told(_visit(request), _own(request, 500, None), 500)


def _own(request: Request, status: int, code: str | None) -> Explanation:
    problem: dict[str, Any] | None = {"code": code} if code else None
    return explain(status, problem, _visit(request).t.gettext)
