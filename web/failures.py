"""What the person sees when something goes wrong: a page in their language, never a trace.

A service's refusal of a form is told on the page the form came from (the form's `back`
field, else where it was posted from), with what to do next (`web.errors.explain`); a page
that cannot be shown is an error page with the same explanation and the right status. An
expired sign-in leads back to the sign-in page, and then to where the person was (after a
form, through a page with a link: see `_sign_in_again`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.logging import get_logger

from .backend import ServiceProblem
from .errors import Explanation, explain
from .i18n import N_
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
    referer = urlsplit(request.headers.get("referer", ""))
    own = urlsplit(request.app.state.settings.public_url or str(request.base_url))
    if referer.netloc != own.netloc:  # only a page of this console's own
        return "/"
    return local_path(referer.path + (f"?{referer.query}" if referer.query else ""))


def _form_back(request: Request) -> str:
    form = getattr(request.state, "form", None)
    return _back(request, form.get("back") if form is not None else None)


def _sign_in_again(visit: Visit, message: str) -> Response:
    """The sign-in has ended. After a GET, to the sign-in and back; after a form, a page with
    a link: a redirect chain from a form to the identity provider is one the browser refuses
    (CSP form-action), and the form's page is where the person comes back to."""
    request = visit.request
    if visit.session.person is not None:
        visit.session.sign_out()
        visit.session.flash("error", visit.t.gettext(message))
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(sign_in_path(target), 303)
    return visit.page("signed_out.html", status=401, again=sign_in_path(_form_back(request)))


async def _told(visit: Visit, explanation: Explanation, status: int) -> Response:
    """On a form: the message where the form was, after a redirect; else an error page."""
    request = visit.request
    if request.method == "POST":
        visit.session.flash(
            "error", explanation.message, explanation.next_step, explanation.detail or ""
        )
        return visit.redirect(_form_back(request))
    return visit.page("error.html", status=status, explanation=explanation)


def install_failure_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _sign_in(request: Request, _: Exception) -> Response:
        return _sign_in_again(
            _visit(request), N_("Your sign-in has expired. Please sign in again.")
        )

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _: Exception) -> Response:
        return await _told(_visit(request), _own(request, 403, "forbidden"), 403)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: Exception) -> Response:
        return _error_page(
            _visit(request),
            403,
            "csrf-refused",
            N_("This form has expired or did not come from this console."),
            N_("Go back, reload the page and send the form again."),
        )

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, error: Exception) -> Response:
        assert isinstance(error, BadForm)
        visit = _visit(request)
        problem = {"code": "validation-failed", "errors": [{"loc": [error.field]}]}
        explained = explain(422, problem, visit.t.gettext)
        told = replace(
            explained, message=error.message, next_step=error.next_step or explained.next_step
        )
        return await _told(visit, told, 422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in error.errors()]
        if errors and all(e["loc"][:1] == ["path"] for e in errors):
            # An id of another shape in the address (`web.fields.Id`): no such page.
            return await _told(_visit(request), _own(request, 404, None), 404)
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
            return _sign_in_again(visit, N_("Your sign-in has expired. Please sign in again."))
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


async def unexpected_failure(request: Request) -> Response:
    """A failure of the console itself (logged by the caller): the page says so, in the
    person's language; after a form, on the form's page. Rendered inside the session layer,
    so the message is kept and the security headers are set."""
    return await _told(_visit(request), _own(request, 500, None), 500)


def session_too_large(request: Request) -> Response:
    """The sign-in cannot be kept in a cookie (an identity provider's token too large): signed
    out, with a page that says why, instead of a sign-in that never holds."""
    visit = _visit(request)
    visit.session.sign_out()
    visit.session.flashes = []
    return _error_page(
        visit,
        500,
        "session-too-large",
        N_("Your account's sign-in is too large for the console to keep."),
        N_("Tell your administrator: the identity provider's token is too large."),
    )


def _error_page(visit: Visit, status: int, code: str, message: str, next_step: str) -> Response:
    """The console's own error page: `message` and `next_step` (msgids) in the visitor's
    language."""
    explanation = Explanation(
        visit.t.gettext(message), visit.t.gettext(next_step), code, status, None
    )
    return visit.page("error.html", status=status, explanation=explanation)


def _own(request: Request, status: int, code: str | None) -> Explanation:
    problem: dict[str, Any] | None = {"code": code} if code else None
    return explain(status, problem, _visit(request).t.gettext)
